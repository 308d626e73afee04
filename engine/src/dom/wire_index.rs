//! A tree's wire index (wire id -> arena index) as a compact open-addressing table.
//!
//! A slot holds only the arena index of a node (4 bytes); the key is read back from that
//! node's own wire id, so the table costs about 5 bytes per indexed node where a hash map of
//! (key, value) pairs with power-of-two growth costs 10 to 20. Used by every mirror, where it
//! lives as long as the session.
//!
//! Invariants (checked by [`WireIndex::check`] in tests and the tree's debug checks):
//! - every occupied slot holds the index of a node whose wire id is assigned, and no two
//!   occupied slots hold nodes with the same wire id;
//! - linear probing with backward-shift deletion: every entry is reachable from its home slot
//!   without passing an empty slot (there are no tombstones);
//! - the load stays at most 4/5, so there is always an empty slot and probes end.
//!
//! The caller keeps the keys current: an entry is removed while its node still carries the
//! wire id it was indexed under, and a node's wire id is written before it is inserted.

use crate::dom::tree::Node;

const EMPTY: u32 = u32::MAX;

/// The table. `Default` is an empty table without a heap allocation.
#[derive(Clone, Default)]
pub(crate) struct WireIndex {
    slots: Vec<u32>,
    len: usize,
}

/// The home slot of `wire` in a table of `cap` slots: a multiplicative hash of the id (wire
/// ids are mostly consecutive) mapped onto `0..cap` without a modulo.
#[inline]
fn home(wire: u32, cap: usize) -> usize {
    let h = (u64::from(wire).wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 32;
    ((h * cap as u64) >> 32) as usize
}

/// Slots for `n` entries at a load of 4/5, plus the empty slot that ends probes.
fn slots_for(n: usize) -> usize {
    (n + n / 4 + 1).max(8)
}

impl WireIndex {
    /// A table with room for `n` entries before it grows.
    pub(crate) fn with_capacity(n: usize) -> WireIndex {
        WireIndex {
            slots: vec![EMPTY; slots_for(n)],
            len: 0,
        }
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes held.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u32>()
    }

    /// The slot holding `wire`, or the empty slot where it would go.
    #[inline]
    fn find(&self, nodes: &[Node], wire: u32) -> (usize, bool) {
        let cap = self.slots.len();
        let mut i = home(wire, cap);
        loop {
            let v = self.slots[i];
            if v == EMPTY {
                return (i, false);
            }
            if nodes[v as usize].wire.0 == wire {
                return (i, true);
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
    }

    /// The arena index of the node indexed under `wire`.
    #[inline]
    pub(crate) fn get(&self, nodes: &[Node], wire: u32) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        match self.find(nodes, wire) {
            (i, true) => Some(self.slots[i]),
            _ => None,
        }
    }

    /// Indexes node `node` (whose wire id must already be `nodes[node].wire`); returns the node
    /// that was indexed under the same id before, if any (it is replaced).
    pub(crate) fn insert(&mut self, nodes: &[Node], node: u32) -> Option<u32> {
        let wire = nodes[node as usize].wire.0;
        debug_assert!(wire != 0, "unassigned wire ids are not indexed");
        if (self.len + 1) * 5 > self.slots.len() * 4 {
            // Grow by half: a large index does not double for one more node.
            self.rebuild(nodes, slots_for(self.len + 1 + self.len / 2));
        }
        let (i, found) = self.find(nodes, wire);
        let old = self.slots[i];
        self.slots[i] = node;
        if found {
            Some(old).filter(|&o| o != node)
        } else {
            self.len += 1;
            None
        }
    }

    /// Removes the entry for `wire` if it is node `node`; returns whether it was.
    pub(crate) fn remove(&mut self, nodes: &[Node], wire: u32, node: u32) -> bool {
        if self.len == 0 {
            return false;
        }
        let (mut hole, found) = self.find(nodes, wire);
        if !found || self.slots[hole] != node {
            return false;
        }
        // Backward-shift deletion: pull later entries of the run into the hole when their
        // home slot is not after it, so that no probe passes an empty slot.
        let cap = self.slots.len();
        let mut j = hole;
        loop {
            j += 1;
            if j == cap {
                j = 0;
            }
            let v = self.slots[j];
            if v == EMPTY {
                break;
            }
            let h = home(nodes[v as usize].wire.0, cap);
            let dist_j = (j + cap - h) % cap;
            let dist_hole = (hole + cap - h) % cap;
            if dist_hole < dist_j {
                self.slots[hole] = v;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
        true
    }

    /// Makes room for `additional` more entries without growing again.
    pub(crate) fn reserve(&mut self, nodes: &[Node], additional: usize) {
        let want = slots_for(self.len + additional);
        if want > self.slots.len() {
            self.rebuild(nodes, want);
        }
    }

    fn rebuild(&mut self, nodes: &[Node], cap: usize) {
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; cap]);
        for v in old {
            if v != EMPTY {
                let (i, found) = self.find(nodes, nodes[v as usize].wire.0);
                debug_assert!(!found);
                self.slots[i] = v;
            }
        }
    }

    /// Checks the invariants in the module docs; panics on the first that does not hold.
    pub(crate) fn check(&self, nodes: &[Node]) {
        let mut seen = std::collections::HashSet::new();
        let mut count = 0;
        assert!(self.slots.is_empty() || self.len * 5 <= self.slots.len() * 4);
        for (i, &v) in self.slots.iter().enumerate() {
            if v == EMPTY {
                continue;
            }
            count += 1;
            let w = nodes[v as usize].wire.0;
            assert!(w != 0, "slot {i}: node {v} has no wire id");
            assert!(seen.insert(w), "wire id {w} indexed twice");
            assert_eq!(self.find(nodes, w), (i, true), "wire id {w} unreachable");
        }
        assert_eq!(count, self.len, "entry count");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dom::tree::{NodeData, WireId};

    fn nodes(wires: &[u32]) -> Vec<Node> {
        wires
            .iter()
            .map(|&w| {
                let mut n = Node::new(NodeData::Fragment);
                n.wire = WireId(w);
                n
            })
            .collect()
    }

    #[test]
    fn inserts_finds_and_removes_with_every_entry_reachable() {
        // Ids spread and clustered, so that runs wrap around the end of the table.
        let wires: Vec<u32> = (1..=200)
            .map(|i| if i % 3 == 0 { i * 7919 } else { i })
            .collect();
        let ns = nodes(&wires);
        let mut ix = WireIndex::default();
        for i in 0..ns.len() as u32 {
            assert_eq!(ix.insert(&ns, i), None);
            ix.check(&ns);
        }
        assert_eq!(ix.len(), 200);
        for (i, &w) in wires.iter().enumerate() {
            assert_eq!(ix.get(&ns, w), Some(i as u32));
        }
        assert_eq!(ix.get(&ns, 5), Some(4));
        assert_eq!(ix.get(&ns, 1_000_000_007), None);
        // Removing under the wrong node is refused; under the right one, only that entry goes.
        assert!(!ix.remove(&ns, wires[10], 11));
        for i in (0..200).step_by(2) {
            assert!(ix.remove(&ns, wires[i], i as u32));
            ix.check(&ns);
        }
        assert_eq!(ix.len(), 100);
        for (i, &w) in wires.iter().enumerate() {
            let want = (i % 2 == 1).then_some(i as u32);
            assert_eq!(ix.get(&ns, w), want, "wire {w}");
        }
    }

    #[test]
    fn a_second_node_with_the_same_id_replaces_the_first() {
        let ns = nodes(&[9, 9]);
        let mut ix = WireIndex::with_capacity(2);
        assert_eq!(ix.insert(&ns, 0), None);
        assert_eq!(ix.insert(&ns, 1), Some(0));
        assert_eq!(ix.insert(&ns, 1), None);
        assert_eq!(ix.get(&ns, 9), Some(1));
        assert_eq!(ix.len(), 1);
    }

    #[test]
    fn reserving_sizes_the_table_once() {
        let wires: Vec<u32> = (1..=1000).collect();
        let ns = nodes(&wires);
        let mut ix = WireIndex::default();
        ix.reserve(&ns, 1000);
        let bytes = ix.heap_bytes();
        for i in 0..1000 {
            ix.insert(&ns, i);
        }
        assert_eq!(ix.heap_bytes(), bytes);
        assert_eq!(bytes, 1251 * 4);
        ix.check(&ns);
    }
}
