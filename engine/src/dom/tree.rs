//! The arena DOM tree that every other part of the engine works on.
//!
//! Invariants (checked by [`Tree::check_invariants`] in debug builds and tests):
//! - every node reachable from the root has consistent `parent` / sibling links: `a.next == b`
//!   iff `b.prev == a`, both have the same parent, and the parent's `first`/`last` are the ends;
//! - freed slots are never reachable from the root, and are reused by later allocations;
//! - a node's [`WireId`], once assigned, never changes while the node is in the tree, and no two
//!   live nodes share a wire id (the wire index, when built, maps each to its node);
//! - a `<template>` element has exactly one child, a [`NodeData::Fragment`] holding its contents;
//! - a [`NodeData::Document`] below the root is a *content document*: the document of a
//!   same-origin `<iframe>`, the only child of an HTML `iframe` element (see
//!   [`Tree::content_documents_fit`]). Nothing else holds a document, and an iframe holding one
//!   holds nothing else. Its subtree is an ordinary document subtree (doctype, `<html>`).
//!
//! Node ids ([`NodeId`]) are arena indices: cheap, but only meaningful within one tree and
//! reused after removal. Wire ids are the identity that crosses the wire and survives edits.

use std::collections::HashMap;

use crate::dom::wire_index::WireIndex;
use std::hash::BuildHasherDefault;

use markup5ever::{LocalName, QualName, local_name, ns};

/// An index into a [`Tree`]'s arena.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    pub(crate) const NONE: u32 = u32::MAX;
    /// The arena index, for callers that keep side tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The identity of a node shared by the capturing side and every mirror.
///
/// `0` is reserved for "not assigned yet" (a freshly parsed tree); assigned ids are positive
/// and never reused within one session.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct WireId(pub u32);

impl WireId {
    /// The "no id yet" value.
    pub const UNASSIGNED: WireId = WireId(0);
    /// Whether the id was assigned.
    pub fn is_assigned(self) -> bool {
        self.0 != 0
    }
}

/// One attribute: a qualified name and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// The attribute's name (namespace matters for `xlink:href` and friends).
    pub name: QualName,
    /// The value, unescaped (short values are stored inline, without an allocation).
    pub value: Text,
}

/// The string type of text, comments and attribute values: up to 24 bytes inline, longer ones
/// on the heap. Most attribute values and many text nodes of real pages fit inline.
pub type Text = compact_str::CompactString;

/// Attributes of one element, in document order. A plain vector: an element without
/// attributes holds no heap, and lists built from a known count (a parse, a frame) are
/// allocated at exactly their length.
pub type Attrs = Vec<Attr>;

/// Live state that HTML attributes only give the initial value of.
///
/// `None` everywhere means "as the markup says"; the browser capture sets fields as the user
/// types, checks, selects and scrolls, and the replayer restores them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Props {
    /// `input.value` / `textarea.value` / `select.value`.
    pub value: Option<String>,
    /// `input.checked` for checkboxes and radios.
    pub checked: Option<bool>,
    /// `option.selected`.
    pub selected: Option<bool>,
    /// Element scroll offsets (`scrollLeft`, `scrollTop`) in CSS pixels.
    pub scroll: Option<(i32, i32)>,
    /// The rendered box the page reported (capture side only: it shapes a blocked element's
    /// placeholder and is never sent as a prop; the projection leaves it out).
    pub rendered: Option<crate::dom::rendered::Rendered>,
}

impl Props {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.value.is_none()
            && self.checked.is_none()
            && self.selected.is_none()
            && self.scroll.is_none()
            && self.rendered.is_none()
    }
}

/// One property assignment, as the diff carries it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Prop {
    /// Sets or clears (back to the markup's value) `value`.
    Value(Option<String>),
    /// Sets or clears `checked`.
    Checked(Option<bool>),
    /// Sets or clears `selected`.
    Selected(Option<bool>),
    /// Sets or clears the scroll offsets.
    Scroll(Option<(i32, i32)>),
    /// The document's viewport size (only on the document node).
    Viewport(Option<(u32, u32)>),
    /// The document's device pixel ratio in thousandths (only on the document node).
    PixelRatio(Option<u32>),
}

/// An element's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElementData {
    /// Qualified name (namespace: HTML, SVG or MathML).
    pub name: QualName,
    /// Attributes in source order.
    pub attrs: Attrs,
    /// Live state; `None` when nothing was set beyond the markup.
    pub props: Option<Box<Props>>,
}

impl ElementData {
    /// The value of the attribute with this local name and no namespace.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name.ns == ns!() && &*a.name.local == local)
            .map(|a| a.value.as_str())
    }

    /// Whether this is the HTML element with that local name.
    pub fn is_html(&self, local: &LocalName) -> bool {
        self.name.ns == ns!(html) && self.name.local == *local
    }
}

/// A doctype's data: `<!DOCTYPE name PUBLIC "public_id" "system_id">`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Doctype {
    /// Usually `html`.
    pub name: String,
    /// Public identifier (empty when absent).
    pub public_id: String,
    /// System identifier (empty when absent).
    pub system_id: String,
}

impl Doctype {
    /// The node data of a doctype with these identifiers.
    pub fn node(
        name: impl Into<String>,
        public_id: impl Into<String>,
        system_id: impl Into<String>,
    ) -> NodeData {
        NodeData::Doctype(Box::new(Doctype {
            name: name.into(),
            public_id: public_id.into(),
            system_id: system_id.into(),
        }))
    }
}

/// What a node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeData {
    /// The root of a parsed document.
    Document {
        /// Viewport size in CSS pixels, set by the capture.
        viewport: Option<(u32, u32)>,
        /// Device pixel ratio in thousandths (`2000` = 2x), set by the capture.
        pixel_ratio: Option<u32>,
    },
    /// A document fragment: the root of a parsed fragment, or a template's contents.
    Fragment,
    /// `<!DOCTYPE name PUBLIC "public_id" "system_id">` (boxed: a page has one, and its three
    /// strings inline would make every node's data as large as they are).
    Doctype(Box<Doctype>),
    /// An element.
    Element(Box<ElementData>),
    /// A text node.
    Text(Text),
    /// A comment (boxed: comments are rare, and a second variant holding a [`Text`] inline
    /// would make every node's data 8 bytes larger; see [`NodeData::comment`]).
    Comment(Box<Text>),
}

/// The kind of a node without its data.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum NodeKind {
    /// See [`NodeData::Document`].
    Document = 0,
    /// See [`NodeData::Fragment`].
    Fragment = 1,
    /// See [`NodeData::Doctype`].
    Doctype = 2,
    /// See [`NodeData::Element`].
    Element = 3,
    /// See [`NodeData::Text`].
    Text = 4,
    /// See [`NodeData::Comment`].
    Comment = 5,
}

impl NodeData {
    /// The kind of this node.
    pub fn kind(&self) -> NodeKind {
        match self {
            NodeData::Document { .. } => NodeKind::Document,
            NodeData::Fragment => NodeKind::Fragment,
            NodeData::Doctype(_) => NodeKind::Doctype,
            NodeData::Element(_) => NodeKind::Element,
            NodeData::Text(_) => NodeKind::Text,
            NodeData::Comment(_) => NodeKind::Comment,
        }
    }

    /// The element data, if an element.
    pub fn as_element(&self) -> Option<&ElementData> {
        match self {
            NodeData::Element(e) => Some(e),
            _ => None,
        }
    }

    /// Text or comment data.
    pub fn character_data(&self) -> Option<&str> {
        match self {
            NodeData::Text(t) => Some(t),
            NodeData::Comment(t) => Some(t),
            _ => None,
        }
    }

    /// A comment node's data.
    pub fn comment(text: impl Into<Text>) -> NodeData {
        NodeData::Comment(Box::new(text.into()))
    }
}

/// One arena slot.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) parent: u32,
    pub(crate) first_child: u32,
    pub(crate) last_child: u32,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) wire: WireId,
    /// Hash of this node alone (its own data, not its children), as the agent would see it.
    pub(crate) self_hash: u64,
    /// Hash of the subtree rooted here.
    pub(crate) tree_hash: u64,
    /// Order-sensitive hash of the wire ids of the visible subtree rooted here: with equal
    /// `tree_hash`es, equal `id_hash`es mean the two subtrees are the same nodes.
    pub(crate) id_hash: u64,
    /// This node's place among its parent's visible children when the parent's fingerprints
    /// were last combined from all of them, or [`NodeId::NONE`] if it was not one of them:
    /// the position its hashes were weighed with there, so that a change of its hashes
    /// updates the parent's without visiting its siblings (see [`crate::diff::fingerprint`]).
    pub(crate) fp_pos: u32,
    /// Privacy / sanitizer view of this node, see [`crate::rules`].
    pub(crate) view: crate::dom::view::View,
    pub(crate) data: NodeData,
}

impl Node {
    pub(crate) fn new(data: NodeData) -> Node {
        Node {
            parent: NodeId::NONE,
            first_child: NodeId::NONE,
            last_child: NodeId::NONE,
            prev: NodeId::NONE,
            next: NodeId::NONE,
            wire: WireId::UNASSIGNED,
            self_hash: 0,
            tree_hash: 0,
            id_hash: 0,
            fp_pos: NodeId::NONE,
            view: crate::dom::view::View::PLAIN,
            data,
        }
    }
}

#[derive(Default, Clone)]
pub(crate) struct U32Hasher(u64);
impl std::hash::Hasher for U32Hasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
/// A map keyed by node index (or any small integer key), hashed by [`U32Hasher`]: the diff's
/// and the capture's per-batch maps of node indexes (a keyed SipHash costs more than the rest
/// of an insert; node indexes are the arena's, not chosen by the page).
pub(crate) type NodeMap<V> = HashMap<u32, V, BuildHasherDefault<U32Hasher>>;
/// Wire id -> node index ([`NodeMap`]).
pub(crate) type WireMap = NodeMap<u32>;
/// A set of node indexes (see [`NodeMap`]).
pub(crate) type NodeSet = std::collections::HashSet<u32, BuildHasherDefault<U32Hasher>>;

/// HTML void elements: no end tag, no content (what the serializer writes without an end tag
/// and what the sanitizer knows can hold no children after a re-parse).
pub(crate) fn is_void_element(local: &str) -> bool {
    matches!(
        local,
        "area"
            | "base"
            | "basefont"
            | "bgsound"
            | "br"
            | "col"
            | "embed"
            | "frame"
            | "hr"
            | "img"
            | "input"
            | "keygen"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// How many slots a full arena of `len` slots grows by: doubling while small, then by a
/// quarter, so that one node added to a large mirror that was built at its exact size costs
/// a quarter more memory, not twice as much (amortized O(1) per node either way).
fn arena_growth(len: usize) -> usize {
    const DOUBLING_UP_TO: usize = 4096;
    if len < DOUBLING_UP_TO {
        len.max(8)
    } else {
        len / 4
    }
}

/// Why a node's fingerprints are stale.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Dirty {
    /// Its child list changed: recombine from the children's hashes.
    Children,
    /// Its own data changed (attributes, text, props, flags, wire id).
    Data,
    /// It was (re)attached: hash the whole subtree.
    Subtree,
}

/// An arena DOM tree: a document or a fragment.
#[derive(Clone)]
pub struct Tree {
    pub(crate) nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    /// The next wire id to hand out; always greater than every assigned id.
    pub(crate) next_wire: u32,
    /// wire id -> node index, for assigned ids; `None` until first needed.
    wire_index: Option<WireIndex>,
    /// Nodes whose fingerprints must be recomputed, and why (see [`crate::diff::fingerprint`]).
    pub(crate) dirty: Vec<(u32, Dirty)>,
    /// Whether fingerprints were ever computed for the whole tree.
    pub(crate) fingerprinted: bool,
    /// Whether the HTML parser made this tree (see [`Tree::is_parser_made`]).
    pub(crate) parser_made: bool,
}

/// Without the `html` feature a tree prints as its size (with it, as HTML: see
/// `dom::serialize`).
#[cfg(not(feature = "html"))]
impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tree({} nodes)", self.len())
    }
}

impl Tree {
    /// A tree holding only an empty document node.
    pub fn new_document() -> Tree {
        Tree::with_root(NodeData::Document {
            viewport: None,
            pixel_ratio: None,
        })
    }

    /// A tree holding only an empty fragment node.
    pub fn new_fragment() -> Tree {
        Tree::with_root(NodeData::Fragment)
    }

    fn with_root(data: NodeData) -> Tree {
        Tree {
            nodes: vec![Node::new(data)],
            free: Vec::new(),
            root: 0,
            next_wire: 1,
            wire_index: None,
            dirty: Vec::new(),
            fingerprinted: false,
            parser_made: false,
        }
    }

    /// Whether the HTML parser made this tree (`dom::parse`), edited or not since, as opposed
    /// to a tree built through the tree-edit API (a live DOM captured in a browser, a decoded
    /// frame). The sanitizer keeps element nestings the parser never makes (a `div` in a `p`,
    /// an `li` in an `li`) out of a parser-made tree, so that its `to_html` parses back
    /// exactly; a live DOM holds such nestings whenever a script made them, and a mirror
    /// built by DOM calls shows them as they are (see `rules::sanitize`).
    pub fn is_parser_made(&self) -> bool {
        self.parser_made
    }

    /// The root node (document or fragment).
    pub fn root(&self) -> NodeId {
        NodeId(self.root)
    }

    /// Number of live nodes.
    pub fn len(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    /// Never true: a tree always has its root.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Upper bound (exclusive) of node indices, for side tables.
    pub fn capacity_index(&self) -> usize {
        self.nodes.len()
    }

    /// Node slots the arena holds memory for (at least [`Tree::capacity_index`]): what a
    /// memory budget counts.
    pub fn slot_capacity(&self) -> usize {
        self.nodes.capacity()
    }

    /// Makes room for `additional` more nodes, in the arena and in the wire index if there is
    /// one, at exactly that size: a mirror calls it with a keyframe's record count, so that
    /// the tree it builds holds no growth slack.
    pub fn reserve_exact(&mut self, additional: usize) {
        let new_slots = additional.saturating_sub(self.free.len());
        self.nodes.reserve_exact(new_slots);
        if let Some(index) = &mut self.wire_index {
            index.reserve(&self.nodes, additional);
        }
    }

    #[inline]
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    #[inline]
    pub(crate) fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.0 as usize]
    }

    /// The node's data.
    #[inline]
    pub fn data(&self, id: NodeId) -> &NodeData {
        &self.node(id).data
    }

    /// The element data of `id`, if it is an element.
    #[inline]
    pub fn element(&self, id: NodeId) -> Option<&ElementData> {
        self.node(id).data.as_element()
    }

    #[inline]
    fn link(raw: u32) -> Option<NodeId> {
        (raw != NodeId::NONE).then_some(NodeId(raw))
    }

    /// Parent, if any.
    #[inline]
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        Self::link(self.node(id).parent)
    }
    /// First child, if any.
    #[inline]
    pub fn first_child(&self, id: NodeId) -> Option<NodeId> {
        Self::link(self.node(id).first_child)
    }
    /// Last child, if any.
    #[inline]
    pub fn last_child(&self, id: NodeId) -> Option<NodeId> {
        Self::link(self.node(id).last_child)
    }
    /// Next sibling, if any.
    #[inline]
    pub fn next_sibling(&self, id: NodeId) -> Option<NodeId> {
        Self::link(self.node(id).next)
    }
    /// Previous sibling, if any.
    #[inline]
    pub fn prev_sibling(&self, id: NodeId) -> Option<NodeId> {
        Self::link(self.node(id).prev)
    }

    /// Iterates over the children of `id`.
    pub fn children(&self, id: NodeId) -> Children<'_> {
        Children {
            tree: self,
            next: self.node(id).first_child,
        }
    }

    /// Pre-order iteration over `id` and its descendants.
    pub fn descendants(&self, id: NodeId) -> Descendants<'_> {
        Descendants {
            tree: self,
            root: id,
            next: Some(id),
        }
    }

    /// Whether `anc` is `id` or one of its ancestors.
    pub fn is_inclusive_ancestor(&self, anc: NodeId, mut id: NodeId) -> bool {
        loop {
            if id == anc {
                return true;
            }
            match self.parent(id) {
                Some(p) => id = p,
                None => return false,
            }
        }
    }

    /// The wire id of a node.
    #[inline]
    pub fn wire_id(&self, id: NodeId) -> WireId {
        self.node(id).wire
    }

    /// The next wire id this tree would hand out.
    pub fn next_wire_id(&self) -> WireId {
        WireId(self.next_wire)
    }

    /// Makes sure ids handed out later are at least `floor` (used when a tree continues a
    /// session started by another tree).
    pub fn reserve_wire_ids_from(&mut self, floor: WireId) {
        self.next_wire = self.next_wire.max(floor.0);
    }

    /// Hands out a fresh wire id.
    pub fn fresh_wire_id(&mut self) -> WireId {
        let w = WireId(self.next_wire);
        self.next_wire = self
            .next_wire
            .checked_add(1)
            .expect("wire id space exhausted");
        w
    }

    /// Assigns `wire` to `id`. The id must not be used by another live node.
    pub fn set_wire_id(&mut self, id: NodeId, wire: WireId) {
        let old = self.node(id).wire;
        if let Some(index) = &mut self.wire_index
            && old.is_assigned()
        {
            index.remove(&self.nodes, old.0, id.0);
        }
        self.node_mut(id).wire = wire;
        if let Some(index) = &mut self.wire_index
            && wire.is_assigned()
        {
            let prev = index.insert(&self.nodes, id.0);
            debug_assert!(prev.is_none(), "wire id {} used twice", wire.0);
        }
        self.mark(id, Dirty::Data);
        if wire.0 >= self.next_wire {
            self.next_wire = wire.0 + 1;
        }
    }

    /// Builds the wire index if it does not exist yet.
    pub fn ensure_wire_index(&mut self) {
        if self.wire_index.is_some() {
            return;
        }
        let mut index = WireIndex::with_capacity(self.len());
        for id in self.descendants(self.root()) {
            if self.node(id).wire.is_assigned() {
                index.insert(&self.nodes, id.0);
            }
        }
        self.wire_index = Some(index);
    }

    /// The live node with that wire id. Needs [`Tree::ensure_wire_index`] first; returns `None`
    /// without it.
    pub fn node_by_wire(&self, wire: WireId) -> Option<NodeId> {
        self.wire_index
            .as_ref()?
            .get(&self.nodes, wire.0)
            .map(NodeId)
    }

    /// Nodes in the wire index (0 without one): those with a wire id.
    pub fn indexed_wire_ids(&self) -> usize {
        self.wire_index.as_ref().map_or(0, WireIndex::len)
    }

    /// Whether the tree has a wire index ([`Tree::ensure_wire_index`]).
    pub fn has_wire_index(&self) -> bool {
        self.wire_index.is_some()
    }

    // ----- building and editing -------------------------------------------------------

    /// Allocates a detached node.
    pub fn create(&mut self, data: NodeData) -> NodeId {
        let node = Node::new(data);
        let id = if let Some(slot) = self.free.pop() {
            self.nodes[slot as usize] = node;
            slot
        } else {
            let i = self.nodes.len() as u32;
            assert!(i != NodeId::NONE, "tree too large");
            if self.nodes.len() == self.nodes.capacity() {
                self.nodes.reserve_exact(arena_growth(self.nodes.len()));
            }
            self.nodes.push(node);
            i
        };
        let id = NodeId(id);
        self.mark(id, Dirty::Subtree);
        id
    }

    /// Allocates a detached element. A `<template>` gets its contents fragment.
    pub fn create_element(&mut self, name: QualName, attrs: Attrs) -> NodeId {
        let is_template = name.ns == ns!(html) && name.local == local_name!("template");
        let id = self.create(NodeData::Element(Box::new(ElementData {
            name,
            attrs,
            props: None,
        })));
        if is_template {
            let contents = self.create(NodeData::Fragment);
            self.append(id, contents);
        }
        id
    }

    /// The content document of an HTML `<iframe>` element (its only child), if it has one.
    pub fn content_document(&self, id: NodeId) -> Option<NodeId> {
        let e = self.element(id)?;
        if !e.is_html(&local_name!("iframe")) {
            return None;
        }
        self.first_child(id)
            .filter(|&c| matches!(self.data(c), NodeData::Document { .. }))
    }

    /// Whether the children of `parent` respect the content-document rule (see the module
    /// docs): a document child only under an HTML `iframe`, and then as its only child.
    pub fn content_documents_fit(&self, parent: NodeId) -> bool {
        let mut docs = 0usize;
        let mut others = 0usize;
        for c in self.children(parent) {
            if matches!(self.data(c), NodeData::Document { .. }) {
                docs += 1;
            } else {
                others += 1;
            }
        }
        docs == 0
            || (docs == 1
                && others == 0
                && self
                    .element(parent)
                    .is_some_and(|e| e.is_html(&local_name!("iframe"))))
    }

    /// Whether `id` is the root or a content document (the top of a document's subtree).
    pub fn is_document(&self, id: NodeId) -> bool {
        matches!(self.data(id), NodeData::Document { .. })
    }

    /// The contents fragment of a `<template>` element.
    pub fn template_contents(&self, id: NodeId) -> Option<NodeId> {
        let e = self.element(id)?;
        if !e.is_html(&local_name!("template")) {
            return None;
        }
        self.first_child(id)
            .filter(|&c| matches!(self.data(c), NodeData::Fragment))
    }

    /// Detaches `id` from its parent (no-op when detached). The subtree stays allocated.
    pub fn detach(&mut self, id: NodeId) {
        let (parent, prev, next) = {
            let n = self.node(id);
            (n.parent, n.prev, n.next)
        };
        if parent == NodeId::NONE {
            return;
        }
        self.mark(NodeId(parent), Dirty::Children);
        if prev != NodeId::NONE {
            self.nodes[prev as usize].next = next;
        } else {
            self.nodes[parent as usize].first_child = next;
        }
        if next != NodeId::NONE {
            self.nodes[next as usize].prev = prev;
        } else {
            self.nodes[parent as usize].last_child = prev;
        }
        let n = self.node_mut(id);
        n.parent = NodeId::NONE;
        n.prev = NodeId::NONE;
        n.next = NodeId::NONE;
    }

    /// Appends `child` (detaching it first) as the last child of `parent`.
    pub fn append(&mut self, parent: NodeId, child: NodeId) {
        self.insert_after(parent, self.last_child(parent), child);
    }

    /// Inserts `child` (detaching it first) under `parent`, right after `prev`, or as the first
    /// child when `prev` is `None`. `prev` must be a child of `parent` other than `child`.
    pub fn insert_after(&mut self, parent: NodeId, prev: Option<NodeId>, child: NodeId) {
        debug_assert!(prev != Some(child));
        debug_assert!(!self.is_inclusive_ancestor(child, parent), "cycle");
        self.detach(child);
        let next = match prev {
            Some(p) => {
                debug_assert_eq!(self.node(p).parent, parent.0);
                self.node(p).next
            }
            None => self.node(parent).first_child,
        };
        {
            let c = self.node_mut(child);
            c.parent = parent.0;
            c.prev = prev.map_or(NodeId::NONE, |p| p.0);
            c.next = next;
        }
        match prev {
            Some(p) => self.node_mut(p).next = child.0,
            None => self.node_mut(parent).first_child = child.0,
        }
        if next != NodeId::NONE {
            self.nodes[next as usize].prev = child.0;
        } else {
            self.node_mut(parent).last_child = child.0;
        }
        self.mark(parent, Dirty::Children);
        self.mark(child, Dirty::Subtree);
    }

    /// Inserts `child` right before `sibling`.
    pub fn insert_before(&mut self, sibling: NodeId, child: NodeId) {
        let parent = self
            .parent(sibling)
            .expect("insert_before: sibling has no parent");
        let prev = self.prev_sibling(sibling);
        self.insert_after(parent, prev, child);
    }

    /// Detaches `id` and frees its whole subtree (slots are reused; wire ids leave the index).
    pub fn remove(&mut self, id: NodeId) {
        debug_assert!(id.0 != self.root, "cannot remove the root");
        self.detach(id);
        let mut stack = vec![id.0];
        while let Some(i) = stack.pop() {
            let mut c = self.nodes[i as usize].first_child;
            while c != NodeId::NONE {
                stack.push(c);
                c = self.nodes[c as usize].next;
            }
            let w = self.nodes[i as usize].wire;
            if let Some(index) = &mut self.wire_index
                && w.is_assigned()
            {
                index.remove(&self.nodes, w.0, i);
            }
            self.nodes[i as usize] = Node::new(NodeData::Fragment);
            self.free.push(i);
        }
    }

    /// Mutable access to an element's data (marks it dirty).
    pub fn element_mut(&mut self, id: NodeId) -> Option<&mut ElementData> {
        self.mark_dirty(id);
        match &mut self.node_mut(id).data {
            NodeData::Element(e) => Some(e),
            _ => None,
        }
    }

    /// Sets (or adds) an attribute. Returns false when `id` is not an element.
    pub fn set_attr(&mut self, id: NodeId, name: QualName, value: &str) -> bool {
        let Some(e) = self.element_mut(id) else {
            return false;
        };
        if let Some(a) = e.attrs.iter_mut().find(|a| same_name(&a.name, &name)) {
            if a.value != value {
                a.value.clear();
                a.value.push_str(value);
            }
        } else {
            e.attrs.push(Attr {
                name,
                value: value.into(),
            });
        }
        true
    }

    /// Removes an attribute; returns whether it was there.
    pub fn remove_attr(&mut self, id: NodeId, name: &QualName) -> bool {
        let Some(e) = self.element_mut(id) else {
            return false;
        };
        let before = e.attrs.len();
        e.attrs.retain(|a| !same_name(&a.name, name));
        before != e.attrs.len()
    }

    /// Replaces the data of a text or comment node; returns false for other kinds.
    pub fn set_character_data(&mut self, id: NodeId, text: &str) -> bool {
        self.mark_dirty(id);
        match &mut self.node_mut(id).data {
            NodeData::Text(t) => {
                t.clear();
                t.push_str(text);
                true
            }
            NodeData::Comment(t) => {
                t.clear();
                t.push_str(text);
                true
            }
            _ => false,
        }
    }

    /// Applies a property; returns false when it does not apply to this node kind.
    pub fn set_prop(&mut self, id: NodeId, prop: Prop) -> bool {
        self.mark_dirty(id);
        match (&mut self.node_mut(id).data, prop) {
            (NodeData::Document { viewport, .. }, Prop::Viewport(v)) => {
                *viewport = v;
                true
            }
            (NodeData::Document { pixel_ratio, .. }, Prop::PixelRatio(v)) => {
                *pixel_ratio = v;
                true
            }
            (NodeData::Element(e), prop) => {
                let props = e.props.get_or_insert_with(Default::default);
                match prop {
                    Prop::Value(v) => props.value = v,
                    Prop::Checked(v) => props.checked = v,
                    Prop::Selected(v) => props.selected = v,
                    Prop::Scroll(v) => props.scroll = v,
                    Prop::Viewport(_) | Prop::PixelRatio(_) => return false,
                }
                if props.is_empty() {
                    e.props = None;
                }
                true
            }
            _ => false,
        }
    }

    /// Records what the page reported of an element's rendered box (`None`: nothing known).
    /// Returns false for a node that is not an element. Marks the node dirty only when the
    /// value changes.
    pub fn set_rendered(
        &mut self,
        id: NodeId,
        rendered: Option<crate::dom::rendered::Rendered>,
    ) -> bool {
        let Some(e) = self.element(id) else {
            return false;
        };
        if e.props.as_ref().and_then(|p| p.rendered) == rendered {
            return true;
        }
        self.mark_dirty(id);
        let Some(e) = self.element_mut(id) else {
            return false;
        };
        let props = e.props.get_or_insert_with(Default::default);
        props.rendered = rendered;
        if props.is_empty() {
            e.props = None;
        }
        true
    }

    /// The element's live props, if any were set.
    pub fn props(&self, id: NodeId) -> Option<&Props> {
        self.element(id).and_then(|e| e.props.as_deref())
    }

    /// The document's viewport, if set.
    pub fn viewport(&self) -> Option<(u32, u32)> {
        match self.data(self.root()) {
            NodeData::Document { viewport, .. } => *viewport,
            _ => None,
        }
    }

    /// The document's device pixel ratio in thousandths, if set.
    pub fn pixel_ratio(&self) -> Option<u32> {
        match self.data(self.root()) {
            NodeData::Document { pixel_ratio, .. } => *pixel_ratio,
            _ => None,
        }
    }

    /// Copies the subtree at `src` of `from` into this tree (detached), keeping wire ids.
    pub fn import_subtree(&mut self, from: &Tree, src: NodeId) -> NodeId {
        let top = self.create(from.data(src).clone());
        self.set_wire_id(top, from.wire_id(src));
        let mut stack = vec![(src, top)];
        while let Some((s, d)) = stack.pop() {
            for c in from.children(s) {
                let nc = self.create(from.data(c).clone());
                self.set_wire_id(nc, from.wire_id(c));
                self.append(d, nc);
                stack.push((c, nc));
            }
        }
        let top_wire = self.node(top).wire;
        if top_wire.0 >= self.next_wire {
            self.next_wire = top_wire.0 + 1;
        }
        for id in self.descendants(top).collect::<Vec<_>>() {
            let w = self.node(id).wire.0;
            if w >= self.next_wire {
                self.next_wire = w + 1;
            }
        }
        top
    }

    #[inline]
    pub(crate) fn mark_dirty(&mut self, id: NodeId) {
        self.mark(id, Dirty::Data);
    }

    #[inline]
    pub(crate) fn mark(&mut self, id: NodeId, why: Dirty) {
        if self.fingerprinted {
            self.dirty.push((id.0, why));
        }
    }

    /// Checks the structural invariants stated in the module docs; panics with a description
    /// when one does not hold. Cost: O(n).
    pub fn check_invariants(&self) {
        if let Some(index) = &self.wire_index {
            index.check(&self.nodes);
        }
        let mut seen_wire = std::collections::HashSet::new();
        for id in self.descendants(self.root()) {
            let n = self.node(id);
            if n.wire.is_assigned() {
                assert!(
                    seen_wire.insert(n.wire.0),
                    "wire id {} used twice",
                    n.wire.0
                );
                assert!(
                    n.wire.0 < self.next_wire,
                    "wire id {} >= next_wire",
                    n.wire.0
                );
                if let Some(index) = &self.wire_index {
                    assert_eq!(
                        index.get(&self.nodes, n.wire.0),
                        Some(id.0),
                        "wire index stale for {}",
                        n.wire.0
                    );
                }
            }
            let mut prev = NodeId::NONE;
            let mut c = n.first_child;
            while c != NodeId::NONE {
                let cn = &self.nodes[c as usize];
                assert_eq!(cn.parent, id.0, "child's parent link broken");
                assert_eq!(cn.prev, prev, "prev link broken");
                prev = c;
                c = cn.next;
            }
            assert_eq!(n.last_child, prev, "last_child link broken");
            if let NodeData::Element(e) = &n.data
                && e.is_html(&local_name!("template"))
            {
                assert!(
                    self.template_contents(id).is_some(),
                    "template without contents"
                );
            }
            assert!(
                self.content_documents_fit(id),
                "a document child outside an iframe, or beside other children"
            );
        }
    }

    /// Tree equality as the DOM sees it: same kinds, names, attribute lists (in order: a
    /// swapped pair is a difference), character data, props and child lists. Wire ids are
    /// ignored.
    pub fn same_tree(&self, other: &Tree) -> bool {
        self.first_difference(other).is_none()
    }

    /// A description of the first difference between two trees, in pre-order; `None` when
    /// [`Tree::same_tree`] holds.
    pub fn first_difference(&self, other: &Tree) -> Option<String> {
        // No strings on the way: the path is only spelled out for the difference found.
        let mut stack = vec![(self.root(), other.root())];
        let mut ca = Vec::new();
        let mut cb = Vec::new();
        while let Some((a, b)) = stack.pop() {
            if let Some(d) = node_difference(self.data(a), other.data(b)) {
                return Some(format!("{}: {d}", self.path_of(a)));
            }
            ca.clear();
            cb.clear();
            ca.extend(self.children(a));
            cb.extend(other.children(b));
            if ca.len() != cb.len() {
                let show = |t: &Tree, v: &[NodeId]| {
                    v.iter()
                        .map(|&c| describe(t.data(c)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Some(format!(
                    "{}: {} children vs {}: [{}] vs [{}]",
                    self.path_of(a),
                    ca.len(),
                    cb.len(),
                    show(self, &ca),
                    show(other, &cb)
                ));
            }
            stack.extend(ca.iter().copied().zip(cb.iter().copied()).rev());
        }
        None
    }

    /// `/0:<html>/1:<body>/…`: child positions and names from the root down to `id`.
    fn path_of(&self, id: NodeId) -> String {
        let mut steps = Vec::new();
        let mut cur = id;
        while let Some(p) = self.parent(cur) {
            let i = self.children(p).position(|c| c == cur).unwrap_or(0);
            steps.push(format!("{i}:{}/", describe(self.data(cur))));
            cur = p;
        }
        steps.reverse();
        format!("/{}", steps.concat())
    }
}

/// Attribute identity as the DOM has it: namespace and local name (the prefix is cosmetic).
pub(crate) fn same_name(a: &QualName, b: &QualName) -> bool {
    a.local == b.local && a.ns == b.ns
}

fn describe(d: &NodeData) -> String {
    match d {
        NodeData::Element(e) => format!("<{}>", e.name.local),
        NodeData::Text(t) => format!("#text({:?})", t.chars().take(20).collect::<String>()),
        NodeData::Comment(_) => "#comment".into(),
        NodeData::Doctype(_) => "#doctype".into(),
        NodeData::Document { .. } => "#document".into(),
        NodeData::Fragment => "#fragment".into(),
    }
}

fn node_difference(a: &NodeData, b: &NodeData) -> Option<String> {
    match (a, b) {
        (NodeData::Element(x), NodeData::Element(y)) => {
            if x.name != y.name {
                return Some(format!("element {:?} vs {:?}", x.name.local, y.name.local));
            }
            // Attribute order is part of the tree: it is what `outerHTML` shows and what a
            // page's CSS attribute selectors and scripts iterating `attributes` observe.
            if x.attrs.len() != y.attrs.len()
                || !x
                    .attrs
                    .iter()
                    .zip(&y.attrs)
                    .all(|(a, b)| same_name(&a.name, &b.name) && a.value == b.value)
            {
                return Some(format!(
                    "attributes of <{}> differ: {:?} vs {:?}",
                    x.name.local, x.attrs, y.attrs
                ));
            }
            let px = x.props.as_deref().cloned().unwrap_or_default();
            let py = y.props.as_deref().cloned().unwrap_or_default();
            if px != py {
                return Some(format!(
                    "props of <{}> differ: {px:?} vs {py:?}",
                    x.name.local
                ));
            }
            None
        }
        _ if a == b => None,
        _ => Some(format!("{} vs {}", describe(a), describe(b))),
    }
}

/// Iterator over children.
pub struct Children<'a> {
    tree: &'a Tree,
    next: u32,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    #[inline]
    fn next(&mut self) -> Option<NodeId> {
        if self.next == NodeId::NONE {
            return None;
        }
        let id = NodeId(self.next);
        self.next = self.tree.node(id).next;
        Some(id)
    }
}

/// Pre-order iterator over a subtree.
pub struct Descendants<'a> {
    tree: &'a Tree,
    root: NodeId,
    next: Option<NodeId>,
}

impl Iterator for Descendants<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let id = self.next?;
        let t = self.tree;
        self.next = if let Some(c) = t.first_child(id) {
            Some(c)
        } else {
            let mut cur = id;
            loop {
                if cur == self.root {
                    break None;
                }
                if let Some(s) = t.next_sibling(cur) {
                    break Some(s);
                }
                match t.parent(cur) {
                    Some(p) => cur = p,
                    None => break None,
                }
            }
        };
        Some(id)
    }
}

/// A qualified name in the HTML namespace.
pub fn html_name(local: &str) -> QualName {
    QualName::new(None, ns!(html), LocalName::from(local))
}

/// A qualified attribute name with no namespace.
pub fn attr_name(local: &str) -> QualName {
    QualName::new(None, ns!(), LocalName::from(local))
}

#[cfg(test)]
mod equality_tests {
    use super::*;

    fn div_with(attrs: &[(&str, &str)]) -> Tree {
        let mut t = Tree::new_fragment();
        let d = t.create_element(html_name("div"), Default::default());
        for (n, v) in attrs {
            t.set_attr(d, attr_name(n), v);
        }
        let root = t.root();
        t.append(root, d);
        t
    }

    #[test]
    fn a_swapped_attribute_pair_is_a_difference() {
        let a = div_with(&[("id", "masthead"), ("class", "clearfix")]);
        let b = div_with(&[("class", "clearfix"), ("id", "masthead")]);
        assert!(a.same_tree(&a.clone()));
        assert!(!a.same_tree(&b));
        let d = a.first_difference(&b).expect("order differs");
        assert!(d.contains("attributes of <div> differ"), "{d}");
    }

    #[test]
    fn equal_attribute_lists_are_equal_and_values_count() {
        let a = div_with(&[("id", "x"), ("class", "y")]);
        assert!(a.same_tree(&div_with(&[("id", "x"), ("class", "y")])));
        assert!(!a.same_tree(&div_with(&[("id", "x"), ("class", "z")])));
        assert!(!a.same_tree(&div_with(&[("id", "x")])));
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    /// A relay holds one arena slot per node of every live session's page, so the slot's size
    /// is the mirror's memory (see `bindings/relay/src/budget.rs`). A new node kind or field
    /// that grows it should box its data, as the doctype and comments do.
    #[test]
    fn a_node_slot_stays_compact() {
        assert_eq!(std::mem::size_of::<NodeData>(), 24);
        // (88 since `fp_pos`, 4 bytes and 4 of alignment: a child's place among its parent's
        // visible children, which lets a refresh skip the siblings of an edited node.)
        assert_eq!(std::mem::size_of::<Node>(), 88);
        assert_eq!(std::mem::size_of::<ElementData>(), 56);
    }
}
