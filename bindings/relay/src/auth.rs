//! Credentials: agent tokens signed by the vendor backend, and customer secrets issued by the
//! relay.
//!
//! An agent token is `v1.<claims>.<signature>`: `claims` is the base64url (no padding) of a
//! JSON object `{"sub": agent id, "name": display name, "cobrowse": true, "exp": unix seconds}`
//! and `signature` the base64url HMAC-SHA256 of `v1.<claims>` under the shared agent secret.
//! Verification is constant-time. A customer secret is 32 random bytes, base64url; it binds
//! later connections (a reload, a navigation) to the session that created it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// What a vendor backend asserts about an agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentClaims {
    /// Stable agent identifier in the vendor's system.
    pub sub: String,
    /// Display name shown to the customer.
    pub name: String,
    /// Whether this agent may co-browse.
    pub cobrowse: bool,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// Why a token was refused. Never carries the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Not three dot-separated parts of the right version, or bad base64/JSON.
    Malformed,
    /// The signature does not verify under the relay's secret.
    BadSignature,
    /// Past its expiry.
    Expired,
    /// The agent is not co-browse-enabled.
    NotCobrowseEnabled,
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthError::Malformed => "malformed agent token",
            AuthError::BadSignature => "agent token signature does not verify",
            AuthError::Expired => "agent token expired",
            AuthError::NotCobrowseEnabled => "agent is not enabled for co-browsing",
        })
    }
}

impl std::error::Error for AuthError {}

fn mac(secret: &[u8], signed: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(signed);
    m.finalize().into_bytes().to_vec()
}

/// Signs claims into a token (what a vendor backend does; the relay uses it for development
/// tokens and tests).
pub fn issue_agent_token(secret: &[u8], claims: &AgentClaims) -> String {
    let body = B64.encode(serde_json::to_vec(claims).expect("claims serialize"));
    let signed = format!("v1.{body}");
    let sig = B64.encode(mac(secret, signed.as_bytes()));
    format!("{signed}.{sig}")
}

/// Verifies a token at `now_unix` (seconds).
pub fn verify_agent_token(
    secret: &[u8],
    token: &str,
    now_unix: u64,
) -> Result<AgentClaims, AuthError> {
    if token.len() > 4096 {
        return Err(AuthError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some("v1"), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let sig = B64.decode(sig).map_err(|_| AuthError::Malformed)?;
    let expected = mac(secret, format!("v1.{body}").as_bytes());
    if !bool::from(expected.ct_eq(&sig)) {
        return Err(AuthError::BadSignature);
    }
    let claims: AgentClaims =
        serde_json::from_slice(&B64.decode(body).map_err(|_| AuthError::Malformed)?)
            .map_err(|_| AuthError::Malformed)?;
    if claims.exp <= now_unix {
        return Err(AuthError::Expired);
    }
    if !claims.cobrowse {
        return Err(AuthError::NotCobrowseEnabled);
    }
    Ok(claims)
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source is available");
}

/// A fresh random u64 from the CSPRNG.
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    random_bytes(&mut b);
    u64::from_le_bytes(b)
}

/// A fresh customer secret (256 bits, base64url).
pub fn new_customer_secret() -> String {
    let mut b = [0u8; 32];
    random_bytes(&mut b);
    B64.encode(b)
}

/// Constant-time comparison of secrets.
pub fn secrets_match(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The machine's agent id for a token subject: the first 8 bytes of its SHA-256, so that the
/// same vendor agent gets the same id in every session (reconnects, one session at a time)
/// without the relay storing anything.
pub fn agent_id_of(sub: &str) -> cobrowse_engine::session::AgentId {
    let h = <sha2::Sha256 as sha2::Digest>::digest(sub.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    cobrowse_engine::session::AgentId(u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> AgentClaims {
        AgentClaims {
            sub: "agent-7".into(),
            name: "Ada".into(),
            cobrowse: true,
            exp,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let t = issue_agent_token(b"0123456789abcdef", &claims(1000));
        assert_eq!(
            verify_agent_token(b"0123456789abcdef", &t, 999)
                .unwrap()
                .sub,
            "agent-7"
        );
        assert_eq!(
            verify_agent_token(b"0123456789abcdef", &t, 1000),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn forged_or_tampered_tokens_are_refused() {
        let t = issue_agent_token(b"0123456789abcdef", &claims(1000));
        assert_eq!(
            verify_agent_token(b"another-secret-16", &t, 1),
            Err(AuthError::BadSignature)
        );
        let (head, sig) = t.rsplit_once('.').unwrap();
        let forged_claims = B64.encode(serde_json::to_vec(&claims(u64::MAX)).unwrap());
        let forged = format!("v1.{forged_claims}.{sig}");
        assert_eq!(
            verify_agent_token(b"0123456789abcdef", &forged, 1),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_agent_token(b"0123456789abcdef", head, 1),
            Err(AuthError::Malformed)
        );
        for junk in ["", "v1", "v2.a.b", "v1.a.b.c", "v1.%%%.###"] {
            assert!(
                verify_agent_token(b"0123456789abcdef", junk, 1).is_err(),
                "{junk}"
            );
        }
    }

    #[test]
    fn agents_without_cobrowse_are_refused() {
        let mut c = claims(1000);
        c.cobrowse = false;
        let t = issue_agent_token(b"0123456789abcdef", &c);
        assert_eq!(
            verify_agent_token(b"0123456789abcdef", &t, 1),
            Err(AuthError::NotCobrowseEnabled)
        );
    }

    #[test]
    fn customer_secrets_are_long_and_distinct() {
        let a = new_customer_secret();
        let b = new_customer_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(secrets_match(&a, &a.clone()) && !secrets_match(&a, &b));
    }
}
