//! Privacy: masked, blocked and password values never reach a frame, in keyframes or deltas,
//! whatever the page does (edits, typed values, masked attributes), nor an error message.

use cobrowse_engine::*;
use cobrowse_tests::{repo_root, roundtrip};

fn page(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("corpus/cases/privacy").join(name)).unwrap()
}

fn rules() -> Rules {
    let cfg = RulesConfig::from_text(&page("rules.json")).unwrap();
    Rules::compile(&cfg, Sanitize::On).unwrap()
}

/// Every secret in the privacy pages, and a distinctive tail of each (a partial leak counts).
fn canaries() -> Vec<String> {
    let mut v = Vec::new();
    for f in ["login.html", "login-edited.html"] {
        let text = page(f);
        let mut rest = text.as_str();
        while let Some(i) = rest.find("CANARY-") {
            let tail: String = rest[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            rest = &rest[i + tail.len()..];
            let last = tail.rsplit('-').next().unwrap().to_owned();
            v.push(tail);
            if last.len() >= 4 {
                v.push(last);
            }
        }
    }
    v.push("CANARY".into());
    v.sort();
    v.dedup();
    assert!(v.len() >= 16, "privacy pages lost their canaries: {v:?}");
    v
}

fn assert_no_canary(label: &str, bytes: &[u8]) {
    for c in canaries() {
        assert!(
            !bytes.windows(c.len()).any(|w| w == c.as_bytes()),
            "{label}: canary {c:?} leaked"
        );
    }
}

#[test]
fn keyframe_and_delta_carry_no_secret() {
    let rules = rules();
    let rt = roundtrip(
        parse_document_str(&page("login.html")),
        parse_document_str(&page("login-edited.html")),
        &rules,
    )
    .unwrap();
    assert_no_canary("keyframe", &rt.keyframe);
    assert_no_canary("delta", &rt.delta);
    assert!(
        !rt.mutations.is_empty(),
        "the edited page differs, so the delta is not empty"
    );
    // The agent sees asterisks where the secrets were, and the blocked panel as a placeholder.
    let html = rt.mirror.to_html();
    assert_no_canary("mirror html", html.as_bytes());
    assert!(
        html.contains("**********"),
        "masked text shows as asterisks"
    );
    assert!(
        !html.contains("thirdparty.example"),
        "blocked iframe keeps no src"
    );
    assert!(
        html.contains(r#"<iframe width="300" height="200">"#),
        "blocked iframe keeps its size: {html}"
    );
}

#[test]
fn typed_values_in_password_and_masked_fields_are_masked() {
    let rules = rules();
    let mut old = parse_document_str(&page("login.html"));
    prepare(&mut old, &rules);
    assign_ids(&mut old, &rules);
    let mut new = old.clone();
    let ids: Vec<NodeId> = new.descendants(new.root()).collect();
    for id in ids {
        let Some(e) = new.element(id) else { continue };
        if matches!(
            e.attr("id"),
            Some("pw" | "pw-legacy" | "card" | "notes" | "user")
        ) {
            let typed = format!("CANARY-TYPED-{}", e.attr("id").unwrap());
            new.set_prop(id, Prop::Value(Some(typed)));
        }
    }
    let rt = roundtrip(old, new, &rules).unwrap();
    let delta = String::from_utf8_lossy(&rt.delta);
    for id in ["pw", "pw-legacy", "card", "notes"] {
        let typed = format!("CANARY-TYPED-{id}");
        assert!(
            !delta.contains(&typed),
            "typed secret of #{id} leaked into the delta"
        );
    }
    // The unmasked username field does carry its typed value: masking is targeted.
    assert!(
        rt.delta.windows(17).any(|w| w == b"CANARY-TYPED-user"),
        "unmasked value is sent"
    );
}

#[test]
fn whole_page_mask_hides_every_text() {
    let cfg = RulesConfig {
        mask: MaskConfig {
            all: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let rules = Rules::compile(&cfg, Sanitize::On).unwrap();
    let rt = roundtrip(
        parse_document_str("<p>hello</p>"),
        parse_document_str("<p>secret words</p>"),
        &rules,
    )
    .unwrap();
    assert!(!String::from_utf8_lossy(&rt.keyframe).contains("hello"));
    assert!(!String::from_utf8_lossy(&rt.delta).contains("secret"));
    assert!(
        rt.mirror.to_html().contains("<p>****** *****</p>"),
        "{}",
        rt.mirror.to_html()
    );
}

#[test]
fn a_class_that_starts_matching_masks_the_subtree_in_the_next_delta() {
    // `.ssn` is added to a paragraph that already holds a secret-looking text.
    let rules = rules();
    let rt = roundtrip(
        parse_document_str("<p id=x>CANARY-LATE-1111</p>"),
        parse_document_str("<p id=x class=ssn>CANARY-LATE-1111</p>"),
        &Rules::compile(
            &RulesConfig::from_text(r#"{"mask":{"selectors":[".nothing"]}}"#).unwrap(),
            Sanitize::On,
        )
        .unwrap(),
    )
    .unwrap();
    drop(rt);
    let mut capture = Capture::new(rules, parse_document_str("<p id=x>public</p>"));
    capture.keyframe();
    let frame = capture
        .replace_document(parse_document_str("<p id=x class=ssn>CANARY-LATE-1111</p>"))
        .expect("the class change is a delta");
    assert!(!String::from_utf8_lossy(&frame).contains("CANARY"));
}

/// The live-DOM path (tree edits, as the browser's capture makes them): a mask class added to
/// an ancestor masks the texts below it that did not change, in the next delta; removing it
/// shows them again; the same edit before the first keyframe is in the keyframe. (The texts
/// kept their unmasked projection and fingerprints before: the mirror went on showing them.)
#[test]
fn a_mask_class_added_by_an_edit_masks_unchanged_text_below_it() {
    let rules = || {
        Rules::compile(
            &RulesConfig::from_text(r#"{"mask":{"selectors":[".secret"]}}"#).unwrap(),
            Sanitize::On,
        )
        .unwrap()
    };
    let html = "<div id=d><p>hello <b>world</b></p></div><p>out</p>";
    let div = |t: &Tree| {
        t.descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "div"))
            .unwrap()
    };
    let class = || QualName::new(None, ns!(), LocalName::from("class"));
    let body = |inner: &str| format!("<html><head></head><body>{inner}<p>out</p></body></html>");

    let mut capture = Capture::new(rules(), parse_document_str(html));
    let mut mirror = Mirror::new(MirrorOptions::default());
    mirror.apply_frame(&capture.keyframe(), &mut ()).unwrap();
    let t = capture.tree_mut();
    let d = div(t);
    t.set_attr(d, class(), "secret");
    let delta = capture.delta().expect("the class and the masked texts");
    mirror.apply_frame(&delta, &mut ()).unwrap();
    assert_eq!(
        mirror.to_html(),
        body("<div id=\"d\" class=\"secret\"><p>***** <b>*****</b></p></div>")
    );
    assert_eq!(mirror.fingerprint(), capture.shadow().fingerprint());
    let t = capture.tree_mut();
    let d = div(t);
    t.remove_attr(d, &class());
    mirror
        .apply_frame(&capture.delta().expect("the texts again"), &mut ())
        .unwrap();
    assert_eq!(
        mirror.to_html(),
        body("<div id=\"d\"><p>hello <b>world</b></p></div>")
    );

    let mut capture = Capture::new(rules(), parse_document_str(html));
    let t = capture.tree_mut();
    let d = div(t);
    t.set_attr(d, class(), "secret");
    let keyframe = capture.keyframe();
    assert!(!String::from_utf8_lossy(&keyframe).contains("world"));
    let mut mirror = Mirror::new(MirrorOptions::default());
    mirror.apply_frame(&keyframe, &mut ()).unwrap();
    assert_eq!(
        mirror.to_html(),
        body("<div id=\"d\" class=\"secret\"><p>***** <b>*****</b></p></div>")
    );
}

#[test]
fn error_messages_never_quote_page_content() {
    // An unmasked frame holding a canary, corrupted in many ways: no error text quotes it.
    let mut capture = Capture::new(
        Rules::transparent(),
        parse_document_str("<p title='CANARY-ERR-77'>CANARY-ERR-77</p>"),
    );
    let frame = capture.keyframe();
    // A delta made for another page: applied to this one, its fingerprint cannot match.
    let mut other = Capture::new(Rules::transparent(), parse_document_str("<p>a</p>"));
    other.keyframe();
    let foreign_delta = other
        .replace_document(parse_document_str("<p>b</p><i>c</i>"))
        .expect("a delta");
    let mut messages = Vec::new();
    for cut in (0..frame.len()).step_by(3) {
        if let Err(e) = FrameView::access(&frame[..cut]) {
            messages.push(e.to_string());
        }
    }
    for i in 0..frame.len() {
        let mut f = frame.clone();
        f[i] ^= 0x5a;
        if let Err(e) = FrameView::access(&f) {
            messages.push(e.to_string());
        }
    }
    let mut m = Mirror::new(MirrorOptions::default());
    messages.push(m.apply_frame(&frame, &mut ()).unwrap_err().to_string()); // unsanitized
    let mut m = Mirror::new(MirrorOptions {
        require_sanitized: false,
        ..Default::default()
    });
    m.apply_frame(&frame, &mut ()).unwrap();
    messages.push(
        m.apply_frame(&foreign_delta, &mut ())
            .unwrap_err()
            .to_string(),
    ); // wrong fingerprint
    assert!(messages.len() > 10);
    for msg in &messages {
        assert!(!msg.contains("CANARY"), "error quotes page content: {msg}");
    }
}

#[test]
fn submit_buttons_and_configured_elements_are_disabled_for_the_agent() {
    let rules = rules();
    let frame = Capture::new(rules, parse_document_str(&page("login.html"))).keyframe();
    // Read the flags back from the frame, as the agent side does.
    let view = FrameView::access(&frame).unwrap();
    let mut disabled = Vec::new();
    let mut enabled = Vec::new();
    for r in view.records() {
        if let RecordDataRef::Element { name, attrs, .. } = &r.data {
            let label = format!(
                "{}{}",
                name.local,
                attrs
                    .iter()
                    .map(|(n, v)| format!("[{}={}]", n.local, v))
                    .collect::<String>()
            );
            if r.flags & View::DISABLED != 0 {
                disabled.push(label)
            } else {
                enabled.push(label)
            }
        }
    }
    let has = |v: &[String], needle: &str| v.iter().any(|l| l.contains(needle));
    assert!(
        has(&disabled, "button[type=submit]"),
        "submit button disabled: {disabled:?}"
    );
    assert!(
        has(&disabled, "a[class=danger][href=/account/close]"),
        "a.danger disabled by selector: {disabled:?}"
    );
    assert!(
        has(&enabled, "button[type=button][class=danger]"),
        "a plain button stays enabled"
    );
    assert!(
        has(&enabled, "a[href=/help]"),
        "ordinary links stay enabled"
    );
}

#[test]
fn a_button_without_type_is_a_submit_button_only_inside_a_form() {
    let rules = Rules::default();
    let mut t = parse_document_str(
        "<form><button id=a>Go</button></form><button id=b>Other</button><button id=c form=f>Far</button>",
    );
    prepare(&mut t, &rules);
    let flags = |id: &str| {
        let n = t
            .descendants(t.root())
            .find(|&n| t.element(n).and_then(|e| e.attr("id")) == Some(id))
            .unwrap();
        Projection::through(&rules).wire_flags(&t, n) & View::DISABLED != 0
    };
    assert!(flags("a"));
    assert!(!flags("b"));
    assert!(flags("c"));
}
