//! The DOM operations an accepted frame turns into, for the agent page's iframe.
//!
//! Encoding: a `u32` op stream plus one string holding every string operand back to back; a
//! string operand is its length in UTF-16 code units (JavaScript string indices), or
//! [`NULL`] for "absent". Node ids are the frame's wire ids; 0 means "none" (no parent: a
//! detached subtree top; no previous sibling: first child).
//!
//! | op | operands |
//! |---|---|
//! | [`RESET`] | document id, has viewport, width, height |
//! | [`ELEMENT`] | id, parent, flags, ns, local, n, n × (ns, local, value), value, checked, selected, has scroll, x, y |
//! | [`TEXT`] / [`COMMENT`] | id, parent, flags, data |
//! | [`DOCTYPE`] | id, parent, name, public id, system id |
//! | [`FRAGMENT`] | id, parent (a template's contents) |
//! | [`PLACE`] | node, parent, previous sibling |
//! | [`REMOVE`] | node |
//! | [`SET_ATTR`] | node, ns, local, value |
//! | [`REMOVE_ATTR`] | node, ns, local |
//! | [`SET_TEXT`] | node, data |
//! | [`VALUE`] | node, value |
//! | [`CHECKED`] / [`SELECTED`] | node, 0 / 1 / 2 (= not set) |
//! | [`SCROLL`] | node, has, x, y |
//! | [`VIEWPORT`] | has, width, height |
//! | [`FLAGS`] | node, flags |
//! | [`DOCUMENT`] | id, parent (a same-origin iframe's content document) |
//!
//! An [`ELEMENT`]'s flags carry [`HOLDS_DOCUMENT`] on an iframe whose content document follows
//! (its first child record): the replayer then keeps its `src`/`srcdoc` from loading and fills
//! the iframe's about:blank document itself.
//!
//! Children are always created after their parent (pre-order), so a parent id refers to a
//! node created earlier in the same stream or already in the iframe.

use cobrowse_engine::{
    MutationRef, NameRef, PropRef, PropsRef, RecordDataRef, RecordRef, ReplayObserver,
};

/// Replace the whole document.
pub const RESET: u32 = 1;
/// Create an element.
pub const ELEMENT: u32 = 2;
/// Create a text node.
pub const TEXT: u32 = 3;
/// Create a comment.
pub const COMMENT: u32 = 4;
/// Create a doctype.
pub const DOCTYPE: u32 = 5;
/// Bind a template's contents.
pub const FRAGMENT: u32 = 6;
/// Insert or move a node.
pub const PLACE: u32 = 7;
/// Remove a node and its subtree.
pub const REMOVE: u32 = 8;
/// Set an attribute.
pub const SET_ATTR: u32 = 9;
/// Remove an attribute.
pub const REMOVE_ATTR: u32 = 10;
/// Set character data.
pub const SET_TEXT: u32 = 11;
/// Set or clear a value.
pub const VALUE: u32 = 12;
/// Set or clear `checked`.
pub const CHECKED: u32 = 13;
/// Set or clear `selected`.
pub const SELECTED: u32 = 14;
/// Set or clear scroll offsets.
pub const SCROLL: u32 = 15;
/// Set or clear the viewport.
pub const VIEWPORT: u32 = 16;
/// Set view flags.
pub const FLAGS: u32 = 17;
/// Create a content document (an iframe's).
pub const DOCUMENT: u32 = 18;
/// Element flag (beside the view flags, which fit a byte): an iframe whose content document
/// follows in the frame.
pub const HOLDS_DOCUMENT: u32 = 0x100;
/// An absent string.
pub const NULL: u32 = u32::MAX;

/// Collects the DOM operations of one frame as the mirror applies it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DomOps {
    /// The op stream.
    pub ops: Vec<u32>,
    /// The string operands.
    pub text: String,
}

impl DomOps {
    fn s(&mut self, s: &str) {
        self.ops.push(s.encode_utf16().count() as u32);
        self.text.push_str(s);
    }

    fn opt_s(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.s(s),
            None => self.ops.push(NULL),
        }
    }

    fn name(&mut self, n: &NameRef<'_>) {
        self.ops.push(n.ns as u32);
        self.s(n.local);
    }

    fn tri(&mut self, v: Option<bool>) {
        self.ops.push(match v {
            Some(false) => 0,
            Some(true) => 1,
            None => 2,
        });
    }

    fn pair<T: Copy>(&mut self, v: Option<(T, T)>, to: impl Fn(T) -> u32) {
        match v {
            Some((a, b)) => self.ops.extend([1, to(a), to(b)]),
            None => self.ops.extend([0, 0, 0]),
        }
    }

    fn props(&mut self, p: &PropsRef<'_>) {
        self.opt_s(p.value);
        self.tri(p.checked);
        self.tri(p.selected);
        self.pair(p.scroll, |x| x as u32);
    }

    /// Creates one record's node under `parent` (0: detached). `root`: the keyframe's root
    /// (any other document is a content document); `holds_document`: an iframe whose content
    /// document is the next record.
    fn record(&mut self, r: &RecordRef<'_>, parent: u32, root: bool, holds_document: bool) {
        let id = r.wire.0;
        match &r.data {
            RecordDataRef::Document { .. } if !root => self.ops.extend([DOCUMENT, id, parent]),
            RecordDataRef::Document { viewport, .. } => {
                self.ops.push(RESET);
                self.ops.push(id);
                self.pair(*viewport, |x| x);
            }
            RecordDataRef::Fragment => self.ops.extend([FRAGMENT, id, parent]),
            RecordDataRef::Doctype {
                name,
                public_id,
                system_id,
            } => {
                self.ops.extend([DOCTYPE, id, parent]);
                self.s(name);
                self.s(public_id);
                self.s(system_id);
            }
            RecordDataRef::Element { name, attrs, props } => {
                let holds = if holds_document { HOLDS_DOCUMENT } else { 0 };
                self.ops
                    .extend([ELEMENT, id, parent, r.flags as u32 | holds]);
                self.name(name);
                self.ops.push(attrs.len() as u32);
                for (n, v) in attrs {
                    self.name(n);
                    self.s(v);
                }
                self.props(props);
            }
            RecordDataRef::Text(t) => {
                self.ops.extend([TEXT, id, parent, r.flags as u32]);
                self.s(t);
            }
            RecordDataRef::Comment(t) => {
                self.ops.extend([COMMENT, id, parent, r.flags as u32]);
                self.s(t);
            }
        }
    }

    /// Creates pre-order records; the first one's parent is `top_parent`; a first document
    /// record is the page's root when `keyframe`.
    fn records(&mut self, records: &[RecordRef<'_>], top_parent: u32, keyframe: bool) {
        // (node id, children left to create)
        let mut stack: Vec<(u32, u32)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            while stack.last().is_some_and(|t| t.1 == 0) {
                stack.pop();
            }
            let parent = match stack.last_mut() {
                Some(t) => {
                    t.1 -= 1;
                    t.0
                }
                None => top_parent,
            };
            let holds_document = matches!(&r.data, RecordDataRef::Element { name, .. }
                    if name.ns == cobrowse_engine::WireNs::Html && name.local == "iframe")
                && r.children > 0
                && records
                    .get(i + 1)
                    .is_some_and(|c| matches!(c.data, RecordDataRef::Document { .. }));
            self.record(r, parent, keyframe && i == 0, holds_document);
            stack.push((r.wire.0, r.children));
        }
    }

    /// The operations that build a whole page from a keyframe's records.
    pub fn keyframe_records(&mut self, records: &[RecordRef<'_>]) {
        self.ops.clear();
        self.text.clear();
        self.records(records, 0, true);
    }
}

impl ReplayObserver for DomOps {
    fn keyframe(&mut self, records: &[RecordRef<'_>]) {
        self.keyframe_records(records);
    }

    fn mutation(&mut self, m: &MutationRef<'_>) {
        match m {
            MutationRef::Insert {
                parent,
                prev,
                nodes,
            } => {
                self.records(nodes, 0, false);
                if let Some(top) = nodes.first() {
                    self.ops
                        .extend([PLACE, top.wire.0, parent.0, prev.map_or(0, |p| p.0)]);
                }
            }
            MutationRef::Remove { node } => self.ops.extend([REMOVE, node.0]),
            MutationRef::Move { node, parent, prev } => {
                self.ops
                    .extend([PLACE, node.0, parent.0, prev.map_or(0, |p| p.0)]);
            }
            MutationRef::SetAttr { node, name, value } => {
                self.ops.extend([SET_ATTR, node.0]);
                self.name(name);
                self.s(value);
            }
            MutationRef::RemoveAttr { node, name } => {
                self.ops.extend([REMOVE_ATTR, node.0]);
                self.name(name);
            }
            MutationRef::SetText { node, text } => {
                self.ops.extend([SET_TEXT, node.0]);
                self.s(text);
            }
            MutationRef::SetProp { node, prop } => match prop {
                PropRef::Value(v) => {
                    self.ops.extend([VALUE, node.0]);
                    self.opt_s(*v);
                }
                PropRef::Checked(v) => {
                    self.ops.extend([CHECKED, node.0]);
                    self.tri(*v);
                }
                PropRef::Selected(v) => {
                    self.ops.extend([SELECTED, node.0]);
                    self.tri(*v);
                }
                PropRef::Scroll(v) => {
                    self.ops.extend([SCROLL, node.0]);
                    self.pair(*v, |x| x as u32);
                }
                PropRef::Viewport(v) => {
                    self.ops.push(VIEWPORT);
                    self.pair(*v, |x| x);
                }
                // Nothing in the iframe's DOM shows it: the replayer reads it from the mirror.
                PropRef::PixelRatio(_) => {}
            },
            MutationRef::SetFlags { node, flags } => {
                self.ops.extend([FLAGS, node.0, *flags as u32]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cobrowse_engine::{NameRef, PropsRef, WireId, WireNs};

    fn rec(wire: u32, children: u32, data: RecordDataRef<'static>) -> RecordRef<'static> {
        RecordRef {
            wire: WireId(wire),
            children,
            flags: 0,
            data,
        }
    }

    fn el(local: &'static str) -> RecordDataRef<'static> {
        RecordDataRef::Element {
            name: NameRef {
                ns: WireNs::Html,
                local,
            },
            attrs: Vec::new(),
            props: PropsRef::default(),
        }
    }

    /// A content document is a DOCUMENT op under its iframe (only the keyframe's root resets
    /// the page), and its iframe is flagged as holding it.
    #[test]
    fn content_documents_become_document_ops_under_flagged_iframes() {
        let records = [
            rec(
                1,
                1,
                RecordDataRef::Document {
                    viewport: None,
                    pixel_ratio: None,
                },
            ),
            rec(2, 1, el("iframe")),
            rec(
                3,
                1,
                RecordDataRef::Document {
                    viewport: None,
                    pixel_ratio: None,
                },
            ),
            rec(4, 0, el("html")),
            rec(5, 0, el("iframe")),
        ];
        let mut ops = DomOps::default();
        ops.keyframe_records(&records[..4]);
        let element = |id, parent, flags, len| {
            vec![ELEMENT, id, parent, flags, 1, len, 0, NULL, 2, 2, 0, 0, 0]
        };
        let mut want = vec![RESET, 1, 0, 0, 0];
        want.extend(element(2, 1, HOLDS_DOCUMENT, 6));
        want.extend([DOCUMENT, 3, 2]);
        want.extend(element(4, 3, 0, 4));
        assert_eq!(ops.ops, want);
        assert_eq!(ops.text, "iframehtml");

        // An iframe without a content document is not flagged.
        let mut ops = DomOps::default();
        ops.keyframe_records(&[
            rec(
                1,
                1,
                RecordDataRef::Document {
                    viewport: None,
                    pixel_ratio: None,
                },
            ),
            records[4].clone(),
        ]);
        let mut want = vec![RESET, 1, 0, 0, 0];
        want.extend(element(5, 1, 0, 6));
        assert_eq!(ops.ops, want);
    }
}
