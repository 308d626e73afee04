//! The mutation vocabulary shared by the diff, frames and the replayer, and the sink trait the
//! diff writes into.
//!
//! Ordering contract (what the replayer relies on): within one delta, mutations apply in order;
//! an `Insert` or `Move` names its new parent and the sibling it goes after (`prev`, `None` =
//! first child), both already in place when it applies; `Remove`s come last. All data in a
//! mutation is already projected through the rules: nothing masked, blocked or sanitized away
//! is ever in it.

use markup5ever::QualName;

use crate::dom::tree::{NodeKind, Prop, WireId};

/// One node of an inserted subtree or a snapshot, in pre-order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRecord {
    /// The node's wire id.
    pub wire: WireId,
    /// How many of the following records are its direct children (each followed by its own
    /// descendants).
    pub children: u32,
    /// Wire-visible view flags ([`crate::View::BLOCKED`], `MASKED`, `DISABLED`).
    pub flags: u8,
    /// The node's (projected) data.
    pub data: RecordData,
}

/// The data of a [`NodeRecord`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    /// A document root, with its viewport.
    Document {
        /// Viewport size.
        viewport: Option<(u32, u32)>,
        /// Device pixel ratio, thousandths.
        pixel_ratio: Option<u32>,
    },
    /// A fragment (template contents or fragment root).
    Fragment,
    /// A doctype.
    Doctype {
        /// Name.
        name: String,
        /// Public id.
        public_id: String,
        /// System id.
        system_id: String,
    },
    /// An element.
    Element {
        /// Name.
        name: QualName,
        /// Attributes.
        attrs: Vec<(QualName, String)>,
        /// Live props set on it.
        props: crate::dom::tree::Props,
    },
    /// A text node.
    Text(String),
    /// A comment.
    Comment(String),
}

impl RecordData {
    /// The node kind.
    pub fn kind(&self) -> NodeKind {
        match self {
            RecordData::Document { .. } => NodeKind::Document,
            RecordData::Fragment => NodeKind::Fragment,
            RecordData::Doctype { .. } => NodeKind::Doctype,
            RecordData::Element { .. } => NodeKind::Element,
            RecordData::Text(_) => NodeKind::Text,
            RecordData::Comment(_) => NodeKind::Comment,
        }
    }
}

/// One primitive change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Insert a new subtree (pre-order records, `nodes[0]` is its root) under `parent`, after
    /// `prev`.
    Insert {
        /// New parent.
        parent: WireId,
        /// Sibling it goes after; `None` = first child.
        prev: Option<WireId>,
        /// The subtree.
        nodes: Vec<NodeRecord>,
    },
    /// Remove a node and its subtree.
    Remove {
        /// The node.
        node: WireId,
    },
    /// Move an existing node (with its subtree).
    Move {
        /// The node.
        node: WireId,
        /// New parent.
        parent: WireId,
        /// Sibling it goes after; `None` = first child.
        prev: Option<WireId>,
    },
    /// Set an attribute.
    SetAttr {
        /// The element.
        node: WireId,
        /// Attribute name.
        name: QualName,
        /// New value.
        value: String,
    },
    /// Remove an attribute.
    RemoveAttr {
        /// The element.
        node: WireId,
        /// Attribute name.
        name: QualName,
    },
    /// Replace the data of a text or comment node.
    SetText {
        /// The node.
        node: WireId,
        /// New data.
        text: String,
    },
    /// Set a live property.
    SetProp {
        /// The node.
        node: WireId,
        /// The property and value.
        prop: Prop,
    },
    /// Change the wire-visible view flags (masked, blocked, disabled).
    SetFlags {
        /// The node.
        node: WireId,
        /// New flags.
        flags: u8,
    },
}

/// The kinds of [`Mutation`], for statistics.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MutationKind {
    /// [`Mutation::Insert`]
    Insert,
    /// [`Mutation::Remove`]
    Remove,
    /// [`Mutation::Move`]
    Move,
    /// [`Mutation::SetAttr`]
    SetAttr,
    /// [`Mutation::RemoveAttr`]
    RemoveAttr,
    /// [`Mutation::SetText`]
    SetText,
    /// [`Mutation::SetProp`]
    SetProp,
    /// [`Mutation::SetFlags`]
    SetFlags,
}

impl MutationKind {
    /// All kinds, in a stable order.
    pub const ALL: [MutationKind; 8] = [
        MutationKind::Insert,
        MutationKind::Remove,
        MutationKind::Move,
        MutationKind::SetAttr,
        MutationKind::RemoveAttr,
        MutationKind::SetText,
        MutationKind::SetProp,
        MutationKind::SetFlags,
    ];

    /// A short snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            MutationKind::Insert => "insert",
            MutationKind::Remove => "remove",
            MutationKind::Move => "move",
            MutationKind::SetAttr => "set_attr",
            MutationKind::RemoveAttr => "remove_attr",
            MutationKind::SetText => "set_text",
            MutationKind::SetProp => "set_prop",
            MutationKind::SetFlags => "set_flags",
        }
    }
}

impl Mutation {
    /// The kind.
    pub fn kind(&self) -> MutationKind {
        match self {
            Mutation::Insert { .. } => MutationKind::Insert,
            Mutation::Remove { .. } => MutationKind::Remove,
            Mutation::Move { .. } => MutationKind::Move,
            Mutation::SetAttr { .. } => MutationKind::SetAttr,
            Mutation::RemoveAttr { .. } => MutationKind::RemoveAttr,
            Mutation::SetText { .. } => MutationKind::SetText,
            Mutation::SetProp { .. } => MutationKind::SetProp,
            Mutation::SetFlags { .. } => MutationKind::SetFlags,
        }
    }
}

/// Where the diff writes its mutations.
pub trait MutationSink {
    /// Receives one mutation.
    fn push(&mut self, m: Mutation);
}

impl MutationSink for Vec<Mutation> {
    fn push(&mut self, m: Mutation) {
        Vec::push(self, m);
    }
}

/// A sink that only counts (for benchmarks).
#[derive(Default, Debug, Clone, Copy)]
pub struct CountingSink {
    /// Mutations received.
    pub count: usize,
}

impl MutationSink for CountingSink {
    fn push(&mut self, _m: Mutation) {
        self.count += 1;
    }
}

/// A namespace as carried on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WireNs {
    /// No namespace (most attributes).
    None = 0,
    /// `http://www.w3.org/1999/xhtml`
    Html = 1,
    /// `http://www.w3.org/2000/svg`
    Svg = 2,
    /// `http://www.w3.org/1998/Math/MathML`
    MathMl = 3,
    /// `http://www.w3.org/1999/xlink`
    XLink = 4,
    /// `http://www.w3.org/XML/1998/namespace`
    Xml = 5,
    /// `http://www.w3.org/2000/xmlns/`
    XmlNs = 6,
}

impl WireNs {
    /// From a byte; `None` for unknown values.
    pub fn from_u8(b: u8) -> Option<WireNs> {
        Some(match b {
            0 => WireNs::None,
            1 => WireNs::Html,
            2 => WireNs::Svg,
            3 => WireNs::MathMl,
            4 => WireNs::XLink,
            5 => WireNs::Xml,
            6 => WireNs::XmlNs,
            _ => return None,
        })
    }

    /// The wire namespace of a parsed name (HTML only produces these seven).
    pub fn of(ns: &markup5ever::Namespace) -> WireNs {
        use markup5ever::ns;
        match *ns {
            ns!(html) => WireNs::Html,
            ns!(svg) => WireNs::Svg,
            ns!(mathml) => WireNs::MathMl,
            ns!(xlink) => WireNs::XLink,
            ns!(xml) => WireNs::Xml,
            ns!(xmlns) => WireNs::XmlNs,
            _ => WireNs::None,
        }
    }

    /// Builds a qualified name (with the conventional prefix for xlink/xml/xmlns attributes).
    pub fn qual_name(self, local: &str) -> QualName {
        self.qual(markup5ever::LocalName::from(local))
    }

    /// [`WireNs::qual_name`] of an interned local name.
    pub fn qual(self, local: markup5ever::LocalName) -> QualName {
        use markup5ever::{Prefix, namespace_prefix, ns};
        match self {
            WireNs::None => QualName::new(None, ns!(), local),
            WireNs::Html => QualName::new(None, ns!(html), local),
            WireNs::Svg => QualName::new(None, ns!(svg), local),
            WireNs::MathMl => QualName::new(None, ns!(mathml), local),
            WireNs::XLink => QualName::new(Some(namespace_prefix!("xlink")), ns!(xlink), local),
            WireNs::Xml => QualName::new(Some(namespace_prefix!("xml")), ns!(xml), local),
            WireNs::XmlNs => {
                let prefix: Option<Prefix> = if &*local == "xmlns" {
                    None
                } else {
                    Some(namespace_prefix!("xmlns"))
                };
                QualName::new(prefix, ns!(xmlns), local)
            }
        }
    }
}

/// A borrowed name: namespace and local name.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NameRef<'a> {
    /// Namespace.
    pub ns: WireNs,
    /// Local name.
    pub local: &'a str,
}

impl<'a> NameRef<'a> {
    /// Borrow a qualified name.
    pub fn of(name: &'a QualName) -> NameRef<'a> {
        NameRef {
            ns: WireNs::of(&name.ns),
            local: &name.local,
        }
    }
    /// Whether it names `q`.
    pub fn is(&self, q: &QualName) -> bool {
        WireNs::of(&q.ns) == self.ns && &*q.local == self.local
    }
    /// An owned qualified name.
    pub fn to_qual_name(&self) -> QualName {
        self.ns.qual_name(self.local)
    }
}

/// Borrowed form of [`RecordData`] (what a zero-copy frame view yields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordDataRef<'a> {
    /// See [`RecordData::Document`].
    Document {
        /// Viewport.
        viewport: Option<(u32, u32)>,
        /// Device pixel ratio, thousandths.
        pixel_ratio: Option<u32>,
    },
    /// See [`RecordData::Fragment`].
    Fragment,
    /// See [`RecordData::Doctype`].
    Doctype {
        /// Name.
        name: &'a str,
        /// Public id.
        public_id: &'a str,
        /// System id.
        system_id: &'a str,
    },
    /// See [`RecordData::Element`].
    Element {
        /// Name.
        name: NameRef<'a>,
        /// Attributes.
        attrs: Vec<(NameRef<'a>, &'a str)>,
        /// Props.
        props: PropsRef<'a>,
    },
    /// See [`RecordData::Text`].
    Text(&'a str),
    /// See [`RecordData::Comment`].
    Comment(&'a str),
}

/// Borrowed [`crate::Props`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PropsRef<'a> {
    /// value
    pub value: Option<&'a str>,
    /// checked
    pub checked: Option<bool>,
    /// selected
    pub selected: Option<bool>,
    /// scroll offsets
    pub scroll: Option<(i32, i32)>,
}

/// Borrowed [`NodeRecord`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Wire id.
    pub wire: WireId,
    /// Direct children count.
    pub children: u32,
    /// View flags.
    pub flags: u8,
    /// Data.
    pub data: RecordDataRef<'a>,
}

/// Borrowed [`Prop`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropRef<'a> {
    /// See [`Prop::Value`].
    Value(Option<&'a str>),
    /// See [`Prop::Checked`].
    Checked(Option<bool>),
    /// See [`Prop::Selected`].
    Selected(Option<bool>),
    /// See [`Prop::Scroll`].
    Scroll(Option<(i32, i32)>),
    /// See [`Prop::Viewport`].
    Viewport(Option<(u32, u32)>),
    /// See [`Prop::PixelRatio`].
    PixelRatio(Option<u32>),
}

/// Borrowed [`Mutation`]: what the replayer applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MutationRef<'a> {
    /// See [`Mutation::Insert`].
    Insert {
        /// Parent.
        parent: WireId,
        /// After this sibling.
        prev: Option<WireId>,
        /// Pre-order records.
        nodes: Vec<RecordRef<'a>>,
    },
    /// See [`Mutation::Remove`].
    Remove {
        /// Node.
        node: WireId,
    },
    /// See [`Mutation::Move`].
    Move {
        /// Node.
        node: WireId,
        /// Parent.
        parent: WireId,
        /// After this sibling.
        prev: Option<WireId>,
    },
    /// See [`Mutation::SetAttr`].
    SetAttr {
        /// Node.
        node: WireId,
        /// Name.
        name: NameRef<'a>,
        /// Value.
        value: &'a str,
    },
    /// See [`Mutation::RemoveAttr`].
    RemoveAttr {
        /// Node.
        node: WireId,
        /// Name.
        name: NameRef<'a>,
    },
    /// See [`Mutation::SetText`].
    SetText {
        /// Node.
        node: WireId,
        /// Text.
        text: &'a str,
    },
    /// See [`Mutation::SetProp`].
    SetProp {
        /// Node.
        node: WireId,
        /// Prop.
        prop: PropRef<'a>,
    },
    /// See [`Mutation::SetFlags`].
    SetFlags {
        /// Node.
        node: WireId,
        /// Flags.
        flags: u8,
    },
}

impl NodeRecord {
    /// Borrow.
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            wire: self.wire,
            children: self.children,
            flags: self.flags,
            data: self.data.as_ref(),
        }
    }
}

impl RecordData {
    /// Borrow.
    pub fn as_ref(&self) -> RecordDataRef<'_> {
        match self {
            RecordData::Document {
                viewport,
                pixel_ratio,
            } => RecordDataRef::Document {
                viewport: *viewport,
                pixel_ratio: *pixel_ratio,
            },
            RecordData::Fragment => RecordDataRef::Fragment,
            RecordData::Doctype {
                name,
                public_id,
                system_id,
            } => RecordDataRef::Doctype {
                name,
                public_id,
                system_id,
            },
            RecordData::Element { name, attrs, props } => RecordDataRef::Element {
                name: NameRef::of(name),
                attrs: attrs
                    .iter()
                    .map(|(n, v)| (NameRef::of(n), v.as_str()))
                    .collect(),
                props: PropsRef {
                    value: props.value.as_deref(),
                    checked: props.checked,
                    selected: props.selected,
                    scroll: props.scroll,
                },
            },
            RecordData::Text(t) => RecordDataRef::Text(t),
            RecordData::Comment(t) => RecordDataRef::Comment(t),
        }
    }
}

impl Prop {
    /// Borrow.
    pub fn as_ref(&self) -> PropRef<'_> {
        match self {
            Prop::Value(v) => PropRef::Value(v.as_deref()),
            Prop::Checked(v) => PropRef::Checked(*v),
            Prop::Selected(v) => PropRef::Selected(*v),
            Prop::Scroll(v) => PropRef::Scroll(*v),
            Prop::Viewport(v) => PropRef::Viewport(*v),
            Prop::PixelRatio(v) => PropRef::PixelRatio(*v),
        }
    }
}

impl Mutation {
    /// Borrow.
    pub fn as_ref(&self) -> MutationRef<'_> {
        match self {
            Mutation::Insert {
                parent,
                prev,
                nodes,
            } => MutationRef::Insert {
                parent: *parent,
                prev: *prev,
                nodes: nodes.iter().map(NodeRecord::as_ref).collect(),
            },
            Mutation::Remove { node } => MutationRef::Remove { node: *node },
            Mutation::Move { node, parent, prev } => MutationRef::Move {
                node: *node,
                parent: *parent,
                prev: *prev,
            },
            Mutation::SetAttr { node, name, value } => MutationRef::SetAttr {
                node: *node,
                name: NameRef::of(name),
                value,
            },
            Mutation::RemoveAttr { node, name } => MutationRef::RemoveAttr {
                node: *node,
                name: NameRef::of(name),
            },
            Mutation::SetText { node, text } => MutationRef::SetText { node: *node, text },
            Mutation::SetProp { node, prop } => MutationRef::SetProp {
                node: *node,
                prop: prop.as_ref(),
            },
            Mutation::SetFlags { node, flags } => MutationRef::SetFlags {
                node: *node,
                flags: *flags,
            },
        }
    }
}
