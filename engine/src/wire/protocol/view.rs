//! [`MessageView`]: a validated message read in place.

use std::fmt;

use super::error::ProtocolError;
use super::fields::ParticipantId;
use super::layout::{MAGIC, PREFIX_LEN};
use super::limits::{MAX_CONTROL_MESSAGE_BYTES, MAX_MESSAGE_BYTES, PROTOCOL_VERSION};
use super::messages::Body;
use super::messages::{Message, MessageKind};

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
    /// Validates `bytes` as a message (see the [module docs](super) for the order of the
    /// checks). Works at any alignment; never panics.
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
        let body = Body::access(kind, &bytes[PREFIX_LEN..])?;
        body.validate()?;
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
        self.body.sender()
    }

    /// The owned message.
    pub fn to_message(&self) -> Message {
        self.body.to_message()
    }

    /// The owned message when its kind is in `KINDS` (a [`KindSet`](super::KindSet) mask),
    /// `None` for another kind: [`MessageView::to_message`] without the other kinds'
    /// conversions compiled in (the customer's browser build reads only agent actions).
    pub fn to_message_among<const KINDS: u128>(&self) -> Option<Message> {
        self.body.to_message_among::<KINDS>()
    }
}
