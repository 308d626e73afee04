//! The sanitizer: which nodes and attributes the agent never receives, decided per node in the
//! rules' annotate pass so that nothing it removes ever reaches a frame.
//!
//! Three concerns, in this order for each element:
//!
//! 1. **Active content.** `script`, `base`, a refresh `meta`, script-loading `link`s, SVG
//!    animations that target links or handlers are dropped. `object`, `embed` and `applet`
//!    (which load plugins or documents by themselves) become a neutral placeholder: an empty
//!    HTML `span` keeping only `width` and `height` (see [`placeholder_name`]).
//! 2. **Re-parse safety.** The mirror's HTML (`to_html`) is parsed again by whoever embeds it.
//!    A node the HTML parser would not put where it is (mutation XSS: namespace confusion
//!    around MathML and SVG integration points, an HTML `mglyph` under `mtext`, a `form`
//!    inside a `form`, an HTML raw-text element where the parser would read markup) is
//!    dropped with its subtree, so that for every tree the HTML parser produces, parsing
//!    `to_html` of its projection gives the projection again. The namespace rules follow the
//!    HTML standard's tree construction ("tree construction dispatcher", "parsing tokens in
//!    foreign content"): see [`element_fits_parent`].
//!    Nodes with more than [`MAX_ELEMENT_ANCESTORS`] element ancestors are dropped too: a
//!    browser's parser flattens deeper nesting.
//! 3. **Attributes.** Event handlers, `srcdoc`, refresh `http-equiv`, inline CSS that could
//!    script, and URLs that fail [`crate::rules::url`] are removed, one attribute at a time.
//!
//! What re-parsing cannot keep, and is compared modulo: adjacent and empty text nodes (a
//! dropped `<script>` between two texts leaves two texts that parse back as one). Everything
//! else (element structure, namespaces, names, attributes and their order, comments, doctypes)
//! is exact. The guarantee is for trees the HTML parser made (pages, and diffs between
//! them: [`Tree::is_parser_made`]). Foster parenting (content moved out of a table) is how a
//! parsed tree gets an element where its start tag would close or restart an ancestor (a `p`
//! in a `p`, a `select` in a `select`): in a parser-made tree those elements are dropped (see
//! `html_nesting_survives`).
//!
//! A tree built through the tree-edit API (a live DOM captured in a browser) keeps every
//! security check (namespaces, raw-text content, comments that would close early, nested
//! forms, `plaintext`, depth) but not the nesting rule: scripts make such nestings (a `div`
//! moved into a `p`, an `li` into an `li`, a `tr` directly inside a `div`), the agent's
//! mirror is built by DOM calls and shows them as the customer sees them, and withholding
//! them would hide content (and its scroll, its style sheets) from the agent. Re-parsing the
//! HTML of such a tree rearranges it without activating anything: the element the parser
//! would move lands beside the ancestor it closes, inside the same scope boundary and so in
//! the same namespace context, and its attributes, URLs and raw-text contents were checked
//! where it is.

use markup5ever::{QualName, local_name, ns};

use crate::dom::tree::{ElementData, NodeData, NodeId, Tree, is_void_element};
use crate::rules::url::{UrlUse, is_dangerous_url, srcset_is_dangerous, url_use};

/// The most element ancestors a node may have. Blink's and WebKit's HTML parsers stop
/// nesting at 512 open elements and attach deeper nodes to an ancestor instead, which moves
/// them out of their parent (out of an SVG `style`, out of a `math`): a nesting-depth
/// mutation. Deeper nodes are dropped, so the mirror's HTML never reaches that limit.
pub(crate) const MAX_ELEMENT_ANCESTORS: usize = 512;

/// What the sanitizer does with an element.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ElementVerdict {
    /// Sent as it is (attributes are checked one by one).
    Keep,
    /// Never sent, with everything inside it.
    Drop,
    /// Sent as a placeholder: no content, only `width` and `height`, and under the neutral
    /// name [`placeholder_name`] when [`needs_neutral_placeholder`] says so.
    Block,
}

/// HTML elements whose content the tokenizer reads as raw text (no markup inside).
const RAW_TEXT: &[&str] = &[
    "style", "script", "xmp", "iframe", "noembed", "noframes", "noscript",
];

/// HTML elements whose content is escapable raw text: entities, no elements.
const ESCAPABLE_RAW_TEXT: &[&str] = &["textarea", "title"];

/// Start tags that break out of foreign content (`font` only with `color`, `face` or `size`).
const BREAKOUT: &[&str] = &[
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "i",
    "img",
    "li",
    "listing",
    "menu",
    "meta",
    "nobr",
    "ol",
    "p",
    "pre",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "strike",
    "sub",
    "sup",
    "table",
    "tt",
    "u",
    "ul",
    "var",
];

/// The SVG element names the parser writes in mixed case (its "adjust SVG tag name" table).
const SVG_MIXED_CASE: &[&str] = &[
    "altGlyph",
    "altGlyphDef",
    "altGlyphItem",
    "animateColor",
    "animateMotion",
    "animateTransform",
    "clipPath",
    "feBlend",
    "feColorMatrix",
    "feComponentTransfer",
    "feComposite",
    "feConvolveMatrix",
    "feDiffuseLighting",
    "feDisplacementMap",
    "feDistantLight",
    "feDropShadow",
    "feFlood",
    "feFuncA",
    "feFuncB",
    "feFuncG",
    "feFuncR",
    "feGaussianBlur",
    "feImage",
    "feMerge",
    "feMergeNode",
    "feMorphology",
    "feOffset",
    "fePointLight",
    "feSpecularLighting",
    "feSpotLight",
    "feTile",
    "feTurbulence",
    "foreignObject",
    "glyphRef",
    "linearGradient",
    "radialGradient",
    "textPath",
];

/// HTML elements the sanitizer replaces by a neutral placeholder when blocked: they load
/// plugins or documents by themselves, so their own tag never reaches the agent.
pub(crate) fn needs_neutral_placeholder(e: &ElementData) -> bool {
    e.name.ns == ns!(html) && matches!(&*e.name.local, "object" | "embed" | "applet")
}

/// The name a neutral placeholder is sent under: an HTML `span`, which the parser puts
/// wherever it puts an `object`, `embed` or `applet` (all three are only ever HTML elements
/// in HTML content or at an integration point, where a `span` stays a `span`), and which is
/// empty, so the `object`'s scoping of its own content no longer matters.
pub(crate) fn placeholder_name() -> &'static QualName {
    static SPAN: std::sync::LazyLock<QualName> =
        std::sync::LazyLock::new(|| QualName::new(None, ns!(html), local_name!("span")));
    &SPAN
}

/// How the parser treats the children of a node, which decides which elements it can hold.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ParentKind {
    /// The document: only the `html` element.
    Document,
    /// A template's contents (or a parsed fragment): HTML content.
    Fragment,
    /// An ordinary HTML element: HTML children, and `svg` / `math` roots.
    Html,
    /// An HTML element with no element children: void, raw text or escapable raw text.
    HtmlWithoutElements,
    /// SVG `foreignObject`, `desc`, `title`, MathML `annotation-xml` with an HTML encoding:
    /// start tags are processed as HTML.
    HtmlIntegrationPoint,
    /// MathML `mi`, `mo`, `mn`, `ms`, `mtext`: HTML children except `mglyph`/`malignmark`.
    MathTextIntegrationPoint,
    /// MathML `annotation-xml` without an HTML encoding: MathML children and `svg`.
    AnnotationXml,
    /// Any other MathML element.
    MathMl,
    /// Any other SVG element.
    Svg,
    /// Anything the parser never puts children under (text, comments, doctypes, elements of
    /// unknown namespaces).
    Nothing,
}

fn parent_kind(
    tree: &Tree,
    parent: NodeId,
    annotation_is_html: &dyn Fn(NodeId) -> bool,
) -> ParentKind {
    let e = match tree.data(parent) {
        NodeData::Document { .. } => return ParentKind::Document,
        NodeData::Fragment => return ParentKind::Fragment,
        NodeData::Element(e) => e,
        _ => return ParentKind::Nothing,
    };
    let local: &str = &e.name.local;
    if e.name.ns == ns!(html) {
        if RAW_TEXT.contains(&local)
            || ESCAPABLE_RAW_TEXT.contains(&local)
            || is_void_element(local)
        {
            return ParentKind::HtmlWithoutElements;
        }
        return ParentKind::Html;
    }
    if e.name.ns == ns!(svg) {
        return if matches!(local, "foreignObject" | "desc" | "title") {
            ParentKind::HtmlIntegrationPoint
        } else {
            ParentKind::Svg
        };
    }
    if e.name.ns == ns!(mathml) {
        return match local {
            "mi" | "mo" | "mn" | "ms" | "mtext" => ParentKind::MathTextIntegrationPoint,
            "annotation-xml" if annotation_is_html(parent) => ParentKind::HtmlIntegrationPoint,
            "annotation-xml" => ParentKind::AnnotationXml,
            _ => ParentKind::MathMl,
        };
    }
    ParentKind::Nothing
}

/// Whether an `annotation-xml` element's encoding makes it an HTML integration point.
pub(crate) fn is_html_encoding(value: &str) -> bool {
    value.eq_ignore_ascii_case("text/html") || value.eq_ignore_ascii_case("application/xhtml+xml")
}

/// Whether a foreign element of this name and attributes would break out of foreign content.
fn breaks_out(e: &ElementData) -> bool {
    let local: &str = &e.name.local;
    BREAKOUT.contains(&local)
        || (local == "font"
            && e.attrs
                .iter()
                .any(|a| a.name.ns == ns!() && matches!(&*a.name.local, "color" | "face" | "size")))
}

/// Whether the parser writes this element's name exactly so (case included).
fn name_is_canonical(e: &ElementData) -> bool {
    let local: &str = &e.name.local;
    if e.name.ns == ns!(svg) && local.bytes().any(|b| b.is_ascii_uppercase()) {
        return SVG_MIXED_CASE.contains(&local);
    }
    !local.bytes().any(|b| b.is_ascii_uppercase()) && !local.is_empty()
}

/// Whether the parser, reading `to_html` of the tree, would create an element with this name
/// and namespace as a child of a node of kind `parent`.
fn element_fits_parent(e: &ElementData, parent: ParentKind) -> bool {
    let local: &str = &e.name.local;
    let html = e.name.ns == ns!(html);
    let svg = e.name.ns == ns!(svg);
    let math = e.name.ns == ns!(mathml);
    // An HTML start tag named `svg` or `math` always creates the foreign root, and `image`
    // becomes `img`.
    if html && matches!(local, "svg" | "math" | "image") {
        return false;
    }
    let foreign_root = (svg && local == "svg") || (math && local == "math");
    match parent {
        ParentKind::Document => html && local == "html",
        ParentKind::Fragment | ParentKind::Html | ParentKind::HtmlIntegrationPoint => {
            html || foreign_root
        }
        ParentKind::HtmlWithoutElements | ParentKind::Nothing => false,
        ParentKind::MathTextIntegrationPoint => {
            (html && !matches!(local, "mglyph" | "malignmark"))
                || foreign_root
                || (math && matches!(local, "mglyph" | "malignmark"))
        }
        ParentKind::AnnotationXml => {
            (svg && local == "svg") || (math && local != "svg" && !breaks_out(e))
        }
        ParentKind::MathMl => math && !breaks_out(e),
        ParentKind::Svg => svg && !breaks_out(e),
    }
}

/// The sanitizer's verdict on element `id` (whose data is `e`) of `tree`. The parent has been
/// annotated already; `annotation_is_html` says whether an `annotation-xml` element's
/// encoding, as the agent sees it, is an HTML one.
pub(crate) fn element_verdict(
    tree: &Tree,
    id: NodeId,
    e: &ElementData,
    annotation_is_html: &dyn Fn(NodeId) -> bool,
) -> ElementVerdict {
    if is_active_content(e) {
        return ElementVerdict::Drop;
    }
    if !name_is_canonical(e) {
        return ElementVerdict::Drop;
    }
    if let Some(parent) = tree.parent(id)
        && !element_fits_parent(e, parent_kind(tree, parent, annotation_is_html))
    {
        return ElementVerdict::Drop;
    }
    if e.name.ns == ns!(html) {
        let local: &str = &e.name.local;
        // `plaintext` swallows the rest of the document, its own end tag included.
        if local == "plaintext" {
            return ElementVerdict::Drop;
        }
        if local == "form" && is_inside_form(tree, id) {
            return ElementVerdict::Drop;
        }
        if tree.is_parser_made() && !html_nesting_survives(tree, id, local) {
            return ElementVerdict::Drop;
        }
        if needs_neutral_placeholder(e) {
            return ElementVerdict::Block;
        }
    }
    ElementVerdict::Keep
}

/// Script, document-changing and script-loading elements, whatever their place.
fn is_active_content(e: &ElementData) -> bool {
    let local = &e.name.local;
    if *local == local_name!("script") {
        return true;
    }
    if e.name.ns == ns!(svg)
        && matches!(
            &**local,
            "set" | "animate" | "animateTransform" | "animateMotion"
        )
    {
        // SMIL can rewrite any attribute at run time: an animation that targets a link or an
        // event handler is dropped whatever its values look like.
        let target = e
            .attr("attributeName")
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        return target.starts_with("on") || target == "href" || target == "xlink:href";
    }
    if e.name.ns != ns!(html) {
        return false;
    }
    match &**local {
        // Never shown with scripting on (the agent's browser), and read as markup by a parser
        // with scripting off: `noscript`, `noembed` and `noframes` have nothing to show.
        "base" | "noscript" | "noembed" | "noframes" => true,
        "meta" => e
            .attr("http-equiv")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh")),
        "link" => e.attr("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace().any(|r| {
                r.eq_ignore_ascii_case("import")
                    || r.eq_ignore_ascii_case("modulepreload")
                    || ((r.eq_ignore_ascii_case("preload") || r.eq_ignore_ascii_case("prefetch"))
                        && e.attr("as").is_some_and(|a| {
                            a.eq_ignore_ascii_case("script") || a.eq_ignore_ascii_case("worker")
                        }))
            })
        }),
        _ => false,
    }
}

/// Whether a text or comment node reads back as itself: a comment may not close early (see
/// [`comment_survives`]) nor sit in a raw-text or escapable raw-text element (where `<!--`
/// is text), text in a raw-text element may not hold that element's end tag, and a style
/// sheet's text may not hold script URLs ([`css_is_dangerous`]). Decided on
/// the node itself, so that an edit of the text re-decides it.
pub(crate) fn character_data_survives(tree: &Tree, id: NodeId) -> bool {
    // Style sheet text (HTML or SVG `style`) is CSS: script URLs in it do not survive.
    if let NodeData::Text(t) = tree.data(id)
        && tree
            .parent(id)
            .and_then(|p| tree.element(p))
            .is_some_and(|e| {
                &*e.name.local == "style" && (e.name.ns == ns!(html) || e.name.ns == ns!(svg))
            })
        && css_is_dangerous(t)
    {
        return false;
    }
    let parent = tree
        .parent(id)
        .and_then(|p| tree.element(p))
        .filter(|e| e.name.ns == ns!(html));
    let raw_parent = parent
        .map(|e| &*e.name.local)
        .filter(|l| RAW_TEXT.contains(l));
    let escapable_parent = parent
        .map(|e| &*e.name.local)
        .filter(|l| ESCAPABLE_RAW_TEXT.contains(l));
    match tree.data(id) {
        NodeData::Comment(c) => {
            comment_survives(c) && raw_parent.is_none() && escapable_parent.is_none()
        }
        NodeData::Text(t) => raw_parent.is_none_or(|name| !contains_end_tag(t, name)),
        _ => true,
    }
}

/// Whether `text` holds `</name` (ASCII case-insensitive), which ends a raw-text element.
fn contains_end_tag(text: &str, name: &str) -> bool {
    let bytes = text.as_bytes();
    let n = name.len();
    bytes
        .windows(n + 2)
        .any(|w| w[0] == b'<' && w[1] == b'/' && w[2..].eq_ignore_ascii_case(name.as_bytes()))
}

/// HTML start tags that close an open `p` in button scope.
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "header",
    "hgroup",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "search",
    "section",
    "summary",
    "ul",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "listing",
    "form",
    "plaintext",
    "xmp",
    "hr",
    "dd",
    "dt",
    "li",
];

/// Whether the element ends a "has an element in scope" search (the standard's default scope;
/// `button` too for button scope).
fn is_scope_boundary(e: &ElementData, button_scope: bool) -> bool {
    let local: &str = &e.name.local;
    if e.name.ns == ns!(html) {
        return matches!(
            local,
            "applet"
                | "caption"
                | "html"
                | "table"
                | "td"
                | "th"
                | "marquee"
                | "object"
                | "template"
        ) || (button_scope && local == "button");
    }
    if e.name.ns == ns!(mathml) {
        return matches!(
            local,
            "mi" | "mo" | "mn" | "ms" | "mtext" | "annotation-xml"
        );
    }
    e.name.ns == ns!(svg) && matches!(local, "foreignObject" | "desc" | "title")
}

/// Whether the element is in the standard's "special" category.
fn is_special(e: &ElementData) -> bool {
    if is_scope_boundary(e, false) {
        return true;
    }
    e.name.ns == ns!(html)
        && (is_void_element(&e.name.local)
            || RAW_TEXT.contains(&&*e.name.local)
            || ESCAPABLE_RAW_TEXT.contains(&&*e.name.local)
            || CLOSES_P.contains(&&*e.name.local)
            || matches!(
                &*e.name.local,
                "body"
                    | "button"
                    | "colgroup"
                    | "embed"
                    | "frame"
                    | "frameset"
                    | "head"
                    | "iframe"
                    | "select"
                    | "tbody"
                    | "tfoot"
                    | "thead"
                    | "tr"
                    | "image"
            ))
}

/// The HTML ancestors of `id` up to (not including) the first one `stop` accepts, nearest first.
fn ancestors_until(
    tree: &Tree,
    id: NodeId,
    stop: impl Fn(&ElementData) -> bool,
) -> impl Iterator<Item = &ElementData> {
    let mut cur = tree.parent(id);
    std::iter::from_fn(move || {
        let e = tree.element(cur?)?;
        if stop(e) {
            return None;
        }
        cur = tree.parent(cur?);
        Some(e)
    })
}

/// Whether an HTML element's start tag, read where the element is, would leave it there: a
/// start tag that closes an open element (`p` in button scope, a list item, a heading, an
/// `option`) or restarts one (`a`, `nobr`, `button`) would put it elsewhere. A parsed tree
/// has such shapes only through foster parenting (content moved out of a `table` into an
/// element the table was inside).
fn html_nesting_survives(tree: &Tree, id: NodeId, local: &str) -> bool {
    let is =
        |e: &ElementData, names: &[&str]| e.name.ns == ns!(html) && names.contains(&&*e.name.local);
    let parent = tree.parent(id).and_then(|p| tree.element(p));
    if CLOSES_P.contains(&local)
        && ancestors_until(tree, id, |e| is_scope_boundary(e, true)).any(|e| is(e, &["p"]))
    {
        return false;
    }
    let headings = ["h1", "h2", "h3", "h4", "h5", "h6"];
    if headings.contains(&local) && parent.is_some_and(|p| is(p, &headings)) {
        return false;
    }
    let items: &[&str] = match local {
        "li" => &["li"],
        "dd" | "dt" => &["dd", "dt"],
        _ => &[],
    };
    if !items.is_empty()
        && ancestors_until(tree, id, |e| {
            is_special(e) && !is(e, &["address", "div", "p"]) && !is(e, items)
        })
        .any(|e| is(e, items))
    {
        return false;
    }
    if matches!(local, "option" | "optgroup") && parent.is_some_and(|p| is(p, &["option"])) {
        return false;
    }
    if local == "optgroup" && parent.is_some_and(|p| is(p, &["optgroup"])) {
        return false;
    }
    // A `select` start tag with a `select` in scope is ignored and closes it; an `input`
    // closes it too (the parser's customizable-select rules).
    if matches!(local, "select" | "input")
        && ancestors_until(tree, id, |e| is_scope_boundary(e, false)).any(|e| is(e, &["select"]))
    {
        return false;
    }
    if matches!(local, "a" | "nobr" | "button") {
        // `a` is found through the list of active formatting elements, up to the last marker
        // (td, th, caption, applet, object, marquee, template); `nobr` and `button` in scope.
        let boundary = |e: &ElementData| {
            if local == "a" {
                is(
                    e,
                    &[
                        "td", "th", "caption", "applet", "object", "marquee", "template",
                    ],
                )
            } else {
                is_scope_boundary(e, false)
            }
        };
        if ancestors_until(tree, id, boundary).any(|e| is(e, &[local])) {
            return false;
        }
    }
    true
}

/// Whether an HTML `form` is among the ancestors of `id`, up to the nearest fragment (a
/// template's contents may hold a form inside a form; the parser allows it there) or
/// document (an iframe's content document is parsed on its own).
pub(crate) fn is_inside_form(tree: &Tree, id: NodeId) -> bool {
    let mut cur = tree.parent(id);
    while let Some(p) = cur {
        match tree.data(p) {
            NodeData::Fragment | NodeData::Document { .. } => return false,
            NodeData::Element(e) if e.is_html(&local_name!("form")) => return true,
            _ => {}
        }
        cur = tree.parent(p);
    }
    false
}

/// Whether a comment reads back as the same comment: it may not end early (`-->`, `--!>`),
/// nor start so that `<!--` itself closes it (`>`, `->`), nor end in `<!-`.
pub(crate) fn comment_survives(data: &str) -> bool {
    !(data.contains("-->")
        || data.contains("--!>")
        || data.starts_with('>')
        || data.starts_with("->")
        || data.ends_with("<!-"))
}

/// Whether inline CSS could run script in some browser (`javascript:` / `vbscript:` URLs,
/// IE `expression()` and `behavior`, Mozilla `-moz-binding`), after undoing CSS escapes and
/// comments, which attackers use to hide them.
pub(crate) fn css_is_dangerous(css: &str) -> bool {
    // Fast path: with no escape and none of the keywords' distinctive fragments (read, as the
    // slow path reads them, without comments and the characters a URL reader skips), no
    // obfuscation can produce them.
    escape_or_keyword_fragment(css) && plain_css_holds_keyword(css)
}

/// [`css_is_dangerous`] without its fast path: the keywords looked for in `css` with its
/// escapes undone, its comments and the characters a URL reader skips left out.
fn plain_css_holds_keyword(css: &str) -> bool {
    let mut plain = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut hex = String::new();
                while hex.len() < 6 && chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    hex.extend(chars.next());
                }
                if hex.is_empty() {
                    if let Some(n) = chars.next()
                        && n != '\n'
                    {
                        plain.push(n.to_ascii_lowercase());
                    }
                } else {
                    if chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                        chars.next();
                    }
                    if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        plain.push(ch.to_ascii_lowercase());
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            c if crate::rules::url::is_ignorable_in_url(c) => {}
            c => plain.push(c.to_ascii_lowercase()),
        }
    }
    [
        "javascript:",
        "vbscript:",
        "expression(",
        "-moz-binding",
        "behavior:",
        "behaviour:",
    ]
    .iter()
    .any(|p| plain.contains(p))
}

/// The fragments one of which every keyword [`css_is_dangerous`] looks for contains, each as
/// (its bytes as a big-endian number, a mask of as many low bytes): compared with the last
/// characters read, newest in the lowest byte.
const KEYWORD_FRAGMENTS: [(u128, u128); 4] = [
    fragment(b"script"),
    fragment(b"expression"),
    fragment(b"binding"),
    fragment(b"behavio"),
];

const fn fragment(f: &[u8]) -> (u128, u128) {
    let mut value = 0u128;
    let mut i = 0;
    while i < f.len() {
        value = (value << 8) | f[i] as u128;
        i += 1;
    }
    (value, (1u128 << (8 * f.len())) - 1)
}

/// Whether `css` holds an escape (`\`), or, read as [`css_is_dangerous`]'s slow path reads text
/// without escapes (comments and the characters a URL reader skips left out, ASCII
/// lower-cased), one of [`KEYWORD_FRAGMENTS`]. One pass over the bytes; a non-ASCII character
/// is decoded (only to tell whether it is skipped) and never matches an ASCII fragment.
fn escape_or_keyword_fragment(css: &str) -> bool {
    let bytes = css.as_bytes();
    // The last characters kept (16 at most: every fragment is shorter), newest lowest.
    let mut last = 0u128;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let kept = if b.is_ascii() {
            i += 1;
            match b {
                b'\\' => return true,
                // A comment: to just after its `*/`, or to the end when it is not closed.
                b'/' if bytes.get(i) == Some(&b'*') => {
                    i = css[i + 1..]
                        .find("*/")
                        .map_or(bytes.len(), |at| i + 1 + at + 2);
                    continue;
                }
                // ASCII control characters and white space (`is_ignorable_in_url`).
                0..=0x20 | 0x7f => continue,
                _ => b.to_ascii_lowercase(),
            }
        } else {
            let Some(c) = css[i..].chars().next() else {
                break;
            };
            i += c.len_utf8();
            if crate::rules::url::is_ignorable_in_url(c) {
                continue;
            }
            // Not ASCII: no fragment holds it.
            0x80
        };
        last = (last << 8) | u128::from(kept);
        if KEYWORD_FRAGMENTS
            .iter()
            .any(|&(value, mask)| last & mask == value)
        {
            return true;
        }
    }
    false
}

/// Whether the sanitizer removes this attribute from this element.
pub(crate) fn attribute_is_unsafe(e: &ElementData, name: &QualName, value: &str) -> bool {
    let local: &str = &name.local;
    if local.len() > 2 && local.as_bytes()[..2].eq_ignore_ascii_case(b"on") {
        return true;
    }
    if local == "srcdoc" && e.name.ns == ns!(html) {
        return true;
    }
    if local == "http-equiv" && value.trim().eq_ignore_ascii_case("refresh") {
        return true;
    }
    if local == "style" {
        return css_is_dangerous(value);
    }
    // SVG animation elements can set any attribute, including href, from to/from/values/by.
    if name.ns == ns!() && matches!(local, "to" | "from" | "values" | "by") {
        let animates = e.name.ns == ns!(svg)
            && matches!(
                &*e.name.local,
                "animate" | "set" | "animateMotion" | "animateTransform"
            );
        return animates
            && value
                .split(';')
                .any(|v| is_dangerous_url(v, UrlUse::Navigate));
    }
    match url_use(e, name) {
        None => false,
        Some(_) if matches!(local, "srcset" | "imagesrcset") => srcset_is_dangerous(value),
        Some(usage) => is_dangerous_url(value, usage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "html")]
    #[test]
    fn style_sheet_text_with_script_urls_does_not_survive() {
        let t = crate::dom::parse::parse_document_str(
            "<style>a{background:url(javascript:alert(1))}</style><style>b{color:red}</style>\
             <svg><style>c{background:url(JAVA\\53 CRIPT:x)}</style></svg><p>url(javascript:x)</p>",
        );
        let survives: Vec<bool> = t
            .descendants(t.root())
            .filter(|&n| matches!(t.data(n), NodeData::Text(_)))
            .map(|n| character_data_survives(&t, n))
            .collect();
        assert_eq!(survives, vec![false, true, false, true]);
    }

    #[test]
    fn inline_css_with_script_urls_is_dangerous_however_escaped() {
        for v in [
            "background: url(javascript:alert(1))",
            "background:url('JAVA\\53 CRIPT:alert(1)')",
            "width: expression(alert(1))",
            "x: ex/**/pression(alert(1))",
            "-moz-binding: url(x.xml#xss)",
            "background:url(java\u{3000}script:alert(1))",
            // A character a URL reader skips, inside the keyword's fragment.
            "background:url(\"javas\tcript:alert(1)\")",
            "width: expr\u{00AD}ession(alert(1))",
            "-moz-bin\nding: url(x.xml#xss)",
        ] {
            assert!(css_is_dangerous(v), "{v:?}");
        }
        assert!(!css_is_dangerous("color: red; background: url(/img/a.png)"));
        // A comment inside a keyword's fragment.
        assert!(css_is_dangerous(
            "background:url(javascr/* x */ipt:alert(1))"
        ));
        assert!(css_is_dangerous("a{-moz-bind/**/ing:url(x.xml#xss)}"));
    }

    /// The fast path decides ordinary sheets, URL paths and comments included: the slow path
    /// (a copy of the text, escapes undone) runs only for an escape or a fragment.
    #[test]
    fn ordinary_css_with_urls_and_comments_takes_the_fast_path() {
        for css in [
            "color: red; background: url(/img/a.png)",
            "/* header */ a{color:red} /* b */ b{margin:0 /* not */ auto}",
            "a{background:url(//cdn.example/x.png)}/* never closed",
            "p{font-family:\"Noto Sans\"; content:\"\u{e9}\u{3000}x\"}",
        ] {
            assert!(!escape_or_keyword_fragment(css), "{css:?}");
        }
        for css in [
            "a{content:\"\\f101\"}",
            "x{SCRIPT:1}",
            "/**/expr/*a*/ession",
            "bind\u{AD}ing",
        ] {
            assert!(escape_or_keyword_fragment(css), "{css:?}");
        }
    }

    /// Whatever the slow path finds, the fast path sends there: every text made of the pieces
    /// below, up to four pieces long.
    #[test]
    fn the_fast_path_never_hides_what_the_slow_path_finds() {
        const PIECES: [&str; 16] = [
            "java",
            "script:",
            "scr",
            "ipt:",
            "/*",
            "*/",
            "/",
            "*",
            "\t",
            "\u{AD}",
            "ex",
            "pression(",
            "-moz-bin",
            "ding",
            "behavio",
            "r:",
        ];
        let n = PIECES.len();
        let mut found = 0;
        for code in 0..n.pow(4) {
            let mut css = String::from("x:url(");
            let mut k = code;
            for _ in 0..4 {
                css.push_str(PIECES[k % n]);
                k /= n;
            }
            if plain_css_holds_keyword(&css) {
                found += 1;
                assert!(escape_or_keyword_fragment(&css), "{css:?}");
            }
        }
        assert!(found > 100, "{found}");
    }

    #[test]
    fn comments_that_would_close_early_do_not_survive() {
        for bad in ["a-->b", "a--!>b", ">x", "->x", "x<!-"] {
            assert!(!comment_survives(bad), "{bad:?}");
        }
        for good in ["", " a ", "a--b", "x-", "<!-- x"] {
            assert!(comment_survives(good), "{good:?}");
        }
    }

    #[test]
    fn raw_text_end_tags_are_found_in_any_case() {
        assert!(contains_end_tag("a</STYLE b", "style"));
        assert!(contains_end_tag("</style", "style"));
        assert!(!contains_end_tag("</styl", "style"));
        assert!(!contains_end_tag("< /style>", "style"));
    }
}
