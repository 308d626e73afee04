//! The wasm crate in a real browser (wasm-bindgen-test in headless Chromium:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p cobrowse-wasm --target wasm32-unknown-unknown`).
//! Batches are encoded here as the web package's capture encodes them.
#![cfg(target_arch = "wasm32")]

use cobrowse_engine::capture_batch::*;
use cobrowse_wasm::{CaptureEngine, ReplayEngine, dom_ops};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

mod support;
use support::Enc;

wasm_bindgen_test_configure!(run_in_browser);

/// doc > html > body > (input type=password, p > "hi")
fn page() -> Enc {
    let mut e = Enc::default();
    e.u(OP_BIND_DOCUMENT).u(1);
    e.el(2, "html", &[]).el(3, "body", &[]);
    e.el(4, "input", &[("type", "password"), ("value", "hunter2")]);
    e.el(5, "p", &[("id", "a")]).u(OP_TEXT).u(6).s("hi");
    e.kids(1, &[2]).kids(2, &[3]).kids(3, &[4, 5]).kids(5, &[6]);
    e.u(OP_VIEWPORT).u(1).u(800).u(600);
    e
}

fn rules(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

#[wasm_bindgen_test]
fn keyframe_and_delta_replay_to_the_same_fingerprint_with_masking() {
    let mut cap = CaptureEngine::new(JsValue::UNDEFINED).unwrap();
    let p = page();
    let kf = cap.keyframe(&p.ops, &p.text).unwrap();
    let mut rep = ReplayEngine::new();
    assert!(rep.apply(&kf), "{}", rep.error());
    assert_eq!(rep.fingerprint(), cap.fingerprint());
    assert_eq!(
        rep.debug_dump(),
        "#document\n  <html>\n    <body>\n      <input type=\"password\" value=\"*******\">\n      <p id=\"a\">\n        \"hi\"\n"
    );
    // The password's live value is masked too, keystroke by keystroke.
    let mut e = Enc::default();
    e.u(OP_VALUE)
        .u(4)
        .s("secret9")
        .u(OP_SET_TEXT)
        .u(6)
        .s("hello");
    let delta = cap.batch(&e.ops, &e.text).unwrap();
    assert!(!delta.is_empty());
    assert!(!delta.windows(7).any(|w| w == b"secret9"));
    assert!(rep.apply(&delta), "{}", rep.error());
    assert_eq!(rep.fingerprint(), cap.fingerprint());
    assert!(
        rep.debug_dump()
            .contains("<input type=\"password\" value=\"*******\" :value=\"*******\">")
    );
    // The DOM ops of that delta: set the value, set the text.
    let ops = rep.ops();
    assert_eq!(ops[0], dom_ops::VALUE);
    assert_eq!(rep.text(), "*******hello");
}

#[wasm_bindgen_test]
fn removed_nodes_are_freed_and_reported() {
    let mut cap = CaptureEngine::new(JsValue::NULL).unwrap();
    let p = page();
    cap.keyframe(&p.ops, &p.text).unwrap();
    assert_eq!(cap.handle_count(), 6);
    let mut e = Enc::default();
    e.kids(3, &[4]);
    cap.batch(&e.ops, &e.text).unwrap();
    let mut freed = cap.take_freed();
    freed.sort_unstable();
    assert_eq!(freed, vec![5, 6]);
    assert_eq!(cap.handle_count(), 4);
}

#[wasm_bindgen_test]
fn a_gap_asks_for_a_keyframe_and_the_next_keyframe_recovers() {
    let mut cap = CaptureEngine::new(rules(r#"{"mask":{"selectors":["p"]}}"#)).unwrap();
    let p = page();
    let kf = cap.keyframe(&p.ops, &p.text).unwrap();
    let mut rep = ReplayEngine::new();
    assert!(rep.apply(&kf));
    assert!(rep.debug_dump().contains("\"**\""), "{}", rep.debug_dump());
    let mut e = Enc::default();
    e.u(OP_SET_TEXT).u(6).s("abc");
    let _lost = cap.batch(&e.ops, &e.text).unwrap();
    let mut e = Enc::default();
    e.u(OP_SET_TEXT).u(6).s("abcd");
    let next = cap.batch(&e.ops, &e.text).unwrap();
    assert!(!rep.apply(&next));
    assert!(rep.error().starts_with("sequence-gap"), "{}", rep.error());
    assert!(rep.ops().is_empty(), "no DOM ops for a refused frame");
    assert!(!rep.apply(&next), "still waiting for a keyframe");
    let p = page();
    let kf = cap.keyframe(&p.ops, &p.text).unwrap();
    assert!(rep.apply(&kf), "{}", rep.error());
    assert_eq!(rep.fingerprint(), cap.fingerprint());
    assert_eq!(rep.ops()[0], dom_ops::RESET);
}

#[wasm_bindgen_test]
fn bad_rules_and_bad_batches_are_errors() {
    assert!(CaptureEngine::new(rules(r#"{"mask":{"selectors":["[[["]}}"#)).is_err());
    assert!(CaptureEngine::new(rules(r#"{"nope":1}"#)).is_err());
    assert!(CaptureEngine::new(rules(r#"{"mask":{"selector":[".typo"]}}"#)).is_err());
    assert!(
        CaptureEngine::new(rules(
            r#"{"mask":{"selectors":[".ok"]},"disable":{"submit_buttons":false}}"#
        ))
        .is_ok()
    );
    let mut cap = CaptureEngine::new(JsValue::UNDEFINED).unwrap();
    assert!(cap.batch(&[], "").is_err(), "no keyframe yet");
    let p = page();
    cap.keyframe(&p.ops, &p.text).unwrap();
    assert!(cap.batch(&[OP_SET_TEXT, 99, 0], "").is_err());
}

/// The mirror dump of `page`'s keyframe when its one blocked element (handle 4) reports
/// `display` and `size` (width, height, margins top, right, bottom, left in hundredths of a
/// CSS px; `None`: not measurable). The keyframe waits for that report.
fn keyframe_with_box(
    cap: &mut CaptureEngine,
    page: &Enc,
    display: &str,
    size: Option<[u32; 6]>,
) -> String {
    assert!(cap.keyframe(&page.ops, &page.text).unwrap().is_empty());
    assert_eq!(cap.take_unmeasured(), vec![4]);
    let mut b = Enc::default();
    b.u(OP_RENDERED_BOX)
        .u(4)
        .s(display)
        .u(u32::from(size.is_some()));
    for v in size.unwrap_or_default() {
        b.u(v);
    }
    let kf = cap.batch(&b.ops, &b.text).unwrap();
    let mut rep = ReplayEngine::new();
    assert!(rep.apply(&kf), "{}", rep.error());
    rep.debug_dump()
}

/// The error text of a refused rules object.
fn rules_error(json: &str) -> String {
    match CaptureEngine::new(rules(json)) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => JsValue::from(e)
            .dyn_into::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default(),
    }
}

#[wasm_bindgen_test]
fn every_field_of_the_rules_object_is_read_and_a_wrong_one_is_named() {
    // Attribute masks of both shapes, `null` fields left at their defaults.
    let mut cap = CaptureEngine::new(rules(
        r#"{"mask":{"all":false,"selectors":null,"attributes":["id",{"selector":"input","attributes":["type"]}]},
            "block":{"selectors":[]},"disable":{"selectors":["p"],"submit_buttons":true}}"#,
    ))
    .unwrap();
    let p = page();
    let kf = cap.keyframe(&p.ops, &p.text).unwrap();
    let mut rep = ReplayEngine::new();
    assert!(rep.apply(&kf), "{}", rep.error());
    assert_eq!(
        rep.debug_dump(),
        "#document\n  <html>\n    <body>\n      <input type=\"********\" value=\"*******\">\n      <p id=\"*\">\n        \"hi\"\n"
    );
    let mut cap = CaptureEngine::new(rules(
        r#"{"mask":{"all":true},"block":{"selectors":["input"]}}"#,
    ))
    .unwrap();
    // A blocked element is measured before the first frame that shows it: the keyframe waits
    // for the batch that reports its box (here: not measurable, so the placeholder keeps only
    // its own width and height).
    assert_eq!(
        keyframe_with_box(&mut cap, &p, "", None),
        "#document\n  <html>\n    <body>\n      <input>\n      <p id=\"a\">\n        \"**\"\n"
    );
    // Measured (an inline-block 120.5 x 20 CSS px, 2 px top margin): the placeholder's style
    // gives the mirror the same box.
    assert_eq!(
        keyframe_with_box(
            &mut cap,
            &p,
            "inline-block",
            Some([12050, 2000, 200, 0, 0, 0])
        ),
        "#document\n  <html>\n    <body>\n      <input style=\"display:inline-block;box-sizing:border-box;width:120.5px;height:20px;margin:2px 0px 0px 0px\">\n      <p id=\"a\">\n        \"**\"\n"
    );
    for (json, error) in [
        (r#"{"nope":1}"#, "unknown rules section `nope`"),
        (
            r#"{"mask":{"selector":[".typo"]}}"#,
            "unknown field `mask.selector`",
        ),
        (r#"{"block":{"all":true}}"#, "unknown field `block.all`"),
        (
            r#"{"disable":{"submit":false}}"#,
            "unknown field `disable.submit`",
        ),
        (
            r#"{"mask":{"all":"yes"}}"#,
            "rules: `mask.all` must be a boolean",
        ),
        (
            r#"{"mask":{"selectors":"p"}}"#,
            "rules: `mask.selectors` must be an array of strings",
        ),
        (
            r#"{"block":{"selectors":[1]}}"#,
            "rules: `block.selectors` must be an array of strings",
        ),
        (r#"{"mask":[]}"#, "rules: `mask` must be an object"),
        (
            r#"{"mask":{"attributes":[{"selector":"p","attributes":["a"],"x":1}]}}"#,
            "unknown field `mask.attributes[].x`",
        ),
        (
            r#"{"mask":{"attributes":[{"attributes":["a"]}]}}"#,
            "rules: `mask.attributes[].selector` must be a string",
        ),
        (
            r#"{"mask":{"attributes":[3]}}"#,
            "rules: `mask.attributes` must be an object",
        ),
    ] {
        assert_eq!(rules_error(json), error, "{json}");
    }
}
