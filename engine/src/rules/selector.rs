//! CSS selector matching on the arena [`Tree`], through servo's `selectors` crate.
//!
//! Selectors are parsed by [`selectors::parser::SelectorList::parse`] and matched by
//! [`selectors::matching::matches_selector_list`]; this module only supplies the glue: the
//! [`selectors::SelectorImpl`] types, a parser configuration, and [`selectors::Element`] for a node of the
//! tree ([`ElementRef`]).
//!
//! Semantics are those of an HTML document in no-quirks (standards) mode, as `querySelector`
//! sees it:
//! - type selectors and attribute *names* match ASCII case-insensitively against HTML elements
//!   and case-sensitively against SVG / MathML ones (`clipPath` matches an SVG `<clipPath>`,
//!   `clippath` does not);
//! - attribute *values* are case-sensitive, except for the attributes HTML lists as
//!   case-insensitive (`type`, `checked`, `lang`, ...) on HTML elements, and with the `i` flag;
//! - ids and classes are case-sensitive;
//! - a `<template>`'s contents (the [`NodeData::Fragment`] child) are a separate tree: the
//!   elements inside have no parent element, and the template has no element children;
//! - so is a same-origin iframe's content document (the [`NodeData::Document`] child of an
//!   `<iframe>`): selectors match inside it as in its own document (`:root` is its `<html>`),
//!   never across the iframe.
//!
//! Supported: everything `selectors` parses natively (type / universal / id / class / attribute
//! selectors with all operators and the `i` / `s` flags, all combinators, `:not()`, `:is()`,
//! `:where()`, `:has()`, `:nth-child(An+B [of S])`, `:nth-last-child()`, `:nth-of-type()`,
//! `:nth-last-of-type()`, `:first-child`, `:last-child`, `:only-child`, `:first-of-type`,
//! `:last-of-type`, `:only-of-type`, `:root`, `:empty`, `:scope`), plus the non-structural
//! pseudo-classes of [`PseudoClass`]. Hover / focus / active / target state is not part of the
//! captured tree, so those pseudo-classes are parse errors rather than silently never matching;
//! pseudo-elements are parse errors too.
//!
//! Namespace prefixes: there is no `@namespace` rule to declare them, so the well-known prefixes
//! `html`, `svg`, `mathml`, `xlink`, `xml` and `xmlns` are predeclared (`svg|a`,
//! `[xlink|href]`). `*|` and `|` (no namespace) work as in CSS. There is no default namespace:
//! `a` matches HTML and SVG `<a>` alike.

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

/// Why a selector could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    /// The selector text as given.
    pub selector: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid CSS selector `{}`: {}",
            self.selector, self.message
        )
    }
}

impl std::error::Error for SelectorError {}

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

// ----- tests -----------------------------------------------------------------------------------

#[cfg(all(test, feature = "html"))]
mod tests {
    use super::*;
    use crate::dom::parse::{parse_document_str, parse_fragment_str};

    /// Ids of the elements matching `selector`, in document order, described as `tag#id` or
    /// `tag` when there is no id.
    fn select(tree: &Tree, selector: &str) -> Vec<String> {
        let sel = CompiledSelector::parse(selector).unwrap_or_else(|e| panic!("{e}"));
        let mut caches = MatchCaches::default();
        tree.descendants(tree.root())
            .filter(|&id| sel.matches(tree, id, &mut caches))
            .map(|id| {
                let e = tree.element(id).unwrap();
                match e.attr("id") {
                    Some(i) => format!("{}#{i}", e.name.local),
                    None => e.name.local.to_string(),
                }
            })
            .collect()
    }

    fn doc(body: &str) -> Tree {
        parse_document_str(&format!(
            "<!DOCTYPE html><html><head></head><body>{body}</body></html>"
        ))
    }

    #[test]
    fn compiled_selector_is_send_sync_clone() {
        const fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
        const _: () = assert_send_sync_clone::<CompiledSelector>();
        fn assert_send<T: Send>() {}
        assert_send::<MatchCaches>();
        let s = CompiledSelector::parse("div").unwrap();
        let t = s.clone();
        std::thread::spawn(move || assert_eq!(t.source(), "div"))
            .join()
            .unwrap();
        assert_eq!(s.source(), "div");
    }

    #[test]
    fn invalid_selectors_error_and_name_the_selector() {
        for bad in [
            "div[[",
            "::before",
            ":hover2",
            "",
            "  ",
            "div,",
            "> p",
            "p >",
            "a::after",
            "#",
            ".",
            "[",
            "[x=]",
            "p:nth-child(foo)",
            ":not(",
            "foo|bar",
            ":lang(en)",
            "&",
            "div ++ p",
        ] {
            let err = CompiledSelector::parse(bad).expect_err(bad);
            assert_eq!(err.selector, bad);
            let shown = err.to_string();
            assert!(
                shown.starts_with(&format!("invalid CSS selector `{bad}`: ")),
                "{shown}"
            );
            assert!(!err.message.is_empty());
            let _: &dyn std::error::Error = &err;
        }
        let e = CompiledSelector::parse(":hover2").unwrap_err();
        assert!(e.message.contains(":hover2"), "{}", e.message);
        let e = CompiledSelector::parse("::before").unwrap_err();
        assert!(e.message.contains("::before"), "{}", e.message);
        let e = CompiledSelector::parse("").unwrap_err();
        assert_eq!(e.message, "empty selector");
        assert_eq!(e.to_string(), "invalid CSS selector ``: empty selector");
    }

    #[test]
    fn live_state_pseudo_classes_are_rejected_not_ignored() {
        for s in [
            ":hover",
            "a:focus",
            "input:focus-within",
            ":active",
            ":target",
            ":focus-visible",
        ] {
            let e = CompiledSelector::parse(s).expect_err(s);
            assert!(e.message.contains("no hover, focus"), "{}", e.message);
        }
    }

    #[test]
    fn unsupported_pseudo_classes_and_elements_error() {
        for s in [
            ":read-only",
            ":placeholder-shown",
            ":dir(ltr)",
            "p::first-line",
            "::selection",
            "::part(x)",
            "::slotted(p)",
            ":host",
            ":host(p)",
            "p:host(.x)",
        ] {
            CompiledSelector::parse(s).expect_err(s);
        }
    }

    #[test]
    fn non_elements_never_match() {
        let t = doc("<!-- c -->text<p>x</p>");
        let sel = CompiledSelector::parse("*").unwrap();
        let sel_not = CompiledSelector::parse(":not(p)").unwrap();
        let mut c = MatchCaches::default();
        for id in t.descendants(t.root()) {
            if t.element(id).is_none() {
                assert!(!sel.matches(&t, id, &mut c));
                assert!(!sel_not.matches(&t, id, &mut c));
            }
        }
        let html = t
            .children(t.root())
            .find(|&i| t.element(i).is_some())
            .unwrap();
        assert!(sel.matches(&t, html, &mut c));
        assert!(!sel.matches(&t, t.root(), &mut c));
    }

    #[test]
    fn type_selectors_are_case_insensitive_for_html_elements() {
        let t = doc("<DIV id=a></DIV><Span id=b></Span>");
        assert_eq!(select(&t, "div"), ["div#a"]);
        assert_eq!(select(&t, "DIV"), ["div#a"]);
        assert_eq!(select(&t, "sPaN"), ["span#b"]);
        assert_eq!(select(&t, "*|div"), ["div#a"]);
        assert_eq!(select(&t, "html|div"), ["div#a"]);
        assert!(select(&t, "svg|div").is_empty());
    }

    #[test]
    fn svg_camel_case_type_selectors_are_case_sensitive() {
        let t = doc(
            r#"<svg id=s viewBox="0 0 1 1"><clipPath id=c><rect id="r"/></clipPath><foreignObject id="f"/></svg>"#,
        );
        // The parser keeps SVG's camelCase.
        assert_eq!(select(&t, "clipPath"), ["clipPath#c"]);
        // Per spec (HTML documents), type selectors are ASCII case-insensitive only against
        // HTML elements: `clippath` does not match the SVG element.
        assert!(select(&t, "clippath").is_empty());
        assert!(select(&t, "CLIPPATH").is_empty());
        assert_eq!(select(&t, "svg|clipPath > rect"), ["rect#r"]);
        assert_eq!(select(&t, "foreignObject"), ["foreignObject#f"]);
        // Attribute names likewise: SVG keeps `viewBox`.
        assert_eq!(select(&t, "[viewBox]"), ["svg#s"]);
        assert!(select(&t, "[viewbox]").is_empty());
        assert_eq!(select(&t, "svg"), ["svg#s"]);
        assert_eq!(
            select(&t, "SVG"),
            Vec::<String>::new(),
            "svg is not an HTML element"
        );
    }

    #[test]
    fn attribute_names_are_case_insensitive_for_html_elements() {
        let t = doc(r#"<input id=i DATA-X=1 Name=q>"#);
        assert_eq!(select(&t, "[data-x]"), ["input#i"]);
        assert_eq!(select(&t, "[DATA-X]"), ["input#i"]);
        assert_eq!(select(&t, "[NAME=q]"), ["input#i"]);
        assert!(
            select(&t, "[name=Q]").is_empty(),
            "name values are case-sensitive"
        );
    }

    #[test]
    fn input_type_value_matches_case_insensitively_in_html() {
        let t =
            doc(r#"<input id=a TYPE=PASSWORD><input id=b type=password><input id=c type=text>"#);
        assert_eq!(select(&t, "input[type=password]"), ["input#a", "input#b"]);
        assert_eq!(select(&t, "input[type=PassWord]"), ["input#a", "input#b"]);
        assert_eq!(select(&t, "[type=password i]"), ["input#a", "input#b"]);
        // Explicit `s` flag forces case-sensitivity.
        assert_eq!(select(&t, "[type=password s]"), ["input#b"]);
        // Other attributes are case-sensitive without the flag.
        let t = doc(r#"<p id=a title=Hello></p><p id=b title=hello></p>"#);
        assert_eq!(select(&t, "[title=hello]"), ["p#b"]);
        assert_eq!(select(&t, "[title=hello i]"), ["p#a", "p#b"]);
    }

    #[test]
    fn type_attribute_on_svg_elements_is_case_sensitive() {
        let t = doc(
            r#"<svg><style id=s type="TEXT/css"></style></svg><style id=h type="TEXT/css"></style>"#,
        );
        assert_eq!(select(&t, "[type='text/css']"), ["style#h"]);
        assert_eq!(select(&t, "[type='text/css' i]"), ["style#s", "style#h"]);
    }

    #[test]
    fn attribute_operators() {
        let t = doc(
            r#"<a id=a href="https://x.example/a.pdf" lang="en-US" class="x  yy z" data-v="abc"></a><a id=b href="/b" lang="en" data-v=""></a><a id=c lang="fr"></a>"#,
        );
        assert_eq!(select(&t, "[href]"), ["a#a", "a#b"]);
        assert_eq!(select(&t, "[href='/b']"), ["a#b"]);
        assert_eq!(select(&t, "[class~=yy]"), ["a#a"]);
        assert!(select(&t, "[class~='x yy']").is_empty());
        assert_eq!(select(&t, "[lang|=en]"), ["a#a", "a#b"]);
        assert_eq!(select(&t, "[href^=https]"), ["a#a"]);
        assert_eq!(select(&t, "[href$='.pdf']"), ["a#a"]);
        assert_eq!(select(&t, "[href*='example']"), ["a#a"]);
        assert_eq!(select(&t, "[data-v='']"), ["a#b"]);
        // Empty values never match the substring operators.
        assert!(select(&t, "[data-v^='']").is_empty());
        assert!(select(&t, "[data-v*='']").is_empty());
        assert_eq!(
            select(&t, "[lang|=EN]"),
            ["a#a", "a#b"],
            "lang is case-insensitive in HTML"
        );
    }

    #[test]
    fn namespaced_attributes() {
        let t = doc(r##"<svg><a id=l xlink:href="#x"></a><use id=u href="#y"/></svg>"##);
        assert_eq!(select(&t, "[xlink|href]"), ["a#l"]);
        assert_eq!(select(&t, "[*|href]"), ["a#l", "use#u"]);
        assert_eq!(select(&t, "[|href]"), ["use#u"]);
        assert_eq!(
            select(&t, "[href]"),
            ["use#u"],
            "no prefix means no namespace"
        );
        assert_eq!(select(&t, "svg|a"), ["a#l"]);
        assert!(select(&t, "html|a").is_empty());
        assert!(CompiledSelector::parse("[foo|href]").is_err());
    }

    #[test]
    fn ids_and_classes_are_case_sensitive() {
        let t = doc(r#"<p id=Foo class="Bar baz"></p><p id=foo class="bar"></p>"#);
        assert_eq!(select(&t, "#Foo"), ["p#Foo"]);
        assert_eq!(select(&t, "#foo"), ["p#foo"]);
        assert_eq!(select(&t, ".Bar"), ["p#Foo"]);
        assert_eq!(select(&t, ".bar"), ["p#foo"]);
        assert_eq!(select(&t, ".Bar.baz"), ["p#Foo"]);
        assert!(select(&t, ".BAZ").is_empty());
        // Classes split on ASCII whitespace only.
        let t = doc("<p id=t class=\"a\tb\nc\u{a0}d\"></p>");
        assert_eq!(select(&t, ".b"), ["p#t"]);
        assert_eq!(
            select(&t, ".c"),
            Vec::<String>::new(),
            "NBSP does not split"
        );
    }

    #[test]
    fn combinators() {
        let t = doc(
            r#"<div id=d><p id=p1><span id=s1></span></p><p id=p2></p>text<!--c--><ul id=u><li id=l1><span id=s2></span></li></ul></div>"#,
        );
        assert_eq!(select(&t, "div span"), ["span#s1", "span#s2"]);
        assert_eq!(select(&t, "div > span"), Vec::<String>::new());
        assert_eq!(select(&t, "p > span"), ["span#s1"]);
        assert_eq!(select(&t, "#p1 + p"), ["p#p2"]);
        assert_eq!(select(&t, "#p1 + ul"), Vec::<String>::new());
        // Text and comments between siblings are skipped.
        assert_eq!(select(&t, "#p2 + ul"), ["ul#u"]);
        assert_eq!(select(&t, "#p1 ~ *"), ["p#p2", "ul#u"]);
        assert_eq!(select(&t, "body > div > ul li > span"), ["span#s2"]);
        assert_eq!(select(&t, "p, li"), ["p#p1", "p#p2", "li#l1"]);
        assert_eq!(select(&t, "html body div p:first-child span"), ["span#s1"]);
    }

    #[test]
    fn logical_pseudo_classes() {
        let t = doc(r#"<p id=a class=x></p><p id=b class=y></p><div id=c class=x></div>"#);
        assert_eq!(select(&t, "p:not(.x)"), ["p#b"]);
        assert_eq!(select(&t, "body > :not(p, .y)"), ["div#c"]);
        assert_eq!(select(&t, ":is(p, div).x"), ["p#a", "div#c"]);
        assert_eq!(select(&t, ":where(p, div).x"), ["p#a", "div#c"]);
        assert_eq!(select(&t, "body :is(.y)"), ["p#b"]);
        // :is() / :where() are forgiving: an invalid argument is dropped, not an error.
        assert_eq!(select(&t, ":is(:hover2, .y)"), ["p#b"]);
        // :not() is not forgiving.
        assert!(CompiledSelector::parse(":not(:hover2)").is_err());
        assert_eq!(select(&t, ":not(:not(#a))"), ["p#a"]);
    }

    #[test]
    fn has_pseudo_class() {
        let t = doc(
            r#"<section id=s1><h2 id=h>t</h2><p id=p1><a id=a1 href=x></a></p></section><section id=s2><p id=p2></p></section><div id=d><img id=i><span id=sp></span></div>"#,
        );
        assert_eq!(select(&t, "section:has(a)"), ["section#s1"]);
        assert_eq!(select(&t, "section:has(> h2)"), ["section#s1"]);
        assert_eq!(select(&t, "section:has(> a)"), Vec::<String>::new());
        assert_eq!(select(&t, "img:has(+ span)"), ["img#i"]);
        assert_eq!(select(&t, "h2:has(~ p a[href])"), ["h2#h"]);
        assert_eq!(select(&t, "section:not(:has(a))"), ["section#s2"]);
        assert_eq!(select(&t, ":has(.nothing)"), Vec::<String>::new());
        assert_eq!(select(&t, "body > :has(#sp)"), ["div#d"]);
        // The same caches, many :has selectors against many elements (exercises the cache and
        // the bloom-filter fast-reject paths).
        let sels: Vec<_> = [
            "section:has(a)",
            "div:has(span)",
            ":has(#p2)",
            ":has(.x)",
            "*:has(> p)",
        ]
        .iter()
        .map(|s| CompiledSelector::parse(s).unwrap())
        .collect();
        let mut caches = MatchCaches::default();
        for _ in 0..3 {
            let got: Vec<Vec<NodeId>> = sels
                .iter()
                .map(|s| {
                    t.descendants(t.root())
                        .filter(|&id| s.matches(&t, id, &mut caches))
                        .collect()
                })
                .collect();
            let fresh: Vec<Vec<NodeId>> = sels
                .iter()
                .map(|s| {
                    t.descendants(t.root())
                        .filter(|&id| s.matches(&t, id, &mut MatchCaches::default()))
                        .collect()
                })
                .collect();
            assert_eq!(got, fresh);
        }
    }

    #[test]
    fn has_fast_reject_filter_agrees_with_plain_matching() {
        // The second `:has()` lookup on an anchor builds a bloom filter of its subtree from
        // `add_element_unique_hashes`; its hashes must agree with the selector side.
        let t = doc(
            r#"<main id=m><div class="k Mixed"><p id=z>t</p><svg><clipPath id=cp><rect id=r /></clipPath></svg></div><span></span></main>"#,
        );
        let sels: Vec<_> = [
            ":has(p)",
            ":has(.k)",
            ":has(.Mixed)",
            ":has(.mixed)",
            ":has(#z)",
            ":has(#Z)",
            ":has(rect)",
            ":has(svg|rect)",
            ":has(html|rect)",
            ":has(clipPath)",
            ":has(clippath)",
            ":has(DIV)",
            ":has(P.k)",
            ":has(> span)",
            ":has(div > p#z)",
            ":has(.nope)",
            ":has(svg|*)",
        ]
        .iter()
        .map(|s| CompiledSelector::parse(s).unwrap())
        .collect();
        let mut shared = MatchCaches::default();
        for round in 0..3 {
            for id in t.descendants(t.root()) {
                for s in &sels {
                    let fresh = s.matches(&t, id, &mut MatchCaches::default());
                    assert_eq!(
                        s.matches(&t, id, &mut shared),
                        fresh,
                        "{} on {id:?}, round {round}",
                        s.source()
                    );
                }
            }
        }
        assert_eq!(select(&t, "main:has(clipPath)"), ["main#m"]);
        assert!(select(&t, "main:has(clippath)").is_empty());
        assert_eq!(select(&t, "main:has(DIV.Mixed)"), ["main#m"]);
        assert!(select(&t, "main:has(.mixed)").is_empty());
    }

    #[test]
    fn nth_child_and_nth_of_type_on_ten_items() {
        let mut html = String::from("<ul id=u>");
        for i in 1..=10 {
            if i % 3 == 0 {
                html.push_str(&format!("<li id=i{i} class=k>x</li>"));
            } else {
                html.push_str(&format!("<li id=i{i}>x</li>"));
            }
            if i == 5 {
                html.push_str("<hr id=hr>");
            }
        }
        html.push_str("</ul>");
        let t = doc(&html);
        let ids = |v: Vec<String>| {
            v.into_iter()
                .map(|s| s.rsplit('#').next().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        // Children: i1..i5, hr, i6..i10 (hr is child 6).
        assert_eq!(
            ids(select(&t, "li:nth-child(2n+1)")),
            ["i1", "i3", "i5", "i6", "i8", "i10"]
        );
        assert_eq!(
            ids(select(&t, "li:nth-child(odd)")),
            ["i1", "i3", "i5", "i6", "i8", "i10"]
        );
        assert_eq!(
            ids(select(&t, "li:nth-child(even)")),
            ["i2", "i4", "i7", "i9"]
        );
        assert_eq!(ids(select(&t, ":nth-child(6)")), ["hr"]);
        assert_eq!(
            ids(select(&t, "li:nth-of-type(2n+1)")),
            ["i1", "i3", "i5", "i7", "i9"]
        );
        assert_eq!(ids(select(&t, "li:nth-of-type(6)")), ["i6"]);
        assert_eq!(ids(select(&t, "li:nth-child(-n+3)")), ["i1", "i2", "i3"]);
        assert_eq!(ids(select(&t, "li:nth-last-child(2)")), ["i9"]);
        assert_eq!(
            ids(select(&t, "li:nth-last-of-type(3n)")),
            ["i2", "i5", "i8"]
        );
        assert_eq!(ids(select(&t, "li:nth-child(2n+1 of .k)")), ["i3", "i9"]);
        assert_eq!(ids(select(&t, ":nth-child(2 of .k)")), ["i6"]);
        assert_eq!(ids(select(&t, ":nth-last-child(1 of li:not(.k))")), ["i10"]);
        assert_eq!(ids(select(&t, "li:first-child")), ["i1"]);
        assert_eq!(ids(select(&t, "li:last-child")), ["i10"]);
        assert_eq!(ids(select(&t, "ul > :first-of-type")), ["i1", "hr"]);
        assert_eq!(ids(select(&t, "ul > :last-of-type")), ["hr", "i10"]);
        assert_eq!(ids(select(&t, "ul > :only-of-type")), ["hr"]);
        assert!(select(&t, "li:only-child").is_empty());
        assert_eq!(ids(select(&t, "li:nth-child(n+9)")), ["i8", "i9", "i10"]);
        assert_eq!(ids(select(&t, "li:nth-of-type(n+9)")), ["i9", "i10"]);
    }

    #[test]
    fn nth_results_are_the_same_with_shared_and_fresh_caches() {
        let mut html = String::new();
        for i in 0..40 {
            html.push_str(&format!(
                "<div class=c{}><p></p><span></span><p></p></div>",
                i % 4
            ));
        }
        let t = doc(&html);
        let sels: Vec<_> = [
            "div:nth-child(3n+1)",
            "div:nth-last-child(2n)",
            "p:nth-of-type(2)",
            "div:nth-child(odd of .c1, .c2)",
            "div:nth-last-child(-n+3 of .c0)",
            "span:nth-last-of-type(1)",
        ]
        .iter()
        .map(|s| CompiledSelector::parse(s).unwrap())
        .collect();
        let mut shared = MatchCaches::default();
        // Interleave selectors per element, as a rule engine would.
        for id in t.descendants(t.root()) {
            for s in &sels {
                assert_eq!(
                    s.matches(&t, id, &mut shared),
                    s.matches(&t, id, &mut MatchCaches::default()),
                    "{}",
                    s.source()
                );
            }
        }
    }

    #[test]
    fn caches_are_reset_when_the_tree_changes() {
        let a = doc("<p id=x></p><p id=y></p><p id=z></p>");
        let b = doc("<div></div><p id=x></p>");
        let s = CompiledSelector::parse("p:nth-child(2)").unwrap();
        let mut c = MatchCaches::default();
        let m = |t: &Tree, c: &mut MatchCaches| -> Vec<NodeId> {
            t.descendants(t.root())
                .filter(|&i| s.matches(t, i, c))
                .collect()
        };
        let ra = m(&a, &mut c);
        let rb = m(&b, &mut c);
        assert_eq!(ra.len(), 1);
        assert_eq!(rb.len(), 1);
        assert_eq!(m(&a, &mut c), ra);
        // After an edit, clear() gives fresh results.
        let mut a2 = a.clone();
        let body = a2
            .descendants(a2.root())
            .find(|&i| a2.element(i).is_some_and(|e| &*e.name.local == "body"))
            .unwrap();
        let first = a2.first_child(body).unwrap();
        a2.detach(first);
        c.clear();
        let r2: Vec<String> = m(&a2, &mut c)
            .iter()
            .map(|&i| a2.element(i).unwrap().attr("id").unwrap().to_owned())
            .collect();
        assert_eq!(r2, ["z"]);
    }

    #[test]
    fn empty_and_root() {
        let t = doc(
            "<p id=a></p><p id=b><!-- c --></p><p id=c> </p><p id=d><b></b></p><template id=t><p>in</p></template><template id=t2></template>",
        );
        assert_eq!(select(&t, "p:empty"), ["p#a", "p#b"]);
        // A template's contents are not its children: it is :empty.
        assert_eq!(select(&t, "template:empty"), ["template#t", "template#t2"]);
        assert_eq!(select(&t, ":root"), ["html"]);
        assert_eq!(select(&t, "html:root > body"), ["body"]);
        // In a fragment, nothing is :root.
        let f = parse_fragment_str("<div id=x><p></p></div>", "body");
        assert!(select(&f, ":root").is_empty());
        assert_eq!(select(&f, "div > p"), ["p"]);
        assert_eq!(select(&f, ":scope"), Vec::<String>::new());
    }

    #[test]
    fn template_contents_are_a_separate_tree() {
        let t = doc(
            "<div id=d><template id=t><p id=in><span id=s></span></p><i id=i2></i></template><p id=out></p></div>",
        );
        assert_eq!(select(&t, "template p"), Vec::<String>::new());
        assert_eq!(select(&t, "div p"), ["p#out"]);
        assert_eq!(select(&t, "template > *"), Vec::<String>::new());
        assert_eq!(select(&t, "template:has(p)"), Vec::<String>::new());
        assert_eq!(select(&t, "div:has(#s)"), Vec::<String>::new());
        // Elements inside still match selectors that stay inside the contents; those at the top
        // of the contents have no parent element.
        assert_eq!(select(&t, "p > span"), ["span#s"]);
        assert_eq!(select(&t, "#in + i"), ["i#i2"]);
        assert_eq!(select(&t, "#in:first-child"), ["p#in"]);
        assert_eq!(select(&t, "* > #in"), Vec::<String>::new());
        assert_eq!(select(&t, "#in:root"), Vec::<String>::new());
        assert_eq!(select(&t, "template + p"), ["p#out"]);
        // :nth-child indices inside the contents count from the fragment.
        assert_eq!(select(&t, "i:nth-child(2)"), ["i#i2"]);
    }

    #[test]
    fn link_pseudo_classes() {
        let t = doc(
            r##"<a id=a href="/x">x</a><a id=b>no href</a><map><area id=c href="/y"></map><link id=l rel=stylesheet href=s.css><svg><a id=sa href="#"></a><a id=sx xlink:href="#"></a><a id=sn></a></svg>"##,
        );
        // `<link>` is not a link in the `:link` sense; SVG `<a>` is.
        assert_eq!(select(&t, ":link"), ["a#a", "area#c", "a#sa", "a#sx"]);
        assert_eq!(select(&t, ":any-link"), ["a#a", "area#c", "a#sa", "a#sx"]);
        assert!(select(&t, ":visited").is_empty());
        assert!(select(&t, ":not(:visited)").len() > 5);
        assert_eq!(select(&t, "a:not(:any-link)"), ["a#b", "a#sn"]);
    }

    #[test]
    fn form_state_pseudo_classes() {
        let t = doc(r#"<form>
              <input id=c1 type=checkbox checked><input id=c2 type=CHECKBOX><input id=r1 type=radio checked>
              <input id=t1 type=text checked>
              <select id=sel required><option id=o1 selected>a</option><option id=o2>b</option>
                <optgroup id=g disabled><option id=o3>c</option></optgroup></select>
              <button id=b1 disabled>x</button><textarea id=ta></textarea><input id=h type=hidden required>
              <fieldset id=f disabled><legend id=lg><input id=in1></legend><legend><input id=in2></legend><input id=in3 required></fieldset>
            </form>"#);
        assert_eq!(
            select(&t, ":checked"),
            ["input#c1", "input#r1", "option#o1"]
        );
        assert_eq!(
            select(&t, ":disabled"),
            [
                "optgroup#g",
                "option#o3",
                "button#b1",
                "fieldset#f",
                "input#in2",
                "input#in3"
            ]
        );
        assert_eq!(
            select(&t, "input:enabled"),
            [
                "input#c1",
                "input#c2",
                "input#r1",
                "input#t1",
                "input#h",
                "input#in1"
            ]
        );
        assert_eq!(select(&t, ":required"), ["select#sel", "input#in3"]);
        assert_eq!(
            select(&t, "textarea:optional, input[type=text]:optional"),
            ["input#t1", "textarea#ta"]
        );
        assert!(select(&t, "div:enabled, form:disabled").is_empty());

        // Live props override the markup.
        let mut t = t;
        let find = |t: &Tree, id: &str| {
            t.descendants(t.root())
                .find(|&n| t.element(n).is_some_and(|e| e.attr("id") == Some(id)))
                .unwrap()
        };
        let c1 = find(&t, "c1");
        let c2 = find(&t, "c2");
        let o2 = find(&t, "o2");
        let o1 = find(&t, "o1");
        t.set_prop(c1, crate::dom::tree::Prop::Checked(Some(false)));
        t.set_prop(c2, crate::dom::tree::Prop::Checked(Some(true)));
        t.set_prop(o1, crate::dom::tree::Prop::Selected(Some(false)));
        t.set_prop(o2, crate::dom::tree::Prop::Selected(Some(true)));
        assert_eq!(
            select(&t, ":checked"),
            ["input#c2", "input#r1", "option#o2"]
        );
    }

    #[test]
    fn selector_list_and_whitespace_and_comments() {
        let t = doc("<p id=a></p><div id=b></div>");
        assert_eq!(select(&t, "  p ,\n div  "), ["p#a", "div#b"]);
        assert_eq!(select(&t, "p/* c */, div"), ["p#a", "div#b"]);
        let s = CompiledSelector::parse(" p , div ").unwrap();
        assert_eq!(s.source(), " p , div ");
    }

    #[test]
    fn escapes_and_strings() {
        let t = doc(r#"<p id="a:b" class="1x" title='say "hi"'></p>"#);
        assert_eq!(select(&t, r"#a\:b"), ["p#a:b"]);
        assert_eq!(select(&t, r".\31 x"), ["p#a:b"]);
        assert_eq!(select(&t, r#"[title='say "hi"']"#), ["p#a:b"]);
        assert_eq!(select(&t, r#"[title="say \"hi\""]"#), ["p#a:b"]);
    }

    #[test]
    fn overly_nested_or_long_selectors_are_rejected_not_crashing() {
        let nested = format!("{}p{}", ":not(".repeat(200), ")".repeat(200));
        let e = CompiledSelector::parse(&nested).unwrap_err();
        assert!(e.message.contains("nested"), "{}", e.message);
        let long = vec!["div"; 2000].join(" ");
        let e = CompiledSelector::parse(&long).unwrap_err();
        assert!(e.message.contains("too complex"), "{}", e.message);
        // Within the limits both parse and match.
        let ok = format!("{}p{}", ":is(".repeat(74), ")".repeat(74));
        let t = doc("<p id=a></p>");
        assert_eq!(select(&t, &ok), ["p#a"]);
        let ok = format!("{}p{}", ":not(:not(".repeat(37), "))".repeat(37));
        let t = doc("<p id=a></p>");
        assert_eq!(select(&t, &ok), ["p#a"]);
        let ok = vec!["*"; 500].join(" ");
        CompiledSelector::parse(&ok).unwrap();
    }

    fn deep_tree(depth: usize) -> Tree {
        let mut html = String::with_capacity(depth * 24);
        for i in 0..depth {
            html.push_str(if i % 2 == 0 {
                "<div class=a>"
            } else {
                "<section>"
            });
        }
        html.push_str("<p id=leaf></p>");
        for i in (0..depth).rev() {
            html.push_str(if i % 2 == 0 { "</div>" } else { "</section>" });
        }
        doc(&html)
    }

    #[test]
    fn deeply_nested_tree_does_not_overflow() {
        // Run on a thread with the default test stack size (2 MiB), as tests do.
        let t = deep_tree(5000);
        let leaf = t
            .descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| e.attr("id") == Some("leaf")))
            .unwrap();
        let mut depth = 0;
        let mut cur = leaf;
        while let Some(p) = t.parent(cur) {
            depth += 1;
            cur = p;
        }
        assert!(depth > 5000, "html5ever kept the nesting ({depth})");
        let mut c = MatchCaches::default();
        for (sel, expect_leaf) in [
            ("body div p", true),
            ("body > div > section > div p#leaf", true),
            ("span p", false),
            ("div.a section.b p", false),
            ("div:not(.a) p", false),
            ("section > p", true),
            ("div > p", false),
            (":is(div, section) :where(div) > section > p", true),
            (":is(div, section) :where(section) > div > p", false),
            ("body:has(p#leaf) p", true),
            ("html:not(:has(span)) p", true),
            ("html p:only-child:empty", true),
            ("div ~ p, span p", false),
        ] {
            let s = CompiledSelector::parse(sel).unwrap();
            assert_eq!(s.matches(&t, leaf, &mut c), expect_leaf, "{sel}");
        }
        // Matching every element of the deep tree (descendant combinator walks all ancestors).
        let s = CompiledSelector::parse("body div.a section div p").unwrap();
        let n = t
            .descendants(t.root())
            .filter(|&id| s.matches(&t, id, &mut c))
            .count();
        assert_eq!(n, 1);
        let s = CompiledSelector::parse("section:nth-child(1) > div:first-child").unwrap();
        let n = t
            .descendants(t.root())
            .filter(|&id| s.matches(&t, id, &mut c))
            .count();
        assert_eq!(n, 2499);
        // :has() over the whole deep subtree, from the top and from every element.
        let body = t
            .descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "body"))
            .unwrap();
        let s = CompiledSelector::parse("body:has(p#leaf)").unwrap();
        assert!(s.matches(&t, body, &mut c));
        let s = CompiledSelector::parse("div:has(> p)").unwrap();
        let n = t
            .descendants(t.root())
            .filter(|&id| s.matches(&t, id, &mut c))
            .count();
        assert_eq!(n, 0);
        let s = CompiledSelector::parse("section:has(p)").unwrap();
        let n = t
            .descendants(t.root())
            .filter(|&id| s.matches(&t, id, &mut c))
            .count();
        assert_eq!(n, 2500);
    }

    /// `deep_tree` built through the tree API (html5ever's tree builder is quadratic in the
    /// nesting depth, too slow for 40,000 levels in a unit test).
    fn deep_tree_built(depth: usize) -> Tree {
        use crate::dom::tree::{Attr, Attrs, attr_name, html_name};
        let attrs = |pairs: &[(&str, &str)]| -> Attrs {
            pairs
                .iter()
                .map(|(k, v)| Attr {
                    name: attr_name(k),
                    value: (*v).into(),
                })
                .collect()
        };
        let mut t = Tree::new_document();
        let root = t.root();
        let doctype = t.create(crate::dom::tree::Doctype::node("html", "", ""));
        t.append(root, doctype);
        let html = t.create_element(html_name("html"), Attrs::new());
        t.append(root, html);
        let head = t.create_element(html_name("head"), Attrs::new());
        t.append(html, head);
        let body = t.create_element(html_name("body"), Attrs::new());
        t.append(html, body);
        let mut parent = body;
        for i in 0..depth {
            let e = if i % 2 == 0 {
                t.create_element(html_name("div"), attrs(&[("class", "a")]))
            } else {
                t.create_element(html_name("section"), Attrs::new())
            };
            t.append(parent, e);
            parent = e;
        }
        let leaf = t.create_element(html_name("p"), attrs(&[("id", "leaf")]));
        t.append(parent, leaf);
        t
    }

    #[test]
    fn has_on_a_pathologically_deep_tree_does_not_overflow() {
        // 40,000 levels: `selectors`' recursive :has() search would need ~6-14 MB of stack, more
        // than a test thread (2 MiB) has; `matches` moves such searches to a big-stack thread.
        let t = deep_tree_built(40_000);
        assert_eq!(
            deep_tree(50).first_difference(&deep_tree_built(50)),
            None,
            "both builders agree"
        );
        let mut c = MatchCaches::default();
        let body = t
            .descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "body"))
            .unwrap();
        let s = CompiledSelector::parse("body:has(p#leaf)").unwrap();
        assert!(s.matches(&t, body, &mut c));
        let s = CompiledSelector::parse("body:has(span)").unwrap();
        assert!(!s.matches(&t, body, &mut c));
        let s = CompiledSelector::parse("body > div:has(~ p)").unwrap();
        let first = t.first_child(body).unwrap();
        assert!(!s.matches(&t, first, &mut c));
        // Plain selectors stay on the caller's thread and are fine at any depth.
        let leaf = t
            .descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| e.attr("id") == Some("leaf")))
            .unwrap();
        let s = CompiledSelector::parse("body div section div p").unwrap();
        assert!(s.matches(&t, leaf, &mut c));
    }

    /// A ~100 KB page of realistic markup, for the timing note.
    fn big_page() -> String {
        let mut s = String::from(
            "<!DOCTYPE html><html><head><title>t</title><link rel=stylesheet href=/s.css></head><body><header class=\"site-header\"><nav><ul>",
        );
        for i in 0..20 {
            s.push_str(&format!(
                "<li class=\"nav-item{}\"><a href=\"/section/{i}\">Section {i}</a></li>",
                if i == 3 { " active" } else { "" }
            ));
        }
        s.push_str("</ul></nav></header><main id=content>");
        let mut i = 0;
        while s.len() < 100_000 {
            s.push_str(&format!(
                "<article class=\"card post-{i}\" data-id=\"{i}\"><h2 class=title><a href=\"/p/{i}\">Post {i}</a></h2>\
                 <p class=\"lead\">Lorem ipsum <em>dolor</em> sit amet, <strong>consectetur</strong> adipiscing.</p>\
                 <form class=comment><input type=text name=q placeholder=Search><input type=password name=pw>\
                 <input type=checkbox {}><button type=submit>Go</button></form><ul class=tags><li>a</li><li>b</li><li>c</li></ul></article>",
                if i % 2 == 0 { "checked" } else { "" }
            ));
            i += 1;
        }
        s.push_str("</main><footer><p>&copy; x</p></footer></body></html>");
        s
    }

    #[test]
    fn perf_note_five_selectors_on_a_100kb_page() {
        let html = big_page();
        let mut pages = vec![("synthetic".to_owned(), html)];
        // Also a real page from the corpus, when the cache is present.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpus/cache/htmlparser-benchmark");
        if let Ok(rd) = std::fs::read_dir(&dir) {
            let mut best: Option<(u64, std::path::PathBuf)> = None;
            for e in rd.flatten() {
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                let d = len.abs_diff(100_000);
                if best.as_ref().is_none_or(|(b, _)| d < *b) {
                    best = Some((d, e.path()));
                }
            }
            if let Some((_, p)) = best
                && let Ok(bytes) = std::fs::read(&p)
            {
                pages.push((
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
        let sels: Vec<_> = [
            "input[type=password]",
            "form.comment input:not([type=submit])",
            "article:nth-child(2n+1) > h2 a[href^='/p/']",
            "ul li:last-child",
            "article:has(input:checked) .lead em",
        ]
        .iter()
        .map(|s| CompiledSelector::parse(s).unwrap())
        .collect();
        for (name, html) in pages {
            let t = parse_document_str(&html);
            let elements: Vec<NodeId> = t
                .descendants(t.root())
                .filter(|&n| t.element(n).is_some())
                .collect();
            let mut caches = MatchCaches::default();
            let start = std::time::Instant::now();
            let mut hits = [0usize; 5];
            let rounds = 5;
            for _ in 0..rounds {
                caches.clear();
                hits = [0; 5];
                for &id in &elements {
                    for (k, s) in sels.iter().enumerate() {
                        if s.matches(&t, id, &mut caches) {
                            hits[k] += 1;
                        }
                    }
                }
            }
            let per = start.elapsed() / rounds;
            println!(
                "selector perf [{name}]: {} bytes, {} elements, 5 selectors x every element: {per:?} per pass (hits {hits:?})",
                html.len(),
                elements.len()
            );
        }
    }
}
