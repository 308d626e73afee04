//! The one URL question the session rules ask: is this an `http(s)` address, and on which host?
//!
//! Deliberately stricter than a browser: whatever a browser would repair (tabs or newlines
//! inside, backslashes after the scheme, percent-encoded or non-ASCII hosts) is refused rather
//! than guessed at, so a URL this module accepts has the host a browser would use. A refused
//! URL counts as "outside the allowed domains" for the customer's page and as unsafe for an
//! agent's navigation or shared link.

use std::fmt;

/// The longest URL looked at, in bytes.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// Why a text is not an `http(s)` URL with a usable host.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum UrlError {
    /// Nothing but whitespace.
    Empty,
    /// Longer than [`MAX_URL_BYTES`].
    TooLong,
    /// A control character inside (browsers silently drop some, which hides schemes).
    ControlCharacter,
    /// Not `http://` or `https://` (`javascript:`, `data:`, `file:`, relative, …).
    NotWeb,
    /// No host after the scheme.
    MissingHost,
    /// A host with characters other than ASCII letters, digits, `-`, `_` and `.`, or a bad port.
    InvalidHost,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::Empty => "the address is empty",
            UrlError::TooLong => "the address is too long",
            UrlError::ControlCharacter => "the address contains a control character",
            UrlError::NotWeb => "only http and https addresses are allowed",
            UrlError::MissingHost => "the address has no host",
            UrlError::InvalidHost => "the address has an invalid host",
        })
    }
}

impl std::error::Error for UrlError {}

/// The lower-cased host of an absolute `http` or `https` URL, without port, user info or
/// trailing dot. IPv6 hosts keep their brackets (`[::1]`).
pub fn web_url_host(url: &str) -> Result<String, UrlError> {
    // Browsers strip leading and trailing C0 controls and spaces.
    let url = url.trim_matches(|c: char| c <= ' ');
    if url.is_empty() {
        return Err(UrlError::Empty);
    }
    if url.len() > MAX_URL_BYTES {
        return Err(UrlError::TooLong);
    }
    if url.chars().any(|c| c.is_control()) {
        return Err(UrlError::ControlCharacter);
    }
    let (scheme, rest) = url.split_once("://").ok_or(UrlError::NotWeb)?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(UrlError::NotWeb);
    }
    let authority_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(inner) = host_port.strip_prefix('[') {
        let (ip, after) = inner.split_once(']').ok_or(UrlError::InvalidHost)?;
        if ip.is_empty()
            || !ip
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(UrlError::InvalidHost);
        }
        let port = match after {
            "" => "",
            _ => after.strip_prefix(':').ok_or(UrlError::InvalidHost)?,
        };
        (&host_port[..ip.len() + 2], port)
    } else {
        host_port.split_once(':').unwrap_or((host_port, ""))
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidHost);
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if !host.starts_with('[') && !is_host_name(host) {
        return Err(UrlError::InvalidHost);
    }
    Ok(host.to_ascii_lowercase())
}

/// ASCII letters, digits, `-`, `_`, non-empty labels separated by single dots.
pub(crate) fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_web_urls_are_lower_cased_without_port_or_user_info() {
        assert_eq!(
            web_url_host("https://Shop.Example.com/cart?x=1").unwrap(),
            "shop.example.com"
        );
        assert_eq!(
            web_url_host("http://example.com:8080").unwrap(),
            "example.com"
        );
        assert_eq!(
            web_url_host("  https://example.com./  ").unwrap(),
            "example.com"
        );
        assert_eq!(
            web_url_host("https://example.com@evil.test/").unwrap(),
            "evil.test"
        );
        assert_eq!(
            web_url_host("https://evil.test\\@example.com").unwrap(),
            "evil.test"
        );
        assert_eq!(web_url_host("https://[::1]:8443/x").unwrap(), "[::1]");
        assert_eq!(
            web_url_host("HTTPS://EXAMPLE.COM#top").unwrap(),
            "example.com"
        );
    }

    #[test]
    fn scripts_data_relative_and_repaired_urls_are_refused() {
        assert_eq!(web_url_host("javascript:alert(1)"), Err(UrlError::NotWeb));
        assert_eq!(web_url_host("data:text/html,x"), Err(UrlError::NotWeb));
        assert_eq!(web_url_host("/relative/path"), Err(UrlError::NotWeb));
        assert_eq!(
            web_url_host("java\nscript://x"),
            Err(UrlError::ControlCharacter)
        );
        assert_eq!(web_url_host("https:///path"), Err(UrlError::MissingHost));
        assert_eq!(
            web_url_host("https://ex%61mple.com"),
            Err(UrlError::InvalidHost)
        );
        assert_eq!(
            web_url_host("https://exämple.com"),
            Err(UrlError::InvalidHost)
        );
        assert_eq!(
            web_url_host("https://example.com:80a"),
            Err(UrlError::InvalidHost)
        );
        assert_eq!(web_url_host(""), Err(UrlError::Empty));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert_eq!(web_url_host(&long), Err(UrlError::TooLong));
    }
}
