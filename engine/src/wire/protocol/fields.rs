//! The types message fields are made of, as the application sees them. How each travels on
//! the wire (its wire form, its checks) is in [`codec`](super::codec).
//!
//! The session module's types are used as they are ([`SessionId`](crate::session::SessionId),
//! [`ControlCeiling`], [`PauseReason`](crate::session::PauseReason),
//! [`DenyReason`], [`Navigation`]); [`EndReason`] has its own wire form because participants
//! learn who left from [`Message::Left`](super::Message::Left), not from the reason.

use std::fmt;

use crate::session;

pub use crate::session::{ActionKind, DenyReason, Navigation};

/// A participant of a session (the customer or an agent), assigned by the relay.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
pub struct ParticipantId(pub u32);

/// An agent's credential, issued by the vendor backend. `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(pub(super) String);

impl AuthToken {
    /// Wraps a token (validated on decode: 1..=[`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES)
    /// bytes of printable ASCII without spaces).
    pub fn new(token: impl Into<String>) -> AuthToken {
        AuthToken(token.into())
    }
    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthToken(<{} bytes>)", self.0.len())
    }
}

/// The secret that binds a customer's connections to its session (the `secret` of
/// `POST /api/sessions`, or of [`Message::InviteCreated`](super::Message::InviteCreated) for a
/// session an agent started by invitation). `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerSecret(pub(super) String);

impl CustomerSecret {
    /// Wraps a secret (validated on decode: 1..=[`MAX_SECRET_BYTES`](super::MAX_SECRET_BYTES)
    /// bytes of printable ASCII without spaces).
    pub fn new(secret: impl Into<String>) -> CustomerSecret {
        CustomerSecret(secret.into())
    }
    /// The secret.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CustomerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerSecret(<{} bytes>)", self.0.len())
    }
}

/// A secret the relay gives a participant in [`Message::Joined`](super::Message::Joined),
/// presented in [`Message::Hello`](super::Message::Hello) to resume after a dropped
/// connection. Compared in constant time; `Debug` never shows it.
#[derive(Copy, Clone, Eq)]
pub struct ResumeToken(pub [u8; 16]);

impl PartialEq for ResumeToken {
    fn eq(&self, other: &ResumeToken) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeToken(<redacted>)")
    }
}

/// Which side of a session a participant is on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Role {
    /// The visitor whose page is shared.
    Customer,
    /// A support agent viewing (and maybe controlling) the page.
    Agent,
}

/// Why a session ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EndReason {
    /// The customer ended it.
    CustomerEnded,
    /// An agent ended it.
    AgentEnded,
    /// The vendor backend ended it (the chat or call ended).
    BackendEnded,
    /// No activity past the configured timeout.
    Inactivity,
    /// The agent left and did not come back within the grace period.
    AgentGone,
    /// The customer left and did not come back within the grace period.
    CustomerGone,
    /// A participant broke the policy.
    PolicyViolation,
    /// An unrecoverable error.
    Error,
    /// The customer declined an agent's invitation.
    InviteDeclined,
    /// The inviting agent left before the customer answered.
    InviteWithdrawn,
    /// No agent joined within the join window: the session ID expired unused.
    NoAgentJoined,
}

impl From<session::EndReason> for EndReason {
    /// The wire form of the session machine's reason (the ending agent of
    /// [`session::EndReason::AgentEnded`] is not carried: participants learn who left from
    /// [`Message::Left`](super::Message::Left)).
    fn from(r: session::EndReason) -> EndReason {
        match r {
            session::EndReason::CustomerEnded => EndReason::CustomerEnded,
            session::EndReason::AgentEnded(_) => EndReason::AgentEnded,
            session::EndReason::VendorBackend => EndReason::BackendEnded,
            session::EndReason::InactivityTimeout => EndReason::Inactivity,
            session::EndReason::NoAgentReturned => EndReason::AgentGone,
            session::EndReason::InviteDeclined => EndReason::InviteDeclined,
            session::EndReason::InviteWithdrawn => EndReason::InviteWithdrawn,
            session::EndReason::NoAgentJoined => EndReason::NoAgentJoined,
        }
    }
}

/// A typed error code ([`Message::Error`](super::Message::Error)).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ErrorCode {
    /// The message was not valid.
    BadMessage,
    /// The protocol version is not supported.
    UnsupportedVersion,
    /// The message was too large.
    TooLarge,
    /// Missing or invalid credentials, or an agent not enabled for co-browsing.
    Unauthorized,
    /// No live session with this id.
    SessionNotFound,
    /// The session has ended and cannot be rejoined.
    SessionEnded,
    /// The session has as many participants as it may.
    SessionFull,
    /// The agent is already in a session (one at a time by default).
    AgentBusy,
    /// Too many messages.
    RateLimited,
    /// The action is not allowed.
    PermissionDenied(DenyReason),
    /// The receiver cannot apply deltas and needs a keyframe.
    NeedKeyframe,
    /// Something went wrong on the sender's side.
    Internal,
}

/// Who drives the customer's page.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Mode {
    /// Everyone points; only the customer acts.
    Pointer,
    /// This agent navigates, clicks, scrolls and (under [`ControlCeiling::Full`](crate::session::ControlCeiling::Full)) fills forms.
    Control(ParticipantId),
}

/// The customer's or agent's software, shown in the other side's view. Each field is at most
/// [`MAX_CLIENT_FIELD_BYTES`](super::MAX_CLIENT_FIELD_BYTES) without control characters;
/// empty means unknown.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClientInfo {
    /// The browser's name (`Firefox`).
    pub browser: String,
    /// Its version (`128.0`).
    pub browser_version: String,
    /// The operating system (`Windows 11`).
    pub os: String,
    /// The co-browse client's version.
    pub client_version: String,
}

/// What a reconnecting participant presents in [`Message::Hello`](super::Message::Hello).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Reconnect {
    /// The session it was in.
    pub session_id: session::SessionId,
    /// Its id in that session.
    pub participant_id: ParticipantId,
    /// The token it got in [`Message::Joined`](super::Message::Joined).
    pub token: ResumeToken,
    /// For an agent, the sequence number of the last frame it applied, if any.
    pub last_seq: Option<u64>,
}

/// A rectangle in CSS pixels (relative to a highlight's target element).
#[derive(Copy, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width, `>= 0`.
    pub width: f32,
    /// Height, `>= 0`.
    pub height: f32,
}

/// An sRGB colour with alpha.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Color {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha (255 is opaque).
    pub a: u8,
}

/// Which highlights [`Message::HighlightClear`](super::Message::HighlightClear) removes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum HighlightScope {
    /// The sender's highlight with this id.
    One(u32),
    /// All of the sender's highlights.
    All,
}

/// Who sends a message, for [`MessageKind::may_come_from`](super::MessageKind::may_come_from).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    /// The customer client.
    Customer,
    /// An agent client.
    Agent,
    /// The relay itself.
    Relay,
}
