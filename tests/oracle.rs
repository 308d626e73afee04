//! Our arena tree against the reference oracle, markup5ever_rcdom: the same tree on every
//! hand-written case and every corpus page.

use cobrowse_engine::{NodeData as N, NodeId, Tree, parse_document_str};
use html5ever::tendril::TendrilSink;
use markup5ever_rcdom::{Handle, NodeData as R, RcDom};

fn rcdom(html: &str) -> RcDom {
    html5ever::parse_document(RcDom::default(), Default::default()).one(html)
}

fn compare(ours: &Tree, dom: &RcDom) -> Result<usize, String> {
    let mut count = 0;
    let mut stack: Vec<(NodeId, Handle, String)> =
        vec![(ours.root(), dom.document.clone(), "/".into())];
    while let Some((a, b, path)) = stack.pop() {
        count += 1;
        let ob: Vec<Handle> = match (&ours.data(a), &b.data) {
            (N::Document { .. }, R::Document) => b.children.borrow().clone(),
            (
                N::Doctype(d),
                R::Doctype {
                    name: n,
                    public_id: p,
                    system_id: s,
                },
            ) => {
                if (d.name.as_str(), d.public_id.as_str(), d.system_id.as_str())
                    != (&**n, &**p, &**s)
                {
                    return Err(format!("{path}: doctype differs"));
                }
                vec![]
            }
            (N::Text(t), R::Text { contents }) => {
                if t.as_str() != &**contents.borrow() {
                    return Err(format!("{path}: text differs"));
                }
                vec![]
            }
            (N::Comment(t), R::Comment { contents }) => {
                if t.as_str() != &**contents {
                    return Err(format!("{path}: comment differs"));
                }
                vec![]
            }
            (
                N::Element(e),
                R::Element {
                    name,
                    attrs,
                    template_contents,
                    ..
                },
            ) => {
                if e.name != *name {
                    return Err(format!(
                        "{path}: element {:?} vs {:?}",
                        e.name.local, name.local
                    ));
                }
                let attrs = attrs.borrow();
                let ours_attrs: Vec<_> = e
                    .attrs
                    .iter()
                    .map(|a| (a.name.clone(), a.value.to_string()))
                    .collect();
                let theirs: Vec<_> = attrs
                    .iter()
                    .map(|a| (a.name.clone(), a.value.to_string()))
                    .collect();
                if ours_attrs != theirs {
                    return Err(format!("{path}: attributes of <{}> differ", e.name.local));
                }
                if let Some(tc) = template_contents.borrow().as_ref() {
                    // Our template holds its contents as one fragment child.
                    let frag = ours
                        .template_contents(a)
                        .ok_or_else(|| format!("{path}: template without contents"))?;
                    if ours.children(a).count() != 1 {
                        return Err(format!("{path}: template has extra children"));
                    }
                    if !b.children.borrow().is_empty() {
                        return Err(format!("{path}: rcdom template has children"));
                    }
                    let kids: Vec<NodeId> = ours.children(frag).collect();
                    let theirs = tc.children.borrow().clone();
                    if kids.len() != theirs.len() {
                        return Err(format!(
                            "{path}: template contents count {} vs {}",
                            kids.len(),
                            theirs.len()
                        ));
                    }
                    for (i, (x, y)) in kids.into_iter().zip(theirs).enumerate() {
                        stack.push((x, y, format!("{path}{i}/")));
                    }
                    continue;
                }
                b.children.borrow().clone()
            }
            (x, _) => {
                return Err(format!(
                    "{path}: kind {:?} vs rcdom {:?}",
                    x.kind(),
                    std::mem::discriminant(&b.data)
                ));
            }
        };
        let oa: Vec<NodeId> = ours.children(a).collect();
        if oa.len() != ob.len() {
            return Err(format!("{path}: {} children vs {}", oa.len(), ob.len()));
        }
        for (i, (x, y)) in oa.into_iter().zip(ob).enumerate() {
            stack.push((x, y, format!("{path}{i}/")));
        }
    }
    Ok(count)
}

#[test]
fn arena_tree_matches_rcdom_on_hand_written_cases() {
    let dir = cobrowse_tests::repo_root().join("corpus/cases");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        for f in [
            "from.html",
            "to.html",
            "login.html",
            "sanitize.html",
            "sanitize-extra.html",
            "login-edited.html",
        ] {
            let file = p.join(f);
            if let Ok(html) = std::fs::read_to_string(&file) {
                let ours = parse_document_str(&html);
                compare(&ours, &rcdom(&html)).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                n += 1;
            }
        }
    }
    assert!(n >= 40, "expected the hand-written cases, found {n} files");
}

#[test]
fn arena_tree_matches_rcdom_on_every_corpus_page() {
    let pages = cobrowse_tests::corpus_pages_required();
    let mut nodes = 0;
    for p in &pages {
        let html = std::fs::read_to_string(p).unwrap();
        let ours = parse_document_str(&html);
        ours.check_invariants();
        nodes += compare(&ours, &rcdom(&html)).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    eprintln!(
        "oracle: {} pages, {nodes} nodes identical to rcdom",
        pages.len()
    );
}
