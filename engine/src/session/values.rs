//! Plain values every part of the session module shares: the clock ([`Timestamp`]), ids
//! ([`SessionId`], [`AgentId`], [`HighlightId`]), who is who ([`Participant`]), points on the
//! page ([`Point`]) and [`Highlight`]s. They depend on nothing else in the module.

use std::fmt;
use std::time::Duration;

use crate::dom::tree::WireId;

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

/// A mark an agent put on an element, visible to both sides until it fades.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Highlight {
    /// Its number.
    pub id: HighlightId,
    /// Who made it.
    pub agent: AgentId,
    /// The marked element.
    pub target: WireId,
    /// When it fades.
    pub expires_at: Timestamp,
}
