//! What a blocked element's placeholder carries: the element's own `width` and `height`
//! attributes and, when the customer's browser measured its rendered box, an engine-written
//! `style` attribute that gives the placeholder the same box in the agent's mirror (the class
//! and style rules that sized it on the customer's page do not reach the agent).
//!
//! The style is made of numbers and fixed keywords only, never of page text, in one canonical
//! form:
//!
//! ```text
//! display:none
//! display:<kind>;box-sizing:border-box;width:<len>;height:<len>;margin:<len> <len> <len> <len>
//! display:inline-block;vertical-align:text-bottom;box-sizing:border-box;width:<len>;...
//! ```
//!
//! where `<kind>` is one of [`DISPLAY_KEYWORDS`] and `<len>` is a number of CSS pixels with at
//! most two decimals, written shortest (`642px`, `0.5px`, `-3.25px`, `0px`). Receivers check
//! it with [`is_placeholder_style`] (the frame format refuses a blocked record carrying any
//! other attribute or another style, and the mirror refuses a delta that leaves a blocked
//! element so).
//!
//! Decisions made here: an `inline` box (or a `display: contents` element, measured as the
//! union of its children's boxes) becomes an `inline-block` of the same size aligned
//! `text-bottom` (an inline box spans its line's text from the font's ascent to its descent,
//! where an empty inline-block would stand on the baseline and push the line down), and a
//! plain inline box of a non-replaced element loses its vertical margins (they never applied
//! to it); other kinds keep their display, so a blocked table cell stays a cell.
//!
//! Invariant: for every box, `is_placeholder_style(&placeholder_style(..))` (debug-asserted).

use markup5ever::{local_name, ns};

use crate::dom::rendered::{MAX_LENGTH, RenderedBox, RenderedDisplay};
use crate::dom::tree::ElementData;

/// The `display` keywords a placeholder style may hold.
pub(crate) const DISPLAY_KEYWORDS: &[&str] = &[
    "none",
    "block",
    "inline-block",
    "list-item",
    "table-row-group",
    "table-header-group",
    "table-footer-group",
    "table-row",
    "table-cell",
    "table-column-group",
    "table-column",
    "table-caption",
];

/// Whether a blocked element's placeholder may carry this attribute (`no_namespace`: the
/// attribute has none): `width`, `height` and a placeholder `style` in canonical form.
pub(crate) fn is_placeholder_attribute(no_namespace: bool, local: &str, value: &str) -> bool {
    no_namespace
        && match local {
            "width" | "height" => true,
            "style" => is_placeholder_style(value),
            _ => false,
        }
}

/// Whether a measured box shapes the placeholder of this element: HTML elements and the root
/// of an SVG or MathML island (CSS sizes their boxes; their inner elements have none).
pub(crate) fn takes_a_box(e: &ElementData) -> bool {
    e.name.ns == ns!(html)
        || (e.name.ns == ns!(svg) && e.name.local == local_name!("svg"))
        || (e.name.ns == ns!(mathml) && e.name.local == local_name!("math"))
}

/// HTML elements whose vertical margins apply even when they are `display: inline`.
fn is_replaced(e: &ElementData) -> bool {
    e.name.ns != ns!(html)
        || matches!(
            &*e.name.local,
            "iframe"
                | "img"
                | "video"
                | "audio"
                | "canvas"
                | "embed"
                | "object"
                | "applet"
                | "input"
                | "select"
                | "textarea"
                | "button"
                | "meter"
                | "progress"
        )
}

/// The placeholder style of element `e` (as the page has it) measured as `b`.
pub(crate) fn placeholder_style(e: &ElementData, b: &RenderedBox) -> String {
    use RenderedDisplay as D;
    let mut margin = b.margin;
    let mut text_bottom = false;
    let keyword = match b.display {
        D::None => return "display:none".to_owned(),
        D::Contents => {
            margin = [0; 4];
            text_bottom = true;
            "inline-block"
        }
        D::Inline => {
            if !is_replaced(e) {
                margin[0] = 0;
                margin[2] = 0;
                text_bottom = true;
            }
            "inline-block"
        }
        D::InlineBlock => "inline-block",
        D::Block => "block",
        D::ListItem => "list-item",
        D::TableRowGroup => "table-row-group",
        D::TableHeaderGroup => "table-header-group",
        D::TableFooterGroup => "table-footer-group",
        D::TableRow => "table-row",
        D::TableCell => "table-cell",
        D::TableColumnGroup => "table-column-group",
        D::TableColumn => "table-column",
        D::TableCaption => "table-caption",
    };
    let mut s = String::with_capacity(96);
    s.push_str("display:");
    s.push_str(keyword);
    if text_bottom {
        s.push_str(TEXT_BOTTOM);
    }
    s.push_str(";box-sizing:border-box;width:");
    push_len(&mut s, i64::from(b.width));
    s.push_str(";height:");
    push_len(&mut s, i64::from(b.height));
    s.push_str(";margin:");
    for (i, m) in margin.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        push_len(&mut s, i64::from(*m));
    }
    debug_assert!(is_placeholder_style(&s), "not canonical: {s}");
    s
}

/// How an inline box's placeholder sits in its line (see the module docs).
const TEXT_BOTTOM: &str = ";vertical-align:text-bottom";

/// Writes `hundredths` of a pixel shortest: `642px`, `0.5px`, `-3.25px`.
fn push_len(s: &mut String, hundredths: i64) {
    use std::fmt::Write;
    if hundredths < 0 {
        s.push('-');
    }
    let v = hundredths.unsigned_abs();
    let (int, frac) = (v / 100, v % 100);
    let _ = write!(s, "{int}");
    if frac != 0 {
        if frac % 10 == 0 {
            let _ = write!(s, ".{}", frac / 10);
        } else {
            let _ = write!(s, ".{frac:02}");
        }
    }
    s.push_str("px");
}

/// Reads one length written by [`push_len`] (any two-decimal form; canonical form is checked by
/// re-writing). `None` when it is not one, or out of range.
fn parse_len(t: &str, signed: bool) -> Option<i64> {
    let t = t.strip_suffix("px")?;
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        Some(_) => return None,
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() || int.len() > 7 || frac.len() > 2 {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = int.parse().ok()?;
    v *= 100;
    if !frac.is_empty() {
        let f: i64 = frac.parse().ok()?;
        v += if frac.len() == 1 { f * 10 } else { f };
    }
    if v > i64::from(MAX_LENGTH) {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// Whether `style` is a placeholder style in canonical form (see the module docs): the only
/// `style` a blocked element may carry on the wire.
pub(crate) fn is_placeholder_style(style: &str) -> bool {
    if style == "display:none" {
        return true;
    }
    let text_bottom = style.starts_with("display:inline-block;vertical-align:text-bottom;");
    let rest = if text_bottom {
        style.replacen(TEXT_BOTTOM, "", 1)
    } else {
        style.to_owned()
    };
    let mut parts = rest.split(';');
    let (Some(display), Some(sizing), Some(width), Some(height), Some(margin), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Some(keyword) = display.strip_prefix("display:") else {
        return false;
    };
    if keyword == "none" || !DISPLAY_KEYWORDS.contains(&keyword) {
        return false;
    }
    if sizing != "box-sizing:border-box" {
        return false;
    }
    let (Some(w), Some(h)) = (
        width
            .strip_prefix("width:")
            .and_then(|t| parse_len(t, false)),
        height
            .strip_prefix("height:")
            .and_then(|t| parse_len(t, false)),
    ) else {
        return false;
    };
    let Some(margins) = margin.strip_prefix("margin:") else {
        return false;
    };
    let margins: Vec<Option<i64>> = margins.split(' ').map(|m| parse_len(m, true)).collect();
    if margins.len() != 4 || margins.iter().any(Option::is_none) {
        return false;
    }
    // Canonical form: exactly what the engine writes for these numbers.
    let mut again = String::with_capacity(style.len());
    again.push_str("display:");
    again.push_str(keyword);
    if text_bottom {
        again.push_str(TEXT_BOTTOM);
    }
    again.push_str(";box-sizing:border-box;width:");
    push_len(&mut again, w);
    again.push_str(";height:");
    push_len(&mut again, h);
    again.push_str(";margin:");
    for (i, m) in margins.iter().enumerate() {
        if i > 0 {
            again.push(' ');
        }
        push_len(&mut again, m.unwrap_or(0));
    }
    again == style
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dom::tree::html_name;

    fn el(local: &str) -> ElementData {
        ElementData {
            name: html_name(local),
            attrs: Default::default(),
            props: None,
        }
    }

    #[test]
    fn styles_are_numbers_and_keywords_in_canonical_form() {
        use RenderedDisplay as D;
        let iframe = el("iframe");
        let span = el("span");
        let b = |d, w, h, m| RenderedBox::new(d, w, h, m);
        for (e, bx, want) in [
            (
                &iframe,
                b(D::Inline, 64200, 12200, [1600, 0, 0, 0]),
                "display:inline-block;box-sizing:border-box;width:642px;height:122px;margin:16px 0px 0px 0px",
            ),
            (
                &span,
                b(D::Inline, 5050, 1825, [1600, -250, 300, 1]),
                "display:inline-block;vertical-align:text-bottom;box-sizing:border-box;width:50.5px;height:18.25px;margin:0px -2.5px 0px 0.01px",
            ),
            (
                &span,
                b(D::Contents, 100, 200, [5, 5, 5, 5]),
                "display:inline-block;vertical-align:text-bottom;box-sizing:border-box;width:1px;height:2px;margin:0px 0px 0px 0px",
            ),
            (
                &span,
                b(D::TableCell, 0, 0, [0; 4]),
                "display:table-cell;box-sizing:border-box;width:0px;height:0px;margin:0px 0px 0px 0px",
            ),
            (&span, b(D::None, 100, 100, [1; 4]), "display:none"),
        ] {
            let s = placeholder_style(e, &bx);
            assert_eq!(s, want);
            assert!(is_placeholder_style(&s), "{s}");
        }
    }

    #[test]
    fn anything_else_is_not_a_placeholder_style() {
        for s in [
            "",
            "display:none;",
            "display:flex;box-sizing:border-box;width:1px;height:1px;margin:0px 0px 0px 0px",
            "display:block;box-sizing:border-box;width:1px;height:1px;margin:0px 0px 0px",
            "display:block;box-sizing:border-box;width:1.50px;height:1px;margin:0px 0px 0px 0px",
            "display:block;box-sizing:border-box;width:01px;height:1px;margin:0px 0px 0px 0px",
            "display:block;box-sizing:border-box;width:-1px;height:1px;margin:0px 0px 0px 0px",
            "display:block;box-sizing:border-box;width:1px;height:1px;margin:0px 0px 0px 0px;",
            "display:block;box-sizing:border-box;width:1px;height:1px;margin:0px 0px 0px -0px",
            "display:block;box-sizing:border-box;width:1px;height:1px;margin:0px 0px 0px 0px;background:url(x)",
            "display:block;box-sizing:content-box;width:1px;height:1px;margin:0px 0px 0px 0px",
            "display:block;box-sizing:border-box;width:100001px;height:1px;margin:0px 0px 0px 0px",
            "display:block;box-sizing:border-box;width:1e3px;height:1px;margin:0px 0px 0px 0px",
            "display: block;box-sizing:border-box;width:1px;height:1px;margin:0px 0px 0px 0px",
            "display:block;vertical-align:text-bottom;box-sizing:border-box;width:1px;height:1px;margin:0px 0px 0px 0px",
            "display:inline-block;vertical-align:text-bottom;vertical-align:text-bottom;box-sizing:border-box;width:1px;height:1px;margin:0px 0px 0px 0px",
            "display:inline-block;box-sizing:border-box;vertical-align:text-bottom;width:1px;height:1px;margin:0px 0px 0px 0px",
        ] {
            assert!(!is_placeholder_style(s), "{s:?}");
        }
    }
}
