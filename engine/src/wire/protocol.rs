//! The session protocol: every message exchanged between the customer client, the relay and
//! the agent clients, as one versioned, validated binary schema.
//!
//! ```
//! use cobrowse_engine::protocol::{
//!     Message, MessageKind, MessageView, ParticipantId, ProtocolError, encode_frame,
//! };
//!
//! // A client sends a chat line typed by its user: validate before sending.
//! let bytes = Message::Chat { from: ParticipantId(1), text: "hello".into() }.try_encode()?;
//! assert_eq!(bytes.len(), 19);
//!
//! // The relay routes without copying.
//! let frame = [0x43, 0x42, 0x46, 0x31]; // (an engine frame, opaque here)
//! let msg = encode_frame(&frame);
//! let view = MessageView::access(&msg)?;
//! assert_eq!(view.kind(), MessageKind::Frame);
//! assert_eq!(view.frame(), Some(&frame[..]));
//!
//! // An agent client decodes everything else to owned messages.
//! match Message::decode(&bytes)? {
//!     Message::Chat { from, text } => assert_eq!((from, text.as_str()), (ParticipantId(1), "hello")),
//!     other => panic!("unexpected {:?}", other.kind()),
//! }
//! # Ok::<(), ProtocolError>(())
//! ```
//!
//! # Byte layout
//!
//! ```text
//! "CBM1"   version: u16 LE   kind: u8   | rkyv archive of the kind's body (root at the end)
//! 4 bytes  2 bytes           1 byte     | ...
//! ```
//!
//! Like [frames](crate::FrameView), a message starts with a magic and a version outside the
//! archive, so that garbage is rejected before any validation work and a message of a future,
//! differently laid out version is reported as [`ProtocolError::UnsupportedVersion`]. Then
//! comes one byte, the [`MessageKind`], and the archive of that kind's body. Putting the kind
//! outside the archive means every message pays only for its own fields (an rkyv enum would be
//! as large as its largest variant), and a relay can read the kind at a fixed offset.
//!
//! The archive uses the crate's rkyv features (`unaligned`, `little_endian`,
//! `pointer_width_32`): alignment 1, so a message can be accessed in place at any offset of a
//! receive buffer. Strings of up to 8 bytes live inline in their 8-byte slot.
//!
//! Encoded sizes (prefix included): `Pointer` 24 bytes, `AgentClick` 19, `Ack` 15,
//! `Ping`/`Pong` 23, `Chat` 19 plus the text when it is longer than 8 bytes (a 5-byte "hello"
//! is 19 in all), unit messages (`Resume`, `ControlReturn`, ...) 7, `Frame` 15 plus the frame,
//! whose bytes start at offset 7 of the message.
//!
//! # Validation
//!
//! [`MessageView::access`] (and [`Message::decode`], which uses it) checks, in this order:
//!
//! 1. the length against [`MAX_MESSAGE_BYTES`], before looking at any byte;
//! 2. the magic, the version and the kind byte;
//! 3. for every kind but [`MessageKind::Frame`], the length against
//!    [`MAX_CONTROL_MESSAGE_BYTES`] (only frames may be large: this is the relay's first
//!    defense);
//! 4. rkyv/bytecheck validation of the body (every pointer and length is backed by bytes of
//!    the message, strings are UTF-8, option tags are 0 or 1);
//! 5. semantic validation of every field: enum codes, string lengths and characters (see the
//!    `MAX_*` constants), URLs (absolute `http:`/`https:`, printable ASCII, and accepted by
//!    the session rules' [`web_url_host`](crate::session::web_url_host)), session ids,
//!    coordinates (finite, within [`MAX_COORD`]), wire ids (assigned), consistency
//!    (a URL only with [`Navigation::Url`], control only under a ceiling that allows it).
//!
//! After that every accessor is infallible. Decoding never panics, whatever the input; the
//! tests feed it every truncation and bit flip of sample messages and random buffers, and
//! [`fuzz_decode`] is the cargo-fuzz entry point.
//!
//! The frame carried by [`Message::Frame`] is opaque here: the protocol checks only that it is
//! non-empty and within [`MAX_FRAME_BYTES`]. The receiving mirror validates it with
//! [`FrameView::access`](crate::FrameView::access); the relay never needs to.
//!
//! Encoding does not validate (like frames): [`Message::encode`] writes whatever it is given,
//! and a message the receiver would reject (a 5000-byte chat text, a `javascript:` URL)
//! encodes to bytes that [`Message::decode`] rejects. Senders that build messages from user
//! input use [`Message::try_encode`], which validates what it wrote.
//!
//! Archives are not canonical: rkyv validation accepts bytes that no pointer reaches, so two
//! different byte strings may decode to the same message. Nothing reads such bytes.
//!
//! # Privacy
//!
//! Errors never contain message contents: [`ProtocolError`]'s `Display` and `Debug` name the
//! kind and field, lengths and limits, enum codes, never a string or raw bytes (chat text,
//! URLs, typed input and tokens may be sensitive), and the rkyv validation message is redacted
//! of every number before it is kept. [`AuthToken`] and [`ResumeToken`] are redacted in
//! `Debug` too. Other message fields are not: do not log a `Message` with `{:?}` where chat
//! text or input values must not go.
//!
//! # Decisions
//!
//! - Session ids are the session module's [`SessionId`]: nine-digit numbers,
//!   `100000000..=999999999`, a `u32` on the wire (no leading zero, so an id read aloud, typed
//!   into a numeric field or parsed as an integer from `{start:123456789}` never loses a digit).
//!   A wire value outside that range is [`ProtocolError::BadSessionId`]. The control ceiling
//!   and pause reasons are the session module's types too; end and deny reasons have wire
//!   forms convertible from the session's (`From`).
//! - Coordinates are `f32` CSS pixels (fractional under zoom). With a target wire id they are
//!   relative to the target element's border box (robust against layout differences between
//!   the customer's and the agent's browsers); without, to the document.
//! - Messages that name their originator ([`Message::sender`]: chat, pointer, ripple,
//!   highlights, shared links, control requests) carry it in the body; the relay must check
//!   it against the authenticated connection before forwarding. [`MessageKind::may_come_from`]
//!   is the direction table a relay applies first.
//! - Every enum code starts at 1, so a zeroed body never decodes.

use std::fmt;

use rkyv::api::high::HighValidator;
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;
use rkyv::{Archive, Archived, Serialize};

use crate::dom::tree::WireId;
use crate::session::{self, ControlCeiling, PauseReason, SessionId, UrlError};
use crate::wire::frame::MAX_FRAME_BYTES;
use crate::wire::redact::redact;

/// The protocol version this build writes and reads.
pub const PROTOCOL_VERSION: u16 = 1;

/// Messages larger than this are rejected without looking at them: the largest frame plus the
/// [`Message::Frame`] overhead (15 bytes), rounded up.
pub const MAX_MESSAGE_BYTES: usize = MAX_FRAME_BYTES + 64;

// The largest frame fits in a message.
const _: () = assert!(MAX_FRAME_BYTES + 15 <= MAX_MESSAGE_BYTES);

/// Messages of every kind but [`MessageKind::Frame`] larger than this are rejected before
/// validation. Every valid non-frame message is far smaller (the largest field is an
/// [`Message::AgentInput`] value of [`MAX_INPUT_BYTES`]).
pub const MAX_CONTROL_MESSAGE_BYTES: usize = 64 << 10;

/// Chat text ([`Message::Chat`]), in bytes of UTF-8.
pub const MAX_CHAT_BYTES: usize = 4 << 10;
/// URLs ([`Navigation::Url`], [`Message::SharedLink`], [`Message::PageChanged`]): the session
/// rules' limit.
pub const MAX_URL_BYTES: usize = session::MAX_URL_BYTES;
/// Each [`ClientInfo`] field.
pub const MAX_CLIENT_FIELD_BYTES: usize = 128;
/// An agent's [`AuthToken`].
pub const MAX_TOKEN_BYTES: usize = 4 << 10;
/// A shared link's title.
pub const MAX_TITLE_BYTES: usize = 512;
/// A value typed by an agent ([`Message::AgentInput`]).
pub const MAX_INPUT_BYTES: usize = 16 << 10;
/// The developer-facing text of an [`Message::Error`].
pub const MAX_ERROR_MESSAGE_BYTES: usize = 256;
/// The largest coordinate, scroll offset or size, in CSS pixels (2^24: beyond any layout, and
/// every integer up to it is exact in `f32`).
pub const MAX_COORD: f32 = 16_777_216.0;
/// The largest viewport width or height, in CSS pixels.
pub const MAX_VIEWPORT_PX: u32 = 1 << 16;

/// The magic bytes every message starts with.
const MAGIC: [u8; 4] = *b"CBM1";
/// Magic + version + kind.
const PREFIX_LEN: usize = 7;

// ---------------------------------------------------------------------------------------------
// Errors.

/// Why a byte slice is not a valid message.
///
/// Neither `Display` nor `Debug` ever contains message contents (strings, raw bytes): only
/// structure (the field, a length, a limit, an enum code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The message is larger than the limit for its kind ([`MAX_MESSAGE_BYTES`], or
    /// [`MAX_CONTROL_MESSAGE_BYTES`] for every kind but frames).
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// It does not start with the message magic.
    BadMagic,
    /// It ends before the fixed-size parts.
    Truncated,
    /// A version this build does not read.
    UnsupportedVersion(u16),
    /// A kind byte that is no [`MessageKind`].
    UnknownKind(u8),
    /// The body failed rkyv validation (bad pointer, length, UTF-8, option tag; the message is
    /// redacted of all numbers).
    Invalid(String),
    /// A string or byte field longer than its limit.
    TooLong {
        /// `Kind.field`.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field that must not be empty is.
    Empty {
        /// `Kind.field`.
        field: &'static str,
    },
    /// A string field contains a character it may not (control characters; for tokens and
    /// error texts, anything but printable ASCII).
    BadCharacter {
        /// `Kind.field`.
        field: &'static str,
    },
    /// Not an absolute `http:` or `https:` URL of printable ASCII.
    BadUrl {
        /// `Kind.field`.
        field: &'static str,
    },
    /// A coordinate, size or scroll offset that is not finite or out of range.
    BadNumber {
        /// `Kind.field`.
        field: &'static str,
    },
    /// A session id that is not nine decimal digits.
    BadSessionId {
        /// `Kind.field`.
        field: &'static str,
    },
    /// A target wire id of 0 ([`WireId::UNASSIGNED`]).
    UnassignedWireId {
        /// `Kind.field`.
        field: &'static str,
    },
    /// An enum code this version does not define.
    UnknownCode {
        /// `Kind.field`.
        field: &'static str,
        /// The code.
        code: u8,
    },
    /// Fields that contradict each other (a URL with `Back`, control under a view-only
    /// ceiling, a detail code on an error code that has none).
    Inconsistent {
        /// `Kind.field`.
        field: &'static str,
    },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::TooLarge { len, max } => {
                write!(f, "message of {len} bytes exceeds the limit of {max} bytes")
            }
            ProtocolError::BadMagic => f.write_str("not a cobrowse message (bad magic)"),
            ProtocolError::Truncated => f.write_str("message truncated"),
            ProtocolError::UnsupportedVersion(v) => write!(
                f,
                "unsupported protocol version {v} (this build reads version {PROTOCOL_VERSION})"
            ),
            ProtocolError::UnknownKind(k) => write!(f, "unknown message kind {k}"),
            ProtocolError::Invalid(msg) => write!(f, "invalid message archive: {msg}"),
            ProtocolError::TooLong { field, len, max } => {
                write!(f, "{field} is {len} bytes, over the limit of {max}")
            }
            ProtocolError::Empty { field } => write!(f, "{field} is empty"),
            ProtocolError::BadCharacter { field } => {
                write!(f, "{field} contains a forbidden character")
            }
            ProtocolError::BadUrl { field } => {
                write!(
                    f,
                    "{field} is not an absolute http(s) URL of printable ASCII"
                )
            }
            ProtocolError::BadNumber { field } => {
                write!(f, "{field} is not finite or out of range")
            }
            ProtocolError::BadSessionId { field } => {
                write!(f, "{field} is not a nine-digit session id")
            }
            ProtocolError::UnassignedWireId { field } => {
                write!(f, "{field} is the unassigned wire id 0")
            }
            ProtocolError::UnknownCode { field, code } => {
                write!(f, "{field} has unknown code {code}")
            }
            ProtocolError::Inconsistent { field } => {
                write!(f, "{field} is inconsistent with the rest of the message")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

impl ProtocolError {
    /// The [`ErrorCode`] to answer with: [`ErrorCode::TooLarge`],
    /// [`ErrorCode::UnsupportedVersion`] or [`ErrorCode::BadMessage`].
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ProtocolError::TooLarge { .. } => ErrorCode::TooLarge,
            ProtocolError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
            _ => ErrorCode::BadMessage,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field types.

/// A participant of a session (the customer or an agent), assigned by the relay.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ParticipantId(pub u32);

/// An agent's credential, issued by the vendor backend. `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    /// Wraps a token (validated on decode: 1..=[`MAX_TOKEN_BYTES`] bytes of printable ASCII
    /// without spaces).
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

/// A secret the relay gives a participant in [`Message::Joined`], presented in
/// [`Message::Hello`] to resume after a dropped connection. Compared in constant time; `Debug`
/// never shows it.
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

/// Defines a fieldless enum carried as a `u8` code.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $E:ident { $( $(#[$vmeta:meta])* $V:ident = $code:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $E { $( $(#[$vmeta])* $V, )* }

        impl $E {
            fn code(self) -> u8 {
                match self { $( $E::$V => $code, )* }
            }
            fn from_code(code: u8) -> Option<$E> {
                match code { $( $code => Some($E::$V), )* _ => None }
            }
        }
    };
}

code_enum! {
    /// Which side of a session a participant is on.
    pub enum Role {
        /// The visitor whose page is shared.
        Customer = 1,
        /// A support agent viewing (and maybe controlling) the page.
        Agent = 2,
    }
}

/// Wire codes of the session module's enums (which this module shares rather than
/// duplicates).
fn ceiling_code(c: ControlCeiling) -> u8 {
    match c {
        ControlCeiling::Full => 1,
        ControlCeiling::Partial => 2,
        ControlCeiling::None => 3,
    }
}

fn ceiling_from_code(code: u8) -> Option<ControlCeiling> {
    Some(match code {
        1 => ControlCeiling::Full,
        2 => ControlCeiling::Partial,
        3 => ControlCeiling::None,
        _ => return None,
    })
}

fn pause_code(r: PauseReason) -> u8 {
    match r {
        PauseReason::CustomerStoppedSharing => 1,
        PauseReason::OutsideAllowedDomains => 2,
    }
}

fn pause_from_code(code: u8) -> Option<PauseReason> {
    Some(match code {
        1 => PauseReason::CustomerStoppedSharing,
        2 => PauseReason::OutsideAllowedDomains,
        _ => return None,
    })
}

code_enum! {
    /// Why a session ended.
    #[non_exhaustive]
    pub enum EndReason {
        /// The customer ended it.
        CustomerEnded = 1,
        /// An agent ended it.
        AgentEnded = 2,
        /// The vendor backend ended it (the chat or call ended).
        BackendEnded = 3,
        /// No activity past the configured timeout.
        Inactivity = 4,
        /// The agent left and did not come back within the grace period.
        AgentGone = 5,
        /// The customer left and did not come back within the grace period.
        CustomerGone = 6,
        /// A participant broke the policy.
        PolicyViolation = 7,
        /// An unrecoverable error.
        Error = 8,
        /// The customer declined an agent's invitation.
        InviteDeclined = 9,
        /// The inviting agent left before the customer answered.
        InviteWithdrawn = 10,
        /// No agent joined within the join window: the session ID expired unused.
        NoAgentJoined = 11,
    }
}

impl From<session::EndReason> for EndReason {
    /// The wire form of the session machine's reason (the ending agent of
    /// [`session::EndReason::AgentEnded`] is not carried: participants learn who left from
    /// [`Message::Left`]).
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

/// Why an action was refused ([`ErrorCode::PermissionDenied`]): the wire form of
/// [`session::DenyReason`] (every session reason has one), plus [`DenyReason::WrongRole`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenyReason {
    /// The session ended.
    SessionEnded,
    /// The session has not started (waiting, or invitation not accepted yet).
    NotStarted,
    /// The customer stopped sharing or is outside the allowed domains.
    SessionPaused,
    /// The agent is not in this session.
    NotAParticipant,
    /// The agent is disconnected.
    AgentDisconnected,
    /// The ceiling is [`ControlCeiling::None`]: view only.
    ControlNotPermitted,
    /// The ceiling is [`ControlCeiling::Partial`]: forms cannot be edited on the agent side.
    FormsNotEditable,
    /// The agent is in pointer mode.
    NotInControl,
    /// The target element does not exist.
    TargetMissing,
    /// The target element is disabled for agents (submit buttons, administrator selectors).
    ElementDisabled,
    /// The target field is masked.
    MaskedField,
    /// The navigation leaves the allowed domains.
    OutsideAllowedDomains,
    /// The navigation URL is not a plain `http(s)` URL.
    UnsafeUrl(UrlError),
    /// This role may not send this kind of message ([`MessageKind::may_come_from`]).
    WrongRole,
}

const URL_ERRORS: [UrlError; 6] = [
    UrlError::Empty,
    UrlError::TooLong,
    UrlError::ControlCharacter,
    UrlError::NotWeb,
    UrlError::MissingHost,
    UrlError::InvalidHost,
];

impl DenyReason {
    /// Codes 1..=13; `UnsafeUrl` is 32 + its [`UrlError`]'s index.
    fn code(self) -> u8 {
        match self {
            DenyReason::SessionEnded => 1,
            DenyReason::NotStarted => 2,
            DenyReason::SessionPaused => 3,
            DenyReason::NotAParticipant => 4,
            DenyReason::AgentDisconnected => 5,
            DenyReason::ControlNotPermitted => 6,
            DenyReason::FormsNotEditable => 7,
            DenyReason::NotInControl => 8,
            DenyReason::TargetMissing => 9,
            DenyReason::ElementDisabled => 10,
            DenyReason::MaskedField => 11,
            DenyReason::OutsideAllowedDomains => 12,
            DenyReason::WrongRole => 13,
            DenyReason::UnsafeUrl(e) => {
                32 + URL_ERRORS.iter().position(|&u| u == e).unwrap_or(0) as u8
            }
        }
    }

    fn from_code(code: u8) -> Option<DenyReason> {
        Some(match code {
            1 => DenyReason::SessionEnded,
            2 => DenyReason::NotStarted,
            3 => DenyReason::SessionPaused,
            4 => DenyReason::NotAParticipant,
            5 => DenyReason::AgentDisconnected,
            6 => DenyReason::ControlNotPermitted,
            7 => DenyReason::FormsNotEditable,
            8 => DenyReason::NotInControl,
            9 => DenyReason::TargetMissing,
            10 => DenyReason::ElementDisabled,
            11 => DenyReason::MaskedField,
            12 => DenyReason::OutsideAllowedDomains,
            13 => DenyReason::WrongRole,
            32.. => DenyReason::UnsafeUrl(*URL_ERRORS.get(usize::from(code - 32))?),
            _ => return None,
        })
    }
}

impl From<session::DenyReason> for DenyReason {
    fn from(r: session::DenyReason) -> DenyReason {
        use session::DenyReason as S;
        match r {
            S::SessionEnded => DenyReason::SessionEnded,
            S::NotStarted => DenyReason::NotStarted,
            S::SessionPaused => DenyReason::SessionPaused,
            S::NotAParticipant => DenyReason::NotAParticipant,
            S::AgentDisconnected => DenyReason::AgentDisconnected,
            S::ControlNotPermitted => DenyReason::ControlNotPermitted,
            S::FormsNotEditable => DenyReason::FormsNotEditable,
            S::NotInControl => DenyReason::NotInControl,
            S::TargetMissing => DenyReason::TargetMissing,
            S::ElementDisabled => DenyReason::ElementDisabled,
            S::MaskedField => DenyReason::MaskedField,
            S::OutsideAllowedDomains => DenyReason::OutsideAllowedDomains,
            S::UnsafeUrl(e) => DenyReason::UnsafeUrl(e),
        }
    }
}

/// A typed error code ([`Message::Error`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
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

impl ErrorCode {
    fn code(self) -> (u8, u8) {
        match self {
            ErrorCode::BadMessage => (1, 0),
            ErrorCode::UnsupportedVersion => (2, 0),
            ErrorCode::TooLarge => (3, 0),
            ErrorCode::Unauthorized => (4, 0),
            ErrorCode::SessionNotFound => (5, 0),
            ErrorCode::SessionEnded => (6, 0),
            ErrorCode::SessionFull => (7, 0),
            ErrorCode::AgentBusy => (8, 0),
            ErrorCode::RateLimited => (9, 0),
            ErrorCode::PermissionDenied(r) => (10, r.code()),
            ErrorCode::NeedKeyframe => (11, 0),
            ErrorCode::Internal => (12, 0),
        }
    }

    fn from_code(code: u8, detail: u8) -> Result<ErrorCode, ProtocolError> {
        let c = match code {
            1 => ErrorCode::BadMessage,
            2 => ErrorCode::UnsupportedVersion,
            3 => ErrorCode::TooLarge,
            4 => ErrorCode::Unauthorized,
            5 => ErrorCode::SessionNotFound,
            6 => ErrorCode::SessionEnded,
            7 => ErrorCode::SessionFull,
            8 => ErrorCode::AgentBusy,
            9 => ErrorCode::RateLimited,
            10 => {
                return DenyReason::from_code(detail)
                    .map(ErrorCode::PermissionDenied)
                    .ok_or(ProtocolError::UnknownCode {
                        field: "Error.detail",
                        code: detail,
                    });
            }
            11 => ErrorCode::NeedKeyframe,
            12 => ErrorCode::Internal,
            _ => {
                return Err(ProtocolError::UnknownCode {
                    field: "Error.code",
                    code,
                });
            }
        };
        if detail != 0 {
            return Err(ProtocolError::Inconsistent {
                field: "Error.detail",
            });
        }
        Ok(c)
    }
}

/// Who drives the customer's page.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Everyone points; only the customer acts.
    Pointer,
    /// This agent navigates, clicks, scrolls and (under [`ControlCeiling::Full`]) fills forms.
    Control(ParticipantId),
}

/// The customer's or agent's software, shown in the other side's view. Each field is at most
/// [`MAX_CLIENT_FIELD_BYTES`] without control characters; empty means unknown.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
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

/// What a reconnecting participant presents in [`Message::Hello`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconnect {
    /// The session it was in.
    pub session_id: SessionId,
    /// Its id in that session.
    pub participant_id: ParticipantId,
    /// The token it got in [`Message::Joined`].
    pub token: ResumeToken,
    /// For an agent, the sequence number of the last frame it applied, if any.
    pub last_seq: Option<u64>,
}

/// A rectangle in CSS pixels (relative to a highlight's target element).
#[derive(Copy, Clone, Debug, PartialEq)]
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

/// Which highlights [`Message::HighlightClear`] removes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HighlightScope {
    /// The sender's highlight with this id.
    One(u32),
    /// All of the sender's highlights.
    All,
}

/// Where [`Message::Navigate`] goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Navigation {
    /// An absolute `http:`/`https:` URL of printable ASCII (what `URL.href` gives), at most
    /// [`MAX_URL_BYTES`]. The customer side still checks it against the allowed domains.
    Url(String),
    /// History back.
    Back,
    /// History forward.
    Forward,
    /// Reload the page.
    Reload,
}

impl Navigation {
    fn code(&self) -> u8 {
        match self {
            Navigation::Url(_) => 1,
            Navigation::Back => 2,
            Navigation::Forward => 3,
            Navigation::Reload => 4,
        }
    }
}

/// Who sends a message, for [`MessageKind::may_come_from`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    /// The customer client.
    Customer,
    /// An agent client.
    Agent,
    /// The relay itself.
    Relay,
}

// ---------------------------------------------------------------------------------------------
// Messages.

/// One protocol message (owned). See the module docs for the wire format and validation.
///
/// Coordinates are CSS pixels: relative to the target element's border box when a target
/// wire id is given, to the document otherwise.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Message {
    // --- Session.
    /// First message of a connection (customer or agent). With `resume`, the sender comes
    /// back into its session with the token of an earlier [`Message::Joined`] (the relay
    /// answers `Joined` again). Without it, a customer proves its session by other means (the
    /// relay's: a secret in the connection URL) and an agent then sends [`Message::Join`].
    Hello {
        /// The sender's role.
        role: Role,
        /// The sender's software.
        client: ClientInfo,
        /// Resume a session after a dropped connection.
        resume: Option<Reconnect>,
    },
    /// An agent asks to join a session.
    Join {
        /// The session.
        session_id: SessionId,
        /// The agent's credential.
        token: AuthToken,
    },
    /// The relay tells a participant it is in a session, and its state.
    Joined {
        /// The session.
        session_id: SessionId,
        /// The receiver's id in it.
        participant_id: ParticipantId,
        /// How many participants the session has, the receiver included.
        participants: u16,
        /// The receiver's role.
        role: Role,
        /// The current mode.
        mode: Mode,
        /// The administrator's ceiling.
        ceiling: ControlCeiling,
        /// Whether sharing is paused.
        paused: bool,
        /// The receiver's token to resume after a dropped connection.
        resume_token: ResumeToken,
        /// For an agent, the customer's software.
        customer: Option<ClientInfo>,
    },
    /// Another participant joined (or came back).
    PeerJoined {
        /// Who.
        participant_id: ParticipantId,
        /// Its role.
        role: Role,
        /// How many participants the session has now.
        participants: u16,
    },
    /// A participant left (or lost its connection).
    Left {
        /// Who.
        participant_id: ParticipantId,
        /// How many participants the session has now.
        participants: u16,
    },
    /// A participant's connection dropped or came back (it keeps its place for the grace
    /// period): the "connection status" each side shows.
    Connection {
        /// Who.
        participant_id: ParticipantId,
        /// Whether it is connected now.
        connected: bool,
    },
    /// Sharing stopped: nothing leaves the customer's page until [`Message::Resume`].
    Pause {
        /// Why.
        reason: PauseReason,
    },
    /// Sharing resumed (a keyframe follows).
    Resume,
    /// The session ended; it can never be rejoined.
    End {
        /// Why.
        reason: EndReason,
    },
    /// Something failed.
    Error {
        /// What.
        code: ErrorCode,
        /// A short developer-facing text, printable ASCII, at most [`MAX_ERROR_MESSAGE_BYTES`].
        /// Never user data.
        message: String,
    },

    // --- Control.
    /// An agent asks the customer for control.
    ControlRequest {
        /// The requesting agent.
        agent: ParticipantId,
    },
    /// The customer gives control to this agent.
    ControlApprove {
        /// The agent.
        agent: ParticipantId,
    },
    /// The customer declines this agent's request.
    ControlDecline {
        /// The agent.
        agent: ParticipantId,
    },
    /// The customer takes control back.
    ControlRevoke,
    /// Back to pointer mode (either side).
    ControlReturn,
    /// The mode or ceiling changed.
    ModeChanged {
        /// The new mode.
        mode: Mode,
        /// The ceiling.
        ceiling: ControlCeiling,
    },

    // --- Presence.
    /// A participant's pointer moved.
    Pointer {
        /// Whose pointer.
        from: ParticipantId,
        /// Horizontal position.
        x: f32,
        /// Vertical position.
        y: f32,
        /// The element the position is relative to.
        target: Option<WireId>,
    },
    /// An agent clicked: a ripple on the customer's page.
    ClickRipple {
        /// Who clicked.
        from: ParticipantId,
        /// Horizontal position.
        x: f32,
        /// Vertical position.
        y: f32,
        /// The element the position is relative to.
        target: Option<WireId>,
    },
    /// An agent marks an element.
    Highlight {
        /// Who.
        from: ParticipantId,
        /// The highlight's id, chosen by `from` (highlights are keyed by `(from, id)`).
        id: u32,
        /// The element.
        target: WireId,
        /// A part of the element (relative to its border box); the whole element if `None`.
        rect: Option<Rect>,
        /// The colour; the client's default if `None`.
        color: Option<Color>,
    },
    /// An agent removes highlights.
    HighlightClear {
        /// Whose highlights.
        from: ParticipantId,
        /// Which.
        which: HighlightScope,
    },
    /// A scroll position (the customer's, followed by agents; or a controlling agent's).
    Scroll {
        /// The scrolled element; the document if `None`.
        target: Option<WireId>,
        /// Horizontal scroll offset.
        x: f32,
        /// Vertical scroll offset.
        y: f32,
    },
    /// The customer's viewport size in CSS pixels (at most [`MAX_VIEWPORT_PX`]).
    Viewport {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },

    /// The customer's page changed: its URL, for the agents' navigation bar (an absolute
    /// `http:`/`https:` URL of printable ASCII, at most [`MAX_URL_BYTES`]).
    PageChanged {
        /// The page's URL.
        url: String,
    },

    // --- Agent actions (checked by the customer side before they are replayed).
    /// The controlling agent navigates.
    Navigate {
        /// Where.
        to: Navigation,
    },
    /// The controlling agent sets a form control's value (at most [`MAX_INPUT_BYTES`]).
    AgentInput {
        /// The control.
        target: WireId,
        /// Its new value.
        value: String,
    },
    /// The controlling agent clicks.
    AgentClick {
        /// The element.
        target: WireId,
        /// Horizontal position in the element.
        x: f32,
        /// Vertical position in the element.
        y: f32,
    },
    /// The controlling agent submits a form (refused by default: submit is disabled for
    /// agents).
    AgentSubmit {
        /// The form or submit button.
        target: WireId,
    },

    // --- Side channel.
    /// A chat message (at most [`MAX_CHAT_BYTES`]; tabs and line breaks but no other control
    /// characters).
    Chat {
        /// The author.
        from: ParticipantId,
        /// The text.
        text: String,
    },
    /// An agent shares a link the customer may open.
    SharedLink {
        /// The agent.
        from: ParticipantId,
        /// An absolute `http:`/`https:` URL of printable ASCII, at most [`MAX_URL_BYTES`].
        url: String,
        /// Its title, at most [`MAX_TITLE_BYTES`] without control characters.
        title: String,
    },

    // --- Liveness.
    /// Latency probe.
    Ping {
        /// Echoed in the pong.
        nonce: u64,
        /// The sender's clock, in milliseconds.
        sent_at_ms: u64,
    },
    /// Answer to a ping, echoing its fields.
    Pong {
        /// The ping's nonce.
        nonce: u64,
        /// The ping's `sent_at_ms`.
        sent_at_ms: u64,
    },

    // --- Frames.
    /// An engine frame (keyframe or delta), opaque here: the receiver validates it with
    /// [`FrameView::access`](crate::FrameView::access). Non-empty, at most
    /// [`MAX_FRAME_BYTES`].
    Frame {
        /// The frame.
        bytes: Vec<u8>,
    },
    /// An agent applied the frame `seq`.
    Ack {
        /// Its sequence number.
        seq: u64,
    },
    /// An agent needs a keyframe (sequence gap, fingerprint mismatch, fresh join).
    KeyframeRequest {
        /// The last frame it applied, if any.
        have_seq: Option<u64>,
    },
}

// ---------------------------------------------------------------------------------------------
// Wire bodies.

#[derive(Archive, Serialize)]
struct WEmpty {}

#[derive(Archive, Serialize)]
struct WClient {
    browser: String,
    browser_version: String,
    os: String,
    client_version: String,
}

#[derive(Archive, Serialize)]
struct WReconnect {
    session: u32,
    participant: u32,
    token: [u8; 16],
    last_seq: Option<u64>,
}

#[derive(Archive, Serialize)]
struct WHello {
    role: u8,
    client: WClient,
    resume: Option<WReconnect>,
}

#[derive(Archive, Serialize)]
struct WJoin {
    session: u32,
    token: String,
}

#[derive(Archive, Serialize)]
struct WJoined {
    session: u32,
    participant: u32,
    participants: u16,
    role: u8,
    controller: Option<u32>,
    ceiling: u8,
    paused: bool,
    resume: [u8; 16],
    customer: Option<WClient>,
}

#[derive(Archive, Serialize)]
struct WPeer {
    participant: u32,
    role: u8,
    participants: u16,
}

#[derive(Archive, Serialize)]
struct WLeft {
    participant: u32,
    participants: u16,
}

#[derive(Archive, Serialize)]
struct WConnection {
    participant: u32,
    connected: bool,
}

#[derive(Archive, Serialize)]
struct WUrl {
    url: String,
}

#[derive(Archive, Serialize)]
struct WReason {
    reason: u8,
}

#[derive(Archive, Serialize)]
struct WError {
    code: u8,
    detail: u8,
    message: String,
}

#[derive(Archive, Serialize)]
struct WAgent {
    agent: u32,
}

#[derive(Archive, Serialize)]
struct WMode {
    controller: Option<u32>,
    ceiling: u8,
}

#[derive(Archive, Serialize)]
struct WPoint {
    from: u32,
    x: f32,
    y: f32,
    target: Option<u32>,
}

#[derive(Archive, Serialize)]
struct WRect {
    x: f32,
    y: f32,
    width: f32,
    height: f32,
}

#[derive(Archive, Serialize)]
struct WHighlight {
    from: u32,
    id: u32,
    target: u32,
    rect: Option<WRect>,
    color: Option<[u8; 4]>,
}

#[derive(Archive, Serialize)]
struct WHighlightClear {
    from: u32,
    id: Option<u32>,
}

#[derive(Archive, Serialize)]
struct WScroll {
    target: Option<u32>,
    x: f32,
    y: f32,
}

#[derive(Archive, Serialize)]
struct WViewport {
    width: u32,
    height: u32,
}

#[derive(Archive, Serialize)]
struct WNavigate {
    op: u8,
    url: String,
}

#[derive(Archive, Serialize)]
struct WInput {
    target: u32,
    value: String,
}

#[derive(Archive, Serialize)]
struct WClick {
    target: u32,
    x: f32,
    y: f32,
}

#[derive(Archive, Serialize)]
struct WTarget {
    target: u32,
}

#[derive(Archive, Serialize)]
struct WChat {
    from: u32,
    text: String,
}

#[derive(Archive, Serialize)]
struct WLink {
    from: u32,
    url: String,
    title: String,
}

#[derive(Archive, Serialize)]
struct WPing {
    nonce: u64,
    sent_at_ms: u64,
}

#[derive(Archive, Serialize)]
struct WFrame {
    bytes: Vec<u8>,
}

#[derive(Archive, Serialize)]
struct WSeq {
    seq: u64,
}

#[derive(Archive, Serialize)]
struct WKeyframeRequest {
    have_seq: Option<u64>,
}

/// Declares the message kinds: their codes, body types, and the view's body enum.
macro_rules! kinds {
    ( $( $(#[$meta:meta])* $Kind:ident = $code:literal => $W:ty, )* ) => {
        /// What a message is: the byte at offset 6 of every message.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum MessageKind { $( $(#[$meta])* $Kind, )* }

        impl MessageKind {
            /// Every kind.
            pub const ALL: &'static [MessageKind] = &[ $( MessageKind::$Kind, )* ];

            /// The kind's wire code.
            pub fn code(self) -> u8 {
                match self { $( MessageKind::$Kind => $code, )* }
            }

            /// The kind with this wire code.
            pub fn from_code(code: u8) -> Option<MessageKind> {
                match code { $( $code => Some(MessageKind::$Kind), )* _ => None }
            }

            /// The kind's name (`"Pointer"`), for logs and metrics.
            pub fn name(self) -> &'static str {
                match self { $( MessageKind::$Kind => stringify!($Kind), )* }
            }
        }

        /// A validated body, in place.
        #[derive(Copy, Clone)]
        #[allow(dead_code, reason = "the empty bodies of unit kinds are never read")]
        enum Body<'a> { $( $Kind(&'a Archived<$W>), )* }

        fn access_body(kind: MessageKind, archive: &[u8]) -> Result<Body<'_>, ProtocolError> {
            Ok(match kind { $( MessageKind::$Kind => Body::$Kind(check::<$W>(archive)?), )* })
        }
    };
}

kinds! {
    /// [`Message::Hello`].
    Hello = 1 => WHello,
    /// [`Message::Join`].
    Join = 2 => WJoin,
    /// [`Message::Joined`].
    Joined = 3 => WJoined,
    /// [`Message::PeerJoined`].
    PeerJoined = 4 => WPeer,
    /// [`Message::Left`].
    Left = 5 => WLeft,
    /// [`Message::Pause`].
    Pause = 6 => WReason,
    /// [`Message::Resume`].
    Resume = 7 => WEmpty,
    /// [`Message::End`].
    End = 8 => WReason,
    /// [`Message::Error`].
    Error = 9 => WError,
    /// [`Message::Connection`].
    Connection = 10 => WConnection,
    /// [`Message::ControlRequest`].
    ControlRequest = 16 => WAgent,
    /// [`Message::ControlApprove`].
    ControlApprove = 17 => WAgent,
    /// [`Message::ControlDecline`].
    ControlDecline = 18 => WAgent,
    /// [`Message::ControlRevoke`].
    ControlRevoke = 19 => WEmpty,
    /// [`Message::ControlReturn`].
    ControlReturn = 20 => WEmpty,
    /// [`Message::ModeChanged`].
    ModeChanged = 21 => WMode,
    /// [`Message::Pointer`].
    Pointer = 32 => WPoint,
    /// [`Message::ClickRipple`].
    ClickRipple = 33 => WPoint,
    /// [`Message::Highlight`].
    Highlight = 34 => WHighlight,
    /// [`Message::HighlightClear`].
    HighlightClear = 35 => WHighlightClear,
    /// [`Message::Scroll`].
    Scroll = 36 => WScroll,
    /// [`Message::Viewport`].
    Viewport = 37 => WViewport,
    /// [`Message::PageChanged`].
    PageChanged = 38 => WUrl,
    /// [`Message::Navigate`].
    Navigate = 48 => WNavigate,
    /// [`Message::AgentInput`].
    AgentInput = 49 => WInput,
    /// [`Message::AgentClick`].
    AgentClick = 50 => WClick,
    /// [`Message::AgentSubmit`].
    AgentSubmit = 51 => WTarget,
    /// [`Message::Chat`].
    Chat = 64 => WChat,
    /// [`Message::SharedLink`].
    SharedLink = 65 => WLink,
    /// [`Message::Ping`].
    Ping = 80 => WPing,
    /// [`Message::Pong`].
    Pong = 81 => WPing,
    /// [`Message::Frame`].
    Frame = 96 => WFrame,
    /// [`Message::Ack`].
    Ack = 97 => WSeq,
    /// [`Message::KeyframeRequest`].
    KeyframeRequest = 98 => WKeyframeRequest,
}

impl MessageKind {
    /// Whether `party` may originate this kind (the direction table a relay applies before
    /// anything else; it still checks modes, sessions and [`Message::sender`]). A relay
    /// forwards messages unchanged, so "originate" is who wrote it, not who forwarded it.
    pub fn may_come_from(self, party: Party) -> bool {
        use MessageKind as K;
        use Party::{Agent as A, Customer as C, Relay as R};
        match self {
            K::Hello => matches!(party, C | A),
            K::Join => party == A,
            K::Joined | K::PeerJoined | K::Left | K::Connection => party == R,
            K::PageChanged => matches!(party, C | R),
            K::Pause | K::Resume => party == C,
            K::End | K::Error | K::Ping | K::Pong => true,
            K::ControlRequest => party == A,
            K::ControlApprove | K::ControlDecline | K::ControlRevoke => party == C,
            K::ControlReturn => matches!(party, C | A),
            K::ModeChanged => matches!(party, C | R),
            K::Pointer | K::Scroll | K::Chat => matches!(party, C | A),
            K::ClickRipple | K::Highlight | K::HighlightClear => party == A,
            K::Viewport | K::Frame => party == C,
            K::Navigate | K::AgentInput | K::AgentClick | K::AgentSubmit | K::SharedLink => {
                party == A
            }
            K::Ack => party == A,
            K::KeyframeRequest => matches!(party, A | R),
        }
    }
}

/// Bytecheck-validates `archive` as the body `W`.
fn check<W: Archive>(archive: &[u8]) -> Result<&Archived<W>, ProtocolError>
where
    Archived<W>: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>,
{
    if archive.len() < size_of::<Archived<W>>() {
        return Err(ProtocolError::Truncated);
    }
    rkyv::access::<Archived<W>, rancor::Error>(archive)
        .map_err(|e| ProtocolError::Invalid(redact(&e.to_string())))
}

// ---------------------------------------------------------------------------------------------
// Encoding.

fn prefix(kind: MessageKind, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    out.push(kind.code());
    out
}

fn archive<W>(kind: MessageKind, body: &W) -> Vec<u8>
where
    W: for<'a> Serialize<
        rkyv::api::high::HighSerializer<
            Vec<u8>,
            rkyv::ser::allocator::ArenaHandle<'a>,
            rancor::Error,
        >,
    >,
{
    // Relative pointers make the archive position-independent, so it is written right after
    // the prefix; with alignment 1 there is no padding to account for.
    rkyv::api::high::to_bytes_in::<_, rancor::Error>(body, prefix(kind, 64))
        .expect("message too large to encode (over 2 GiB of archive)")
}

/// Encodes a [`Message::Frame`] carrying `frame` with one allocation and one copy (the same
/// bytes as `Message::Frame { bytes: frame.to_vec() }.encode()`): the frame starts at offset 7
/// of the result.
///
/// # Panics
///
/// If `frame` is 2 GiB or more (the 32-bit offsets' range).
pub fn encode_frame(frame: &[u8]) -> Vec<u8> {
    // The body is an `ArchivedVec<u8>` root after its elements: a relative pointer (i32 LE,
    // from the pointer's own position back to the first element) and the length (u32 LE).
    let len = i32::try_from(frame.len()).expect("frame too large to encode (2 GiB or more)");
    let mut out = prefix(MessageKind::Frame, PREFIX_LEN + frame.len() + 8);
    out.extend_from_slice(frame);
    out.extend_from_slice(&(-len).to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out
}

fn w_client(c: &ClientInfo) -> WClient {
    WClient {
        browser: c.browser.clone(),
        browser_version: c.browser_version.clone(),
        os: c.os.clone(),
        client_version: c.client_version.clone(),
    }
}

fn w_mode(mode: Mode) -> Option<u32> {
    match mode {
        Mode::Pointer => None,
        Mode::Control(p) => Some(p.0),
    }
}

impl Message {
    /// Encodes the message. Does not validate: see [`Message::try_encode`].
    ///
    /// # Panics
    ///
    /// If the body would exceed 2 GiB (the 32-bit offsets' range).
    pub fn encode(&self) -> Vec<u8> {
        use MessageKind as K;
        let kind = self.kind();
        match self {
            Message::Hello {
                role,
                client,
                resume,
            } => archive(
                kind,
                &WHello {
                    role: role.code(),
                    client: w_client(client),
                    resume: resume.as_ref().map(|r| WReconnect {
                        session: r.session_id.value(),
                        participant: r.participant_id.0,
                        token: r.token.0,
                        last_seq: r.last_seq,
                    }),
                },
            ),
            Message::Join { session_id, token } => archive(
                kind,
                &WJoin {
                    session: session_id.value(),
                    token: token.0.clone(),
                },
            ),
            Message::Joined {
                session_id,
                participant_id,
                participants,
                role,
                mode,
                ceiling,
                paused,
                resume_token,
                customer,
            } => archive(
                kind,
                &WJoined {
                    session: session_id.value(),
                    participant: participant_id.0,
                    participants: *participants,
                    role: role.code(),
                    controller: w_mode(*mode),
                    ceiling: ceiling_code(*ceiling),
                    paused: *paused,
                    resume: resume_token.0,
                    customer: customer.as_ref().map(w_client),
                },
            ),
            Message::PeerJoined {
                participant_id,
                role,
                participants,
            } => archive(
                kind,
                &WPeer {
                    participant: participant_id.0,
                    role: role.code(),
                    participants: *participants,
                },
            ),
            Message::Left {
                participant_id,
                participants,
            } => archive(
                kind,
                &WLeft {
                    participant: participant_id.0,
                    participants: *participants,
                },
            ),
            Message::Connection {
                participant_id,
                connected,
            } => archive(
                kind,
                &WConnection {
                    participant: participant_id.0,
                    connected: *connected,
                },
            ),
            Message::PageChanged { url } => archive(kind, &WUrl { url: url.clone() }),
            Message::Pause { reason } => archive(
                kind,
                &WReason {
                    reason: pause_code(*reason),
                },
            ),
            Message::End { reason } => archive(
                kind,
                &WReason {
                    reason: reason.code(),
                },
            ),
            Message::Resume | Message::ControlRevoke | Message::ControlReturn => {
                archive(kind, &WEmpty {})
            }
            Message::Error { code, message } => {
                let (code, detail) = code.code();
                archive(
                    kind,
                    &WError {
                        code,
                        detail,
                        message: message.clone(),
                    },
                )
            }
            Message::ControlRequest { agent }
            | Message::ControlApprove { agent }
            | Message::ControlDecline { agent } => archive(kind, &WAgent { agent: agent.0 }),
            Message::ModeChanged { mode, ceiling } => archive(
                kind,
                &WMode {
                    controller: w_mode(*mode),
                    ceiling: ceiling_code(*ceiling),
                },
            ),
            Message::Pointer { from, x, y, target }
            | Message::ClickRipple { from, x, y, target } => archive(
                kind,
                &WPoint {
                    from: from.0,
                    x: *x,
                    y: *y,
                    target: target.map(|t| t.0),
                },
            ),
            Message::Highlight {
                from,
                id,
                target,
                rect,
                color,
            } => archive(
                kind,
                &WHighlight {
                    from: from.0,
                    id: *id,
                    target: target.0,
                    rect: rect.map(|r| WRect {
                        x: r.x,
                        y: r.y,
                        width: r.width,
                        height: r.height,
                    }),
                    color: color.map(|c| [c.r, c.g, c.b, c.a]),
                },
            ),
            Message::HighlightClear { from, which } => archive(
                kind,
                &WHighlightClear {
                    from: from.0,
                    id: match which {
                        HighlightScope::One(id) => Some(*id),
                        HighlightScope::All => None,
                    },
                },
            ),
            Message::Scroll { target, x, y } => archive(
                kind,
                &WScroll {
                    target: target.map(|t| t.0),
                    x: *x,
                    y: *y,
                },
            ),
            Message::Viewport { width, height } => archive(
                kind,
                &WViewport {
                    width: *width,
                    height: *height,
                },
            ),
            Message::Navigate { to } => archive(
                kind,
                &WNavigate {
                    op: to.code(),
                    url: match to {
                        Navigation::Url(u) => u.clone(),
                        _ => String::new(),
                    },
                },
            ),
            Message::AgentInput { target, value } => archive(
                kind,
                &WInput {
                    target: target.0,
                    value: value.clone(),
                },
            ),
            Message::AgentClick { target, x, y } => archive(
                kind,
                &WClick {
                    target: target.0,
                    x: *x,
                    y: *y,
                },
            ),
            Message::AgentSubmit { target } => archive(kind, &WTarget { target: target.0 }),
            Message::Chat { from, text } => archive(
                kind,
                &WChat {
                    from: from.0,
                    text: text.clone(),
                },
            ),
            Message::SharedLink { from, url, title } => archive(
                kind,
                &WLink {
                    from: from.0,
                    url: url.clone(),
                    title: title.clone(),
                },
            ),
            Message::Ping { nonce, sent_at_ms } | Message::Pong { nonce, sent_at_ms } => archive(
                kind,
                &WPing {
                    nonce: *nonce,
                    sent_at_ms: *sent_at_ms,
                },
            ),
            Message::Frame { bytes } => {
                debug_assert_eq!(kind, K::Frame);
                encode_frame(bytes)
            }
            Message::Ack { seq } => archive(kind, &WSeq { seq: *seq }),
            Message::KeyframeRequest { have_seq } => archive(
                kind,
                &WKeyframeRequest {
                    have_seq: *have_seq,
                },
            ),
        }
    }

    /// Encodes the message and validates the result as the receiver will: a message built
    /// from user input (chat text, a URL typed by an agent) fails here, not at the receiver.
    pub fn try_encode(&self) -> Result<Vec<u8>, ProtocolError> {
        let bytes = self.encode();
        MessageView::access(&bytes)?;
        Ok(bytes)
    }

    /// Decodes and validates a message (see the module docs). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Message, ProtocolError> {
        MessageView::access(bytes).map(|v| v.to_message())
    }

    /// The message's kind.
    pub fn kind(&self) -> MessageKind {
        use MessageKind as K;
        match self {
            Message::Hello { .. } => K::Hello,
            Message::Join { .. } => K::Join,
            Message::Joined { .. } => K::Joined,
            Message::PeerJoined { .. } => K::PeerJoined,
            Message::Left { .. } => K::Left,
            Message::Pause { .. } => K::Pause,
            Message::Connection { .. } => K::Connection,
            Message::PageChanged { .. } => K::PageChanged,
            Message::Resume => K::Resume,
            Message::End { .. } => K::End,
            Message::Error { .. } => K::Error,
            Message::ControlRequest { .. } => K::ControlRequest,
            Message::ControlApprove { .. } => K::ControlApprove,
            Message::ControlDecline { .. } => K::ControlDecline,
            Message::ControlRevoke => K::ControlRevoke,
            Message::ControlReturn => K::ControlReturn,
            Message::ModeChanged { .. } => K::ModeChanged,
            Message::Pointer { .. } => K::Pointer,
            Message::ClickRipple { .. } => K::ClickRipple,
            Message::Highlight { .. } => K::Highlight,
            Message::HighlightClear { .. } => K::HighlightClear,
            Message::Scroll { .. } => K::Scroll,
            Message::Viewport { .. } => K::Viewport,
            Message::Navigate { .. } => K::Navigate,
            Message::AgentInput { .. } => K::AgentInput,
            Message::AgentClick { .. } => K::AgentClick,
            Message::AgentSubmit { .. } => K::AgentSubmit,
            Message::Chat { .. } => K::Chat,
            Message::SharedLink { .. } => K::SharedLink,
            Message::Ping { .. } => K::Ping,
            Message::Pong { .. } => K::Pong,
            Message::Frame { .. } => K::Frame,
            Message::Ack { .. } => K::Ack,
            Message::KeyframeRequest { .. } => K::KeyframeRequest,
        }
    }

    /// The participant the message claims as its originator, for the kinds that name one
    /// (`from` of chat, pointer, ripple, highlights and shared links; the requesting agent of
    /// [`Message::ControlRequest`]). A relay rejects a message whose claim is not the
    /// authenticated sender.
    pub fn sender(&self) -> Option<ParticipantId> {
        match self {
            Message::Chat { from, .. }
            | Message::SharedLink { from, .. }
            | Message::Pointer { from, .. }
            | Message::ClickRipple { from, .. }
            | Message::Highlight { from, .. }
            | Message::HighlightClear { from, .. } => Some(*from),
            Message::ControlRequest { agent } => Some(*agent),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation.

/// Which characters a string field may hold.
#[derive(Copy, Clone, PartialEq)]
enum Chars {
    /// Anything but control characters other than tab, line feed and carriage return.
    Text,
    /// No control characters at all.
    Line,
    /// Printable ASCII, spaces included.
    Ascii,
    /// Printable ASCII without spaces, non-empty.
    Token,
}

fn text(field: &'static str, s: &str, max: usize, chars: Chars) -> Result<(), ProtocolError> {
    if s.len() > max {
        return Err(ProtocolError::TooLong {
            field,
            len: s.len(),
            max,
        });
    }
    let ok = match chars {
        Chars::Text => !s
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
        Chars::Line => !s.chars().any(char::is_control),
        Chars::Ascii => s.bytes().all(|b| (0x20..0x7F).contains(&b)),
        Chars::Token => {
            if s.is_empty() {
                return Err(ProtocolError::Empty { field });
            }
            s.bytes().all(|b| b.is_ascii_graphic())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ProtocolError::BadCharacter { field })
    }
}

/// An absolute `http(s)` URL of printable ASCII (what `URL.href` gives) that the session
/// rules accept ([`session::web_url_host`]).
fn url(field: &'static str, s: &str) -> Result<(), ProtocolError> {
    if s.len() > MAX_URL_BYTES {
        return Err(ProtocolError::TooLong {
            field,
            len: s.len(),
            max: MAX_URL_BYTES,
        });
    }
    if s.is_empty() {
        return Err(ProtocolError::Empty { field });
    }
    let b = s.as_bytes();
    let web = (b.len() > 7 && b[..7].eq_ignore_ascii_case(b"http://"))
        || (b.len() > 8 && b[..8].eq_ignore_ascii_case(b"https://"));
    if !web || !b.iter().all(u8::is_ascii_graphic) || session::web_url_host(s).is_err() {
        return Err(ProtocolError::BadUrl { field });
    }
    Ok(())
}

fn session(field: &'static str, n: u32) -> Result<SessionId, ProtocolError> {
    SessionId::new(n).ok_or(ProtocolError::BadSessionId { field })
}

fn coord(field: &'static str, v: f32) -> Result<(), ProtocolError> {
    if v.is_finite() && v.abs() <= MAX_COORD {
        Ok(())
    } else {
        Err(ProtocolError::BadNumber { field })
    }
}

fn size(field: &'static str, v: f32) -> Result<(), ProtocolError> {
    if v.is_finite() && (0.0..=MAX_COORD).contains(&v) {
        Ok(())
    } else {
        Err(ProtocolError::BadNumber { field })
    }
}

fn wire(field: &'static str, id: u32) -> Result<WireId, ProtocolError> {
    if id == 0 {
        Err(ProtocolError::UnassignedWireId { field })
    } else {
        Ok(WireId(id))
    }
}

fn opt_wire(
    field: &'static str,
    id: &rkyv::option::ArchivedOption<Archived<u32>>,
) -> Result<(), ProtocolError> {
    match id.as_ref() {
        Some(v) => wire(field, v.to_native()).map(|_| ()),
        None => Ok(()),
    }
}

fn code<T>(field: &'static str, c: u8, f: fn(u8) -> Option<T>) -> Result<T, ProtocolError> {
    f(c).ok_or(ProtocolError::UnknownCode { field, code: c })
}

/// `fields`: the names of the browser, browser version, OS and client version fields.
fn client(fields: [&'static str; 4], c: &ArchivedWClient) -> Result<(), ProtocolError> {
    let [browser, browser_version, os, client_version] = fields;
    let max = MAX_CLIENT_FIELD_BYTES;
    text(browser, c.browser.as_str(), max, Chars::Line)?;
    text(
        browser_version,
        c.browser_version.as_str(),
        max,
        Chars::Line,
    )?;
    text(os, c.os.as_str(), max, Chars::Line)?;
    text(client_version, c.client_version.as_str(), max, Chars::Line)
}

fn mode_and_ceiling(
    field: &'static str,
    controller: &rkyv::option::ArchivedOption<Archived<u32>>,
    ceiling: u8,
) -> Result<(), ProtocolError> {
    let ceiling = code(field, ceiling, ceiling_from_code)?;
    if controller.is_some() && !ceiling.permits_control() {
        return Err(ProtocolError::Inconsistent { field });
    }
    Ok(())
}

fn validate(body: Body<'_>) -> Result<(), ProtocolError> {
    match body {
        Body::Hello(w) => {
            code("Hello.role", w.role, Role::from_code)?;
            client(
                [
                    "Hello.client.browser",
                    "Hello.client.browser_version",
                    "Hello.client.os",
                    "Hello.client.client_version",
                ],
                &w.client,
            )?;
            if let Some(r) = w.resume.as_ref() {
                session("Hello.resume.session_id", r.session.to_native())?;
            }
        }
        Body::Join(w) => {
            session("Join.session_id", w.session.to_native())?;
            text(
                "Join.token",
                w.token.as_str(),
                MAX_TOKEN_BYTES,
                Chars::Token,
            )?;
        }
        Body::Joined(w) => {
            session("Joined.session_id", w.session.to_native())?;
            // The receiver is one of them.
            if w.participants == 0 {
                return Err(ProtocolError::BadNumber {
                    field: "Joined.participants",
                });
            }
            code("Joined.role", w.role, Role::from_code)?;
            mode_and_ceiling("Joined.ceiling", &w.controller, w.ceiling)?;
            if let Some(c) = w.customer.as_ref() {
                client(
                    [
                        "Joined.customer.browser",
                        "Joined.customer.browser_version",
                        "Joined.customer.os",
                        "Joined.customer.client_version",
                    ],
                    c,
                )?;
            }
        }
        Body::PeerJoined(w) => {
            code("PeerJoined.role", w.role, Role::from_code)?;
            // The joiner is one of them.
            if w.participants == 0 {
                return Err(ProtocolError::BadNumber {
                    field: "PeerJoined.participants",
                });
            }
        }
        Body::Left(_) | Body::Connection(_) => {}
        Body::PageChanged(w) => url("PageChanged.url", w.url.as_str())?,
        Body::Pause(w) => {
            code("Pause.reason", w.reason, pause_from_code)?;
        }
        Body::End(w) => {
            code("End.reason", w.reason, EndReason::from_code)?;
        }
        Body::Resume(_) | Body::ControlRevoke(_) | Body::ControlReturn(_) => {}
        Body::Error(w) => {
            ErrorCode::from_code(w.code, w.detail)?;
            text(
                "Error.message",
                w.message.as_str(),
                MAX_ERROR_MESSAGE_BYTES,
                Chars::Ascii,
            )?;
        }
        Body::ControlRequest(_) | Body::ControlApprove(_) | Body::ControlDecline(_) => {}
        Body::ModeChanged(w) => {
            mode_and_ceiling("ModeChanged.ceiling", &w.controller, w.ceiling)?;
        }
        Body::Pointer(w) => {
            coord("Pointer.x", w.x.to_native())?;
            coord("Pointer.y", w.y.to_native())?;
            opt_wire("Pointer.target", &w.target)?;
        }
        Body::ClickRipple(w) => {
            coord("ClickRipple.x", w.x.to_native())?;
            coord("ClickRipple.y", w.y.to_native())?;
            opt_wire("ClickRipple.target", &w.target)?;
        }
        Body::Highlight(w) => {
            wire("Highlight.target", w.target.to_native())?;
            if let Some(r) = w.rect.as_ref() {
                coord("Highlight.rect", r.x.to_native())?;
                coord("Highlight.rect", r.y.to_native())?;
                size("Highlight.rect", r.width.to_native())?;
                size("Highlight.rect", r.height.to_native())?;
            }
        }
        Body::HighlightClear(_) => {}
        Body::Scroll(w) => {
            coord("Scroll.x", w.x.to_native())?;
            coord("Scroll.y", w.y.to_native())?;
            opt_wire("Scroll.target", &w.target)?;
        }
        Body::Viewport(w) => {
            if w.width.to_native() > MAX_VIEWPORT_PX {
                return Err(ProtocolError::BadNumber {
                    field: "Viewport.width",
                });
            }
            if w.height.to_native() > MAX_VIEWPORT_PX {
                return Err(ProtocolError::BadNumber {
                    field: "Viewport.height",
                });
            }
        }
        Body::Navigate(w) => {
            if code("Navigate.to", w.op, navigation_op)? == NavOp::Url {
                url("Navigate.to", w.url.as_str())?;
            } else if !w.url.is_empty() {
                return Err(ProtocolError::Inconsistent {
                    field: "Navigate.to",
                });
            }
        }
        Body::AgentInput(w) => {
            wire("AgentInput.target", w.target.to_native())?;
            text(
                "AgentInput.value",
                w.value.as_str(),
                MAX_INPUT_BYTES,
                Chars::Text,
            )?;
        }
        Body::AgentClick(w) => {
            wire("AgentClick.target", w.target.to_native())?;
            coord("AgentClick.x", w.x.to_native())?;
            coord("AgentClick.y", w.y.to_native())?;
        }
        Body::AgentSubmit(w) => {
            wire("AgentSubmit.target", w.target.to_native())?;
        }
        Body::Chat(w) => {
            text("Chat.text", w.text.as_str(), MAX_CHAT_BYTES, Chars::Text)?;
        }
        Body::SharedLink(w) => {
            url("SharedLink.url", w.url.as_str())?;
            text(
                "SharedLink.title",
                w.title.as_str(),
                MAX_TITLE_BYTES,
                Chars::Line,
            )?;
        }
        Body::Ping(_) | Body::Pong(_) => {}
        Body::Frame(w) => {
            let len = w.bytes.len();
            if len == 0 {
                return Err(ProtocolError::Empty {
                    field: "Frame.bytes",
                });
            }
            if len > MAX_FRAME_BYTES {
                return Err(ProtocolError::TooLong {
                    field: "Frame.bytes",
                    len,
                    max: MAX_FRAME_BYTES,
                });
            }
        }
        Body::Ack(_) | Body::KeyframeRequest(_) => {}
    }
    Ok(())
}

/// A navigation's wire code, without the URL.
#[derive(Copy, Clone, PartialEq)]
enum NavOp {
    Url,
    Back,
    Forward,
    Reload,
}

fn navigation_op(c: u8) -> Option<NavOp> {
    Some(match c {
        1 => NavOp::Url,
        2 => NavOp::Back,
        3 => NavOp::Forward,
        4 => NavOp::Reload,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The view.

/// A validated message, read in place (no copy, no allocation): the hot path of a relay
/// forwarding frames and pointer moves.
///
/// `Debug` shows the kind and length only.
#[derive(Copy, Clone)]
pub struct MessageView<'a> {
    bytes: &'a [u8],
    kind: MessageKind,
    body: Body<'a>,
}

impl fmt::Debug for MessageView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageView")
            .field("kind", &self.kind)
            .field("len_bytes", &self.bytes.len())
            .finish()
    }
}

impl<'a> MessageView<'a> {
    /// Validates `bytes` as a message (see the module docs for the order of the checks).
    /// Works at any alignment; never panics.
    pub fn access(bytes: &'a [u8]) -> Result<MessageView<'a>, ProtocolError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(ProtocolError::TooLarge {
                len: bytes.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes[..magic_len] != MAGIC[..magic_len] {
            return Err(ProtocolError::BadMagic);
        }
        if bytes.len() < PREFIX_LEN {
            return Err(ProtocolError::Truncated);
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != PROTOCOL_VERSION {
            return Err(ProtocolError::UnsupportedVersion(version));
        }
        let kind = MessageKind::from_code(bytes[6]).ok_or(ProtocolError::UnknownKind(bytes[6]))?;
        if kind != MessageKind::Frame && bytes.len() > MAX_CONTROL_MESSAGE_BYTES {
            return Err(ProtocolError::TooLarge {
                len: bytes.len(),
                max: MAX_CONTROL_MESSAGE_BYTES,
            });
        }
        let body = access_body(kind, &bytes[PREFIX_LEN..])?;
        validate(body)?;
        Ok(MessageView { bytes, kind, body })
    }

    /// The message's kind.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The protocol version (always [`PROTOCOL_VERSION`] for a view).
    pub fn version(&self) -> u16 {
        PROTOCOL_VERSION
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The message's length in bytes.
    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// For [`MessageKind::Frame`], the frame, in place (not validated as a frame: see
    /// [`FrameView::access`](crate::FrameView::access)).
    pub fn frame(&self) -> Option<&'a [u8]> {
        match self.body {
            Body::Frame(w) => Some(w.bytes.as_slice()),
            _ => None,
        }
    }

    /// For [`MessageKind::Ack`], the acknowledged sequence number.
    pub fn ack_seq(&self) -> Option<u64> {
        match self.body {
            Body::Ack(w) => Some(w.seq.to_native()),
            _ => None,
        }
    }

    /// The originator the message claims ([`Message::sender`]).
    pub fn sender(&self) -> Option<ParticipantId> {
        let p = |v: &Archived<u32>| Some(ParticipantId(v.to_native()));
        match self.body {
            Body::Chat(w) => p(&w.from),
            Body::SharedLink(w) => p(&w.from),
            Body::Pointer(w) | Body::ClickRipple(w) => p(&w.from),
            Body::Highlight(w) => p(&w.from),
            Body::HighlightClear(w) => p(&w.from),
            Body::ControlRequest(w) => p(&w.agent),
            _ => None,
        }
    }

    /// The owned message.
    pub fn to_message(&self) -> Message {
        // Everything was validated by `access`: the fallbacks below are unreachable.
        fn role(c: u8) -> Role {
            Role::from_code(c).unwrap_or(Role::Customer)
        }
        fn ceiling(c: u8) -> ControlCeiling {
            ceiling_from_code(c).unwrap_or(ControlCeiling::None)
        }
        fn sid(n: &Archived<u32>) -> SessionId {
            SessionId::new(n.to_native()).unwrap_or_else(|| SessionId::from_entropy(0))
        }
        fn pid(n: &Archived<u32>) -> ParticipantId {
            ParticipantId(n.to_native())
        }
        fn wid(n: &Archived<u32>) -> WireId {
            WireId(n.to_native())
        }
        fn opt_wid(o: &rkyv::option::ArchivedOption<Archived<u32>>) -> Option<WireId> {
            o.as_ref().map(wid)
        }
        fn mode(o: &rkyv::option::ArchivedOption<Archived<u32>>) -> Mode {
            o.as_ref().map_or(Mode::Pointer, |p| Mode::Control(pid(p)))
        }
        fn client(c: &ArchivedWClient) -> ClientInfo {
            ClientInfo {
                browser: c.browser.as_str().to_owned(),
                browser_version: c.browser_version.as_str().to_owned(),
                os: c.os.as_str().to_owned(),
                client_version: c.client_version.as_str().to_owned(),
            }
        }
        match self.body {
            Body::Hello(w) => Message::Hello {
                role: role(w.role),
                client: client(&w.client),
                resume: w.resume.as_ref().map(|r| Reconnect {
                    session_id: sid(&r.session),
                    participant_id: pid(&r.participant),
                    token: ResumeToken(r.token),
                    last_seq: r.last_seq.as_ref().map(|s| s.to_native()),
                }),
            },
            Body::Join(w) => Message::Join {
                session_id: sid(&w.session),
                token: AuthToken(w.token.as_str().to_owned()),
            },
            Body::Joined(w) => Message::Joined {
                session_id: sid(&w.session),
                participant_id: pid(&w.participant),
                participants: w.participants.to_native(),
                role: role(w.role),
                mode: mode(&w.controller),
                ceiling: ceiling(w.ceiling),
                paused: w.paused,
                resume_token: ResumeToken(w.resume),
                customer: w.customer.as_ref().map(client),
            },
            Body::PeerJoined(w) => Message::PeerJoined {
                participant_id: pid(&w.participant),
                role: role(w.role),
                participants: w.participants.to_native(),
            },
            Body::Left(w) => Message::Left {
                participant_id: pid(&w.participant),
                participants: w.participants.to_native(),
            },
            Body::Connection(w) => Message::Connection {
                participant_id: pid(&w.participant),
                connected: w.connected,
            },
            Body::PageChanged(w) => Message::PageChanged {
                url: w.url.as_str().to_owned(),
            },
            Body::Pause(w) => Message::Pause {
                reason: pause_from_code(w.reason).unwrap_or(PauseReason::CustomerStoppedSharing),
            },
            Body::Resume(_) => Message::Resume,
            Body::End(w) => Message::End {
                reason: EndReason::from_code(w.reason).unwrap_or(EndReason::Error),
            },
            Body::Error(w) => Message::Error {
                code: ErrorCode::from_code(w.code, w.detail).unwrap_or(ErrorCode::BadMessage),
                message: w.message.as_str().to_owned(),
            },
            Body::ControlRequest(w) => Message::ControlRequest {
                agent: pid(&w.agent),
            },
            Body::ControlApprove(w) => Message::ControlApprove {
                agent: pid(&w.agent),
            },
            Body::ControlDecline(w) => Message::ControlDecline {
                agent: pid(&w.agent),
            },
            Body::ControlRevoke(_) => Message::ControlRevoke,
            Body::ControlReturn(_) => Message::ControlReturn,
            Body::ModeChanged(w) => Message::ModeChanged {
                mode: mode(&w.controller),
                ceiling: ceiling(w.ceiling),
            },
            Body::Pointer(w) => Message::Pointer {
                from: pid(&w.from),
                x: w.x.to_native(),
                y: w.y.to_native(),
                target: opt_wid(&w.target),
            },
            Body::ClickRipple(w) => Message::ClickRipple {
                from: pid(&w.from),
                x: w.x.to_native(),
                y: w.y.to_native(),
                target: opt_wid(&w.target),
            },
            Body::Highlight(w) => Message::Highlight {
                from: pid(&w.from),
                id: w.id.to_native(),
                target: wid(&w.target),
                rect: w.rect.as_ref().map(|r| Rect {
                    x: r.x.to_native(),
                    y: r.y.to_native(),
                    width: r.width.to_native(),
                    height: r.height.to_native(),
                }),
                color: w.color.as_ref().map(|&[r, g, b, a]| Color { r, g, b, a }),
            },
            Body::HighlightClear(w) => Message::HighlightClear {
                from: pid(&w.from),
                which: w.id.as_ref().map_or(HighlightScope::All, |id| {
                    HighlightScope::One(id.to_native())
                }),
            },
            Body::Scroll(w) => Message::Scroll {
                target: opt_wid(&w.target),
                x: w.x.to_native(),
                y: w.y.to_native(),
            },
            Body::Viewport(w) => Message::Viewport {
                width: w.width.to_native(),
                height: w.height.to_native(),
            },
            Body::Navigate(w) => Message::Navigate {
                to: match navigation_op(w.op) {
                    Some(NavOp::Back) => Navigation::Back,
                    Some(NavOp::Forward) => Navigation::Forward,
                    Some(NavOp::Reload) => Navigation::Reload,
                    Some(NavOp::Url) | None => Navigation::Url(w.url.as_str().to_owned()),
                },
            },
            Body::AgentInput(w) => Message::AgentInput {
                target: wid(&w.target),
                value: w.value.as_str().to_owned(),
            },
            Body::AgentClick(w) => Message::AgentClick {
                target: wid(&w.target),
                x: w.x.to_native(),
                y: w.y.to_native(),
            },
            Body::AgentSubmit(w) => Message::AgentSubmit {
                target: wid(&w.target),
            },
            Body::Chat(w) => Message::Chat {
                from: pid(&w.from),
                text: w.text.as_str().to_owned(),
            },
            Body::SharedLink(w) => Message::SharedLink {
                from: pid(&w.from),
                url: w.url.as_str().to_owned(),
                title: w.title.as_str().to_owned(),
            },
            Body::Ping(w) => Message::Ping {
                nonce: w.nonce.to_native(),
                sent_at_ms: w.sent_at_ms.to_native(),
            },
            Body::Pong(w) => Message::Pong {
                nonce: w.nonce.to_native(),
                sent_at_ms: w.sent_at_ms.to_native(),
            },
            Body::Frame(w) => Message::Frame {
                bytes: w.bytes.as_slice().to_vec(),
            },
            Body::Ack(w) => Message::Ack {
                seq: w.seq.to_native(),
            },
            Body::KeyframeRequest(w) => Message::KeyframeRequest {
                have_seq: w.have_seq.as_ref().map(|s| s.to_native()),
            },
        }
    }
}

#[cfg(any(test, feature = "fuzzing"))]
/// Fuzzing entry point: accesses and decodes `bytes`; if they are a valid message, checks
/// that the view agrees with the owned message and that re-encoding it gives a message that
/// decodes to the same. Panics only on a bug (an invalid message must simply be rejected).
pub fn fuzz_decode(bytes: &[u8]) {
    match (MessageView::access(bytes), Message::decode(bytes)) {
        (Ok(view), Ok(msg)) => {
            assert_eq!(view.kind(), msg.kind());
            assert_eq!(view.sender(), msg.sender());
            assert_eq!(view.len_bytes(), bytes.len());
            match &msg {
                Message::Frame { bytes: f } => assert_eq!(view.frame(), Some(&f[..])),
                _ => assert!(view.frame().is_none()),
            }
            match &msg {
                Message::Ack { seq } => assert_eq!(view.ack_seq(), Some(*seq)),
                _ => assert!(view.ack_seq().is_none()),
            }
            let again = msg.encode();
            assert_eq!(
                Message::decode(&again).as_ref(),
                Ok(&msg),
                "re-encoded message must decode to the same"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!(
            "access and decode disagree: {:?} / {:?}",
            a.map(|v| v.kind()),
            b.map(|m| m.kind())
        ),
    }
}

#[cfg(test)]
mod golden_tests;

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "CANARY-SECRET-4242";

    fn client_info() -> ClientInfo {
        ClientInfo {
            browser: "Firefox".into(),
            browser_version: "128.0.3".into(),
            os: "Windows 11".into(),
            client_version: "0.1.0".into(),
        }
    }

    fn token() -> ResumeToken {
        ResumeToken(*b"0123456789abcdef")
    }

    fn sid() -> SessionId {
        SessionId::new(123_456_789).unwrap()
    }

    fn p(n: u32) -> ParticipantId {
        ParticipantId(n)
    }

    /// At least one of every variant, and of every sub-variant of their fields.
    fn samples() -> Vec<Message> {
        let mut v = vec![
            Message::Hello {
                role: Role::Customer,
                client: client_info(),
                resume: None,
            },
            Message::Hello {
                role: Role::Agent,
                client: ClientInfo::default(),
                resume: Some(Reconnect {
                    session_id: sid(),
                    participant_id: p(7),
                    token: token(),
                    last_seq: Some(41),
                }),
            },
            Message::Hello {
                role: Role::Customer,
                client: client_info(),
                resume: Some(Reconnect {
                    session_id: SessionId::new(SessionId::MAX).unwrap(),
                    participant_id: p(0),
                    token: token(),
                    last_seq: None,
                }),
            },
            Message::Join {
                session_id: sid(),
                token: AuthToken::new("eyJhbGciOiJIUzI1NiJ9.e30.abc"),
            },
            Message::Joined {
                session_id: sid(),
                participant_id: p(2),
                participants: 2,
                role: Role::Agent,
                mode: Mode::Pointer,
                ceiling: ControlCeiling::Full,
                paused: false,
                resume_token: token(),
                customer: Some(client_info()),
            },
            Message::Joined {
                session_id: SessionId::new(SessionId::MIN).unwrap(),
                participant_id: p(1),
                participants: 1,
                role: Role::Customer,
                mode: Mode::Control(p(3)),
                ceiling: ControlCeiling::Partial,
                paused: true,
                resume_token: token(),
                customer: None,
            },
            Message::PeerJoined {
                participant_id: p(3),
                role: Role::Agent,
                participants: 3,
            },
            Message::Left {
                participant_id: p(3),
                participants: 2,
            },
            Message::Connection {
                participant_id: p(1),
                connected: false,
            },
            Message::Connection {
                participant_id: p(2),
                connected: true,
            },
            Message::PageChanged {
                url: "https://shop.example.com/cart?item=3".into(),
            },
            Message::Resume,
            Message::ControlRevoke,
            Message::ControlReturn,
            Message::ControlRequest { agent: p(2) },
            Message::ControlApprove { agent: p(2) },
            Message::ControlDecline { agent: p(2) },
            Message::ModeChanged {
                mode: Mode::Control(p(2)),
                ceiling: ControlCeiling::Full,
            },
            Message::ModeChanged {
                mode: Mode::Pointer,
                ceiling: ControlCeiling::None,
            },
            Message::Pointer {
                from: p(2),
                x: 10.5,
                y: -3.25,
                target: Some(WireId(42)),
            },
            Message::Pointer {
                from: p(1),
                x: MAX_COORD,
                y: -MAX_COORD,
                target: None,
            },
            Message::ClickRipple {
                from: p(2),
                x: 1.0,
                y: 2.0,
                target: Some(WireId(9)),
            },
            Message::ClickRipple {
                from: p(2),
                x: 0.0,
                y: -0.0,
                target: None,
            },
            Message::Highlight {
                from: p(2),
                id: 1,
                target: WireId(77),
                rect: Some(Rect {
                    x: 1.0,
                    y: 2.0,
                    width: 30.0,
                    height: 0.0,
                }),
                color: Some(Color {
                    r: 255,
                    g: 0,
                    b: 0,
                    a: 128,
                }),
            },
            Message::Highlight {
                from: p(2),
                id: u32::MAX,
                target: WireId(u32::MAX),
                rect: None,
                color: None,
            },
            Message::HighlightClear {
                from: p(2),
                which: HighlightScope::One(1),
            },
            Message::HighlightClear {
                from: p(2),
                which: HighlightScope::All,
            },
            Message::Scroll {
                target: None,
                x: 0.0,
                y: 1200.0,
            },
            Message::Scroll {
                target: Some(WireId(5)),
                x: -20.0,
                y: 0.0,
            },
            Message::Viewport {
                width: 1280,
                height: 720,
            },
            Message::Viewport {
                width: 0,
                height: MAX_VIEWPORT_PX,
            },
            Message::Navigate {
                to: Navigation::Url("https://example.com/a?b=c#d".into()),
            },
            Message::Navigate {
                to: Navigation::Url("HTTP://x".into()),
            },
            Message::Navigate {
                to: Navigation::Back,
            },
            Message::Navigate {
                to: Navigation::Forward,
            },
            Message::Navigate {
                to: Navigation::Reload,
            },
            Message::AgentInput {
                target: WireId(12),
                value: "Jane\nDoe\té".into(),
            },
            Message::AgentInput {
                target: WireId(12),
                value: String::new(),
            },
            Message::AgentClick {
                target: WireId(13),
                x: 4.0,
                y: 5.0,
            },
            Message::AgentSubmit { target: WireId(14) },
            Message::Chat {
                from: p(1),
                text: "hello".into(),
            },
            Message::Chat {
                from: p(2),
                text: "Can you click the blue button at the top? {start:123456789} ✓".into(),
            },
            Message::Chat {
                from: p(2),
                text: "x".repeat(MAX_CHAT_BYTES),
            },
            Message::SharedLink {
                from: p(2),
                url: "https://example.com/manual.pdf".into(),
                title: "The manual".into(),
            },
            Message::Ping {
                nonce: 1,
                sent_at_ms: 1_700_000_000_000,
            },
            Message::Pong {
                nonce: u64::MAX,
                sent_at_ms: 0,
            },
            Message::Frame {
                bytes: b"CBF1 not really a frame".to_vec(),
            },
            Message::Frame { bytes: vec![0] },
            Message::Ack { seq: 42 },
            Message::KeyframeRequest { have_seq: None },
            Message::KeyframeRequest { have_seq: Some(0) },
        ];
        for reason in [
            PauseReason::CustomerStoppedSharing,
            PauseReason::OutsideAllowedDomains,
        ] {
            v.push(Message::Pause { reason });
        }
        for reason in [
            EndReason::CustomerEnded,
            EndReason::AgentEnded,
            EndReason::BackendEnded,
            EndReason::Inactivity,
            EndReason::AgentGone,
            EndReason::CustomerGone,
            EndReason::PolicyViolation,
            EndReason::Error,
            EndReason::InviteDeclined,
            EndReason::InviteWithdrawn,
            EndReason::NoAgentJoined,
        ] {
            v.push(Message::End { reason });
        }
        let mut codes = vec![
            ErrorCode::BadMessage,
            ErrorCode::UnsupportedVersion,
            ErrorCode::TooLarge,
            ErrorCode::Unauthorized,
            ErrorCode::SessionNotFound,
            ErrorCode::SessionEnded,
            ErrorCode::SessionFull,
            ErrorCode::AgentBusy,
            ErrorCode::RateLimited,
            ErrorCode::NeedKeyframe,
            ErrorCode::Internal,
        ];
        for r in all_deny_reasons() {
            codes.push(ErrorCode::PermissionDenied(r));
        }
        for code in codes {
            v.push(Message::Error {
                code,
                message: "element is disabled for agents".into(),
            });
        }
        v
    }

    fn all_deny_reasons() -> Vec<DenyReason> {
        let mut v = vec![
            DenyReason::SessionEnded,
            DenyReason::NotStarted,
            DenyReason::SessionPaused,
            DenyReason::NotAParticipant,
            DenyReason::AgentDisconnected,
            DenyReason::ControlNotPermitted,
            DenyReason::FormsNotEditable,
            DenyReason::NotInControl,
            DenyReason::TargetMissing,
            DenyReason::ElementDisabled,
            DenyReason::MaskedField,
            DenyReason::OutsideAllowedDomains,
            DenyReason::WrongRole,
        ];
        v.extend(URL_ERRORS.map(DenyReason::UnsafeUrl));
        v
    }

    /// Messages whose strings hold the canary, to corrupt.
    fn canary_messages() -> Vec<Message> {
        vec![
            Message::Chat {
                from: p(2),
                text: format!("my card is {CANARY} thanks"),
            },
            Message::Navigate {
                to: Navigation::Url(format!("https://example.com/?q={CANARY}")),
            },
            Message::AgentInput {
                target: WireId(3),
                value: CANARY.into(),
            },
            Message::SharedLink {
                from: p(2),
                url: format!("https://{CANARY}.example.com/"),
                title: CANARY.into(),
            },
            Message::Join {
                session_id: sid(),
                token: AuthToken::new(CANARY),
            },
            Message::Hello {
                role: Role::Customer,
                client: ClientInfo {
                    browser: CANARY.into(),
                    ..client_info()
                },
                resume: None,
            },
            Message::Frame {
                bytes: CANARY.as_bytes().to_vec(),
            },
        ]
    }

    fn assert_rejected(bytes: &[u8]) -> ProtocolError {
        fuzz_decode(bytes);
        match Message::decode(bytes) {
            Err(e) => e,
            Ok(m) => panic!("accepted: {:?}", m.kind()),
        }
    }

    /// Bytes of the body `w` under `kind`'s prefix: crafted messages that `encode` would never
    /// write.
    fn raw<W>(kind: MessageKind, w: &W) -> Vec<u8>
    where
        W: for<'a> Serialize<
            rkyv::api::high::HighSerializer<
                Vec<u8>,
                rkyv::ser::allocator::ArenaHandle<'a>,
                rancor::Error,
            >,
        >,
    {
        archive(kind, w)
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    /// A small deterministic PRNG (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn every_variant_round_trips() {
        let samples = samples();
        let mut kinds: Vec<MessageKind> = samples.iter().map(Message::kind).collect();
        kinds.sort_by_key(|k| k.code());
        kinds.dedup();
        assert_eq!(kinds, MessageKind::ALL, "a kind has no sample");
        for m in &samples {
            let bytes = m.encode();
            assert_eq!(&bytes[..4], b"CBM1");
            assert_eq!(bytes[6], m.kind().code());
            assert_eq!(Message::decode(&bytes).as_ref(), Ok(m), "{:?}", m.kind());
            assert_eq!(m.try_encode().as_ref(), Ok(&bytes));
            let view = MessageView::access(&bytes).unwrap();
            assert_eq!(view.kind(), m.kind());
            assert_eq!(view.version(), PROTOCOL_VERSION);
            assert_eq!(view.as_bytes(), &bytes[..]);
            assert_eq!(view.len_bytes(), bytes.len());
            assert_eq!(view.sender(), m.sender());
            assert_eq!(&view.to_message(), m);
            match m {
                Message::Frame { bytes: f } => {
                    let slice = view.frame().unwrap();
                    assert_eq!(slice, &f[..]);
                    // In place: the slice points into the message, right after the prefix.
                    assert_eq!(slice.as_ptr(), bytes[PREFIX_LEN..].as_ptr());
                }
                _ => assert_eq!(view.frame(), None),
            }
            fuzz_decode(&bytes);
        }
    }

    #[test]
    fn kind_codes_and_names_are_unique_and_stable() {
        let mut codes: Vec<u8> = MessageKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), MessageKind::ALL.len());
        for &k in MessageKind::ALL {
            assert_eq!(MessageKind::from_code(k.code()), Some(k));
            assert!(!k.name().is_empty());
        }
        assert_eq!(MessageKind::Frame.code(), 96);
        assert_eq!(MessageKind::Pointer.name(), "Pointer");
        assert_eq!(MessageKind::from_code(0), None);
        // Every kind has someone to send it.
        for &k in MessageKind::ALL {
            assert!(
                [Party::Customer, Party::Agent, Party::Relay]
                    .iter()
                    .any(|&p| k.may_come_from(p)),
                "{k:?}"
            );
        }
        assert!(MessageKind::Frame.may_come_from(Party::Customer));
        assert!(!MessageKind::Frame.may_come_from(Party::Agent));
        assert!(!MessageKind::AgentInput.may_come_from(Party::Customer));
        assert!(!MessageKind::Joined.may_come_from(Party::Agent));
    }

    #[test]
    fn access_works_at_unaligned_offsets() {
        for m in samples() {
            let bytes = m.encode();
            for offset in 0..8 {
                let mut buf = vec![0xAAu8; offset];
                buf.extend_from_slice(&bytes);
                buf.extend_from_slice(&[0x55; 3]);
                let slice = &buf[offset..offset + bytes.len()];
                let view = MessageView::access(slice).unwrap();
                assert_eq!(view.kind(), m.kind());
                assert_eq!(view.to_message(), m);
                if let Message::Frame { bytes: f } = &m {
                    assert_eq!(view.frame(), Some(&f[..]));
                }
            }
        }
    }

    #[test]
    fn frame_fast_path_matches_rkyv() {
        for frame in [
            vec![1u8],
            b"CBF1".to_vec(),
            (0..=255).collect::<Vec<u8>>(),
            vec![7; 70_000],
        ] {
            let fast = encode_frame(&frame);
            let slow = archive(
                MessageKind::Frame,
                &WFrame {
                    bytes: frame.clone(),
                },
            );
            assert_eq!(fast, slow);
            assert_eq!(Message::Frame { bytes: frame }.encode(), fast);
        }
        assert_eq!(
            Message::decode(&encode_frame(&[])),
            Err(ProtocolError::Empty {
                field: "Frame.bytes"
            })
        );
    }

    #[test]
    fn truncations_and_bit_flips_never_panic() {
        let mut messages = canary_messages();
        messages.extend(samples().into_iter().filter(|m| {
            matches!(
                m.kind(),
                MessageKind::Hello
                    | MessageKind::Joined
                    | MessageKind::Highlight
                    | MessageKind::Error
                    | MessageKind::Pointer
                    | MessageKind::KeyframeRequest
                    | MessageKind::Resume
            )
        }));
        for m in &messages {
            let bytes = m.encode();
            for len in 0..bytes.len() {
                // A truncated message may happen to be valid (the root sits at the end); it
                // must then be a message that round-trips.
                fuzz_decode(&bytes[..len]);
            }
            // Cutting into the root always fails.
            assert!(Message::decode(&bytes[..bytes.len() - 1]).is_err());
            let mut b = bytes.clone();
            for bit in 0..bytes.len() * 8 {
                b[bit / 8] ^= 1 << (bit % 8);
                fuzz_decode(&b);
                b[bit / 8] ^= 1 << (bit % 8);
            }
            for i in 0..bytes.len() {
                for v in [0x00, 0xFF, 0x80] {
                    let mut b = bytes.clone();
                    b[i] = v;
                    fuzz_decode(&b);
                }
            }
        }
    }

    #[test]
    fn random_buffers_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut accepted = 0;
        for i in 0..10_000 {
            let len = rng.below(160);
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Most buffers get a valid prefix so that they reach the archive validation.
            if i % 4 != 0 {
                let kind = MessageKind::ALL[rng.below(MessageKind::ALL.len())];
                let mut prefixed = prefix(kind, PREFIX_LEN + len);
                prefixed.extend_from_slice(&buf);
                buf = prefixed;
            }
            fuzz_decode(&buf);
            if let Err(e) = Message::decode(&buf) {
                let _ = e.to_string();
            } else {
                accepted += 1;
            }
        }
        // Some random bodies are valid (pings, acks, empty bodies): the valid path is exercised.
        assert!(accepted > 0);
    }

    #[test]
    fn wrong_magic_and_version_are_typed_errors() {
        let bytes = Message::Ack { seq: 1 }.encode();
        let mut b = bytes.clone();
        b[0] = b'X';
        assert_eq!(Message::decode(&b), Err(ProtocolError::BadMagic));
        // A frame is not a message.
        assert_eq!(
            Message::decode(b"CBF1\x01\x00\x01"),
            Err(ProtocolError::BadMagic)
        );
        for len in 0..PREFIX_LEN {
            let e = Message::decode(&bytes[..len]).unwrap_err();
            assert_eq!(e, ProtocolError::Truncated, "{len}");
        }
        assert_eq!(Message::decode(b"CB"), Err(ProtocolError::Truncated));
        assert_eq!(Message::decode(b"XB"), Err(ProtocolError::BadMagic));
        let mut b = bytes.clone();
        b[4..6].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(
            Message::decode(&b),
            Err(ProtocolError::UnsupportedVersion(2))
        );
        assert_eq!(
            ProtocolError::UnsupportedVersion(2).error_code(),
            ErrorCode::UnsupportedVersion
        );
        let mut b = bytes.clone();
        b[4..6].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(
            Message::decode(&b),
            Err(ProtocolError::UnsupportedVersion(0))
        );
        let mut b = bytes.clone();
        b[6] = 200;
        assert_eq!(Message::decode(&b), Err(ProtocolError::UnknownKind(200)));
        let mut b = bytes;
        b[6] = 0;
        assert_eq!(Message::decode(&b), Err(ProtocolError::UnknownKind(0)));
        // The body is shorter than the kind's root.
        assert_eq!(
            Message::decode(&prefix(MessageKind::Ack, 7)),
            Err(ProtocolError::Truncated)
        );
        // An empty body is a valid unit message.
        assert_eq!(
            Message::decode(&prefix(MessageKind::ControlRevoke, 7)),
            Ok(Message::ControlRevoke)
        );
    }

    #[test]
    fn oversized_is_rejected_before_validation() {
        // Garbage that is too large: rejected on its length alone, even with a bad magic.
        let huge = vec![0u8; MAX_MESSAGE_BYTES + 1];
        let e = Message::decode(&huge).unwrap_err();
        assert_eq!(
            e,
            ProtocolError::TooLarge {
                len: MAX_MESSAGE_BYTES + 1,
                max: MAX_MESSAGE_BYTES
            }
        );
        assert_eq!(e.error_code(), ErrorCode::TooLarge);
        // A large non-frame message is rejected before its (garbage) body is looked at.
        let mut chat = prefix(MessageKind::Chat, MAX_CONTROL_MESSAGE_BYTES + 8);
        chat.resize(MAX_CONTROL_MESSAGE_BYTES + 1, 0xFF);
        assert_eq!(
            Message::decode(&chat),
            Err(ProtocolError::TooLarge {
                len: MAX_CONTROL_MESSAGE_BYTES + 1,
                max: MAX_CONTROL_MESSAGE_BYTES
            })
        );
        // ... but the same bytes at the limit reach validation (and happen to be valid: 0xFF
        // bytes are an empty inline string).
        chat.truncate(MAX_CONTROL_MESSAGE_BYTES);
        assert_eq!(
            Message::decode(&chat),
            Ok(Message::Chat {
                from: p(u32::MAX),
                text: String::new()
            })
        );
        // Frames may be large.
        let frame = vec![3u8; MAX_CONTROL_MESSAGE_BYTES * 4];
        let bytes = encode_frame(&frame);
        assert_eq!(
            MessageView::access(&bytes).unwrap().frame(),
            Some(&frame[..])
        );
    }

    #[test]
    fn frames_over_the_frame_limit_are_rejected() {
        let frame = vec![1u8; MAX_FRAME_BYTES + 1];
        let bytes = encode_frame(&frame);
        assert!(bytes.len() <= MAX_MESSAGE_BYTES);
        assert_eq!(
            Message::decode(&bytes),
            Err(ProtocolError::TooLong {
                field: "Frame.bytes",
                len: MAX_FRAME_BYTES + 1,
                max: MAX_FRAME_BYTES
            })
        );
        let frame = vec![1u8; MAX_FRAME_BYTES];
        assert!(MessageView::access(&encode_frame(&frame)).is_ok());
    }

    fn rejects(m: Message) -> ProtocolError {
        let e = m.try_encode().unwrap_err();
        assert_eq!(Message::decode(&m.encode()), Err(e.clone()));
        e
    }

    #[test]
    fn string_limits_are_enforced() {
        let chat = |text: String| Message::Chat { from: p(1), text };
        assert!(chat("x".repeat(MAX_CHAT_BYTES)).try_encode().is_ok());
        assert_eq!(
            rejects(chat("x".repeat(MAX_CHAT_BYTES + 1))),
            ProtocolError::TooLong {
                field: "Chat.text",
                len: MAX_CHAT_BYTES + 1,
                max: MAX_CHAT_BYTES
            }
        );
        // Bytes, not characters.
        assert!(matches!(
            rejects(chat("é".repeat(MAX_CHAT_BYTES / 2 + 1))),
            ProtocolError::TooLong { .. }
        ));
        assert_eq!(
            rejects(chat("a\0b".into())),
            ProtocolError::BadCharacter { field: "Chat.text" }
        );
        assert_eq!(
            rejects(chat("bell\u{7}".into())),
            ProtocolError::BadCharacter { field: "Chat.text" }
        );
        assert!(chat("line\r\nbreak\ttab".into()).try_encode().is_ok());

        let nav = |u: &str| Message::Navigate {
            to: Navigation::Url(u.into()),
        };
        let long_url = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert!(matches!(
            rejects(nav(&long_url)),
            ProtocolError::TooLong {
                field: "Navigate.to",
                ..
            }
        ));
        assert!(nav(&long_url[..MAX_URL_BYTES]).try_encode().is_ok());
        for bad in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "//example.com",
            "/relative",
            "https://",
            "https:///path",
            "http:/x",
            "https://exa mple.com/",
            "https://example.com/\n",
            "https://exämple.com/",
            " https://example.com/",
        ] {
            assert_eq!(
                rejects(nav(bad)),
                ProtocolError::BadUrl {
                    field: "Navigate.to"
                },
                "{bad}"
            );
        }
        assert_eq!(
            rejects(nav("")),
            ProtocolError::Empty {
                field: "Navigate.to"
            }
        );
        let link = |url: &str, title: String| Message::SharedLink {
            from: p(2),
            url: url.into(),
            title,
        };
        assert!(matches!(
            rejects(link("ftp://x", String::new())),
            ProtocolError::BadUrl {
                field: "SharedLink.url"
            }
        ));
        assert!(matches!(
            rejects(link("https://x", "t".repeat(MAX_TITLE_BYTES + 1))),
            ProtocolError::TooLong {
                field: "SharedLink.title",
                ..
            }
        ));
        assert!(matches!(
            rejects(link("https://x", "a\nb".into())),
            ProtocolError::BadCharacter {
                field: "SharedLink.title"
            }
        ));

        let hello = |c: ClientInfo| Message::Hello {
            role: Role::Customer,
            client: c,
            resume: None,
        };
        assert!(
            hello(ClientInfo {
                os: "o".repeat(MAX_CLIENT_FIELD_BYTES),
                ..client_info()
            })
            .try_encode()
            .is_ok()
        );
        assert_eq!(
            rejects(hello(ClientInfo {
                os: "o".repeat(MAX_CLIENT_FIELD_BYTES + 1),
                ..client_info()
            })),
            ProtocolError::TooLong {
                field: "Hello.client.os",
                len: MAX_CLIENT_FIELD_BYTES + 1,
                max: MAX_CLIENT_FIELD_BYTES
            }
        );
        assert_eq!(
            rejects(hello(ClientInfo {
                browser: "Fire\u{1b}[31mfox".into(),
                ..client_info()
            })),
            ProtocolError::BadCharacter {
                field: "Hello.client.browser"
            }
        );
        let joined_customer = Message::Joined {
            session_id: sid(),
            participant_id: p(2),
            participants: 2,
            role: Role::Agent,
            mode: Mode::Pointer,
            ceiling: ControlCeiling::Full,
            paused: false,
            resume_token: token(),
            customer: Some(ClientInfo {
                client_version: "v".repeat(200),
                ..client_info()
            }),
        };
        assert!(matches!(
            rejects(joined_customer),
            ProtocolError::TooLong {
                field: "Joined.customer.client_version",
                ..
            }
        ));

        let join = |t: String| Message::Join {
            session_id: sid(),
            token: AuthToken::new(t),
        };
        assert_eq!(
            rejects(join(String::new())),
            ProtocolError::Empty {
                field: "Join.token"
            }
        );
        assert_eq!(
            rejects(join("has space".into())),
            ProtocolError::BadCharacter {
                field: "Join.token"
            }
        );
        assert!(matches!(
            rejects(join("t".repeat(MAX_TOKEN_BYTES + 1))),
            ProtocolError::TooLong { .. }
        ));
        assert!(join("t".repeat(MAX_TOKEN_BYTES)).try_encode().is_ok());

        let input = |v: String| Message::AgentInput {
            target: WireId(1),
            value: v,
        };
        assert!(input("v".repeat(MAX_INPUT_BYTES)).try_encode().is_ok());
        assert!(matches!(
            rejects(input("v".repeat(MAX_INPUT_BYTES + 1))),
            ProtocolError::TooLong {
                field: "AgentInput.value",
                ..
            }
        ));

        let error = |m: &str| Message::Error {
            code: ErrorCode::Internal,
            message: m.into(),
        };
        assert_eq!(
            rejects(error("naïve")),
            ProtocolError::BadCharacter {
                field: "Error.message"
            }
        );
        assert!(matches!(
            rejects(error(&"e".repeat(MAX_ERROR_MESSAGE_BYTES + 1))),
            ProtocolError::TooLong { .. }
        ));
        assert!(error("").try_encode().is_ok());
    }

    #[test]
    fn numbers_wire_ids_and_consistency_are_enforced() {
        for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, MAX_COORD * 2.0] {
            assert_eq!(
                rejects(Message::Pointer {
                    from: p(1),
                    x: v,
                    y: 0.0,
                    target: None
                }),
                ProtocolError::BadNumber { field: "Pointer.x" }
            );
            assert_eq!(
                rejects(Message::AgentClick {
                    target: WireId(1),
                    x: 0.0,
                    y: v
                }),
                ProtocolError::BadNumber {
                    field: "AgentClick.y"
                }
            );
            assert_eq!(
                rejects(Message::Scroll {
                    target: None,
                    x: v,
                    y: 0.0
                }),
                ProtocolError::BadNumber { field: "Scroll.x" }
            );
        }
        let rect = |width: f32| Message::Highlight {
            from: p(2),
            id: 1,
            target: WireId(1),
            rect: Some(Rect {
                x: 0.0,
                y: 0.0,
                width,
                height: 1.0,
            }),
            color: None,
        };
        assert_eq!(
            rejects(rect(-1.0)),
            ProtocolError::BadNumber {
                field: "Highlight.rect"
            }
        );
        assert_eq!(
            rejects(Message::Viewport {
                width: MAX_VIEWPORT_PX + 1,
                height: 1
            }),
            ProtocolError::BadNumber {
                field: "Viewport.width"
            }
        );
        assert_eq!(
            rejects(Message::Pointer {
                from: p(1),
                x: 0.0,
                y: 0.0,
                target: Some(WireId::UNASSIGNED)
            }),
            ProtocolError::UnassignedWireId {
                field: "Pointer.target"
            }
        );
        assert_eq!(
            rejects(Message::AgentSubmit {
                target: WireId::UNASSIGNED
            }),
            ProtocolError::UnassignedWireId {
                field: "AgentSubmit.target"
            }
        );
        assert_eq!(
            rejects(Message::Highlight {
                from: p(2),
                id: 1,
                target: WireId(0),
                rect: None,
                color: None
            }),
            ProtocolError::UnassignedWireId {
                field: "Highlight.target"
            }
        );
        assert_eq!(
            rejects(Message::PeerJoined {
                participant_id: p(3),
                role: Role::Agent,
                participants: 0
            }),
            ProtocolError::BadNumber {
                field: "PeerJoined.participants"
            }
        );
        let joined = |participants, mode, ceiling| Message::Joined {
            session_id: sid(),
            participant_id: p(1),
            participants,
            role: Role::Customer,
            mode,
            ceiling,
            paused: false,
            resume_token: token(),
            customer: None,
        };
        assert_eq!(
            rejects(joined(0, Mode::Pointer, ControlCeiling::Full)),
            ProtocolError::BadNumber {
                field: "Joined.participants"
            }
        );
        assert_eq!(
            rejects(joined(2, Mode::Control(p(2)), ControlCeiling::None)),
            ProtocolError::Inconsistent {
                field: "Joined.ceiling"
            }
        );
        // Control under a view-only ceiling.
        assert_eq!(
            rejects(Message::ModeChanged {
                mode: Mode::Control(p(2)),
                ceiling: ControlCeiling::None
            }),
            ProtocolError::Inconsistent {
                field: "ModeChanged.ceiling"
            }
        );
    }

    #[test]
    fn crafted_bodies_are_rejected_with_typed_errors() {
        // Session ids out of range (never written by `encode`: `SessionId` cannot hold them).
        for n in [0, 99_999_999, 1_000_000_000, u32::MAX] {
            let b = raw(
                MessageKind::Join,
                &WJoin {
                    session: n,
                    token: "t".into(),
                },
            );
            assert_eq!(
                assert_rejected(&b),
                ProtocolError::BadSessionId {
                    field: "Join.session_id"
                }
            );
        }
        // Unknown enum codes.
        for (kind, c) in [
            (MessageKind::Pause, 0u8),
            (MessageKind::Pause, 3),
            (MessageKind::End, 12),
        ] {
            let e = assert_rejected(&raw(kind, &WReason { reason: c }));
            assert!(
                matches!(e, ProtocolError::UnknownCode { code, .. } if code == c),
                "{e:?}"
            );
        }
        let b = raw(
            MessageKind::ModeChanged,
            &WMode {
                controller: None,
                ceiling: 4,
            },
        );
        assert_eq!(
            assert_rejected(&b),
            ProtocolError::UnknownCode {
                field: "ModeChanged.ceiling",
                code: 4
            }
        );
        let err = |code, detail| {
            raw(
                MessageKind::Error,
                &WError {
                    code,
                    detail,
                    message: String::new(),
                },
            )
        };
        assert_eq!(
            assert_rejected(&err(0, 0)),
            ProtocolError::UnknownCode {
                field: "Error.code",
                code: 0
            }
        );
        for detail in [0, 14, 38] {
            assert_eq!(
                assert_rejected(&err(10, detail)),
                ProtocolError::UnknownCode {
                    field: "Error.detail",
                    code: detail
                }
            );
        }
        assert_eq!(
            assert_rejected(&err(4, 1)),
            ProtocolError::Inconsistent {
                field: "Error.detail"
            }
        );
        let nav = |op, url: &str| {
            raw(
                MessageKind::Navigate,
                &WNavigate {
                    op,
                    url: url.into(),
                },
            )
        };
        assert_eq!(
            assert_rejected(&nav(2, "https://x")),
            ProtocolError::Inconsistent {
                field: "Navigate.to"
            }
        );
        assert_eq!(
            assert_rejected(&nav(5, "")),
            ProtocolError::UnknownCode {
                field: "Navigate.to",
                code: 5
            }
        );
        let hello = |role| {
            raw(
                MessageKind::Hello,
                &WHello {
                    role,
                    client: w_client(&client_info()),
                    resume: None,
                },
            )
        };
        assert_eq!(
            assert_rejected(&hello(3)),
            ProtocolError::UnknownCode {
                field: "Hello.role",
                code: 3
            }
        );
        // An invalid option tag, an invalid bool: rkyv validation.
        let mut b = Message::KeyframeRequest { have_seq: None }.encode();
        assert_eq!(b.len(), PREFIX_LEN + 9);
        b[PREFIX_LEN] = 2;
        assert!(matches!(assert_rejected(&b), ProtocolError::Invalid(_)));
        let mut b = Message::Joined {
            session_id: sid(),
            participant_id: p(1),
            participants: 1,
            role: Role::Customer,
            mode: Mode::Pointer,
            ceiling: ControlCeiling::Full,
            paused: false,
            resume_token: ResumeToken([0xEE; 16]),
            customer: None,
        }
        .encode();
        let at = find(&b, &[0xEE; 16]).unwrap() - 1;
        assert_eq!(b[at], 0);
        b[at] = 2;
        assert!(matches!(assert_rejected(&b), ProtocolError::Invalid(_)));
        // A string pointer out of the message.
        let mut b = Message::Chat {
            from: p(1),
            text: "more than eight bytes".into(),
        }
        .encode();
        let n = b.len();
        b[n - 5] ^= 0x40;
        assert!(matches!(assert_rejected(&b), ProtocolError::Invalid(_)));
    }

    #[test]
    fn errors_never_contain_message_contents() {
        let check = |e: &ProtocolError| {
            let shown = format!("{e} {e:?}");
            for part in ["CANARY", "SECRET", "4242"] {
                assert!(!shown.contains(part), "{shown}");
            }
        };
        let mut errors = 0;
        for m in canary_messages() {
            let bytes = m.encode();
            let at = find(&bytes, CANARY.as_bytes()).unwrap();
            // Invalid UTF-8 inside the string (frames are opaque bytes: always valid).
            if m.kind() != MessageKind::Frame {
                for (i, byte) in [0xFFu8, 0xC3, 0x80, 0xED].into_iter().enumerate() {
                    let mut b = bytes.clone();
                    b[at + 3 + i] = byte;
                    let e = assert_rejected(&b);
                    assert!(matches!(e, ProtocolError::Invalid(_)), "{e:?}");
                    check(&e);
                    errors += 1;
                }
                // A forbidden character inside the string.
                let mut b = bytes.clone();
                b[at + 6] = 0x01;
                let e = assert_rejected(&b);
                check(&e);
                errors += 1;
            }
            // Every single-bit flip, every byte set to 0xFF, every truncation.
            let mut b = bytes.clone();
            for bit in 0..bytes.len() * 8 {
                b[bit / 8] ^= 1 << (bit % 8);
                if let Err(e) = Message::decode(&b) {
                    check(&e);
                    errors += 1;
                }
                b[bit / 8] ^= 1 << (bit % 8);
            }
            for i in 0..bytes.len() {
                let mut b = bytes.clone();
                b[i] = 0xFF;
                if let Err(e) = Message::decode(&b) {
                    check(&e);
                    errors += 1;
                }
            }
            for len in 0..bytes.len() {
                if let Err(e) = Message::decode(&bytes[..len]) {
                    check(&e);
                    errors += 1;
                }
            }
        }
        // Messages that are too long, with the canary in them.
        for m in [
            Message::Chat {
                from: p(1),
                text: CANARY.repeat(300),
            },
            Message::Navigate {
                to: Navigation::Url(format!("javascript:{CANARY}")),
            },
            Message::AgentInput {
                target: WireId(1),
                value: format!("{CANARY}\0"),
            },
        ] {
            let e = rejects(m);
            check(&e);
        }
        assert!(errors > 1000);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let m = Message::Join {
            session_id: sid(),
            token: AuthToken::new(CANARY),
        };
        let shown = format!("{m:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(shown.contains("18 bytes"), "{shown}");
        let t = ResumeToken(*b"CANARY-SECRET-42");
        assert!(!format!("{t:?}").contains("CANARY"));
        assert_eq!(t, ResumeToken(*b"CANARY-SECRET-42"));
        assert_ne!(t, ResumeToken(*b"CANARY-SECRET-43"));
        let bytes = Message::Chat {
            from: p(1),
            text: CANARY.into(),
        }
        .encode();
        let view = MessageView::access(&bytes).unwrap();
        assert!(!format!("{view:?}").contains("CANARY"));
    }

    #[test]
    fn session_reasons_have_wire_forms() {
        use session::{AgentId, DenyReason as S};
        let mut codes: Vec<u8> = all_deny_reasons().iter().map(|r| r.code()).collect();
        for r in all_deny_reasons() {
            assert_eq!(DenyReason::from_code(r.code()), Some(r));
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all_deny_reasons().len());
        for c in [0, 14, 31, 38, 255] {
            assert_eq!(DenyReason::from_code(c), None, "{c}");
        }
        for (s, w) in [
            (S::FormsNotEditable, DenyReason::FormsNotEditable),
            (S::ElementDisabled, DenyReason::ElementDisabled),
            (
                S::UnsafeUrl(UrlError::NotWeb),
                DenyReason::UnsafeUrl(UrlError::NotWeb),
            ),
        ] {
            assert_eq!(DenyReason::from(s), w);
        }
        assert_eq!(
            EndReason::from(session::EndReason::AgentEnded(AgentId(7))),
            EndReason::AgentEnded
        );
        assert_eq!(
            EndReason::from(session::EndReason::NoAgentReturned),
            EndReason::AgentGone
        );
        assert_eq!(
            EndReason::from(session::EndReason::VendorBackend),
            EndReason::BackendEnded
        );
        // Ceilings and pause reasons are the session's own types.
        for c in [
            ControlCeiling::Full,
            ControlCeiling::Partial,
            ControlCeiling::None,
        ] {
            assert_eq!(ceiling_from_code(ceiling_code(c)), Some(c));
        }
        // Every URL the protocol accepts, the session rules accept.
        for m in samples() {
            let url = match &m {
                Message::Navigate {
                    to: Navigation::Url(u),
                } => u,
                Message::SharedLink { url, .. } | Message::PageChanged { url } => url,
                _ => continue,
            };
            assert!(session::web_url_host(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn error_display_is_informative() {
        assert_eq!(
            ProtocolError::BadMagic.to_string(),
            "not a cobrowse message (bad magic)"
        );
        assert_eq!(
            ProtocolError::UnsupportedVersion(3).to_string(),
            "unsupported protocol version 3 (this build reads version 1)"
        );
        assert_eq!(
            ProtocolError::TooLong {
                field: "Chat.text",
                len: 5000,
                max: 4096
            }
            .to_string(),
            "Chat.text is 5000 bytes, over the limit of 4096"
        );
        let e: Box<dyn std::error::Error> = Box::new(ProtocolError::Truncated);
        assert_eq!(e.to_string(), "message truncated");
        assert_eq!(
            ProtocolError::Empty {
                field: "Frame.bytes"
            }
            .error_code(),
            ErrorCode::BadMessage
        );
    }

    #[test]
    fn typical_messages_are_small() {
        let len = |m: Message| m.encode().len();
        let pointer = |target| Message::Pointer {
            from: p(2),
            x: 10.0,
            y: 20.0,
            target,
        };
        assert_eq!(len(pointer(Some(WireId(5)))), 24);
        assert_eq!(len(pointer(None)), 24);
        assert_eq!(len(Message::Ack { seq: 9 }), 15);
        assert_eq!(
            len(Message::Ping {
                nonce: 1,
                sent_at_ms: 2
            }),
            23
        );
        assert_eq!(encode_frame(&[0; 1000]).len(), 1000 + 15);
        let chat = |t: &str| {
            len(Message::Chat {
                from: p(1),
                text: t.into(),
            })
        };
        assert_eq!(chat("hello"), 19);
        assert_eq!(chat("Could you open the settings page?"), 19 + 33);
        assert_eq!(len(Message::ControlReturn), 7);
        assert_eq!(
            len(Message::AgentClick {
                target: WireId(1),
                x: 1.0,
                y: 2.0
            }),
            19
        );
    }
}
