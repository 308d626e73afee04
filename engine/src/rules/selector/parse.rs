//! The selector parser: text to the compiled form ([`super::Complex`]).

use super::*;

/// Parses a whole selector list (`source` must hold nothing after it).
pub(super) fn selector_list(source: &str) -> PResult<Vec<Complex>> {
    let mut p = Parser {
        s: source.as_bytes(),
        src: source,
        pos: 0,
        depth: 0,
        compounds: 0,
        in_has: false,
    };
    let list = p.selector_list()?;
    p.skip_ws();
    if p.pos < p.s.len() {
        Err("unexpected token".into())
    } else {
        Ok(list)
    }
}

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
