//! CSS selector matching on the arena [`Tree`]: a compact parser and matcher of our own for the
//! selectors the rules accept (README, "Rules file").
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
//! Supported: type / universal / id / class / attribute selectors with all operators and the
//! `i` / `s` flags, all four combinators, `:not()`, `:is()`, `:where()` (both forgiving),
//! `:has()` (relative selectors, not nested), `:nth-child(An+B [of S])`, `:nth-last-child()`,
//! `:nth-of-type()`, `:nth-last-of-type()`, `:first-child`, `:last-child`, `:only-child`,
//! `:first-of-type`, `:last-of-type`, `:only-of-type`, `:root`, `:empty`, `:scope` (the root:
//! there is no scoping element), `:link`, `:any-link`, `:visited` (never), `:checked`,
//! `:disabled`, `:enabled`, `:required`, `:optional`. Anything else is refused when the rules
//! compile, with a message naming it: hover / focus / active / target state is not part of the
//! captured tree, pseudo-elements select no node, `:host` has no shadow root to match.
//! The test-only module `servo_reference` (servo's `selectors` crate) is the reference a
//! differential test compares this matcher with.
//!
//! Namespace prefixes: there is no `@namespace` rule to declare them, so the well-known prefixes
//! `html`, `svg`, `mathml`, `xlink`, `xml` and `xmlns` are predeclared (`svg|a`,
//! `[xlink|href]`). `*|` and `|` (no namespace) work as in CSS. There is no default namespace:
//! `a` matches HTML and SVG `<a>` alike.

use std::fmt;
use std::sync::Arc;

use markup5ever::{LocalName, Namespace, local_name, ns};

use crate::dom::tree::{ElementData, NodeData, NodeId, Tree};

mod matching;
mod parse;
#[cfg(test)]
mod servo_reference;
#[cfg(all(test, feature = "html"))]
mod tests;

use matching::any_matches;

/// A compiled selector list (`"a[href], button.primary"`).
///
/// Cheap to clone (the compiled list is reference-counted) and shareable across threads.
#[derive(Clone)]
pub(crate) struct CompiledSelector {
    list: Arc<[Complex]>,
    source: String,
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
    /// Parses a selector list, as `querySelectorAll` accepts it (within what the module
    /// supports).
    pub(crate) fn parse(source: &str) -> Result<CompiledSelector, SelectorError> {
        let list = parse::selector_list(source).map_err(|message| SelectorError {
            selector: source.to_owned(),
            message,
        })?;
        Ok(CompiledSelector {
            list: list.into(),
            source: source.to_owned(),
        })
    }

    /// The selector text this was compiled from.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Whether element `id` of `tree` matches. Non-elements never match.
    pub(crate) fn matches(&self, tree: &Tree, id: NodeId) -> bool {
        tree.element(id).is_some() && any_matches(&self.list, tree, id, None)
    }
}

/// Matching recurses once per compound selector (`a > b c` has three); this bounds the stack a
/// hostile selector can use.
const MAX_COMPOUNDS: usize = 512;

/// Nesting of `:is(:not(…))` (and of parentheses in general) at most this deep.
const MAX_NESTING: usize = 100;

// The compiled form.

/// A complex selector: compounds from left to right, `combinators[i]` between compound `i` and
/// compound `i + 1`.
#[derive(Debug)]
struct Complex {
    compounds: Vec<Vec<Simple>>,
    combinators: Vec<Combinator>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Combinator {
    Descendant,
    Child,
    NextSibling,
    LaterSibling,
}

/// A namespace constraint: any, or exactly this one (`ns!()` for none).
#[derive(Debug)]
enum Ns {
    Any,
    Is(Namespace),
}

impl Ns {
    fn allows(&self, ns: &Namespace) -> bool {
        match self {
            Ns::Any => true,
            Ns::Is(n) => n == ns,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AttrOp {
    Equal,
    Includes,
    DashMatch,
    Prefix,
    Suffix,
    Substring,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Sensitive,
    Insensitive,
    /// Insensitive on HTML elements (an attribute HTML lists as case-insensitive, no flag).
    InsensitiveIfHtml,
}

#[derive(Debug)]
enum Simple {
    /// A type selector; `None` for `*`. The name as written and ASCII-lowercased.
    Type(Ns, Option<(LocalName, LocalName)>),
    Id(String),
    Class(String),
    /// `[name]` or `[name op value]`: the name as written and lowercased.
    Attr {
        ns: Ns,
        name: LocalName,
        lower: LocalName,
        test: Option<(AttrOp, String, Case)>,
    },
    /// A selector that can never match (`[a^=""]`, `:visited`).
    Never,
    /// `:not(S)`.
    Not(Vec<Complex>),
    /// `:is(S)` / `:where(S)`.
    Is(Vec<Complex>),
    /// `:has(R)`: relative selectors, each starting with an [`Simple::Anchor`] compound.
    Has(Vec<Complex>),
    /// The element `:has()` is matched on.
    Anchor,
    /// `:nth-*(An+B [of S])`; `:first-child` and friends are forms of it.
    Nth {
        a: i32,
        b: i32,
        last: bool,
        of_type: bool,
        of: Option<Vec<Complex>>,
    },
    Root,
    Empty,
    Link,
    Checked,
    Disabled,
    Enabled,
    Required,
    Optional,
}
