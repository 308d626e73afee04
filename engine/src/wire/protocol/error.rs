//! [`ProtocolError`]: why a byte slice is not a valid message.

use std::fmt;

use super::fields::ErrorCode;
use super::limits::PROTOCOL_VERSION;

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
    /// A message whose kind is not among those a conversion was built for
    /// ([`Message::try_encode_among`](super::Message::try_encode_among)).
    KindNotAmong(u8),
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
            ProtocolError::KindNotAmong(k) => {
                write!(f, "message kind {k} is not one this build encodes")
            }
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
