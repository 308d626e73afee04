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
//! - Session ids are the session module's [`SessionId`](crate::session::SessionId): nine-digit numbers,
//!   `100000000..=999999999`, a `u32` on the wire (no leading zero, so an id read aloud, typed
//!   into a numeric field or parsed as an integer from `{start:123456789}` never loses a digit).
//!   A wire value outside that range is [`ProtocolError::BadSessionId`]. The control ceiling
//!   pause reasons, deny reasons and navigations are the session module's types too (one
//!   definition each); the end reason has a wire form convertible from the session's (`From`).
//! - Coordinates are `f32` CSS pixels (fractional under zoom). With a target wire id they are
//!   relative to the target element's border box (robust against layout differences between
//!   the customer's and the agent's browsers); without, to the document.
//! - Messages that name their originator ([`Message::sender`]: chat, pointer, ripple,
//!   highlights, shared links, control requests) carry it in the body; the relay must check
//!   it against the authenticated connection before forwarding. [`MessageKind::may_come_from`]
//!   is the direction table a relay applies first.
//! - Every enum code starts at 1, so a zeroed body never decodes.
//!
//! # Where things are
//!
//! | module | what |
//! |---|---|
//! | `messages` | the message table: every message once, its code, senders, fields and codecs |
//! | `table` | the macro that generates [`Message`], [`MessageKind`], the wire bodies, encoding, validation and decoding from the table |
//! | `fields` | the field types ([`ClientInfo`], [`Mode`], [`ErrorCode`], ...) |
//! | `codec` | how each field type travels and what is checked on receipt |
//! | `limits` | [`PROTOCOL_VERSION`] and the `MAX_*` limits |
//! | `layout` | the prefix and the rkyv archive of a body |
//! | `encode` | [`Message::encode`], [`Message::decode`], [`encode_frame`] |
//! | `view` | [`MessageView`], the validated in-place reader |
//! | `object_form` | (feature `serde`) every message as a plain object, for JavaScript |
//! | `error` | [`ProtocolError`] |

#[macro_use]
mod table;

mod codec;
mod encode;
mod error;
mod fields;
#[cfg(any(test, feature = "fuzzing"))]
mod fuzz;
mod kind_set;
mod layout;
mod limits;
mod messages;
#[cfg(feature = "serde")]
mod object_form;
mod view;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod tests;

pub use encode::encode_frame;
pub use error::ProtocolError;
pub use fields::{
    ActionKind, AuthToken, ClientInfo, Color, CustomerSecret, DenyReason, EndReason, ErrorCode,
    HighlightScope, Mode, Navigation, ParticipantId, Party, Reconnect, Rect, ResumeToken, Role,
};
#[cfg(any(test, feature = "fuzzing"))]
pub use fuzz::fuzz_decode;
pub use kind_set::KindSet;
pub use limits::{
    MAX_CHAT_BYTES, MAX_CLIENT_FIELD_BYTES, MAX_CONTROL_MESSAGE_BYTES, MAX_COORD,
    MAX_ERROR_MESSAGE_BYTES, MAX_INPUT_BYTES, MAX_MESSAGE_BYTES, MAX_SECRET_BYTES, MAX_TITLE_BYTES,
    MAX_TOKEN_BYTES, MAX_URL_BYTES, MAX_VIEWPORT_PX, PROTOCOL_VERSION,
};
pub use messages::{Message, MessageKind};
#[cfg(feature = "serde")]
pub use object_form::{FromObject, ObjectForm, ObjectFormError, ObjectValue, ToObject};
pub use view::MessageView;
