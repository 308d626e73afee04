//! Test-only reference for [`super`]: CSS selector matching on the arena [`Tree`]
//! through servo's `selectors` crate (a dev-dependency), which the engine shipped before it had
//! its own matcher. The differential test in `tests.rs` checks that both accept the same
//! selectors and match the same elements.
//!
//! Selectors are parsed by [`selectors::parser::SelectorList::parse`] and matched by
//! [`selectors::matching::matches_selector_list`]; this module only supplies the glue.
//! The glue's element predicates (namespace prefixes, `:disabled`, `:checked`, links) are
//! written here again on purpose, not taken from the matcher under test: shared code would
//! hide its bugs from the differential test.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;

use cssparser::{ToCss, serialize_identifier, serialize_string};
use markup5ever::{LocalName, Namespace, local_name, ns};
use precomputed_hash::PrecomputedHash;
use selectors::attr::{AttrSelectorOperation, CaseSensitivity, NamespaceConstraint};
use selectors::bloom::{BLOOM_HASH_MASK, BloomFilter};
use selectors::context::{
    MatchingContext, MatchingForInvalidation, MatchingMode, NeedsSelectorFlags, QuirksMode,
    SelectorCaches,
};
use selectors::matching::{ElementSelectorFlags, matches_selector_list};
use selectors::parser::{
    Component, ParseRelative, RelativeSelector, SelectorList, SelectorParseErrorKind,
};
use selectors::visitor::{SelectorListKind, SelectorVisitor};
use selectors::{Element, OpaqueElement};

use super::SelectorError;
use crate::dom::tree::{ElementData, NodeData, NodeId, Tree};

// ----- public API ------------------------------------------------------------------------------

/// A compiled selector list (`"a[href], button.primary"`).
///
/// Cheap to clone (the compiled list is reference-counted) and shareable across threads.
#[derive(Clone)]
pub(crate) struct CompiledSelector {
    list: SelectorList<Impl>,
    source: String,
    /// Whether matching keys cache entries by the address of a nested selector list (`:has()`,
    /// `:nth-child(… of S)`), so [`MatchCaches`] must keep this list alive.
    uses_keyed_caches: bool,
    /// Whether the list contains `:has()`, whose subtree search recurses once per tree level.
    uses_has: bool,
}

impl fmt::Debug for CompiledSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CompiledSelector")
            .field(&self.source)
            .finish()
    }
}

impl CompiledSelector {
    /// Parses a selector list, as `querySelectorAll` accepts it.
    pub(crate) fn parse(source: &str) -> Result<CompiledSelector, SelectorError> {
        let error = |message: String| SelectorError {
            selector: source.to_owned(),
            message,
        };
        let mut input = cssparser::Parser::new(source);
        let list = input
            .parse_entirely(|input| SelectorList::parse(&SelectorParser, input, ParseRelative::No))
            .map_err(|e| error(describe_parse_error(&e.kind)))?;
        let mut check = Inspect::default();
        for selector in list.slice() {
            selector.visit(&mut check);
        }
        if check.host {
            return Err(error(
                "`:host` is not supported (the tree has no shadow roots)".into(),
            ));
        }
        if check.compounds > MAX_COMPOUNDS {
            return Err(error(format!(
                "too complex: {} compound selectors (at most {MAX_COMPOUNDS} are accepted)",
                check.compounds
            )));
        }
        Ok(CompiledSelector {
            list,
            source: source.to_owned(),
            uses_keyed_caches: check.has || check.nth_of,
            uses_has: check.has,
        })
    }

    /// The selector text this was compiled from.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Whether element `id` of `tree` matches. Non-elements never match.
    ///
    /// `caches` may be reused across calls and selectors for the same tree while the tree is
    /// not edited; see [`MatchCaches`].
    pub(crate) fn matches(&self, tree: &Tree, id: NodeId, caches: &mut MatchCaches) -> bool {
        if tree.element(id).is_none() {
            return false;
        }
        caches.prepare(tree, self);
        if self.uses_has {
            // `selectors` searches a `:has()` subtree recursively, one stack frame chain per tree
            // level (~150 bytes optimised, ~350 unoptimised). On pathologically deep trees, run
            // the match on a thread whose stack is sized for the depth instead of overflowing
            // (which would abort the process).
            let depth = caches.tree_depth(tree);
            if depth > INLINE_HAS_DEPTH && cfg!(not(target_family = "wasm")) {
                let stack = 2 * 1024 * 1024 + depth.saturating_mul(HAS_STACK_PER_LEVEL);
                return std::thread::scope(|scope| {
                    let handle = std::thread::Builder::new()
                        .name("selector-deep-has".into())
                        .stack_size(stack)
                        .spawn_scoped(scope, || self.match_here(tree, id, caches))
                        .expect("cannot spawn a thread to match :has() on a deep tree");
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                });
            }
        }
        self.match_here(tree, id, caches)
    }

    fn match_here(&self, tree: &Tree, id: NodeId, caches: &mut MatchCaches) -> bool {
        let mut context = MatchingContext::new(
            MatchingMode::Normal,
            None,
            &mut caches.inner,
            QuirksMode::NoQuirks,
            NeedsSelectorFlags::No,
            MatchingForInvalidation::No,
        );
        matches_selector_list(&self.list, ElementRef { tree, id }, &mut context)
    }
}

/// Reusable matching caches (`:nth-*` indices, `:has()` results), wrapping `selectors`'
/// [`SelectorCaches`].
///
/// Entries are keyed by node addresses, so they are only valid for one tree in one state:
/// reuse a `MatchCaches` while matching (any number of selectors) against one tree, and
/// [`clear`](MatchCaches::clear) it, or make a new one, after editing the tree. Switching to a
/// different tree, or to one whose arena grew or moved, clears it automatically.
#[derive(Default)]
pub(crate) struct MatchCaches {
    inner: SelectorCaches,
    /// (arena address, arena length) of the tree the entries describe.
    tree_key: Option<(usize, usize)>,
    /// Selector lists whose nested-list addresses key entries in `inner`; holding a reference
    /// keeps those addresses from being reused by another selector while the entries live.
    pinned: HashMap<usize, SelectorList<Impl>>,
    /// Height of the tree (computed when a `:has()` selector first needs it).
    depth: Option<usize>,
}

impl MatchCaches {
    /// Forgets every cached result (call after editing the tree).
    pub(crate) fn clear(&mut self) {
        self.inner = SelectorCaches::default();
        self.tree_key = None;
        self.pinned.clear();
        self.depth = None;
    }

    /// The number of levels below the root of `tree` (iterative, O(n) once per tree).
    fn tree_depth(&mut self, tree: &Tree) -> usize {
        *self.depth.get_or_insert_with(|| {
            let (mut max, mut depth) = (0usize, 0usize);
            let root = tree.root();
            let mut cur = root;
            loop {
                if let Some(c) = tree.first_child(cur) {
                    cur = c;
                    depth += 1;
                    max = max.max(depth);
                    continue;
                }
                loop {
                    if cur == root {
                        return max;
                    }
                    if let Some(s) = tree.next_sibling(cur) {
                        cur = s;
                        break;
                    }
                    cur = tree.parent(cur).expect("walk stays under the root");
                    depth -= 1;
                }
            }
        })
    }

    fn prepare(&mut self, tree: &Tree, selector: &CompiledSelector) {
        let key = (tree.nodes.as_ptr() as usize, tree.nodes.len());
        if self.tree_key != Some(key) {
            self.clear();
            self.tree_key = Some(key);
        }
        if selector.uses_keyed_caches {
            let ptr = selector.list.thin_arc_heap_ptr() as usize;
            self.pinned
                .entry(ptr)
                .or_insert_with(|| selector.list.clone());
        }
    }
}

impl fmt::Debug for MatchCaches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatchCaches")
            .field("pinned_selectors", &self.pinned.len())
            .finish_non_exhaustive()
    }
}

/// Matching recurses once per compound selector (`a > b c` has three); this bounds the stack a
/// hostile selector can use. Nesting of `:is(:not(…))` is bounded by cssparser's block limit.
const MAX_COMPOUNDS: usize = 512;

/// Trees at most this deep match `:has()` on the caller's stack.
const INLINE_HAS_DEPTH: usize = 1024;

/// Stack reserved per tree level when `:has()` runs on its own thread (generous: covers
/// unoptimised builds).
const HAS_STACK_PER_LEVEL: usize = 1024;

// ----- SelectorImpl ----------------------------------------------------------------------------

/// The [`selectors::SelectorImpl`] for the arena tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Impl;

impl selectors::SelectorImpl for Impl {
    type ExtraMatchingData<'a> = ();
    type AttrValue = CssString;
    type Identifier = CssIdent;
    type LocalName = CssLocalName;
    type NamespaceUrl = CssNamespace;
    type NamespacePrefix = CssIdent;
    type BorrowedLocalName = CssLocalName;
    type BorrowedNamespaceUrl = CssNamespace;
    type NonTSPseudoClass = PseudoClass;
    type PseudoElement = PseudoElement;
}

/// An attribute value in a selector (serialized as a CSS string).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CssString(pub String);

impl From<&str> for CssString {
    fn from(s: &str) -> Self {
        CssString(s.to_owned())
    }
}

impl AsRef<str> for CssString {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl ToCss for CssString {
    fn to_css<W: fmt::Write>(&self, dest: &mut W) -> fmt::Result {
        serialize_string(&self.0, dest)
    }
}

/// An id, class name or namespace prefix in a selector.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub(crate) struct CssIdent(pub String);

impl From<&str> for CssIdent {
    fn from(s: &str) -> Self {
        CssIdent(s.to_owned())
    }
}

impl ToCss for CssIdent {
    fn to_css<W: fmt::Write>(&self, dest: &mut W) -> fmt::Result {
        serialize_identifier(&self.0, dest)
    }
}

impl PrecomputedHash for CssIdent {
    fn precomputed_hash(&self) -> u32 {
        str_hash(&self.0)
    }
}

/// A local name (of an element or attribute) in a selector: the same atom the tree stores, so
/// matching compares atoms.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CssLocalName(pub LocalName);

impl From<&str> for CssLocalName {
    fn from(s: &str) -> Self {
        CssLocalName(LocalName::from(s))
    }
}

impl ToCss for CssLocalName {
    fn to_css<W: fmt::Write>(&self, dest: &mut W) -> fmt::Result {
        serialize_identifier(&self.0, dest)
    }
}

impl PrecomputedHash for CssLocalName {
    fn precomputed_hash(&self) -> u32 {
        self.0.precomputed_hash()
    }
}

/// A namespace URL in a selector (empty for "no namespace").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CssNamespace(pub Namespace);

impl Default for CssNamespace {
    fn default() -> Self {
        CssNamespace(ns!())
    }
}

impl PrecomputedHash for CssNamespace {
    fn precomputed_hash(&self) -> u32 {
        self.0.precomputed_hash()
    }
}

/// FNV-1a, for the bloom-filter hashes of ids and classes (selector side and element side must
/// agree; nothing else depends on the function).
fn str_hash(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in s.as_bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The non-tree-structural pseudo-classes this module understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum PseudoClass {
    /// `:link`: an HTML `<a>` or `<area>` with `href`, or an SVG `<a>` with `href` or
    /// `xlink:href` (every link counts as unvisited).
    Link,
    /// `:any-link`: same as `:link` here.
    AnyLink,
    /// `:visited`: never matches (as in browsers' `querySelector`, for privacy).
    Visited,
    /// `:checked`: a checkbox / radio `<input>` whose checkedness (the `checked` prop, else the
    /// `checked` attribute) is true, or an `<option>` whose selectedness (the `selected` prop,
    /// else the `selected` attribute) is true.
    Checked,
    /// `:disabled`: a form control, `<optgroup>`, `<option>` or `<fieldset>` that is actually
    /// disabled (its own `disabled` attribute, or an ancestor disabled `<fieldset>` outside its
    /// first `<legend>`, or an `<option>`'s disabled `<optgroup>`).
    Disabled,
    /// `:enabled`: one of the elements `:disabled` applies to that is not disabled.
    Enabled,
    /// `:required`: an `<input>` (of a type that can be required), `<select>` or `<textarea>`
    /// with the `required` attribute.
    Required,
    /// `:optional`: such an element without `required`.
    Optional,
}

impl ToCss for PseudoClass {
    fn to_css<W: fmt::Write>(&self, dest: &mut W) -> fmt::Result {
        dest.write_str(match self {
            PseudoClass::Link => ":link",
            PseudoClass::AnyLink => ":any-link",
            PseudoClass::Visited => ":visited",
            PseudoClass::Checked => ":checked",
            PseudoClass::Disabled => ":disabled",
            PseudoClass::Enabled => ":enabled",
            PseudoClass::Required => ":required",
            PseudoClass::Optional => ":optional",
        })
    }
}

impl selectors::parser::NonTSPseudoClass for PseudoClass {
    fn is_active_or_hover(&self) -> bool {
        false
    }

    fn is_user_action_state(&self) -> bool {
        false
    }
}

/// No pseudo-element is supported (they do not select nodes of the tree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PseudoElement {}

impl ToCss for PseudoElement {
    fn to_css<W: fmt::Write>(&self, _dest: &mut W) -> fmt::Result {
        match *self {}
    }
}

impl selectors::parser::PseudoElement for PseudoElement {}

// ----- parsing ---------------------------------------------------------------------------------

/// Parse errors: `selectors`' own, plus named unsupported pseudo-classes / elements.
#[derive(Clone, Debug, PartialEq)]
enum CustomError {
    Selectors(SelectorParseErrorKind),
    UnsupportedPseudoClass(String),
    StatefulPseudoClass(String),
    UnsupportedPseudoElement(String),
}

impl From<SelectorParseErrorKind> for CustomError {
    fn from(kind: SelectorParseErrorKind) -> Self {
        CustomError::Selectors(kind)
    }
}

type ParseError = cssparser::ParseError<CustomError>;

struct SelectorParser;

impl<'i> selectors::Parser<'i> for SelectorParser {
    type Impl = Impl;
    type Error = CustomError;

    fn parse_nth_child_of(&self) -> bool {
        true
    }

    fn parse_is_and_where(&self) -> bool {
        true
    }

    fn parse_has(&self) -> bool {
        true
    }

    fn parse_non_ts_pseudo_class(&self, name: &str) -> Result<PseudoClass, ParseError> {
        let pc = cssparser::match_ignore_ascii_case! { name,
            "link" => PseudoClass::Link,
            "any-link" => PseudoClass::AnyLink,
            "visited" => PseudoClass::Visited,
            "checked" => PseudoClass::Checked,
            "disabled" => PseudoClass::Disabled,
            "enabled" => PseudoClass::Enabled,
            "required" => PseudoClass::Required,
            "optional" => PseudoClass::Optional,
            "hover" | "active" | "focus" | "focus-visible" | "focus-within" | "target"
                | "target-within" => {
                return Err(ParseError::custom(CustomError::StatefulPseudoClass(name.to_owned())));
            },
            _ => return Err(ParseError::custom(CustomError::UnsupportedPseudoClass(name.to_owned()))),
        };
        Ok(pc)
    }

    fn parse_non_ts_functional_pseudo_class(
        &self,
        name: &str,
        _parser: &mut cssparser::Parser<'i>,
        _after_part: bool,
    ) -> Result<PseudoClass, ParseError> {
        Err(ParseError::custom(CustomError::UnsupportedPseudoClass(
            format!("{name}()"),
        )))
    }

    fn parse_pseudo_element(&self, name: &str) -> Result<PseudoElement, ParseError> {
        Err(ParseError::custom(CustomError::UnsupportedPseudoElement(
            name.to_owned(),
        )))
    }

    fn parse_functional_pseudo_element(
        &self,
        name: &str,
        _arguments: &mut cssparser::Parser<'i>,
    ) -> Result<PseudoElement, ParseError> {
        Err(ParseError::custom(CustomError::UnsupportedPseudoElement(
            format!("{name}()"),
        )))
    }

    fn namespace_for_prefix(&self, prefix: &CssIdent) -> Option<CssNamespace> {
        // Prefixes are case-sensitive in CSS.
        let url = match prefix.0.as_str() {
            "html" => ns!(html),
            "svg" => ns!(svg),
            "mathml" => ns!(mathml),
            "xlink" => ns!(xlink),
            "xml" => ns!(xml),
            "xmlns" => ns!(xmlns),
            _ => return None,
        };
        Some(CssNamespace(url))
    }
}

fn describe_parse_error(kind: &cssparser::ParseErrorKind<CustomError>) -> String {
    use SelectorParseErrorKind as S;
    use cssparser::BasicParseErrorKind as B;
    match kind {
        cssparser::ParseErrorKind::Basic(basic) => match basic {
            B::EndOfInput => "unexpected end of input".into(),
            B::UnexpectedToken => "unexpected token".into(),
            B::TooManyNestedBlocks => "too deeply nested".into(),
            other => other.to_string(),
        },
        cssparser::ParseErrorKind::Custom(custom) => match custom {
            CustomError::UnsupportedPseudoClass(name) => format!("unsupported pseudo-class `:{name}`"),
            CustomError::StatefulPseudoClass(name) => format!(
                "unsupported pseudo-class `:{name}` (the captured tree has no hover, focus, active or target state)"
            ),
            CustomError::UnsupportedPseudoElement(name) => {
                format!("pseudo-elements such as `::{name}` are not supported (they select no node)")
            }
            CustomError::Selectors(kind) => match kind {
                S::EmptySelector => "empty selector".into(),
                S::DanglingCombinator => "combinator without a selector after it".into(),
                S::NoQualifiedNameInAttributeSelector => "attribute selector without a name".into(),
                S::UnexpectedTokenInAttributeSelector => "unexpected token in attribute selector".into(),
                S::BadValueInAttr => "bad value in attribute selector".into(),
                S::InvalidQualNameInAttr => "invalid name in attribute selector".into(),
                S::ExpectedBarInAttr => "expected `|` in attribute selector".into(),
                S::ExpectedNamespace => {
                    "unknown namespace prefix (only html, svg, mathml, xlink, xml, xmlns are declared)".into()
                }
                S::ExplicitNamespaceUnexpectedToken => "unexpected token after namespace prefix".into(),
                S::ClassNeedsIdent => "`.` must be followed by a class name".into(),
                S::NoIdentForPseudo => "`:` must be followed by a pseudo-class name".into(),
                S::PseudoElementExpectedIdent => "`::` must be followed by a pseudo-element name".into(),
                S::UnsupportedPseudoClassOrElement => "unsupported pseudo-class or pseudo-element".into(),
                S::UnexpectedIdent => "unexpected identifier".into(),
                S::InvalidState => "pseudo-class not allowed here".into(),
                other => format!("{other:?}"),
            },
        },
    }
}

/// Looks over a parsed selector: counts compounds and notes address-keyed cache users.
#[derive(Default)]
struct Inspect {
    compounds: usize,
    has: bool,
    nth_of: bool,
    host: bool,
}

impl SelectorVisitor for Inspect {
    type Impl = Impl;

    fn visit_simple_selector(&mut self, component: &Component<Impl>) -> bool {
        match component {
            Component::Has(..) => self.has = true,
            Component::NthOf(..) => self.nth_of = true,
            Component::Host(..) => self.host = true,
            _ => {}
        }
        true
    }

    fn visit_relative_selector_list(&mut self, list: &[RelativeSelector<Impl>]) -> bool {
        for relative in list {
            relative.selector.visit(self);
        }
        true
    }

    fn visit_selector_list(
        &mut self,
        _kind: SelectorListKind,
        list: &[selectors::parser::Selector<Impl>],
    ) -> bool {
        for selector in list {
            selector.visit(self);
        }
        true
    }

    fn visit_complex_selector(
        &mut self,
        _combinator_to_right: Option<selectors::parser::Combinator>,
    ) -> bool {
        self.compounds += 1;
        true
    }
}

// ----- Element ---------------------------------------------------------------------------------

/// An element of a [`Tree`], as `selectors` sees it. Only ever built for element nodes.
#[derive(Clone, Copy)]
pub(crate) struct ElementRef<'a> {
    tree: &'a Tree,
    id: NodeId,
}

impl fmt::Debug for ElementRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}> ({:?})", self.data().name.local, self.id)
    }
}

impl<'a> ElementRef<'a> {
    #[inline]
    fn data(&self) -> &'a ElementData {
        match self.tree.data(self.id) {
            NodeData::Element(e) => e,
            _ => unreachable!("ElementRef on a non-element"),
        }
    }

    #[inline]
    fn at(&self, id: NodeId) -> Option<ElementRef<'a>> {
        self.tree.element(id).map(|_| ElementRef {
            tree: self.tree,
            id,
        })
    }

    #[inline]
    fn is_html(&self, local: &LocalName) -> bool {
        self.data().is_html(local)
    }

    /// The value of the no-namespace attribute `local` (an atom comparison).
    #[inline]
    fn attr(&self, local: &LocalName) -> Option<&'a str> {
        self.data()
            .attrs
            .iter()
            .find(|a| a.name.local == *local && a.name.ns == ns!())
            .map(|a| a.value.as_str())
    }

    fn has_attr(&self, local: &LocalName) -> bool {
        self.attr(local).is_some()
    }

    /// `type` attribute, ASCII-lowercased comparison helper.
    fn input_type_is(&self, ty: &str) -> bool {
        self.attr(&local_name!("type"))
            .is_some_and(|t| t.eq_ignore_ascii_case(ty))
    }

    /// HTML `<a>` / `<area>` with `href`, or SVG `<a>` with `href` / `xlink:href`.
    fn is_link_element(&self) -> bool {
        let e = self.data();
        if e.name.ns == ns!(html) {
            matches!(e.name.local, local_name!("a") | local_name!("area"))
                && self.has_attr(&local_name!("href"))
        } else if e.name.ns == ns!(svg) && e.name.local == local_name!("a") {
            e.attrs.iter().any(|a| {
                a.name.local == local_name!("href")
                    && (a.name.ns == ns!() || a.name.ns == ns!(xlink))
            })
        } else {
            false
        }
    }

    fn is_checked(&self) -> bool {
        let props = self.data().props.as_deref();
        if self.is_html(&local_name!("input")) {
            if !(self.input_type_is("checkbox") || self.input_type_is("radio")) {
                return false;
            }
            props
                .and_then(|p| p.checked)
                .unwrap_or_else(|| self.has_attr(&local_name!("checked")))
        } else if self.is_html(&local_name!("option")) {
            props
                .and_then(|p| p.selected)
                .unwrap_or_else(|| self.has_attr(&local_name!("selected")))
        } else {
            false
        }
    }

    /// Whether `:enabled` / `:disabled` apply to this element at all.
    fn can_be_disabled(&self) -> bool {
        let e = self.data();
        e.name.ns == ns!(html)
            && matches!(
                e.name.local,
                local_name!("button")
                    | local_name!("input")
                    | local_name!("select")
                    | local_name!("textarea")
                    | local_name!("optgroup")
                    | local_name!("option")
                    | local_name!("fieldset")
            )
    }

    /// HTML's "actually disabled" (for the elements [`Self::can_be_disabled`] accepts).
    fn is_disabled(&self) -> bool {
        if self.has_attr(&local_name!("disabled")) {
            return true;
        }
        let e = self.data();
        match e.name.local {
            local_name!("optgroup") => false,
            local_name!("option") => self.parent_element().is_some_and(|p| {
                p.is_html(&local_name!("optgroup")) && p.has_attr(&local_name!("disabled"))
            }),
            _ => {
                // A descendant of a disabled fieldset, unless inside that fieldset's first legend.
                let mut child = *self;
                while let Some(parent) = child.parent_element() {
                    if parent.is_html(&local_name!("fieldset"))
                        && parent.has_attr(&local_name!("disabled"))
                    {
                        let first_legend = parent
                            .tree
                            .children(parent.id)
                            .filter_map(|c| parent.at(c))
                            .find(|c| c.is_html(&local_name!("legend")));
                        if first_legend.is_none_or(|l| l.id != child.id) {
                            return true;
                        }
                    }
                    child = parent;
                }
                false
            }
        }
    }

    /// Whether `:required` / `:optional` apply.
    fn can_be_required(&self) -> bool {
        if self.is_html(&local_name!("select")) || self.is_html(&local_name!("textarea")) {
            return true;
        }
        if !self.is_html(&local_name!("input")) {
            return false;
        }
        // `required` does not apply to these input types.
        ![
            "hidden", "range", "color", "submit", "image", "reset", "button",
        ]
        .iter()
        .any(|t| self.input_type_is(t))
    }
}

impl<'a> Element for ElementRef<'a> {
    type Impl = Impl;

    fn opaque(&self) -> OpaqueElement {
        OpaqueElement::new(self.tree.node(self.id))
    }

    fn parent_element(&self) -> Option<Self> {
        // A template's contents fragment (or the document / fragment root) is not an element:
        // matching stops there.
        self.tree.parent(self.id).and_then(|p| self.at(p))
    }

    fn parent_node_is_shadow_root(&self) -> bool {
        false
    }

    fn containing_shadow_host(&self) -> Option<Self> {
        None
    }

    fn is_pseudo_element(&self) -> bool {
        false
    }

    fn prev_sibling_element(&self) -> Option<Self> {
        let mut cur = self.tree.prev_sibling(self.id);
        while let Some(id) = cur {
            if let Some(e) = self.at(id) {
                return Some(e);
            }
            cur = self.tree.prev_sibling(id);
        }
        None
    }

    fn next_sibling_element(&self) -> Option<Self> {
        let mut cur = self.tree.next_sibling(self.id);
        while let Some(id) = cur {
            if let Some(e) = self.at(id) {
                return Some(e);
            }
            cur = self.tree.next_sibling(id);
        }
        None
    }

    fn first_element_child(&self) -> Option<Self> {
        // A template's only child is its contents fragment, so it has no element children.
        self.tree.children(self.id).find_map(|c| self.at(c))
    }

    fn is_html_element_in_html_document(&self) -> bool {
        // Every tree is an HTML document (or a fragment of one).
        self.data().name.ns == ns!(html)
    }

    fn has_local_name(&self, local_name: &CssLocalName) -> bool {
        self.data().name.local == local_name.0
    }

    fn has_namespace(&self, ns: &CssNamespace) -> bool {
        self.data().name.ns == ns.0
    }

    fn is_same_type(&self, other: &Self) -> bool {
        let (a, b) = (&self.data().name, &other.data().name);
        a.local == b.local && a.ns == b.ns
    }

    fn attr_matches(
        &self,
        ns: &NamespaceConstraint<&CssNamespace>,
        local_name: &CssLocalName,
        operation: &AttrSelectorOperation<&CssString>,
    ) -> bool {
        self.data().attrs.iter().any(|a| {
            a.name.local == local_name.0
                && match ns {
                    NamespaceConstraint::Any => true,
                    NamespaceConstraint::Specific(url) => a.name.ns == url.0,
                }
                && operation.eval_str(&a.value)
        })
    }

    fn match_non_ts_pseudo_class(
        &self,
        pc: &PseudoClass,
        _context: &mut MatchingContext<Impl>,
    ) -> bool {
        match pc {
            PseudoClass::Link | PseudoClass::AnyLink => self.is_link_element(),
            PseudoClass::Visited => false,
            PseudoClass::Checked => self.is_checked(),
            PseudoClass::Disabled => self.can_be_disabled() && self.is_disabled(),
            PseudoClass::Enabled => self.can_be_disabled() && !self.is_disabled(),
            PseudoClass::Required => {
                self.can_be_required() && self.has_attr(&local_name!("required"))
            }
            PseudoClass::Optional => {
                self.can_be_required() && !self.has_attr(&local_name!("required"))
            }
        }
    }

    fn match_pseudo_element(
        &self,
        pe: &PseudoElement,
        _context: &mut MatchingContext<Impl>,
    ) -> bool {
        match *pe {}
    }

    fn apply_selector_flags(&self, _flags: ElementSelectorFlags) {}

    fn is_link(&self) -> bool {
        self.is_link_element()
    }

    fn is_html_slot_element(&self) -> bool {
        self.is_html(&local_name!("slot"))
    }

    fn has_id(&self, id: &CssIdent, case_sensitivity: CaseSensitivity) -> bool {
        self.attr(&local_name!("id"))
            .is_some_and(|v| case_sensitivity.eq(v.as_bytes(), id.0.as_bytes()))
    }

    fn has_class(&self, name: &CssIdent, case_sensitivity: CaseSensitivity) -> bool {
        self.attr(&local_name!("class")).is_some_and(|v| {
            v.split_ascii_whitespace()
                .any(|c| case_sensitivity.eq(c.as_bytes(), name.0.as_bytes()))
        })
    }

    fn has_custom_state(&self, _name: &CssIdent) -> bool {
        false
    }

    fn imported_part(&self, _name: &CssIdent) -> Option<CssIdent> {
        None
    }

    fn is_part(&self, _name: &CssIdent) -> bool {
        false
    }

    fn is_empty(&self) -> bool {
        // Comments, doctypes and a template's contents fragment do not count.
        self.tree
            .children(self.id)
            .all(|c| match self.tree.data(c) {
                NodeData::Element(_) => false,
                NodeData::Text(t) => t.is_empty(),
                _ => true,
            })
    }

    fn is_root(&self) -> bool {
        self.tree
            .parent(self.id)
            .is_some_and(|p| matches!(self.tree.data(p), NodeData::Document { .. }))
    }

    fn add_element_unique_hashes(&self, filter: &mut BloomFilter) -> bool {
        // Must agree with the selector-side hashes (`PrecomputedHash` of our types).
        let e = self.data();
        filter.insert_hash(e.name.local.precomputed_hash() & BLOOM_HASH_MASK);
        filter.insert_hash(e.name.ns.precomputed_hash() & BLOOM_HASH_MASK);
        if let Some(id) = self.attr(&local_name!("id")) {
            filter.insert_hash(str_hash(id) & BLOOM_HASH_MASK);
        }
        if let Some(class) = self.attr(&local_name!("class")) {
            for c in class.split_ascii_whitespace() {
                filter.insert_hash(str_hash(c) & BLOOM_HASH_MASK);
            }
        }
        true
    }
}
