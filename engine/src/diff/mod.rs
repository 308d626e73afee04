//! The diff: turns an old tree into a new one with a short list of [`Mutation`]s.
//!
//! Both trees are seen through a [`Projection`] (the rules on the capture side, the identity
//! for a mirror-shaped shadow), so the mutations only ever carry what the agent may see.
//!
//! Three phases:
//! 1. **Match** new nodes to old ones, top-down. A new node that carries a wire id known to the
//!    old tree is the same node (identity, any parent). Equal subtree fingerprints with
//!    agreeing ids are matched pairwise in one lockstep walk and never looked at again. Other
//!    children: fingerprints unique on both sides pair first; between the children that then
//!    stay in place (a longest increasing subsequence), the unmatched ones are aligned in
//!    order ([`align`]: common prefix and suffix, then one alignment that makes the most
//!    pairs of equal fingerprints and, among those, the best pairs of similar nodes), so
//!    equal or similar siblings are not paired crosswise; what is left is matched by equal
//!    fingerprint anywhere in the list, by `id` attribute, then by kind and name near a
//!    cursor. Later phases (global moves, bottom-up containers by shared children, recovery
//!    by name where the update is estimated cheaper than insert + remove) fill the gaps.
//! 2. **Global moves**: an unmatched new node whose subtree fingerprint (or `id` attribute and
//!    name) equals an unmatched old node anywhere is that node, moved.
//! 3. **Emit**, in pre-order of the new tree: for each child list, the children whose old
//!    positions form a longest increasing subsequence stay; the rest are moved or inserted
//!    right after their new previous sibling; then attribute / text / prop / flag updates;
//!    removals of unmatched old nodes last. See [`crate::diff::mutation`] for why this order is
//!    always applicable.
//!
//! Without the crate's `full-diff` feature (the customer's browser build, where the capture
//! only diffs subtrees whose nodes keep their wire ids, [`diff_subtrees`]) the matching of
//! anonymous new nodes stops after phase 1's identity, equal fingerprints (in the list and,
//! phase 2, anywhere), `id` attributes and similar nodes of the same kind and name near the
//! cursor (a text or comment: any of its kind near the cursor, as recovery would pair it): no
//! segment alignment, no pairing by the own data of a moved container, no bottom-up
//! containers, repair or recovery. A node the page recreated with the same content
//! still costs nothing; one recreated with other content, wrapped or moved and edited at once
//! may cost an insert and a removal where the full diff sends updates and moves.
//!
//! Invariants (debug-asserted): every visible node of `new` has a wire id afterwards; a
//! matched node gets its old node's id; an inserted node gets an id unknown to `old`.

pub(crate) mod align;
pub(crate) mod fingerprint;
pub(crate) mod mutation;

use smallvec::SmallVec;

use crate::diff::mutation::{Mutation, MutationSink, NodeRecord, RecordData};
use crate::dom::tree::{
    Dirty, NodeData, NodeId, NodeMap, NodeSet, Prop, Props, Tree, WireId, WireMap,
};
use crate::rules::{Projection, Rules};

/// What a diff did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiffStats {
    /// Mutations written to the sink.
    pub mutations: usize,
    /// Nodes created by inserts.
    pub inserted_nodes: usize,
    /// Subtrees skipped because their fingerprints (and ids) were equal.
    pub skipped_subtrees: usize,
    /// Work done matching: child-list entries, candidates and child fingerprints looked at.
    /// Grows with the nodes of the compared regions, never with their square (tests assert
    /// it on a 5,000-sibling list and a 500-deep nesting).
    pub compared: usize,
    /// Entries of the diff's match tables written to make them ready and to clear them
    /// afterwards ([`MatchTables`]): the nodes the diff paired or placed, plus any growth of
    /// the tables to a larger tree. A delta of one edit on a large page writes a few entries,
    /// not one per node of the page.
    pub table_entries: usize,
}

/// Annotates `tree` with `rules` and computes all fingerprints. Needed once per tree before
/// [`diff`] or [`snapshot`]; afterwards [`refresh`] keeps it current after edits.
pub fn prepare(tree: &mut Tree, rules: &Rules) {
    rules.annotate(tree);
    fingerprint::fingerprint_all(tree, &Projection::through(rules));
}

/// Brings views and fingerprints up to date after edits made through the [`Tree`] API, in
/// time proportional to the edited nodes (plus their subtrees and ancestor chains).
pub fn refresh(tree: &mut Tree, rules: &Rules) {
    if !tree.fingerprinted {
        prepare(tree, rules);
        return;
    }
    let root = tree.root();
    let mut seen = NodeSet::default();
    // When views follow ancestors only, a child list's change alone re-decides no view (the
    // subtrees it attached carry marks of their own, `Dirty::Subtree`), and a node's own edit
    // re-decides its view, and its subtree's only where they can see it (`annotate_edited`).
    let siblings_matter = !rules.views_follow_ancestors_only();
    let whole: Vec<u32> = tree
        .dirty
        .iter()
        .filter(|&&(_, why)| siblings_matter || why == Dirty::Subtree)
        .map(|&(d, _)| d)
        .collect();
    let edited: Vec<u32> = tree
        .dirty
        .iter()
        .filter(|&&(_, why)| !siblings_matter && why == Dirty::Data)
        .map(|&(d, _)| d)
        .collect();
    for d in whole {
        let id = NodeId(d);
        // A changed node (or child list) can change which rules match it and its subtree.
        if (d as usize) < tree.nodes.len() && seen.insert(d) && tree.is_inclusive_ancestor(root, id)
        {
            rules.annotate_subtree(tree, id);
        }
    }
    for d in edited {
        let id = NodeId(d);
        if (d as usize) < tree.nodes.len() && seen.insert(d) && tree.is_inclusive_ancestor(root, id)
        {
            rules.annotate_edited(tree, id);
        }
    }
    fingerprint::refresh(tree, &Projection::through(rules));
}

/// Prepares a mirror-shaped tree (its data is already projected): identity projection.
pub fn prepare_identity(tree: &mut Tree) {
    fingerprint::fingerprint_all(tree, &Projection::identity());
}

/// Refreshes a mirror-shaped tree's fingerprints after edits.
pub fn refresh_identity(tree: &mut Tree) {
    fingerprint::refresh(tree, &Projection::identity());
}

/// [`refresh_identity`] with working buffers kept by the caller (same results), so that a
/// caller refreshing after every delta allocates nothing for it.
pub(crate) fn refresh_identity_with(tree: &mut Tree, scratch: &mut fingerprint::RefreshScratch) {
    fingerprint::refresh_with(tree, &Projection::identity(), scratch);
}

/// A keyframe: the records of every node the agent sees, in pre-order. Assigns wire ids to
/// nodes that have none. `tree` must be prepared with `rules`.
pub fn snapshot(tree: &mut Tree, rules: &Rules) -> Vec<NodeRecord> {
    debug_assert!(!tree.fingerprints_stale(), "snapshot of an unprepared tree");
    let root = tree.root();
    let mut out = Vec::with_capacity(tree.len());
    build_records(
        tree,
        &Projection::through(rules),
        root,
        &|_| false,
        &|_| false,
        &mut out,
    );
    out
}

/// Full diff of two trees prepared with the same `rules`: writes the mutations that turn the
/// agent's view of `old` into the agent's view of `new`, and gives `new`'s nodes their wire
/// ids (matched nodes keep the old ids, new nodes get fresh ones). `old` must have wire ids.
pub fn diff(old: &Tree, new: &mut Tree, rules: &Rules, sink: &mut impl MutationSink) -> DiffStats {
    let p = Projection::through(rules);
    let mut d = Differ::new(old, p, new, p);
    let (o, n) = (d.old.root(), d.new.root());
    d.run(&[(o, n)], sink)
}

/// Diff against a mirror-shaped `old` (a shadow holding exactly what the agent has, e.g. a
/// [`crate::Mirror`]'s tree): `old` is seen as it is, `new` through `rules`.
pub fn diff_against_mirror(
    old: &Tree,
    new: &mut Tree,
    rules: &Rules,
    sink: &mut impl MutationSink,
) -> DiffStats {
    let mut d = Differ::new(old, Projection::identity(), new, Projection::through(rules));
    let (o, n) = (d.old.root(), d.new.root());
    d.run(&[(o, n)], sink)
}

/// Incremental diff: only the subtrees rooted at `dirty` (wire ids present in both trees) are
/// compared; everything outside them is assumed unchanged. `old` is mirror-shaped (identity
/// projection, e.g. a [`crate::Mirror`]'s tree), `new` is prepared/refreshed with `rules`, and
/// both trees share wire ids (`new` is the live tree that `old` was captured from).
/// Cost is proportional to the dirty subtrees, not to the page. Unknown ids are ignored.
pub fn diff_subtrees(
    old: &Tree,
    new: &mut Tree,
    rules: &Rules,
    dirty: &[WireId],
    sink: &mut impl MutationSink,
) -> DiffStats {
    let mut pairs = Vec::with_capacity(dirty.len());
    {
        // Both trees normally carry wire indexes (a Mirror's tree does; call
        // `Tree::ensure_wire_index` on the live tree once): then finding the roots is O(1).
        let new_index = (!new.has_wire_index()).then(|| local_index(new));
        let old_index = (!old.has_wire_index()).then(|| local_index(old));
        for &w in dirty {
            let o = match &old_index {
                Some(ix) => ix.get(&w.0).map(|&i| NodeId(i)),
                None => old.node_by_wire(w),
            };
            let n = match &new_index {
                Some(ix) => ix.get(&w.0).map(|&i| NodeId(i)),
                None => new.node_by_wire(w),
            };
            if let (Some(o), Some(n)) = (o, n) {
                pairs.push((o, n));
            }
        }
    }
    // A dirty root inside another dirty root's subtree is handled by that one.
    crate::sort::sort_stable_by_u32_key(&mut pairs, |&(_, n)| {
        u32::try_from(depth(new, n)).unwrap_or(u32::MAX)
    });
    let mut d = Differ::new(old, Projection::identity(), new, Projection::through(rules));
    d.run(&pairs, sink)
}

fn depth(t: &Tree, mut id: NodeId) -> usize {
    let mut d = 0;
    while let Some(p) = t.parent(id) {
        d += 1;
        id = p;
    }
    d
}

fn local_index(t: &Tree) -> WireMap {
    let mut m = WireMap::default();
    for id in t.descendants(t.root()) {
        let w = t.wire_id(id);
        if w.is_assigned() {
            m.insert(w.0, id.0);
        }
    }
    m
}

const NONE: u32 = 0;
const CLEAN: u8 = 1;
const PLACED: u8 = 2;
/// A new node paired by this diff's anonymous phases (it had no wire id): its pairing may be
/// revised by [`Differ::repair`]; one matched by identity never is.
const ANON: u8 = 4;
const WINDOW: usize = 16;
/// Largest segment (unmatched old times unmatched new children) aligned in order; larger ones
/// go to the cursor heuristic, so a segment costs at most 64 times its length.
const ALIGN_CELLS: usize = 64 * 64;

/// Whether the later anonymous phases are compiled in (the `full-diff` feature; see the module
/// docs). A constant, so that the phases' code leaves a build without them.
const FULL: bool = cfg!(feature = "full-diff");
/// Largest weight of a similar pair ([`Differ::pair_weight`], plus 1 in
/// [`Differ::align_segment`] for a shared child).
const SIMILAR_MAX: u32 = 13;
/// Extra weight of a keyed pair ([`SegmentKeys`]) in [`Differ::align_segment`]: more than any
/// sum of similar pairs in a segment of at most [`ALIGN_CELLS`] cells, whose shorter side has
/// at most 64 entries.
const KEYED_PAIR_WEIGHT: u32 = SIMILAR_MAX * 64 + 1;
/// Weight of a pair of equal fingerprints in [`Differ::align_segment`]: more than any sum of
/// keyed and similar pairs in a segment.
const EXACT_PAIR_WEIGHT: u32 = (KEYED_PAIR_WEIGHT + SIMILAR_MAX) * 64 + 1;
/// Unmatched children per side beyond which a by-name pair is not estimated (not worth it).
const PAIR_CHILDREN: usize = 32;
/// Free old positions with one fingerprint (ascending) and their "next free slot" forest.
type FreeSlots = (SmallVec<[usize; 2]>, SmallVec<[u32; 2]>);
/// How many candidates a common leaf looks at in the global phase.
const LEAF_SCAN: usize = 32;
/// Descendants per side compared by [`Differ::descendants_alike`].
const DESCENDANT_SCAN: usize = 256;

/// The diff's dense match tables ([`Differ`]'s `n2o`, `o2n`, `nflags`), kept from diff to diff
/// in [`MATCH_TABLES`]: a diff clears only the entries it set (its `touched_*` lists), so an
/// incremental delta costs what it touches, not an allocation and a zeroing of three arrays
/// the size of the page. Outside a diff every entry is `NONE` / 0 and both lists are empty.
#[derive(Default)]
struct MatchTables {
    n2o: Vec<u32>,
    o2n: Vec<u32>,
    nflags: Vec<u8>,
    touched_new: Vec<u32>,
    touched_old: Vec<u32>,
}

impl MatchTables {
    /// Grows the tables to cover a new tree of `new_len` and an old one of `old_len` node
    /// slots; returns the entries written.
    fn make_ready(&mut self, new_len: usize, old_len: usize) -> usize {
        debug_assert!(self.touched_new.is_empty() && self.touched_old.is_empty());
        let grow = |v: usize, len: usize| len.saturating_sub(v);
        let written = 2 * grow(self.n2o.len(), new_len) + grow(self.o2n.len(), old_len);
        if self.n2o.len() < new_len {
            self.n2o.resize(new_len, NONE);
            self.nflags.resize(new_len, 0);
        }
        if self.o2n.len() < old_len {
            self.o2n.resize(old_len, NONE);
        }
        written
    }
}

thread_local! {
    /// One set of match tables per thread (a diff runs to its end before the next begins).
    static MATCH_TABLES: std::cell::Cell<MatchTables> = std::cell::Cell::new(MatchTables::default());
}

struct Differ<'a> {
    old: &'a Tree,
    op: Projection<'a>,
    new: &'a mut Tree,
    np: Projection<'a>,
    /// new index -> old index + 1
    n2o: Vec<u32>,
    /// old index -> new index + 1
    o2n: Vec<u32>,
    nflags: Vec<u8>,
    /// New and old indexes whose entries this diff set (cleared again when it ends).
    touched_new: Vec<u32>,
    touched_old: Vec<u32>,
    old_index: Option<WireMap>,
    stats: DiffStats,
    buf: Vec<u8>,
    /// Wire ids given to `new` nodes by this diff (their id hashes need recomputing).
    assigned: usize,
    /// Whether child matching may pair nodes by kind and name alone (the last phase).
    fuzzy: bool,
    /// Child fingerprints looked at by [`Differ::similar`] (added to `stats.compared`).
    similar_work: std::cell::Cell<usize>,
    /// Whether an anonymous new child was left unmatched beside free old children while
    /// `fuzzy` was off (so the later phases have work).
    deferred: bool,
    /// How many elements of the old and of the new tree use each `id` value (by hash), built
    /// on first use ([`Differ::keys_conflict`]).
    id_counts: std::cell::OnceCell<(
        std::collections::HashMap<u64, u32>,
        std::collections::HashMap<u64, u32>,
    )>,
}

impl<'a> Differ<'a> {
    fn new(old: &'a Tree, op: Projection<'a>, new: &'a mut Tree, np: Projection<'a>) -> Self {
        debug_assert!(
            !old.fingerprints_stale() && !new.fingerprints_stale(),
            "diff of unprepared trees"
        );
        new.reserve_wire_ids_from(old.next_wire_id());
        let mut t = MATCH_TABLES.take();
        let grown = t.make_ready(new.capacity_index(), old.capacity_index());
        Differ {
            old,
            op,
            new,
            np,
            n2o: t.n2o,
            o2n: t.o2n,
            nflags: t.nflags,
            touched_new: t.touched_new,
            touched_old: t.touched_old,
            old_index: None,
            stats: DiffStats {
                table_entries: grown,
                ..DiffStats::default()
            },
            buf: Vec::new(),
            assigned: 0,
            fuzzy: false,
            similar_work: Default::default(),
            deferred: false,
            id_counts: Default::default(),
        }
    }

    fn run(&mut self, roots: &[(NodeId, NodeId)], sink: &mut impl MutationSink) -> DiffStats {
        let mut work = Vec::new();
        let mut tops = Vec::new();
        for &(o, n) in roots {
            if self.n2o[n.index()] != NONE || self.o2n[o.index()] != NONE {
                continue; // inside an earlier root's subtree
            }
            if !self.compatible(o, n) {
                continue;
            }
            self.pair(o, n);
            work.push((o, n));
            tops.push((o, n));
        }
        self.match_phase(&mut work);
        // With the later phases to come, the first global pass leaves a common leaf whose only
        // candidates could still be updated in place where they are (a tie at best) to the
        // second, when more old parents are matched.
        let later = FULL && self.deferred;
        for &(_, n) in &tops {
            self.global_moves(n, !later, &mut work);
        }
        if FULL && self.deferred {
            for &(_, n) in &tops {
                self.containers(n, &mut work);
                self.global_moves(n, true, &mut work);
            }
            for &(_, n) in &tops {
                self.repair(n, &mut work);
            }
            self.fuzzy = true;
            for &(_, n) in &tops {
                self.recover(n, &mut work);
                self.repair(n, &mut work);
            }
        }
        let mut count = Counting { inner: sink, n: 0 };
        let mut removals = Vec::new();
        for &(o, n) in &tops {
            self.update(o, n, &mut count);
            self.emit(n, &mut count, &mut removals);
        }
        for o in removals {
            count.push(Mutation::Remove {
                node: self.old.wire_id(o),
            });
        }
        self.stats.mutations = count.n;
        self.stats.compared += self.similar_work.get();
        self.stats.table_entries += self.clear_tables();
        // Ids given to new nodes change id hashes: recompute them, along the touched paths
        // when few changed, in one pass when most did (a freshly parsed new tree).
        if self.assigned > self.new.len() / 8 {
            fingerprint::rehash_ids(self.new, &self.np);
            self.new.dirty.clear();
        } else if self.assigned > 0 {
            fingerprint::refresh(self.new, &self.np);
        }
        #[cfg(debug_assertions)]
        for &(_, n) in &tops {
            let mut stack = vec![n];
            while let Some(x) = stack.pop() {
                debug_assert!(
                    self.new.wire_id(x).is_assigned(),
                    "a visible node was left without a wire id"
                );
                stack.extend(self.np.children(self.new, x));
            }
        }
        self.stats
    }

    /// Clears the table entries this diff set; returns how many entries it wrote.
    fn clear_tables(&mut self) -> usize {
        let written = 2 * self.touched_new.len() + self.touched_old.len();
        for &n in &self.touched_new {
            self.n2o[n as usize] = NONE;
            self.nflags[n as usize] = 0;
        }
        for &o in &self.touched_old {
            self.o2n[o as usize] = NONE;
        }
        self.touched_new.clear();
        self.touched_old.clear();
        written
    }

    // ----- matching ---------------------------------------------------------------------

    /// Whether child matching may pair nodes by kind and name alone (the last phase, never
    /// without `full-diff`).
    fn fuzzy_phase(&self) -> bool {
        FULL && self.fuzzy
    }

    #[inline]
    fn matched_old(&self, n: NodeId) -> Option<NodeId> {
        let v = self.n2o[n.index()];
        (v != NONE).then(|| NodeId(v - 1))
    }

    #[inline]
    fn old_is_matched(&self, o: NodeId) -> bool {
        self.o2n[o.index()] != NONE
    }

    fn pair(&mut self, o: NodeId, n: NodeId) {
        debug_assert!(self.n2o[n.index()] == NONE && self.o2n[o.index()] == NONE);
        self.n2o[n.index()] = o.0 + 1;
        self.o2n[o.index()] = n.0 + 1;
        self.touched_new.push(n.0);
        self.touched_old.push(o.0);
        let ow = self.old.wire_id(o);
        let nw = self.new.wire_id(n);
        if !nw.is_assigned() {
            self.nflags[n.index()] |= ANON;
        }
        if nw != ow {
            self.new.set_wire_id(n, ow);
            self.assigned += 1;
        }
    }

    /// Undoes [`Differ::pair`] for an anonymous new node (it is left without a wire id).
    fn unpair(&mut self, o: NodeId, n: NodeId) {
        debug_assert!(self.n2o[n.index()] == o.0 + 1 && self.o2n[o.index()] == n.0 + 1);
        debug_assert!(
            self.nflags[n.index()] & ANON != 0,
            "unpairing an identity match"
        );
        self.n2o[n.index()] = NONE;
        self.o2n[o.index()] = NONE;
        self.nflags[n.index()] &= !CLEAN;
        self.new.set_wire_id(n, WireId::UNASSIGNED);
        self.assigned += 1;
    }

    /// Same kind and name; doctypes must be equal (they cannot be updated in place).
    fn compatible(&self, o: NodeId, n: NodeId) -> bool {
        match (self.old.data(o), self.new.data(n)) {
            (NodeData::Element(a), NodeData::Element(b)) => {
                crate::dom::tree::same_name(&a.name, &b.name)
            }
            (NodeData::Doctype(_), NodeData::Doctype(_)) => self.old.data(o) == self.new.data(n),
            (a, b) => a.kind() == b.kind(),
        }
    }

    fn old_by_wire(&mut self, w: WireId) -> Option<NodeId> {
        if !w.is_assigned() {
            return None;
        }
        if self.old.has_wire_index() {
            return self.old.node_by_wire(w);
        }
        let old = self.old;
        let index = self.old_index.get_or_insert_with(|| local_index(old));
        index.get(&w.0).map(|&i| NodeId(i))
    }

    /// Lockstep check: the two subtrees have equal fingerprints; do their ids agree (or is
    /// the new side anonymous)? Returns false at the first disagreement.
    fn lockstep_ok(&self, o: NodeId, n: NodeId) -> bool {
        let (old, new) = (self.old, &*self.new);
        let mut stack = vec![(o, n)];
        while let Some((o, n)) = stack.pop() {
            let nw = new.wire_id(n);
            if nw.is_assigned() && nw != old.wire_id(o) {
                return false;
            }
            if self.n2o[n.index()] != NONE && self.n2o[n.index()] != o.0 + 1 {
                return false;
            }
            if self.o2n[o.index()] != NONE && self.o2n[o.index()] != n.0 + 1 {
                return false;
            }
            let mut oc = self.op.children(old, o);
            let mut nc = self.np.children(new, n);
            loop {
                match (oc.next(), nc.next()) {
                    (Some(a), Some(b)) => stack.push((a, b)),
                    (None, None) => break,
                    _ => return false,
                }
            }
        }
        true
    }

    fn lockstep_pair(&mut self, o: NodeId, n: NodeId) {
        let mut stack = vec![(o, n)];
        while let Some((o, n)) = stack.pop() {
            if self.n2o[n.index()] == NONE {
                self.pair(o, n);
            }
            let oc: SmallVec<[NodeId; 16]> = self.op.children(self.old, o).collect();
            let nc: SmallVec<[NodeId; 16]> = self.np.children(self.new, n).collect();
            stack.extend(oc.into_iter().zip(nc));
        }
    }

    fn match_phase(&mut self, work: &mut Vec<(NodeId, NodeId)>) {
        while let Some((o, n)) = work.pop() {
            if self.old.node(o).tree_hash == self.new.node(n).tree_hash {
                // Same content. Same nodes too? With ids on both sides the id hashes answer in
                // O(1) and the subtree is skipped without visiting it; an anonymous new side
                // adopts the old ids in one lockstep walk.
                let same_ids = self.new.wire_id(n).is_assigned()
                    && self.old.subtree_id_hash(o) == self.new.subtree_id_hash(n);
                if same_ids || self.lockstep_ok(o, n) {
                    if !same_ids {
                        self.lockstep_pair(o, n);
                    }
                    self.nflags[n.index()] |= CLEAN;
                    self.stats.skipped_subtrees += 1;
                    continue;
                }
            }
            self.match_children(o, n, work);
        }
    }

    fn match_children(&mut self, o: NodeId, n: NodeId, work: &mut Vec<(NodeId, NodeId)>) {
        let oc: Vec<NodeId> = self.op.children(self.old, o).collect();
        let nc: Vec<NodeId> = self.np.children(self.new, n).collect();
        self.stats.compared += oc.len() + nc.len();
        let mut pending: SmallVec<[usize; 16]> = SmallVec::new();
        // 1. identity
        for (i, &c) in nc.iter().enumerate() {
            if self.n2o[c.index()] != NONE {
                continue;
            }
            let w = self.new.wire_id(c);
            if let Some(oc_) = self.old_by_wire(w)
                && !self.old_is_matched(oc_)
                && self.compatible(oc_, c)
                && self.op.visible(self.old, oc_)
            {
                self.pair(oc_, c);
                work.push((oc_, c));
                continue;
            }
            if w.is_assigned() {
                // An id the old tree does not know (or cannot match): a new node.
                continue;
            }
            pending.push(i);
        }
        if pending.is_empty() {
            return;
        }
        let free_old: Vec<usize> = (0..oc.len())
            .filter(|&j| !self.old_is_matched(oc[j]))
            .collect();
        if free_old.is_empty() {
            return;
        }
        // 2. anchors: subtrees whose fingerprint is unique among both sides' unmatched children.
        let mut counts: std::collections::HashMap<u64, (u32, u32, usize, usize)> =
            std::collections::HashMap::new();
        for &j in &free_old {
            let e = counts.entry(self.old.node(oc[j]).tree_hash).or_default();
            e.0 += 1;
            e.2 = j;
        }
        for &i in &pending {
            if let Some(e) = counts.get_mut(&self.new.node(nc[i]).tree_hash) {
                e.1 += 1;
                e.3 = i;
            }
        }
        for &(co, cn, j, i) in counts.values() {
            if co == 1 && cn == 1 && self.compatible(oc[j], nc[i]) {
                self.pair(oc[j], nc[i]);
                work.push((oc[j], nc[i]));
            }
        }
        let pos_of: NodeMap<usize> = oc.iter().enumerate().map(|(j, o)| (o.0, j)).collect();
        // 3. order-preserving alignment between the children that stay in place.
        // (Without the later phases, every segment is left to the cursor heuristic.)
        let aligned = if FULL {
            self.align_segments(&oc, &nc, &pos_of, work)
        } else {
            Vec::new()
        };
        // Free old positions by fingerprint, ascending, each list with a "next free slot"
        // forest (path-halving) so that taking the first free one at or after the cursor is
        // amortized O(α) even for thousands of equal siblings.
        let mut by_hash: std::collections::HashMap<u64, FreeSlots> =
            std::collections::HashMap::new();
        for &j in &free_old {
            if !self.old_is_matched(oc[j]) {
                let e = by_hash.entry(self.old.node(oc[j]).tree_hash).or_default();
                e.1.push(e.0.len() as u32);
                e.0.push(j);
            }
        }
        // 4. in order: equal fingerprint near the cursor, equal fingerprint anywhere in this
        //    list, same `id` attribute, then (unless the alignment already weighed its
        //    segment) same kind and name near the cursor.
        let mut cursor = 0usize;
        let mut by_key: Option<std::collections::HashMap<&str, SmallVec<[usize; 1]>>> = None;
        // For each new child, the old position of the next new sibling matched in this list
        // (as of now): a by-name candidate at or beyond it is out of place, and pairing with
        // it costs a move on top of the update.
        let next_in_list: Vec<usize> = if self.fuzzy_phase() {
            let mut next = vec![oc.len(); nc.len()];
            let mut bound = oc.len();
            for i in (0..nc.len()).rev() {
                next[i] = bound;
                if let Some(p) = self.matched_old(nc[i]).and_then(|o| pos_of.get(&o.0)) {
                    bound = *p;
                }
            }
            next
        } else {
            Vec::new()
        };
        for (i, &c) in nc.iter().enumerate() {
            if let Some(o) = self.matched_old(c) {
                if let Some(&p) = pos_of.get(&o.0) {
                    cursor = p + 1;
                }
                continue;
            }
            if self.new.wire_id(c).is_assigned() {
                continue;
            }
            let h = self.new.node(c).tree_hash;
            let window = cursor..oc.len().min(cursor + WINDOW);
            // Equal fingerprint: the first free one at or after the cursor (keeps duplicates
            // in order), else the first free one before it.
            let mut found = None;
            if let Some((list, next)) = by_hash.get_mut(&h) {
                let start = list.partition_point(|&j| j < cursor);
                for from in [start, 0] {
                    let mut k = free_slot(next, from, list.len());
                    while k < list.len() && self.old_is_matched(oc[list[k]]) {
                        self.stats.compared += 1;
                        next[k] = k as u32 + 1;
                        k = free_slot(next, k, list.len());
                    }
                    if k < list.len() && self.compatible(oc[list[k]], c) {
                        found = Some(list[k]);
                        next[k] = k as u32 + 1;
                        break;
                    }
                }
            }
            let new_key = self.new.element(c).and_then(|e| e.attr("id"));
            if found.is_none()
                && let Some(k) = new_key
            {
                let keyed = by_key.get_or_insert_with(|| {
                    let mut m: std::collections::HashMap<&str, SmallVec<[usize; 1]>> =
                        std::collections::HashMap::new();
                    for &j in &free_old {
                        if let Some(k) = self.old.element(oc[j]).and_then(|e| e.attr("id")) {
                            m.entry(k).or_default().push(j);
                        }
                    }
                    m
                });
                found = keyed.get(k).and_then(|list| {
                    list.iter()
                        .copied()
                        .find(|&j| !self.old_is_matched(oc[j]) && self.compatible(oc[j], c))
                });
            }
            if found.is_none() && aligned.binary_search(&i).is_ok() {
                // Its segment was aligned already: nothing similar is left in it.
                if !self.fuzzy_phase() {
                    self.deferred = true;
                }
            } else if found.is_none() {
                // Same kind and name near the cursor. Before the last phase only a similar
                // node qualifies (equal attributes, or at least half its children's
                // fingerprints shared): a wrapper is not the node it wraps.
                let mut best = None;
                // Before the cursor, only a candidate keyed by its children: a box of a
                // repeated class that moved back past its neighbours.
                let behind = cursor.saturating_sub(WINDOW)..cursor;
                for j in behind.rev().chain(window) {
                    let cand = oc[j];
                    self.stats.compared += 1;
                    if self.old_is_matched(cand) || !self.compatible(cand, c) {
                        continue;
                    }
                    // Without the later phases this is the last chance for a text or comment:
                    // one of the same kind near the cursor qualifies, as in recovery.
                    let last_chance_leaf = !FULL && self.old.element(cand).is_none();
                    if !self.fuzzy_phase() && !last_chance_leaf && !self.similar(cand, c) {
                        continue;
                    }
                    if self.fuzzy_phase()
                        && !self.worth_pairing(cand, c, usize::from(j >= next_in_list[i]))
                    {
                        continue;
                    }
                    if self.keys_conflict(cand, c) {
                        continue;
                    }
                    // Attribute similarity among same-name siblings: children keyed by their
                    // own data first ([`Differ::children_keyed`]: repeated boxes of one class
                    // are told apart by what they hold), then equal attributes, then an
                    // equal `class`, then the nearest.
                    if self.children_keyed(cand, c) {
                        best = Some((j, 3));
                        break;
                    }
                    if j < cursor {
                        continue;
                    }
                    let score = if self.old.node(cand).self_hash == self.new.node(c).self_hash {
                        2
                    } else {
                        u8::from(
                            class_of(self.old, cand).is_some()
                                && class_of(self.old, cand) == class_of(self.new, c),
                        )
                    };
                    if best.is_none_or(|(_, s)| score > s) {
                        best = Some((j, score));
                    }
                }
                found = best.map(|(j, _)| j);
                if found.is_none() && !self.fuzzy_phase() {
                    self.deferred = true;
                }
            }
            if let Some(j) = found {
                self.pair(oc[j], c);
                work.push((oc[j], c));
                cursor = j + 1;
            }
        }
    }

    /// Step 3 of [`Differ::match_children`]: the matched children whose old positions form a
    /// longest increasing subsequence stay in place; between two consecutive ones (a
    /// segment), the unmatched old and new children are aligned in order, first by equal
    /// fingerprint, then, in the gaps left, by similarity ([`Differ::pair_weight`]). Segments
    /// larger than [`ALIGN_CELLS`] are left to the cursor heuristic. Returns the new child
    /// positions whose segment was aligned (sorted).
    fn align_segments(
        &mut self,
        oc: &[NodeId],
        nc: &[NodeId],
        pos_of: &NodeMap<usize>,
        work: &mut Vec<(NodeId, NodeId)>,
    ) -> Vec<usize> {
        let seq: Vec<Option<usize>> = nc
            .iter()
            .map(|&c| self.matched_old(c).and_then(|o| pos_of.get(&o.0).copied()))
            .collect();
        let stay = lis(&seq);
        let mut aligned = Vec::new();
        let (mut o_start, mut n_start) = (0usize, 0usize);
        for i in 0..=nc.len() {
            if i < nc.len() && !stay[i] {
                continue;
            }
            let o_end = if i == nc.len() {
                oc.len()
            } else {
                seq[i].expect("a child in place has an old position")
            };
            debug_assert!(o_end >= o_start, "segments out of order");
            let olds: SmallVec<[usize; 16]> = (o_start..o_end)
                .filter(|&j| !self.old_is_matched(oc[j]))
                .collect();
            let news: SmallVec<[usize; 16]> = (n_start..i)
                .filter(|&k| {
                    self.n2o[nc[k].index()] == NONE && !self.new.wire_id(nc[k]).is_assigned()
                })
                .collect();
            // Equal fingerprints at both ends of the segment pair off in order first (the
            // common prefix and suffix of a diff), so a long run of equal siblings with one
            // change leaves a small middle.
            let same = |d: &Self, j: usize, k: usize| {
                d.old.node(oc[j]).tree_hash == d.new.node(nc[k]).tree_hash
                    && d.compatible(oc[j], nc[k])
            };
            let mut prefix = 0;
            while prefix < olds.len().min(news.len()) && same(self, olds[prefix], news[prefix]) {
                prefix += 1;
            }
            let mut suffix = 0;
            while suffix < (olds.len() - prefix).min(news.len() - prefix)
                && same(
                    self,
                    olds[olds.len() - 1 - suffix],
                    news[news.len() - 1 - suffix],
                )
            {
                suffix += 1;
            }
            self.stats.compared += prefix + suffix;
            for (&j, &k) in olds[..prefix].iter().zip(&news[..prefix]).chain(
                olds[olds.len() - suffix..]
                    .iter()
                    .zip(&news[news.len() - suffix..]),
            ) {
                self.pair(oc[j], nc[k]);
                work.push((oc[j], nc[k]));
            }
            let (olds, news) = (
                &olds[prefix..olds.len() - suffix],
                &news[prefix..news.len() - suffix],
            );
            if !olds.is_empty() && !news.is_empty() && olds.len() * news.len() <= ALIGN_CELLS {
                self.align_segment(oc, nc, olds, news, work);
                aligned.extend_from_slice(news);
            }
            if i < nc.len() {
                o_start = o_end + 1;
                n_start = i + 1;
            }
        }
        aligned
    }

    /// Aligns one segment in one pass: the most pairs of equal fingerprints, and among the
    /// alignments with that many, the one whose similar pairs ([`Differ::pair_weight`]) weigh
    /// most. An equal pair outweighs any sum of similar pairs in a segment
    /// ([`EXACT_PAIR_WEIGHT`]), so the count of equal pairs is what a two-stage alignment
    /// gives; but which equal copies pair is no longer decided blind: with runs of equal
    /// blank texts between edited blocks (`e \n h \n m \n` against `e \n h \n m`), the
    /// earliest equal pairs can shift by one copy and leave the gaps to pair each block with
    /// its neighbour (`m` with `h`), crosswise.
    fn align_segment(
        &mut self,
        oc: &[NodeId],
        nc: &[NodeId],
        olds: &[usize],
        news: &[usize],
        work: &mut Vec<(NodeId, NodeId)>,
    ) {
        debug_assert!(
            olds.len().min(news.len()) as u32 * SIMILAR_MAX < KEYED_PAIR_WEIGHT
                && olds.len().min(news.len()) as u32 * (KEYED_PAIR_WEIGHT + SIMILAR_MAX)
                    < EXACT_PAIR_WEIGHT,
            "lighter pairs could outweigh a heavier one"
        );
        self.stats.compared += olds.len() * news.len();
        let old_nodes: SmallVec<[NodeId; 16]> = olds.iter().map(|&j| oc[j]).collect();
        let new_nodes: SmallVec<[NodeId; 16]> = news.iter().map(|&k| nc[k]).collect();
        let mut old_keys = SegmentKeys::of(self.old, &self.op, old_nodes.iter().copied());
        let mut new_keys = SegmentKeys::of(self.new, &self.np, new_nodes.iter().copied());
        SegmentKeys::add_descendants(
            &mut old_keys,
            (self.old, &self.op, &old_nodes),
            &mut new_keys,
            (self.new, &self.np, &new_nodes),
        );
        SegmentKeys::keep_distinct_children(&mut old_keys, &mut new_keys);
        self.similar_work
            .set(self.similar_work.get() + old_keys.work + new_keys.work);
        let pairs = align::align(olds.len(), news.len(), |a, b| {
            let (o, n) = (oc[olds[a]], nc[news[b]]);
            if self.old.node(o).tree_hash == self.new.node(n).tree_hash && self.compatible(o, n) {
                return EXACT_PAIR_WEIGHT;
            }
            let keyed = old_keys.keyed_with(a, &new_keys, b);
            let w = self.pair_weight(o, n, keyed);
            if w == 0 {
                0
            } else if keyed {
                KEYED_PAIR_WEIGHT + w
            } else {
                // Between pairs alike otherwise, the one sharing a child's own data that no
                // other entry of the segment holds (too few to key the pair).
                w + u32::from(old_keys.share_a_child(a, &new_keys, b))
            }
        });
        for (a, b) in pairs {
            self.pair(oc[olds[a]], nc[news[b]]);
            work.push((oc[olds[a]], nc[news[b]]));
        }
    }

    /// How good a pair of unmatched siblings of different content is, 0 when they may not be
    /// paired: same kind and name, no conflicting `id`, and before the last phase similar
    /// ([`Differ::similar`]) or `keyed` (their own data or their children's tell them apart
    /// from their siblings: [`SegmentKeys`]). Any allowed pair weighs 8 (more pairs win),
    /// plus 4 for equal own data or 2 for an equal `class` (the lowest bit is
    /// [`Differ::align_segment`]'s, for a shared child).
    fn pair_weight(&self, o: NodeId, n: NodeId, keyed: bool) -> u32 {
        if !self.compatible(o, n) {
            return 0;
        }
        if self.keys_conflict(o, n) {
            return 0;
        }
        if !self.fuzzy_phase() && !keyed && !self.similar(o, n) {
            return 0;
        }
        if self.fuzzy_phase() && !self.worth_pairing(o, n, 0) {
            return 0;
        }
        if self.old.node(o).self_hash == self.new.node(n).self_hash {
            12
        } else if class_of(self.old, o).is_some() && class_of(self.old, o) == class_of(self.new, n)
        {
            10
        } else {
            8
        }
    }

    /// Whether two elements carry different `id`s that tell them apart: the other tree uses
    /// one of the two ids at least as often as its own tree does (so every element keyed so
    /// can stay keyed, and this pair is not a rename). An id that lost uses was renamed, or
    /// belongs to a node that went: pairing costs at most a `SetAttr`, where an insert and a
    /// removal cost two. Pages do repeat ids, hence counts rather than sets. The counts of
    /// both trees are built on the first call (linear in the trees, anonymous diffs only).
    fn keys_conflict(&self, o: NodeId, n: NodeId) -> bool {
        let old_key = self.old.element(o).and_then(|e| e.attr("id"));
        let new_key = self.new.element(n).and_then(|e| e.attr("id"));
        let (Some(a), Some(b)) = (old_key, new_key) else {
            return false;
        };
        if a == b {
            return false;
        }
        let (old_ids, new_ids) = self.id_counts.get_or_init(|| {
            let ids = |t: &Tree| {
                let mut m: std::collections::HashMap<u64, u32> = Default::default();
                for x in t.descendants(t.root()) {
                    if let Some(k) = t.element(x).and_then(|e| e.attr("id")) {
                        *m.entry(key_hash(k)).or_default() += 1;
                    }
                }
                m
            };
            (ids(self.old), ids(self.new))
        });
        let uses = |m: &std::collections::HashMap<u64, u32>, k: &str| {
            m.get(&key_hash(k)).copied().unwrap_or(0)
        };
        uses(new_ids, a) >= uses(old_ids, a) || uses(old_ids, b) >= uses(new_ids, b)
    }

    /// The last phase pairs by kind and name alone; a pair is only worth it when updating the
    /// old node into the new one is estimated to cost at most two mutations, what leaving
    /// them unpaired costs (an insert and a removal; a tie pairs, keeping the old ids). The
    /// estimate: `moves` (1 when the old node is out of place among the new node's matched
    /// siblings, so the pair also costs a move), the attribute mutations ([`emit_attrs`]) plus,
    /// among the children still unmatched, the larger side after equal fingerprints pair off
    /// (each left at least an update, insert or removal). Children matched elsewhere move
    /// either way and do not count. Texts and comments always qualify (one `SetText`, with a
    /// move at most the two of an insert and a removal). Cost: the two child lists, at most
    /// [`PAIR_CHILDREN`] each.
    fn worth_pairing(&self, o: NodeId, n: NodeId, moves: usize) -> bool {
        if self.old.element(o).is_none() {
            return true;
        }
        let mut count = mutation::CountingSink { count: moves };
        if self.old.node(o).self_hash != self.new.node(n).self_hash {
            let (a, b) = (self.op.attrs(self.old, o), self.np.attrs(self.new, n));
            emit_attrs(WireId::default(), &a, &b, &mut count);
        }
        if count.count > 2 {
            return false;
        }
        let mut old_free: SmallVec<[u64; 16]> = SmallVec::new();
        for c in self.op.children(self.old, o) {
            if self.o2n[c.index()] == NONE {
                if old_free.len() == PAIR_CHILDREN {
                    return false;
                }
                old_free.push(self.old.node(c).tree_hash);
            }
        }
        let mut new_free: SmallVec<[u64; 16]> = SmallVec::new();
        for c in self.np.children(self.new, n) {
            if self.n2o[c.index()] == NONE {
                if new_free.len() == PAIR_CHILDREN {
                    return false;
                }
                new_free.push(self.new.node(c).tree_hash);
            }
        }
        self.similar_work
            .set(self.similar_work.get() + old_free.len() + new_free.len());
        crate::sort::sort_u64(&mut old_free);
        crate::sort::sort_u64(&mut new_free);
        let (mut i, mut j, mut shared) = (0, 0, 0);
        while i < old_free.len() && j < new_free.len() {
            match old_free[i].cmp(&new_free[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    shared += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        count.count + (old_free.len() - shared).max(new_free.len() - shared) <= 2
    }

    /// Whether two elements share at least half of their non-blank children's own data
    /// (dice, at most [`PAIR_CHILDREN`] children per side), as [`SegmentKeys`] keys a pair.
    /// Cost: the two child lists, bounded.
    fn children_keyed(&self, o: NodeId, n: NodeId) -> bool {
        if self.old.element(o).is_none() {
            return false;
        }
        let (a, b) = (
            child_data_bag(self.old, &self.op, o),
            child_data_bag(self.new, &self.np, n),
        );
        self.similar_work
            .set(self.similar_work.get() + a.len() + b.len());
        bags_keyed(&a, &b)
    }

    /// Whether two same-name nodes are alike enough to pair before anything else is known:
    /// equal own data (attributes, text), or children fingerprints shared for at least half
    /// of the average child count (dice >= 1/2). Cost: the two child lists.
    fn similar(&self, o: NodeId, n: NodeId) -> bool {
        if self.old.node(o).self_hash == self.new.node(n).self_hash {
            return true;
        }
        let oh: SmallVec<[u64; 16]> = self
            .op
            .children(self.old, o)
            .map(|c| self.old.node(c).tree_hash)
            .collect();
        if oh.is_empty() {
            return false;
        }
        let mut sorted = oh.clone();
        crate::sort::sort_u64(&mut sorted);
        let mut used: SmallVec<[bool; 16]> = SmallVec::from_elem(false, sorted.len());
        let (mut shared, mut total) = (0usize, 0usize);
        for c in self.np.children(self.new, n) {
            total += 1;
            let h = self.new.node(c).tree_hash;
            let mut k = sorted.partition_point(|&x| x < h);
            while k < sorted.len() && sorted[k] == h && used[k] {
                k += 1;
            }
            if k < sorted.len() && sorted[k] == h {
                used[k] = true;
                shared += 1;
            }
        }
        self.similar_work
            .set(self.similar_work.get() + total + sorted.len());
        4 * shared >= total + sorted.len() && shared > 0
    }

    /// The new nodes under `top_new` not in a skipped (clean) subtree, parents before their
    /// children (the bottom-up phases walk it backwards: children first).
    fn unclean_preorder(&self, top_new: NodeId) -> Vec<NodeId> {
        let mut order = Vec::new();
        let mut stack = vec![top_new];
        while let Some(n) = stack.pop() {
            if self.nflags[n.index()] & CLEAN != 0 {
                continue;
            }
            order.push(n);
            stack.extend(self.np.children(self.new, n));
        }
        order
    }

    /// Phase 3 (bottom-up, after the anchors): an unmatched new element whose matched
    /// children mostly came from one unmatched old element of the same name is that element
    /// (a container whose content stayed while the container itself changed). New nodes are
    /// visited children first, so a container matched here votes for its own parent.
    fn containers(&mut self, top_new: NodeId, work: &mut Vec<(NodeId, NodeId)>) {
        let order = self.unclean_preorder(top_new);
        let mut child_counts: NodeMap<u32> = Default::default();
        let mut free_child_hashes: NodeMap<Vec<u64>> = Default::default();
        for &n in order.iter().rev() {
            if self.n2o[n.index()] != NONE || self.new.element(n).is_none() {
                continue;
            }
            // Old parents of the matched children, counted by sorting (no per-vote search).
            let mut parents: SmallVec<[u32; 8]> = SmallVec::new();
            let mut children = 0u32;
            for c in self.np.children(self.new, n) {
                children += 1;
                if let Some(op) = self.matched_old(c).and_then(|oc| self.old.parent(oc)) {
                    parents.push(op.0);
                }
            }
            self.stats.compared += children as usize;
            crate::sort::sort_u32(&mut parents);
            let mut best: Option<(NodeId, u32)> = None;
            for run in parents.chunk_by(|a, b| a == b) {
                let o = NodeId(run[0]);
                let v = run.len() as u32;
                if best.is_none_or(|(_, b)| v > b)
                    && !self.old_is_matched(o)
                    && self.compatible(o, n)
                    && self.op.visible(self.old, o)
                {
                    best = Some((o, v));
                }
            }
            // Dice over direct children: shared / average child count at least one half.
            if let Some((o, v)) = best {
                let (old, op) = (self.old, self.op);
                let old_children = *child_counts
                    .entry(o.0)
                    .or_insert_with(|| op.children(old, o).count() as u32);
                // Children not matched yet (whitespace, `<br>`: leaves too common to be taken
                // from elsewhere) count when their fingerprint is among the candidate's
                // unmatched children; its list is sorted once per candidate.
                let shared = if 4 * v >= children + old_children {
                    v
                } else {
                    let free = free_child_hashes.entry(o.0).or_insert_with(|| {
                        let mut h: Vec<u64> = op
                            .children(old, o)
                            .filter(|&c| self.o2n[c.index()] == NONE)
                            .map(|c| old.node(c).tree_hash)
                            .collect();
                        crate::sort::sort_u64(&mut h);
                        h
                    });
                    let mut used: SmallVec<[usize; 16]> = SmallVec::new();
                    let mut extra = 0u32;
                    for c in self.np.children(self.new, n) {
                        if self.n2o[c.index()] != NONE {
                            continue;
                        }
                        let h = self.new.node(c).tree_hash;
                        let mut k = free.partition_point(|&x| x < h);
                        while k < free.len() && free[k] == h && used.contains(&k) {
                            k += 1;
                        }
                        if k < free.len() && free[k] == h {
                            used.push(k);
                            extra += 1;
                        }
                    }
                    self.stats.compared += children as usize;
                    v + extra
                };
                if 4 * shared >= children + old_children {
                    self.pair(o, n);
                    work.push((o, n));
                    self.match_phase(work);
                }
            }
        }
    }

    /// Bottom-up check of the anonymous pairs of elements (GumTree's container matching, run
    /// after the top-down phases): a matched new element whose matched children mostly came
    /// from another old element `p` of its name may have been paired crosswise (two similar
    /// siblings, one of them moved). It takes `p` (and the new node that held `p` takes its
    /// old node, when compatible) if the estimated cost of the two pairings
    /// ([`Differ::pairing_cost`]) drops. New nodes are visited children first, so a container
    /// re-paired here votes for its parent. Only pairs made by this diff's anonymous phases
    /// are revised, never an identity match or a skipped (clean) subtree. Cost: each new
    /// node's children plus, per candidate, child lists bounded by a multiple of them.
    fn repair(&mut self, top_new: NodeId, work: &mut Vec<(NodeId, NodeId)>) {
        let order = self.unclean_preorder(top_new);
        let old_root = self.old.root();
        for &n in order.iter().rev() {
            if n == top_new || self.new.element(n).is_none() || self.nflags[n.index()] & ANON == 0 {
                continue;
            }
            let Some(o) = self.matched_old(n) else {
                continue;
            };
            // Votes of the children by where their equal matches came from; blank texts
            // (formatting whitespace, the same everywhere) and children paired by similarity
            // only (perhaps because their parents were) do not vote.
            let mut parents: SmallVec<[u32; 8]> = SmallVec::new();
            let mut children = 0u32;
            for c in self.np.children(self.new, n) {
                self.stats.compared += 1;
                if is_blank(self.new, c) {
                    continue;
                }
                children += 1;
                if let Some(oc) = self.matched_old(c)
                    && self.old.node(oc).tree_hash == self.new.node(c).tree_hash
                    && let Some(op) = self.old.parent(oc)
                {
                    parents.push(op.0);
                }
            }
            crate::sort::sort_u32(&mut parents);
            let mut best: Option<(NodeId, u32)> = None;
            let mut current = 0u32;
            for run in parents.chunk_by(|a, b| a == b) {
                let v = run.len() as u32;
                if run[0] == o.0 {
                    current = v;
                } else if best.is_none_or(|(_, b)| v > b) {
                    best = Some((NodeId(run[0]), v));
                }
            }
            let Some((p, v)) = best else { continue };
            if v <= current
                || p == old_root
                || !self.compatible(p, n)
                || !self.op.visible(self.old, p)
            {
                continue;
            }
            // Dice over direct children at least one half; this also bounds `p`'s list.
            let limit = 4 * children as usize;
            let p_children = self
                .op
                .children(self.old, p)
                .filter(|&c| !is_blank(self.old, c))
                .take(limit + 1)
                .count();
            self.stats.compared += p_children;
            if 4 * (v as usize) < children as usize + p_children {
                continue;
            }
            let holder = (self.o2n[p.index()] != NONE).then(|| NodeId(self.o2n[p.index()] - 1));
            if let Some(h) = holder {
                let bound = 2 * (children as usize + p_children) + 16;
                if self.nflags[h.index()] & (ANON | CLEAN) != ANON
                    || h == top_new
                    || self.np.children(self.new, h).take(bound + 1).count() > bound
                {
                    continue;
                }
            }
            let swap_back = holder.filter(|&h| self.compatible(o, h));
            // An unpaired `p` under `o` is a removal that `o`'s own child list counts already
            // (an unwrap inside a container that stays: the removed wrapper is not a second
            // removal).
            let p_alone = if holder.is_none() && self.old.parent(p) == Some(o) {
                0
            } else {
                self.pairing_cost(Some(p), holder)
            };
            let before = self.pairing_cost(Some(o), Some(n)) + p_alone;
            let after = self.pairing_cost(Some(p), Some(n))
                + match (holder, swap_back) {
                    (_, Some(h)) => self.pairing_cost(Some(o), Some(h)),
                    (Some(h), None) => {
                        self.pairing_cost(None, Some(h)) + self.pairing_cost(Some(o), None)
                    }
                    (None, _) => self.pairing_cost(Some(o), None),
                };
            // Nested pairs (one new node inside the other) are left alone: the loose pairs
            // unpaired below would then include one of the two.
            if after >= before
                || holder.is_some_and(|h| {
                    self.new.is_inclusive_ancestor(h, n) || self.new.is_inclusive_ancestor(n, h)
                })
            {
                continue;
            }
            // Loose children (blank texts, pairs by similarity) follow their parents: those
            // paired between the two pairings are unpaired, with the pairs inside them, and
            // matched again under the new pairs.
            for x in [Some(n), holder].into_iter().flatten() {
                let loose: SmallVec<[(NodeId, NodeId); 8]> = self
                    .np
                    .children(self.new, x)
                    .filter_map(|c| self.matched_old(c).map(|oc| (oc, c)))
                    .filter(|&(oc, c)| {
                        self.is_loose(oc, c)
                            && self.old.parent(oc).is_some_and(|q| q == o || q == p)
                    })
                    .collect();
                for (oc, c) in loose {
                    self.unpair_subtree(oc, c);
                }
            }
            self.unpair(o, n);
            if let Some(h) = holder {
                self.unpair(p, h);
            }
            self.pair(p, n);
            self.match_children(p, n, work);
            if let Some(h) = swap_back {
                self.pair(o, h);
                self.match_children(o, h, work);
            }
            self.match_phase(work);
        }
    }

    /// Whether the pair `(o, n)` is loose for [`Differ::repair`]: made by this diff's
    /// anonymous phases, and a blank text or of different content (paired by similarity).
    fn is_loose(&self, o: NodeId, n: NodeId) -> bool {
        self.nflags[n.index()] & ANON != 0
            && (is_blank(self.new, n) || self.old.node(o).tree_hash != self.new.node(n).tree_hash)
    }

    /// Unpairs `(o, n)` and the anonymous pairs below it whose nodes are children of paired
    /// parents, top-down.
    fn unpair_subtree(&mut self, o: NodeId, n: NodeId) {
        let mut stack = vec![(o, n)];
        while let Some((o, n)) = stack.pop() {
            for c in self.np.children(self.new, n) {
                self.stats.compared += 1;
                if let Some(oc) = self.matched_old(c)
                    && self.old.parent(oc) == Some(o)
                    && self.nflags[c.index()] & ANON != 0
                {
                    stack.push((oc, c));
                }
            }
            self.unpair(o, n);
        }
    }

    /// Estimated mutations that a pairing costs in its own child lists (for
    /// [`Differ::repair`]): the attribute updates, a move for every matched child of `n`
    /// from another old parent, and for the unmatched children on both sides the larger
    /// side after equal fingerprints pair off. An unmatched old node is a removal; an
    /// unmatched new node an insert, plus a move for each of its matched children.
    fn pairing_cost(&self, o: Option<NodeId>, n: Option<NodeId>) -> usize {
        let Some(n) = n else {
            return 1;
        };
        let mut moves = 0;
        let mut new_free: SmallVec<[u64; 16]> = SmallVec::new();
        for c in self.np.children(self.new, n) {
            match self.matched_old(c) {
                Some(oc) if self.is_loose(oc, c) => new_free.push(self.new.node(c).tree_hash),
                _ if is_blank(self.new, c) => new_free.push(self.new.node(c).tree_hash),
                Some(oc) if o.is_some() && self.old.parent(oc) == o => {}
                Some(_) => moves += 1,
                None => new_free.push(self.new.node(c).tree_hash),
            }
        }
        let Some(o) = o else {
            return 1 + moves;
        };
        let mut count = mutation::CountingSink::default();
        if self.old.node(o).self_hash != self.new.node(n).self_hash {
            let (a, b) = (self.op.attrs(self.old, o), self.np.attrs(self.new, n));
            emit_attrs(WireId::default(), &a, &b, &mut count);
        }
        let mut old_free: SmallVec<[u64; 16]> = self
            .op
            .children(self.old, o)
            .filter(|&c| match self.o2n[c.index()] {
                NONE => true,
                v => is_blank(self.old, c) || self.is_loose(c, NodeId(v - 1)),
            })
            .map(|c| self.old.node(c).tree_hash)
            .collect();
        self.similar_work
            .set(self.similar_work.get() + old_free.len() + new_free.len() + moves);
        crate::sort::sort_u64(&mut old_free);
        crate::sort::sort_u64(&mut new_free);
        let shared = shared_sorted(&old_free, &new_free);
        count.count + moves + (old_free.len() - shared).max(new_free.len() - shared)
    }

    /// Phase 4 (recovery): inside every matched pair, the children still unmatched are paired
    /// by kind and name near their position, preferring equal attributes.
    fn recover(&mut self, top_new: NodeId, work: &mut Vec<(NodeId, NodeId)>) {
        let mut stack = vec![top_new];
        while let Some(n) = stack.pop() {
            if self.nflags[n.index()] & CLEAN != 0 {
                continue;
            }
            if let Some(o) = self.matched_old(n) {
                self.match_children(o, n, work);
                self.match_phase(work);
            }
            stack.extend(self.np.children(self.new, n));
        }
    }

    /// Phase 2: unmatched new nodes that are whole old subtrees (or keyed elements) moved from
    /// elsewhere. Without `take_ties`, a common leaf is not taken from where it could still
    /// be updated in place (see the scores below): a later pass may find a better copy.
    fn global_moves(&mut self, top_new: NodeId, take_ties: bool, work: &mut Vec<(NodeId, NodeId)>) {
        // Old side: unmatched visible nodes below a matched region, by fingerprint and by key.
        let Some(top_old) = self.matched_old(top_new) else {
            return;
        };
        let mut by_hash: std::collections::HashMap<u64, Vec<NodeId>> =
            std::collections::HashMap::new();
        // Keys borrowed from the old tree (not copied per unmatched element).
        let old: &'a Tree = self.old;
        let mut by_key: std::collections::HashMap<&'a str, Vec<NodeId>> =
            std::collections::HashMap::new();
        // Unmatched old elements with children by own hash, for the new ones unique by it:
        // how many, and the first.
        let mut by_self: std::collections::HashMap<u64, (u32, NodeId)> = Default::default();
        let mut any_unmatched_new = false;
        // How many unmatched new leaves carry each fingerprint: a leaf (a text, an empty
        // element) is only taken from elsewhere when it is unique on both sides; a common
        // one (whitespace, `<br>`) would otherwise be moved where inserting it costs nothing.
        let mut new_leaves: std::collections::HashMap<u64, u32> = Default::default();
        // New parents with an unmatched leaf child, by the leaf's kind ([`leaf_kind`]: a text or
        // comment, or an empty element of a name): an old leaf of that kind under their old
        // partner may still be updated in place there, so it is the last choice to take.
        let mut open_parents: std::collections::HashSet<(u32, u64)> = Default::default();
        // How many unmatched anonymous new elements with children and attributes carry each own
        // hash (name and attributes): one unique on both sides is a moved container edited
        // inside. A bare name (`<ol>`) is no key: among the unmatched, one on each side is
        // still two different lists often enough.
        let mut new_selves: std::collections::HashMap<u64, u32> = Default::default();
        {
            let mut stack = vec![top_new];
            while let Some(n) = stack.pop() {
                if self.nflags[n.index()] & CLEAN != 0 {
                    continue;
                }
                if self.n2o[n.index()] == NONE {
                    any_unmatched_new = true;
                    if FULL
                        && self.new.element(n).is_some_and(|e| !e.attrs.is_empty())
                        && !self.new.wire_id(n).is_assigned()
                        && self.np.children(self.new, n).next().is_some()
                    {
                        *new_selves.entry(self.new.node(n).self_hash).or_default() += 1;
                    }
                    if self.np.children(self.new, n).next().is_none() {
                        *new_leaves.entry(self.new.node(n).tree_hash).or_default() += 1;
                        if let Some(p) = self.new.parent(n) {
                            open_parents.insert((p.0, leaf_kind(self.new, n)));
                        }
                    }
                }
                stack.extend(self.np.children(self.new, n));
            }
        }
        if !any_unmatched_new {
            return;
        }
        let mut stack = vec![top_old];
        while let Some(o) = stack.pop() {
            let matched = self.old_is_matched(o);
            if matched && self.nflags[(self.o2n[o.index()] - 1) as usize] & CLEAN != 0 {
                continue;
            }
            if !matched {
                by_hash
                    .entry(self.old.node(o).tree_hash)
                    .or_default()
                    .push(o);
                if let Some(k) = old.element(o).and_then(|e| e.attr("id")) {
                    by_key.entry(k).or_default().push(o);
                }
                let h = self.old.node(o).self_hash;
                if self.old.element(o).is_some()
                    && new_selves.get(&h) == Some(&1)
                    && self.op.children(self.old, o).next().is_some()
                {
                    let e = by_self.entry(h).or_insert((0, o));
                    e.0 += 1;
                }
            }
            stack.extend(self.op.children(self.old, o));
        }
        if by_hash.is_empty() {
            return;
        }
        let old_counts: std::collections::HashMap<u64, usize> =
            by_hash.iter().map(|(h, l)| (*h, l.len())).collect();
        // Each new node with its nearest matched proper ancestor (as of when it was pushed:
        // its parent was visited, and perhaps matched, just before).
        let mut stack = vec![(top_new, NONE)];
        while let Some((n, above)) = stack.pop() {
            if self.nflags[n.index()] & CLEAN != 0 {
                continue;
            }
            if self.n2o[n.index()] == NONE && self.new.wire_id(n).is_assigned() {
                // Identity: a known node moved under a new (inserted) parent.
                let w = self.new.wire_id(n);
                if let Some(o) = self.old_by_wire(w)
                    && !self.old_is_matched(o)
                    && self.compatible(o, n)
                    && self.op.visible(self.old, o)
                {
                    self.pair(o, n);
                    work.push((o, n));
                    self.match_phase(work);
                }
            } else if self.n2o[n.index()] == NONE {
                let h = self.new.node(n).tree_hash;
                let mut hit = None;
                let leaf = self.np.children(self.new, n).next().is_none();
                // Ambiguity as of the start of this pass (constant time per node).
                let ambiguous_leaf = leaf
                    && (new_leaves.get(&h).copied().unwrap_or(0) > 1
                        || old_counts.get(&h).copied().unwrap_or(0) > 1);
                let parent_matched = self
                    .new
                    .parent(n)
                    .is_some_and(|p| self.n2o[p.index()] != NONE);
                if ambiguous_leaf {
                    // A common leaf is only worth taking from elsewhere when both sides would
                    // otherwise cost a mutation each: its new parent is matched (else it is
                    // part of an insert for free) and so is the old one's (else it goes away
                    // with a removal for free).
                    if parent_matched && let Some(list) = by_hash.get_mut(&h) {
                        // Taken entries leave the list for good; at most a few others are
                        // looked at per node, so thousands of equal leaves stay linear. One
                        // under this node's own (matched) parent is preferred (no move), then
                        // one whose parent's partner has no unmatched leaf left: taking a copy
                        // where a changed leaf could still be updated in place leaves a gap
                        // there that costs an insert and a removal instead of an update.
                        let new_parent = self.new.parent(n).map_or(NONE, |p| p.0 + 1);
                        let mut best: Option<(usize, u8)> = None;
                        let mut k = 0;
                        let mut scanned = 0;
                        while k < list.len() && scanned < LEAF_SCAN {
                            let o = list[k];
                            scanned += 1;
                            if self.o2n[o.index()] != NONE {
                                list.swap_remove(k);
                                continue;
                            }
                            let old_parent =
                                self.old.parent(o).map_or(NONE, |p| self.o2n[p.index()]);
                            if old_parent != NONE {
                                let score = if old_parent == new_parent {
                                    2
                                } else {
                                    u8::from(
                                        !open_parents
                                            .contains(&(old_parent - 1, leaf_kind(self.old, o))),
                                    )
                                };
                                if (score > 0 || take_ties)
                                    && best.is_none_or(|(_, b)| score > b)
                                    && self.compatible(o, n)
                                {
                                    best = Some((k, score));
                                }
                            }
                            if best.is_some_and(|(_, b)| b == 2) {
                                break;
                            }
                            k += 1;
                        }
                        self.stats.compared += scanned;
                        hit = best.map(|(k, _)| list.swap_remove(k));
                    }
                } else if let Some(list) = by_hash.get_mut(&h) {
                    // Several equal subtrees: prefer one whose old parent is this node's new
                    // parent (no move), then one whose old parent is unmatched (it may still
                    // be matched here later), over one whose parent stays elsewhere (a move
                    // for sure). A few candidates are looked at, from the end.
                    while list.last().is_some_and(|&o| self.old_is_matched(o)) {
                        list.pop();
                    }
                    let new_parent = self.new.parent(n);
                    let mut best: Option<(usize, u8)> = None;
                    let mut k = list.len();
                    let mut scanned = 0;
                    while k > 0 && scanned < LEAF_SCAN {
                        k -= 1;
                        let o = list[k];
                        scanned += 1;
                        if self.old_is_matched(o) || !self.compatible(o, n) {
                            continue;
                        }
                        // Then, for a node under an unmatched (inserted) parent, one whose
                        // old parent is its nearest matched ancestor: wrapped in place; as
                        // good, one whose unmatched old parent sits under this node's new
                        // parent: unwrapped in place (the wrapper goes).
                        let old_parent = self.old.parent(o);
                        let score = match old_parent.map(|p| self.o2n[p.index()]) {
                            Some(v) if v != NONE && new_parent.is_some_and(|np| np.0 + 1 == v) => 3,
                            Some(v) if v != NONE && v == above => 2,
                            Some(NONE)
                                if old_parent.and_then(|p| self.old.parent(p)).is_some_and(
                                    |g| {
                                        new_parent.is_some_and(|np| self.o2n[g.index()] == np.0 + 1)
                                    },
                                ) =>
                            {
                                2
                            }
                            Some(NONE) => 1,
                            _ => 0,
                        };
                        if best.is_none_or(|(_, b)| score > b) {
                            best = Some((k, score));
                            if score == 3 {
                                break;
                            }
                        }
                    }
                    self.stats.compared += scanned;
                    hit = best.map(|(k, _)| list.swap_remove(k));
                }
                if hit.is_none()
                    && let Some(k) = self.new.element(n).and_then(|e| e.attr("id"))
                    && let Some(list) = by_key.get_mut(k)
                {
                    let found = list
                        .iter()
                        .position(|&o| !self.old_is_matched(o) && self.compatible(o, n));
                    hit = found.map(|i| list.swap_remove(i));
                }
                if FULL
                    && hit.is_none()
                    && new_selves.get(&self.new.node(n).self_hash) == Some(&1)
                    && let Some(&(1, o)) = by_self.get(&self.new.node(n).self_hash)
                    && !self.old_is_matched(o)
                    && self.compatible(o, n)
                    && !self.keys_conflict(o, n)
                    && (self.descendants_alike(o, n)
                        || self.worth_pairing(o, n, usize::from(!self.same_parents(o, n))))
                {
                    hit = Some(o);
                }
                if let Some(o) = hit {
                    self.pair(o, n);
                    work.push((o, n));
                    self.match_phase(work);
                }
            }
            let kids: SmallVec<[NodeId; 16]> = self.np.children(self.new, n).collect();
            let above = match self.n2o[n.index()] {
                NONE => above,
                _ => n.0 + 1,
            };
            stack.extend(kids.into_iter().rev().map(|c| (c, above)));
        }
    }

    /// Whether `o`'s parent is paired with `n`'s (pairing them costs no move).
    fn same_parents(&self, o: NodeId, n: NodeId) -> bool {
        match (self.old.parent(o), self.new.parent(n)) {
            (Some(a), Some(b)) => self.o2n[a.index()] == b.0 + 1,
            _ => false,
        }
    }

    /// Whether the subtrees below two elements of equal own data mostly hold the same nodes
    /// (GumTree's container measure, by content rather than by earlier matches): the own
    /// hashes of their descendants, blank texts left out, shared for at least half of the
    /// average count (dice >= 1/2). A moved subtree edited inside keeps most of its nodes' own
    /// data while every fingerprint on the edited paths changes. Cost: at most
    /// [`DESCENDANT_SCAN`] descendants per side.
    fn descendants_alike(&self, o: NodeId, n: NodeId) -> bool {
        let (a, b) = (
            descendant_data_bag(self.old, &self.op, o),
            descendant_data_bag(self.new, &self.np, n),
        );
        self.similar_work
            .set(self.similar_work.get() + a.len() + b.len());
        let shared = shared_sorted(&a, &b);
        shared > 0 && 4 * shared >= a.len() + b.len()
    }

    // ----- emission ---------------------------------------------------------------------

    fn emit(&mut self, top: NodeId, sink: &mut impl MutationSink, removals: &mut Vec<NodeId>) {
        let mut stack = vec![top];
        while let Some(n) = stack.pop() {
            if self.nflags[n.index()] & CLEAN != 0 {
                continue;
            }
            self.place_children(n, sink, removals);
            let kids: SmallVec<[NodeId; 16]> = self.np.children(self.new, n).collect();
            for &c in kids.iter().rev() {
                stack.push(c);
            }
            for &c in &kids {
                if let Some(o) = self.matched_old(c)
                    && (self.nflags[c.index()] & CLEAN == 0
                        || self.old.node(o).self_hash != self.new.node(c).self_hash)
                {
                    self.update(o, c, sink);
                }
            }
        }
    }

    /// Places the children of `n` (matched or freshly inserted) in order.
    fn place_children(
        &mut self,
        n: NodeId,
        sink: &mut impl MutationSink,
        removals: &mut Vec<NodeId>,
    ) {
        let kids: Vec<NodeId> = self.np.children(self.new, n).collect();
        let parent_old = self.matched_old(n);
        // Old positions of children that stay under the same parent.
        let mut old_pos: Vec<Option<usize>> = vec![None; kids.len()];
        if let Some(po) = parent_old {
            let oc: Vec<NodeId> = self.op.children(self.old, po).collect();
            // The children paired in the same place at the start and at the end of both lists
            // need no lookup (an edit in a wide list costs its window): `lo` of them first, then
            // from `oh` (old) and `nh` (new) on. Each is paired with its counterpart alone, so
            // every other child's partner is in the window between.
            let same = |j: usize, i: usize| self.o2n[oc[j].index()] == kids[i].0 + 1;
            let mut lo = 0;
            while lo < oc.len() && lo < kids.len() && same(lo, lo) {
                old_pos[lo] = Some(lo);
                lo += 1;
            }
            let (mut oh, mut nh) = (oc.len(), kids.len());
            while oh > lo && nh > lo && same(oh - 1, nh - 1) {
                oh -= 1;
                nh -= 1;
                old_pos[nh] = Some(oh);
            }
            let window = &kids[lo..nh];
            let index_of: NodeMap<usize> = if window.len() > 16 {
                window
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.0, lo + i))
                    .collect()
            } else {
                Default::default()
            };
            let position = |m: NodeId| {
                if window.len() > 16 {
                    index_of.get(&m.0).copied()
                } else {
                    window.iter().position(|&k| k == m).map(|i| lo + i)
                }
            };
            for (j, &o) in oc.iter().enumerate().take(oh).skip(lo) {
                match self.o2n[o.index()] {
                    NONE => removals.push(o),
                    v => {
                        let m = NodeId(v - 1);
                        if self.new.parent(m) == Some(n)
                            && let Some(i) = position(m)
                        {
                            old_pos[i] = Some(j);
                        }
                    }
                }
            }
        }
        // Freshly inserted children of an inserted parent are already in place.
        for (i, &k) in kids.iter().enumerate() {
            if self.nflags[k.index()] & PLACED != 0 {
                old_pos[i] = Some(i);
            }
        }
        let stable = lis(&old_pos);
        let parent_wire = self.new.wire_id(n);
        let mut prev: Option<WireId> = None;
        for (i, &k) in kids.iter().enumerate() {
            if !stable[i] {
                if let Some(o) = self.matched_old(k) {
                    sink.push(Mutation::Move {
                        node: self.old.wire_id(o),
                        parent: parent_wire,
                        prev,
                    });
                } else {
                    let nodes = self.insert_records(k);
                    self.stats.inserted_nodes += nodes.len();
                    sink.push(Mutation::Insert {
                        parent: parent_wire,
                        prev,
                        nodes,
                    });
                }
            }
            prev = Some(self.new.wire_id(k));
        }
    }

    /// Records of the unmatched part of the subtree at `k`, assigning fresh ids; marks them
    /// placed.
    fn insert_records(&mut self, k: NodeId) -> Vec<NodeRecord> {
        // Assign ids first (a caller-given id that the old tree also uses elsewhere is replaced).
        let mut stack = vec![k];
        let mut order = Vec::new();
        while let Some(x) = stack.pop() {
            order.push(x);
            let kids: SmallVec<[NodeId; 16]> = self.np.children(self.new, x).collect();
            for &c in kids.iter().rev() {
                if self.n2o[c.index()] == NONE {
                    stack.push(c);
                }
            }
        }
        for &x in &order {
            let w = self.new.wire_id(x);
            let clash = w.is_assigned() && self.old_by_wire(w).is_some();
            if !w.is_assigned() || clash {
                let fresh = self.new.fresh_wire_id();
                self.new.set_wire_id(x, fresh);
                self.assigned += 1;
            }
            self.nflags[x.index()] |= PLACED;
            self.touched_new.push(x.0);
        }
        let n2o = &self.n2o;
        let mut out = Vec::with_capacity(order.len());
        build_records(
            self.new,
            &self.np,
            k,
            &|c: NodeId| n2o[c.index()] != NONE,
            &|_| true,
            &mut out,
        );
        out
    }

    /// Attribute, text, prop and flag updates for a matched pair.
    fn update(&mut self, o: NodeId, n: NodeId, sink: &mut impl MutationSink) {
        let (old, new) = (self.old, &*self.new);
        let (on, nn) = (old.node(o), new.node(n));
        let of = self.op.wire_flags(old, o);
        let nf = self.np.wire_flags(new, n);
        if on.self_hash == nn.self_hash && of == nf {
            return;
        }
        let wire = on.wire;
        match (&on.data, &nn.data) {
            (NodeData::Element(_), NodeData::Element(_)) => {
                let old_attrs = self.op.attrs(old, o);
                let new_attrs = self.np.attrs(new, n);
                emit_attrs(wire, &old_attrs, &new_attrs, sink);
                let (a, b) = (self.op.props(old, o), self.np.props(new, n));
                emit_props(wire, &a, &b, sink);
            }
            (NodeData::Text(_), NodeData::Text(_))
            | (NodeData::Comment(_), NodeData::Comment(_)) => {
                let a = self.op.character_data(old, o).unwrap_or_default();
                let b = self.np.character_data(new, n).unwrap_or_default();
                if a != b {
                    sink.push(Mutation::SetText {
                        node: wire,
                        text: b.into_owned(),
                    });
                }
            }
            (
                NodeData::Document {
                    viewport: a,
                    pixel_ratio: ra,
                },
                NodeData::Document {
                    viewport: b,
                    pixel_ratio: rb,
                },
            ) => {
                if a != b {
                    sink.push(Mutation::SetProp {
                        node: wire,
                        prop: Prop::Viewport(*b),
                    });
                }
                if ra != rb {
                    sink.push(Mutation::SetProp {
                        node: wire,
                        prop: Prop::PixelRatio(*rb),
                    });
                }
            }
            _ => {}
        }
        if of != nf {
            sink.push(Mutation::SetFlags {
                node: wire,
                flags: nf,
            });
        }
        let _ = &mut self.buf;
    }
}

impl Drop for Differ<'_> {
    /// Hands the tables back, cleared, for the next diff (also when a diff unwinds).
    fn drop(&mut self) {
        self.clear_tables();
        MATCH_TABLES.set(MatchTables {
            n2o: std::mem::take(&mut self.n2o),
            o2n: std::mem::take(&mut self.o2n),
            nflags: std::mem::take(&mut self.nflags),
            touched_new: std::mem::take(&mut self.touched_new),
            touched_old: std::mem::take(&mut self.touched_old),
        });
    }
}

/// The attribute mutations that turn `old` into `new`, attribute order included.
///
/// A `SetAttr` of a name the element lacks appends it (as `setAttribute` does in a browser);
/// one of a name it has changes the value in place; `RemoveAttr` closes the gap. So the
/// attributes that are never removed keep their relative order and come first: they must be
/// a prefix of `new` whose old positions increase. The longest such prefix stays (values
/// updated in place); every other attribute of `new` is appended in order, after removing it
/// first when `old` has it elsewhere; attributes only `old` has are removed last. Order costs
/// a mutation only when it really differs.
fn emit_attrs(
    wire: WireId,
    old: &[(markup5ever::QualName, String)],
    new: &[(markup5ever::QualName, String)],
    sink: &mut impl MutationSink,
) {
    use crate::dom::tree::same_name;
    let old_pos = |name: &markup5ever::QualName| old.iter().position(|(o, _)| same_name(o, name));
    let positions: SmallVec<[Option<usize>; 8]> = new.iter().map(|(n, _)| old_pos(n)).collect();
    let mut kept = 0;
    let mut last = None;
    for p in &positions {
        match (p, last) {
            (Some(p), None) => last = Some(*p),
            (Some(p), Some(l)) if *p > l => last = Some(*p),
            _ => break,
        }
        kept += 1;
    }
    let mut in_new: SmallVec<[bool; 8]> = SmallVec::from_elem(false, old.len());
    for (i, (name, value)) in new.iter().enumerate() {
        let set = |sink: &mut dyn FnMut(Mutation)| {
            sink(Mutation::SetAttr {
                node: wire,
                name: name.clone(),
                value: value.clone(),
            })
        };
        let mut push = |m: Mutation| sink.push(m);
        match positions[i] {
            Some(j) if i < kept => {
                in_new[j] = true;
                if old[j].1 != *value {
                    set(&mut push);
                }
            }
            Some(j) => {
                in_new[j] = true;
                push(Mutation::RemoveAttr {
                    node: wire,
                    name: name.clone(),
                });
                set(&mut push);
            }
            None => set(&mut push),
        }
    }
    for (j, (name, _)) in old.iter().enumerate() {
        if !in_new[j] {
            sink.push(Mutation::RemoveAttr {
                node: wire,
                name: name.clone(),
            });
        }
    }
}

fn emit_props(wire: WireId, a: &Props, b: &Props, sink: &mut impl MutationSink) {
    if a.value != b.value {
        sink.push(Mutation::SetProp {
            node: wire,
            prop: Prop::Value(b.value.clone()),
        });
    }
    if a.checked != b.checked {
        sink.push(Mutation::SetProp {
            node: wire,
            prop: Prop::Checked(b.checked),
        });
    }
    if a.selected != b.selected {
        sink.push(Mutation::SetProp {
            node: wire,
            prop: Prop::Selected(b.selected),
        });
    }
    if a.scroll != b.scroll {
        sink.push(Mutation::SetProp {
            node: wire,
            prop: Prop::Scroll(b.scroll),
        });
    }
}

struct Counting<'s, S> {
    inner: &'s mut S,
    n: usize,
}

impl<S: MutationSink> MutationSink for Counting<'_, S> {
    fn push(&mut self, m: Mutation) {
        self.n += 1;
        self.inner.push(m);
    }
}

/// Whether `x` is a text of formatting whitespace only (it tells no two parents apart).
fn is_blank(t: &Tree, x: NodeId) -> bool {
    matches!(t.data(x), NodeData::Text(s) if s.chars().all(char::is_whitespace))
}

/// What tells the unmatched children of one side of an aligned segment apart
/// ([`Differ::align_segment`]): their own data (name and attributes, `self_hash`) and the own
/// data of their non-blank children (sorted, at most [`PAIR_CHILDREN`] per entry). A pair is
/// keyed when both are elements and either carry attributes whose own data no other entry
/// of the segment carries on either side, or share at least half of their children's own
/// data (dice over the non-blank children, at least one). Repeated blocks (gallery slides,
/// boxes of them) often differ only there: their fingerprints all change with an edit
/// inside, and a shared class or shared blank texts make any two of them similar, so
/// counting similar pairs would pair each with its neighbour once one of them moved.
struct SegmentKeys {
    /// Own data of each entry, `None` for a non-element or an element without attributes.
    selves: Vec<Option<u64>>,
    /// How many entries of this side carry each own data.
    self_counts: std::collections::HashMap<u64, u32>,
    /// Own data of each entry's non-blank children, sorted; `None` for a non-element. After
    /// [`SegmentKeys::keep_distinct_children`], only the data that no other entry's children
    /// carry, on either side.
    children: Vec<Option<SmallVec<[u64; 8]>>>,
    /// Own data of each entry's non-blank descendants ([`descendant_data_bag`]), filled by
    /// [`SegmentKeys::add_descendants`] only for the entries it names (else `None`). After [`SegmentKeys::keep_distinct_children`], only the data that no
    /// other entry's descendants carry, on either side: a caption's text or an image's
    /// source that tells one slide of a gallery from the others when every slide's only
    /// child is the same frame.
    descendants: Vec<Option<SmallVec<[u64; 64]>>>,
    /// Whether each entry's descendants bag holds all its non-blank descendants (fewer than
    /// [`DESCENDANT_SCAN`]): a cut bag counts toward what is distinct but keys nothing.
    descendants_whole: Vec<bool>,
    /// Child entries looked at.
    work: usize,
}

impl SegmentKeys {
    fn of(t: &Tree, p: &Projection<'_>, entries: impl Iterator<Item = NodeId>) -> Self {
        let mut keys = SegmentKeys {
            selves: Vec::new(),
            self_counts: Default::default(),
            children: Vec::new(),
            descendants: Vec::new(),
            descendants_whole: Vec::new(),
            work: 0,
        };
        for x in entries {
            let Some(e) = t.element(x) else {
                keys.selves.push(None);
                keys.children.push(None);
                keys.descendants.push(None);
                keys.descendants_whole.push(false);
                continue;
            };
            let own = (!e.attrs.is_empty()).then(|| t.node(x).self_hash);
            if let Some(h) = own {
                *keys.self_counts.entry(h).or_default() += 1;
            }
            keys.selves.push(own);
            let kids = child_data_bag(t, p, x);
            keys.work += kids.len();
            keys.children.push(Some(kids));
            keys.descendants.push(None);
            keys.descendants_whole.push(false);
        }
        keys
    }

    /// Fills the descendants bags of the entries whose own data the alignment has a choice
    /// among (carried by both sides, by at least three entries in all); the others keep
    /// `None`, as a pair between equal own data counted once per side has no rival.
    fn add_descendants(
        a: &mut SegmentKeys,
        (ta, pa, xa): (&Tree, &Projection<'_>, &[NodeId]),
        b: &mut SegmentKeys,
        (tb, pb, xb): (&Tree, &Projection<'_>, &[NodeId]),
    ) {
        let choice = |h: &u64| {
            let (x, y) = (
                a.self_counts.get(h).copied().unwrap_or(0),
                b.self_counts.get(h).copied().unwrap_or(0),
            );
            x > 0 && y > 0 && x + y >= 3
        };
        let wanted: (SmallVec<[bool; 16]>, SmallVec<[bool; 16]>) = (
            a.selves
                .iter()
                .map(|s| s.as_ref().is_some_and(choice))
                .collect(),
            b.selves
                .iter()
                .map(|s| s.as_ref().is_some_and(choice))
                .collect(),
        );
        for (keys, t, p, xs, wanted) in [(a, ta, pa, xa, &wanted.0), (b, tb, pb, xb, &wanted.1)] {
            for (i, &x) in xs.iter().enumerate() {
                if wanted[i] {
                    let deep = descendant_data_bag(t, p, x);
                    keys.work += deep.len();
                    keys.descendants_whole[i] = deep.len() < DESCENDANT_SCAN;
                    keys.descendants[i] = Some(deep);
                }
            }
        }
    }

    /// Keeps in each entry's children bag only the own data that no other entry of the
    /// segment holds among its children, on either side: repeated blocks often repeat
    /// children too (the same script and comment in every cell), and shared by all, those
    /// would key every block with every other one. Likewise for the descendants bags.
    fn keep_distinct_children(a: &mut SegmentKeys, b: &mut SegmentKeys) {
        fn keep_distinct<A: smallvec::Array<Item = u64>>(
            a: &mut [Option<SmallVec<A>>],
            b: &mut [Option<SmallVec<A>>],
        ) {
            fn entries_holding<A: smallvec::Array<Item = u64>>(
                bags: &[Option<SmallVec<A>>],
            ) -> std::collections::HashMap<u64, u32> {
                let mut m: std::collections::HashMap<u64, u32> = Default::default();
                for bag in bags.iter().flatten() {
                    // Sorted: count each value once per entry.
                    for (i, v) in bag.iter().enumerate() {
                        if i == 0 || bag[i - 1] != *v {
                            *m.entry(*v).or_default() += 1;
                        }
                    }
                }
                m
            }
            let (in_a, in_b) = (entries_holding(a), entries_holding(b));
            let distinct = |v: &u64| {
                in_a.get(v).copied().unwrap_or(0) <= 1 && in_b.get(v).copied().unwrap_or(0) <= 1
            };
            for bag in a.iter_mut().chain(b.iter_mut()).flatten() {
                bag.retain(|v| distinct(v));
            }
        }
        keep_distinct(&mut a.children, &mut b.children);
        keep_distinct(&mut a.descendants, &mut b.descendants);
    }

    /// Whether entry `a` of this side and entry `b` of `other` are keyed (see the type).
    fn keyed_with(&self, a: usize, other: &SegmentKeys, b: usize) -> bool {
        if let (Some(x), Some(y)) = (self.selves[a], other.selves[b])
            && x == y
            && self.self_counts.get(&x) == Some(&1)
            && other.self_counts.get(&y) == Some(&1)
        {
            return true;
        }
        if let (Some(x), Some(y)) = (&self.children[a], &other.children[b])
            && bags_keyed(x, y)
        {
            return true;
        }
        // Below the children, only between entries of equal own data (a pair the
        // alignment may make anyway): which of the equal blocks pairs with which.
        if self.selves[a].is_none()
            || self.selves[a] != other.selves[b]
            || !self.descendants_whole[a]
            || !other.descendants_whole[b]
        {
            return false;
        }
        let (Some(x), Some(y)) = (&self.descendants[a], &other.descendants[b]) else {
            return false;
        };
        bags_keyed(x, y)
    }

    /// Whether entry `a` of this side and entry `b` of `other` share any of their children's
    /// own data (after [`SegmentKeys::keep_distinct_children`], data no other entry holds).
    fn share_a_child(&self, a: usize, other: &SegmentKeys, b: usize) -> bool {
        match (&self.children[a], &other.children[b]) {
            (Some(x), Some(y)) => shared_sorted(x, y) > 0,
            _ => false,
        }
    }
}

/// The own data (self hashes) of `x`'s first [`PAIR_CHILDREN`] non-blank children, sorted:
/// what [`bags_keyed`] compares.
fn child_data_bag(t: &Tree, p: &Projection<'_>, x: NodeId) -> SmallVec<[u64; 8]> {
    let mut kids: SmallVec<[u64; 8]> = p
        .children(t, x)
        .filter(|&c| !is_blank(t, c))
        .take(PAIR_CHILDREN)
        .map(|c| t.node(c).self_hash)
        .collect();
    crate::sort::sort_u64(&mut kids);
    kids
}

/// The own data (self hashes) of `top`'s non-blank descendants in pre-order, at most
/// [`DESCENDANT_SCAN`] of them, sorted: what [`Differ::descendants_alike`] and
/// [`SegmentKeys`] compare below the children.
fn descendant_data_bag(t: &Tree, p: &Projection<'_>, top: NodeId) -> SmallVec<[u64; 64]> {
    let mut out = SmallVec::new();
    let mut stack: SmallVec<[NodeId; 32]> = p.children(t, top).collect();
    stack.reverse();
    while let Some(x) = stack.pop() {
        if out.len() == DESCENDANT_SCAN {
            break;
        }
        if !is_blank(t, x) {
            out.push(t.node(x).self_hash);
        }
        let at = stack.len();
        stack.extend(p.children(t, x));
        stack[at..].reverse();
    }
    crate::sort::sort_u64(&mut out);
    out
}

/// Two elements are keyed by their children when at least half of their children's own data
/// (two [`child_data_bag`]s) is shared.
fn bags_keyed(a: &[u64], b: &[u64]) -> bool {
    let shared = shared_sorted(a, b);
    shared > 0 && 4 * shared >= a.len() + b.len()
}

/// How many values two sorted lists share (with multiplicity).
fn shared_sorted(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

/// What a leaf may be updated into in place ([`Differ::global_moves`]): any text or comment
/// (0, as one kind), or an element of the same name (by attribute updates).
fn leaf_kind(t: &Tree, x: NodeId) -> u64 {
    t.element(x).map_or(0, |e| key_hash(&e.name.local) | 1)
}

/// A hash of an `id` value for [`Differ::keys_conflict`]'s counts (a collision only keeps two
/// elements apart, never pairs them).
fn key_hash(k: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(k.as_bytes())
}

fn class_of(t: &Tree, x: NodeId) -> Option<&str> {
    t.element(x).and_then(|e| e.attr("class"))
}

/// The first slot at or after `k` not yet taken in a "next free" forest (`next[k] == k` when
/// slot `k` is free, else a later slot to look at), with path halving; `len` when none.
fn free_slot(next: &mut [u32], mut k: usize, len: usize) -> usize {
    while k < len && next[k] as usize != k {
        let n = next[k] as usize;
        if n < len && next[n] as usize != n {
            next[k] = next[n];
        }
        k = n;
    }
    k
}

/// Marks the entries forming a longest strictly increasing subsequence of the `Some` values
/// (O(n log n), patience sorting).
fn lis(seq: &[Option<usize>]) -> Vec<bool> {
    // Fast path, by far the common case: the kept children are still in order.
    let mut last = None;
    if seq.iter().flatten().all(|&v| {
        let ok = last.is_none_or(|l| l < v);
        last = Some(v);
        ok
    }) {
        return seq.iter().map(Option::is_some).collect();
    }
    let mut tails: Vec<usize> = Vec::new(); // indices into seq
    let mut parent: Vec<usize> = vec![usize::MAX; seq.len()];
    for (i, v) in seq.iter().enumerate() {
        let Some(v) = *v else { continue };
        let pos = tails.partition_point(|&t| seq[t].unwrap() < v);
        if pos > 0 {
            parent[i] = tails[pos - 1];
        }
        if pos == tails.len() {
            tails.push(i);
        } else {
            tails[pos] = i;
        }
    }
    let mut out = vec![false; seq.len()];
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        out[i] = true;
        cur = (parent[i] != usize::MAX).then(|| parent[i]);
    }
    out
}

/// The records of a mirror-shaped tree (identity projection), in pre-order: a keyframe of what
/// a [`crate::Mirror`] holds.
pub(crate) fn mirror_records(tree: &Tree) -> Vec<NodeRecord> {
    let mut out = Vec::with_capacity(tree.len());
    build_records(
        tree,
        &Projection::identity(),
        tree.root(),
        &|_| false,
        &|_| false,
        &mut out,
    );
    out
}

/// Pre-order records of the visible subtree at `top`, skipping (with their subtrees) the
/// children for which `skip` holds. `_assign` is reserved for callers that assign ids lazily.
fn build_records(
    tree: &Tree,
    proj: &Projection<'_>,
    top: NodeId,
    skip: &dyn Fn(NodeId) -> bool,
    _assign: &dyn Fn(NodeId) -> bool,
    out: &mut Vec<NodeRecord>,
) {
    let mut stack = vec![top];
    while let Some(id) = stack.pop() {
        let kids: SmallVec<[NodeId; 16]> = proj.children(tree, id).filter(|&c| !skip(c)).collect();
        out.push(record_of(tree, proj, id, kids.len() as u32));
        stack.extend(kids.into_iter().rev());
    }
}

pub(crate) fn record_of(
    tree: &Tree,
    proj: &Projection<'_>,
    id: NodeId,
    children: u32,
) -> NodeRecord {
    let data = match tree.data(id) {
        NodeData::Document {
            viewport,
            pixel_ratio,
        } => RecordData::Document {
            viewport: *viewport,
            pixel_ratio: *pixel_ratio,
        },
        NodeData::Fragment => RecordData::Fragment,
        NodeData::Doctype(d) => RecordData::Doctype {
            name: d.name.clone(),
            public_id: d.public_id.clone(),
            system_id: d.system_id.clone(),
        },
        NodeData::Element(e) => RecordData::Element {
            name: proj.element_name(tree, id).unwrap_or(&e.name).clone(),
            attrs: proj.attrs(tree, id),
            props: proj.props(tree, id),
        },
        NodeData::Text(_) => RecordData::Text(
            proj.character_data(tree, id)
                .unwrap_or_default()
                .into_owned(),
        ),
        NodeData::Comment(_) => RecordData::Comment(
            proj.character_data(tree, id)
                .unwrap_or_default()
                .into_owned(),
        ),
    };
    NodeRecord {
        wire: tree.wire_id(id),
        children,
        flags: proj.wire_flags(tree, id),
        data,
    }
}

/// Assigns wire ids to every visible node lacking one (snapshot of a fresh tree).
pub fn assign_ids(tree: &mut Tree, rules: &Rules) {
    let proj = Projection::through(rules);
    let was_fresh = !tree.fingerprints_stale();
    let order: Vec<NodeId> = {
        let mut v = Vec::with_capacity(tree.len());
        let mut stack = vec![tree.root()];
        while let Some(id) = stack.pop() {
            v.push(id);
            let kids: SmallVec<[NodeId; 16]> = proj.children(tree, id).collect();
            stack.extend(kids.into_iter().rev());
        }
        v
    };
    for id in order {
        if !tree.wire_id(id).is_assigned() {
            let w = tree.fresh_wire_id();
            tree.set_wire_id(id, w);
        }
    }
    if was_fresh {
        // Only ids changed: recompute the id hashes in one pass instead of a dirty walk.
        fingerprint::rehash_ids(tree, &proj);
        tree.dirty.clear();
    }
    tree.ensure_wire_index();
}

#[cfg(all(test, feature = "html"))]
mod anonymous_tests {
    //! Exact edit lists for the matcher's key cases on two independently parsed documents.
    use super::*;
    use crate::dom::parse::parse_document_str;

    /// Diffs two parsed documents (no identity) and renders the mutations with the old
    /// nodes' HTML (new nodes as `new <tag>`), checking that the replay equals `to`.
    fn anon(from: &str, to: &str) -> (Vec<String>, DiffStats) {
        let rules = Rules::transparent();
        let mut old = parse_document_str(from);
        prepare(&mut old, &rules);
        assign_ids(&mut old, &rules);
        let mut new = parse_document_str(to);
        prepare(&mut new, &rules);
        let mut muts = Vec::new();
        let stats = diff(&old, &mut new, &rules, &mut muts);
        let name = |w: WireId| match old.node_by_wire(w) {
            Some(n) => crate::dom::serialize::subtree_to_html(&old, n),
            None => {
                let n = new
                    .node_by_wire(w)
                    .or_else(|| new.descendants(new.root()).find(|&x| new.wire_id(x) == w));
                match n.and_then(|n| new.element(n)) {
                    Some(e) => format!("new <{}>", e.name.local),
                    None => "new node".into(),
                }
            }
        };
        let out = muts
            .iter()
            .map(|m| match m {
                Mutation::Insert {
                    parent,
                    prev,
                    nodes,
                } => format!(
                    "insert {} node(s) under {} after {}",
                    nodes.len(),
                    name(*parent),
                    prev.map_or("nothing".into(), name)
                ),
                Mutation::Move { node, parent, prev } => format!(
                    "move {} under {} after {}",
                    name(*node),
                    name(*parent),
                    prev.map_or("nothing".into(), name)
                ),
                Mutation::Remove { node } => format!("remove {}", name(*node)),
                Mutation::SetText { node, text } => format!("text {} = {text}", name(*node)),
                Mutation::SetAttr {
                    node,
                    name: a,
                    value,
                } => {
                    format!("set {} {}={value}", name(*node), a.local)
                }
                Mutation::RemoveAttr { node, name: a } => {
                    format!("remove {} {}", name(*node), a.local)
                }
                m => format!("{m:?}"),
            })
            .collect();
        (out, stats)
    }

    #[test]
    fn wrap_is_an_insert_and_a_move() {
        let (m, _) = anon(
            "<div id=r><p>a</p><p>b</p></div>",
            "<div id=r><p>a</p><section class=wrap><p>b</p></section></div>",
        );
        assert_eq!(
            m,
            [
                r#"insert 1 node(s) under <div id="r"><p>a</p><p>b</p></div> after <p>a</p>"#,
                "move <p>b</p> under new <section> after nothing",
            ]
        );
    }

    #[test]
    fn a_wrapper_of_the_same_name_is_not_the_wrapped_node() {
        let (m, _) = anon(
            "<div id=r><p>a</p><div class=x><b>b</b></div></div>",
            "<div id=r><p>a</p><div class=wrap><div class=x><b>b</b></div></div></div>",
        );
        assert_eq!(
            m,
            [
                r#"insert 1 node(s) under <div id="r"><p>a</p><div class="x"><b>b</b></div></div> after <p>a</p>"#,
                r#"move <div class="x"><b>b</b></div> under new <div> after nothing"#,
            ]
        );
    }

    #[test]
    fn unwrap_with_two_children_costs_three() {
        let (m, _) = anon(
            "<div id=r><p>a</p><section><b>x</b><i>y</i></section></div>",
            "<div id=r><p>a</p><b>x</b><i>y</i></div>",
        );
        let r = r#"<div id="r"><p>a</p><section><b>x</b><i>y</i></section></div>"#;
        assert_eq!(
            m,
            [
                format!("move <b>x</b> under {r} after <p>a</p>"),
                format!("move <i>y</i> under {r} after <b>x</b>"),
                "remove <section><b>x</b><i>y</i></section>".into(),
            ]
        );
    }

    /// An unwrap inside a container that stays (`sw` keeps its class and its place; the
    /// wrapper `pw` inside it goes): one move and one removal. The bottom-up repair sees the
    /// moved child vote for the wrapper and must not count the wrapper's removal twice (once
    /// in `sw`'s child list, once on its own). Red without that in [`Differ::repair`]: the
    /// wrapper taken as the container (a class change, its move and the removal of the old
    /// container, 3).
    #[test]
    fn an_unwrap_inside_a_container_that_stays_removes_the_wrapper() {
        let (m, _) = anon(
            r#"<div id=r><p>x</p><div class="cw"><div class="sw"><div class="pw sc"><div class="fb" data-h="u"></div></div></div></div><div class=rib></div></div>"#,
            r#"<div id=r><p>x</p><div class="cw"><div class="sw"><div class="fb" data-h="u"></div></div></div><div class=rib></div></div>"#,
        );
        let fb = r#"<div class="fb" data-h="u"></div>"#;
        let pw = format!(r#"<div class="pw sc">{fb}</div>"#);
        assert_eq!(
            m,
            [
                format!(r#"move {fb} under <div class="sw">{pw}</div> after nothing"#),
                format!("remove {pw}"),
            ]
        );
    }

    /// Two equal subtrees whose old parents both leave the matched region before the global
    /// phase: one copy's wrapper was unwrapped in place (`w` goes, its children move up into
    /// `section.a`), the other's section was renamed (`x` moves whole under the new `nav`).
    /// The copy under `section.a` takes the one whose removed parent sat under `section.a`'s
    /// old partner, so `x` keeps its child and moves unchanged (6 mutations, as the edits).
    /// Red without the unwrapped-in-place choice in [`Differ::global_moves`]: the earlier copy
    /// in new order took `x`'s child, and the other moved into `x` (7).
    #[test]
    fn an_unwrapped_copy_is_taken_from_under_its_removed_wrapper() {
        let (m, _) = anon(
            "<div id=r><section class=b><div class=x><p class=t>T</p><b>2</b></div></section><section class=a><div class=w><p class=t>T</p><i>1</i></div></section></div>",
            "<div id=r><section class=a><p class=t>T</p><i>1</i></section><nav class=b><div class=x><p class=t>T</p><b>2</b></div></nav></div>",
        );
        let x = r#"<div class="x"><p class="t">T</p><b>2</b></div>"#;
        let w = r#"<div class="w"><p class="t">T</p><i>1</i></div>"#;
        let (b, a) = (
            format!(r#"<section class="b">{x}</section>"#),
            format!(r#"<section class="a">{w}</section>"#),
        );
        assert_eq!(
            m,
            [
                format!(r#"insert 1 node(s) under <div id="r">{b}{a}</div> after {a}"#),
                format!(r#"move <p class="t">T</p> under {a} after nothing"#),
                format!(r#"move <i>1</i> under {a} after <p class="t">T</p>"#),
                format!("move {x} under new <nav> after nothing"),
                format!("remove {b}"),
                format!("remove {w}"),
            ]
        );
    }

    /// A subtree moved to another parent while its deepest content moved out of it: no
    /// fingerprint inside it is left unchanged (its bottom element lost its child), and no
    /// sibling list holds a free candidate, so neither the top-down phases nor the bottom-up
    /// votes reach it. Its root's own data (name and attributes) is unique on both sides, so
    /// it is the old subtree, moved (2 moves, as the edits). Red without that pairing in
    /// [`Differ::global_moves`]: the move of `<i>`, an insert of the new subtree and a removal
    /// of the old one (3).
    #[test]
    #[cfg(feature = "full-diff")]
    fn a_moved_subtree_whose_content_moved_out_is_moved_not_reinserted() {
        let (m, _) = anon(
            "<div id=r><section class=a><div class=x><div class=y><i>big</i></div></div></section><section class=b><p>z</p></section></div>",
            "<div id=r><section class=a><i>big</i></section><section class=b><p>z</p><div class=x><div class=y></div></div></section></div>",
        );
        assert_eq!(
            m,
            [
                r#"move <i>big</i> under <section class="a"><div class="x"><div class="y"><i>big</i></div></div></section> after nothing"#,
                r#"move <div class="x"><div class="y"><i>big</i></div></div> under <section class="b"><p>z</p></section> after <p>z</p>"#,
            ]
        );
    }

    /// A wrap elsewhere and an unwrap of an element of the same name: the last phase must not
    /// pair the unwrapped element with the wrapper when it sits out of place (beyond the next
    /// matched sibling), since that pair also costs a move: 2 attribute updates, the move of
    /// the pair and the three child moves (6) instead of the wrap and the unwrap (5).
    #[test]
    fn an_unwrapped_element_out_of_place_is_not_the_new_wrapper() {
        let (m, _) = anon(
            "<div id=r><i>i</i><table id=t><tr><td>c</td></tr></table><b>b</b><div id=h><h1>one</h1><h3>three</h3></div></div>",
            "<div id=r><i>i</i><div class=wrap><table id=t><tr><td>c</td></tr></table></div><b>b</b><h1>one</h1><h3>three</h3></div>",
        );
        let t = r#"<table id="t"><tbody><tr><td>c</td></tr></tbody></table>"#;
        let h = r#"<div id="h"><h1>one</h1><h3>three</h3></div>"#;
        let r = format!(r#"<div id="r"><i>i</i>{t}<b>b</b>{h}</div>"#);
        assert_eq!(
            m,
            [
                format!("insert 1 node(s) under {r} after <i>i</i>"),
                format!("move <h1>one</h1> under {r} after <b>b</b>"),
                format!("move <h3>three</h3> under {r} after <h1>one</h1>"),
                format!("move {t} under new <div> after nothing"),
                format!("remove {h}"),
            ]
        );
    }

    /// Two old copies of a common empty `span`: one in `p.k`, which the edit wrapped and
    /// whose span moved to `p#w`, one in `p#n`, which stays and only gains a `title`. The
    /// global pass must take the span from `p.k` (a move) and leave `p#n`'s to be updated in
    /// place (a `SetAttr`). When the first global pass runs, `p.k` is not matched yet (the
    /// bottom-up containers pair it later), so `p#n`'s span is the only candidate there; it
    /// can still be updated in place (its parent's partner has an unmatched empty `span`),
    /// which makes it a tie at best, left to the second pass. Red (5 mutations: `p#n`'s span
    /// moved, a new span inserted there, `p.k`'s removed) with [`leaf_kind`] counting only
    /// texts and comments as open, and also with `take_ties` always true.
    #[test]
    #[cfg(feature = "full-diff")]
    fn a_common_empty_element_is_not_taken_from_where_it_gains_an_attribute() {
        let (m, _) = anon(
            "<div id=r><p id=n><span></span><i>two</i></p><p id=w><em>three</em></p>\
             <p class=k><span></span><b>one</b></p></div>",
            "<div id=r><p id=n><span title=t></span><i>two</i></p>\
             <p id=w><em>three</em><span></span></p><section><p class=k><b>one</b></p></section></div>",
        );
        let r = "<div id=\"r\"><p id=\"n\"><span></span><i>two</i></p><p id=\"w\"><em>three</em></p>\
                 <p class=\"k\"><span></span><b>one</b></p></div>";
        assert_eq!(
            m,
            [
                format!("insert 1 node(s) under {r} after <p id=\"w\"><em>three</em></p>"),
                "set <span></span> title=t".into(),
                "move <span></span> under <p id=\"w\"><em>three</em></p> after <em>three</em>"
                    .into(),
                "move <p class=\"k\"><span></span><b>one</b></p> under new <section> after nothing"
                    .into(),
            ]
        );
    }

    /// A blank text moved to another parent while an equal one elsewhere had text added: the
    /// global phase takes the copy whose parent has no changed text left to update in place
    /// (one move and one `SetText`), not the one that the `SetText` needs (a move, an insert
    /// of the changed text and a removal).
    #[test]
    fn a_moved_blank_text_is_not_taken_from_where_a_text_changed() {
        let (m, _) = anon(
            "<div id=r><p id=a>x<b>1</b>\n</p><p id=b>y<i>2</i>\n</p><p id=c><u>z</u></p></div>",
            "<div id=r><p id=a>x<b>1</b></p><p id=b>y<i>2</i>\nNEW</p><p id=c><u>z</u>\n</p></div>",
        );
        assert_eq!(
            m,
            [
                "text \n = \nNEW",
                "move \n under <p id=\"c\"><u>z</u></p> after <u>z</u>",
            ]
        );
    }

    /// Two equal tables under different parents; one is wrapped in a new element, the other
    /// edited inside, and its box unwrapped (so the box is matched late, by the global phase,
    /// after the wrapped copy was). The wrapped copy (its new parent is unmatched) is taken
    /// from the old parent matched to its nearest matched ancestor, not from the parent of the
    /// edited copy: one move and one attribute for the two tables, not two moves.
    #[test]
    fn a_wrapped_copy_is_taken_from_under_its_wrapper() {
        let t = "<table><tbody><tr><td>t</td></tr></tbody></table>";
        let edited = t.replace("<tr>", r#"<tr class="on">"#);
        let wrapped = format!("<section>{t}</section>");
        let box_ = |k: &str, inner: &str| format!("<div id={k}><p>{k}</p>{inner}</div>");
        let outer = |b: String| format!("<div class=m>{b}</div>");
        let (a, b) = (box_("a", t), box_("b", t));
        for (from, to) in [
            (
                format!("{a}{}", outer(b.clone())),
                format!("{}{}", box_("a", &wrapped), box_("b", &edited)),
            ),
            (
                format!("{}{a}", outer(b.clone())),
                format!("{}{}", box_("b", &edited), box_("a", &wrapped)),
            ),
        ] {
            let (m, _) = anon(&from, &to);
            let a_box = format!(r#"<div id="a"><p>a</p>{t}</div>"#);
            let b_box = format!(r#"<div id="b"><p>b</p>{t}</div>"#);
            let a_first = from.starts_with("<div id");
            let body = if a_first {
                format!(r#"<body>{a_box}<div class="m">{b_box}</div></body>"#)
            } else {
                format!(r#"<body><div class="m">{b_box}</div>{a_box}</body>"#)
            };
            let b_edited = vec!["set <tr><td>t</td></tr> class=on".to_string()];
            let a_wrapped = vec![
                format!("insert 1 node(s) under {a_box} after <p>a</p>"),
                format!("move {t} under new <section> after nothing"),
            ];
            // The body's list first, then the boxes in the new tree's order; removals last.
            let mut want = vec![format!(
                "move {b_box} under {body} after {}",
                if a_first { a_box.as_str() } else { "nothing" }
            )];
            if a_first {
                want.extend(a_wrapped.into_iter().chain(b_edited));
            } else {
                want.extend(b_edited.into_iter().chain(a_wrapped));
            }
            want.push(format!(r#"remove <div class="m">{b_box}</div>"#));
            assert_eq!(m, want, "{from}");
        }
    }

    /// Two labels alike in their own data (none) and in their similarity to the new one;
    /// the new one shares a child (the text ` Pro`) with only one of them: that one is its
    /// partner, while the other moved away with its text (one move and one removal for it,
    /// not a pairing that moves ` Pro` in and sets two attributes).
    #[test]
    #[cfg(feature = "full-diff")]
    fn among_equally_similar_siblings_the_one_sharing_a_child_pairs() {
        let free = r#"<label><input value="free"> Free</label>"#;
        let pro = r#"<label><input value="pro" checked=""> Pro</label>"#;
        let (m, _) = anon(
            &format!("<div id=r>{free}{pro}</div><div id=s><p>s</p></div>"),
            r#"<div id=r><label><b>ok</b><input value="pro" checked="v"> Pro</label></div><div id=s><p>s</p><label> Free</label></div>"#,
        );
        assert_eq!(
            m,
            [
                r#"insert 2 node(s) under <label><input value="pro" checked=""> Pro</label> after nothing"#.to_string(),
                r#"set <input value="pro" checked=""> checked=v"#.to_string(),
                format!(r#"move {free} under <div id="s"><p>s</p></div> after <p>s</p>"#),
                r#"remove <input value="free">"#.to_string(),
            ]
        );
    }

    #[test]
    fn swapped_siblings_cost_one_move() {
        let (m, _) = anon(
            "<ul><li>one</li><li>two</li><li>three</li></ul>",
            "<ul><li>two</li><li>one</li><li>three</li></ul>",
        );
        assert_eq!(
            m,
            [
                "move <li>two</li> under <ul><li>one</li><li>two</li><li>three</li></ul> after nothing"
            ]
        );
    }

    #[test]
    fn a_moved_keyed_element_is_moved_and_updated() {
        let (m, _) = anon(
            "<div id=a><p id=k>x</p><p>y</p></div><div id=b><p>z</p></div>",
            "<div id=a><p>y</p></div><div id=b><p>z</p><p id=k>x!</p></div>",
        );
        assert_eq!(
            m,
            [
                r#"move <p id="k">x</p> under <div id="b"><p>z</p></div> after <p>z</p>"#,
                "text x = x!",
            ]
        );
    }

    /// Equal siblings in a row, one of them emptied: the alignment keeps them in order (the
    /// emptied `<p>` equals the later empty one, which a match by fingerprint anywhere
    /// would pair crosswise, costing moves the edit never made).
    #[test]
    #[cfg(feature = "full-diff")]
    fn equal_siblings_are_paired_in_order_not_crosswise() {
        let (m, _) = anon(
            "<div id=r> <p>a</p> <p>a</p><p></p><b>x</b></div>",
            "<div id=r> <p></p> <p>a</p><p></p><b>x</b></div>",
        );
        assert_eq!(m, ["remove a"]);
        // The same inside changed neighbours (no common prefix or suffix to trim): the
        // weighted alignment pairs them in order.
        let (mut m, _) = anon(
            "<div id=r><p>c</p> <p>a</p> <p>a</p><p></p><p>d</p></div>",
            "<div id=r><p>C</p> <p></p> <p>a</p><p></p><p>D</p></div>",
        );
        m.sort();
        assert_eq!(m, ["remove a", "text c = C", "text d = D"]);
    }

    /// A changed `id` (the old one used nowhere in the new page, the new one nowhere in the
    /// old) is an attribute update of the same element, not an insert and a removal; an `id`
    /// that the other page still uses keeps two elements apart.
    #[test]
    #[cfg(feature = "full-diff")]
    fn a_renamed_id_is_one_set_attr() {
        let (m, _) = anon(
            "<div id=r><p>a</p> <span id=m0></span> <span id=m1></span> <p>b</p></div>",
            "<div id=r><p>a</p> <span id=v1></span> <span id=m1></span> <p>b</p></div>",
        );
        assert_eq!(m, [r#"set <span id="m0"></span> id=v1"#]);
        // A page that repeats an id and renames one of its uses.
        let (m, _) = anon(
            "<div id=r><p>a</p> <span id=m0></span> <p>b</p> <span id=m0></span></div>",
            "<div id=r><p>a</p> <span id=m0></span> <p>b</p> <span id=v1></span></div>",
        );
        assert_eq!(m, [r#"set <span id="m0"></span> id=v1"#]);
        let (m, _) = anon(
            "<div id=r><p>a</p><span id=m0></span><p>b</p></div><i id=v1></i>",
            "<div id=r><p>a</p><span id=v1></span><p>b</p></div><i id=m0></i>",
        );
        // Swapped between two elements: each id is still in use on the other side.
        let (r, i) = (
            r#"<div id="r"><p>a</p><span id="m0"></span><p>b</p></div>"#,
            r#"<i id="v1"></i>"#,
        );
        assert_eq!(
            m,
            [
                format!("insert 1 node(s) under <body>{r}{i}</body> after {r}"),
                format!("insert 1 node(s) under {r} after <p>a</p>"),
                format!("remove {i}"),
                r#"remove <span id="m0"></span>"#.to_string(),
            ]
        );
    }

    /// Two similar list items swapped and edited inside (from, to); with and without the later
    /// phases in the two tests below.
    const SWAPPED_ITEMS: (&str, &str) = (
        "<ul id=m>\n<li class=a>\n<a href=/x>X</a> <span>tail a</span>\n</li>\n<li class=b>\n<a href=/y>Y</a> <span>tail b</span>\n</li>\n</ul>",
        "<ul id=m>\n<li class=b>\n<a href=/y>Y</a> <span>tail b2</span>\n</li>\n<li class=a>\n<a href=/x>X</a> <span>tail a2</span>\n</li>\n</ul>",
    );
    /// The two items of [`SWAPPED_ITEMS`]'s `from` as the edit lists print them.
    const SWAPPED_ITEMS_AS_SERIALIZED: (&str, &str) = (
        "<li class=\"a\">\n<a href=\"/x\">X</a> <span>tail a</span>\n</li>",
        "<li class=\"b\">\n<a href=\"/y\">Y</a> <span>tail b</span>\n</li>",
    );

    /// Two similar list items swapped and edited inside: the top-down alignment pairs them in
    /// order, i.e. crosswise (their formatting whitespace makes them "similar"); the bottom-up
    /// check ([`Differ::repair`]) sees that each one's distinctive child came from the other
    /// and re-pairs them: one move and the two text edits, instead of two class updates and
    /// the links moved across.
    #[test]
    #[cfg(feature = "full-diff")]
    fn similar_containers_swapped_are_re_paired_bottom_up() {
        let (m, _) = anon(SWAPPED_ITEMS.0, SWAPPED_ITEMS.1);
        let (a, b) = SWAPPED_ITEMS_AS_SERIALIZED;
        let ul = format!("<ul id=\"m\">\n{a}\n{b}\n</ul>");
        // The item and one of the newlines around it move (the least a swap of two items
        // separated by whitespace takes); crosswise it was 2 class updates, 2 moves of the
        // links and 2 text updates.
        assert_eq!(
            m,
            [
                format!("move {b} under {ul} after \n"),
                format!("move \n under {ul} after {b}"),
                "text tail b = tail b2".into(),
                "text tail a = tail a2".into(),
            ]
        );
    }

    /// A slide told apart by its own data (`title`).
    fn slide(key: &str, text: &str) -> String {
        format!("<p title={key}>{text}</p>")
    }

    /// A box of the one class every box has.
    fn boxed(a: &str, b: &str) -> String {
        boxed_after("", a, b)
    }

    /// A box of the one class every box has, whose two slides follow `head`.
    fn boxed_after(head: &str, a: &str, b: &str) -> String {
        format!("<div class=box>{head}{a}{b}</div>")
    }

    /// A heading, then three boxes of two slides each (a-b, c-d, e-f).
    fn three_boxes_after_a_heading() -> String {
        three_boxes_after_a_heading_with("")
    }

    /// [`three_boxes_after_a_heading`] with `head` before the slides of every box.
    fn three_boxes_after_a_heading_with(head: &str) -> String {
        format!(
            "<div id=r><h3>T</h3>{}{}{}</div>",
            boxed_after(head, &slide("a", "A"), &slide("b", "B")),
            boxed_after(head, &slide("c", "C"), &slide("d", "D")),
            boxed_after(head, &slide("e", "E"), &slide("f", "F")),
        )
    }

    /// The boxes of [`three_boxes_after_a_heading_with`] after the edits: the first box goes
    /// before the heading and gains a slide (g), the others have both slides' texts edited.
    fn first_box_moved_the_rest_edited_inside(head: &str) -> String {
        format!(
            "<div id=r>{}<h3>T</h3>{}{}</div>",
            boxed_after(
                head,
                &slide("a", "A"),
                &format!("{}{}", slide("b", "B"), slide("g", "G"))
            ),
            boxed_after(head, &slide("c", "C2"), &slide("d", "D2")),
            boxed_after(head, &slide("e", "E2"), &slide("f", "F2")),
        )
    }

    /// The edits from [`three_boxes_after_a_heading_with`] to
    /// [`first_box_moved_the_rest_edited_inside`] when every box is paired with its own: the
    /// first box moved and given its slide, the four texts set.
    fn first_box_moved_the_rest_edited_inside_edits(head: &str) -> Vec<String> {
        let open = format!("<div class=\"box\">{head}");
        let first = format!("{open}<p title=\"a\">A</p><p title=\"b\">B</p></div>");
        vec![
            format!(
                "move {first} under <div id=\"r\"><h3>T</h3>{first}{open}<p \
                 title=\"c\">C</p><p title=\"d\">D</p></div>{open}<p \
                 title=\"e\">E</p><p title=\"f\">F</p></div></div> after nothing"
            ),
            format!("insert 2 node(s) under {first} after <p title=\"b\">B</p>"),
            "text C = C2".into(),
            "text D = D2".into(),
            "text E = E2".into(),
            "text F = F2".into(),
        ]
    }

    #[test]
    fn repeated_boxes_edited_inside_are_keyed_by_their_childrens_own_data() {
        // Boxes of one class, each holding slides told apart by their own data (`title`):
        // the first box goes before the heading and gains a slide, the others have both
        // slides edited inside (no child left equal to vote for its box). Every box is similar
        // to every other (equal class), so counting similar pairs paired each box after the
        // heading with its neighbour (crosswise: the slides moved across, the first box
        // removed and re-inserted).
        let from = three_boxes_after_a_heading();
        let to = first_box_moved_the_rest_edited_inside("");
        let (m, _) = anon(&from, &to);
        assert_eq!(m, first_box_moved_the_rest_edited_inside_edits(""));
    }

    #[test]
    fn children_every_box_repeats_do_not_key_the_boxes() {
        // As above, with the same script and comment in every box: shared by all, they
        // made every box keyed with every other one (half their children's own data), and
        // the alignment paired each box after the heading with its neighbour, crosswise.
        let repeated = "<script>s()</script><!--ad-->";
        let from = three_boxes_after_a_heading_with(repeated);
        let to = first_box_moved_the_rest_edited_inside(repeated);
        let (m, _) = anon(&from, &to);
        assert_eq!(m, first_box_moved_the_rest_edited_inside_edits(repeated));
    }

    #[test]
    #[cfg(feature = "full-diff")]
    fn gallery_slides_are_told_apart_by_their_descendants() {
        // A gallery: every slide's only child is the same frame, so neither the slides'
        // own data nor their children's key them; only what the frames hold (an image's
        // source, a caption) tells them apart. The third slide moved to the front and every
        // frame gained a class: paired in order, each slide kept its place and the images
        // and captions moved across the slides instead.
        let slide = |k: &str, class: &str| {
            format!(
                "<div class=slide><div class=\"{class}\"><img src={k}.jpg>\
                 <p class=cap>Caption {k}</p></div></div>"
            )
        };
        let gallery = |keys: &[&str], class: &str| {
            let slides: String = keys.iter().map(|k| slide(k, class)).collect();
            format!("<div id=g>{slides}</div>")
        };
        let from = gallery(&["a", "b", "c", "d"], "frame");
        let to = gallery(&["c", "a", "b", "d"], "frame on");
        let (m, _) = anon(&from, &to);
        let frame = |k: &str| {
            format!(
                "<div class=\"frame\"><img src=\"{k}.jpg\"><p class=\"cap\">Caption {k}</p></div>"
            )
        };
        let old_slide = |k: &str| format!("<div class=\"slide\">{}</div>", frame(k));
        let g: String = ["a", "b", "c", "d"].iter().map(|k| old_slide(k)).collect();
        assert_eq!(
            m,
            [
                format!(
                    "move {} under <div id=\"g\">{g}</div> after nothing",
                    old_slide("c")
                ),
                format!("set {} class=frame on", frame("c")),
                format!("set {} class=frame on", frame("a")),
                format!("set {} class=frame on", frame("b")),
                format!("set {} class=frame on", frame("d")),
            ]
        );
    }

    #[test]
    fn a_keyed_box_behind_the_cursor_is_found() {
        // Three boxes of one class go before the heading, the first two swapped, both slides
        // of each edited. The first new box takes the second old one (keyed by its
        // children's own data), which moves the by-name cursor past the first old box: the
        // second new box then saw only the third old one ahead (similar: equal class) and
        // took it, crosswise, unless the cursor also looks back for a keyed candidate.
        let from = three_boxes_after_a_heading();
        let to = format!(
            "<div id=r>{}{}{}<h3>T</h3></div>",
            boxed(&slide("c", "C2"), &slide("d", "D2")),
            boxed(&slide("a", "A2"), &slide("b", "B2")),
            boxed(&slide("e", "E2"), &slide("f", "F2")),
        );
        let (m, _) = anon(&from, &to);
        let (first, second, third) = (
            "<div class=\"box\"><p title=\"a\">A</p><p title=\"b\">B</p></div>",
            "<div class=\"box\"><p title=\"c\">C</p><p title=\"d\">D</p></div>",
            "<div class=\"box\"><p title=\"e\">E</p><p title=\"f\">F</p></div>",
        );
        let r = format!("<div id=\"r\"><h3>T</h3>{first}{second}{third}</div>");
        assert_eq!(
            m,
            [
                format!("move {second} under {r} after nothing"),
                format!("move <h3>T</h3> under {r} after {third}"),
                "text C = C2".into(),
                "text D = D2".into(),
                "text A = A2".into(),
                "text B = B2".into(),
                "text E = E2".into(),
                "text F = F2".into(),
            ]
        );
    }

    #[test]
    fn edited_blocks_between_blank_texts_keep_their_own_partners() {
        // Three similar items edited inside, blank texts between them, and the blank text
        // after the last one gone. Equal blank texts paired first and earliest (old `\n`
        // after `h` with the new one after `e`) left `m` to pair with `h`: crosswise, the
        // whole `m` item inserted and the old one removed.
        let item = |k: &str, t: &str| format!("<li><a href=/{k}>{k}</a><ul><li>{t}</li></ul></li>");
        let from = format!(
            "<ul><li class=first>A</li>\n{}\n{}\n{}\n<li class=last>Z</li></ul>",
            item("e", "e2"),
            item("h", "h2"),
            item("m", "m2")
        );
        let to = format!(
            "<ul><li class=first>A</li>\n{}\n{}\n{}<li class=last>Z</li></ul>",
            item("e", "e3"),
            item("h", "h3"),
            item("m", "m3")
        );
        let (m, _) = anon(&from, &to);
        assert_eq!(
            m,
            [
                "text e2 = e3".to_string(),
                "text h2 = h3".into(),
                "text m2 = m3".into(),
                "remove \n".into(),
            ]
        );
    }

    #[test]
    fn a_text_change_among_similar_siblings_is_one_set_text() {
        let (m, _) = anon(
            "<ul><li>a</li><li>b</li><li>b</li><li>c</li></ul>",
            "<ul><li>a</li><li>b</li><li>b2</li><li>c</li></ul>",
        );
        assert_eq!(m, ["text b = b2"]);
    }

    #[test]
    #[cfg(feature = "full-diff")]
    fn attribute_order_costs_only_what_really_moved() {
        let (m, _) = anon(
            r#"<div class="clearfix" id="masthead"></div>"#,
            r#"<div id="masthead" class="clearfix"></div>"#,
        );
        let d = r#"<div class="clearfix" id="masthead"></div>"#;
        assert_eq!(
            m,
            [
                format!("remove {d} class"),
                format!("set {d} class=clearfix")
            ]
        );
        // Same order: nothing. A new attribute goes last: one set.
        let (m, _) = anon(r#"<p a="1" b="2"></p>"#, r#"<p a="1" b="2"></p>"#);
        assert!(m.is_empty(), "{m:?}");
        let (m, _) = anon(r#"<p a="1"></p>"#, r#"<p a="1" b="2"></p>"#);
        assert_eq!(m, [r#"set <p a="1"></p> b=2"#]);
        // A value change in place keeps the order.
        let (m, _) = anon(r#"<p a="1" b="2"></p>"#, r#"<p a="9" b="2"></p>"#);
        assert_eq!(m, [r#"set <p a="1" b="2"></p> a=9"#]);
    }

    /// 5,000 siblings, some edited, both sides parsed: the matching work stays a small
    /// multiple of the node count (a quadratic matcher would look at ~25 million pairs).
    #[test]
    fn a_five_thousand_sibling_list_is_matched_in_linear_work() {
        let items = |f: &dyn Fn(usize) -> String| {
            format!("<ul>{}</ul>", (0..5000).map(f).collect::<Vec<_>>().join(""))
        };
        let from = items(&|i| format!("<li class=item>row {}</li>", i % 7));
        let to = items(&|i| {
            if i % 50 == 0 {
                format!("<li class=item>row {} changed</li>", i % 7)
            } else if i % 97 == 0 {
                "<li class=other>new</li>".to_string()
            } else {
                format!("<li class=item>row {}</li>", i % 7)
            }
        });
        let (m, stats) = anon(&from, &to);
        let nodes = 2 * 2 * 5000;
        assert!(
            stats.compared < 40 * nodes,
            "{} compared for {nodes} nodes",
            stats.compared
        );
        // 100 text changes, 50 (i % 97 == 0, i % 50 != 0) replaced items.
        assert!(m.len() <= 100 + 2 * 52, "{} mutations", m.len());
        // Every item changed (class and text): no fingerprint helps, every candidate window
        // is searched in vain before the last phase pairs them by name.
        let to = items(&|i| format!("<li class=changed>line {i}</li>"));
        let (m, stats) = anon(&from, &to);
        assert!(
            stats.compared < 40 * nodes,
            "{} compared for {nodes} nodes",
            stats.compared
        );
        assert_eq!(m.len(), 2 * 5000, "one class and one text per item");
    }

    /// Without `full-diff` (the customer's module): what the later phases would pair is an
    /// insert and a removal, or updates in place where they would move; a text changed among
    /// similar siblings is still one `SetText`, and what the seven tests of the later phases
    /// above check (`#[cfg(feature = "full-diff")]`) comes out as below.
    #[test]
    #[cfg(not(feature = "full-diff"))]
    fn without_the_later_phases_the_anonymous_matching_stops_at_similar_neighbours() {
        let (m, _) = anon(
            "<ul><li>a</li><li>b</li></ul>",
            "<ul><li>a</li><li>b2</li></ul>",
        );
        assert_eq!(m, ["text b = b2"]);
        // Alignment or recovery: one attribute set.
        let (m, _) = anon(r#"<p a="1"></p>"#, r#"<p a="1" b="2"></p>"#);
        assert_eq!(
            m,
            [
                r#"insert 1 node(s) under <body><p a="1"></p></body> after nothing"#,
                r#"remove <p a="1"></p>"#
            ]
        );
        let (m, _) = anon(
            "<div id=r><p>a</p> <span id=m0></span> <span id=m1></span> <p>b</p></div>",
            "<div id=r><p>a</p> <span id=v1></span> <span id=m1></span> <p>b</p></div>",
        );
        assert_eq!(
            m,
            [
                r#"insert 1 node(s) under <div id="r"><p>a</p> <span id="m0"></span> <span id="m1"></span> <p>b</p></div> after  "#,
                r#"remove <span id="m0"></span>"#
            ]
        );
        // Bottom-up containers: two swapped items edited inside are updated in place.
        let (m, _) = anon(SWAPPED_ITEMS.0, SWAPPED_ITEMS.1);
        let (a, b) = SWAPPED_ITEMS_AS_SERIALIZED;
        assert_eq!(
            m,
            [
                format!("set {a} class=b"),
                format!("set {b} class=a"),
                format!("move <a href=\"/y\">Y</a> under {a} after \n"),
                "text tail a = tail b2".into(),
                format!("move <a href=\"/x\">X</a> under {b} after \n"),
                "text tail b = tail a2".into(),
            ]
        );
    }

    /// 500 nested elements with an edit at the bottom and one half way: linear work.
    #[test]
    #[cfg(feature = "full-diff")]
    fn a_500_deep_nesting_is_matched_in_linear_work() {
        let nest = |mid: &str, leaf: &str| {
            let mut s = String::new();
            for i in 0..500 {
                if i == 250 {
                    s.push_str(&format!("<div class={mid}>"));
                } else {
                    s.push_str("<div>");
                }
            }
            s.push_str(leaf);
            s.push_str(&"</div>".repeat(500));
            s
        };
        let (m, stats) = anon(&nest("a", "deep"), &nest("b", "deeper"));
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[1] == "text deep = deeper" || m[0] == "text deep = deeper",
            "{m:?}"
        );
        assert!(
            stats.compared < 40 * 1000,
            "{} compared for 1,000 nodes",
            stats.compared
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lis_keeps_longest_run() {
        let s = [Some(2), Some(0), Some(1), None, Some(3)];
        assert_eq!(lis(&s), vec![false, true, true, false, true]);
        let sorted = [Some(0), None, Some(4), Some(9)];
        assert_eq!(lis(&sorted), vec![true, false, true, true]);
        assert_eq!(lis(&[]), Vec::<bool>::new());
    }
}
