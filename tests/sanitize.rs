//! Sanitizing: script, handler and URL vectors never survive into a frame, and benign content
//! does.

use cobrowse_engine::*;
use cobrowse_tests::{repo_root, roundtrip};

fn page(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("corpus/cases/privacy").join(name)).unwrap()
}

/// Every string the mirror's tree holds that a browser would execute or navigate with.
fn dangerous_spots(tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    for id in tree.descendants(tree.root()) {
        let Some(e) = tree.element(id) else { continue };
        let tag = &*e.name.local;
        if matches!(tag, "script" | "base" | "object" | "embed" | "applet") && !e.attrs.is_empty() {
            out.push(format!("<{tag}> with attributes"));
        }
        if tag == "script" || tag == "base" {
            out.push(format!("<{tag}> present"));
        }
        if tag == "meta"
            && e.attr("http-equiv")
                .is_some_and(|v| v.to_ascii_lowercase().contains("refresh"))
        {
            out.push("meta refresh".into());
        }
        for a in &e.attrs {
            let name = a.name.local.to_string().to_ascii_lowercase();
            let v: String = a
                .value
                .chars()
                .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
                .collect::<String>()
                .to_ascii_lowercase();
            if name.starts_with("on") {
                out.push(format!("handler {name}"));
            }
            if name == "srcdoc" {
                out.push("srcdoc".into());
            }
            if v.contains("javascript:") || v.contains("vbscript:") || v.contains("data:text/html")
            {
                out.push(format!("{tag} {name}={:?}", a.value));
            }
        }
    }
    out
}

#[test]
fn no_vector_from_the_sanitize_page_survives() {
    let rules = Rules::default();
    for (from, to) in [
        ("<p>start</p>", "sanitize.html"),
        ("sanitize.html", "sanitize-extra.html"),
    ] {
        let from_html = if from.ends_with(".html") {
            page(from)
        } else {
            from.to_owned()
        };
        let rt = roundtrip(
            parse_document_str(&from_html),
            parse_document_str(&page(to)),
            &rules,
        )
        .unwrap();
        let bad = dangerous_spots(rt.mirror.tree());
        assert!(bad.is_empty(), "{to}: survived sanitizing: {bad:#?}");
        // Nothing numbered XSS01..XSS63 remains in an attribute of the frames.
        let html = rt.mirror.to_html();
        assert!(!html.contains("<script"), "{to}: script element in {html}");
    }
    // The keyframe of the vector page itself.
    let rt = roundtrip(
        parse_document_str(&page("sanitize.html")),
        parse_document_str("<p>x</p>"),
        &rules,
    )
    .unwrap();
    let mut mirror = Mirror::new(MirrorOptions::default());
    mirror.apply_frame(&rt.keyframe, &mut ()).unwrap();
    let bad = dangerous_spots(mirror.tree());
    assert!(bad.is_empty(), "keyframe: {bad:#?}");
    let text = mirror.to_html();
    for n in 1..=63 {
        let marker = format!("XSS{n:02}");
        assert!(
            !text.contains(&marker),
            "vector {marker} survived: {}",
            context(&text, &marker)
        );
    }
}

fn context(text: &str, marker: &str) -> String {
    let i = text.find(marker).unwrap_or(0);
    text[i.saturating_sub(120)..(i + 40).min(text.len())].to_owned()
}

#[test]
fn benign_content_survives_sanitizing() {
    let rules = Rules::default();
    let html = page("sanitize.html");
    let rt = roundtrip(
        parse_document_str("<p>x</p>"),
        parse_document_str(&html),
        &rules,
    )
    .unwrap();
    let out = rt.mirror.to_html();
    assert!(
        out.contains("https://example.com/?q=javascript"),
        "benign link kept"
    );
    assert!(out.contains("data:image/png;base64,"), "inline image kept");
}

#[test]
fn without_sanitizing_the_page_is_kept_as_is_and_the_frame_says_so() {
    let rules = Rules::transparent();
    let html = page("sanitize.html");
    let rt = roundtrip(
        parse_document_str("<p>x</p>"),
        parse_document_str(&html),
        &rules,
    )
    .unwrap();
    assert!(cobrowse_tests::frame_is_unsanitized(&rt.delta));
    assert!(rt.mirror.tree().same_tree(&parse_document_str(&html)));
    // A session mirror refuses it.
    let mut strict = Mirror::new(MirrorOptions::default());
    assert!(matches!(
        strict.apply_frame(&rt.keyframe, &mut ()),
        Err(ReplayError::Unsanitized)
    ));
}

#[test]
fn handlers_and_urls_are_removed_by_attribute_not_by_element() {
    let rules = Rules::default();
    let rt = roundtrip(
        parse_document_str("<a href=/x>x</a>"),
        parse_document_str("<a href=' jAvAsCrIpT:alert(1)' class=k onclick=alert(1)>x</a><img src=a.png onerror=alert(1) alt=ok>"),
        &rules,
    )
    .unwrap();
    let html = rt.mirror.to_html();
    assert!(html.contains(r#"<a class="k">x</a>"#), "{html}");
    assert!(html.contains(r#"<img src="a.png" alt="ok">"#), "{html}");
}

/// The mirror a default-rules keyframe of `html` builds, through the capture object.
fn sanitized_mirror(html: &str) -> Mirror {
    let mut capture = Capture::new(Rules::default(), parse_document_str(html));
    let mut mirror = Mirror::new(MirrorOptions::default());
    mirror
        .apply_frame(&capture.keyframe(), &mut ())
        .expect("a sanitized keyframe applies");
    mirror
}

#[test]
fn every_corpus_page_parses_back_into_its_sanitized_mirror() {
    let pages = cobrowse_tests::corpus_pages_required();
    let mut failures = Vec::new();
    for p in &pages {
        let html = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        let mirror = sanitized_mirror(&html);
        if let Some(d) = reparse_difference(mirror.tree()) {
            failures.push(format!("{}: {d}", p.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} pages: {failures:#?}",
        failures.len(),
        pages.len()
    );
}
