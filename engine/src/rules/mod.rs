//! Privacy and safety rules: masking, blocking, element-disable and sanitizing.
//!
//! Rules are loaded from a [`RulesConfig`] (JSON or TOML, see [`RulesConfig::from_json`] and
//! [`RulesConfig::from_toml`]), compiled once into [`Rules`], then applied inline: the
//! annotate pass ([`Rules::annotate`]) stores a [`View`] verdict on every node, and the
//! [`Projection`] derives what the agent sees (masked text, dropped attributes, placeholders)
//! from the raw node and its verdict while fingerprints, snapshots and diffs are computed. No
//! projected copy of the tree is ever built, and nothing hidden ever reaches a sink.
//!
//! Invariants:
//! - projection is a pure function of (raw node, its view, the rules): the old and new tree of
//!   a diff, annotated by the same rules, project consistently;
//! - a mirror (no rules) projects as the identity, so its fingerprints, computed from the data
//!   it received, equal the capture side's fingerprints of the projected tree;
//! - when sanitizing is on (the default), no dropped element, event-handler attribute or
//!   dangerous URL is ever yielded by the projection, and the projection of a tree the HTML
//!   parser made reads back unchanged from its HTML, text compared modulo `normalize()`
//!   ([`sanitize`] says what is dropped for that; [`url`] which URLs stay).
//!
//! # Config format
//! ```json
//! {
//!   "mask":    { "all": false,
//!                "selectors": [".ssn", "input[name=card]"],
//!                "attributes": ["data-card", {"selector": "a.private", "attributes": ["href"]}] },
//!   "block":   { "selectors": ["#private-panel", "iframe.thirdparty"] },
//!   "disable": { "selectors": ["a.danger"], "submit_buttons": true }
//! }
//! ```
//! - `mask.selectors`: elements whose text (and their descendants' text), input value and
//!   `value` attribute the agent sees as asterisks, one per character (whitespace kept).
//!   `input[type=password]` is always masked. `mask.all` masks every text and value of the page.
//! - `mask.attributes`: attribute names masked on every element, or `{selector, attributes}`
//!   entries masking those attributes on matching elements only (at most 32 such entries).
//! - `block.selectors`: elements replaced by a placeholder that keeps the tag name and the
//!   `width` / `height` attributes, plus, when the browser measured the element's box, an
//!   engine-written `style` giving it the same size (see [`placeholder`]); nothing inside is
//!   sent. (`object`, `embed` and `applet`
//!   are always blocked when sanitizing, and sent as a `span`, never under their own tag.)
//! - `disable`: elements the agent may not act on. `submit_buttons` (default `true`) disables
//!   `button[type=submit]`, a `button` without a valid type inside a form or with a `form`
//!   attribute, `input[type=submit]` and `input[type=image]`.
//!
//! Sanitizing is not part of the file: it is on unless a library caller (or the CLI's
//! `--no-sanitize`) compiles the rules with [`Sanitize::OffForTrustedContent`].

pub(crate) mod placeholder;
pub(crate) mod sanitize;
pub(crate) mod selector;
pub(crate) mod url;

use std::borrow::Cow;

use markup5ever::{LocalName, QualName, local_name, ns};
use serde::Deserialize;

use crate::dom::rendered::Rendered;
use crate::dom::tree::{Dirty, ElementData, NodeData, NodeId, Props, Tree};
use crate::dom::view::View;
use crate::rules::sanitize::{ElementVerdict, attribute_is_unsafe};
use crate::rules::selector::{CompiledSelector, SelectorError};

/// Whether to sanitize what the agent receives.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Sanitize {
    /// Remove everything that could execute in the agent's browser (the default, and the only
    /// mode the relay and the WASM client accept).
    #[default]
    On,
    /// Keep the page as it is. Only for trusted content and testing.
    OffForTrustedContent,
}

/// The rules file, as written by an administrator.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Masking rules.
    pub mask: MaskConfig,
    /// Blocking rules.
    pub block: BlockConfig,
    /// Element-disable rules.
    pub disable: DisableConfig,
}

/// `mask` section.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MaskConfig {
    /// Mask every text and value on the page.
    pub all: bool,
    /// Elements whose text and values are masked.
    pub selectors: Vec<String>,
    /// Attributes whose values are masked.
    pub attributes: Vec<AttributeMask>,
}

/// One entry of `mask.attributes`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum AttributeMask {
    /// An attribute name masked on every element.
    Everywhere(String),
    /// Attribute names masked on elements matching a selector.
    OnMatching {
        /// The selector.
        selector: String,
        /// Attribute names.
        attributes: Vec<String>,
    },
}

/// `block` section.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BlockConfig {
    /// Elements replaced by placeholders.
    pub selectors: Vec<String>,
}

/// `disable` section.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DisableConfig {
    /// Elements the agent may not act on.
    pub selectors: Vec<String>,
    /// Disable submit buttons (default `true`).
    pub submit_buttons: bool,
}

impl Default for DisableConfig {
    fn default() -> Self {
        DisableConfig {
            selectors: Vec::new(),
            submit_buttons: true,
        }
    }
}

/// Why a rules file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RulesError {
    /// The file is not valid JSON/TOML for the schema.
    Syntax(String),
    /// A selector did not parse; names the selector.
    Selector(SelectorError),
    /// More `{selector, attributes}` entries than supported.
    TooManyAttributeRules(usize),
}

impl std::fmt::Display for RulesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RulesError::Syntax(m) => write!(f, "invalid rules file: {m}"),
            RulesError::Selector(e) => write!(f, "invalid rules file: {e}"),
            RulesError::TooManyAttributeRules(n) => {
                write!(
                    f,
                    "invalid rules file: {n} selector-scoped attribute masks (at most {MAX_ATTR_RULES})"
                )
            }
        }
    }
}

impl std::error::Error for RulesError {}

const MAX_ATTR_RULES: usize = 32;

impl RulesConfig {
    /// Parses the JSON form.
    #[cfg(feature = "config")]
    pub fn from_json(text: &str) -> Result<RulesConfig, RulesError> {
        serde_json::from_str(text).map_err(|e| RulesError::Syntax(e.to_string()))
    }

    /// Parses the TOML form (same schema).
    #[cfg(feature = "config")]
    pub fn from_toml(text: &str) -> Result<RulesConfig, RulesError> {
        toml::from_str(text).map_err(|e| RulesError::Syntax(e.to_string()))
    }

    /// Parses JSON when the text starts with `{`, TOML otherwise.
    #[cfg(feature = "config")]
    pub fn from_text(text: &str) -> Result<RulesConfig, RulesError> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_toml(text)
        }
    }
}

/// Compiled rules: selectors parsed once, name lists interned.
#[derive(Clone)]
pub struct Rules {
    mask_all: bool,
    mask: Vec<CompiledSelector>,
    attr_everywhere: Vec<LocalName>,
    attr_rules: Vec<(CompiledSelector, Vec<LocalName>)>,
    block: Vec<CompiledSelector>,
    disable: Vec<CompiledSelector>,
    disable_submit: bool,
    sanitize: Sanitize,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("mask_all", &self.mask_all)
            .field(
                "mask",
                &self.mask.iter().map(|s| s.source()).collect::<Vec<_>>(),
            )
            .field(
                "block",
                &self.block.iter().map(|s| s.source()).collect::<Vec<_>>(),
            )
            .field(
                "disable",
                &self.disable.iter().map(|s| s.source()).collect::<Vec<_>>(),
            )
            .field("sanitize", &self.sanitize)
            .finish()
    }
}

impl Default for Rules {
    /// Default rules: passwords masked, submit buttons disabled, sanitizing on.
    fn default() -> Self {
        Rules::compile(&RulesConfig::default(), Sanitize::On).expect("default rules compile")
    }
}

fn compile_all(list: &[String]) -> Result<Vec<CompiledSelector>, RulesError> {
    list.iter()
        .map(|s| CompiledSelector::parse(s).map_err(RulesError::Selector))
        .collect()
}

fn lower_names(list: &[String]) -> Vec<LocalName> {
    list.iter()
        .map(|n| LocalName::from(n.to_ascii_lowercase()))
        .collect()
}

impl Rules {
    /// Compiles a config.
    pub fn compile(config: &RulesConfig, sanitize: Sanitize) -> Result<Rules, RulesError> {
        let mut attr_everywhere = Vec::new();
        let mut attr_rules = Vec::new();
        for entry in &config.mask.attributes {
            match entry {
                AttributeMask::Everywhere(name) => {
                    attr_everywhere.push(LocalName::from(name.to_ascii_lowercase()))
                }
                AttributeMask::OnMatching {
                    selector,
                    attributes,
                } => {
                    let sel = CompiledSelector::parse(selector).map_err(RulesError::Selector)?;
                    attr_rules.push((sel, lower_names(attributes)));
                }
            }
        }
        if attr_rules.len() > MAX_ATTR_RULES {
            return Err(RulesError::TooManyAttributeRules(attr_rules.len()));
        }
        Ok(Rules {
            mask_all: config.mask.all,
            mask: compile_all(&config.mask.selectors)?,
            attr_everywhere,
            attr_rules,
            block: compile_all(&config.block.selectors)?,
            disable: compile_all(&config.disable.selectors)?,
            disable_submit: config.disable.submit_buttons,
            sanitize,
        })
    }

    /// Rules that hide, block, disable and sanitize nothing: the projection is the identity.
    pub fn transparent() -> Rules {
        let config = RulesConfig {
            disable: DisableConfig {
                selectors: Vec::new(),
                submit_buttons: false,
            },
            ..Default::default()
        };
        Rules::compile(&config, Sanitize::OffForTrustedContent).expect("transparent rules compile")
    }

    /// Whether every node's view depends only on the node itself and its ancestors, never on
    /// its siblings or children: true when no selector decides a view (no mask, block, disable
    /// or attribute-mask selectors; the sanitizer and `mask.all` look at ancestors only). Then
    /// a changed child list re-decides no view but the views in the subtrees it attached.
    pub fn views_follow_ancestors_only(&self) -> bool {
        self.mask.is_empty()
            && self.block.is_empty()
            && self.disable.is_empty()
            && self.attr_rules.is_empty()
    }

    /// Whether the output of these rules is sanitized.
    pub fn sanitizes(&self) -> bool {
        self.sanitize == Sanitize::On
    }

    /// Computes the view of every node of the tree.
    pub fn annotate(&self, tree: &mut Tree) {
        let root = tree.root();
        self.annotate_subtree(tree, root);
    }

    /// Recomputes the views of `top` and its descendants, inheriting from `top`'s parent.
    ///
    /// Selectors are evaluated against the whole tree, so a match inside the subtree that
    /// depends on ancestors is right; a change outside the subtree that alters matches inside
    /// it (a class added to an ancestor) needs that ancestor re-annotated.
    pub fn annotate_subtree(&self, tree: &mut Tree, top: NodeId) {
        let mut walk = AnnotateWalk::new(tree, top);
        let done = walk.step(self, tree, usize::MAX, |_, _| {});
        debug_assert!(done, "an unbounded step annotates the whole subtree");
    }

    /// Recomputes the view of `id`, whose own data changed (attributes, text, form state,
    /// scroll), and the views of its descendants only where they can see that change: when
    /// its view changed (they inherit it), or when it is a MathML `annotation-xml` (its
    /// `encoding` decides what its children may be). Only for rules whose views follow
    /// ancestors only ([`Rules::views_follow_ancestors_only`]): otherwise a selector may match
    /// a descendant by this node's attributes, and the caller annotates the whole subtree.
    /// (A node's name never changes; ancestors' names are what the sanitizer reads besides.)
    pub(crate) fn annotate_edited(&self, tree: &mut Tree, id: NodeId) {
        debug_assert!(self.views_follow_ancestors_only());
        let before = tree.node(id).view;
        let mut walk = AnnotateWalk::new(tree, id);
        // The walk's first node is `id` itself; its children wait on the walk's stack.
        if walk.step(self, tree, 1, |_, _| {}) {
            return;
        }
        let encodes = tree
            .element(id)
            .is_some_and(|e| e.name.ns == ns!(mathml) && &*e.name.local == "annotation-xml");
        if tree.node(id).view != before || encodes {
            let done = walk.step(self, tree, usize::MAX, |_, _| {});
            debug_assert!(done, "an unbounded step annotates the whole subtree");
        }
    }

    fn view_of(&self, tree: &Tree, id: NodeId, inherited: View) -> View {
        if inherited.is_dropped() {
            return inherited;
        }
        let mut view = View::PLAIN;
        if inherited.is_masked() || self.mask_all {
            view = view.with(View::MASKED);
        }
        let e = match tree.data(id) {
            NodeData::Element(e) => e,
            NodeData::Comment(_) | NodeData::Text(_)
                if self.sanitizes() && !sanitize::character_data_survives(tree, id) =>
            {
                return view.with(View::DROPPED);
            }
            _ => return view,
        };
        if self.sanitizes() {
            let annotation_is_html = |p: NodeId| self.annotation_is_html(tree, p);
            match sanitize::element_verdict(tree, id, e, &annotation_is_html) {
                ElementVerdict::Keep => {}
                ElementVerdict::Drop => return view.with(View::DROPPED),
                ElementVerdict::Block => view = view.with(View::BLOCKED),
            }
        }
        if self.block.iter().any(|s| s.matches(tree, id)) {
            view = view.with(View::BLOCKED);
        }
        if is_password_input(e) || self.mask.iter().any(|s| s.matches(tree, id)) {
            view = view.with(View::MASKED);
        }
        if (self.disable_submit && is_submit_button(tree, id, e))
            || self.disable.iter().any(|s| s.matches(tree, id))
        {
            view = view.with(View::DISABLED);
        }
        for (i, (sel, _)) in self.attr_rules.iter().enumerate() {
            if sel.matches(tree, id) {
                view.attr_mask |= 1 << i;
            }
        }
        if self.sanitizes() && self.hidden_input_leaves_its_table(tree, id, e, view) {
            return view.with(View::DROPPED);
        }
        view
    }

    /// Whether the `encoding` of the `annotation-xml` element `p`, as the agent sees it, makes
    /// it an HTML integration point (a masked encoding does not).
    fn annotation_is_html(&self, tree: &Tree, p: NodeId) -> bool {
        let encoding = QualName::new(None, ns!(), LocalName::from("encoding"));
        tree.element(p)
            .and_then(|e| e.attr("encoding"))
            .is_some_and(sanitize::is_html_encoding)
            && !self.attr_masked(tree.node(p).view, &encoding)
    }

    /// An `<input type=hidden>` is the one element the parser keeps directly inside a table
    /// part, and it decides so by the `type` value: once blocked or masked, the placeholder
    /// would be moved out of the table by a browser parsing the mirror's HTML, so it is not
    /// sent (a hidden input shows nothing anyway).
    fn hidden_input_leaves_its_table(
        &self,
        tree: &Tree,
        id: NodeId,
        e: &ElementData,
        view: View,
    ) -> bool {
        if !e.is_html(&local_name!("input")) {
            return false;
        }
        let in_table_part = tree
            .parent(id)
            .and_then(|p| tree.element(p))
            .is_some_and(|p| {
                p.name.ns == ns!(html)
                    && matches!(&*p.name.local, "table" | "tbody" | "thead" | "tfoot" | "tr")
            });
        in_table_part
            && (view.is_blocked()
                || self.attr_masked(view, &QualName::new(None, ns!(), local_name!("type"))))
    }

    fn attr_masked(&self, view: View, name: &QualName) -> bool {
        if self.attr_everywhere.contains(&name.local) {
            return true;
        }
        let mut bits = view.attr_mask;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            if self.attr_rules[i].1.contains(&name.local) {
                return true;
            }
            bits &= bits - 1;
        }
        false
    }
}

fn is_password_input(e: &ElementData) -> bool {
    e.is_html(&local_name!("input"))
        && e.attr("type")
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("password"))
}

fn is_submit_button(tree: &Tree, id: NodeId, e: &ElementData) -> bool {
    if e.name.ns != ns!(html) {
        return false;
    }
    match &*e.name.local {
        "input" => e.attr("type").is_some_and(|t| {
            let t = t.trim();
            t.eq_ignore_ascii_case("submit") || t.eq_ignore_ascii_case("image")
        }),
        "button" => {
            let ty = e.attr("type").map(str::trim);
            match ty {
                Some(t) if t.eq_ignore_ascii_case("submit") => true,
                Some(t) if t.eq_ignore_ascii_case("button") || t.eq_ignore_ascii_case("reset") => {
                    false
                }
                // No type, or an invalid one, means submit: it matters when the button has a form.
                _ => e.attr("form").is_some() || has_form_ancestor(tree, id),
            }
        }
        _ => false,
    }
}

/// Whether an HTML `form` is among the ancestors of `id` in its own document (a form outside
/// an iframe does not own the iframe's buttons).
fn has_form_ancestor(tree: &Tree, id: NodeId) -> bool {
    let mut cur = tree.parent(id);
    while let Some(p) = cur.filter(|&p| !tree.is_document(p)) {
        if tree
            .element(p)
            .is_some_and(|e| e.is_html(&local_name!("form")))
        {
            return true;
        }
        cur = tree.parent(p);
    }
    false
}

/// Replaces every non-whitespace character by `*`.
pub fn mask_text(text: &str, out: &mut String) {
    out.clear();
    out.extend(
        text.chars()
            .map(|c| if c.is_whitespace() { c } else { '*' }),
    );
}

/// What the agent sees of a node: the raw tree seen through rules (capture side) or as it is
/// (a mirror, whose data was projected before it was sent).
#[derive(Copy, Clone)]
pub struct Projection<'r> {
    rules: Option<&'r Rules>,
}

/// Flags of a node's view that travel on the wire (blocked, masked, disabled).
pub(crate) const WIRE_FLAGS: u8 = View::BLOCKED | View::MASKED | View::DISABLED;

impl<'r> Projection<'r> {
    /// The capture side: project through these rules.
    pub fn through(rules: &'r Rules) -> Self {
        Projection { rules: Some(rules) }
    }

    /// A mirror: the data already is what the agent sees.
    pub fn identity() -> Projection<'static> {
        Projection { rules: None }
    }

    /// The rules, if any.
    pub fn rules(&self) -> Option<&'r Rules> {
        self.rules
    }

    /// Whether `id` exists for the agent.
    #[inline]
    pub fn visible(&self, tree: &Tree, id: NodeId) -> bool {
        !tree.node(id).view.is_dropped()
    }

    /// The wire flags of `id`.
    #[inline]
    pub fn wire_flags(&self, tree: &Tree, id: NodeId) -> u8 {
        tree.node(id).view.flags() & WIRE_FLAGS
    }

    /// The element name the agent sees: the element's own, except for a blocked `object`,
    /// `embed` or `applet` under sanitizing rules, which is sent as a neutral `span`
    /// placeholder. `None` for other nodes.
    pub fn element_name<'t>(&self, tree: &'t Tree, id: NodeId) -> Option<&'t QualName> {
        let e = tree.element(id)?;
        let neutral = self.rules.is_some_and(Rules::sanitizes)
            && tree.node(id).view.is_blocked()
            && sanitize::needs_neutral_placeholder(e);
        Some(if neutral {
            sanitize::placeholder_name()
        } else {
            &e.name
        })
    }

    /// The children the agent sees.
    pub fn children<'t>(&self, tree: &'t Tree, id: NodeId) -> impl Iterator<Item = NodeId> + 't {
        let first = if self.shows_children(tree, id) {
            tree.first_child(id)
        } else {
            None
        };
        std::iter::successors(first, move |&c| tree.next_sibling(c))
            .filter(move |&c| !tree.node(c).view.is_dropped())
    }

    /// Whether the agent sees any of `id`'s children (those it sees are the
    /// [`visible`](Self::visible) ones): not under a blocked element.
    #[inline]
    pub fn shows_children(&self, tree: &Tree, id: NodeId) -> bool {
        !(self.rules.is_some() && tree.node(id).view.is_blocked())
    }

    /// Calls `f` with each attribute the agent sees, with its projected value.
    pub fn for_each_attr(&self, tree: &Tree, id: NodeId, mut f: impl FnMut(&QualName, &str)) {
        let Some(e) = tree.element(id) else { return };
        let Some(rules) = self.rules else {
            for a in &e.attrs {
                f(&a.name, &a.value);
            }
            return;
        };
        let view = tree.node(id).view;
        let mut scratch = String::new();
        let placeholder_box = view
            .is_blocked()
            .then(|| e.props.as_ref().and_then(|p| p.rendered))
            .flatten()
            .and_then(Rendered::known)
            .filter(|_| placeholder::takes_a_box(e));
        for a in &e.attrs {
            if view.is_blocked()
                && !(a.name.ns == ns!() && matches!(&*a.name.local, "width" | "height"))
            {
                continue;
            }
            if rules.sanitize == Sanitize::On && attribute_is_unsafe(e, &a.name, &a.value) {
                continue;
            }
            let masked = rules.attr_masked(view, &a.name)
                || (view.is_masked() && a.name.ns == ns!() && a.name.local == local_name!("value"));
            if masked {
                mask_text(&a.value, &mut scratch);
                f(&a.name, &scratch);
            } else {
                f(&a.name, &a.value);
            }
        }
        if let Some(b) = placeholder_box {
            static STYLE: std::sync::LazyLock<QualName> =
                std::sync::LazyLock::new(|| QualName::new(None, ns!(), local_name!("style")));
            f(&STYLE, &placeholder::placeholder_style(e, &b));
        }
    }

    /// The projected attributes as owned pairs (for snapshots and inserts).
    pub fn attrs(&self, tree: &Tree, id: NodeId) -> Vec<(QualName, String)> {
        let mut v = Vec::new();
        self.for_each_attr(tree, id, |n, val| v.push((n.clone(), val.to_owned())));
        v
    }

    /// The projected character data of a text or comment node.
    pub fn character_data<'t>(&self, tree: &'t Tree, id: NodeId) -> Option<Cow<'t, str>> {
        let text = tree.data(id).character_data()?;
        if self.rules.is_some() && tree.node(id).view.is_masked() {
            let mut s = String::new();
            mask_text(text, &mut s);
            Some(Cow::Owned(s))
        } else {
            Some(Cow::Borrowed(text))
        }
    }

    /// The projected live props of an element.
    pub fn props(&self, tree: &Tree, id: NodeId) -> Props {
        let Some(p) = tree.props(id) else {
            return Props::default();
        };
        let mut p = p.clone();
        // What the page measured shapes placeholders (see `for_each_attr`), never a prop.
        p.rendered = None;
        let view = tree.node(id).view;
        if self.rules.is_some() {
            if view.is_blocked() {
                return Props::default();
            }
            if view.is_masked()
                && let Some(v) = &p.value
            {
                let mut s = String::new();
                mask_text(v, &mut s);
                p.value = Some(s);
            }
        }
        p
    }
}

#[cfg(test)]
thread_local! {
    /// Views computed by annotation walks on this thread (tests count the work of a refresh).
    pub(crate) static VIEWS_COMPUTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A resumable annotation of a subtree (see [`Rules::annotate_subtree`], which runs one to the
/// end): each [`AnnotateWalk::step`] computes the views of at most `max_nodes` more nodes, in
/// pre-order, so that a large page's annotation can be spread over tasks.
///
/// Invariant: between steps the tree is not edited (the walk holds node ids of this tree as it
/// is; debug-asserted through the arena's length).
pub(crate) struct AnnotateWalk {
    /// (node, inherited view, number of element ancestors), next on top.
    stack: Vec<(NodeId, View, usize)>,
    /// The arena's length when the walk began.
    arena: usize,
}

impl AnnotateWalk {
    /// A walk over `top` and its descendants, inheriting from `top`'s parent.
    pub(crate) fn new(tree: &Tree, top: NodeId) -> AnnotateWalk {
        let parent_view = tree.parent(top).map_or(View::PLAIN, |p| tree.node(p).view);
        let mut depth = 0;
        let mut up = tree.parent(top);
        while let Some(p) = up {
            depth += usize::from(tree.element(p).is_some());
            up = tree.parent(p);
        }
        AnnotateWalk {
            stack: vec![(top, parent_view, depth)],
            arena: tree.capacity_index(),
        }
    }

    /// Annotates up to `max_nodes` more nodes, calling `visited` with each once its view is set
    /// (in pre-order); returns whether the whole subtree is done.
    pub(crate) fn step(
        &mut self,
        rules: &Rules,
        tree: &mut Tree,
        max_nodes: usize,
        mut visited: impl FnMut(&mut Tree, NodeId),
    ) -> bool {
        debug_assert_eq!(
            self.arena,
            tree.capacity_index(),
            "the tree was edited between annotation steps"
        );
        let mut left = max_nodes;
        while left > 0 {
            let Some((id, inherited, depth)) = self.stack.pop() else {
                break;
            };
            left -= 1;
            #[cfg(test)]
            VIEWS_COMPUTED.with(|n| n.set(n.get() + 1));
            let mut view = rules.view_of(tree, id, inherited);
            if rules.sanitizes() && depth > sanitize::MAX_ELEMENT_ANCESTORS {
                view = view.with(View::DROPPED);
            }
            let before = std::mem::replace(&mut tree.node_mut(id).view, view);
            if before != view {
                // What the agent sees of it changed (a mask class added to an ancestor masks
                // text that did not change): its fingerprint must be recomputed, so that a diff
                // visits it and sends its new projection. No-op before the first fingerprints.
                tree.mark(id, Dirty::Data);
            }
            visited(tree, id);
            let child_inherit = if view.is_dropped() || view.is_blocked() {
                View::PLAIN.with(View::DROPPED)
            } else if view.is_masked() {
                View::PLAIN.with(View::MASKED)
            } else {
                View::PLAIN
            };
            let child_depth = depth + usize::from(tree.element(id).is_some());
            let start = self.stack.len();
            self.stack
                .extend(tree.children(id).map(|c| (c, child_inherit, child_depth)));
            self.stack[start..].reverse();
        }
        self.stack.is_empty()
    }
}

#[cfg(all(test, feature = "html", feature = "config"))]
mod tests {
    use super::*;

    #[test]
    fn javascript_urls_are_dangerous_however_obfuscated() {
        for v in [
            "javascript:alert(1)",
            "  JaVaScRiPt:alert(1)",
            "java\tscript:alert(1)",
            "jav\nascript:alert(1)",
            "\u{1}javascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "data: text/html,<script>",
            "DATA:application/xhtml+xml,x",
        ] {
            assert!(
                url::is_dangerous_url(v, url::UrlUse::Load),
                "{v:?} should be dangerous"
            );
        }
    }

    #[test]
    fn svg_animations_of_links_and_handlers_are_dropped() {
        let rules = Rules::default();
        let mut t = crate::dom::parse::parse_document_str(
            "<svg><a href=/x><set attributeName=href to=/y></set><animate attributeName=ONCLICK to=1></animate>\
             <animate attributeName=fill to=red></animate></a></svg>",
        );
        rules.annotate(&mut t);
        let kept: Vec<String> = t
            .descendants(t.root())
            .filter(|&n| !t.node(n).view.is_dropped())
            .filter_map(|n| t.element(n).map(|e| e.name.local.to_string()))
            .collect();
        assert!(!kept.contains(&"set".to_string()), "{kept:?}");
        assert_eq!(
            kept.iter().filter(|n| *n == "animate").count(),
            1,
            "{kept:?}"
        );
    }

    #[test]
    fn srcset_with_one_bad_candidate_is_dropped() {
        assert!(url::srcset_is_dangerous("a.png 1x, javascript:alert(1) 2x"));
        assert!(!url::srcset_is_dangerous("a.png 1x, b.png 2x"));
    }

    #[test]
    fn rules_parse_from_json_and_toml() {
        let j = RulesConfig::from_text(r#"{"mask": {"selectors": [".ssn"], "attributes": ["title", {"selector": "a", "attributes": ["href"]}]}, "block": {"selectors": ["iframe"]}}"#).unwrap();
        let t = RulesConfig::from_text("[mask]\nselectors = ['.ssn']\nattributes = ['title', { selector = 'a', attributes = ['href'] }]\n[block]\nselectors = ['iframe']\n").unwrap();
        assert_eq!(j, t);
        assert!(j.disable.submit_buttons);
    }

    #[test]
    fn unknown_keys_are_an_error() {
        let e = RulesConfig::from_text(r#"{"mask": {"selector": [".ssn"]}}"#).unwrap_err();
        assert!(e.to_string().contains("selector"), "{e}");
    }

    #[test]
    fn masking_keeps_whitespace_and_length() {
        let mut s = String::new();
        mask_text("ab c\u{e9}", &mut s);
        assert_eq!(s, "** **");
    }
}
