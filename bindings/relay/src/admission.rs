//! Who may enter a session, and how often one may fail trying.
//!
//! # The session ID is a rendezvous code
//!
//! Nine digits are easy to read over the phone and, for the same reason, far too few to be a
//! lasting credential (9×10⁸ values, about 30 bits). So the ID alone admits an agent only
//! while the session **waits for its first agent**: from the customer's click until the first
//! join, and never longer than the policy's join window (default 10 minutes, after which the
//! session machine ends it with `NoAgentJoined` and the customer is offered a new ID). Once an
//! agent joined, the ID admits nobody new. Who may enter then:
//!
//! - [`Admission::Returning`]: an agent who is still in the session (connected, or within its
//!   grace period), by a token with the same identity (`sub`), or by the resume token it got in
//!   `Joined` (`Hello { resume }`, no vendor token needed);
//! - [`Admission::Invited`]: a colleague with an **invite**, the spec's "share link among
//!   agents": a 128-bit secret that an agent in the session asks for with
//!   `POST /api/sessions/{id}/invites` (see [`crate::http`]) and passes on; the colleague
//!   connects to `GET /ws?invite=<secret>` and joins with its own vendor token. An invite lasts
//!   [`INVITE_LIFETIME`] and may be used by several colleagues within it (the session's
//!   `max_agents` still holds).
//!
//! Every other join is refused **exactly like an unknown ID** (`SessionNotFound`, same text),
//! so a guess learns nothing about which IDs are live, and it counts as a failed join.
//!
//! # Failed joins
//!
//! [`JoinLimiter`] counts failures per agent identity (`agent:<sub>`) and per IP address
//! (`ip:<address>`) over two sliding windows, an hour and a day
//! (`limits.join_failures_per_{agent,ip}_per_{hour,day}`). Past a limit every join from that
//! key is refused with `RateLimited` (before the token or the ID is even looked at, for an
//! address) until old failures leave the window. The README states what these rules leave an
//! attacker.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use cobrowse_engine::session::SessionState;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth;

/// How long an invite admits colleagues.
pub const INVITE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Live invites per session at most; issuing one more forgets the oldest.
pub const MAX_INVITES: usize = 16;

/// On what grounds an agent enters a session.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The session waits for its first agent: its ID alone admits.
    ById,
    /// The agent is still in the session (reconnecting).
    Returning,
    /// The agent holds a live invite of this session.
    Invited,
}

impl Admission {
    /// A word for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Admission::ById => "id",
            Admission::Returning => "returning",
            Admission::Invited => "invite",
        }
    }
}

/// Decides whether an authenticated agent may enter a session in `state`; `present` says
/// whether the agent is still in it, `invited` whether it presented a live invite of it.
/// `None`: refused, and the refusal must look like an unknown ID.
pub fn admit(state: SessionState, present: bool, invited: bool) -> Option<Admission> {
    if state == SessionState::Ended {
        return None;
    }
    if present {
        Some(Admission::Returning)
    } else if state == SessionState::Waiting {
        Some(Admission::ById)
    } else if invited {
        Some(Admission::Invited)
    } else {
        None
    }
}

/// A session's live invites. Only SHA-256 digests of the secrets are kept.
#[derive(Default)]
pub struct Invites {
    live: VecDeque<([u8; 32], Instant)>,
}

impl Invites {
    /// Issues a new invite valid until `now + INVITE_LIFETIME`; returns its secret (22
    /// base64url characters, 128 bits).
    pub fn issue(&mut self, now: Instant) -> String {
        self.prune(now);
        let mut secret = [0u8; 16];
        auth::random_bytes(&mut secret);
        let text = B64.encode(secret);
        if self.live.len() >= MAX_INVITES {
            self.live.pop_front();
        }
        self.live.push_back((digest(&text), now + INVITE_LIFETIME));
        text
    }

    /// Whether `presented` is a live invite.
    pub fn check(&mut self, presented: &str, now: Instant) -> bool {
        self.prune(now);
        let d = digest(presented);
        // Every live digest is compared, in constant time each.
        self.live
            .iter()
            .fold(false, |hit, (live, _)| hit | bool::from(live.ct_eq(&d)))
    }

    fn prune(&mut self, now: Instant) {
        self.live.retain(|(_, until)| *until > now);
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// One failure limit: at most `max` failures within `window`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Failures allowed within the window.
    pub max: u32,
    /// The sliding window.
    pub window: Duration,
}

impl Limit {
    /// `max` failures per hour.
    pub fn per_hour(max: u32) -> Limit {
        Limit { max, window: HOUR }
    }

    /// `max` failures per day.
    pub fn per_day(max: u32) -> Limit {
        Limit { max, window: DAY }
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Failed joins per key (`agent:<sub>`, `ip:<address>`), kept for a day.
#[derive(Default)]
pub struct JoinLimiter {
    failures: HashMap<String, VecDeque<Instant>>,
}

/// Failures kept per key at most (enough to decide any sane limit).
const KEPT_PER_KEY: usize = 10_000;
/// Keys kept before stale ones are swept.
const SWEEP_AT: usize = 100_000;

impl JoinLimiter {
    /// Whether `key` reached one of `limits` at `now`.
    pub fn over(&mut self, key: &str, limits: &[Limit], now: Instant) -> bool {
        let Some(q) = self.failures.get_mut(key) else {
            return limits.iter().any(|l| l.max == 0);
        };
        while q.front().is_some_and(|t| now.duration_since(*t) >= DAY) {
            q.pop_front();
        }
        limits.iter().any(|l| {
            // Failures are in time order: count the recent end only.
            let recent = q
                .iter()
                .rev()
                .take_while(|t| now.duration_since(**t) < l.window)
                .count();
            recent >= l.max as usize
        })
    }

    /// Whether `key` failed at all within the last day.
    pub fn has_failures(&self, key: &str, now: Instant) -> bool {
        self.failures
            .get(key)
            .and_then(|q| q.back())
            .is_some_and(|t| now.duration_since(*t) < DAY)
    }

    /// Counts one failure of `key`.
    pub fn record(&mut self, key: &str, now: Instant) {
        if self.failures.len() > SWEEP_AT {
            self.failures
                .retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < DAY));
        }
        let q = self.failures.entry(key.to_owned()).or_default();
        q.push_back(now);
        if q.len() > KEPT_PER_KEY {
            q.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_alone_admits_only_while_the_session_waits_for_its_first_agent() {
        assert_eq!(
            admit(SessionState::Waiting, false, false),
            Some(Admission::ById)
        );
        for state in [SessionState::Active, SessionState::Paused] {
            assert_eq!(admit(state, false, false), None, "{state:?}");
            assert_eq!(
                admit(state, false, true),
                Some(Admission::Invited),
                "{state:?}"
            );
            assert_eq!(
                admit(state, true, false),
                Some(Admission::Returning),
                "{state:?}"
            );
        }
        assert_eq!(admit(SessionState::Ended, true, true), None);
        assert_eq!(admit(SessionState::Invited, false, false), None);
    }

    #[test]
    fn invites_admit_until_they_expire_and_only_their_own_secret() {
        let t0 = Instant::now();
        let mut invites = Invites::default();
        let a = invites.issue(t0);
        assert_eq!(a.len(), 22);
        let b = invites.issue(t0 + Duration::from_secs(60));
        assert_ne!(a, b);
        assert!(invites.check(&a, t0 + Duration::from_secs(1)));
        assert!(invites.check(&b, t0 + Duration::from_secs(61)));
        assert!(!invites.check("AAAAAAAAAAAAAAAAAAAAAA", t0));
        assert!(!invites.check("", t0));
        assert!(!invites.check(&a, t0 + INVITE_LIFETIME), "expired");
        assert!(invites.check(&b, t0 + INVITE_LIFETIME));
        assert!(!invites.check(&b, t0 + Duration::from_secs(60) + INVITE_LIFETIME));
    }

    #[test]
    fn issuing_past_the_cap_forgets_the_oldest_invite() {
        let t0 = Instant::now();
        let mut invites = Invites::default();
        let first = invites.issue(t0);
        let rest: Vec<String> = (0..MAX_INVITES).map(|_| invites.issue(t0)).collect();
        assert!(!invites.check(&first, t0));
        assert!(rest.iter().all(|s| invites.check(s, t0)));
    }

    #[test]
    fn failures_are_limited_per_hour_and_per_day() {
        let t0 = Instant::now();
        let limits = [Limit::per_hour(3), Limit::per_day(5)];
        let mut l = JoinLimiter::default();
        assert!(!l.over("agent:x", &limits, t0));
        for i in 0..3 {
            l.record("agent:x", t0 + Duration::from_secs(i));
        }
        assert!(l.over("agent:x", &limits, t0 + Duration::from_secs(10)));
        assert!(!l.over("agent:y", &limits, t0), "keys are separate");
        // An hour later the hourly window has room again, the daily one still counts.
        let later = t0 + HOUR + Duration::from_secs(10);
        assert!(!l.over("agent:x", &limits, later));
        l.record("agent:x", later);
        l.record("agent:x", later);
        assert!(l.over("agent:x", &limits, later), "5 in a day");
        let much_later = later + HOUR * 2;
        assert!(
            l.over("agent:x", &limits, much_later),
            "the daily limit still holds two hours on"
        );
        assert!(!l.over("agent:x", &limits, t0 + DAY + Duration::from_secs(20)));
    }

    #[test]
    fn a_zero_limit_refuses_at_once() {
        let mut l = JoinLimiter::default();
        assert!(l.over("ip:1.2.3.4", &[Limit::per_hour(0)], Instant::now()));
    }
}
