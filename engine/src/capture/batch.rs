//! A batch of live-DOM edits encoded by the browser, applied to the capture's live tree in one
//! call (one crossing of the JS/WASM boundary per batch, not one per node).
//!
//! The browser names its nodes by *handles* (non-zero `u32`s it hands out); [`NodeHandles`]
//! maps them to the tree's nodes. A batch is a flat `u32` op stream plus one string holding
//! every string operand back to back: a string operand in the op stream is its length in
//! UTF-16 code units (what JavaScript's `length` counts), or [`NULL_STR`] for "no string".
//! Strings are consumed from the text in op order.
//!
//! | op | operands |
//! |---|---|
//! | [`OP_BIND_DOCUMENT`] | handle (the tree's root) |
//! | [`OP_ELEMENT`] | handle, ns, local, n, n × (ns, local, value) |
//! | [`OP_TEXT`] / [`OP_COMMENT`] | handle, data |
//! | [`OP_DOCTYPE`] | handle, name, public id, system id |
//! | [`OP_TEMPLATE_CONTENTS`] | template handle, handle for its contents fragment |
//! | [`OP_SET_CHILDREN`] | parent, n, n × child (the parent's whole child list, in order) |
//! | [`OP_SET_ATTRS`] | handle, n, n × (ns, local, value) (the whole attribute list) |
//! | [`OP_SET_TEXT`] | handle, data |
//! | [`OP_VALUE`] | handle, value or null |
//! | [`OP_CHECKED`] / [`OP_SELECTED`] | handle, 0 / 1 / 2 (= not set) |
//! | [`OP_SCROLL`] | handle, has (0 = not set, 1 = set), x, y (as `i32` bits; always present) |
//! | [`OP_VIEWPORT`] | has (0 = not set, 1 = set), width, height (always present) |
//! | [`OP_DOCUMENT`] | handle (a detached content document: a same-origin iframe's) |
//! | [`OP_PIXEL_RATIO`] | has (0 = not set, 1 = set), device pixel ratio in thousandths (always present) |
//! | [`OP_RENDERED_BOX`] | handle, computed `display`, has (0 = not measurable, 1 = measured), width, height, margin top, right, bottom, left (hundredths of a CSS px; margins as `i32` bits; always present) |
//!
//! A content document is placed by its iframe's [`OP_SET_CHILDREN`], as the iframe's only
//! child (the tree's content-document rule; anything else is refused); a navigation of the
//! iframe is a new [`OP_DOCUMENT`] replacing the old one in that list.
//!
//! A local name (`local` above) may be sent as a code instead ([`NAME_CODE`], [`NAMES`]).
//!
//! Namespaces are [`WireNs`] codes. After the batch, every node the batch detached (or created)
//! that is not attached to the document is freed together with its subtree, and its handles
//! are reported so the browser frees its side too: memory stays bounded over a long session.
//!
//! Invariants: a handle maps to exactly one live node and back (debug-asserted); a batch that
//! fails part-way leaves the tree valid (no cycle, no dangling handle) but possibly
//! half-edited: the caller then makes a keyframe from a fresh walk of the page.

use crate::diff::mutation::WireNs;
use crate::dom::rendered::{Rendered, RenderedBox, RenderedDisplay};
use markup5ever::{LocalName, local_name};

use crate::dom::tree::{Attr, Attrs, NodeData, NodeId, NodeMap, NodeSet, Prop, Tree, same_name};
use crate::wire::frame::MAX_PIXEL_RATIO;

/// Binds the document root.
pub const OP_BIND_DOCUMENT: u32 = 1;
/// Creates a detached element.
pub const OP_ELEMENT: u32 = 2;
/// Creates a detached text node.
pub const OP_TEXT: u32 = 3;
/// Creates a detached comment.
pub const OP_COMMENT: u32 = 4;
/// Creates a detached doctype.
pub const OP_DOCTYPE: u32 = 5;
/// Binds a template's contents fragment.
pub const OP_TEMPLATE_CONTENTS: u32 = 6;
/// Sets a node's whole child list.
pub const OP_SET_CHILDREN: u32 = 7;
/// Sets an element's whole attribute list.
pub const OP_SET_ATTRS: u32 = 8;
/// Sets a text or comment node's data.
pub const OP_SET_TEXT: u32 = 9;
/// Sets or clears a form control's value.
pub const OP_VALUE: u32 = 10;
/// Sets or clears `checked`.
pub const OP_CHECKED: u32 = 11;
/// Sets or clears `selected`.
pub const OP_SELECTED: u32 = 12;
/// Sets or clears an element's scroll offsets.
pub const OP_SCROLL: u32 = 13;
/// Sets or clears the document's viewport size.
pub const OP_VIEWPORT: u32 = 14;
/// Creates a detached content document (an iframe's).
pub const OP_DOCUMENT: u32 = 15;
/// Sets or clears the document's device pixel ratio.
pub const OP_PIXEL_RATIO: u32 = 16;
/// Reports an element's rendered box (see [`crate::Rendered`]).
pub const OP_RENDERED_BOX: u32 = 17;
/// A string operand that is absent.
pub const NULL_STR: u32 = u32::MAX;

/// A string operand in a name position (an element's or an attribute's local name) may instead
/// be `NAME_CODE + i`, for the `i`-th of [`NAMES`]: one op for a common name instead of a
/// string to copy across the boundary, decode and intern (`i` < [`NAMES`]`.len()`; any other
/// value at or above `NAME_CODE` but [`NULL_STR`] is refused).
pub const NAME_CODE: u32 = 0xFFFF_0000;

/// The local names a batch may send by code ([`NAME_CODE`]): common HTML and SVG element and
/// attribute names. The browser learns them from [`names_text`].
pub static NAMES: &[LocalName] = &[
    local_name!("html"),
    local_name!("head"),
    local_name!("body"),
    local_name!("title"),
    local_name!("meta"),
    local_name!("link"),
    local_name!("script"),
    local_name!("style"),
    local_name!("base"),
    local_name!("noscript"),
    local_name!("template"),
    local_name!("div"),
    local_name!("span"),
    local_name!("a"),
    local_name!("p"),
    local_name!("img"),
    local_name!("picture"),
    local_name!("source"),
    local_name!("video"),
    local_name!("audio"),
    local_name!("canvas"),
    local_name!("iframe"),
    local_name!("object"),
    local_name!("embed"),
    local_name!("param"),
    local_name!("ul"),
    local_name!("ol"),
    local_name!("li"),
    local_name!("dl"),
    local_name!("dt"),
    local_name!("dd"),
    local_name!("table"),
    local_name!("caption"),
    local_name!("colgroup"),
    local_name!("col"),
    local_name!("thead"),
    local_name!("tbody"),
    local_name!("tfoot"),
    local_name!("tr"),
    local_name!("td"),
    local_name!("th"),
    local_name!("form"),
    local_name!("input"),
    local_name!("button"),
    local_name!("select"),
    local_name!("option"),
    local_name!("optgroup"),
    local_name!("textarea"),
    local_name!("label"),
    local_name!("fieldset"),
    local_name!("legend"),
    local_name!("br"),
    local_name!("hr"),
    local_name!("wbr"),
    local_name!("h1"),
    local_name!("h2"),
    local_name!("h3"),
    local_name!("h4"),
    local_name!("h5"),
    local_name!("h6"),
    local_name!("strong"),
    local_name!("b"),
    local_name!("em"),
    local_name!("i"),
    local_name!("u"),
    local_name!("s"),
    local_name!("small"),
    local_name!("sup"),
    local_name!("sub"),
    local_name!("pre"),
    local_name!("code"),
    local_name!("blockquote"),
    local_name!("q"),
    local_name!("header"),
    local_name!("footer"),
    local_name!("nav"),
    local_name!("main"),
    local_name!("section"),
    local_name!("article"),
    local_name!("aside"),
    local_name!("figure"),
    local_name!("figcaption"),
    local_name!("time"),
    local_name!("abbr"),
    local_name!("cite"),
    local_name!("center"),
    local_name!("font"),
    local_name!("map"),
    local_name!("area"),
    local_name!("details"),
    local_name!("summary"),
    local_name!("svg"),
    local_name!("g"),
    local_name!("path"),
    local_name!("use"),
    local_name!("defs"),
    local_name!("symbol"),
    local_name!("circle"),
    local_name!("rect"),
    local_name!("line"),
    local_name!("polygon"),
    local_name!("class"),
    local_name!("id"),
    local_name!("href"),
    local_name!("src"),
    local_name!("type"),
    local_name!("name"),
    local_name!("content"),
    local_name!("target"),
    local_name!("alt"),
    local_name!("value"),
    local_name!("rel"),
    local_name!("width"),
    local_name!("height"),
    local_name!("lang"),
    local_name!("dir"),
    local_name!("role"),
    local_name!("charset"),
    local_name!("action"),
    local_name!("method"),
    local_name!("for"),
    local_name!("tabindex"),
    local_name!("placeholder"),
    local_name!("colspan"),
    local_name!("rowspan"),
    local_name!("align"),
    local_name!("valign"),
    local_name!("border"),
    local_name!("cellspacing"),
    local_name!("cellpadding"),
    local_name!("frameborder"),
    local_name!("scrolling"),
    local_name!("media"),
    local_name!("http-equiv"),
    local_name!("datetime"),
    local_name!("checked"),
    local_name!("selected"),
    local_name!("disabled"),
    local_name!("readonly"),
    local_name!("hidden"),
    local_name!("srcset"),
    local_name!("sizes"),
    local_name!("loading"),
    local_name!("async"),
    local_name!("defer"),
    local_name!("crossorigin"),
    local_name!("integrity"),
    local_name!("onclick"),
    local_name!("property"),
    local_name!("itemprop"),
    local_name!("itemscope"),
    local_name!("itemtype"),
    local_name!("aria-label"),
    local_name!("aria-hidden"),
    local_name!("aria-expanded"),
    local_name!("aria-labelledby"),
    local_name!("aria-describedby"),
    local_name!("aria-controls"),
    local_name!("aria-haspopup"),
    local_name!("xmlns"),
    local_name!("viewBox"),
    local_name!("d"),
    local_name!("fill"),
    local_name!("stroke"),
    local_name!("stroke-width"),
    local_name!("transform"),
    local_name!("x"),
    local_name!("y"),
    local_name!("cx"),
    local_name!("cy"),
    local_name!("r"),
    local_name!("points"),
    local_name!("autocomplete"),
    local_name!("maxlength"),
    local_name!("size"),
    local_name!("multiple"),
    local_name!("enctype"),
    local_name!("rev"),
];

/// [`NAMES`] separated by spaces (no name holds one), for the browser's encoder.
pub fn names_text() -> String {
    let mut out = String::new();
    for (i, n) in NAMES.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(n);
    }
    out
}

/// Why a batch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchError {
    /// The op stream ended inside an op.
    Truncated,
    /// An unknown op code.
    UnknownOp(u32),
    /// A handle that names no node (or a new node reusing a live handle, or handle 0).
    BadHandle(u32),
    /// A string operand runs past the string text.
    BadString,
    /// An edit that does not fit the node (attributes on a text node, a cycle, ...).
    BadStructure(&'static str),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Truncated => write!(f, "batch ends inside an op"),
            BatchError::UnknownOp(op) => write!(f, "unknown batch op {op}"),
            BatchError::BadHandle(h) => write!(f, "bad node handle {h}"),
            BatchError::BadString => write!(f, "string operand out of range"),
            BatchError::BadStructure(m) => write!(f, "invalid edit: {m}"),
        }
    }
}

impl std::error::Error for BatchError {}

/// The browser's node handles and the tree nodes they name.
#[derive(Debug, Default, Clone)]
pub struct NodeHandles {
    /// handle -> node index (handles are small integers given in sequence: hashed by one
    /// multiplication, not SipHash; every node of a keyframe is bound and looked up here).
    to_node: NodeMap<u32>,
    /// node index -> handle (0 = none).
    to_handle: Vec<u32>,
}

impl NodeHandles {
    /// The node a handle names.
    pub fn node(&self, handle: u32) -> Option<NodeId> {
        self.to_node.get(&handle).map(|&i| NodeId(i))
    }

    /// The handle of a node (0 = none).
    pub fn handle(&self, node: NodeId) -> u32 {
        self.to_handle.get(node.index()).copied().unwrap_or(0)
    }

    /// How many handles are bound.
    pub fn len(&self) -> usize {
        self.to_node.len()
    }

    /// Whether no handle is bound.
    pub fn is_empty(&self) -> bool {
        self.to_node.is_empty()
    }

    fn bind(&mut self, handle: u32, node: NodeId) -> Result<(), BatchError> {
        if handle == 0 || self.to_node.contains_key(&handle) {
            return Err(BatchError::BadHandle(handle));
        }
        let i = node.index();
        if self.to_handle.len() <= i {
            self.to_handle.resize(i + 1, 0);
        }
        debug_assert_eq!(self.to_handle[i], 0, "node already has a handle");
        self.to_handle[i] = handle;
        self.to_node.insert(handle, node.0);
        Ok(())
    }

    fn unbind(&mut self, node: NodeId) -> Option<u32> {
        let slot = self.to_handle.get_mut(node.index())?;
        let h = std::mem::take(slot);
        if h == 0 {
            return None;
        }
        self.to_node.remove(&h);
        Some(h)
    }
}

/// What one batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchStats {
    /// Ops applied.
    pub ops: usize,
    /// Nodes created.
    pub created: usize,
    /// Nodes freed after the batch.
    pub freed: usize,
    /// Children of [`OP_SET_CHILDREN`] lists looked at one by one, beyond those left in
    /// place at either end of the list (an edit in a wide parent costs its window).
    pub relisted: usize,
}

/// Reads operands from a batch.
struct Reader<'a> {
    ops: &'a [u32],
    at: usize,
    text: &'a str,
    text_at: usize,
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32, BatchError> {
        let v = *self.ops.get(self.at).ok_or(BatchError::Truncated)?;
        self.at += 1;
        Ok(v)
    }

    fn opt_str(&mut self) -> Result<Option<&'a str>, BatchError> {
        let units = self.u32()?;
        self.opt_str_of(units)
    }

    /// The string operand whose length (or [`NULL_STR`]) is `units`.
    fn opt_str_of(&mut self, units: u32) -> Result<Option<&'a str>, BatchError> {
        if units == NULL_STR {
            return Ok(None);
        }
        let rest = &self.text[self.text_at..];
        // Most operands are ASCII (names, most text): one byte and one UTF-16 unit per
        // character, checked a word at a time instead of decoding character by character.
        if let Some(head) = rest.as_bytes().get(..units as usize)
            && head.is_ascii()
        {
            self.text_at += head.len();
            return Ok(Some(&rest[..head.len()]));
        }
        let mut left = units as usize;
        let mut bytes = 0;
        let mut chars = rest.chars();
        while left > 0 {
            let c = chars.next().ok_or(BatchError::BadString)?;
            let u = c.len_utf16();
            if u > left {
                return Err(BatchError::BadString);
            }
            left -= u;
            bytes += c.len_utf8();
        }
        let s = &rest[..bytes];
        self.text_at += bytes;
        Ok(Some(s))
    }

    fn str(&mut self) -> Result<&'a str, BatchError> {
        Ok(self.opt_str()?.unwrap_or(""))
    }

    fn name(&mut self) -> Result<markup5ever::QualName, BatchError> {
        let ns =
            WireNs::from_u8(u8::try_from(self.u32()?).unwrap_or(u8::MAX)).unwrap_or(WireNs::None);
        let units = self.u32()?;
        if units >= NAME_CODE && units != NULL_STR {
            let name = NAMES
                .get((units - NAME_CODE) as usize)
                .ok_or(BatchError::BadString)?;
            return Ok(ns.qual(name.clone()));
        }
        Ok(ns.qual_name(self.opt_str_of(units)?.unwrap_or("")))
    }

    fn attrs(&mut self) -> Result<Attrs, BatchError> {
        let n = self.u32()? as usize;
        if n > self.ops.len() {
            return Err(BatchError::Truncated);
        }
        let mut attrs = Attrs::new();
        for _ in 0..n {
            let name = self.name()?;
            let value = self.str()?;
            attrs.push(Attr {
                name,
                value: value.into(),
            });
        }
        Ok(attrs)
    }

    fn tri(&mut self) -> Result<Option<bool>, BatchError> {
        Ok(match self.u32()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        })
    }
}

/// Applies one batch to `tree`, then frees what it left detached. The handles of freed nodes
/// are appended to `freed`.
pub fn apply_batch(
    tree: &mut Tree,
    handles: &mut NodeHandles,
    ops: &[u32],
    text: &str,
    freed: &mut Vec<u32>,
) -> Result<BatchStats, BatchError> {
    let mut stats = BatchStats::default();
    // Nodes the batch created or detached: each is freed if it ends detached.
    let mut loose: Vec<NodeId> = Vec::new();
    let r = apply_ops(tree, handles, ops, text, &mut loose, &mut stats);
    free_detached(tree, handles, &loose, freed, &mut stats);
    r.map(|()| stats)
}

fn node(handles: &NodeHandles, tree: &Tree, h: u32) -> Result<NodeId, BatchError> {
    let n = handles.node(h).ok_or(BatchError::BadHandle(h))?;
    debug_assert!(n.index() < tree.capacity_index());
    Ok(n)
}

fn apply_ops(
    tree: &mut Tree,
    handles: &mut NodeHandles,
    ops: &[u32],
    text: &str,
    loose: &mut Vec<NodeId>,
    stats: &mut BatchStats,
) -> Result<(), BatchError> {
    let mut r = Reader {
        ops,
        at: 0,
        text,
        text_at: 0,
    };
    let mut kids: Vec<NodeId> = Vec::new();
    while r.at < ops.len() {
        let op = r.u32()?;
        stats.ops += 1;
        match op {
            OP_BIND_DOCUMENT => {
                let h = r.u32()?;
                if handles.handle(tree.root()) != 0 {
                    return Err(BatchError::BadStructure("document bound twice"));
                }
                handles.bind(h, tree.root())?;
            }
            OP_ELEMENT | OP_TEXT | OP_COMMENT | OP_DOCTYPE | OP_DOCUMENT => {
                let h = r.u32()?;
                if h == 0 || handles.node(h).is_some() {
                    return Err(BatchError::BadHandle(h));
                }
                let id = match op {
                    OP_ELEMENT => {
                        // A template's contents fragment is bound by OP_TEMPLATE_CONTENTS
                        // and freed with the template.
                        let name = r.name()?;
                        let attrs = r.attrs()?;
                        tree.create_element(name, attrs)
                    }
                    OP_TEXT => tree.create(NodeData::Text(r.str()?.into())),
                    OP_COMMENT => tree.create(NodeData::comment(r.str()?)),
                    OP_DOCUMENT => tree.create(NodeData::Document {
                        viewport: None,
                        pixel_ratio: None,
                    }),
                    _ => {
                        let name = r.str()?.to_owned();
                        let public_id = r.str()?.to_owned();
                        let system_id = r.str()?.to_owned();
                        tree.create(crate::dom::tree::Doctype::node(name, public_id, system_id))
                    }
                };
                handles.bind(h, id)?;
                loose.push(id);
                stats.created += 1;
            }
            OP_TEMPLATE_CONTENTS => {
                let t = node(handles, tree, r.u32()?)?;
                let h = r.u32()?;
                let contents = tree
                    .template_contents(t)
                    .ok_or(BatchError::BadStructure("contents of a non-template"))?;
                if handles.handle(contents) != 0 {
                    return Err(BatchError::BadStructure("template contents bound twice"));
                }
                handles.bind(h, contents)?;
            }
            OP_SET_CHILDREN => {
                let parent = node(handles, tree, r.u32()?)?;
                let n = r.u32()? as usize;
                if n > ops.len() {
                    return Err(BatchError::Truncated);
                }
                kids.clear();
                for _ in 0..n {
                    kids.push(node(handles, tree, r.u32()?)?);
                }
                stats.relisted += set_children(tree, parent, &kids, loose)?;
            }
            OP_SET_ATTRS => {
                let el = node(handles, tree, r.u32()?)?;
                let attrs = r.attrs()?;
                set_attrs(tree, el, attrs)?;
            }
            OP_SET_TEXT => {
                let n = node(handles, tree, r.u32()?)?;
                let data = r.str()?;
                if tree.data(n).character_data() != Some(data) && !tree.set_character_data(n, data)
                {
                    return Err(BatchError::BadStructure("text on a node without data"));
                }
            }
            OP_VALUE => {
                let el = node(handles, tree, r.u32()?)?;
                let v = r.opt_str()?;
                if tree.props(el).and_then(|p| p.value.as_deref()) != v {
                    set_prop(tree, el, Prop::Value(v.map(str::to_owned)))?;
                }
            }
            OP_CHECKED | OP_SELECTED => {
                let el = node(handles, tree, r.u32()?)?;
                let v = r.tri()?;
                let props = tree.props(el);
                if op == OP_CHECKED {
                    if props.and_then(|p| p.checked) != v {
                        set_prop(tree, el, Prop::Checked(v))?;
                    }
                } else if props.and_then(|p| p.selected) != v {
                    set_prop(tree, el, Prop::Selected(v))?;
                }
            }
            OP_SCROLL => {
                let el = node(handles, tree, r.u32()?)?;
                // Fixed width: the offsets are present (and ignored) when the flag is 0.
                let (has, x, y) = (r.u32()?, r.u32()?, r.u32()?);
                let v = (has == 1).then_some((x as i32, y as i32));
                if tree.props(el).and_then(|p| p.scroll) != v {
                    set_prop(tree, el, Prop::Scroll(v))?;
                }
            }
            OP_VIEWPORT => {
                let (has, w, h) = (r.u32()?, r.u32()?, r.u32()?);
                let v = (has == 1).then_some((w, h));
                if tree.viewport() != v {
                    let root = tree.root();
                    set_prop(tree, root, Prop::Viewport(v))?;
                }
            }
            OP_PIXEL_RATIO => {
                let (has, r) = (r.u32()?, r.u32()?);
                let v = (has == 1).then_some(r.clamp(1, MAX_PIXEL_RATIO));
                if tree.pixel_ratio() != v {
                    let root = tree.root();
                    set_prop(tree, root, Prop::PixelRatio(v))?;
                }
            }
            OP_RENDERED_BOX => {
                let el = node(handles, tree, r.u32()?)?;
                let display = RenderedDisplay::from_computed(r.str()?);
                // Fixed width: the numbers are present (and ignored) when the flag is 0.
                let has = r.u32()?;
                let (w, h) = (r.u32()?, r.u32()?);
                let mut margin = [0i32; 4];
                for m in &mut margin {
                    *m = r.u32()? as i32;
                }
                let rendered = if has == 1 {
                    Rendered::Box(RenderedBox::new(display, w, h, margin))
                } else {
                    Rendered::Unknown
                };
                if !tree.set_rendered(el, Some(rendered)) {
                    return Err(BatchError::BadStructure("a rendered box on a non-element"));
                }
            }
            other => return Err(BatchError::UnknownOp(other)),
        }
    }
    Ok(())
}

fn set_prop(tree: &mut Tree, id: NodeId, prop: Prop) -> Result<(), BatchError> {
    if tree.set_prop(id, prop) {
        Ok(())
    } else {
        Err(BatchError::BadStructure(
            "property on the wrong kind of node",
        ))
    }
}

/// Makes `kids` the child list of `parent`, moving nodes from elsewhere as needed and
/// detaching the children left out (they go to `loose`). Returns how many children it
/// looked up one by one: those between the longest common prefix and suffix of the old and
/// the new list (the window the edit is in), not the whole list.
fn set_children(
    tree: &mut Tree,
    parent: NodeId,
    kids: &[NodeId],
    loose: &mut Vec<NodeId>,
) -> Result<usize, BatchError> {
    if matches!(
        tree.data(parent),
        NodeData::Text(_) | NodeData::Comment(_) | NodeData::Doctype(_)
    ) {
        return Err(BatchError::BadStructure("children under a leaf"));
    }
    // The children in place at the start of the list (`lo` of them, the old list going on at
    // `window`), then those in place at its end (from the new list's `hi` on; the old one's
    // from `suffix` on). Unchanged child lists are common (a record for a node added then
    // removed): nothing is left between the two.
    let mut lo = 0;
    let mut last_kept = None;
    let mut window = tree.first_child(parent);
    while let Some(c) = window {
        if kids.get(lo) != Some(&c) {
            break;
        }
        lo += 1;
        last_kept = Some(c);
        window = tree.next_sibling(c);
    }
    if window.is_none() && lo == kids.len() {
        return Ok(0);
    }
    let mut hi = kids.len();
    let mut suffix = None;
    let mut c = tree.last_child(parent);
    while let Some(x) = c {
        if hi == lo || Some(x) == last_kept || kids[hi - 1] != x {
            break;
        }
        hi -= 1;
        suffix = Some(x);
        c = tree.prev_sibling(x);
    }
    // A content document goes under an iframe, alone (checked before anything moves).
    if kids.iter().any(|&k| tree.is_document(k))
        && (kids.len() != 1
            || tree
                .element(parent)
                .is_none_or(|e| !e.is_html(&markup5ever::local_name!("iframe"))))
    {
        return Err(BatchError::BadStructure(
            "a document outside an iframe or beside other children",
        ));
    }
    // The children that leave go first: a child removed from the middle of the list then
    // leaves the ones after it in place. (Left to the loop below, each of them would be moved
    // back after its predecessor: re-attached, so re-annotated, re-hashed and diffed whole.)
    // Only old children between the two ends can leave: those at the ends are listed there.
    let listed: NodeSet = kids[lo..hi].iter().map(|k| k.0).collect();
    let mut c = window;
    while let Some(x) = c {
        if Some(x) == suffix {
            break;
        }
        c = tree.next_sibling(x);
        let contents =
            matches!(tree.data(x), NodeData::Fragment) && tree.template_contents(parent) == Some(x);
        if !contents && !listed.contains(&x.0) {
            tree.detach(x);
            loose.push(x);
        }
    }
    let root = tree.root();
    let mut prev: Option<NodeId> = None;
    for &k in kids {
        if k == root || k == parent {
            return Err(BatchError::BadStructure("root or parent as a child"));
        }
        let in_place = tree.parent(k) == Some(parent)
            && match prev {
                None => tree.first_child(parent) == Some(k),
                Some(p) => tree.next_sibling(p) == Some(k),
            };
        if !in_place {
            if tree.is_inclusive_ancestor(k, parent) {
                // `parent` moved under one of its former descendants: detach it from there;
                // its own new place comes with its new parent's child list.
                tree.detach(parent);
                loose.push(parent);
            }
            tree.insert_after(parent, prev, k);
        }
        prev = Some(k);
    }
    // Whatever follows the last kept child is no longer there.
    let mut rest = match prev {
        None => tree.first_child(parent),
        Some(p) => tree.next_sibling(p),
    };
    while let Some(c) = rest {
        rest = tree.next_sibling(c);
        if matches!(tree.data(c), NodeData::Fragment) && tree.template_contents(parent) == Some(c) {
            continue;
        }
        tree.detach(c);
        loose.push(c);
    }
    Ok(hi - lo)
}

/// Makes `attrs` the attribute list of `el`, keeping positions of attributes that stay (the
/// DOM's order rules: a new attribute goes last).
fn set_attrs(tree: &mut Tree, el: NodeId, attrs: Attrs) -> Result<(), BatchError> {
    let Some(e) = tree.element(el) else {
        return Err(BatchError::BadStructure("attributes on a non-element"));
    };
    let same = e.attrs.len() == attrs.len()
        && e.attrs
            .iter()
            .zip(&attrs)
            .all(|(a, b)| same_name(&a.name, &b.name) && a.value == b.value);
    if same {
        return Ok(());
    }
    let gone: Vec<_> = e
        .attrs
        .iter()
        .filter(|a| !attrs.iter().any(|b| same_name(&a.name, &b.name)))
        .map(|a| a.name.clone())
        .collect();
    for name in &gone {
        tree.remove_attr(el, name);
    }
    for a in &attrs {
        tree.set_attr(el, a.name.clone(), &a.value);
    }
    let ordered = tree.element(el).is_some_and(|e| {
        e.attrs
            .iter()
            .zip(&attrs)
            .all(|(a, b)| same_name(&a.name, &b.name))
    });
    if !ordered {
        // Not reachable through DOM edits; keep the page's order anyway.
        if let Some(e) = tree.element_mut(el) {
            e.attrs = attrs;
        }
    }
    Ok(())
}

/// Frees every node of `loose` that is not attached to the document, with its subtree,
/// reporting the handles that named them.
fn free_detached(
    tree: &mut Tree,
    handles: &mut NodeHandles,
    loose: &[NodeId],
    freed: &mut Vec<u32>,
    stats: &mut BatchStats,
) {
    let root = tree.root();
    for &n in loose {
        // Freed already as part of another loose node's subtree, or reused: skip.
        if handles.handle(n) == 0 {
            continue;
        }
        let mut top = n;
        while let Some(p) = tree.parent(top) {
            top = p;
        }
        if top == root {
            continue;
        }
        let subtree: Vec<NodeId> = tree.descendants(top).collect();
        for d in subtree {
            if let Some(h) = handles.unbind(d) {
                freed.push(h);
            }
            stats.freed += 1;
        }
        tree.remove(top);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dom::tree::Dirty;

    /// Builds ops and text like the browser does.
    #[derive(Default)]
    struct Enc {
        ops: Vec<u32>,
        text: String,
    }
    impl Enc {
        fn s(&mut self, s: &str) -> &mut Self {
            self.ops.push(s.encode_utf16().count() as u32);
            self.text.push_str(s);
            self
        }
        fn u(&mut self, v: u32) -> &mut Self {
            self.ops.push(v);
            self
        }
        fn el(&mut self, h: u32, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
            self.u(OP_ELEMENT).u(h).u(WireNs::Html as u32).s(name);
            self.u(attrs.len() as u32);
            for (n, v) in attrs {
                self.u(0).s(n).s(v);
            }
            self
        }
        fn text(&mut self, h: u32, t: &str) -> &mut Self {
            self.u(OP_TEXT).u(h).s(t)
        }
        fn kids(&mut self, p: u32, k: &[u32]) -> &mut Self {
            self.u(OP_SET_CHILDREN).u(p).u(k.len() as u32);
            for &c in k {
                self.u(c);
            }
            self
        }
    }

    fn dump(t: &Tree) -> String {
        let mut out = String::new();
        for n in t.descendants(t.root()) {
            let mut d = 0;
            let mut a = t.parent(n);
            while let Some(p) = a {
                d += 1;
                a = t.parent(p);
            }
            out.push_str(&" ".repeat(d));
            match t.data(n) {
                NodeData::Element(e) => {
                    out.push_str(&e.name.local);
                    for a in &e.attrs {
                        out.push_str(&format!(" {}={}", a.name.local, a.value));
                    }
                }
                NodeData::Text(x) => out.push_str(&format!("#{x}")),
                NodeData::Document { .. } => out.push_str("doc"),
                _ => out.push('?'),
            }
            out.push('\n');
        }
        out
    }

    fn apply(t: &mut Tree, h: &mut NodeHandles, e: &Enc) -> Vec<u32> {
        let mut freed = Vec::new();
        apply_batch(t, h, &e.ops, &e.text, &mut freed).unwrap();
        freed
    }

    #[test]
    fn builds_moves_reorders_and_frees_what_left_the_page() {
        let mut t = Tree::new_document();
        let mut h = NodeHandles::default();
        let mut e = Enc::default();
        e.u(OP_BIND_DOCUMENT).u(1);
        e.el(2, "html", &[])
            .el(3, "body", &[("b", "1"), ("a", "2")]);
        e.el(4, "p", &[])
            .text(5, "h\u{e9}llo \u{1F600}!")
            .el(6, "i", &[]);
        e.kids(1, &[2]).kids(2, &[3]).kids(3, &[4, 6]).kids(4, &[5]);
        assert!(apply(&mut t, &mut h, &e).is_empty());
        assert_eq!(
            dump(&t),
            "doc\n html\n  body b=1 a=2\n   p\n    #h\u{e9}llo \u{1F600}!\n   i\n"
        );

        // Reorder, move the text into <i>, remove <p>, re-set attributes in DOM order.
        let mut e = Enc::default();
        e.kids(3, &[6, 4]).kids(6, &[5]).kids(4, &[]).kids(3, &[6]);
        e.u(OP_SET_ATTRS)
            .u(3)
            .u(2)
            .u(0)
            .s("a")
            .s("3")
            .u(0)
            .s("c")
            .s("");
        let freed = apply(&mut t, &mut h, &e);
        assert_eq!(freed, vec![4]);
        assert_eq!(
            dump(&t),
            "doc\n html\n  body a=3 c=\n   i\n    #h\u{e9}llo \u{1F600}!\n"
        );
        assert_eq!(h.len(), 5);
        assert!(h.node(4).is_none());
    }

    /// A child removed from the middle of a list leaves the children after it where they are:
    /// only the parent's child list is marked, no sibling is re-attached (marked as a whole
    /// subtree to re-annotate, re-hash and diff).
    #[test]
    fn a_removal_from_the_middle_moves_no_sibling() {
        let mut t = Tree::new_document();
        let mut h = NodeHandles::default();
        let mut e = Enc::default();
        e.u(OP_BIND_DOCUMENT).u(1);
        e.el(2, "body", &[])
            .el(3, "a", &[])
            .el(4, "b", &[])
            .el(5, "c", &[]);
        e.el(6, "d", &[]).text(7, "x");
        e.kids(1, &[2]).kids(2, &[3, 4, 5, 6]).kids(5, &[7]);
        apply(&mut t, &mut h, &e);
        crate::diff::prepare_identity(&mut t);
        assert!(t.dirty.is_empty());
        let mut e = Enc::default();
        e.kids(2, &[3, 5, 6]);
        assert_eq!(apply(&mut t, &mut h, &e), vec![4]);
        assert_eq!(dump(&t), "doc\n body\n  a\n  c\n   #x\n  d\n");
        let body = h.node(2).unwrap();
        assert_eq!(t.dirty, vec![(body.0, Dirty::Children)]);
        t.check_invariants();
    }

    /// A relisted wide parent costs the window its edit is in (the children between the
    /// longest common prefix and suffix of its old and new lists), not its width; the tree
    /// is what the list says, the same as a fresh build of it.
    #[test]
    fn a_wide_parent_relisted_costs_the_window_of_its_edit() {
        let mut t = Tree::new_document();
        let mut h = NodeHandles::default();
        let mut e = Enc::default();
        e.u(OP_BIND_DOCUMENT).u(1);
        e.el(2, "ul", &[]);
        let mut list: Vec<u32> = (10..1010).collect();
        for &k in &list {
            e.el(k, "li", &[]);
        }
        e.kids(1, &[2]).kids(2, &list);
        apply(&mut t, &mut h, &e);
        let relist = |t: &mut Tree, h: &mut NodeHandles, e: &Enc| {
            let mut freed = Vec::new();
            let stats = apply_batch(t, h, &e.ops, &e.text, &mut freed).unwrap();
            (stats.relisted, freed)
        };
        let order = |t: &Tree, h: &NodeHandles| -> Vec<u32> {
            let ul = h.node(2).unwrap();
            t.children(ul).map(|c| h.handle(c)).collect()
        };
        // One inserted in the middle: a window of one.
        list.insert(500, 2000);
        let mut e = Enc::default();
        e.el(2000, "li", &[("class", "new")]).kids(2, &list);
        assert_eq!(relist(&mut t, &mut h, &e), (1, vec![]));
        assert_eq!(order(&t, &h), list);
        // One removed from the middle: an empty window.
        let gone = list.remove(300);
        let mut e = Enc::default();
        e.kids(2, &list);
        assert_eq!(relist(&mut t, &mut h, &e), (0, vec![gone]));
        assert_eq!(order(&t, &h), list);
        // The last moved to the front: the whole list is the window.
        let last = list.pop().unwrap();
        list.insert(0, last);
        let mut e = Enc::default();
        e.kids(2, &list);
        assert_eq!(relist(&mut t, &mut h, &e), (list.len(), vec![]));
        assert_eq!(order(&t, &h), list);
        // Two neighbours swapped: a window of two. The same list again: nothing.
        list.swap(10, 11);
        let mut e = Enc::default();
        e.kids(2, &list);
        assert_eq!(relist(&mut t, &mut h, &e), (2, vec![]));
        assert_eq!(order(&t, &h), list);
        assert_eq!(relist(&mut t, &mut h, &e), (0, vec![]));
        // Appended and prepended at once, a child emptied out at both ends.
        list.insert(0, 2001);
        list.push(2002);
        let mut e = Enc::default();
        e.el(2001, "li", &[]).el(2002, "li", &[]).kids(2, &list);
        assert_eq!(relist(&mut t, &mut h, &e), (list.len(), vec![]));
        assert_eq!(order(&t, &h), list);
        let mut e = Enc::default();
        e.kids(2, &[]);
        let (n, mut freed) = relist(&mut t, &mut h, &e);
        freed.sort_unstable();
        list.sort_unstable();
        assert_eq!((n, freed), (0, list));
        assert_eq!(dump(&t), "doc\n ul\n");
        t.check_invariants();
    }

    #[test]
    fn a_parent_moved_under_its_former_child_is_not_a_cycle() {
        let mut t = Tree::new_document();
        let mut h = NodeHandles::default();
        let mut e = Enc::default();
        e.u(OP_BIND_DOCUMENT).u(1);
        e.el(2, "a", &[]).el(3, "b", &[]);
        e.kids(1, &[2]).kids(2, &[3]);
        apply(&mut t, &mut h, &e);
        // DOM: doc > b > a
        let mut e = Enc::default();
        e.kids(3, &[2]).kids(1, &[3]).kids(2, &[]);
        assert!(apply(&mut t, &mut h, &e).is_empty());
        assert_eq!(dump(&t), "doc\n b\n  a\n");
        t.check_invariants();
    }

    /// A same-origin iframe's document is a detached document placed as the iframe's only
    /// child; a navigation replaces it and frees the old one; a document anywhere else is
    /// refused before anything moves.
    #[test]
    fn content_documents_nest_under_iframes_only() {
        let mut t = Tree::new_document();
        let mut h = NodeHandles::default();
        let mut e = Enc::default();
        e.u(OP_BIND_DOCUMENT).u(1);
        e.el(2, "iframe", &[("src", "a.html")]);
        e.u(OP_DOCUMENT).u(3);
        e.el(4, "html", &[]).text(5, "in a");
        e.kids(1, &[2]).kids(2, &[3]).kids(3, &[4]).kids(4, &[5]);
        assert!(apply(&mut t, &mut h, &e).is_empty());
        assert_eq!(
            dump(&t),
            "doc\n iframe src=a.html\n  doc\n   html\n    #in a\n"
        );
        t.check_invariants();
        let iframe = h.node(2).unwrap();
        assert_eq!(t.content_document(iframe), h.node(3));

        // Navigation: a new document replaces the old one, which is freed with its subtree.
        let mut e = Enc::default();
        e.u(OP_DOCUMENT).u(6);
        e.el(7, "html", &[("lang", "b")]);
        e.kids(6, &[7]).kids(2, &[6]);
        let freed = apply(&mut t, &mut h, &e);
        assert_eq!(freed, vec![3, 4, 5]);
        assert_eq!(dump(&t), "doc\n iframe src=a.html\n  doc\n   html lang=b\n");

        // Refused: a document beside another child, and a document under a non-iframe.
        let before = dump(&t);
        let mut freed = Vec::new();
        let mut e = Enc::default();
        e.text(8, "x").kids(2, &[6, 8]);
        assert_eq!(
            apply_batch(&mut t, &mut h, &e.ops, &e.text, &mut freed),
            Err(BatchError::BadStructure(
                "a document outside an iframe or beside other children"
            ))
        );
        let mut e = Enc::default();
        e.el(9, "div", &[]).kids(9, &[6]);
        assert_eq!(
            apply_batch(&mut t, &mut h, &e.ops, &e.text, &mut freed),
            Err(BatchError::BadStructure(
                "a document outside an iframe or beside other children"
            ))
        );
        assert_eq!(dump(&t), before);
        t.check_invariants();
    }

    /// Scroll and viewport ops are fixed width: a cleared scroll (flag 0, offsets 0, 0) is
    /// followed by the next op, not read as one.
    #[test]
    fn scroll_and_viewport_ops_are_fixed_width_when_cleared() {
        let mut t = Tree::new_document();
        let mut h = NodeHandles::default();
        let mut e = Enc::default();
        e.u(OP_BIND_DOCUMENT).u(1);
        e.el(2, "div", &[]);
        e.kids(1, &[2]);
        e.u(OP_SCROLL).u(2).u(1).u(5).u(-7i32 as u32);
        e.u(OP_VIEWPORT).u(1).u(800).u(600);
        apply(&mut t, &mut h, &e);
        let div = h.node(2).unwrap();
        assert_eq!(t.props(div).and_then(|p| p.scroll), Some((5, -7)));
        assert_eq!(t.viewport(), Some((800, 600)));

        let mut e = Enc::default();
        e.u(OP_SCROLL).u(2).u(0).u(0).u(0);
        e.u(OP_VIEWPORT).u(0).u(0).u(0);
        e.u(OP_SET_ATTRS).u(2).u(1).u(0).s("id").s("x");
        apply(&mut t, &mut h, &e);
        assert_eq!(t.props(div).and_then(|p| p.scroll), None);
        assert_eq!(t.viewport(), None);
        assert_eq!(dump(&t), "doc\n div id=x\n");
    }

    /// String operands are UTF-16 lengths into UTF-8 text: ASCII ones (read a word at a time)
    /// next to ones with two-, three- and four-byte characters, and an ASCII operand that would
    /// run into the multi-byte character after it.
    #[test]
    fn string_operands_ascii_and_not_side_by_side() {
        let mut t = Tree::new_document();
        let mut h = NodeHandles::default();
        let mut e = Enc::default();
        e.u(OP_BIND_DOCUMENT).u(1);
        e.el(2, "html", &[("lang", "\u{e9}"), ("id", "x")])
            .text(3, "ab")
            .text(4, "\u{1F600}")
            .text(5, "cd")
            .text(6, "\u{20AC}e")
            .text(7, "f");
        e.kids(1, &[2]).kids(2, &[3, 4, 5, 6, 7]);
        assert!(apply(&mut t, &mut h, &e).is_empty());
        assert_eq!(
            dump(&t),
            "doc\n html lang=\u{e9} id=x\n  #ab\n  #\u{1F600}\n  #cd\n  #\u{20AC}e\n  #f\n"
        );
        // An operand of ASCII then a multi-byte character (the ASCII test must not take the
        // next bytes for it), and one that ends inside a surrogate pair.
        let mut freed = Vec::new();
        let ops = [OP_TEXT, 8, 2, OP_TEXT, 9, 3, OP_SET_CHILDREN, 2, 2, 8, 9];
        assert!(apply_batch(&mut t, &mut h, &ops, "a\u{e9}a\u{1F600}", &mut freed).is_ok());
        assert_eq!(freed, vec![3, 4, 5, 6, 7]);
        assert_eq!(
            dump(&t),
            "doc\n html lang=\u{e9} id=x\n  #a\u{e9}\n  #a\u{1F600}\n"
        );
        assert_eq!(
            apply_batch(&mut t, &mut h, &[OP_TEXT, 10, 2], "a\u{1F600}", &mut freed),
            Err(BatchError::BadString)
        );
    }

    /// Names sent by code ([`NAME_CODE`]) build the same tree as the same names sent as
    /// strings, in element and attribute positions and in every namespace (`xmlns` keeps no
    /// prefix); a code past the table is refused.
    #[test]
    fn names_by_code_are_the_names_as_strings() {
        let code = |name: &str| -> u32 {
            let i = NAMES
                .iter()
                .position(|n| &**n == name)
                .expect("in the table");
            NAME_CODE + i as u32
        };
        let by_string = {
            let mut e = Enc::default();
            e.u(OP_BIND_DOCUMENT).u(1);
            e.el(2, "div", &[("class", "a"), ("data-x", "b")]);
            e.u(OP_ELEMENT).u(3).u(WireNs::Svg as u32).s("svg").u(2);
            e.u(WireNs::XmlNs as u32)
                .s("xmlns")
                .s("http://www.w3.org/2000/svg");
            e.u(WireNs::None as u32).s("viewBox").s("0 0 1 1");
            e.kids(1, &[2]).kids(2, &[3]);
            e
        };
        let by_code = {
            let mut e = Enc::default();
            e.u(OP_BIND_DOCUMENT).u(1);
            e.u(OP_ELEMENT)
                .u(2)
                .u(WireNs::Html as u32)
                .u(code("div"))
                .u(2);
            e.u(0).u(code("class")).s("a").u(0).s("data-x").s("b");
            e.u(OP_ELEMENT)
                .u(3)
                .u(WireNs::Svg as u32)
                .u(code("svg"))
                .u(2);
            e.u(WireNs::XmlNs as u32)
                .u(code("xmlns"))
                .s("http://www.w3.org/2000/svg");
            e.u(WireNs::None as u32).u(code("viewBox")).s("0 0 1 1");
            e.kids(1, &[2]).kids(2, &[3]);
            e
        };
        let build = |e: &Enc| {
            let mut t = Tree::new_document();
            let mut h = NodeHandles::default();
            assert!(apply(&mut t, &mut h, e).is_empty());
            t
        };
        let (a, b) = (build(&by_string), build(&by_code));
        assert!(a.same_tree(&b));
        assert_eq!(
            dump(&b),
            "doc\n div class=a data-x=b\n  svg xmlns=http://www.w3.org/2000/svg viewBox=0 0 1 1\n"
        );
        let svg = b
            .children(b.children(b.root()).next().unwrap())
            .next()
            .unwrap();
        let el = b.element(svg).unwrap();
        assert_eq!(el.name, WireNs::Svg.qual_name("svg"));
        assert_eq!(el.attrs[0].name, WireNs::XmlNs.qual_name("xmlns"));
        assert_eq!(el.attrs[0].name.prefix, None);
        // Past the table: refused, like a string past the text.
        let mut t = Tree::new_document();
        let mut h = NodeHandles::default();
        let past = NAME_CODE + NAMES.len() as u32;
        assert_eq!(
            apply_batch(
                &mut t,
                &mut h,
                &[OP_ELEMENT, 2, 1, past, 0],
                "",
                &mut Vec::new()
            ),
            Err(BatchError::BadString)
        );
        // The browser's copy of the table: every name once, none with a space.
        let text = names_text();
        let listed: Vec<&str> = text.split(' ').collect();
        assert_eq!(listed.len(), NAMES.len());
        assert!(listed.iter().zip(NAMES).all(|(a, b)| *a == &**b));
        let unique: std::collections::HashSet<&str> = listed.iter().copied().collect();
        assert_eq!(unique.len(), NAMES.len());
    }

    #[test]
    fn malformed_batches_are_errors_not_panics() {
        let mut t = Tree::new_document();
        let mut h = NodeHandles::default();
        let mut freed = Vec::new();
        assert_eq!(
            apply_batch(&mut t, &mut h, &[OP_SET_CHILDREN, 9, 0], "", &mut freed),
            Err(BatchError::BadHandle(9))
        );
        assert_eq!(
            apply_batch(&mut t, &mut h, &[OP_TEXT, 2, 5], "abc", &mut freed),
            Err(BatchError::BadString)
        );
        assert_eq!(
            apply_batch(&mut t, &mut h, &[OP_ELEMENT, 2], "", &mut freed),
            Err(BatchError::Truncated)
        );
        assert_eq!(
            apply_batch(&mut t, &mut h, &[77], "", &mut freed),
            Err(BatchError::UnknownOp(77))
        );
        t.check_invariants();
    }
}
