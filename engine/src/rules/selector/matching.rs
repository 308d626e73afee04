//! Matching the compiled form against elements of the arena tree.

use super::*;

/// The outcome of matching a complex selector from one of its compounds leftwards (WebKit's
/// and servo's early exits: when a compound has no candidate at all, trying further
/// candidates of a combinator to the right cannot help).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Matched,
    RestartFromLaterSibling,
    RestartFromDescendant,
    NotMatchedGlobally,
}

pub(super) fn any_matches(
    list: &[Complex],
    tree: &Tree,
    id: NodeId,
    anchor: Option<NodeId>,
) -> bool {
    list.iter().any(|c| {
        let last = c.compounds.len() - 1;
        match_from(c, last, tree, id, anchor) == Outcome::Matched
    })
}

fn parent_element(tree: &Tree, id: NodeId) -> Option<NodeId> {
    tree.parent(id).filter(|&p| tree.element(p).is_some())
}

fn prev_element(tree: &Tree, id: NodeId) -> Option<NodeId> {
    let mut cur = tree.prev_sibling(id);
    while let Some(c) = cur {
        if tree.element(c).is_some() {
            return Some(c);
        }
        cur = tree.prev_sibling(c);
    }
    None
}

fn next_element(tree: &Tree, id: NodeId) -> Option<NodeId> {
    let mut cur = tree.next_sibling(id);
    while let Some(c) = cur {
        if tree.element(c).is_some() {
            return Some(c);
        }
        cur = tree.next_sibling(c);
    }
    None
}

fn match_from(c: &Complex, i: usize, tree: &Tree, id: NodeId, anchor: Option<NodeId>) -> Outcome {
    if !c.compounds[i]
        .iter()
        .all(|s| simple_matches(s, tree, id, anchor))
    {
        return Outcome::RestartFromLaterSibling;
    }
    if i == 0 {
        return Outcome::Matched;
    }
    let comb = c.combinators[i - 1];
    let step = |x: NodeId| match comb {
        Combinator::Child | Combinator::Descendant => parent_element(tree, x),
        Combinator::NextSibling | Combinator::LaterSibling => prev_element(tree, x),
    };
    let not_found = match comb {
        Combinator::NextSibling | Combinator::LaterSibling => Outcome::RestartFromDescendant,
        _ => Outcome::NotMatchedGlobally,
    };
    let mut cur = id;
    loop {
        let Some(next) = step(cur) else {
            return not_found;
        };
        let r = match_from(c, i - 1, tree, next, anchor);
        match (r, comb) {
            (Outcome::Matched | Outcome::NotMatchedGlobally, _) | (_, Combinator::NextSibling) => {
                return r;
            }
            (_, Combinator::Child) => return Outcome::RestartFromDescendant,
            (Outcome::RestartFromDescendant, Combinator::LaterSibling) => return r,
            _ => {}
        }
        cur = next;
    }
}

fn simple_matches(s: &Simple, tree: &Tree, id: NodeId, anchor: Option<NodeId>) -> bool {
    let Some(e) = tree.element(id) else {
        return false;
    };
    let html = e.name.ns == ns!(html);
    match s {
        Simple::Type(ns, name) => {
            ns.allows(&e.name.ns)
                && name
                    .as_ref()
                    .is_none_or(|(name, lower)| e.name.local == *if html { lower } else { name })
        }
        Simple::Id(v) => attr(e, &local_name!("id")) == Some(v.as_str()),
        Simple::Class(v) => attr(e, &local_name!("class"))
            .is_some_and(|c| c.split_ascii_whitespace().any(|c| c == v)),
        Simple::Attr {
            ns,
            name,
            lower,
            test,
        } => {
            let local = if html { lower } else { name };
            e.attrs.iter().any(|a| {
                a.name.local == *local
                    && ns.allows(&a.name.ns)
                    && test.as_ref().is_none_or(|(op, v, case)| {
                        let insensitive = match case {
                            Case::Sensitive => false,
                            Case::Insensitive => true,
                            Case::InsensitiveIfHtml => html,
                        };
                        attr_value_matches(*op, &a.value, v, insensitive)
                    })
            })
        }
        Simple::Never => false,
        Simple::Not(list) => !any_matches(list, tree, id, anchor),
        Simple::Is(list) => any_matches(list, tree, id, anchor),
        Simple::Has(list) => list.iter().any(|r| has_matches(r, tree, id)),
        Simple::Anchor => anchor == Some(id),
        Simple::Nth {
            a,
            b,
            last,
            of_type,
            of,
        } => {
            if let Some(of) = of
                && !any_matches(of, tree, id, anchor)
            {
                return false;
            }
            let step = if *last { next_element } else { prev_element };
            let mut index: i64 = 1;
            let mut cur = step(tree, id);
            while let Some(x) = cur {
                let counts = if *of_type {
                    tree.element(x).is_some_and(|o| o.name == e.name)
                } else if let Some(of) = of {
                    any_matches(of, tree, x, anchor)
                } else {
                    true
                };
                index += i64::from(counts);
                cur = step(tree, x);
            }
            let (a, b) = (i64::from(*a), i64::from(*b));
            if a == 0 {
                index == b
            } else {
                (index - b) % a == 0 && (index - b) / a >= 0
            }
        }
        Simple::Root => tree
            .parent(id)
            .is_some_and(|p| matches!(tree.data(p), NodeData::Document { .. })),
        Simple::Empty => tree.children(id).all(|c| match tree.data(c) {
            NodeData::Element(_) => false,
            NodeData::Text(t) => t.is_empty(),
            _ => true,
        }),
        Simple::Link => is_link_element(e),
        Simple::Checked => is_checked(e),
        Simple::Disabled => can_be_disabled(e) && is_disabled(tree, id, e),
        Simple::Enabled => can_be_disabled(e) && !is_disabled(tree, id, e),
        Simple::Required => can_be_required(e) && attr(e, &local_name!("required")).is_some(),
        Simple::Optional => can_be_required(e) && attr(e, &local_name!("required")).is_none(),
    }
}

/// Whether relative selector `r` (starting with its anchor compound) matches with `anchor` as
/// the anchor: some candidate below or after it matches `r`. The candidates are walked
/// iteratively (any depth); element children only, so template contents and iframe documents
/// are not searched.
fn has_matches(r: &Complex, tree: &Tree, anchor: NodeId) -> bool {
    let last = r.compounds.len() - 1;
    let test = |x: NodeId| match_from(r, last, tree, x, Some(anchor)) == Outcome::Matched;
    let first_element_child = |x: NodeId| tree.children(x).find(|&c| tree.element(c).is_some());
    // Every element of the subtree under `top` (exclusive), in preorder.
    let any_below = |top: NodeId| {
        let mut cur = first_element_child(top);
        while let Some(x) = cur {
            if test(x) {
                return true;
            }
            cur = first_element_child(x);
            let mut up = x;
            while cur.is_none() && up != top {
                cur = next_element(tree, up);
                if cur.is_none() {
                    up = parent_element(tree, up).unwrap_or(top);
                }
            }
        }
        false
    };
    match (r.combinators[0], last) {
        (Combinator::Descendant, _) => any_below(anchor),
        (Combinator::Child, 1) => {
            let mut cur = first_element_child(anchor);
            while let Some(x) = cur {
                if test(x) {
                    return true;
                }
                cur = next_element(tree, x);
            }
            false
        }
        (Combinator::Child, _) => any_below(anchor),
        (Combinator::NextSibling, 1) => next_element(tree, anchor).is_some_and(test),
        (Combinator::NextSibling | Combinator::LaterSibling, _) => {
            let deep = last > 1;
            let mut cur = next_element(tree, anchor);
            while let Some(x) = cur {
                if test(x) || (deep && any_below(x)) {
                    return true;
                }
                cur = next_element(tree, x);
            }
            false
        }
    }
}

fn attr_value_matches(op: AttrOp, value: &str, want: &str, insensitive: bool) -> bool {
    let eq = |a: &str, b: &str| {
        if insensitive {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let (vb, wb) = (value.as_bytes(), want.as_bytes());
    match op {
        AttrOp::Equal => eq(value, want),
        AttrOp::Includes => value.split_ascii_whitespace().any(|w| eq(w, want)),
        AttrOp::DashMatch => {
            vb.len() >= wb.len()
                && eq_bytes(&vb[..wb.len()], wb, insensitive)
                && (vb.len() == wb.len() || vb[wb.len()] == b'-')
        }
        AttrOp::Prefix => vb.len() >= wb.len() && eq_bytes(&vb[..wb.len()], wb, insensitive),
        AttrOp::Suffix => {
            vb.len() >= wb.len() && eq_bytes(&vb[vb.len() - wb.len()..], wb, insensitive)
        }
        AttrOp::Substring => {
            vb.len() >= wb.len() && vb.windows(wb.len()).any(|w| eq_bytes(w, wb, insensitive))
        }
    }
}

fn eq_bytes(a: &[u8], b: &[u8], insensitive: bool) -> bool {
    if insensitive {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// The value of the no-namespace attribute `local` (an atom comparison).
fn attr<'a>(e: &'a ElementData, local: &LocalName) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|a| a.name.local == *local && a.name.ns == ns!())
        .map(|a| a.value.as_str())
}

fn input_type_is(e: &ElementData, ty: &str) -> bool {
    attr(e, &local_name!("type")).is_some_and(|t| t.eq_ignore_ascii_case(ty))
}

/// HTML `<a>` / `<area>` with `href`, or SVG `<a>` with `href` / `xlink:href` (every link
/// counts as unvisited).
fn is_link_element(e: &ElementData) -> bool {
    if e.name.ns == ns!(html) {
        matches!(e.name.local, local_name!("a") | local_name!("area"))
            && attr(e, &local_name!("href")).is_some()
    } else if e.name.ns == ns!(svg) && e.name.local == local_name!("a") {
        e.attrs.iter().any(|a| {
            a.name.local == local_name!("href") && (a.name.ns == ns!() || a.name.ns == ns!(xlink))
        })
    } else {
        false
    }
}

/// A checkbox / radio `<input>` whose checkedness (the `checked` prop, else the `checked`
/// attribute) is true, or an `<option>` whose selectedness (the `selected` prop, else the
/// `selected` attribute) is true.
fn is_checked(e: &ElementData) -> bool {
    let props = e.props.as_deref();
    if e.is_html(&local_name!("input")) {
        if !(input_type_is(e, "checkbox") || input_type_is(e, "radio")) {
            return false;
        }
        props
            .and_then(|p| p.checked)
            .unwrap_or_else(|| attr(e, &local_name!("checked")).is_some())
    } else if e.is_html(&local_name!("option")) {
        props
            .and_then(|p| p.selected)
            .unwrap_or_else(|| attr(e, &local_name!("selected")).is_some())
    } else {
        false
    }
}

/// Whether `:enabled` / `:disabled` apply to this element at all.
fn can_be_disabled(e: &ElementData) -> bool {
    e.name.ns == ns!(html)
        && matches!(
            e.name.local,
            local_name!("button")
                | local_name!("input")
                | local_name!("select")
                | local_name!("textarea")
                | local_name!("optgroup")
                | local_name!("option")
                | local_name!("fieldset")
        )
}

/// HTML's "actually disabled" (for the elements [`can_be_disabled`] accepts): its own
/// `disabled` attribute, an `<option>`'s disabled `<optgroup>`, or an ancestor disabled
/// `<fieldset>` outside its first `<legend>`.
fn is_disabled(tree: &Tree, id: NodeId, e: &ElementData) -> bool {
    let disabled = |e: &ElementData| attr(e, &local_name!("disabled")).is_some();
    if disabled(e) {
        return true;
    }
    match e.name.local {
        local_name!("optgroup") => false,
        local_name!("option") => parent_element(tree, id)
            .and_then(|p| tree.element(p))
            .is_some_and(|p| p.is_html(&local_name!("optgroup")) && disabled(p)),
        _ => {
            let mut child = id;
            while let Some(parent) = parent_element(tree, child) {
                let p = tree.element(parent).expect("an element");
                if p.is_html(&local_name!("fieldset")) && disabled(p) {
                    let first_legend = tree.children(parent).find(|&c| {
                        tree.element(c)
                            .is_some_and(|c| c.is_html(&local_name!("legend")))
                    });
                    if first_legend != Some(child) {
                        return true;
                    }
                }
                child = parent;
            }
            false
        }
    }
}

/// Whether `:required` / `:optional` apply.
fn can_be_required(e: &ElementData) -> bool {
    if e.is_html(&local_name!("select")) || e.is_html(&local_name!("textarea")) {
        return true;
    }
    e.is_html(&local_name!("input"))
        && ![
            "hidden", "range", "color", "submit", "image", "reset", "button",
        ]
        .iter()
        .any(|t| input_type_is(e, t))
}
