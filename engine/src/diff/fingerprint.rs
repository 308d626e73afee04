//! xxh3 fingerprints of nodes and subtrees, as the agent sees them.
//!
//! - `self_hash` covers a node's kind, name, projected attributes (in order: the order is
//!   part of the tree, see [`crate::Tree::same_tree`]), projected character data, projected
//!   props and wire flags.
//! - `tree_hash` covers `self_hash` and the `tree_hash`es of the visible children, in order.
//!
//! So equal subtrees have equal fingerprints, whatever their wire ids, and a mirror (identity
//! projection over received data) computes the same root fingerprint as the capture side.
//! After edits, [`refresh`] recomputes only the edited nodes and their ancestors.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::dom::tree::{Dirty, NodeData, NodeId, NodeMap, NodeSet, Tree};
use crate::rules::Projection;

const SEED_CHILDREN: u64 = 0x636f_6272_6f77_7365;

/// Hash of one node alone.
pub(crate) fn self_hash(tree: &Tree, id: NodeId, proj: &Projection<'_>, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    let data = tree.data(id);
    buf.push(data.kind() as u8);
    buf.push(proj.wire_flags(tree, id));
    match data {
        NodeData::Document {
            viewport,
            pixel_ratio,
        } => {
            if let Some((w, h)) = viewport {
                buf.extend_from_slice(&w.to_le_bytes());
                buf.extend_from_slice(&h.to_le_bytes());
            }
            if let Some(r) = pixel_ratio {
                buf.push(0xfd);
                buf.extend_from_slice(&r.to_le_bytes());
            }
        }
        NodeData::Fragment => {}
        NodeData::Doctype(d) => {
            for s in [&d.name, &d.public_id, &d.system_id] {
                buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
                buf.extend_from_slice(s.as_bytes());
            }
        }
        NodeData::Element(e) => {
            // Name (as projected: a blocked object becomes its placeholder), then the
            // attributes as a list (their order is part of the tree: a chain of per-attribute
            // hashes), then props: hashed without copying values into the buffer.
            let name = proj.element_name(tree, id).unwrap_or(&e.name);
            buf.push(crate::diff::mutation::WireNs::of(&name.ns) as u8);
            buf.extend_from_slice(name.local.as_bytes());
            buf.push(0);
            let mut sum = 0u64;
            let mut count = 0u32;
            proj.for_each_attr(tree, id, |name, value| {
                let name_seed = xxh3_64(name.local.as_bytes())
                    ^ crate::diff::mutation::WireNs::of(&name.ns) as u64;
                sum = mix(sum ^ xxh3_64_with_seed(value.as_bytes(), name_seed));
                count += 1;
            });
            buf.extend_from_slice(&sum.to_le_bytes());
            buf.extend_from_slice(&count.to_le_bytes());
            if e.props.is_some() {
                let p = proj.props(tree, id);
                if !p.is_empty() {
                    hash_props(&p, buf);
                }
            }
        }
        NodeData::Text(_) | NodeData::Comment(_) => {
            // Character data is hashed in place, seeded with the kind and flags.
            let seed = u64::from_le_bytes([buf[0], buf[1], 0x74, 0x78, 0, 0, 0, 0]);
            let text = proj.character_data(tree, id).unwrap_or_default();
            return xxh3_64_with_seed(text.as_bytes(), seed);
        }
    }
    xxh3_64(buf)
}

fn hash_props(p: &crate::dom::tree::Props, buf: &mut Vec<u8>) {
    buf.push(0xfe);
    if let Some(v) = &p.value {
        buf.push(1);
        buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
        buf.extend_from_slice(v.as_bytes());
    }
    if let Some(c) = p.checked {
        buf.extend_from_slice(&[2, c as u8]);
    }
    if let Some(s) = p.selected {
        buf.extend_from_slice(&[3, s as u8]);
    }
    if let Some((x, y)) = p.scroll {
        buf.push(4);
        buf.extend_from_slice(&x.to_le_bytes());
        buf.extend_from_slice(&y.to_le_bytes());
    }
}

/// Recombines a node's subtree hash and id hash from its own hash and all its visible
/// children's, and records each child's place among them (`fp_pos`).
///
/// A node with visible children has `tree_hash = mix(self_hash ^ SEED_CHILDREN) + Σ
/// weigh(child_tree_hash, i)` and `id_hash = mix(wire ^ ID_SEED) + Σ weigh_id(child_id_hash,
/// i)`, `i` the child's place among the visible children (wrapping sums). Each term depends on
/// the child's hash and its place (a swap of two children changes the sum), and a change of
/// one child's hashes changes only its term: [`refresh_with`] replaces it without visiting
/// the siblings. A node without visible children has `tree_hash = self_hash`, `id_hash =
/// mix(wire ^ ID_SEED)`.
fn combine(tree: &mut Tree, id: NodeId, proj: &Projection<'_>) {
    let shows = proj.shows_children(tree, id);
    let (mut sum, mut ids, mut i) = (0u64, 0u64, 0u32);
    let mut c = tree.first_child(id);
    while let Some(x) = c {
        #[cfg(test)]
        CHILDREN_COMBINED.with(|n| n.set(n.get() + 1));
        let pos = if shows && proj.visible(tree, x) {
            let n = tree.node(x);
            sum = sum.wrapping_add(weigh(n.tree_hash, i));
            ids = ids.wrapping_add(weigh_id(n.id_hash, i));
            i += 1;
            i - 1
        } else {
            NodeId::NONE
        };
        tree.node_mut(x).fp_pos = pos;
        c = tree.next_sibling(x);
    }
    let n = tree.node_mut(id);
    let own_ids = mix(n.wire.0 as u64 ^ ID_SEED);
    if i == 0 {
        n.tree_hash = n.self_hash;
        n.id_hash = own_ids;
    } else {
        n.tree_hash = mix(n.self_hash ^ SEED_CHILDREN).wrapping_add(sum);
        n.id_hash = own_ids.wrapping_add(ids);
    }
}

/// A child's term in its parent's `tree_hash`: its `tree_hash` weighed by its place.
#[inline]
fn weigh(h: u64, pos: u32) -> u64 {
    mix(h ^ mix(pos as u64 ^ SEED_PLACE))
}

/// A child's term in its parent's `id_hash`: its `id_hash` weighed by its place.
#[inline]
fn weigh_id(h: u64, pos: u32) -> u64 {
    mix(h ^ mix(pos as u64 ^ SEED_ID_PLACE))
}

const ID_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED_PLACE: u64 = 0x706c_6163_6520_7472;
const SEED_ID_PLACE: u64 = 0x706c_6163_6520_6964;

#[cfg(test)]
thread_local! {
    /// Children visited by [`combine`], for tests.
    pub(crate) static CHILDREN_COMBINED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A cheap, order-sensitive 64-bit mixer (a multiply-xorshift finalizer).
#[inline]
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
    x = (x ^ (x >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
    x ^ (x >> 32)
}

fn post_order(tree: &Tree, top: NodeId) -> Vec<NodeId> {
    let mut order: Vec<NodeId> = tree.descendants(top).collect();
    order.reverse();
    order
}

/// Computes every fingerprint of the tree, bottom-up. The tree's views must be current.
pub(crate) fn fingerprint_all(tree: &mut Tree, proj: &Projection<'_>) {
    let mut buf = Vec::with_capacity(256);
    for id in post_order(tree, tree.root()) {
        fingerprint_one(tree, id, proj, &mut buf);
    }
    finish_fingerprints(tree);
}

/// One node's step of [`fingerprint_all`]: its own hash, then its fingerprints combined from
/// its children's, which must be computed already (children first: the reverse of a pre-order
/// walk). For callers that spread the work over tasks; [`finish_fingerprints`] ends it.
pub(crate) fn fingerprint_one(
    tree: &mut Tree,
    id: NodeId,
    proj: &Projection<'_>,
    buf: &mut Vec<u8>,
) {
    let h = self_hash(tree, id, proj, buf);
    tree.node_mut(id).self_hash = h;
    combine(tree, id, proj);
}

/// Ends a tree's [`fingerprint_one`] steps, every node's done: its fingerprints are current.
pub(crate) fn finish_fingerprints(tree: &mut Tree) {
    tree.dirty.clear();
    tree.fingerprinted = true;
}

/// Recomputes only the id hashes (after wire ids were assigned in bulk).
pub(crate) fn rehash_ids(tree: &mut Tree, proj: &Projection<'_>) {
    for id in post_order(tree, tree.root()) {
        combine(tree, id, proj);
    }
}

/// The working buffers of [`refresh_with`], for a caller that refreshes often (a mirror
/// refreshes after every delta) and keeps them between calls, so that a refresh allocates
/// nothing once they have grown. Which buffers a refresh uses changes none of its results:
/// each is emptied before and after use, and one that grew past [`RefreshScratch::KEEP`]
/// entries for a large edit is let go afterwards.
#[derive(Debug, Default)]
pub(crate) struct RefreshScratch {
    /// [`work_key`]s.
    work: Vec<u64>,
    queued: NodeSet,
    chain: Vec<NodeId>,
    buf: Vec<u8>,
    /// Per node to be refreshed because of its children: the changes of their terms.
    below: NodeMap<Below>,
}

/// Why [`refresh_with`] visits a node: a mark of its own, or (weakest) only because the
/// hashes of some of its children changed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Why {
    Below,
    Marked(Dirty),
}

/// A node to visit as one sortable number: deepest first, then by node, then the strongest
/// reason (Subtree > Data > Children > Below) first. Depths stay below 2^30 (the tree's
/// depth is bounded far below that by the parser and the capture).
fn work_key(depth: u32, node: u32, why: Why) -> u64 {
    let weakness = match why {
        Why::Marked(Dirty::Subtree) => 0,
        Why::Marked(Dirty::Data) => 1,
        Why::Marked(Dirty::Children) => 2,
        Why::Below => 3,
    };
    (u64::from((1 << 30) - 1 - depth.min((1 << 30) - 1)) << 34) | (u64::from(node) << 2) | weakness
}

/// The node and reason of a [`work_key`].
fn work_of(key: u64) -> (u32, Why) {
    let why = match key & 3 {
        0 => Why::Marked(Dirty::Subtree),
        1 => Why::Marked(Dirty::Data),
        2 => Why::Marked(Dirty::Children),
        _ => Why::Below,
    };
    ((key >> 2) as u32, why)
}

/// What a node's refreshed children changed of its hashes: the sums of their terms' changes,
/// or `whole` when its visible children are to be combined again (one appeared, went or
/// moved, or was hashed whole).
#[derive(Copy, Clone, Debug, Default)]
struct Below {
    tree: u64,
    ids: u64,
    whole: bool,
}

impl RefreshScratch {
    /// Buffers with room for more entries than this are dropped after a refresh.
    pub(crate) const KEEP: usize = 1024;

    /// Empties the buffers, letting go of any that grew past [`Self::KEEP`].
    fn reset(&mut self) {
        self.work.clear();
        self.queued.clear();
        self.chain.clear();
        self.buf.clear();
        self.below.clear();
        if self.work.capacity() > Self::KEEP {
            self.work = Vec::new();
        }
        if self.queued.capacity() > Self::KEEP {
            self.queued = NodeSet::default();
        }
        if self.chain.capacity() > Self::KEEP {
            self.chain = Vec::new();
        }
        if self.below.capacity() > Self::KEEP {
            self.below = NodeMap::default();
        }
        // (The hash buffer holds one node's data: room for 64 KiB is kept.)
        if self.buf.capacity() > Self::KEEP * 64 {
            self.buf = Vec::new();
        }
    }
}

/// Recomputes fingerprints after edits, in time proportional to what changed: a node whose
/// data changed gets its own hash recomputed and is recombined from its children, a
/// (re)attached subtree is hashed whole, a node whose child list changed is recombined from
/// its children's hashes, and then every ancestor of those is updated, deepest first, each
/// once: by replacing the terms of its changed children (see [`combine`]), without visiting
/// the others, unless its visible children changed (then it is recombined).
pub(crate) fn refresh(tree: &mut Tree, proj: &Projection<'_>) {
    let mut scratch = RefreshScratch {
        buf: Vec::with_capacity(256),
        ..RefreshScratch::default()
    };
    refresh_with(tree, proj, &mut scratch);
}

/// [`refresh`] with the caller's working buffers (same results; see [`RefreshScratch`]).
pub(crate) fn refresh_with(tree: &mut Tree, proj: &Projection<'_>, scratch: &mut RefreshScratch) {
    if !tree.fingerprinted {
        fingerprint_all(tree, proj);
        return;
    }
    if tree.dirty.is_empty() {
        return;
    }
    // Empty already after a refresh that returned; cleared again so that one that unwound
    // part-way leaves nothing behind.
    scratch.reset();
    let mut dirty = std::mem::take(&mut tree.dirty);
    let RefreshScratch {
        work,
        queued,
        chain,
        buf,
        below,
    } = scratch;
    let root = tree.root();
    // (depth, node, why) for every dirty node still attached, and every ancestor of one, each
    // ancestor once: a chain stops at the first ancestor queued already (its own ancestors
    // are queued too), so the sort below is of the nodes touched, not of marks times depth.
    work.reserve(dirty.len() * 2 + 16);
    for &(d, why) in &dirty {
        if d as usize >= tree.nodes.len() {
            continue;
        }
        chain.clear();
        let mut cur = Some(NodeId(d));
        while let Some(p) = cur {
            chain.push(p);
            cur = tree.parent(p);
        }
        if chain.last() != Some(&root) {
            continue; // detached: hashed when it is attached again
        }
        let depth = chain.len() as u32;
        work.push(work_key(depth, d, Why::Marked(why)));
        for (k, p) in chain.iter().enumerate().skip(1) {
            if !queued.insert(p.0) {
                break;
            }
            work.push(work_key(depth - k as u32, p.0, Why::Below));
        }
    }
    // Deepest first (so a node's children are done before it); for each node, the strongest
    // reason first.
    crate::sort::sort_u64(work);
    let mut last = u32::MAX;
    for &key in work.iter() {
        let (n, why) = work_of(key);
        if n == last {
            continue;
        }
        last = n;
        let id = NodeId(n);
        let before = (tree.node(id).tree_hash, tree.node(id).id_hash);
        match why {
            Why::Marked(Dirty::Subtree) => {
                for x in post_order(tree, id) {
                    let h = self_hash(tree, x, proj, buf);
                    tree.node_mut(x).self_hash = h;
                    combine(tree, x, proj);
                }
            }
            Why::Marked(Dirty::Data) => {
                let h = self_hash(tree, id, proj, buf);
                tree.node_mut(id).self_hash = h;
                combine(tree, id, proj);
            }
            Why::Marked(Dirty::Children) => combine(tree, id, proj),
            Why::Below => match below.get(&n) {
                Some(b) if !b.whole => {
                    // Same visible children, some with new hashes: their terms replaced.
                    let (t, i) = (b.tree, b.ids);
                    let node = tree.node_mut(id);
                    node.tree_hash = node.tree_hash.wrapping_add(t);
                    node.id_hash = node.id_hash.wrapping_add(i);
                }
                _ => combine(tree, id, proj),
            },
        }
        let Some(parent) = tree.parent(id) else {
            continue;
        };
        // The parent's term for this node: replaced if the node was one of its visible
        // children at `fp_pos` and still is (a node that appeared, went or was attached
        // changes the parent's visible children, and their parent carries a mark of its own
        // or is recombined whole).
        let node = tree.node(id);
        let pos = node.fp_pos;
        let kept = why != Why::Marked(Dirty::Subtree)
            && pos != NodeId::NONE
            && proj.visible(tree, id)
            && proj.shows_children(tree, parent);
        let (t, i) = (node.tree_hash, node.id_hash);
        let b = below.entry(parent.0).or_default();
        if kept {
            b.tree = b
                .tree
                .wrapping_add(weigh(t, pos))
                .wrapping_sub(weigh(before.0, pos));
            b.ids = b
                .ids
                .wrapping_add(weigh_id(i, pos))
                .wrapping_sub(weigh_id(before.1, pos));
        } else {
            b.whole = true;
        }
    }
    scratch.reset();
    // The list goes back empty with its capacity: a mirror marks nodes on every delta, and a
    // fresh vector each time is an allocation per delta.
    // (A large edit's list is let go, so that no session holds it.)
    dirty.clear();
    if tree.dirty.is_empty() && dirty.capacity() <= 1024 {
        tree.dirty = dirty;
    }
}

impl Tree {
    /// The fingerprint of the subtree at `id` (as of the last fingerprint pass).
    pub fn subtree_fingerprint(&self, id: NodeId) -> u64 {
        self.node(id).tree_hash
    }

    /// The id hash of the subtree at `id` (as of the last fingerprint pass).
    pub(crate) fn subtree_id_hash(&self, id: NodeId) -> u64 {
        self.node(id).id_hash
    }

    /// The root fingerprint (as of the last fingerprint pass).
    pub fn fingerprint(&self) -> u64 {
        self.node(self.root()).tree_hash
    }

    /// Whether edits happened since the last fingerprint pass.
    pub fn fingerprints_stale(&self) -> bool {
        !self.fingerprinted || !self.dirty.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dom::tree::{attr_name, html_name};

    /// A document with a list of `items` entries, each holding a comment (character data),
    /// wire ids assigned, fingerprints computed (identity projection, like a mirror's).
    fn list(items: usize) -> (Tree, Vec<NodeId>, Vec<NodeId>) {
        let mut t = Tree::new_document();
        let root = t.root();
        let ul = t.create_element(html_name("ul"), Vec::new());
        t.append(root, ul);
        let (mut lis, mut texts) = (Vec::new(), Vec::new());
        for i in 0..items {
            let li = t.create_element(html_name("li"), Vec::new());
            t.append(ul, li);
            let c = t.create(NodeData::comment(format!("item {i}")));
            t.append(li, c);
            lis.push(li);
            texts.push(c);
        }
        for id in t.descendants(root).collect::<Vec<_>>() {
            let w = t.fresh_wire_id();
            t.set_wire_id(id, w);
        }
        fingerprint_all(&mut t, &Projection::identity());
        (t, lis, texts)
    }

    /// Edit `step` of a fixed sequence: character data, attributes, an inserted child, a
    /// removed item.
    fn edit(t: &mut Tree, lis: &[NodeId], texts: &[NodeId], step: usize) {
        let k = (step * 7) % lis.len();
        match step % 4 {
            0 => assert!(t.set_character_data(texts[k], &format!("step {step}"))),
            1 => assert!(t.set_attr(lis[k], attr_name("class"), &format!("c{step}"))),
            2 => {
                let b = t.create_element(html_name("b"), Vec::new());
                let w = t.fresh_wire_id();
                t.set_wire_id(b, w);
                t.append(lis[k], b);
            }
            _ => {
                if t.parent(lis[k]).is_some() {
                    t.detach(lis[k]);
                }
            }
        }
    }

    fn hashes(t: &Tree) -> Vec<(u64, u64, u64)> {
        t.descendants(t.root())
            .map(|id| {
                let n = t.node(id);
                (n.self_hash, n.tree_hash, n.id_hash)
            })
            .collect()
    }

    /// Every node's place among its parent's visible children, as recorded.
    fn places(t: &Tree) -> Vec<u32> {
        t.descendants(t.root())
            .map(|id| t.node(id).fp_pos)
            .collect()
    }

    fn children_combined() -> usize {
        CHILDREN_COMBINED.with(|n| n.replace(0))
    }

    #[test]
    fn an_edit_under_a_wide_parent_does_not_visit_its_siblings() {
        let (mut t, lis, texts) = list(1000);
        let root_before = t.fingerprint();
        children_combined();
        // Character data: the comment (no children) is hashed again; its `li`, the `ul` and
        // the document get their terms replaced, visiting no child.
        assert!(t.set_character_data(texts[500], "edited"));
        refresh(&mut t, &Projection::identity());
        assert_eq!(children_combined(), 0);
        assert_ne!(t.fingerprint(), root_before);
        // An attribute of an item: the item is recombined from its one child.
        assert!(t.set_attr(lis[400], attr_name("class"), "x"));
        refresh(&mut t, &Projection::identity());
        assert_eq!(children_combined(), 1);
        // A child appended to an item: that item's two children.
        let b = t.create_element(html_name("b"), Vec::new());
        let w = t.fresh_wire_id();
        t.set_wire_id(b, w);
        t.append(lis[300], b);
        refresh(&mut t, &Projection::identity());
        assert_eq!(children_combined(), 2);
        // The same values as hashing everything again.
        let (h, p) = (hashes(&t), places(&t));
        fingerprint_all(&mut t, &Projection::identity());
        assert_eq!((hashes(&t), places(&t)), (h, p));
        children_combined();
        // A child list edit of the wide parent itself visits its children (an item removed).
        t.detach(lis[10]);
        refresh(&mut t, &Projection::identity());
        assert_eq!(children_combined(), 999);
    }

    #[test]
    fn a_swap_of_two_children_changes_the_parents_fingerprints() {
        let (mut t, lis, _) = list(3);
        let ul = t.parent(lis[0]).unwrap();
        let before = (
            t.fingerprint(),
            t.subtree_fingerprint(ul),
            t.subtree_id_hash(ul),
        );
        // Two items with equal subtrees but for their wire ids: only the id hash can tell.
        let mut same = t.clone();
        for id in [lis[0], lis[1]] {
            let c = same.first_child(id).unwrap();
            assert!(same.set_character_data(c, "same"));
        }
        refresh(&mut same, &Projection::identity());
        let same_before = (same.subtree_fingerprint(ul), same.subtree_id_hash(ul));
        for tree in [&mut t, &mut same] {
            tree.insert_before(lis[0], lis[1]);
            refresh(tree, &Projection::identity());
        }
        let after = (
            t.fingerprint(),
            t.subtree_fingerprint(ul),
            t.subtree_id_hash(ul),
        );
        assert!(
            before.0 != after.0 && before.1 != after.1 && before.2 != after.2,
            "{before:x?} {after:x?}"
        );
        let same_after = (same.subtree_fingerprint(ul), same.subtree_id_hash(ul));
        assert_eq!(
            same_after.0, same_before.0,
            "equal subtrees swapped: same content"
        );
        assert_ne!(same_after.1, same_before.1, "but not the same nodes");
        // Swapped back: the fingerprints of before.
        t.insert_before(lis[1], lis[0]);
        refresh(&mut t, &Projection::identity());
        assert_eq!(
            (
                t.fingerprint(),
                t.subtree_fingerprint(ul),
                t.subtree_id_hash(ul)
            ),
            before
        );
    }

    #[test]
    fn a_kept_scratch_gives_the_fingerprints_of_a_fresh_refresh() {
        let (mut fresh, lis, texts) = list(12);
        let (mut kept, ..) = list(12);
        let mut scratch = RefreshScratch::default();
        for step in 0..40 {
            // One to three edits between refreshes.
            for e in 0..1 + step % 3 {
                edit(&mut fresh, &lis, &texts, step * 3 + e);
                edit(&mut kept, &lis, &texts, step * 3 + e);
            }
            refresh(&mut fresh, &Projection::identity());
            refresh_with(&mut kept, &Projection::identity(), &mut scratch);
            assert_eq!(hashes(&kept), hashes(&fresh), "step {step}");
            // And both are what a whole recomputation gives.
            let before = (hashes(&fresh), places(&fresh));
            fingerprint_all(&mut fresh, &Projection::identity());
            assert_eq!((hashes(&fresh), places(&fresh)), before, "step {step}");
        }
    }

    #[test]
    fn the_scratch_keeps_small_buffers_and_lets_go_of_large_ones() {
        let (mut t, lis, texts) = list(1500);
        let mut scratch = RefreshScratch::default();
        edit(&mut t, &lis, &texts, 0);
        refresh_with(&mut t, &Projection::identity(), &mut scratch);
        let kept = (
            scratch.work.capacity(),
            scratch.queued.capacity(),
            scratch.chain.capacity(),
            scratch.buf.capacity(),
        );
        assert!(
            kept.0 > 0 && kept.1 > 0 && kept.2 > 0 && kept.3 > 0,
            "{kept:?}"
        );
        assert!(scratch.work.is_empty() && scratch.queued.is_empty());
        // The same small edit again: the buffers are reused as they are.
        edit(&mut t, &lis, &texts, 4);
        refresh_with(&mut t, &Projection::identity(), &mut scratch);
        assert_eq!(
            (
                scratch.work.capacity(),
                scratch.queued.capacity(),
                scratch.chain.capacity(),
                scratch.buf.capacity(),
            ),
            kept
        );
        // An edit of every item grows the work list past the bound: it is let go.
        for (i, &c) in texts.iter().enumerate() {
            assert!(t.set_character_data(c, &format!("all {i}")));
        }
        refresh_with(&mut t, &Projection::identity(), &mut scratch);
        assert_eq!(scratch.work.capacity(), 0);
    }
}
