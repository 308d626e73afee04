//! The replayer: a [`Mirror`] applies keyframes and deltas to its own tree and checks that
//! its root fingerprint is the one the sender expected.
//!
//! Input is untrusted. Every mutation is checked before it touches the tree (known ids, no
//! duplicate ids, no cycles, the root stays put, records form one subtree), so a hostile or
//! stale frame yields a [`ReplayError`], never a panic. After any error the mirror is
//! *desynchronized*: it refuses deltas until it gets a keyframe
//! ([`ReplayError::needs_keyframe`] says so).
//!
//! A content document (a same-origin iframe's) may only end a delta as the only child of an
//! HTML `iframe`: inserts and moves under iframes, and of documents, are checked once the
//! whole delta is applied (a navigation inserts the new document before removing the old).
//!
//! Invariants: the mirror's tree holds exactly what the agent may see (it was projected before
//! it was sent), its fingerprints use the identity projection, and after every successful
//! frame its root fingerprint equals the frame header's.

use markup5ever::QualName;

use crate::diff;
use crate::diff::fingerprint::RefreshScratch;
use crate::diff::mutation::{
    MutationRef, NodeRecord, PropRef, RecordData, RecordDataRef, RecordRef,
};
use crate::dom::tree::{Attr, Doctype, ElementData, NodeData, NodeId, Prop, Props, Tree, WireId};
use crate::dom::view::View;

thread_local! {
    /// The working buffers of the fingerprint refresh after a delta ([`Mirror::apply_delta`]),
    /// one set per thread (see [`RefreshScratch`]: they change no result).
    static REFRESH_SCRATCH: std::cell::RefCell<RefreshScratch> =
        std::cell::RefCell::new(RefreshScratch::default());
}

/// Why a frame could not be applied. Messages never include page content.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// A delta arrived whose base is not the mirror's current sequence number.
    SequenceGap {
        /// The sequence number the mirror is at (`None`: no keyframe yet).
        have: Option<u64>,
        /// The delta's base.
        base: u64,
    },
    /// After applying, the root fingerprint differs from the sender's.
    FingerprintMismatch {
        /// Expected by the frame.
        expected: u64,
        /// Computed by the mirror.
        actual: u64,
    },
    /// A mutation names a node the mirror does not have.
    UnknownNode(u32),
    /// An insert or keyframe reuses an id that is live, or uses id 0.
    BadId(u32),
    /// Structurally impossible (cycle, removing the root, records that are not one tree,
    /// an operation on the wrong kind of node).
    BadStructure(&'static str),
    /// The frame was not sanitized and this mirror only accepts sanitized frames.
    Unsanitized,
    /// The mirror lost sync after an earlier error and needs a keyframe.
    Desynchronized,
    /// The frame bytes are invalid.
    Frame(String),
}

impl ReplayError {
    /// Whether the caller should ask the sender for a keyframe (always true today; kept as
    /// a method so callers do not match on variants).
    pub fn needs_keyframe(&self) -> bool {
        true
    }
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::SequenceGap { have, base } => {
                write!(
                    f,
                    "sequence gap: mirror at {have:?}, delta based on {base}; request a keyframe"
                )
            }
            ReplayError::FingerprintMismatch { expected, actual } => {
                write!(
                    f,
                    "fingerprint mismatch: expected {expected:016x}, mirror has {actual:016x}; request a keyframe"
                )
            }
            ReplayError::UnknownNode(w) => write!(f, "unknown node id {w}; request a keyframe"),
            ReplayError::BadId(w) => {
                write!(f, "invalid or duplicate node id {w}; request a keyframe")
            }
            ReplayError::BadStructure(m) => {
                write!(f, "invalid frame structure: {m}; request a keyframe")
            }
            ReplayError::Unsanitized => write!(f, "frame is not sanitized; refused"),
            ReplayError::Desynchronized => write!(f, "mirror is out of sync; request a keyframe"),
            ReplayError::Frame(m) => write!(f, "invalid frame: {m}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Receives the operations a mirror applied (the agent page turns them into DOM calls).
pub trait ReplayObserver {
    /// A keyframe replaced the whole tree.
    fn keyframe(&mut self, _records: &[RecordRef<'_>]) {}
    /// One mutation was applied.
    fn mutation(&mut self, _m: &MutationRef<'_>) {}
}

/// An observer that ignores everything.
impl ReplayObserver for () {}

/// Mirror options.
#[derive(Clone, Debug)]
pub struct MirrorOptions {
    /// Refuse frames whose header says they were not sanitized (the relay and WASM paths set
    /// this; default `true`).
    pub require_sanitized: bool,
    /// Upper bound on live nodes (default 5,000,000): a hostile stream cannot grow the
    /// mirror without bound.
    pub max_nodes: usize,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            require_sanitized: true,
            max_nodes: 5_000_000,
        }
    }
}

/// A frame's header fields the mirror needs (see `FrameHeader` in the frame module).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    /// Sequence number of this frame.
    pub seq: u64,
    /// For deltas: the sequence number it applies on.
    pub base_seq: u64,
    /// Root fingerprint after applying.
    pub fingerprint: u64,
    /// Whether the sender sanitized it.
    pub sanitized: bool,
}

impl FrameMeta {
    /// The fields of a frame's header the mirror needs.
    pub fn of(h: &crate::wire::frame::FrameHeader) -> FrameMeta {
        FrameMeta {
            seq: h.seq,
            base_seq: h.base_seq,
            fingerprint: h.fingerprint,
            sanitized: h.sanitized,
        }
    }
}

/// A replica of the agent-visible page.
pub struct Mirror {
    tree: Tree,
    seq: Option<u64>,
    in_sync: bool,
    /// Whether every frame since the last keyframe was sanitized.
    sanitized: bool,
    opts: MirrorOptions,
}

impl Default for Mirror {
    fn default() -> Self {
        Mirror::new(MirrorOptions::default())
    }
}

impl Mirror {
    /// An empty mirror waiting for its first keyframe.
    pub fn new(opts: MirrorOptions) -> Mirror {
        let mut tree = Tree::new_document();
        tree.ensure_wire_index();
        Mirror {
            tree,
            seq: None,
            in_sync: false,
            sanitized: false,
            opts,
        }
    }

    /// The mirrored tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The sequence number of the last frame applied.
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// Whether the mirror can take deltas.
    pub fn in_sync(&self) -> bool {
        self.in_sync
    }

    /// The root fingerprint.
    pub fn fingerprint(&self) -> u64 {
        self.tree.fingerprint()
    }

    /// Serializes the mirrored page.
    #[cfg(feature = "html")]
    pub fn to_html(&self) -> String {
        crate::dom::serialize::to_html(&self.tree)
    }

    /// A keyframe of what the mirror holds, with its current sequence number: what a joining
    /// or reconnecting agent needs. `None` while the mirror is not in sync.
    pub fn keyframe(&self) -> Option<Vec<u8>> {
        let seq = self.seq.filter(|_| self.in_sync)?;
        let header = crate::wire::frame::FrameHeader {
            kind: crate::wire::frame::FrameKind::Keyframe,
            seq,
            base_seq: seq,
            fingerprint: self.tree.fingerprint(),
            sanitized: self.sanitized,
        };
        let records = diff::mirror_records(&self.tree);
        Some(crate::wire::frame::encode_keyframe(&header, &records))
    }

    /// Replaces the tree with a keyframe's records.
    pub fn apply_keyframe(
        &mut self,
        meta: &FrameMeta,
        records: &[RecordRef<'_>],
        observer: &mut dyn ReplayObserver,
    ) -> Result<(), ReplayError> {
        self.in_sync = false;
        if self.opts.require_sanitized && !meta.sanitized {
            return Err(ReplayError::Unsanitized);
        }
        if records.len() > self.opts.max_nodes {
            return Err(ReplayError::BadStructure("too many nodes"));
        }
        let first = records
            .first()
            .ok_or(ReplayError::BadStructure("empty keyframe"))?;
        let mut tree = match first.data {
            RecordDataRef::Document {
                viewport,
                pixel_ratio,
            } => {
                let mut t = Tree::new_document();
                let root = t.root();
                t.set_prop(root, Prop::Viewport(viewport));
                t.set_prop(root, Prop::PixelRatio(pixel_ratio));
                t
            }
            RecordDataRef::Fragment => Tree::new_fragment(),
            _ => {
                return Err(ReplayError::BadStructure(
                    "keyframe root is not a document or fragment",
                ));
            }
        };
        tree.ensure_wire_index();
        // The records are the nodes: build the tree at its exact size, without growth slack.
        tree.reserve_exact(records.len() - 1);
        let root = tree.root();
        bind_wire(&mut tree, root, first.wire)?;
        tree.node_mut(root).view = View::from_wire(first.flags);
        let used = build_children(&mut tree, root, first.children, &records[1..])?;
        if used + 1 != records.len() {
            return Err(ReplayError::BadStructure(
                "keyframe records are not one tree",
            ));
        }
        diff::prepare_identity(&mut tree);
        let actual = tree.fingerprint();
        self.tree = tree;
        if actual != meta.fingerprint {
            return Err(ReplayError::FingerprintMismatch {
                expected: meta.fingerprint,
                actual,
            });
        }
        observer.keyframe(records);
        self.sanitized = meta.sanitized;
        #[cfg(debug_assertions)]
        self.tree.check_invariants();
        self.seq = Some(meta.seq);
        self.in_sync = true;
        Ok(())
    }

    /// Applies a delta's mutations, in order, then checks the fingerprint.
    pub fn apply_delta<'m>(
        &mut self,
        meta: &FrameMeta,
        mutations: impl IntoIterator<Item = MutationRef<'m>>,
        observer: &mut dyn ReplayObserver,
    ) -> Result<(), ReplayError> {
        if self.opts.require_sanitized && !meta.sanitized {
            return Err(ReplayError::Unsanitized);
        }
        if !self.in_sync {
            return Err(ReplayError::Desynchronized);
        }
        if self.seq != Some(meta.base_seq) {
            return Err(ReplayError::SequenceGap {
                have: self.seq,
                base: meta.base_seq,
            });
        }
        self.in_sync = false;
        // Parents whose content-document rule is checked once the whole delta is applied (a
        // navigation inserts the new document before the old one is removed).
        let mut frame_parents: Vec<WireId> = Vec::new();
        // Elements whose attributes or flags changed: checked once the delta is applied (a
        // delta may change an element's attributes before its flags, in either direction).
        let mut touched: Vec<WireId> = Vec::new();
        for m in mutations {
            self.note_frame_parent(&m, &mut frame_parents);
            self.apply_one(&m)?;
            if let MutationRef::SetAttr { node, .. } | MutationRef::SetFlags { node, .. } = &m {
                touched.push(*node);
            }
            observer.mutation(&m);
        }
        for w in frame_parents {
            if let Some(p) = self.tree.node_by_wire(w)
                && !self.tree.content_documents_fit(p)
            {
                return Err(ReplayError::BadStructure(
                    "a document outside an iframe or beside other children",
                ));
            }
        }
        for w in touched {
            if let Some(n) = self.tree.node_by_wire(w)
                && !placeholder_is_valid(&self.tree, n)
            {
                return Err(ReplayError::BadStructure(
                    "a blocked element carries a non-placeholder attribute",
                ));
            }
        }
        // The refresh's working buffers are this thread's, reused from delta to delta: no
        // allocation per delta, and no memory per mirror (a relay holds thousands).
        REFRESH_SCRATCH.with_borrow_mut(|scratch| {
            diff::refresh_identity_with(&mut self.tree, scratch);
        });
        let actual = self.tree.fingerprint();
        if actual != meta.fingerprint {
            return Err(ReplayError::FingerprintMismatch {
                expected: meta.fingerprint,
                actual,
            });
        }
        #[cfg(debug_assertions)]
        self.tree.check_invariants();
        self.sanitized &= meta.sanitized;
        self.seq = Some(meta.seq);
        self.in_sync = true;
        Ok(())
    }

    fn node(&self, w: WireId) -> Result<NodeId, ReplayError> {
        self.tree
            .node_by_wire(w)
            .ok_or(ReplayError::UnknownNode(w.0))
    }

    fn check_prev(
        &self,
        parent: NodeId,
        prev: Option<WireId>,
    ) -> Result<Option<NodeId>, ReplayError> {
        match prev {
            None => Ok(None),
            Some(w) => {
                let p = self.node(w)?;
                if self.tree.parent(p) != Some(parent) {
                    return Err(ReplayError::BadStructure(
                        "previous sibling is not a child of the parent",
                    ));
                }
                Ok(Some(p))
            }
        }
    }

    /// Notes the parent of an insert or move that involves an iframe or a document.
    fn note_frame_parent(&self, m: &MutationRef<'_>, out: &mut Vec<WireId>) {
        let (parent, doc) = match m {
            MutationRef::Insert { parent, nodes, .. } => (
                *parent,
                nodes
                    .first()
                    .is_some_and(|r| matches!(r.data, RecordDataRef::Document { .. })),
            ),
            MutationRef::Move { node, parent, .. } => (
                *parent,
                self.tree
                    .node_by_wire(*node)
                    .is_some_and(|n| self.tree.is_document(n)),
            ),
            _ => return,
        };
        let iframe = self
            .tree
            .node_by_wire(parent)
            .is_some_and(|p| is_iframe(&self.tree, p));
        if doc || iframe {
            out.push(parent);
        }
    }

    fn apply_one(&mut self, m: &MutationRef<'_>) -> Result<(), ReplayError> {
        match m {
            MutationRef::Insert {
                parent,
                prev,
                nodes,
            } => {
                let parent = self.node(*parent)?;
                let prev = self.check_prev(parent, *prev)?;
                let first = nodes
                    .first()
                    .ok_or(ReplayError::BadStructure("empty insert"))?;
                if self.tree.len() + nodes.len() > self.opts.max_nodes {
                    return Err(ReplayError::BadStructure("too many nodes"));
                }
                let top = create_node(&mut self.tree, first)?;
                let used = match build_children(&mut self.tree, top, first.children, &nodes[1..]) {
                    Ok(u) => u,
                    Err(e) => {
                        self.tree.remove(top);
                        return Err(e);
                    }
                };
                if used + 1 != nodes.len() {
                    self.tree.remove(top);
                    return Err(ReplayError::BadStructure(
                        "insert records are not one subtree",
                    ));
                }
                self.tree.insert_after(parent, prev, top);
            }
            MutationRef::Remove { node } => {
                let n = self.node(*node)?;
                if n == self.tree.root() {
                    return Err(ReplayError::BadStructure("cannot remove the root"));
                }
                self.tree.remove(n);
            }
            MutationRef::Move { node, parent, prev } => {
                let n = self.node(*node)?;
                let parent = self.node(*parent)?;
                if n == self.tree.root() || self.tree.is_inclusive_ancestor(n, parent) {
                    return Err(ReplayError::BadStructure("move would create a cycle"));
                }
                let prev = self.check_prev(parent, *prev)?;
                if prev == Some(n) {
                    return Err(ReplayError::BadStructure("node cannot follow itself"));
                }
                self.tree.insert_after(parent, prev, n);
            }
            MutationRef::SetAttr { node, name, value } => {
                let n = self.node(*node)?;
                if !self.tree.set_attr(n, name.to_qual_name(), value) {
                    return Err(ReplayError::BadStructure("attribute on a non-element"));
                }
            }
            MutationRef::RemoveAttr { node, name } => {
                let n = self.node(*node)?;
                if self.tree.element(n).is_none() {
                    return Err(ReplayError::BadStructure("attribute on a non-element"));
                }
                self.tree.remove_attr(n, &name.to_qual_name());
            }
            MutationRef::SetText { node, text } => {
                let n = self.node(*node)?;
                if !self.tree.set_character_data(n, text) {
                    return Err(ReplayError::BadStructure(
                        "text on a node without character data",
                    ));
                }
            }
            MutationRef::SetProp { node, prop } => {
                let n = self.node(*node)?;
                let prop = match prop {
                    PropRef::Value(v) => Prop::Value(v.map(str::to_owned)),
                    PropRef::Checked(v) => Prop::Checked(*v),
                    PropRef::Selected(v) => Prop::Selected(*v),
                    PropRef::Scroll(v) => Prop::Scroll(*v),
                    PropRef::Viewport(v) => Prop::Viewport(*v),
                    PropRef::PixelRatio(v) => Prop::PixelRatio(*v),
                };
                if !self.tree.set_prop(n, prop) {
                    return Err(ReplayError::BadStructure(
                        "property on the wrong kind of node",
                    ));
                }
            }
            MutationRef::SetFlags { node, flags } => {
                let n = self.node(*node)?;
                self.tree.mark_dirty(n);
                self.tree.node_mut(n).view = View::from_wire(*flags);
            }
        }
        Ok(())
    }
}

fn is_iframe(tree: &Tree, id: NodeId) -> bool {
    tree.element(id)
        .is_some_and(|e| e.is_html(&markup5ever::local_name!("iframe")))
}

/// Whether `n`, if it is a blocked element, carries only placeholder attributes (see
/// `crate::rules::placeholder`).
fn placeholder_is_valid(tree: &Tree, n: NodeId) -> bool {
    if !tree.node(n).view.is_blocked() {
        return true;
    }
    tree.element(n).is_none_or(|e| {
        e.attrs.iter().all(|a| {
            crate::rules::placeholder::is_placeholder_attribute(
                a.name.ns == markup5ever::ns!(),
                &a.name.local,
                &a.value,
            )
        })
    })
}

fn bind_wire(tree: &mut Tree, id: NodeId, w: WireId) -> Result<(), ReplayError> {
    if !w.is_assigned() || tree.node_by_wire(w).is_some() {
        return Err(ReplayError::BadId(w.0));
    }
    tree.set_wire_id(id, w);
    Ok(())
}

fn create_node(tree: &mut Tree, r: &RecordRef<'_>) -> Result<NodeId, ReplayError> {
    let data = match &r.data {
        // A content document: where it may go is checked by the caller.
        RecordDataRef::Document {
            viewport,
            pixel_ratio,
        } => NodeData::Document {
            viewport: *viewport,
            pixel_ratio: *pixel_ratio,
        },
        RecordDataRef::Fragment => NodeData::Fragment,
        RecordDataRef::Doctype {
            name,
            public_id,
            system_id,
        } => Doctype::node(*name, *public_id, *system_id),
        RecordDataRef::Element { name, attrs, props } => {
            let props = Props {
                value: props.value.map(str::to_owned),
                checked: props.checked,
                selected: props.selected,
                scroll: props.scroll,
                rendered: None,
            };
            NodeData::Element(Box::new(ElementData {
                name: name.to_qual_name(),
                attrs: attrs
                    .iter()
                    .map(|(n, v)| Attr {
                        name: n.to_qual_name(),
                        value: (*v).into(),
                    })
                    .collect(),
                props: (!props.is_empty()).then(|| Box::new(props)),
            }))
        }
        RecordDataRef::Text(t) => NodeData::Text((*t).into()),
        RecordDataRef::Comment(t) => NodeData::comment(*t),
    };
    let id = tree.create(data);
    if let Err(e) = bind_wire(tree, id, r.wire) {
        tree.remove(id);
        return Err(e);
    }
    tree.node_mut(id).view = View::from_wire(r.flags);
    Ok(id)
}

/// Builds `count` children of `parent` from pre-order records; returns how many records it
/// consumed. Iterative (pages nest deeper than the stack allows).
fn build_children(
    tree: &mut Tree,
    parent: NodeId,
    count: u32,
    records: &[RecordRef<'_>],
) -> Result<usize, ReplayError> {
    let mut stack: Vec<(NodeId, u32)> = vec![(parent, count)];
    let mut i = 0usize;
    while let Some(top) = stack.last_mut() {
        if top.1 == 0 {
            stack.pop();
            continue;
        }
        top.1 -= 1;
        let (p, left) = (top.0, top.1);
        let r = records
            .get(i)
            .ok_or(ReplayError::BadStructure("records end early"))?;
        i += 1;
        let id = create_node(tree, r)?;
        if tree.is_document(id)
            && !(left == 0 && tree.first_child(p).is_none() && is_iframe(tree, p))
        {
            tree.remove(id);
            return Err(ReplayError::BadStructure(
                "a document outside an iframe or beside other children",
            ));
        }
        tree.append(p, id);
        if r.children > 0 {
            if r.children as usize > records.len() - i {
                return Err(ReplayError::BadStructure("children count exceeds records"));
            }
            stack.push((id, r.children));
        }
    }
    Ok(i)
}

/// A shadow mirror's tree built from the records of a keyframe that its own capture encodes
/// in steps ([`crate::Capture`]'s first keyframe of a large page), record by record as the
/// encoder takes them, instead of decoding the finished frame: the same records make the same
/// tree. Then its fingerprints are computed in steps (children first: the nodes in reverse
/// creation order, which is pre-order), and [`ShadowBuild::install`] makes it the mirror's.
///
/// Invariants (debug-asserted): records arrive in pre-order and form one tree; the tree is
/// complete before the first fingerprint step; it is installed only when every node is hashed,
/// and its root fingerprint is then the frame header's.
pub(crate) struct ShadowBuild {
    tree: Tree,
    /// (parent, children of it still to come), innermost last.
    open: Vec<(NodeId, u32)>,
    /// Every node in creation order (pre-order).
    order: Vec<NodeId>,
    /// Nodes of `order`, from its end, whose fingerprints are computed.
    hashed: usize,
}

impl ShadowBuild {
    /// A tree holding the root record (a document or fragment), with room for `nodes` records
    /// in all (the keyframe's count as far as known: its arena, wire index and order grow past
    /// it only if more come, and hold no slack if not).
    pub(crate) fn new(root: &NodeRecord, nodes: usize) -> ShadowBuild {
        let mut tree = match &root.data {
            RecordData::Document {
                viewport,
                pixel_ratio,
            } => {
                let mut t = Tree::new_document();
                let r = t.root();
                t.set_prop(r, Prop::Viewport(*viewport));
                t.set_prop(r, Prop::PixelRatio(*pixel_ratio));
                t
            }
            RecordData::Fragment => Tree::new_fragment(),
            _ => panic!("a keyframe's root record is a document or a fragment"),
        };
        tree.ensure_wire_index();
        tree.reserve_exact(nodes);
        let r = tree.root();
        bind_wire(&mut tree, r, root.wire).expect("a fresh tree takes the root's wire id");
        tree.node_mut(r).view = View::from_wire(root.flags);
        let open = if root.children > 0 {
            vec![(r, root.children)]
        } else {
            Vec::new()
        };
        ShadowBuild {
            tree,
            open,
            order: {
                let mut order = Vec::with_capacity(nodes.max(1));
                order.push(r);
                order
            },
            hashed: 0,
        }
    }

    /// Adds the next record in pre-order.
    pub(crate) fn push(&mut self, r: NodeRecord) {
        let top = self
            .open
            .last_mut()
            .expect("a record past the end of the keyframe's tree");
        top.1 -= 1;
        let parent = top.0;
        if top.1 == 0 {
            self.open.pop();
        }
        let data = match r.data {
            RecordData::Document {
                viewport,
                pixel_ratio,
            } => NodeData::Document {
                viewport,
                pixel_ratio,
            },
            RecordData::Fragment => NodeData::Fragment,
            RecordData::Doctype {
                name,
                public_id,
                system_id,
            } => Doctype::node(name, public_id, system_id),
            RecordData::Element { name, attrs, props } => {
                let props = Props {
                    rendered: None,
                    ..props
                };
                NodeData::Element(Box::new(ElementData {
                    name,
                    attrs: attrs
                        .into_iter()
                        .map(|(name, value)| Attr {
                            name,
                            value: value.into(),
                        })
                        .collect(),
                    props: (!props.is_empty()).then(|| Box::new(props)),
                }))
            }
            RecordData::Text(t) => NodeData::Text(t.into()),
            RecordData::Comment(t) => NodeData::comment(t),
        };
        let id = self.tree.create(data);
        bind_wire(&mut self.tree, id, r.wire).expect("a keyframe's wire ids are unique");
        self.tree.node_mut(id).view = View::from_wire(r.flags);
        self.tree.append(parent, id);
        self.order.push(id);
        if r.children > 0 {
            self.open.push((id, r.children));
        }
    }

    /// Whether every record of the tree was pushed.
    pub(crate) fn is_built(&self) -> bool {
        self.open.is_empty()
    }

    /// Takes every node's fingerprints from the live node it was recorded from (`live_order`,
    /// in the order of the records): a record is the live node as projected, and the shadow
    /// hashes it unprojected, so the values are the same; `hash_step` then has nothing left.
    /// `live`'s fingerprints must be current. Debug builds hash the shadow to check.
    pub(crate) fn copy_fingerprints(&mut self, live: &Tree, live_order: &[NodeId]) {
        debug_assert!(self.is_built(), "fingerprints of a tree still being built");
        debug_assert_eq!(
            self.order.len(),
            live_order.len(),
            "one live node per record"
        );
        for (&s, &l) in self.order.iter().zip(live_order) {
            let from = live.node(l);
            let (self_hash, tree_hash, id_hash, fp_pos) =
                (from.self_hash, from.tree_hash, from.id_hash, from.fp_pos);
            let to = self.tree.node_mut(s);
            to.self_hash = self_hash;
            to.tree_hash = tree_hash;
            to.id_hash = id_hash;
            // (A recorded node's place among its parent's visible children is the same in
            // the shadow, which holds the visible children only; the root's is not used.)
            to.fp_pos = fp_pos;
        }
        self.hashed = self.order.len();
        #[cfg(debug_assertions)]
        {
            let mut hashed = self.tree.clone();
            diff::fingerprint::fingerprint_all(&mut hashed, &crate::rules::Projection::identity());
            for &s in &self.order {
                let (a, b) = (self.tree.node(s), hashed.node(s));
                debug_assert_eq!(
                    (a.self_hash, a.tree_hash, a.id_hash, a.fp_pos),
                    (b.self_hash, b.tree_hash, b.id_hash, b.fp_pos),
                    "a fingerprint copied from the live tree differs from the shadow's own"
                );
            }
        }
    }

    /// Computes the fingerprints of up to `max_nodes` more nodes; returns whether all are done.
    pub(crate) fn hash_step(&mut self, max_nodes: usize) -> bool {
        debug_assert!(self.is_built(), "fingerprints of a tree still being built");
        let proj = crate::rules::Projection::identity();
        let mut buf = Vec::with_capacity(256);
        let end = self.order.len() - self.hashed;
        let start = end.saturating_sub(max_nodes);
        for &id in self.order[start..end].iter().rev() {
            diff::fingerprint::fingerprint_one(&mut self.tree, id, &proj, &mut buf);
        }
        self.hashed += end - start;
        self.hashed == self.order.len()
    }

    /// Makes the built tree `mirror`'s, as after applying the keyframe `meta` describes.
    pub(crate) fn install(mut self, mirror: &mut Mirror, meta: &FrameMeta) {
        debug_assert!(
            self.is_built() && self.hashed == self.order.len(),
            "a shadow installed before it was built and hashed"
        );
        diff::fingerprint::finish_fingerprints(&mut self.tree);
        debug_assert_eq!(
            self.tree.fingerprint(),
            meta.fingerprint,
            "the shadow built from the records differs from the page"
        );
        #[cfg(debug_assertions)]
        self.tree.check_invariants();
        mirror.tree = self.tree;
        mirror.sanitized = meta.sanitized;
        mirror.seq = Some(meta.seq);
        mirror.in_sync = true;
    }
}

#[allow(dead_code)]
fn _qual(_: QualName) {}

impl Mirror {
    /// Validates `bytes` as a frame (zero-copy) and applies it. Returns its header.
    pub fn apply_frame(
        &mut self,
        bytes: &[u8],
        observer: &mut dyn ReplayObserver,
    ) -> Result<crate::wire::frame::FrameHeader, ReplayError> {
        let view = crate::wire::frame::FrameView::access(bytes).map_err(|e| {
            self.in_sync = false;
            ReplayError::Frame(e.to_string())
        })?;
        let h = view.header();
        let meta = FrameMeta::of(&h);
        match h.kind {
            crate::wire::frame::FrameKind::Keyframe => {
                let records: Vec<RecordRef<'_>> = view.records().collect();
                self.apply_keyframe(&meta, &records, observer)?;
            }
            crate::wire::frame::FrameKind::Delta => {
                self.apply_delta(&meta, view.mutations(), observer)?
            }
        }
        Ok(h)
    }
}
