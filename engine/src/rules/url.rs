//! URL checks for attribute values: which attributes hold URLs, and whether a value may stay.
//!
//! The check is an allow-list of schemes, read the way the most forgiving browser (or an old
//! one) could read it, never the way the URL standard alone does:
//!
//! - every character a browser, or some other URL reader, might skip is removed before the
//!   scheme is read: C0 and C1 controls, DEL, tab and newline anywhere, ASCII space and every
//!   Unicode space or separator (U+00A0, U+1680, U+180E, U+2000 to U+2029, U+205F, U+3000,
//!   and anything else `char::is_whitespace` says), and invisible format characters (U+00AD,
//!   U+200B to U+200F, U+2060 to U+2064, U+FEFF). Entities were already decoded by the parser;
//! - a value with no scheme (relative, fragment, query) is kept;
//! - a value with a scheme keeps only `http`, `https`, `ftp`, `ftps`, `mailto`, `tel`,
//!   `callto`, `sms`, `cid`, `xmpp` and `matrix`, plus `data:` for media where an image,
//!   a font, audio or video is loaded (never in a navigable attribute, see below);
//! - navigable attributes (`href` and `xlink:href` of anything but an SVG `image`, `action`,
//!   `formaction`) take no `data:` URL at all, `data:image/svg+xml` included: a document
//!   navigated to can script.
//!
//! Invariant: stripping only ever joins characters, so a value the browser reads as having a
//! dangerous scheme is read with that scheme here too; the converse errs on the side of
//! removing the attribute.

use markup5ever::{QualName, ns};

use crate::dom::tree::ElementData;

/// Schemes a URL attribute may use (ASCII, lower case).
const ALLOWED_SCHEMES: &[&str] = &[
    "http", "https", "ftp", "ftps", "mailto", "tel", "callto", "sms", "cid", "xmpp", "matrix",
];

/// Media types a `data:` URL may carry where media is loaded (never where it is navigated).
const DATA_MEDIA_PREFIXES: &[&str] = &["image/", "font/", "audio/", "video/"];

/// Where a URL attribute's value is used, which decides what `data:` URLs it may hold.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum UrlUse {
    /// Followed by a click or a form submission: no `data:` at all.
    Navigate,
    /// Loaded as an image (`img`, `source`, `input type=image`, SVG `image`): `data:` media,
    /// SVG included (an SVG loaded as an image cannot script).
    Image,
    /// Anything else a browser may fetch (`iframe src`, `video poster`, `link href`, ...):
    /// `data:` media, but no SVG.
    Load,
}

/// Whether a character may be skipped by some URL reader: it is removed before the scheme is
/// read.
pub(crate) fn is_ignorable_in_url(c: char) -> bool {
    c.is_control()
        || c.is_whitespace()
        || matches!(
            c,
            '\u{00A0}'
                | '\u{00AD}'
                | '\u{1680}'
                | '\u{180E}'
                | '\u{2000}'..='\u{2029}'
                | '\u{205F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{3000}'
                | '\u{FEFF}'
        )
}

/// The scheme of `value` (lower case) after removing ignorable characters, or `None` for a
/// value without one (relative URLs, fragments, queries).
pub(crate) fn scheme_of(value: &str) -> Option<String> {
    let mut scheme = String::with_capacity(16);
    for c in value.chars().filter(|&c| !is_ignorable_in_url(c)) {
        if c == ':' {
            return (!scheme.is_empty()).then_some(scheme);
        }
        let ok = if scheme.is_empty() {
            c.is_ascii_alphabetic()
        } else {
            c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
        };
        if !ok {
            // The first character that cannot be part of a scheme: no scheme, a relative URL.
            return None;
        }
        scheme.push(c.to_ascii_lowercase());
    }
    None
}

/// Whether a URL attribute value may not stay, given where it is used.
pub(crate) fn is_dangerous_url(value: &str, usage: UrlUse) -> bool {
    let Some(scheme) = scheme_of(value) else {
        return false;
    };
    if ALLOWED_SCHEMES.contains(&scheme.as_str()) {
        return false;
    }
    if scheme != "data" || usage == UrlUse::Navigate {
        return true;
    }
    let media: String = value
        .split_once(':')
        .map_or("", |(_, rest)| rest)
        .chars()
        .filter(|&c| !is_ignorable_in_url(c))
        .take(32)
        .collect::<String>()
        .to_ascii_lowercase();
    let is_media = DATA_MEDIA_PREFIXES.iter().any(|p| media.starts_with(p));
    let is_svg = media.starts_with("image/svg");
    !is_media || (is_svg && usage != UrlUse::Image)
}

/// Whether any candidate URL of a `srcset` value is dangerous (candidates are images).
pub(crate) fn srcset_is_dangerous(value: &str) -> bool {
    value.split(',').any(|cand| {
        let url = cand
            .trim_start()
            .split_ascii_whitespace()
            .next()
            .unwrap_or("");
        is_dangerous_url(url, UrlUse::Image)
    })
}

/// How the attribute `name` of `e` is used when it holds a URL, or `None` when it does not
/// hold one. SVG animation values (`to`, `from`, `values`, `by`) are handled by the caller.
pub(crate) fn url_use(e: &ElementData, name: &QualName) -> Option<UrlUse> {
    let local: &str = &name.local;
    if name.ns == ns!(xlink) {
        return (local == "href").then(|| href_use(e));
    }
    if name.ns != ns!() {
        return None;
    }
    match local {
        "href" | "xlink:href" => Some(href_use(e)),
        "action" | "formaction" => Some(UrlUse::Navigate),
        "src" | "srcset" | "imagesrcset" | "lowsrc" | "dynsrc" if is_image_element(e) => {
            Some(UrlUse::Image)
        }
        "src" | "srcset" | "poster" | "background" | "cite" | "data" | "codebase" | "longdesc"
        | "lowsrc" | "dynsrc" | "ping" | "manifest" | "icon" | "profile" | "usemap" | "archive"
        | "classid" | "imagesrcset" => Some(UrlUse::Load),
        _ => None,
    }
}

fn href_use(e: &ElementData) -> UrlUse {
    if e.name.ns == ns!(svg) && &*e.name.local == "image" {
        UrlUse::Image
    } else if e.name.ns == ns!(html) && &*e.name.local == "link" {
        // A stylesheet, icon or preload: fetched, not navigated to.
        UrlUse::Load
    } else {
        UrlUse::Navigate
    }
}

fn is_image_element(e: &ElementData) -> bool {
    e.name.ns == ns!(html) && matches!(&*e.name.local, "img" | "source" | "picture" | "input")
        || e.name.ns == ns!(svg) && &*e.name.local == "image"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_read_after_removing_what_browsers_skip() {
        assert_eq!(
            scheme_of("  JaVaScRiPt:alert(1)").as_deref(),
            Some("javascript")
        );
        assert_eq!(scheme_of("java\tscr\nipt:x").as_deref(), Some("javascript"));
        assert_eq!(
            scheme_of("java\u{2028}script:x").as_deref(),
            Some("javascript")
        );
        assert_eq!(scheme_of("/a:b"), None);
        assert_eq!(scheme_of("a/b:c"), None);
        assert_eq!(scheme_of("#x:y"), None);
        assert_eq!(scheme_of(":x"), None);
        assert_eq!(scheme_of("1abc:x"), None);
        assert_eq!(scheme_of("noscheme"), None);
    }

    #[test]
    fn only_listed_schemes_and_media_data_urls_stay() {
        for v in [
            "https://a.example/",
            "mailto:a@b.c",
            "tel:+1",
            "/x",
            "?q=javascript:",
            "#t",
        ] {
            assert!(!is_dangerous_url(v, UrlUse::Navigate), "{v:?}");
        }
        for v in [
            "javascript:1",
            "vbscript:1",
            "blob:https://a/x",
            "file:///etc",
            "about:x",
        ] {
            assert!(is_dangerous_url(v, UrlUse::Load), "{v:?}");
        }
        assert!(!is_dangerous_url("data:image/png;base64,AA", UrlUse::Image));
        assert!(!is_dangerous_url("data:image/png;base64,AA", UrlUse::Load));
        assert!(is_dangerous_url(
            "data:image/png;base64,AA",
            UrlUse::Navigate
        ));
        assert!(!is_dangerous_url(
            "data:image/svg+xml,<svg/>",
            UrlUse::Image
        ));
        assert!(is_dangerous_url("data:image/svg+xml,<svg/>", UrlUse::Load));
        assert!(is_dangerous_url("data:text/html,<b>", UrlUse::Image));
        assert!(is_dangerous_url("data: text/html,<b>", UrlUse::Load));
    }
}
