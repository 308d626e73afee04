//! Session rules: a pure, deterministic, sans-IO state machine in the quinn-proto style.
//!
//! One [`Session`] holds everything the product promises about one co-browsing session: its
//! lifecycle (waiting, active, paused, ended), who takes part, which agent holds control, the
//! highlights on the page, and the permission check of every agent action. It owns no socket,
//! reads no clock and draws no random number:
//!
//! - events go in through `handle_*(…, now)` methods, `now` being a [`Timestamp`] chosen by the
//!   caller (virtual time in tests, the wall clock in production);
//! - what must be said comes out through [`Session::poll_transmit`] (an [`Outgoing`] message for
//!   the customer, one agent, all agents or everyone), [`Session::poll_event`] (an
//!   [`AuditEvent`] for the vendor backend) and [`Session::poll_timeout`] (when to call
//!   [`Session::handle_timeout`] next).
//!
//! The same input sequence (events and their timestamps) always yields the same outputs.
//!
//! # Where it runs
//! The spec says "every agent action is checked by the customer side before it is replayed; a
//! relay check alone is not enough". The machine is therefore meant to run on both sides:
//!
//! - the **relay** runs the authoritative instance: it authenticates joins, sequences events,
//!   runs the lifecycle timers (inactivity, agent grace period) and checks agent actions with
//!   [`TargetFacts`] taken from its own mirror (the wire flags [`crate::View::DISABLED`] and
//!   [`crate::View::MASKED`] travel in frames, see [`TargetFacts::from_view`]);
//! - the **customer side** runs a replica fed with the relay's sequenced inputs (same events,
//!   same timestamps, so the same state: the machine is deterministic) and checks every agent
//!   action again with [`Session::check_agent_action`] against the facts of the real DOM right
//!   before replaying it. The relay's facts can be stale (the page changed since the last frame
//!   it saw); the customer side's cannot. A customer-side denial goes back to the relay through
//!   [`Session::handle_customer_side_denial`], which tells the agent and audits it.
//!
//! # Where each rule of the spec lives
//!
//! "Machine" is this module, "relay" is `bindings/relay`, "rules" is the engine's capture
//! rules ([`crate::Rules`]); "browser" means the customer widget and agent console of the
//! browser issue that follows, which must build what is named there.
//!
//! | spec rule | enforced by |
//! |---|---|
//! | nine-digit random, unpredictable id, unique among live sessions | relay: `SessionId::allocate` from the OS CSPRNG; the customer is shown `display_id` (browser) |
//! | waiting state until the first agent; the id is a one-time rendezvous code | machine: [`SessionState::Waiting`], [`SessionPolicy::join_window`]; relay: `admission` |
//! | only authenticated, co-browse-enabled agents join | relay: signed tokens (`auth`); machine: [`AgentJoin`] verification |
//! | `{start:123456789}` in the vendor's chat joins automatically | browser (agent console parses it and sends `Join`) |
//! | joining makes the session active; the customer is told; the agent sees the page at once | machine: `handle_agent_join`; relay: `PeerJoined` and a relay-made keyframe |
//! | agent invites only under a policy flag, and nothing shared before "Share my browser window" | machine: [`Session::invite`], `handle_customer_accept_invite`; the wire message and the customer's prompt: browser |
//! | more agents by a share link; everyone sees the count; one agent in control | relay: invites (`admission`); machine: participants, [`Session::controller`] |
//! | one session at a time per agent | machine: [`AgentDirectory`] (policy); relay: one directory for all sessions |
//! | pause: nothing leaves the page; resume with the same id | machine: `handle_customer_stop_sharing`; relay: drops frames while paused; the capture stops in the browser |
//! | survives page loads; outside the allowed domains it pauses | relay: customer reconnect (secret or resume token); machine: `handle_customer_navigate` |
//! | agents never see other tabs, sites or the desktop | by construction: only the customer page's own DOM is captured (browser) |
//! | either side ends; backend ends; inactivity; no agent back within the grace period | machine: `handle_*_end`, timers; relay: `DELETE /api/sessions/{id}`, timer sweep |
//! | an ended session is never rejoined | machine: ended stays ended; relay: `SessionEnded` |
//! | control ceiling full / partial / none; pointer mode first; request, approve, decline, return | machine: [`check_action`], control requests |
//! | partial control: forms disabled with "Forms cannot be edited on the agent side" | machine: [`FORMS_NOT_EDITABLE_MESSAGE`]; shown by the agent console (browser) |
//! | back, forward, reload, URL bar in control | machine: [`Navigation`] actions; the controls: browser |
//! | highlights always; fade, cleared by the agent or on customer navigation | machine: highlight timers and clears |
//! | submit buttons (and chosen elements) disabled for agents; clicks on them do nothing; the customer can always submit | rules: `disable`; machine: [`DenyReason::ElementDisabled`]; the customer is never checked |
//! | every agent action checked by the customer side before replay | machine: [`Session::check_agent_action`], run again in the customer's browser (WASM) before replay: browser |
//! | masking before serialization; passwords always; asterisks; the customer sees which fields are hidden | rules: projection in `prepare`; the list shown to the customer: browser |
//! | blocking with a same-size placeholder | rules: `block` |
//! | masked values never in a frame, a log, the relay's memory or an error | rules (masked before any frame); relay logs ids and kinds only; tests `privacy.rs` |
//! | sanitizing; the mirror is sandboxed | rules: sanitize, mirrors refuse unsanitized frames; the sandboxed iframe: browser |
//! | agent view: viewport, mode, connection status, customer's browser and system, participants | protocol: `Viewport`, `ModeChanged`, `Connection`, `Joined.customer`, participant counts; the view: browser |
//! | chat and shared links | machine: `handle_chat`, `handle_shared_link`; protocol `Chat`, `SharedLink`; the UI: browser |
//!
//! # Invariants (checked with `debug_assert!` after every call)
//! - an ended session stays ended: every later event is refused with
//!   [`SessionError::SessionEnded`] / [`DenyReason::SessionEnded`] and emits nothing;
//! - at most one agent holds control, and it is a present, connected agent of a started
//!   session whose ceiling is not [`ControlCeiling::None`]; the same holds for the (at most
//!   one) pending control request;
//! - a waiting session has no agent; a session never has more agents than
//!   [`SessionPolicy::max_agents`], and agent ids are unique;
//! - frames are forwarded only while the session is [`SessionState::Active`]
//!   ([`Session::forwards_frames`]);
//! - no queued message names an agent that is not in the session (messages for an agent are
//!   dropped when it leaves or disconnects);
//! - time never goes backwards inside the machine: a `now` earlier than one already seen is
//!   taken as the latest one seen, and every deadline due at `now` fires before the event at
//!   `now` is handled, whether or not the caller called [`Session::handle_timeout`] in time;
//! - typed text ([`TypedText`]) never appears in a `Debug` output, an audit event or an error;
//!   the machine never receives masked values at all.

mod directory;
mod messages;
mod permissions;
mod policy;
mod state;
mod url;

#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

pub use directory::{AgentDirectory, DirectoryError};
pub use messages::{
    AgentMode, AuditEvent, AuditKind, ControlLossReason, EndReason, HighlightClearReason,
    LeaveReason, Outgoing, PauseReason, PauseReasons, Recipient, SessionMessage, SessionState,
    Welcome,
};
pub use permissions::{
    ActionContext, ActionKind, AgentAction, AllowedAction, Denied, DenyReason,
    FORMS_NOT_EDITABLE_MESSAGE, Navigation, TargetFacts, TypedText, check_action,
};
pub use policy::{ControlCeiling, DomainPattern, PolicyError, SessionPolicy};
pub use state::{AgentConnection, AgentInfo, AgentJoin, Highlight, Session, SessionError};
pub use url::{MAX_URL_BYTES, UrlError, web_url_host};

/// A point in time, in milliseconds since an epoch of the caller's choosing.
///
/// The machine only compares timestamps and adds durations to them (saturating at
/// `u64::MAX`), so any monotonic millisecond clock works.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The timestamp `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Timestamp {
        Timestamp(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + duration`, truncated to whole milliseconds and saturating at `u64::MAX`.
    pub fn saturating_add(self, duration: Duration) -> Timestamp {
        let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// How long after `earlier` this is (zero if it is not after it).
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, duration: Duration) -> Timestamp {
        self.saturating_add(duration)
    }
}

/// An agent, as identified by the vendor backend's credentials (the caller maps its own
/// identifiers to these numbers).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentId(pub u64);

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "agent {}", self.0)
    }
}

/// Who did something: the customer or one agent.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Participant {
    /// The visitor whose page is shared.
    Customer,
    /// A support agent.
    Agent(AgentId),
}

/// A highlight, numbered by the session in creation order (never reused within a session).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HighlightId(pub u32);

/// A position on the page, in CSS pixels relative to the document's top-left corner.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Point {
    /// Horizontal offset.
    pub x: i32,
    /// Vertical offset.
    pub y: i32,
}

impl Point {
    /// The point `(x, y)`.
    pub const fn new(x: i32, y: i32) -> Point {
        Point { x, y }
    }
}

/// A nine-digit session ID ("123 456 789"): what the customer reads to the agent.
///
/// Always in `100_000_000..=999_999_999`, so it has nine digits whichever way it is written.
/// The machine never draws one: the relay passes entropy to [`SessionId::from_entropy`] (or
/// [`SessionId::allocate`], which also keeps it unique among live sessions).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u32);

/// Why a text is not a session ID.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionIdError {
    /// Not exactly nine digits (spaces and dashes between digits are allowed).
    NotNineDigits,
    /// Nine digits starting with `0`.
    LeadingZero,
}

impl fmt::Display for SessionIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionIdError::NotNineDigits => "a session ID has nine digits",
            SessionIdError::LeadingZero => "a session ID does not start with 0",
        })
    }
}

impl std::error::Error for SessionIdError {}

impl SessionId {
    /// The smallest ID.
    pub const MIN: u32 = 100_000_000;
    /// The largest ID.
    pub const MAX: u32 = 999_999_999;

    /// The ID with this numeric value, if it has nine digits.
    pub fn new(value: u32) -> Option<SessionId> {
        (Self::MIN..=Self::MAX)
            .contains(&value)
            .then_some(SessionId(value))
    }

    /// An ID derived from 64 random bits supplied by the caller (uniform up to a bias of
    /// less than 1e-10).
    pub fn from_entropy(random: u64) -> SessionId {
        let span = u64::from(Self::MAX - Self::MIN + 1);
        // The remainder is below `span`, which fits in u32.
        SessionId(Self::MIN + (random % span) as u32)
    }

    /// Draws IDs from `random` until one is not `live`, trying at most `attempts` times.
    /// `None` when every attempt collided (the caller should not normally see it: with a
    /// million live sessions a draw collides once in 900).
    pub fn allocate(
        mut random: impl FnMut() -> u64,
        is_live: impl Fn(SessionId) -> bool,
        attempts: usize,
    ) -> Option<SessionId> {
        (0..attempts)
            .map(|_| SessionId::from_entropy(random()))
            .find(|&id| !is_live(id))
    }

    /// The numeric value.
    pub fn value(self) -> u32 {
        self.0
    }

    /// Parses an ID typed by an agent: nine digits, optionally grouped with spaces or dashes
    /// ("123 456 789", "123-456-789", "123456789").
    pub fn parse(text: &str) -> Result<SessionId, SessionIdError> {
        let mut value: u32 = 0;
        let mut digits = 0usize;
        for c in text.trim().chars() {
            match c {
                '0'..='9' => {
                    digits += 1;
                    if digits > 9 {
                        return Err(SessionIdError::NotNineDigits);
                    }
                    value = value * 10 + (c as u32 - '0' as u32);
                }
                ' ' | '-' if digits > 0 => {}
                _ => return Err(SessionIdError::NotNineDigits),
            }
        }
        if digits != 9 {
            return Err(SessionIdError::NotNineDigits);
        }
        SessionId::new(value).ok_or(SessionIdError::LeadingZero)
    }

    /// Finds a `{start:123456789}` token in a chat message (what lets the agent client join
    /// automatically). The first well-formed token wins.
    pub fn from_chat(text: &str) -> Option<SessionId> {
        const OPEN: &str = "{start:";
        let mut rest = text;
        while let Some(at) = rest.find(OPEN) {
            let after = &rest[at + OPEN.len()..];
            if let Some(close) = after.find('}')
                && let Ok(id) = SessionId::parse(&after[..close])
            {
                return Some(id);
            }
            rest = after;
        }
        None
    }
}

impl fmt::Display for SessionId {
    /// Three groups of three digits: "123 456 789".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:03} {:03} {:03}",
            v / 1_000_000,
            v / 1_000 % 1_000,
            v % 1_000
        )
    }
}
