//! Memory budgets of the mirrors: bytes per session (`limits.max_mirror_bytes`) and for the
//! whole relay (`limits.max_total_mirror_bytes`).
//!
//! A mirror's footprint is counted as its tree's arena slots
//! ([`cobrowse_engine::Tree::slot_capacity`], so the arena's growth slack is counted) times
//! [`NODE_BYTES`] plus [`FRAME_BYTE_COST`] times the bytes of every frame applied since the last keyframe, the keyframe included. Both
//! constants are measured, not derived from type sizes: the test `tests/mirror_footprint.rs`
//! applies the keyframe of each of 280 pages (the hand-written cases and the corpus cache) to
//! a mirror under a counting allocator and asserts that the heap the mirror really holds
//! (arena slots, element data, attribute lists, long strings, the wire index) is within this
//! count on every page. Measured on 2 December 2026, with the engine's compact node layout
//! (88-byte slots since a child's place among its parent's children is kept for the
//! fingerprints' refresh, 56-byte element data, a 4-byte-per-slot wire index): at most 189
//! bytes per node beyond twice the keyframe's bytes (181 with 80-byte slots; it was 619 with
//! the old layout and a test that counted reallocations twice). A keyframe is checked
//! **before** it is applied, from its record count; a delta after (its node count is only
//! known then): a delta that takes the mirror over its budget leaves the mirror empty, so that
//! nothing over budget is ever held.
//!
//! Invariant: the relay's total (`RelayState::mirror_bytes`) is the sum of the sessions'
//! counted footprints (`WireState::mirror_bytes`), kept by [`Budget::commit`] and released when
//! a session ends.

use std::sync::atomic::{AtomicUsize, Ordering};

use cobrowse_engine::Mirror;

/// Bytes one arena slot of a mirror's tree is counted at: the slot, its element data and
/// attribute list, and its wire-index entry (measured: at most 189 bytes on every page of the
/// corpus, see the module docs).
pub const NODE_BYTES: usize = 192;

/// What one byte of the frames since the last keyframe is counted at: the strings and the
/// attributes past the inline ones that the frames add to the heap (measured: 2).
pub const FRAME_BYTE_COST: usize = 2;

/// The two budgets a frame is checked against.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Bytes per session.
    pub session: usize,
    /// Bytes for all sessions.
    pub total: usize,
}

/// Why a frame was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverBudget {
    /// The session's mirror would exceed `limits.max_mirror_bytes`.
    Session,
    /// All mirrors together would exceed `limits.max_total_mirror_bytes`.
    Relay,
}

impl OverBudget {
    /// The fixed text sent to the customer.
    pub fn text(self) -> &'static str {
        match self {
            OverBudget::Session => "the page is larger than the relay's budget for one session",
            OverBudget::Relay => "the relay is out of memory for pages; try again later",
        }
    }
}

impl Budget {
    /// The footprint of a mirror with `nodes` node slots and `frame_bytes` of frames since its
    /// last keyframe.
    pub fn footprint(nodes: usize, frame_bytes: usize) -> usize {
        nodes
            .saturating_mul(NODE_BYTES)
            .saturating_add(frame_bytes.saturating_mul(FRAME_BYTE_COST))
    }

    /// Whether a footprint of `next` for a session now counted at `held` fits, given the
    /// relay's total `all`.
    pub fn check(&self, held: usize, next: usize, all: &AtomicUsize) -> Result<(), OverBudget> {
        if next > self.session {
            return Err(OverBudget::Session);
        }
        let others = all.load(Ordering::Acquire).saturating_sub(held);
        if others.saturating_add(next) > self.total {
            return Err(OverBudget::Relay);
        }
        Ok(())
    }

    /// Moves a session's counted footprint from `*held` to `next`.
    pub fn commit(held: &mut usize, next: usize, all: &AtomicUsize) {
        // Most deltas leave the footprint as it was: the relay-wide total (one cache line
        // every session writes to) is then not touched.
        if next == *held {
            return;
        }
        if next > *held {
            all.fetch_add(next - *held, Ordering::AcqRel);
        } else {
            all.fetch_sub(*held - next, Ordering::AcqRel);
        }
        *held = next;
    }

    /// The footprint of `mirror` after a frame of `frame_len` bytes (a keyframe restarts the
    /// frame bytes; `since_keyframe` is what was counted before it).
    pub fn after(
        mirror: &Mirror,
        keyframe: bool,
        since_keyframe: usize,
        frame_len: usize,
    ) -> (usize, usize) {
        let frames = if keyframe {
            frame_len
        } else {
            since_keyframe.saturating_add(frame_len)
        };
        (
            Budget::footprint(mirror.tree().slot_capacity(), frames),
            frames,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_refuse_past_the_session_or_the_relay_and_commit_keeps_the_total() {
        let all = AtomicUsize::new(0);
        let b = Budget {
            session: 1000,
            total: 1500,
        };
        let mut s1 = 0;
        let mut s2 = 0;
        assert_eq!(b.check(s1, 1001, &all), Err(OverBudget::Session));
        assert_eq!(b.check(s1, 900, &all), Ok(()));
        Budget::commit(&mut s1, 900, &all);
        assert_eq!(b.check(s2, 700, &all), Err(OverBudget::Relay));
        assert_eq!(b.check(s2, 600, &all), Ok(()));
        Budget::commit(&mut s2, 600, &all);
        // A session shrinking makes room for itself: its own share is not counted twice.
        assert_eq!(b.check(s1, 850, &all), Ok(()));
        Budget::commit(&mut s1, 100, &all);
        assert_eq!(all.load(Ordering::Acquire), 700);
        Budget::commit(&mut s2, 0, &all);
        Budget::commit(&mut s1, 0, &all);
        assert_eq!(all.load(Ordering::Acquire), 0);
    }
}
