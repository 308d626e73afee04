//! Bytes in and out: the prefix, the rkyv archive of a body, [`encode_frame`]'s fast path, and
//! [`Message::encode`], [`Message::try_encode`] and [`Message::decode`].

use rkyv::api::high::{HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::{Archive, Archived, Serialize, rancor};

use crate::wire::redact::redact;

use super::{
    MAGIC, Message, MessageKind, MessageView, PREFIX_LEN, PROTOCOL_VERSION, ProtocolError,
};

/// The prefix of a message of `kind`, in a buffer of `capacity`.
pub(super) fn prefix(kind: MessageKind, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    out.push(kind.code());
    debug_assert_eq!(out.len(), PREFIX_LEN);
    out
}

/// The message of `kind` whose body is `body`.
pub(super) fn archive<W>(kind: MessageKind, body: &W) -> Vec<u8>
where
    W: for<'a> Serialize<HighSerializer<Vec<u8>, ArenaHandle<'a>, rancor::Error>>,
{
    // Relative pointers make the archive position-independent, so it is written right after
    // the prefix; with alignment 1 there is no padding to account for.
    rkyv::api::high::to_bytes_in::<_, rancor::Error>(body, prefix(kind, 64))
        .expect("message too large to encode (over 2 GiB of archive)")
}

/// Bytecheck-validates `archive` as the body `W`.
pub(super) fn access_archive<W: Archive>(archive: &[u8]) -> Result<&Archived<W>, ProtocolError>
where
    Archived<W>: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>,
{
    if archive.len() < size_of::<Archived<W>>() {
        return Err(ProtocolError::Truncated);
    }
    rkyv::access::<Archived<W>, rancor::Error>(archive)
        .map_err(|e| ProtocolError::Invalid(redact(&e.to_string())))
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

    /// Encodes the message and validates the result as the receiver will: a message built
    /// from user input (chat text, a URL typed by an agent) fails here, not at the receiver.
    pub fn try_encode(&self) -> Result<Vec<u8>, ProtocolError> {
        let bytes = self.encode();
        MessageView::access(&bytes)?;
        Ok(bytes)
    }

    /// Decodes and validates a message (see the [module docs](super)). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Message, ProtocolError> {
        MessageView::access(bytes).map(|v| v.to_message())
    }
}
