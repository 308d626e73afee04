//! The byte layout every message shares: the prefix (magic, version, kind code) and the rkyv
//! archive of the kind's body right after it (see the [module docs](super)).

use rkyv::api::high::{HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::{Archive, Archived, Serialize, rancor};

use crate::wire::redact::redact;

use super::error::ProtocolError;
use super::limits::PROTOCOL_VERSION;

/// The magic bytes every message starts with.
pub(super) const MAGIC: [u8; 4] = *b"CBM1";
/// Magic + version + kind.
pub(super) const PREFIX_LEN: usize = 7;

/// The prefix of a message of the kind with wire code `kind`, in a buffer of `capacity`.
pub(super) fn prefix(kind: u8, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    out.push(kind);
    debug_assert_eq!(out.len(), PREFIX_LEN);
    out
}

/// The message of the kind with wire code `kind` whose body is `body`.
pub(super) fn archive<W>(kind: u8, body: &W) -> Vec<u8>
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
