//! Bytes in and out: [`encode_frame`]'s fast path, [`Message::encode`],
//! [`Message::try_encode`] (and `_among`: a subset of the kinds) and [`Message::decode`].

use super::error::ProtocolError;
use super::kind_set::KindSet;
use super::layout::{PREFIX_LEN, prefix};
use super::messages::{Message, MessageKind};
use super::view::MessageView;

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
    let mut out = prefix(MessageKind::Frame.code(), PREFIX_LEN + frame.len() + 8);
    out.extend_from_slice(frame);
    out.extend_from_slice(&(-len).to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out
}

impl Message {
    /// Encodes the message. Does not validate: see [`Message::try_encode`].
    ///
    /// # Panics
    ///
    /// If the body would exceed 2 GiB (the 32-bit offsets' range).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            // The same bytes as the generic path, with one copy fewer.
            Message::Frame { bytes } => encode_frame(bytes),
            _ => self.archive_body(),
        }
    }

    /// Encodes the message when its kind is in `KINDS` (a [`KindSet`] mask; `None` for another
    /// kind, whose encoding is then not compiled in). Does not validate.
    fn encode_among<const KINDS: u128>(&self) -> Option<Vec<u8>> {
        if !KindSet(KINDS).contains(self.kind()) {
            return None;
        }
        Some(match self {
            // The same bytes as the generic path, with one copy fewer.
            Message::Frame { bytes } => encode_frame(bytes),
            _ => self.archive_body_among::<KINDS>(),
        })
    }

    /// Encodes the message and validates the result as the receiver will: a message built
    /// from user input (chat text, a URL typed by an agent) fails here, not at the receiver.
    pub fn try_encode(&self) -> Result<Vec<u8>, ProtocolError> {
        let bytes = self.encode();
        MessageView::access(&bytes)?;
        Ok(bytes)
    }

    /// [`Message::try_encode`] for the kinds of `KINDS` only (a [`KindSet`] mask): a message of
    /// another kind is refused as [`ProtocolError::KindNotAmong`], and the encoding of the
    /// other kinds is not compiled in (what a build that sends a few kinds saves).
    pub fn try_encode_among<const KINDS: u128>(&self) -> Result<Vec<u8>, ProtocolError> {
        if const { KINDS == KindSet::ALL.0 } {
            // Exactly `try_encode`'s code (the full browser build measured larger otherwise).
            return self.try_encode();
        }
        let bytes = self
            .encode_among::<KINDS>()
            .ok_or(ProtocolError::KindNotAmong(self.kind().code()))?;
        MessageView::access(&bytes)?;
        Ok(bytes)
    }

    /// Decodes and validates a message (see the [module docs](super)). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Message, ProtocolError> {
        MessageView::access(bytes).map(|v| v.to_message())
    }
}
