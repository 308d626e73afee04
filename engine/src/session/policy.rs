//! What the administrator decides for every session: [`SessionPolicy`].
//!
//! The policy is fixed when a session is created; a new policy applies to new sessions.

use std::fmt;
use std::time::Duration;

use super::url::{is_host_name, web_url_host};

/// The most an agent may do (the administrator's control mode).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ControlCeiling {
    /// With the customer's approval the agent navigates, clicks, scrolls and co-fills forms.
    #[default]
    Full,
    /// The agent may navigate, click, scroll and highlight, but not fill or submit forms.
    Partial,
    /// View only: the agent can still point and highlight, and never gets control.
    None,
}

impl ControlCeiling {
    /// Whether an agent may hold control at all.
    pub fn permits_control(self) -> bool {
        self != ControlCeiling::None
    }
}

/// An allowed-domain pattern: `example.com` (that host only) or `*.example.com` (any host
/// below it, not `example.com` itself: list both to allow both).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DomainPattern {
    base: String,
    subdomains: bool,
}

/// Why a policy value is not usable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// Not `host` or `*.host` with an ASCII host name.
    InvalidDomainPattern {
        /// The pattern as written.
        pattern: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::InvalidDomainPattern { pattern } => write!(
                f,
                "invalid allowed-domain pattern {pattern:?}: expected `example.com` or `*.example.com`"
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

impl DomainPattern {
    /// Parses `example.com` or `*.example.com` (case-insensitive, one trailing dot ignored).
    pub fn parse(pattern: &str) -> Result<DomainPattern, PolicyError> {
        let invalid = || PolicyError::InvalidDomainPattern {
            pattern: pattern.to_owned(),
        };
        let text = pattern.trim();
        let (subdomains, host) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        if !is_host_name(host) {
            return Err(invalid());
        }
        Ok(DomainPattern {
            base: host.to_ascii_lowercase(),
            subdomains,
        })
    }

    /// Whether `host` (lower-cased, as [`super::web_url_host`] returns it) matches.
    pub fn matches(&self, host: &str) -> bool {
        if !self.subdomains {
            return host == self.base;
        }
        host.len() > self.base.len() + 1
            && host.ends_with(self.base.as_str())
            && host[..host.len() - self.base.len()].ends_with('.')
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subdomains {
            f.write_str("*.")?;
        }
        f.write_str(&self.base)
    }
}

/// The administrator's session policy. `Default` is the product's default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// The most an agent may do. Default: [`ControlCeiling::Full`].
    pub control_ceiling: ControlCeiling,
    /// The session ends after this long without activity; `None` never. Default: 30 minutes.
    /// Activity is any accepted event from a participant except customer frames (a page that
    /// animates by itself is not activity) and connection changes.
    pub inactivity_timeout: Option<Duration>,
    /// How long a session the customer started waits for its first agent; then it ends with
    /// [`super::EndReason::NoAgentJoined`]. `None`: as long as the inactivity timeout allows.
    /// Default: 10 minutes. The session ID is a rendezvous code: only a waiting session can be
    /// joined by its ID alone, so this bounds how long an ID is worth guessing.
    pub join_window: Option<Duration>,
    /// How long the session waits for an agent after the last connected agent left or
    /// disconnected, and how long a disconnected agent keeps its place. Default: 2 minutes.
    pub agent_grace_period: Duration,
    /// How long a highlight stays before it fades. Default: 3 minutes.
    pub highlight_lifetime: Duration,
    /// Hosts the customer's page may be on while shared; empty allows every `http(s)` host.
    pub allowed_domains: Vec<DomainPattern>,
    /// Whether an agent may invite a customer from chat. Default: `false`.
    pub agent_invites_allowed: bool,
    /// The most agents in one session (connected or within their grace period). Default: 8.
    pub max_agents: usize,
    /// Whether an agent takes part in one session at a time. Default: `true`. A session cannot
    /// see the others: the relay enforces this with an [`super::AgentDirectory`].
    pub one_session_per_agent: bool,
    /// The most highlights on the page at once; a new one beyond it fades the oldest.
    /// Default: 32.
    pub max_highlights: usize,
    /// The longest chat message, in characters. Default: 2000.
    pub max_chat_chars: usize,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            control_ceiling: ControlCeiling::Full,
            inactivity_timeout: Some(Duration::from_secs(30 * 60)),
            join_window: Some(Duration::from_secs(10 * 60)),
            agent_grace_period: Duration::from_secs(2 * 60),
            highlight_lifetime: Duration::from_secs(3 * 60),
            allowed_domains: Vec::new(),
            agent_invites_allowed: false,
            max_agents: 8,
            one_session_per_agent: true,
            max_highlights: 32,
            max_chat_chars: 2000,
        }
    }
}

impl SessionPolicy {
    /// This policy with the allowed domains replaced by `patterns` (see [`DomainPattern`]).
    pub fn with_allowed_domains<I, S>(mut self, patterns: I) -> Result<Self, PolicyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.allowed_domains = patterns
            .into_iter()
            .map(|p| DomainPattern::parse(p.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// Whether a page on `host` (lower-cased) may be shared.
    pub fn allows_host(&self, host: &str) -> bool {
        self.allowed_domains.is_empty() || self.allowed_domains.iter().any(|p| p.matches(host))
    }

    /// Whether a page at `url` may be shared: an `http(s)` URL on an allowed host.
    pub fn allows_url(&self, url: &str) -> bool {
        web_url_host(url).is_ok_and(|host| self.allows_host(&host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_products_defaults() {
        let p = SessionPolicy::default();
        assert_eq!(p.control_ceiling, ControlCeiling::Full);
        assert_eq!(p.inactivity_timeout, Some(Duration::from_secs(1800)));
        assert_eq!(p.join_window, Some(Duration::from_secs(600)));
        assert_eq!(p.agent_grace_period, Duration::from_secs(120));
        assert_eq!(p.highlight_lifetime, Duration::from_secs(180));
        assert!(p.allowed_domains.is_empty());
        assert!(!p.agent_invites_allowed);
        assert!(p.one_session_per_agent);
        assert!(p.max_agents >= 1);
    }

    #[test]
    fn domain_patterns_match_the_host_or_its_subdomains() {
        let exact = DomainPattern::parse("Example.com").unwrap();
        let below = DomainPattern::parse("*.example.com").unwrap();
        assert!(exact.matches("example.com"));
        assert!(!exact.matches("www.example.com"));
        assert!(below.matches("www.example.com"));
        assert!(below.matches("a.b.example.com"));
        assert!(!below.matches("example.com"));
        assert!(!below.matches("badexample.com"));
        assert!(!exact.matches("example.com.evil.test"));
        assert_eq!(below.to_string(), "*.example.com");
    }

    #[test]
    fn malformed_domain_patterns_are_refused() {
        for bad in [
            "",
            "*",
            "*.",
            "https://example.com",
            "example.com/x",
            "ex ample.com",
            "a..b",
        ] {
            assert!(
                matches!(
                    DomainPattern::parse(bad),
                    Err(PolicyError::InvalidDomainPattern { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_allowed_domains_allow_every_web_page_but_nothing_else() {
        let p = SessionPolicy::default();
        assert!(p.allows_url("https://anything.test/"));
        assert!(!p.allows_url("file:///etc/passwd"));
        let p = p
            .with_allowed_domains(["example.com", "*.example.com"])
            .unwrap();
        assert!(p.allows_url("https://example.com/a"));
        assert!(p.allows_url("https://shop.example.com/a"));
        assert!(!p.allows_url("https://example.org/"));
    }
}
