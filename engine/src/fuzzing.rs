//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the hostile-input tests, so
//! that both exercise exactly the same code, and the re-parse check they share.
//!
//! The re-parse property: for a mirror built from sanitized frames, parsing `to_html` of its
//! tree gives the same tree, compared exactly (element structure, names and namespaces,
//! attributes in order, comments, doctypes) except that text is compared the way DOM
//! `normalize()` leaves it: adjacent text nodes as one, empty ones absent. A parser can never
//! give back two adjacent texts (a dropped `<script>` between two texts leaves two). Live
//! props (an input's current value) are not HTML and are not compared, nor is the document's
//! viewport. A same-origin iframe's content document has no markup in its iframe (see
//! `dom::serialize`): each document of the tree is serialized and re-parsed on its own, and
//! the iframe holding it is compared as empty.

use crate::capture::Capture;
use crate::dom::parse::parse_document_str;
use crate::dom::serialize::{subtree_to_html, to_html};
use crate::dom::tree::{NodeData, NodeId, Tree};
use crate::replay::{Mirror, MirrorOptions};
use crate::rules::Rules;

/// Parses `a` and `b`, captures `a` and then `b` as a replaced document under transparent and
/// default rules, sends the frames through the encoder, the validator and a mirror, and
/// panics if the mirror does not end with `b` (exactly, under transparent rules; by
/// fingerprint under default rules), or if, under default rules, a mirror's HTML does not
/// parse back into the mirror's tree (see [`reparse_difference`]).
pub fn fuzz_html_round_trip(a: &str, b: &str) {
    for rules in [Rules::transparent(), Rules::default()] {
        let sanitizes = rules.sanitizes();
        let mut capture = Capture::new(rules, parse_document_str(a));
        let mut mirror = Mirror::new(MirrorOptions {
            require_sanitized: false,
            ..Default::default()
        });
        mirror
            .apply_frame(&capture.keyframe(), &mut ())
            .expect("keyframe applies");
        if sanitizes && let Some(d) = reparse_difference(mirror.tree()) {
            panic!("the keyframe's HTML does not parse back into the mirror: {d}");
        }
        if let Some(delta) = capture.replace_document(parse_document_str(b)) {
            mirror.apply_frame(&delta, &mut ()).expect("delta applies");
        }
        assert_eq!(mirror.fingerprint(), capture.shadow().fingerprint());
        if sanitizes {
            if let Some(d) = reparse_difference(mirror.tree()) {
                panic!("the mirror's HTML does not parse back into the mirror: {d}");
            }
        } else {
            let want = parse_document_str(b);
            if let Some(d) = mirror.tree().first_difference(&want) {
                panic!("round trip differs: {d}");
            }
        }
    }
}

/// Serializes `tree` with `to_html`, parses the HTML again and describes the first difference
/// between the two trees, or `None` when they are equal (text compared modulo `normalize()`,
/// see the module docs).
pub fn reparse_difference(tree: &Tree) -> Option<String> {
    let html = to_html(tree);
    let again = parse_document_str(&html);
    if let Some(d) = normalized_difference(tree, &again) {
        return Some(d);
    }
    // Each content document on its own.
    for doc in tree.descendants(tree.root()).skip(1) {
        if tree.is_document(doc) {
            let html = subtree_to_html(tree, doc);
            let again = parse_document_str(&html);
            if let Some(d) = difference_from(tree, doc, &again, again.root()) {
                return Some(format!("content document: {d}"));
            }
        }
    }
    None
}

/// One child as `normalize()` leaves it: a node, or a run of adjacent text (never empty).
enum Child {
    Node(NodeId),
    Text(String),
}

fn normalized_children(tree: &Tree, id: NodeId) -> Vec<Child> {
    let mut out: Vec<Child> = Vec::new();
    for c in tree.children(id) {
        match tree.data(c) {
            NodeData::Text(t) if t.is_empty() => {}
            // A content document: not in its iframe's markup (compared on its own).
            NodeData::Document { .. } => {}
            NodeData::Text(t) => match out.last_mut() {
                Some(Child::Text(run)) => run.push_str(t),
                _ => out.push(Child::Text(t.to_string())),
            },
            _ => out.push(Child::Node(c)),
        }
    }
    out
}

/// The first difference between `a` and `b` in pre-order, text compared modulo `normalize()`,
/// attributes compared in order, props and the document's viewport ignored.
pub fn normalized_difference(a: &Tree, b: &Tree) -> Option<String> {
    difference_from(a, a.root(), b, b.root())
}

/// [`normalized_difference`] of the subtrees at `ra` and `rb`.
fn difference_from(a: &Tree, ra: NodeId, b: &Tree, rb: NodeId) -> Option<String> {
    let mut stack = vec![(ra, rb, String::from("/"))];
    while let Some((x, y, path)) = stack.pop() {
        if let Some(d) = data_difference(a.data(x), b.data(y)) {
            return Some(format!("{path}: {d}"));
        }
        let cx = normalized_children(a, x);
        let cy = normalized_children(b, y);
        let show = |t: &Tree, v: &[Child]| {
            v.iter()
                .map(|c| match c {
                    Child::Node(n) => label(t.data(*n)),
                    Child::Text(s) => format!("#text({s:?})"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if cx.len() != cy.len() {
            return Some(format!(
                "{path}: {} children vs {}: [{}] vs [{}]",
                cx.len(),
                cy.len(),
                show(a, &cx),
                show(b, &cy)
            ));
        }
        for (i, pair) in cx.iter().zip(&cy).enumerate().rev() {
            match pair {
                (Child::Text(s), Child::Text(t)) if s == t => {}
                (Child::Node(n), Child::Node(m)) => {
                    stack.push((*n, *m, format!("{path}{i}:{}/", label(a.data(*n)))));
                }
                _ => {
                    return Some(format!(
                        "{path}: child {i} differs: [{}] vs [{}]",
                        show(a, &cx),
                        show(b, &cy)
                    ));
                }
            }
        }
    }
    None
}

fn label(d: &NodeData) -> String {
    match d {
        NodeData::Element(e) => format!("<{:?}:{}>", e.name.ns, e.name.local),
        NodeData::Text(t) => format!("#text({t:?})"),
        NodeData::Comment(t) => format!("#comment({t:?})"),
        NodeData::Doctype(d) => format!("#doctype({})", d.name),
        NodeData::Document { .. } => "#document".into(),
        NodeData::Fragment => "#fragment".into(),
    }
}

fn data_difference(x: &NodeData, y: &NodeData) -> Option<String> {
    match (x, y) {
        (NodeData::Document { .. }, NodeData::Document { .. }) => None,
        (NodeData::Element(e), NodeData::Element(f)) => {
            let attrs = |e: &crate::dom::tree::ElementData| {
                e.attrs
                    .iter()
                    .map(|a| (a.name.ns.clone(), a.name.local.clone(), a.value.to_string()))
                    .collect::<Vec<_>>()
            };
            if e.name.ns != f.name.ns || e.name.local != f.name.local {
                Some(format!("{} vs {}", label(x), label(y)))
            } else if attrs(e) != attrs(f) {
                Some(format!(
                    "attributes of {} differ: {:?} vs {:?}",
                    label(x),
                    attrs(e),
                    attrs(f)
                ))
            } else {
                None
            }
        }
        _ if x == y => None,
        _ => Some(format!("{} vs {}", label(x), label(y))),
    }
}
