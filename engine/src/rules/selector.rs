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
//! The test-only module `selector_servo` (servo's `selectors` crate) is the reference a
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

// ----- public API ------------------------------------------------------------------------------

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
        let mut p = Parser {
            s: source.as_bytes(),
            src: source,
            pos: 0,
            depth: 0,
            compounds: 0,
            in_has: false,
        };
        let list = p
            .selector_list()
            .and_then(|list| {
                p.skip_ws();
                if p.pos < p.s.len() {
                    Err("unexpected token".into())
                } else {
                    Ok(list)
                }
            })
            .map_err(|message| SelectorError {
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

// ----- the compiled form -----------------------------------------------------------------------

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

// ----- parsing ---------------------------------------------------------------------------------

type PResult<T> = Result<T, String>;

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    depth: usize,
    compounds: usize,
    in_has: bool,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.pos + k).copied()
    }

    /// Skips whitespace and comments; whether any whitespace was skipped (a comment alone
    /// separates tokens but is no descendant combinator: `p/**/div` is invalid).
    fn skip_ws(&mut self) -> bool {
        let mut ws = false;
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') => {
                    self.pos += 1;
                    ws = true;
                }
                Some(b'/') if self.peek_at(1) == Some(b'*') => {
                    match self.src[self.pos + 2..].find("*/") {
                        Some(k) => self.pos += k + 4,
                        None => self.pos = self.s.len(),
                    }
                }
                _ => return ws,
            }
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn valid_escape_at(&self, k: usize) -> bool {
        self.peek_at(k) == Some(b'\\')
            && !matches!(self.peek_at(k + 1), Some(b'\n' | b'\r' | b'\x0c'))
    }

    /// Whether an identifier starts here.
    fn ident_starts(&self) -> bool {
        let first = |k: usize| {
            self.peek_at(k)
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b >= 0x80)
                || self.valid_escape_at(k)
        };
        if self.peek() == Some(b'-') {
            self.peek_at(1) == Some(b'-') || first(1)
        } else {
            first(0)
        }
    }

    /// One escaped code point after a backslash (consumed already).
    fn escape(&mut self, out: &mut String) {
        let start = self.pos;
        while self.pos < self.s.len()
            && self.pos - start < 6
            && self.s[self.pos].is_ascii_hexdigit()
        {
            self.pos += 1;
        }
        if self.pos > start {
            let v = u32::from_str_radix(&self.src[start..self.pos], 16).unwrap_or(0);
            let c = match v {
                0 => '\u{fffd}',
                v => char::from_u32(v).unwrap_or('\u{fffd}'),
            };
            out.push(c);
            if self.peek() == Some(b'\r') && self.peek_at(1) == Some(b'\n') {
                self.pos += 2;
            } else if matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')) {
                self.pos += 1;
            }
        } else if let Some(c) = self.src[self.pos..].chars().next() {
            out.push(c);
            self.pos += c.len_utf8();
        } else {
            out.push('\u{fffd}');
        }
    }

    fn ident(&mut self) -> PResult<String> {
        if !self.ident_starts() {
            return Err("expected an identifier".into());
        }
        let mut out = String::new();
        loop {
            match self.peek() {
                Some(b) if is_name_byte(b) => {
                    let c = self.src[self.pos..].chars().next().unwrap_or('\u{fffd}');
                    out.push(c);
                    self.pos += c.len_utf8();
                }
                Some(b'\\') if self.valid_escape_at(0) => {
                    self.pos += 1;
                    self.escape(&mut out);
                }
                _ => return Ok(out),
            }
        }
    }

    fn string(&mut self) -> PResult<String> {
        let quote = self.s[self.pos];
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Ok(out),
                Some(b) if b == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\n' | b'\r' | b'\x0c') => return Err("unterminated string".into()),
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => {}
                        Some(b'\n' | b'\x0c') => self.pos += 1,
                        Some(b'\r') => {
                            self.pos += 1;
                            self.eat(b'\n');
                        }
                        Some(_) => self.escape(&mut out),
                    }
                }
                Some(_) => {
                    let c = self.src[self.pos..].chars().next().unwrap_or('\u{fffd}');
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err("too deeply nested".into());
        }
        Ok(())
    }

    /// `S, S, ...` up to the end or a `)` (not consumed).
    fn selector_list(&mut self) -> PResult<Vec<Complex>> {
        let mut list = Vec::new();
        loop {
            self.skip_ws();
            list.push(self.complex(None)?);
            self.skip_ws();
            if !self.eat(b',') {
                return Ok(list);
            }
        }
    }

    /// A forgiving list (`:is()`, `:where()`): invalid members are dropped.
    fn forgiving_list(&mut self) -> PResult<Vec<Complex>> {
        let mut list = Vec::new();
        loop {
            self.skip_ws();
            let start = self.pos;
            match self.complex(None).and_then(|c| {
                self.skip_ws();
                if matches!(self.peek(), Some(b',' | b')') | None) {
                    Ok(c)
                } else {
                    Err("unexpected token".into())
                }
            }) {
                Ok(c) => list.push(c),
                Err(e) if e.contains("nested") || e.contains("too complex") => return Err(e),
                Err(_) => {
                    self.pos = start;
                    self.skip_member()?;
                }
            }
            if !self.eat(b',') {
                return Ok(list);
            }
        }
    }

    /// Skips to the next `,` or `)` outside parentheses, brackets and strings.
    fn skip_member(&mut self) -> PResult<()> {
        let mut nest = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'(' | b'[' => nest += 1,
                b')' | b']' if nest == 0 => return Ok(()),
                b')' | b']' => nest -= 1,
                b',' if nest == 0 => return Ok(()),
                b'"' | b'\'' => {
                    self.string()?;
                    continue;
                }
                b'\\' => self.pos += 1,
                _ => {}
            }
            self.pos += 1;
        }
        Ok(())
    }

    /// A complex selector; with `leading` (inside `:has()`), the combinator before its first
    /// compound, which then follows an [`Simple::Anchor`].
    fn complex(&mut self, leading: Option<Combinator>) -> PResult<Complex> {
        let mut c = Complex {
            compounds: Vec::new(),
            combinators: Vec::new(),
        };
        if let Some(l) = leading {
            c.compounds.push(vec![Simple::Anchor]);
            c.combinators.push(l);
        }
        loop {
            let compound = self.compound()?;
            if compound.is_empty() {
                return Err(if c.compounds.len() > usize::from(leading.is_some()) {
                    "combinator without a selector after it".into()
                } else {
                    "empty selector".into()
                });
            }
            self.compounds += 1;
            if self.compounds > MAX_COMPOUNDS {
                return Err(format!(
                    "too complex: more than {MAX_COMPOUNDS} compound selectors"
                ));
            }
            c.compounds.push(compound);
            let ws = self.skip_ws();
            let comb = match self.peek() {
                Some(b'>') => Combinator::Child,
                Some(b'+') => Combinator::NextSibling,
                Some(b'~') => Combinator::LaterSibling,
                Some(b',' | b')') | None => return Ok(c),
                Some(_) if ws => {
                    c.combinators.push(Combinator::Descendant);
                    continue;
                }
                Some(_) => return Err("unexpected token".into()),
            };
            self.pos += 1;
            self.skip_ws();
            c.combinators.push(comb);
        }
    }

    /// A namespace prefix and `|`, if one is here: `ns|`, `*|`, `|`.
    fn ns_prefix(&mut self) -> PResult<Option<Ns>> {
        let start = self.pos;
        let prefix = if self.eat(b'*') {
            Some(None)
        } else if self.ident_starts() {
            Some(Some(self.ident()?))
        } else {
            None
        };
        if self.peek() == Some(b'|') && self.peek_at(1) != Some(b'=') {
            self.pos += 1;
            return Ok(Some(match prefix {
                None => Ns::Is(ns!()),
                Some(None) => Ns::Any,
                Some(Some(p)) => Ns::Is(match p.as_str() {
                    "html" => ns!(html),
                    "svg" => ns!(svg),
                    "mathml" => ns!(mathml),
                    "xlink" => ns!(xlink),
                    "xml" => ns!(xml),
                    "xmlns" => ns!(xmlns),
                    _ => {
                        return Err("unknown namespace prefix (only html, svg, mathml, xlink, xml, xmlns are declared)".into());
                    }
                }),
            }));
        }
        self.pos = start;
        Ok(None)
    }

    fn compound(&mut self) -> PResult<Vec<Simple>> {
        let mut out = Vec::new();
        // A type or universal selector first, maybe with a namespace.
        let ns = self.ns_prefix()?;
        if self.eat(b'*') {
            out.push(Simple::Type(ns.unwrap_or(Ns::Any), None));
        } else if self.ident_starts() {
            let name = self.ident()?;
            let lower = name.to_ascii_lowercase();
            out.push(Simple::Type(
                ns.unwrap_or(Ns::Any),
                Some((LocalName::from(name), LocalName::from(lower))),
            ));
        } else if ns.is_some() {
            return Err("unexpected token after namespace prefix".into());
        }
        loop {
            match self.peek() {
                Some(b'#') => {
                    self.pos += 1;
                    // An id is a hash token that is an identifier (`#1x` is not, `#\31 x` is).
                    if !self.ident_starts() {
                        return Err("`#` must be followed by an id".into());
                    }
                    let mut id = String::new();
                    // An id is a hash token: name characters, not necessarily an identifier.
                    while let Some(b) = self.peek() {
                        if is_name_byte(b) {
                            let c = self.src[self.pos..].chars().next().unwrap_or('\u{fffd}');
                            id.push(c);
                            self.pos += c.len_utf8();
                        } else if self.valid_escape_at(0) {
                            self.pos += 1;
                            self.escape(&mut id);
                        } else {
                            break;
                        }
                    }
                    out.push(Simple::Id(id));
                }
                Some(b'.') => {
                    self.pos += 1;
                    if !self.ident_starts() {
                        return Err("`.` must be followed by a class name".into());
                    }
                    out.push(Simple::Class(self.ident()?));
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.enter()?;
                    out.push(self.attribute()?);
                    self.depth -= 1;
                }
                Some(b':') => {
                    self.pos += 1;
                    self.pseudo(&mut out)?;
                }
                _ => return Ok(out),
            }
        }
    }

    fn attribute(&mut self) -> PResult<Simple> {
        self.skip_ws();
        let ns = self.ns_prefix()?;
        if !self.ident_starts() {
            return Err("attribute selector without a name".into());
        }
        let name = self.ident()?;
        self.skip_ws();
        let op = match (self.peek(), self.peek_at(1)) {
            (Some(b']'), _) => None,
            (Some(b'='), _) => Some((AttrOp::Equal, 1)),
            (Some(b'~'), Some(b'=')) => Some((AttrOp::Includes, 2)),
            (Some(b'|'), Some(b'=')) => Some((AttrOp::DashMatch, 2)),
            (Some(b'^'), Some(b'=')) => Some((AttrOp::Prefix, 2)),
            (Some(b'$'), Some(b'=')) => Some((AttrOp::Suffix, 2)),
            (Some(b'*'), Some(b'=')) => Some((AttrOp::Substring, 2)),
            _ => return Err("unexpected token in attribute selector".into()),
        };
        let lower = name.to_ascii_lowercase();
        let mut test = None;
        if let Some((op, len)) = op {
            self.pos += len;
            self.skip_ws();
            let value = match self.peek() {
                Some(b'"' | b'\'') => self.string()?,
                _ if self.ident_starts() => self.ident()?,
                _ => return Err("bad value in attribute selector".into()),
            };
            self.skip_ws();
            let mut case = if is_ascii_case_insensitive_html_attribute(&lower) {
                Case::InsensitiveIfHtml
            } else {
                Case::Sensitive
            };
            if self.ident_starts() {
                let flag = self.ident()?;
                case = if flag.eq_ignore_ascii_case("i") {
                    Case::Insensitive
                } else if flag.eq_ignore_ascii_case("s") {
                    Case::Sensitive
                } else {
                    return Err("unexpected token in attribute selector".into());
                };
                self.skip_ws();
            }
            let never = match op {
                AttrOp::Prefix | AttrOp::Suffix | AttrOp::Substring => value.is_empty(),
                AttrOp::Includes => {
                    value.is_empty() || value.contains([' ', '\t', '\n', '\r', '\x0c'])
                }
                _ => false,
            };
            if never {
                if !self.eat(b']') {
                    return Err("unexpected token in attribute selector".into());
                }
                return Ok(Simple::Never);
            }
            test = Some((op, value, case));
        }
        if !self.eat(b']') {
            return Err("unexpected token in attribute selector".into());
        }
        Ok(Simple::Attr {
            ns: ns.unwrap_or(Ns::Is(ns!())),
            name: LocalName::from(name),
            lower: LocalName::from(lower),
            test,
        })
    }

    fn pseudo(&mut self, out: &mut Vec<Simple>) -> PResult<()> {
        if self.peek() == Some(b':') {
            self.pos += 1;
            let name = self.ident().unwrap_or_default();
            return Err(format!(
                "pseudo-elements such as `::{name}` are not supported (they select no node)"
            ));
        }
        if !self.ident_starts() {
            return Err("`:` must be followed by a pseudo-class name".into());
        }
        let name = self.ident()?.to_ascii_lowercase();
        if self.eat(b'(') {
            self.enter()?;
            self.functional(&name, out)?;
            self.skip_ws();
            if !self.eat(b')') {
                return Err(format!("unexpected token in `:{name}()`"));
            }
            self.depth -= 1;
            return Ok(());
        }
        let nth = |a, b, last, of_type| Simple::Nth {
            a,
            b,
            last,
            of_type,
            of: None,
        };
        match name.as_str() {
            "first-child" => out.push(nth(0, 1, false, false)),
            "last-child" => out.push(nth(0, 1, true, false)),
            "only-child" => {
                out.push(nth(0, 1, false, false));
                out.push(nth(0, 1, true, false));
            }
            "first-of-type" => out.push(nth(0, 1, false, true)),
            "last-of-type" => out.push(nth(0, 1, true, true)),
            "only-of-type" => {
                out.push(nth(0, 1, false, true));
                out.push(nth(0, 1, true, true));
            }
            "root" | "scope" => out.push(Simple::Root),
            "empty" => out.push(Simple::Empty),
            "link" | "any-link" => out.push(Simple::Link),
            "visited" => out.push(Simple::Never),
            "checked" => out.push(Simple::Checked),
            "disabled" => out.push(Simple::Disabled),
            "enabled" => out.push(Simple::Enabled),
            "required" => out.push(Simple::Required),
            "optional" => out.push(Simple::Optional),
            "hover" | "active" | "focus" | "focus-visible" | "focus-within" | "target"
            | "target-within" => {
                return Err(format!(
                    "unsupported pseudo-class `:{name}` (the captured tree has no hover, focus, active or target state)"
                ));
            }
            "host" => return Err("`:host` is not supported (the tree has no shadow roots)".into()),
            "before" | "after" | "first-line" | "first-letter" => {
                return Err(format!(
                    "pseudo-elements such as `::{name}` are not supported (they select no node)"
                ));
            }
            _ => return Err(format!("unsupported pseudo-class `:{name}`")),
        }
        Ok(())
    }

    fn functional(&mut self, name: &str, out: &mut Vec<Simple>) -> PResult<()> {
        match name {
            "not" => {
                let list = self.selector_list()?;
                out.push(Simple::Not(list));
            }
            "is" | "where" => {
                let list = self.forgiving_list()?;
                out.push(Simple::Is(list));
            }
            "has" => {
                if self.in_has {
                    return Err("`:has()` cannot be nested".into());
                }
                self.in_has = true;
                let mut list = Vec::new();
                loop {
                    self.skip_ws();
                    let leading = match self.peek() {
                        Some(b'>') => Some(Combinator::Child),
                        Some(b'+') => Some(Combinator::NextSibling),
                        Some(b'~') => Some(Combinator::LaterSibling),
                        _ => None,
                    };
                    if leading.is_some() {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    list.push(self.complex(Some(leading.unwrap_or(Combinator::Descendant)))?);
                    self.skip_ws();
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.in_has = false;
                out.push(Simple::Has(list));
            }
            "nth-child" | "nth-last-child" | "nth-of-type" | "nth-last-of-type" => {
                self.skip_ws();
                let (a, b) = self.an_plus_b()?;
                let of_type = name.ends_with("of-type");
                self.skip_ws();
                let mut of = None;
                if !of_type && self.ident_starts() {
                    let start = self.pos;
                    if self.ident()?.eq_ignore_ascii_case("of") && self.skip_ws() {
                        of = Some(self.selector_list()?);
                    } else {
                        self.pos = start;
                    }
                }
                out.push(Simple::Nth {
                    a,
                    b,
                    last: name.starts_with("nth-last"),
                    of_type,
                    of,
                });
            }
            "host" => return Err("`:host` is not supported (the tree has no shadow roots)".into()),
            _ => return Err(format!("unsupported pseudo-class `:{name}()`")),
        }
        Ok(())
    }

    fn integer(&mut self) -> PResult<Option<i32>> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Ok(None);
        }
        self.src[start..self.pos]
            .parse::<i32>()
            .map(Some)
            .map_err(|_| "number too large in `An+B`".into())
    }

    /// The `An+B` microsyntax (`odd`, `even`, `3`, `-n+2`, `2n + 1`).
    fn an_plus_b(&mut self) -> PResult<(i32, i32)> {
        let bad = || -> String { "invalid `An+B` (expected e.g. `2n+1`, `odd`, `3`)".into() };
        let rest = &self.src[self.pos..];
        for (word, ab) in [("odd", (2, 1)), ("even", (2, 0))] {
            if rest.len() >= word.len()
                && rest[..word.len()].eq_ignore_ascii_case(word)
                && !rest
                    .as_bytes()
                    .get(word.len())
                    .is_some_and(|&b| is_name_byte(b) || b == b'\\')
            {
                self.pos += word.len();
                return Ok(ab);
            }
        }
        let sign: i32 = if self.eat(b'-') {
            -1
        } else {
            self.eat(b'+');
            1
        };
        let digits = self.integer()?;
        if !matches!(self.peek(), Some(b'n' | b'N')) {
            return match digits {
                Some(d) if !self.peek().is_some_and(|b| is_name_byte(b) || b == b'\\') => {
                    Ok((0, sign * d))
                }
                _ => Err(bad()),
            };
        }
        self.pos += 1;
        let a = sign * digits.unwrap_or(1);
        let glued = |p: &Self| p.peek().is_some_and(|b| is_name_byte(b) || b == b'\\');
        // After `n`: `-B` glued (`n-1`), or whitespace, a sign, whitespace and digits.
        if self.peek() == Some(b'-') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            let d = self.integer()?.ok_or_else(bad)?;
            return if glued(self) { Err(bad()) } else { Ok((a, -d)) };
        }
        if glued(self) {
            return Err(bad());
        }
        let after_n = self.pos;
        self.skip_ws();
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => {
                self.pos = after_n;
                return Ok((a, 0));
            }
        };
        self.pos += 1;
        self.skip_ws();
        let d = self.integer()?.ok_or_else(bad)?;
        if glued(self) {
            return Err(bad());
        }
        Ok((a, sign * d))
    }
}

/// Attributes whose values HTML compares ASCII case-insensitively in selectors.
fn is_ascii_case_insensitive_html_attribute(name: &str) -> bool {
    matches!(
        name,
        "accept"
            | "accept-charset"
            | "align"
            | "alink"
            | "axis"
            | "bgcolor"
            | "charset"
            | "checked"
            | "clear"
            | "codetype"
            | "color"
            | "compact"
            | "declare"
            | "defer"
            | "dir"
            | "direction"
            | "disabled"
            | "enctype"
            | "face"
            | "frame"
            | "hreflang"
            | "http-equiv"
            | "lang"
            | "language"
            | "link"
            | "media"
            | "method"
            | "multiple"
            | "nohref"
            | "noresize"
            | "noshade"
            | "nowrap"
            | "readonly"
            | "rel"
            | "rev"
            | "rules"
            | "scope"
            | "scrolling"
            | "selected"
            | "shape"
            | "target"
            | "text"
            | "type"
            | "valign"
            | "valuetype"
            | "vlink"
    )
}

// ----- matching --------------------------------------------------------------------------------

/// The outcome of matching a complex selector from one of its compounds leftwards (WebKit's
/// and servo's early exits: when a compound has no candidate at all, trying further
/// candidates of a combinator to the right cannot help).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Matched,
    RestartFromLaterSibling,
    RestartFromDescendant,
    NotMatchedGlobally,
}

fn any_matches(list: &[Complex], tree: &Tree, id: NodeId, anchor: Option<NodeId>) -> bool {
    list.iter().any(|c| {
        let last = c.compounds.len() - 1;
        match_from(c, last, tree, id, anchor) == Outcome::Matched
    })
}

fn parent_element(tree: &Tree, id: NodeId) -> Option<NodeId> {
    tree.parent(id).filter(|&p| tree.element(p).is_some())
}

fn prev_element(tree: &Tree, id: NodeId) -> Option<NodeId> {
    let mut cur = tree.prev_sibling(id);
    while let Some(c) = cur {
        if tree.element(c).is_some() {
            return Some(c);
        }
        cur = tree.prev_sibling(c);
    }
    None
}

fn next_element(tree: &Tree, id: NodeId) -> Option<NodeId> {
    let mut cur = tree.next_sibling(id);
    while let Some(c) = cur {
        if tree.element(c).is_some() {
            return Some(c);
        }
        cur = tree.next_sibling(c);
    }
    None
}

fn match_from(c: &Complex, i: usize, tree: &Tree, id: NodeId, anchor: Option<NodeId>) -> Outcome {
    if !c.compounds[i]
        .iter()
        .all(|s| simple_matches(s, tree, id, anchor))
    {
        return Outcome::RestartFromLaterSibling;
    }
    if i == 0 {
        return Outcome::Matched;
    }
    let comb = c.combinators[i - 1];
    let step = |x: NodeId| match comb {
        Combinator::Child | Combinator::Descendant => parent_element(tree, x),
        Combinator::NextSibling | Combinator::LaterSibling => prev_element(tree, x),
    };
    let not_found = match comb {
        Combinator::NextSibling | Combinator::LaterSibling => Outcome::RestartFromDescendant,
        _ => Outcome::NotMatchedGlobally,
    };
    let mut cur = id;
    loop {
        let Some(next) = step(cur) else {
            return not_found;
        };
        let r = match_from(c, i - 1, tree, next, anchor);
        match (r, comb) {
            (Outcome::Matched | Outcome::NotMatchedGlobally, _) | (_, Combinator::NextSibling) => {
                return r;
            }
            (_, Combinator::Child) => return Outcome::RestartFromDescendant,
            (Outcome::RestartFromDescendant, Combinator::LaterSibling) => return r,
            _ => {}
        }
        cur = next;
    }
}

fn simple_matches(s: &Simple, tree: &Tree, id: NodeId, anchor: Option<NodeId>) -> bool {
    let Some(e) = tree.element(id) else {
        return false;
    };
    let html = e.name.ns == ns!(html);
    match s {
        Simple::Type(ns, name) => {
            ns.allows(&e.name.ns)
                && name
                    .as_ref()
                    .is_none_or(|(name, lower)| e.name.local == *if html { lower } else { name })
        }
        Simple::Id(v) => attr(e, &local_name!("id")) == Some(v.as_str()),
        Simple::Class(v) => attr(e, &local_name!("class"))
            .is_some_and(|c| c.split_ascii_whitespace().any(|c| c == v)),
        Simple::Attr {
            ns,
            name,
            lower,
            test,
        } => {
            let local = if html { lower } else { name };
            e.attrs.iter().any(|a| {
                a.name.local == *local
                    && ns.allows(&a.name.ns)
                    && test.as_ref().is_none_or(|(op, v, case)| {
                        let insensitive = match case {
                            Case::Sensitive => false,
                            Case::Insensitive => true,
                            Case::InsensitiveIfHtml => html,
                        };
                        attr_value_matches(*op, &a.value, v, insensitive)
                    })
            })
        }
        Simple::Never => false,
        Simple::Not(list) => !any_matches(list, tree, id, anchor),
        Simple::Is(list) => any_matches(list, tree, id, anchor),
        Simple::Has(list) => list.iter().any(|r| has_matches(r, tree, id)),
        Simple::Anchor => anchor == Some(id),
        Simple::Nth {
            a,
            b,
            last,
            of_type,
            of,
        } => {
            if let Some(of) = of
                && !any_matches(of, tree, id, anchor)
            {
                return false;
            }
            let step = if *last { next_element } else { prev_element };
            let mut index: i64 = 1;
            let mut cur = step(tree, id);
            while let Some(x) = cur {
                let counts = if *of_type {
                    tree.element(x).is_some_and(|o| o.name == e.name)
                } else if let Some(of) = of {
                    any_matches(of, tree, x, anchor)
                } else {
                    true
                };
                index += i64::from(counts);
                cur = step(tree, x);
            }
            let (a, b) = (i64::from(*a), i64::from(*b));
            if a == 0 {
                index == b
            } else {
                (index - b) % a == 0 && (index - b) / a >= 0
            }
        }
        Simple::Root => tree
            .parent(id)
            .is_some_and(|p| matches!(tree.data(p), NodeData::Document { .. })),
        Simple::Empty => tree.children(id).all(|c| match tree.data(c) {
            NodeData::Element(_) => false,
            NodeData::Text(t) => t.is_empty(),
            _ => true,
        }),
        Simple::Link => is_link_element(e),
        Simple::Checked => is_checked(e),
        Simple::Disabled => can_be_disabled(e) && is_disabled(tree, id, e),
        Simple::Enabled => can_be_disabled(e) && !is_disabled(tree, id, e),
        Simple::Required => can_be_required(e) && attr(e, &local_name!("required")).is_some(),
        Simple::Optional => can_be_required(e) && attr(e, &local_name!("required")).is_none(),
    }
}

/// Whether relative selector `r` (starting with its anchor compound) matches with `anchor` as
/// the anchor: some candidate below or after it matches `r`. The candidates are walked
/// iteratively (any depth); element children only, so template contents and iframe documents
/// are not searched.
fn has_matches(r: &Complex, tree: &Tree, anchor: NodeId) -> bool {
    let last = r.compounds.len() - 1;
    let test = |x: NodeId| match_from(r, last, tree, x, Some(anchor)) == Outcome::Matched;
    let first_element_child = |x: NodeId| tree.children(x).find(|&c| tree.element(c).is_some());
    // Every element of the subtree under `top` (exclusive), in preorder.
    let any_below = |top: NodeId| {
        let mut cur = first_element_child(top);
        while let Some(x) = cur {
            if test(x) {
                return true;
            }
            cur = first_element_child(x);
            let mut up = x;
            while cur.is_none() && up != top {
                cur = next_element(tree, up);
                if cur.is_none() {
                    up = parent_element(tree, up).unwrap_or(top);
                }
            }
        }
        false
    };
    match (r.combinators[0], last) {
        (Combinator::Descendant, _) => any_below(anchor),
        (Combinator::Child, 1) => {
            let mut cur = first_element_child(anchor);
            while let Some(x) = cur {
                if test(x) {
                    return true;
                }
                cur = next_element(tree, x);
            }
            false
        }
        (Combinator::Child, _) => any_below(anchor),
        (Combinator::NextSibling, 1) => next_element(tree, anchor).is_some_and(test),
        (Combinator::NextSibling | Combinator::LaterSibling, _) => {
            let deep = last > 1;
            let mut cur = next_element(tree, anchor);
            while let Some(x) = cur {
                if test(x) || (deep && any_below(x)) {
                    return true;
                }
                cur = next_element(tree, x);
            }
            false
        }
    }
}

fn attr_value_matches(op: AttrOp, value: &str, want: &str, insensitive: bool) -> bool {
    let eq = |a: &str, b: &str| {
        if insensitive {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let (vb, wb) = (value.as_bytes(), want.as_bytes());
    match op {
        AttrOp::Equal => eq(value, want),
        AttrOp::Includes => value.split_ascii_whitespace().any(|w| eq(w, want)),
        AttrOp::DashMatch => {
            vb.len() >= wb.len()
                && eq_bytes(&vb[..wb.len()], wb, insensitive)
                && (vb.len() == wb.len() || vb[wb.len()] == b'-')
        }
        AttrOp::Prefix => vb.len() >= wb.len() && eq_bytes(&vb[..wb.len()], wb, insensitive),
        AttrOp::Suffix => {
            vb.len() >= wb.len() && eq_bytes(&vb[vb.len() - wb.len()..], wb, insensitive)
        }
        AttrOp::Substring => {
            vb.len() >= wb.len() && vb.windows(wb.len()).any(|w| eq_bytes(w, wb, insensitive))
        }
    }
}

fn eq_bytes(a: &[u8], b: &[u8], insensitive: bool) -> bool {
    if insensitive {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// The value of the no-namespace attribute `local` (an atom comparison).
fn attr<'a>(e: &'a ElementData, local: &LocalName) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|a| a.name.local == *local && a.name.ns == ns!())
        .map(|a| a.value.as_str())
}

fn input_type_is(e: &ElementData, ty: &str) -> bool {
    attr(e, &local_name!("type")).is_some_and(|t| t.eq_ignore_ascii_case(ty))
}

/// HTML `<a>` / `<area>` with `href`, or SVG `<a>` with `href` / `xlink:href` (every link
/// counts as unvisited).
fn is_link_element(e: &ElementData) -> bool {
    if e.name.ns == ns!(html) {
        matches!(e.name.local, local_name!("a") | local_name!("area"))
            && attr(e, &local_name!("href")).is_some()
    } else if e.name.ns == ns!(svg) && e.name.local == local_name!("a") {
        e.attrs.iter().any(|a| {
            a.name.local == local_name!("href") && (a.name.ns == ns!() || a.name.ns == ns!(xlink))
        })
    } else {
        false
    }
}

/// A checkbox / radio `<input>` whose checkedness (the `checked` prop, else the `checked`
/// attribute) is true, or an `<option>` whose selectedness (the `selected` prop, else the
/// `selected` attribute) is true.
fn is_checked(e: &ElementData) -> bool {
    let props = e.props.as_deref();
    if e.is_html(&local_name!("input")) {
        if !(input_type_is(e, "checkbox") || input_type_is(e, "radio")) {
            return false;
        }
        props
            .and_then(|p| p.checked)
            .unwrap_or_else(|| attr(e, &local_name!("checked")).is_some())
    } else if e.is_html(&local_name!("option")) {
        props
            .and_then(|p| p.selected)
            .unwrap_or_else(|| attr(e, &local_name!("selected")).is_some())
    } else {
        false
    }
}

/// Whether `:enabled` / `:disabled` apply to this element at all.
fn can_be_disabled(e: &ElementData) -> bool {
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

/// HTML's "actually disabled" (for the elements [`can_be_disabled`] accepts): its own
/// `disabled` attribute, an `<option>`'s disabled `<optgroup>`, or an ancestor disabled
/// `<fieldset>` outside its first `<legend>`.
fn is_disabled(tree: &Tree, id: NodeId, e: &ElementData) -> bool {
    let disabled = |e: &ElementData| attr(e, &local_name!("disabled")).is_some();
    if disabled(e) {
        return true;
    }
    match e.name.local {
        local_name!("optgroup") => false,
        local_name!("option") => parent_element(tree, id)
            .and_then(|p| tree.element(p))
            .is_some_and(|p| p.is_html(&local_name!("optgroup")) && disabled(p)),
        _ => {
            let mut child = id;
            while let Some(parent) = parent_element(tree, child) {
                let p = tree.element(parent).expect("an element");
                if p.is_html(&local_name!("fieldset")) && disabled(p) {
                    let first_legend = tree.children(parent).find(|&c| {
                        tree.element(c)
                            .is_some_and(|c| c.is_html(&local_name!("legend")))
                    });
                    if first_legend != Some(child) {
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
fn can_be_required(e: &ElementData) -> bool {
    if e.is_html(&local_name!("select")) || e.is_html(&local_name!("textarea")) {
        return true;
    }
    e.is_html(&local_name!("input"))
        && ![
            "hidden", "range", "color", "submit", "image", "reset", "button",
        ]
        .iter()
        .any(|t| input_type_is(e, t))
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
        tree.descendants(tree.root())
            .filter(|&id| sel.matches(tree, id))
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
        for id in t.descendants(t.root()) {
            if t.element(id).is_none() {
                assert!(!sel.matches(&t, id));
                assert!(!sel_not.matches(&t, id));
            }
        }
        let html = t
            .children(t.root())
            .find(|&i| t.element(i).is_some())
            .unwrap();
        assert!(sel.matches(&t, html));
        assert!(!sel.matches(&t, t.root()));
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
    }

    #[test]
    fn has_with_namespaces_case_and_combinators() {
        let t = doc(
            r#"<main id=m><div class="k Mixed"><p id=z>t</p><svg><clipPath id=cp><rect id=r /></clipPath></svg></div><span></span></main>"#,
        );
        for (sel, hit) in [
            (":has(p)", true),
            (":has(.k)", true),
            (":has(.Mixed)", true),
            (":has(.mixed)", false),
            (":has(#z)", true),
            (":has(#Z)", false),
            (":has(rect)", true),
            (":has(svg|rect)", true),
            (":has(html|rect)", false),
            (":has(clipPath)", true),
            (":has(clippath)", false),
            (":has(DIV)", true),
            (":has(P.k)", false),
            (":has(> span)", true),
            (":has(div > p#z)", true),
            (":has(.nope)", false),
            (":has(svg|*)", true),
        ] {
            assert_eq!(
                select(&t, &format!("main{sel}")),
                if hit {
                    vec!["main#m".to_owned()]
                } else {
                    vec![]
                },
                "{sel}"
            );
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
    fn results_follow_edits_of_the_tree() {
        let a = doc("<p id=x></p><p id=y></p><p id=z></p>");
        let b = doc("<div></div><p id=x></p>");
        let s = CompiledSelector::parse("p:nth-child(2)").unwrap();
        let m = |t: &Tree| -> Vec<NodeId> {
            t.descendants(t.root())
                .filter(|&i| s.matches(t, i))
                .collect()
        };
        let ra = m(&a);
        let rb = m(&b);
        assert_eq!(ra.len(), 1);
        assert_eq!(rb.len(), 1);
        assert_eq!(m(&a), ra);
        // After an edit, the edited tree's results.
        let mut a2 = a.clone();
        let body = a2
            .descendants(a2.root())
            .find(|&i| a2.element(i).is_some_and(|e| &*e.name.local == "body"))
            .unwrap();
        let first = a2.first_child(body).unwrap();
        a2.detach(first);
        let r2: Vec<String> = m(&a2)
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
            assert_eq!(s.matches(&t, leaf), expect_leaf, "{sel}");
        }
        // Matching every element of the deep tree (descendant combinator walks all ancestors).
        let s = CompiledSelector::parse("body div.a section div p").unwrap();
        let n = t
            .descendants(t.root())
            .filter(|&id| s.matches(&t, id))
            .count();
        assert_eq!(n, 1);
        let s = CompiledSelector::parse("section:nth-child(1) > div:first-child").unwrap();
        let n = t
            .descendants(t.root())
            .filter(|&id| s.matches(&t, id))
            .count();
        assert_eq!(n, 2499);
        // :has() over the whole deep subtree, from the top and from every element.
        let body = t
            .descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "body"))
            .unwrap();
        let s = CompiledSelector::parse("body:has(p#leaf)").unwrap();
        assert!(s.matches(&t, body));
        let s = CompiledSelector::parse("div:has(> p)").unwrap();
        let n = t
            .descendants(t.root())
            .filter(|&id| s.matches(&t, id))
            .count();
        assert_eq!(n, 0);
        let s = CompiledSelector::parse("section:has(p)").unwrap();
        let n = t
            .descendants(t.root())
            .filter(|&id| s.matches(&t, id))
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
        let body = t
            .descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "body"))
            .unwrap();
        let s = CompiledSelector::parse("body:has(p#leaf)").unwrap();
        assert!(s.matches(&t, body));
        let s = CompiledSelector::parse("body:has(span)").unwrap();
        assert!(!s.matches(&t, body));
        let s = CompiledSelector::parse("body > div:has(~ p)").unwrap();
        let first = t.first_child(body).unwrap();
        assert!(!s.matches(&t, first));
        // Plain selectors stay on the caller's thread and are fine at any depth.
        let leaf = t
            .descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| e.attr("id") == Some("leaf")))
            .unwrap();
        let s = CompiledSelector::parse("body div section div p").unwrap();
        assert!(s.matches(&t, leaf));
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
            let start = std::time::Instant::now();
            let mut hits = [0usize; 5];
            let rounds = 5;
            for _ in 0..rounds {
                hits = [0; 5];
                for &id in &elements {
                    for (k, s) in sels.iter().enumerate() {
                        if s.matches(&t, id) {
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

    /// Selectors for the differential test: every feature the module supports, in combinations,
    /// plus texts both must refuse.
    const DIFFERENTIAL: &[&str] = &[
        "*",
        "div",
        "DIV",
        "a",
        "p",
        "span",
        "li",
        "img",
        "svg",
        "path",
        "clipPath",
        "clippath",
        "svg|*",
        "html|*",
        "*|*",
        "|p",
        "svg|svg",
        "mathml|math",
        "html|A",
        "#main",
        "#content",
        ".nav",
        ".active",
        ".btn.primary",
        "div.container",
        "a.button",
        "[href]",
        "[HREF]",
        "[class]",
        "[id]",
        "[style]",
        "[data-id]",
        "[viewBox]",
        "[viewbox]",
        "[type=text]",
        "[type=TEXT]",
        "[type='submit' s]",
        "[type=hidden i]",
        "[lang|=en]",
        "[rel~=nofollow]",
        "[rel~='no follow']",
        "[rel~='']",
        "[href^=http]",
        "[href^='https:']",
        "[href$='.pdf']",
        "[href*=google]",
        "[href*='']",
        "[href^='']",
        "[class*=nav i]",
        "[src$=png i]",
        "[title]",
        "[alt='']",
        "[target=_blank]",
        "[target=_BLANK]",
        "[xlink|href]",
        "[*|href]",
        "[|href]",
        "[name=q]",
        "[method=post]",
        "[method=POST]",
        "a[href]:not([href^='#'])",
        "div > p",
        "div p",
        "ul > li",
        "li + li",
        "li ~ li",
        "h1 + p",
        "h2 ~ p",
        "body > *",
        "html > body > div",
        "div > div > div",
        "ul li a",
        "nav a",
        "form input",
        "form > input",
        "table tr td",
        "tr > td:first-child",
        "td + td + td",
        "div ~ div > p",
        "p + ul li",
        "* + *",
        "* > * > * > * > *",
        ":root",
        ":root > body",
        ":scope",
        ":empty",
        "div:empty",
        "p:empty",
        "td:empty",
        ":first-child",
        ":last-child",
        ":only-child",
        "li:first-child",
        "li:last-child",
        "p:only-child",
        ":first-of-type",
        ":last-of-type",
        ":only-of-type",
        "div:first-of-type",
        "a:last-of-type",
        ":nth-child(2)",
        ":nth-child(2n)",
        ":nth-child(2n+1)",
        ":nth-child(odd)",
        ":nth-child(EVEN)",
        ":nth-child(-n+3)",
        ":nth-child(n+4)",
        ":nth-child(3n - 1)",
        ":nth-child(3n-1)",
        ":nth-child( +2n + 0 )",
        ":nth-child(-2n+5)",
        ":nth-child(0n+1)",
        ":nth-child(n)",
        ":nth-child(-n)",
        ":nth-child(0)",
        "li:nth-child(5n)",
        ":nth-last-child(1)",
        ":nth-last-child(2n)",
        ":nth-of-type(2)",
        ":nth-of-type(odd)",
        ":nth-last-of-type(2)",
        "li:nth-last-of-type(-n+2)",
        ":nth-child(2 of .active)",
        ":nth-child(odd of li, p)",
        ":nth-last-child(1 of a[href])",
        ":nth-child(2n of div > *)",
        ":not(div)",
        ":not(div, span)",
        "div:not(.container)",
        ":not(:first-child)",
        "a:not([href])",
        ":not(div p)",
        ":not(:not(a))",
        ":is(h1, h2, h3)",
        ":is(ul, ol) > li",
        ":where(nav, header) a",
        ":is(div p, ul li) a",
        ":is(:hover2, p)",
        ":is()",
        ":where(.x)",
        "div:has(p)",
        "div:has(> p)",
        "ul:has(> li + li)",
        "li:has(+ li)",
        "h2:has(~ p)",
        "div:has(a[href]):not(:has(img))",
        "body :has(> img)",
        ":has(> *)",
        "p:has(a, img)",
        "tr:has(td:empty)",
        "div:has(~ div p)",
        "li:has(+ li a)",
        "section:has(h2 + p)",
        ":is(div, p):has(span)",
        "table:has(tr:nth-child(3))",
        "a:has(> img:only-child)",
        ":link",
        ":any-link",
        ":visited",
        "a:not(:visited)",
        ":checked",
        "input:checked",
        ":disabled",
        ":enabled",
        "input:enabled",
        ":required",
        ":optional",
        "select:optional",
        "option:checked",
        "fieldset :disabled",
        "button:enabled",
        "html body div span a",
        "body div div div",
        "div :is(a, span) + :where(span, a)",
        "a:first-child:last-child",
        "p, div, span",
        " p ,div ",
        "p/**/div",
        "p /* x */ > a",
        r"#\31 0",
        r".\61 ",
        r"[data-x='a\'b']",
        "[data-x=\"a b\"]",
        // Refused by both.
        "",
        " ",
        ",",
        "p,",
        ",p",
        "> p",
        "p >",
        "p > > a",
        "div[[",
        "[",
        "[x=]",
        "[x=y z]",
        "#",
        ".",
        "#1",
        ".1a",
        "::before",
        "p::after",
        ":before",
        "a:hover",
        ":focus",
        ":hover2",
        ":lang(en)",
        ":dir(ltr)",
        ":host",
        ":host(p)",
        ":not(",
        ":not()",
        ":nth-child(foo)",
        ":nth-child()",
        ":nth-child(2n+)",
        ":nth-child(+ 2n)",
        ":nth-child(2 n)",
        ":nth-of-type(2 of p)",
        "foo|bar",
        "&",
        "div ++ p",
        ":has()",
        ":has(:has(p))",
        ":has(::before)",
        ":read-only",
        "p!",
        "p)",
        "[x|=]",
        "[foo|href]",
    ];

    /// The module agrees with servo's `selectors` (the reference, `selector_servo.rs`, which
    /// the engine shipped before) on which selectors are valid and on which elements of real
    /// pages each one matches.
    #[test]
    fn agrees_with_servo_selectors_on_corpus_pages() {
        use crate::rules::selector_servo as servo;
        let mut pages = vec![doc(
            r##"<div id=main class="container"><nav class="nav"><a href="#x" class="button active">x</a><a>y</a></nav>
            <form method=POST><fieldset disabled><legend><input name=q type=TEXT></legend><input required type=checkbox checked></fieldset>
            <select><option selected>a</option><optgroup disabled><option>b</option></optgroup></select><button>b</button></form>
            <ul><li>1</li><li class=active>2</li><li><a href=/f.PDF>3</a></li><li></li><li><img src=x.PNG alt=""></li></ul>
            <svg viewBox="0 0 1 1"><clipPath id=c><path/></clipPath><a xlink:href="#c"></a></svg><p></p><p><span></span></p>
            <table><tr><td></td><td>x</td><td></td></tr></table><template><p>in</p></template><div id=10 class=a></div></div>"##,
        )];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpus/cache/htmlparser-benchmark");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        // Every 16th page (16 pages), for the test's time.
        for f in files.iter().step_by(16) {
            let html = std::fs::read(f).unwrap();
            pages.push(parse_document_str(&String::from_utf8_lossy(&html)));
        }
        assert!(
            pages.len() > 10,
            "the corpus cache is present (corpus/fetch.sh)"
        );
        let (mut checked, mut hits, mut valid) = (0usize, 0usize, 0usize);
        let mut wrong = Vec::new();
        for &sel in DIFFERENTIAL {
            let ours = CompiledSelector::parse(sel);
            let theirs = servo::CompiledSelector::parse(sel);
            if ours.is_ok() != theirs.is_ok() {
                wrong.push(format!(
                    "`{sel}`: ours {:?}, servo {:?}",
                    ours.as_ref().err().map(|e| &e.message),
                    theirs.as_ref().err().map(|e| &e.message)
                ));
                continue;
            }
            let (Ok(ours), Ok(theirs)) = (ours, theirs) else {
                continue;
            };
            valid += 1;
            for t in &pages {
                let mut caches = servo::MatchCaches::default();
                for id in t.descendants(t.root()) {
                    let want = theirs.matches(t, id, &mut caches);
                    if ours.matches(t, id) != want && wrong.len() < 50 {
                        wrong.push(format!("`{sel}` on {id:?}: servo says {want}"));
                    }
                    checked += 1;
                    hits += usize::from(want);
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(valid > 150 && hits > 100_000, "{valid} valid, {hits} hits");
        println!("{valid} selectors, {checked} node matches compared, {hits} hits");
    }
}
