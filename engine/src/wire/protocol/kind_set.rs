//! [`KindSet`]: a set of [`MessageKind`]s as a bit mask, bit `code` for each kind.
//!
//! It exists for the `*_among` conversions ([`Message::from_object_among`],
//! [`Message::try_encode_among`]): given as a const generic, it lets a build that handles only
//! a few kinds (the customer's widget encodes what a customer sends and reads agent actions)
//! leave the other kinds' conversion code out. Invariant: only bits of existing kinds' codes
//! are set (every code is below 128).

use super::fields::Party;
#[cfg(doc)]
use super::messages::Message;
use super::messages::MessageKind;

/// A set of message kinds (see the module docs). `KindSet(mask).0` is the const generic
/// argument of the `*_among` conversions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct KindSet(pub u128);

impl KindSet {
    /// No kind.
    pub const EMPTY: KindSet = KindSet(0);
    /// Every kind of this protocol version.
    pub const ALL: KindSet = KindSet::of(MessageKind::ALL);

    /// The set of `kinds`.
    pub const fn of(kinds: &[MessageKind]) -> KindSet {
        let mut mask = 0u128;
        let mut i = 0;
        while i < kinds.len() {
            debug_assert!(kinds[i].code() < 128);
            mask |= 1u128 << kinds[i].code();
            i += 1;
        }
        KindSet(mask)
    }

    /// The kinds `party` may originate ([`MessageKind::may_come_from`]).
    pub const fn originated_by(party: Party) -> KindSet {
        let mut mask = 0u128;
        let mut i = 0;
        while i < MessageKind::ALL.len() {
            let kind = MessageKind::ALL[i];
            if kind.may_come_from(party) {
                mask |= 1u128 << kind.code();
            }
            i += 1;
        }
        KindSet(mask)
    }

    /// The kinds of either set.
    pub const fn union(self, other: KindSet) -> KindSet {
        KindSet(self.0 | other.0)
    }

    /// Whether `kind` is in the set.
    #[inline]
    pub const fn contains(self, kind: MessageKind) -> bool {
        self.0 & (1u128 << kind.code()) != 0
    }
}
