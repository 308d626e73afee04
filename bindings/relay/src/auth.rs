//! Credentials: agent tokens signed by the vendor backend, and customer secrets issued by the
//! relay.
//!
//! An agent token is a JWT (verified by the `jsonwebtoken` crate) with the claims
//! `{"sub": agent id, "name": display name, "cobrowse": true, "exp": unix seconds}`. The
//! algorithm is pinned by configuration (`agent_token_algorithm`), never read from the token:
//! `HS256` with the shared agent secret (the default), or `RS256` / `ES256` with the vendor's
//! public key (`agent_token_public_key`, a PEM file) for vendors who sign with their own keys.
//! A token of any other algorithm, or none, is refused. A customer secret is 32 random bytes,
//! base64url; it binds later connections (a reload, a navigation) to the session that created
//! it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

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
    /// Not a JWT, another algorithm than the configured one, or claims of the wrong shape.
    Malformed,
    /// The signature does not verify under the relay's key.
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

/// Why the token verifier could not be built from the configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyError {
    /// `agent_token_algorithm` is not `HS256`, `RS256` or `ES256`.
    UnknownAlgorithm(String),
    /// `RS256`/`ES256` without `agent_token_public_key`.
    MissingPublicKey,
    /// The key file could not be read or is not a PEM public key of the algorithm.
    BadKey(String),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::UnknownAlgorithm(a) => write!(
                f,
                "agent_token_algorithm `{a}`: expected HS256, RS256 or ES256"
            ),
            KeyError::MissingPublicKey => {
                f.write_str("agent_token_algorithm RS256/ES256 needs agent_token_public_key")
            }
            KeyError::BadKey(e) => write!(f, "agent_token_public_key: {e}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Reads a PEM public key for one algorithm family.
type PemKey = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;

/// Verifies agent tokens with one pinned algorithm and key.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// `HS256` with the shared secret.
    pub fn hs256(secret: &[u8]) -> TokenVerifier {
        TokenVerifier::with(
            DecodingKey::from_secret(secret).expect("HMAC takes keys of any length"),
            Algorithm::HS256,
        )
    }

    /// The configured algorithm (`HS256`, `RS256`, `ES256`) with the shared secret or the PEM
    /// public key.
    pub fn from_config(
        algorithm: &str,
        secret: &[u8],
        public_key_pem: Option<&[u8]>,
    ) -> Result<TokenVerifier, KeyError> {
        let (alg, pem_key): (Algorithm, PemKey) = match algorithm {
            "HS256" => return Ok(TokenVerifier::hs256(secret)),
            "RS256" => (Algorithm::RS256, DecodingKey::from_rsa_pem),
            "ES256" => (Algorithm::ES256, DecodingKey::from_ec_pem),
            other => return Err(KeyError::UnknownAlgorithm(other.to_owned())),
        };
        let pem = public_key_pem.ok_or(KeyError::MissingPublicKey)?;
        let key = pem_key(pem).map_err(|e| KeyError::BadKey(e.to_string()))?;
        Ok(TokenVerifier::with(key, alg))
    }

    fn with(key: DecodingKey, alg: Algorithm) -> TokenVerifier {
        let mut validation = Validation::new(alg);
        // Expiry is checked against the relay's clock in `verify` (exactly, no leeway).
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp".to_owned()].into_iter().collect();
        TokenVerifier { key, validation }
    }

    /// Verifies a token at `now_unix` (seconds).
    pub fn verify(&self, token: &str, now_unix: u64) -> Result<AgentClaims, AuthError> {
        if token.len() > 4096 {
            return Err(AuthError::Malformed);
        }
        let claims = jsonwebtoken::decode::<AgentClaims>(token, &self.key, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => AuthError::BadSignature,
                _ => AuthError::Malformed,
            })?
            .claims;
        if claims.exp <= now_unix {
            return Err(AuthError::Expired);
        }
        if !claims.cobrowse {
            return Err(AuthError::NotCobrowseEnabled);
        }
        Ok(claims)
    }
}

/// Signs claims into an HS256 token (what a vendor backend does; the relay uses it for
/// development tokens and tests).
pub fn issue_agent_token(secret: &[u8], claims: &AgentClaims) -> String {
    let key = EncodingKey::from_secret(secret).expect("HMAC takes keys of any length");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("claims serialize")
}

/// Verifies an HS256 token under `secret` at `now_unix` (seconds).
pub fn verify_agent_token(
    secret: &[u8],
    token: &str,
    now_unix: u64,
) -> Result<AgentClaims, AuthError> {
    TokenVerifier::hs256(secret).verify(token, now_unix)
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
        let header = head.split('.').next().unwrap();
        let forged_claims = B64.encode(serde_json::to_vec(&claims(u64::MAX)).unwrap());
        let forged = format!("{header}.{forged_claims}.{sig}");
        assert_eq!(
            verify_agent_token(b"0123456789abcdef", &forged, 1),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_agent_token(b"0123456789abcdef", head, 1),
            Err(AuthError::Malformed)
        );
        for junk in ["", "v1", "v2.a.b", "v1.a.b.c", "v1.%%%.###", "a.b.c"] {
            assert!(
                verify_agent_token(b"0123456789abcdef", junk, 1).is_err(),
                "{junk}"
            );
        }
    }

    #[test]
    fn the_algorithm_is_pinned_by_configuration_not_read_from_the_token() {
        let secret = b"0123456789abcdef";
        // Unsigned ("alg": "none").
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            B64.encode(serde_json::to_vec(&claims(1000)).unwrap())
        );
        assert_eq!(
            verify_agent_token(secret, &none, 1),
            Err(AuthError::Malformed)
        );
        // Another HMAC algorithm under the right secret.
        let key = EncodingKey::from_secret(secret).unwrap();
        let hs384 =
            jsonwebtoken::encode(&Header::new(Algorithm::HS384), &claims(1000), &key).unwrap();
        assert_eq!(
            verify_agent_token(secret, &hs384, 1),
            Err(AuthError::Malformed)
        );
        // An HS256 token is refused by a relay pinned to RS256 (no key confusion), and the
        // configuration names one of three algorithms, with a key where one is needed.
        assert!(matches!(
            TokenVerifier::from_config("RS256", secret, None),
            Err(KeyError::MissingPublicKey)
        ));
        assert!(matches!(
            TokenVerifier::from_config("none", secret, None),
            Err(KeyError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            TokenVerifier::from_config("ES256", secret, Some(b"not a pem")),
            Err(KeyError::BadKey(_))
        ));
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
