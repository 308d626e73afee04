//! HTML parsing into the arena [`Tree`] through html5ever's `TreeSink`.
//!
//! The sink keeps the arena behind a `RefCell` (html5ever 0.40's sink takes `&self`); handles
//! are plain arena indices. Adjacent text is merged here, as the sink contract requires, so a
//! parsed tree never holds two adjacent text nodes.

use std::borrow::Cow;
use std::cell::RefCell;

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, ParseOpts, parse_document, parse_fragment};
use markup5ever::{ExpandedName, LocalName, Namespace, QualName, local_name, ns};

use crate::dom::tree::{Attr, Attrs, Doctype, NodeData, NodeId, Text, Tree};

/// Options for [`parse_document_with`] / [`parse_fragment_with`].
#[derive(Clone, Debug)]
pub struct ParseOptions {
    /// Parse as if scripting were enabled (affects `<noscript>`). Default: `true`, as a
    /// browser with scripting on parses the customer's page.
    pub scripting_enabled: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            scripting_enabled: true,
        }
    }
}

/// Parses a whole document.
pub fn parse_document_str(html: &str) -> Tree {
    parse_document_with(html, &ParseOptions::default())
}

/// Parses a whole document with options.
pub fn parse_document_with(html: &str, opts: &ParseOptions) -> Tree {
    let sink = ArenaSink::new(Tree::new_document());
    let parser = parse_document(sink, parse_opts(opts));
    parser.one(StrTendril::from(html))
}

/// Parses a fragment as the `innerHTML` of an HTML element named `context` (for example
/// `"body"`, `"div"`, `"select"`, `"tr"`). The result's root is a fragment node.
pub fn parse_fragment_str(html: &str, context: &str) -> Tree {
    parse_fragment_in(
        html,
        QualName::new(None, ns!(html), LocalName::from(context)),
        &ParseOptions::default(),
    )
}

/// Parses a fragment in the context of an element with any qualified name (an `svg` context
/// gives SVG-namespace children).
pub fn parse_fragment_in(html: &str, context: QualName, opts: &ParseOptions) -> Tree {
    let sink = ArenaSink::new(Tree::new_document());
    let parser = parse_fragment(sink, parse_opts(opts), context, Vec::new(), false);
    let mut doc = parser.one(StrTendril::from(html));
    // html5ever puts the fragment's nodes under a synthetic <html> child of the document.
    let mut out = Tree::new_fragment();
    let root = out.root();
    if let Some(html) = doc.first_child(doc.root()) {
        let kids: Vec<NodeId> = doc.children(html).collect();
        for k in kids {
            let copy = out.import_subtree(&doc, k);
            out.append(root, copy);
        }
    }
    doc.dirty.clear();
    out.dirty.clear();
    out
}

fn parse_opts(opts: &ParseOptions) -> ParseOpts {
    let mut p = ParseOpts::default();
    p.tree_builder.scripting_enabled = opts.scripting_enabled;
    p
}

/// The tree sink: an arena behind a `RefCell`.
struct ArenaSink {
    tree: RefCell<Tree>,
}

impl ArenaSink {
    fn new(tree: Tree) -> Self {
        ArenaSink {
            tree: RefCell::new(tree),
        }
    }

    fn append_text(&self, tree: &mut Tree, parent: NodeId, prev: Option<NodeId>, text: &str) {
        if let Some(p) = prev
            && let NodeData::Text(t) = &mut tree.node_mut(p).data
        {
            t.push_str(text);
            return;
        }
        let id = tree.create(NodeData::Text(text.into()));
        tree.insert_after(parent, prev, id);
    }
}

/// A node handle as the tree builder holds it: the arena index plus, for elements, the name.
/// Carrying the name lets `elem_name` (called for nearly every token) borrow it from the
/// handle instead of reaching into the arena; atoms of known names clone without refcounts.
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    id: NodeId,
    ns: Namespace,
    local: LocalName,
}

impl Handle {
    fn node(id: NodeId) -> Handle {
        Handle {
            id,
            ns: ns!(),
            local: local_name!(""),
        }
    }
}

fn convert_attrs(attrs: Vec<Attribute>) -> Attrs {
    attrs
        .into_iter()
        .map(|a| Attr {
            name: a.name,
            value: Text::from(&*a.value),
        })
        .collect()
}

impl TreeSink for ArenaSink {
    type Handle = Handle;
    type Output = Tree;
    type ElemName<'a> = ExpandedName<'a>;

    fn finish(self) -> Tree {
        let mut tree = self.tree.into_inner();
        tree.parser_made = true;
        tree
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> Handle {
        Handle::node(self.tree.borrow().root())
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> ExpandedName<'a> {
        ExpandedName {
            ns: &target.ns,
            local: &target.local,
        }
    }

    fn create_element(
        &self,
        name: QualName,
        attrs: Vec<Attribute>,
        _flags: ElementFlags,
    ) -> Handle {
        let (ns, local) = (name.ns.clone(), name.local.clone());
        let id = self
            .tree
            .borrow_mut()
            .create_element(name, convert_attrs(attrs));
        Handle { id, ns, local }
    }

    fn create_comment(&self, text: StrTendril) -> Handle {
        Handle::node(self.tree.borrow_mut().create(NodeData::comment(&*text)))
    }

    fn create_pi(&self, _target: StrTendril, data: StrTendril) -> Handle {
        // HTML has no processing instructions; the tokenizer never produces them. Keep the data
        // as a comment, which is what a browser's HTML parser does with `<?...>`.
        Handle::node(self.tree.borrow_mut().create(NodeData::comment(&*data)))
    }

    fn append(&self, parent: &Handle, child: NodeOrText<Handle>) {
        let mut tree = self.tree.borrow_mut();
        let last = tree.last_child(parent.id);
        match child {
            NodeOrText::AppendText(text) => self.append_text(&mut tree, parent.id, last, &text),
            NodeOrText::AppendNode(node) => tree.insert_after(parent.id, last, node.id),
        }
    }

    fn append_based_on_parent_node(
        &self,
        element: &Handle,
        prev_element: &Handle,
        child: NodeOrText<Handle>,
    ) {
        let has_parent = self.tree.borrow().parent(element.id).is_some();
        if has_parent {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        let mut tree = self.tree.borrow_mut();
        let id = tree.create(Doctype::node(&*name, &*public_id, &*system_id));
        let root = tree.root();
        tree.append(root, id);
    }

    fn get_template_contents(&self, target: &Handle) -> Handle {
        let tree = self.tree.borrow();
        // Every template element is created with its contents fragment as the only child.
        Handle::node(tree.template_contents(target.id).unwrap_or(target.id))
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        x.id == y.id
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        let mut tree = self.tree.borrow_mut();
        let Some(parent) = tree.parent(sibling.id) else {
            return;
        };
        let prev = tree.prev_sibling(sibling.id);
        match new_node {
            NodeOrText::AppendText(text) => self.append_text(&mut tree, parent, prev, &text),
            NodeOrText::AppendNode(node) => tree.insert_after(parent, prev, node.id),
        }
    }

    fn add_attrs_if_missing(&self, target: &Handle, attrs: Vec<Attribute>) {
        let mut tree = self.tree.borrow_mut();
        if let Some(e) = tree.element_mut(target.id) {
            for a in attrs {
                if !e.attrs.iter().any(|x| x.name == a.name) {
                    e.attrs.push(Attr {
                        name: a.name,
                        value: Text::from(&*a.value),
                    });
                }
            }
        }
    }

    fn remove_from_parent(&self, target: &Handle) {
        self.tree.borrow_mut().detach(target.id);
    }

    fn reparent_children(&self, node: &Handle, new_parent: &Handle) {
        let mut tree = self.tree.borrow_mut();
        let kids: Vec<NodeId> = tree.children(node.id).collect();
        for k in kids {
            tree.append(new_parent.id, k);
        }
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Handle) -> bool {
        if handle.ns != ns!(mathml) || &*handle.local != "annotation-xml" {
            return false;
        }
        let tree = self.tree.borrow();
        tree.element(handle.id).is_some_and(|e| {
            e.attr("encoding").is_some_and(|v| {
                v.eq_ignore_ascii_case("text/html")
                    || v.eq_ignore_ascii_case("application/xhtml+xml")
            })
        })
    }
}
