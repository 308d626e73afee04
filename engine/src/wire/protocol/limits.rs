//! The protocol's version and limits: what a receiver accepts.

use crate::session;
use crate::wire::frame::MAX_FRAME_BYTES;

/// The protocol version this build writes and reads.
pub const PROTOCOL_VERSION: u16 = 1;

/// Messages larger than this are rejected without looking at them: the largest frame plus the
/// [`Message::Frame`](super::Message::Frame) overhead (15 bytes), rounded up.
pub const MAX_MESSAGE_BYTES: usize = MAX_FRAME_BYTES + 64;

// The largest frame fits in a message.
const _: () = assert!(MAX_FRAME_BYTES + 15 <= MAX_MESSAGE_BYTES);

/// Messages of every kind but [`MessageKind::Frame`](super::MessageKind::Frame) larger than this are rejected before
/// validation. Every valid non-frame message is far smaller (the largest field is an
/// [`Message::AgentInput`](super::Message::AgentInput) value of [`MAX_INPUT_BYTES`]).
pub const MAX_CONTROL_MESSAGE_BYTES: usize = 64 << 10;

/// Chat text ([`Message::Chat`](super::Message::Chat)), in bytes of UTF-8.
pub const MAX_CHAT_BYTES: usize = 4 << 10;
/// URLs ([`Navigation::Url`](super::Navigation::Url), [`Message::SharedLink`](super::Message::SharedLink), [`Message::PageChanged`](super::Message::PageChanged)): the session
/// rules' limit.
pub const MAX_URL_BYTES: usize = session::MAX_URL_BYTES;
/// Each [`ClientInfo`](super::ClientInfo) field.
pub const MAX_CLIENT_FIELD_BYTES: usize = 128;
/// An agent's [`AuthToken`](super::AuthToken).
pub const MAX_TOKEN_BYTES: usize = 4 << 10;
/// A customer secret ([`CustomerSecret`](super::CustomerSecret)).
pub const MAX_SECRET_BYTES: usize = 128;
/// A shared link's title.
pub const MAX_TITLE_BYTES: usize = 512;
/// A value typed by an agent ([`Message::AgentInput`](super::Message::AgentInput)).
pub const MAX_INPUT_BYTES: usize = 16 << 10;
/// The developer-facing text of an [`Message::Error`](super::Message::Error).
pub const MAX_ERROR_MESSAGE_BYTES: usize = 256;
/// The largest coordinate, scroll offset or size, in CSS pixels (2^24: beyond any layout, and
/// every integer up to it is exact in `f32`).
pub const MAX_COORD: f32 = 16_777_216.0;
/// The largest viewport width or height, in CSS pixels.
pub const MAX_VIEWPORT_PX: u32 = 1 << 16;
