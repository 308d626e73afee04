//! Same-origin iframes end to end in the engine: a content document (the iframe's only child)
//! in keyframes and deltas, rules applied inside it (and never across the iframe), the
//! mirror's structure checks, re-parse safety and agent-action facts.

use crate::capture::Capture;
use crate::diff::mutation::{Mutation, NodeRecord, RecordData};
use crate::dom::parse::parse_document_str;
use crate::dom::tree::{NodeData, NodeId, Tree, WireId};
#[cfg(feature = "fuzzing")]
use crate::fuzzing::reparse_difference;
use crate::replay::{Mirror, ReplayError};
use crate::rules::{Rules, RulesConfig, Sanitize};
use crate::session::TargetFacts;
use crate::wire::frame::{FrameHeader, encode_delta};

/// The first element named `local` in pre-order.
fn find(t: &Tree, local: &str) -> NodeId {
    t.descendants(t.root())
        .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == local))
        .unwrap_or_else(|| panic!("no <{local}>"))
}

/// Parses `html` as a document and puts it under `iframe` as its content document.
fn graft(t: &mut Tree, iframe: NodeId, html: &str) -> NodeId {
    let inner = parse_document_str(html);
    let doc = t.create(NodeData::Document {
        viewport: None,
        pixel_ratio: None,
    });
    t.append(iframe, doc);
    let mut stack = vec![(inner.root(), doc)];
    while let Some((from, to)) = stack.pop() {
        for c in inner.children(from) {
            let n = t.create(inner.data(c).clone());
            t.append(to, n);
            stack.push((c, n));
        }
    }
    doc
}

fn rules(json: &str) -> Rules {
    Rules::compile(&RulesConfig::from_json(json).unwrap(), Sanitize::On).unwrap()
}

fn page() -> Tree {
    let mut t = parse_document_str("<p>top</p><iframe src=\"/inner.html\"></iframe>");
    let iframe = find(&t, "iframe");
    graft(
        &mut t,
        iframe,
        "<!DOCTYPE html><p class=card>4111</p><input type=password value=hunter2>",
    );
    t
}

fn html_of(records: &[NodeRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| match &r.data {
            RecordData::Document { .. } => "#document".to_owned(),
            RecordData::Doctype { name, .. } => format!("<!{name}>"),
            RecordData::Element { name, attrs, props } => {
                let mut s = format!("<{}", name.local);
                for (n, v) in attrs {
                    s.push_str(&format!(" {}={v:?}", n.local));
                }
                if let Some(v) = &props.value {
                    s.push_str(&format!(" :value={v:?}"));
                }
                s + ">"
            }
            RecordData::Text(t) => format!("{t:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

/// The keyframe carries the content document under its iframe, masked inside; the mirror
/// equals the capture's shadow and never sees the password.
#[test]
fn keyframe_nests_the_content_document_with_rules_applied_inside() {
    let mut cap = Capture::new(rules(r#"{"mask":{"selectors":[".card"]}}"#), page());
    let frame = cap.keyframe();
    assert!(!frame.windows(7).any(|w| w == b"hunter2"));
    assert!(!frame.windows(4).any(|w| w == b"4111"));
    let mut agent = Mirror::default();
    agent.apply_frame(&frame, &mut ()).unwrap();
    assert!(agent.tree().same_tree(cap.shadow().tree()));
    let view = crate::wire::frame::FrameView::access(&frame).unwrap();
    assert_eq!(
        html_of(&view.to_records()),
        [
            "#document",
            "<html>",
            "<head>",
            "<body>",
            "<p>",
            "\"top\"",
            "<iframe src=\"/inner.html\">",
            "#document",
            "<!html>",
            "<html>",
            "<head>",
            "<body>",
            "<p class=\"card\">",
            "\"****\"",
            "<input type=\"password\" value=\"*******\">",
        ]
    );
    // The mirror's HTML re-parses to itself, each document on its own.
    #[cfg(feature = "fuzzing")]
    assert_eq!(reparse_difference(agent.tree()), None);
}

/// Edits inside the content document are exact deltas; a navigation of the iframe replaces
/// its document.
#[test]
fn edits_and_navigation_inside_an_iframe_are_exact_deltas() {
    let mut cap = Capture::new(Rules::default(), page());
    let mut agent = Mirror::default();
    agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();

    // A text edit and an attribute inside the iframe.
    let t = cap.tree_mut();
    let p = t
        .descendants(t.root())
        .filter(|&n| t.element(n).is_some_and(|e| &*e.name.local == "p"))
        .nth(1)
        .unwrap();
    let text = t.first_child(p).unwrap();
    t.set_character_data(text, "5500");
    t.set_attr(p, crate::dom::tree::attr_name("title"), "t");
    let (pw, tw) = (t.wire_id(p), t.wire_id(text));
    agent.apply_frame(&cap.delta().unwrap(), &mut ()).unwrap();
    assert_eq!(
        cap.last_mutations(),
        [
            Mutation::SetAttr {
                node: pw,
                name: crate::dom::tree::attr_name("title"),
                value: "t".into(),
            },
            Mutation::SetText {
                node: tw,
                text: "5500".into(),
            },
        ]
    );
    assert!(agent.tree().same_tree(cap.shadow().tree()));

    // Navigation: the iframe gets a new document.
    let t = cap.tree_mut();
    let iframe = find(t, "iframe");
    let old = t.content_document(iframe).unwrap();
    let old_wire = t.wire_id(old);
    t.remove(old);
    graft(t, iframe, "<title>b</title>");
    let iframe_wire = t.wire_id(iframe);
    agent.apply_frame(&cap.delta().unwrap(), &mut ()).unwrap();
    assert!(agent.tree().same_tree(cap.shadow().tree()));
    // The new document is matched to the old one (same place, same kind): the minimal delta
    // edits it into the new one (wire ids: 8 the document, 9 its doctype, 10 <html>, 11
    // <head>, 12 <body>, 13 <p>, 14 its text, 15 <input>).
    assert_eq!(iframe_wire, WireId(7));
    assert_eq!(old_wire, WireId(8));
    let muts = cap.last_mutations();
    let Mutation::Insert {
        parent,
        prev,
        nodes,
    } = &muts[0]
    else {
        panic!("{muts:?}");
    };
    assert_eq!((*parent, *prev), (WireId(11), None));
    assert_eq!(html_of(nodes), ["<title>", "\"b\""]);
    assert_eq!((nodes[0].wire, nodes[1].wire), (WireId(16), WireId(17)));
    assert_eq!(
        muts[1..],
        [9, 13, 15].map(|w| Mutation::Remove { node: WireId(w) })
    );
    assert_eq!(
        agent.tree().wire_id(
            agent
                .tree()
                .content_document(find(agent.tree(), "iframe"))
                .unwrap()
        ),
        old_wire
    );
    #[cfg(feature = "fuzzing")]
    assert_eq!(reparse_difference(agent.tree()), None);
}

/// Selectors match inside the content document as in its own document, never across the
/// iframe; blocking the iframe sends none of its document; a form outside does not own the
/// iframe's buttons.
#[test]
fn rules_apply_inside_and_stop_at_the_iframe() {
    let mut t = parse_document_str("<form><div class=outer><iframe></iframe></div></form>");
    let iframe = find(&t, "iframe");
    graft(&mut t, iframe, "<p class=x>in</p><button>go</button>");
    // `.outer p` would only match across the iframe: nothing inside is masked by it.
    let mut cap = Capture::new(rules(r#"{"mask":{"selectors":[".outer p"]}}"#), t.clone());
    let mut agent = Mirror::default();
    agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();
    let shown = crate::dom::serialize::subtree_to_html(
        agent.tree(),
        agent
            .tree()
            .content_document(find(agent.tree(), "iframe"))
            .unwrap(),
    );
    assert_eq!(
        shown,
        "<html><head></head><body><p class=\"x\">in</p><button>go</button></body></html>"
    );
    // The button has no form of its own: not a disabled submit button.
    let button = find(cap.tree(), "button");
    let facts = TargetFacts::in_tree(cap.tree(), cap.tree().wire_id(button));
    assert!(facts.exists && !facts.disabled_for_agent, "{facts:?}");

    // Blocking the iframe drops its document.
    let mut cap = Capture::new(rules(r#"{"block":{"selectors":["iframe"]}}"#), t.clone());
    let frame = cap.keyframe();
    assert!(!frame.windows(2).any(|w| w == b"go"));
    let mut agent = Mirror::default();
    agent.apply_frame(&frame, &mut ()).unwrap();
    let mirror_iframe = find(agent.tree(), "iframe");
    assert_eq!(agent.tree().first_child(mirror_iframe), None);
    // An action on a node inside the blocked iframe is refused (it is not there for agents).
    let facts = TargetFacts::in_tree(cap.tree(), cap.tree().wire_id(find(cap.tree(), "button")));
    assert!(!facts.exists, "{facts:?}");

    // Disabling the iframe disables everything inside it for agents.
    let mut cap = Capture::new(rules(r#"{"disable":{"selectors":["iframe"]}}"#), t);
    cap.keyframe();
    let facts = TargetFacts::in_tree(cap.tree(), cap.tree().wire_id(find(cap.tree(), "p")));
    assert!(facts.exists && facts.disabled_for_agent, "{facts:?}");
}

/// A hostile content document is sanitized like the top-level one.
#[test]
fn a_hostile_content_document_is_sanitized() {
    let mut t = parse_document_str("<iframe></iframe>");
    let iframe = find(&t, "iframe");
    graft(
        &mut t,
        iframe,
        "<script>alert(1)</script><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">x</a>\
         <iframe srcdoc=\"<script>alert(4)</script>\"></iframe>",
    );
    let mut cap = Capture::new(Rules::default(), t);
    let frame = cap.keyframe();
    assert!(!frame.windows(5).any(|w| w == b"alert"));
    let mut agent = Mirror::default();
    agent.apply_frame(&frame, &mut ()).unwrap();
    let doc = agent
        .tree()
        .content_document(find(agent.tree(), "iframe"))
        .unwrap();
    assert_eq!(
        crate::dom::serialize::subtree_to_html(agent.tree(), doc),
        "<html><head></head><body><img src=\"x\"><a>x</a><iframe></iframe></body></html>"
    );
}

fn delta(seq: u64, muts: &[Mutation]) -> Vec<u8> {
    encode_delta(&FrameHeader::delta(seq, 0, true), muts)
}

/// The mirror refuses a document anywhere but alone under an iframe, checked once the whole
/// delta is applied.
#[test]
fn the_mirror_refuses_misplaced_documents() {
    let mut cap = Capture::new(Rules::default(), page());
    let key = cap.keyframe();
    let fresh = || {
        let mut m = Mirror::default();
        m.apply_frame(&key, &mut ()).unwrap();
        m
    };
    let m = fresh();
    let (body, iframe) = (find(m.tree(), "body"), find(m.tree(), "iframe"));
    let (body, iframe) = (m.tree().wire_id(body), m.tree().wire_id(iframe));
    let old_doc = m
        .tree()
        .wire_id(m.tree().content_document(find(m.tree(), "iframe")).unwrap());
    let doc = |w: u32| NodeRecord {
        wire: WireId(w),
        children: 0,
        flags: 0,
        data: RecordData::Document {
            viewport: None,
            pixel_ratio: None,
        },
    };
    let refused =
        ReplayError::BadStructure("a document outside an iframe or beside other children");
    for muts in [
        // Under the body.
        vec![Mutation::Insert {
            parent: body,
            prev: None,
            nodes: vec![doc(900)],
        }],
        // A second document in the iframe.
        vec![Mutation::Insert {
            parent: iframe,
            prev: None,
            nodes: vec![doc(900)],
        }],
        // The iframe's document moved to the body.
        vec![Mutation::Move {
            node: old_doc,
            parent: body,
            prev: None,
        }],
    ] {
        let mut m = fresh();
        assert_eq!(
            m.apply_frame(&delta(2, &muts), &mut ()).err(),
            Some(refused.clone()),
            "{muts:?}"
        );
    }
}
