//! xxh3 fingerprints of nodes and subtrees, as the agent sees them.
//!
//! - `self_hash` covers a node's kind, name, projected attributes (as a set: order does not
//!   matter, as in the DOM), projected character data, projected props and wire flags.
//! - `tree_hash` covers `self_hash` and the `tree_hash`es of the visible children, in order.
//!
//! So equal subtrees have equal fingerprints, whatever their wire ids, and a mirror (identity
//! projection over received data) computes the same root fingerprint as the capture side.
//! After edits, [`refresh`] recomputes only the edited nodes and their ancestors.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::rules::Projection;
use crate::tree::{NodeData, NodeId, Tree};

const SEED_CHILDREN: u64 = 0x636f_6272_6f77_7365;

/// Hash of one node alone.
pub(crate) fn self_hash(tree: &Tree, id: NodeId, proj: &Projection<'_>, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    let data = tree.data(id);
    buf.push(data.kind() as u8);
    buf.push(proj.wire_flags(tree, id));
    match data {
        NodeData::Document { viewport } => {
            if let Some((w, h)) = viewport {
                buf.extend_from_slice(&w.to_le_bytes());
                buf.extend_from_slice(&h.to_le_bytes());
            }
        }
        NodeData::Fragment => {}
        NodeData::Doctype {
            name,
            public_id,
            system_id,
        } => {
            for s in [name, public_id, system_id] {
                buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
                buf.extend_from_slice(s.as_bytes());
            }
        }
        NodeData::Element(e) => {
            // Name, then the attributes as a set (a sum of per-attribute hashes), then props:
            // hashed without copying values into the buffer.
            buf.push(crate::mutation::WireNs::of(&e.name.ns) as u8);
            buf.extend_from_slice(e.name.local.as_bytes());
            buf.push(0);
            let mut sum = 0u64;
            let mut count = 0u32;
            proj.for_each_attr(tree, id, |name, value| {
                let name_seed =
                    xxh3_64(name.local.as_bytes()) ^ crate::mutation::WireNs::of(&name.ns) as u64;
                sum = sum.wrapping_add(xxh3_64_with_seed(value.as_bytes(), name_seed));
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

fn hash_props(p: &crate::tree::Props, buf: &mut Vec<u8>) {
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

fn combine(tree: &Tree, id: NodeId, proj: &Projection<'_>, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    for c in proj.children(tree, id) {
        buf.extend_from_slice(&tree.node(c).tree_hash.to_le_bytes());
    }
    let own = tree.node(id).self_hash;
    if buf.is_empty() {
        own
    } else {
        xxh3_64_with_seed(buf, own ^ SEED_CHILDREN)
    }
}

/// Computes every fingerprint of the tree, bottom-up. The tree's views must be current.
pub(crate) fn fingerprint_all(tree: &mut Tree, proj: &Projection<'_>) {
    let mut buf = Vec::with_capacity(256);
    // Post-order without recursion: visit in pre-order, then process in reverse.
    let order: Vec<NodeId> = tree.descendants(tree.root()).collect();
    for &id in order.iter().rev() {
        let h = self_hash(tree, id, proj, &mut buf);
        tree.node_mut(id).self_hash = h;
        let t = combine(tree, id, proj, &mut buf);
        tree.node_mut(id).tree_hash = t;
    }
    tree.dirty.clear();
    tree.fingerprinted = true;
}

/// Recomputes fingerprints after edits: the edited nodes' own hashes, then the subtree hashes
/// of them and their ancestors, deepest first. Nodes attached with stale hashes (a subtree
/// inserted from elsewhere) are recomputed whole.
pub(crate) fn refresh(tree: &mut Tree, proj: &Projection<'_>) {
    if !tree.fingerprinted {
        fingerprint_all(tree, proj);
        return;
    }
    if tree.dirty.is_empty() {
        return;
    }
    let dirty = std::mem::take(&mut tree.dirty);
    let mut buf = Vec::with_capacity(256);
    // Collect (depth, node) for every dirty node still in the tree and its ancestors.
    let mut work: Vec<(u32, u32)> = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(dirty.len() * 4);
    let root = tree.root();
    for &d in &dirty {
        let id = NodeId(d);
        if d as usize >= tree.nodes.len() || !attached(tree, id, root) {
            continue;
        }
        // The dirty node's own hash, and those of its descendants (a re-attached or new subtree
        // has never been hashed in place).
        let sub: Vec<NodeId> = tree.descendants(id).collect();
        for &n in sub.iter().rev() {
            if !seen.insert(n.0) {
                continue;
            }
            let h = self_hash(tree, n, proj, &mut buf);
            tree.node_mut(n).self_hash = h;
            let t = combine(tree, n, proj, &mut buf);
            tree.node_mut(n).tree_hash = t;
        }
        let mut depth = 0u32;
        let mut cur = tree.parent(id);
        let mut chain = Vec::new();
        while let Some(p) = cur {
            chain.push(p);
            cur = tree.parent(p);
        }
        for p in chain.into_iter().rev() {
            work.push((depth, p.0));
            depth += 1;
        }
    }
    // Deepest ancestors first, each once.
    work.sort_unstable_by(|a, b| b.0.cmp(&a.0));
    let mut done = std::collections::HashSet::with_capacity(work.len());
    for (_, n) in work {
        if !done.insert(n) {
            continue;
        }
        let id = NodeId(n);
        let h = self_hash(tree, id, proj, &mut buf);
        tree.node_mut(id).self_hash = h;
        let t = combine(tree, id, proj, &mut buf);
        tree.node_mut(id).tree_hash = t;
    }
}

fn attached(tree: &Tree, mut id: NodeId, root: NodeId) -> bool {
    loop {
        if id == root {
            return true;
        }
        match tree.parent(id) {
            Some(p) => id = p,
            None => return false,
        }
    }
}

impl Tree {
    /// The fingerprint of the subtree at `id` (as of the last fingerprint pass).
    pub fn subtree_fingerprint(&self, id: NodeId) -> u64 {
        self.node(id).tree_hash
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
