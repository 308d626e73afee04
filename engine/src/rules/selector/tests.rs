//! Tests of the selector parser and matcher, and the differential test against servo's
//! `selectors` ([`super::servo_reference`]).

use super::*;
use crate::dom::parse::{parse_document_str, parse_fragment_str};

/// Ids of the elements matching `selector`, in document order, described as `tag#id` or
/// `tag` when there is no id.
fn select(tree: &Tree, selector: &str) -> Vec<String> {
    let sel = CompiledSelector::parse(selector).unwrap_or_else(|e| panic!("{e}"));
    tree.descendants(tree.root())
        .filter(|&id| sel.matches(tree, id))
        .map(|id| {
            let e = tree.element(id).unwrap();
            match e.attr("id") {
                Some(i) => format!("{}#{i}", e.name.local),
                None => e.name.local.to_string(),
            }
        })
        .collect()
}

/// How many nodes of `tree` match `selector`.
fn count(tree: &Tree, selector: &str) -> usize {
    let sel = CompiledSelector::parse(selector).unwrap_or_else(|e| panic!("{e}"));
    tree.descendants(tree.root())
        .filter(|&id| sel.matches(tree, id))
        .count()
}

fn doc(body: &str) -> Tree {
    parse_document_str(&format!(
        "<!DOCTYPE html><html><head></head><body>{body}</body></html>"
    ))
}

#[test]
fn compiled_selector_is_send_sync_clone() {
    const fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    const _: () = assert_send_sync_clone::<CompiledSelector>();
    let s = CompiledSelector::parse("div").unwrap();
    let t = s.clone();
    std::thread::spawn(move || assert_eq!(t.source(), "div"))
        .join()
        .unwrap();
    assert_eq!(s.source(), "div");
}

#[test]
fn invalid_selectors_error_and_name_the_selector() {
    for bad in [
        "div[[",
        "::before",
        ":hover2",
        "",
        "  ",
        "div,",
        "> p",
        "p >",
        "a::after",
        "#",
        ".",
        "[",
        "[x=]",
        "p:nth-child(foo)",
        ":not(",
        "foo|bar",
        ":lang(en)",
        "&",
        "div ++ p",
    ] {
        let err = CompiledSelector::parse(bad).expect_err(bad);
        assert_eq!(err.selector, bad);
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("invalid CSS selector `{bad}`: ")),
            "{shown}"
        );
        assert!(!err.message.is_empty());
        let _: &dyn std::error::Error = &err;
    }
    let e = CompiledSelector::parse(":hover2").unwrap_err();
    assert!(e.message.contains(":hover2"), "{}", e.message);
    let e = CompiledSelector::parse("::before").unwrap_err();
    assert!(e.message.contains("::before"), "{}", e.message);
    let e = CompiledSelector::parse("").unwrap_err();
    assert_eq!(e.message, "empty selector");
    assert_eq!(e.to_string(), "invalid CSS selector ``: empty selector");
}

#[test]
fn live_state_pseudo_classes_are_rejected_not_ignored() {
    for s in [
        ":hover",
        "a:focus",
        "input:focus-within",
        ":active",
        ":target",
        ":focus-visible",
    ] {
        let e = CompiledSelector::parse(s).expect_err(s);
        assert!(e.message.contains("no hover, focus"), "{}", e.message);
    }
}

#[test]
fn unsupported_pseudo_classes_and_elements_error() {
    for s in [
        ":read-only",
        ":placeholder-shown",
        ":dir(ltr)",
        "p::first-line",
        "::selection",
        "::part(x)",
        "::slotted(p)",
        ":host",
        ":host(p)",
        "p:host(.x)",
    ] {
        CompiledSelector::parse(s).expect_err(s);
    }
}

#[test]
fn non_elements_never_match() {
    let t = doc("<!-- c -->text<p>x</p>");
    let sel = CompiledSelector::parse("*").unwrap();
    let sel_not = CompiledSelector::parse(":not(p)").unwrap();
    for id in t.descendants(t.root()) {
        if t.element(id).is_none() {
            assert!(!sel.matches(&t, id));
            assert!(!sel_not.matches(&t, id));
        }
    }
    let html = t
        .children(t.root())
        .find(|&i| t.element(i).is_some())
        .unwrap();
    assert!(sel.matches(&t, html));
    assert!(!sel.matches(&t, t.root()));
}

#[test]
fn type_selectors_are_case_insensitive_for_html_elements() {
    let t = doc("<DIV id=a></DIV><Span id=b></Span>");
    assert_eq!(select(&t, "div"), ["div#a"]);
    assert_eq!(select(&t, "DIV"), ["div#a"]);
    assert_eq!(select(&t, "sPaN"), ["span#b"]);
    assert_eq!(select(&t, "*|div"), ["div#a"]);
    assert_eq!(select(&t, "html|div"), ["div#a"]);
    assert!(select(&t, "svg|div").is_empty());
}

#[test]
fn svg_camel_case_type_selectors_are_case_sensitive() {
    let t = doc(
        r#"<svg id=s viewBox="0 0 1 1"><clipPath id=c><rect id="r"/></clipPath><foreignObject id="f"/></svg>"#,
    );
    // The parser keeps SVG's camelCase.
    assert_eq!(select(&t, "clipPath"), ["clipPath#c"]);
    // Per spec (HTML documents), type selectors are ASCII case-insensitive only against
    // HTML elements: `clippath` does not match the SVG element.
    assert!(select(&t, "clippath").is_empty());
    assert!(select(&t, "CLIPPATH").is_empty());
    assert_eq!(select(&t, "svg|clipPath > rect"), ["rect#r"]);
    assert_eq!(select(&t, "foreignObject"), ["foreignObject#f"]);
    // Attribute names likewise: SVG keeps `viewBox`.
    assert_eq!(select(&t, "[viewBox]"), ["svg#s"]);
    assert!(select(&t, "[viewbox]").is_empty());
    assert_eq!(select(&t, "svg"), ["svg#s"]);
    assert_eq!(
        select(&t, "SVG"),
        Vec::<String>::new(),
        "svg is not an HTML element"
    );
}

#[test]
fn attribute_names_are_case_insensitive_for_html_elements() {
    let t = doc(r#"<input id=i DATA-X=1 Name=q>"#);
    assert_eq!(select(&t, "[data-x]"), ["input#i"]);
    assert_eq!(select(&t, "[DATA-X]"), ["input#i"]);
    assert_eq!(select(&t, "[NAME=q]"), ["input#i"]);
    assert!(
        select(&t, "[name=Q]").is_empty(),
        "name values are case-sensitive"
    );
}

#[test]
fn input_type_value_matches_case_insensitively_in_html() {
    let t = doc(r#"<input id=a TYPE=PASSWORD><input id=b type=password><input id=c type=text>"#);
    assert_eq!(select(&t, "input[type=password]"), ["input#a", "input#b"]);
    assert_eq!(select(&t, "input[type=PassWord]"), ["input#a", "input#b"]);
    assert_eq!(select(&t, "[type=password i]"), ["input#a", "input#b"]);
    // Explicit `s` flag forces case-sensitivity.
    assert_eq!(select(&t, "[type=password s]"), ["input#b"]);
    // Other attributes are case-sensitive without the flag.
    let t = doc(r#"<p id=a title=Hello></p><p id=b title=hello></p>"#);
    assert_eq!(select(&t, "[title=hello]"), ["p#b"]);
    assert_eq!(select(&t, "[title=hello i]"), ["p#a", "p#b"]);
}

#[test]
fn type_attribute_on_svg_elements_is_case_sensitive() {
    let t = doc(
        r#"<svg><style id=s type="TEXT/css"></style></svg><style id=h type="TEXT/css"></style>"#,
    );
    assert_eq!(select(&t, "[type='text/css']"), ["style#h"]);
    assert_eq!(select(&t, "[type='text/css' i]"), ["style#s", "style#h"]);
}

#[test]
fn attribute_operators() {
    let t = doc(
        r#"<a id=a href="https://x.example/a.pdf" lang="en-US" class="x  yy z" data-v="abc"></a><a id=b href="/b" lang="en" data-v=""></a><a id=c lang="fr"></a>"#,
    );
    assert_eq!(select(&t, "[href]"), ["a#a", "a#b"]);
    assert_eq!(select(&t, "[href='/b']"), ["a#b"]);
    assert_eq!(select(&t, "[class~=yy]"), ["a#a"]);
    assert!(select(&t, "[class~='x yy']").is_empty());
    assert_eq!(select(&t, "[lang|=en]"), ["a#a", "a#b"]);
    assert_eq!(select(&t, "[href^=https]"), ["a#a"]);
    assert_eq!(select(&t, "[href$='.pdf']"), ["a#a"]);
    assert_eq!(select(&t, "[href*='example']"), ["a#a"]);
    assert_eq!(select(&t, "[data-v='']"), ["a#b"]);
    // Empty values never match the substring operators.
    assert!(select(&t, "[data-v^='']").is_empty());
    assert!(select(&t, "[data-v*='']").is_empty());
    assert_eq!(
        select(&t, "[lang|=EN]"),
        ["a#a", "a#b"],
        "lang is case-insensitive in HTML"
    );
}

#[test]
fn namespaced_attributes() {
    let t = doc(r##"<svg><a id=l xlink:href="#x"></a><use id=u href="#y"/></svg>"##);
    assert_eq!(select(&t, "[xlink|href]"), ["a#l"]);
    assert_eq!(select(&t, "[*|href]"), ["a#l", "use#u"]);
    assert_eq!(select(&t, "[|href]"), ["use#u"]);
    assert_eq!(
        select(&t, "[href]"),
        ["use#u"],
        "no prefix means no namespace"
    );
    assert_eq!(select(&t, "svg|a"), ["a#l"]);
    assert!(select(&t, "html|a").is_empty());
    assert!(CompiledSelector::parse("[foo|href]").is_err());
}

#[test]
fn ids_and_classes_are_case_sensitive() {
    let t = doc(r#"<p id=Foo class="Bar baz"></p><p id=foo class="bar"></p>"#);
    assert_eq!(select(&t, "#Foo"), ["p#Foo"]);
    assert_eq!(select(&t, "#foo"), ["p#foo"]);
    assert_eq!(select(&t, ".Bar"), ["p#Foo"]);
    assert_eq!(select(&t, ".bar"), ["p#foo"]);
    assert_eq!(select(&t, ".Bar.baz"), ["p#Foo"]);
    assert!(select(&t, ".BAZ").is_empty());
    // Classes split on ASCII whitespace only.
    let t = doc("<p id=t class=\"a\tb\nc\u{a0}d\"></p>");
    assert_eq!(select(&t, ".b"), ["p#t"]);
    assert_eq!(
        select(&t, ".c"),
        Vec::<String>::new(),
        "NBSP does not split"
    );
}

#[test]
fn combinators() {
    let t = doc(
        r#"<div id=d><p id=p1><span id=s1></span></p><p id=p2></p>text<!--c--><ul id=u><li id=l1><span id=s2></span></li></ul></div>"#,
    );
    assert_eq!(select(&t, "div span"), ["span#s1", "span#s2"]);
    assert_eq!(select(&t, "div > span"), Vec::<String>::new());
    assert_eq!(select(&t, "p > span"), ["span#s1"]);
    assert_eq!(select(&t, "#p1 + p"), ["p#p2"]);
    assert_eq!(select(&t, "#p1 + ul"), Vec::<String>::new());
    // Text and comments between siblings are skipped.
    assert_eq!(select(&t, "#p2 + ul"), ["ul#u"]);
    assert_eq!(select(&t, "#p1 ~ *"), ["p#p2", "ul#u"]);
    assert_eq!(select(&t, "body > div > ul li > span"), ["span#s2"]);
    assert_eq!(select(&t, "p, li"), ["p#p1", "p#p2", "li#l1"]);
    assert_eq!(select(&t, "html body div p:first-child span"), ["span#s1"]);
}

#[test]
fn logical_pseudo_classes() {
    let t = doc(r#"<p id=a class=x></p><p id=b class=y></p><div id=c class=x></div>"#);
    assert_eq!(select(&t, "p:not(.x)"), ["p#b"]);
    assert_eq!(select(&t, "body > :not(p, .y)"), ["div#c"]);
    assert_eq!(select(&t, ":is(p, div).x"), ["p#a", "div#c"]);
    assert_eq!(select(&t, ":where(p, div).x"), ["p#a", "div#c"]);
    assert_eq!(select(&t, "body :is(.y)"), ["p#b"]);
    // :is() / :where() are forgiving: an invalid argument is dropped, not an error.
    assert_eq!(select(&t, ":is(:hover2, .y)"), ["p#b"]);
    // :not() is not forgiving.
    assert!(CompiledSelector::parse(":not(:hover2)").is_err());
    assert_eq!(select(&t, ":not(:not(#a))"), ["p#a"]);
}

#[test]
fn has_pseudo_class() {
    let t = doc(
        r#"<section id=s1><h2 id=h>t</h2><p id=p1><a id=a1 href=x></a></p></section><section id=s2><p id=p2></p></section><div id=d><img id=i><span id=sp></span></div>"#,
    );
    assert_eq!(select(&t, "section:has(a)"), ["section#s1"]);
    assert_eq!(select(&t, "section:has(> h2)"), ["section#s1"]);
    assert_eq!(select(&t, "section:has(> a)"), Vec::<String>::new());
    assert_eq!(select(&t, "img:has(+ span)"), ["img#i"]);
    assert_eq!(select(&t, "h2:has(~ p a[href])"), ["h2#h"]);
    assert_eq!(select(&t, "section:not(:has(a))"), ["section#s2"]);
    assert_eq!(select(&t, ":has(.nothing)"), Vec::<String>::new());
    assert_eq!(select(&t, "body > :has(#sp)"), ["div#d"]);
}

#[test]
fn has_with_namespaces_case_and_combinators() {
    let t = doc(
        r#"<main id=m><div class="k Mixed"><p id=z>t</p><svg><clipPath id=cp><rect id=r /></clipPath></svg></div><span></span></main>"#,
    );
    for (sel, hit) in [
        (":has(p)", true),
        (":has(.k)", true),
        (":has(.Mixed)", true),
        (":has(.mixed)", false),
        (":has(#z)", true),
        (":has(#Z)", false),
        (":has(rect)", true),
        (":has(svg|rect)", true),
        (":has(html|rect)", false),
        (":has(clipPath)", true),
        (":has(clippath)", false),
        (":has(DIV)", true),
        (":has(P.k)", false),
        (":has(> span)", true),
        (":has(div > p#z)", true),
        (":has(.nope)", false),
        (":has(svg|*)", true),
    ] {
        assert_eq!(
            select(&t, &format!("main{sel}")),
            if hit {
                vec!["main#m".to_owned()]
            } else {
                vec![]
            },
            "{sel}"
        );
    }
    assert_eq!(select(&t, "main:has(clipPath)"), ["main#m"]);
    assert!(select(&t, "main:has(clippath)").is_empty());
    assert_eq!(select(&t, "main:has(DIV.Mixed)"), ["main#m"]);
    assert!(select(&t, "main:has(.mixed)").is_empty());
}

#[test]
fn nth_child_and_nth_of_type_on_ten_items() {
    let mut html = String::from("<ul id=u>");
    for i in 1..=10 {
        if i % 3 == 0 {
            html.push_str(&format!("<li id=i{i} class=k>x</li>"));
        } else {
            html.push_str(&format!("<li id=i{i}>x</li>"));
        }
        if i == 5 {
            html.push_str("<hr id=hr>");
        }
    }
    html.push_str("</ul>");
    let t = doc(&html);
    let ids = |v: Vec<String>| {
        v.into_iter()
            .map(|s| s.rsplit('#').next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // Children: i1..i5, hr, i6..i10 (hr is child 6).
    assert_eq!(
        ids(select(&t, "li:nth-child(2n+1)")),
        ["i1", "i3", "i5", "i6", "i8", "i10"]
    );
    assert_eq!(
        ids(select(&t, "li:nth-child(odd)")),
        ["i1", "i3", "i5", "i6", "i8", "i10"]
    );
    assert_eq!(
        ids(select(&t, "li:nth-child(even)")),
        ["i2", "i4", "i7", "i9"]
    );
    assert_eq!(ids(select(&t, ":nth-child(6)")), ["hr"]);
    assert_eq!(
        ids(select(&t, "li:nth-of-type(2n+1)")),
        ["i1", "i3", "i5", "i7", "i9"]
    );
    assert_eq!(ids(select(&t, "li:nth-of-type(6)")), ["i6"]);
    assert_eq!(ids(select(&t, "li:nth-child(-n+3)")), ["i1", "i2", "i3"]);
    assert_eq!(ids(select(&t, "li:nth-last-child(2)")), ["i9"]);
    assert_eq!(
        ids(select(&t, "li:nth-last-of-type(3n)")),
        ["i2", "i5", "i8"]
    );
    assert_eq!(ids(select(&t, "li:nth-child(2n+1 of .k)")), ["i3", "i9"]);
    assert_eq!(ids(select(&t, ":nth-child(2 of .k)")), ["i6"]);
    assert_eq!(ids(select(&t, ":nth-last-child(1 of li:not(.k))")), ["i10"]);
    assert_eq!(ids(select(&t, "li:first-child")), ["i1"]);
    assert_eq!(ids(select(&t, "li:last-child")), ["i10"]);
    assert_eq!(ids(select(&t, "ul > :first-of-type")), ["i1", "hr"]);
    assert_eq!(ids(select(&t, "ul > :last-of-type")), ["hr", "i10"]);
    assert_eq!(ids(select(&t, "ul > :only-of-type")), ["hr"]);
    assert!(select(&t, "li:only-child").is_empty());
    assert_eq!(ids(select(&t, "li:nth-child(n+9)")), ["i8", "i9", "i10"]);
    assert_eq!(ids(select(&t, "li:nth-of-type(n+9)")), ["i9", "i10"]);
}

#[test]
fn results_follow_edits_of_the_tree() {
    let a = doc("<p id=x></p><p id=y></p><p id=z></p>");
    let b = doc("<div></div><p id=x></p>");
    let s = CompiledSelector::parse("p:nth-child(2)").unwrap();
    let m = |t: &Tree| -> Vec<NodeId> {
        t.descendants(t.root())
            .filter(|&i| s.matches(t, i))
            .collect()
    };
    let ra = m(&a);
    let rb = m(&b);
    assert_eq!(ra.len(), 1);
    assert_eq!(rb.len(), 1);
    assert_eq!(m(&a), ra);
    // After an edit, the edited tree's results.
    let mut a2 = a.clone();
    let body = a2
        .descendants(a2.root())
        .find(|&i| a2.element(i).is_some_and(|e| &*e.name.local == "body"))
        .unwrap();
    let first = a2.first_child(body).unwrap();
    a2.detach(first);
    let r2: Vec<String> = m(&a2)
        .iter()
        .map(|&i| a2.element(i).unwrap().attr("id").unwrap().to_owned())
        .collect();
    assert_eq!(r2, ["z"]);
}

#[test]
fn empty_and_root() {
    let t = doc(
        "<p id=a></p><p id=b><!-- c --></p><p id=c> </p><p id=d><b></b></p><template id=t><p>in</p></template><template id=t2></template>",
    );
    assert_eq!(select(&t, "p:empty"), ["p#a", "p#b"]);
    // A template's contents are not its children: it is :empty.
    assert_eq!(select(&t, "template:empty"), ["template#t", "template#t2"]);
    assert_eq!(select(&t, ":root"), ["html"]);
    assert_eq!(select(&t, "html:root > body"), ["body"]);
    // In a fragment, nothing is :root.
    let f = parse_fragment_str("<div id=x><p></p></div>", "body");
    assert!(select(&f, ":root").is_empty());
    assert_eq!(select(&f, "div > p"), ["p"]);
    assert_eq!(select(&f, ":scope"), Vec::<String>::new());
}

#[test]
fn template_contents_are_a_separate_tree() {
    let t = doc(
        "<div id=d><template id=t><p id=in><span id=s></span></p><i id=i2></i></template><p id=out></p></div>",
    );
    assert_eq!(select(&t, "template p"), Vec::<String>::new());
    assert_eq!(select(&t, "div p"), ["p#out"]);
    assert_eq!(select(&t, "template > *"), Vec::<String>::new());
    assert_eq!(select(&t, "template:has(p)"), Vec::<String>::new());
    assert_eq!(select(&t, "div:has(#s)"), Vec::<String>::new());
    // Elements inside still match selectors that stay inside the contents; those at the top
    // of the contents have no parent element.
    assert_eq!(select(&t, "p > span"), ["span#s"]);
    assert_eq!(select(&t, "#in + i"), ["i#i2"]);
    assert_eq!(select(&t, "#in:first-child"), ["p#in"]);
    assert_eq!(select(&t, "* > #in"), Vec::<String>::new());
    assert_eq!(select(&t, "#in:root"), Vec::<String>::new());
    assert_eq!(select(&t, "template + p"), ["p#out"]);
    // :nth-child indices inside the contents count from the fragment.
    assert_eq!(select(&t, "i:nth-child(2)"), ["i#i2"]);
}

#[test]
fn link_pseudo_classes() {
    let t = doc(
        r##"<a id=a href="/x">x</a><a id=b>no href</a><map><area id=c href="/y"></map><link id=l rel=stylesheet href=s.css><svg><a id=sa href="#"></a><a id=sx xlink:href="#"></a><a id=sn></a></svg>"##,
    );
    // `<link>` is not a link in the `:link` sense; SVG `<a>` is.
    assert_eq!(select(&t, ":link"), ["a#a", "area#c", "a#sa", "a#sx"]);
    assert_eq!(select(&t, ":any-link"), ["a#a", "area#c", "a#sa", "a#sx"]);
    assert!(select(&t, ":visited").is_empty());
    assert!(select(&t, ":not(:visited)").len() > 5);
    assert_eq!(select(&t, "a:not(:any-link)"), ["a#b", "a#sn"]);
}

#[test]
fn form_state_pseudo_classes() {
    let t = doc(r#"<form>
          <input id=c1 type=checkbox checked><input id=c2 type=CHECKBOX><input id=r1 type=radio checked>
          <input id=t1 type=text checked>
          <select id=sel required><option id=o1 selected>a</option><option id=o2>b</option>
            <optgroup id=g disabled><option id=o3>c</option></optgroup></select>
          <button id=b1 disabled>x</button><textarea id=ta></textarea><input id=h type=hidden required>
          <fieldset id=f disabled><legend id=lg><input id=in1></legend><legend><input id=in2></legend><input id=in3 required></fieldset>
        </form>"#);
    assert_eq!(
        select(&t, ":checked"),
        ["input#c1", "input#r1", "option#o1"]
    );
    assert_eq!(
        select(&t, ":disabled"),
        [
            "optgroup#g",
            "option#o3",
            "button#b1",
            "fieldset#f",
            "input#in2",
            "input#in3"
        ]
    );
    assert_eq!(
        select(&t, "input:enabled"),
        [
            "input#c1",
            "input#c2",
            "input#r1",
            "input#t1",
            "input#h",
            "input#in1"
        ]
    );
    assert_eq!(select(&t, ":required"), ["select#sel", "input#in3"]);
    assert_eq!(
        select(&t, "textarea:optional, input[type=text]:optional"),
        ["input#t1", "textarea#ta"]
    );
    assert!(select(&t, "div:enabled, form:disabled").is_empty());

    // Live props override the markup.
    let mut t = t;
    let find = |t: &Tree, id: &str| {
        t.descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| e.attr("id") == Some(id)))
            .unwrap()
    };
    let c1 = find(&t, "c1");
    let c2 = find(&t, "c2");
    let o2 = find(&t, "o2");
    let o1 = find(&t, "o1");
    t.set_prop(c1, crate::dom::tree::Prop::Checked(Some(false)));
    t.set_prop(c2, crate::dom::tree::Prop::Checked(Some(true)));
    t.set_prop(o1, crate::dom::tree::Prop::Selected(Some(false)));
    t.set_prop(o2, crate::dom::tree::Prop::Selected(Some(true)));
    assert_eq!(
        select(&t, ":checked"),
        ["input#c2", "input#r1", "option#o2"]
    );
}

#[test]
fn selector_list_and_whitespace_and_comments() {
    let t = doc("<p id=a></p><div id=b></div>");
    assert_eq!(select(&t, "  p ,\n div  "), ["p#a", "div#b"]);
    assert_eq!(select(&t, "p/* c */, div"), ["p#a", "div#b"]);
    let s = CompiledSelector::parse(" p , div ").unwrap();
    assert_eq!(s.source(), " p , div ");
}

#[test]
fn escapes_and_strings() {
    let t = doc(r#"<p id="a:b" class="1x" title='say "hi"'></p>"#);
    assert_eq!(select(&t, r"#a\:b"), ["p#a:b"]);
    assert_eq!(select(&t, r".\31 x"), ["p#a:b"]);
    assert_eq!(select(&t, r#"[title='say "hi"']"#), ["p#a:b"]);
    assert_eq!(select(&t, r#"[title="say \"hi\""]"#), ["p#a:b"]);
}

#[test]
fn overly_nested_or_long_selectors_are_rejected_not_crashing() {
    let nested = format!("{}p{}", ":not(".repeat(200), ")".repeat(200));
    let e = CompiledSelector::parse(&nested).unwrap_err();
    assert!(e.message.contains("nested"), "{}", e.message);
    let long = vec!["div"; 2000].join(" ");
    let e = CompiledSelector::parse(&long).unwrap_err();
    assert!(e.message.contains("too complex"), "{}", e.message);
    // Within the limits both parse and match.
    let ok = format!("{}p{}", ":is(".repeat(74), ")".repeat(74));
    let t = doc("<p id=a></p>");
    assert_eq!(select(&t, &ok), ["p#a"]);
    let ok = format!("{}p{}", ":not(:not(".repeat(37), "))".repeat(37));
    let t = doc("<p id=a></p>");
    assert_eq!(select(&t, &ok), ["p#a"]);
    let ok = vec!["*"; 500].join(" ");
    CompiledSelector::parse(&ok).unwrap();
}

fn deep_tree(depth: usize) -> Tree {
    let mut html = String::with_capacity(depth * 24);
    for i in 0..depth {
        html.push_str(if i % 2 == 0 {
            "<div class=a>"
        } else {
            "<section>"
        });
    }
    html.push_str("<p id=leaf></p>");
    for i in (0..depth).rev() {
        html.push_str(if i % 2 == 0 { "</div>" } else { "</section>" });
    }
    doc(&html)
}

#[test]
fn deeply_nested_tree_does_not_overflow() {
    // Run on a thread with the default test stack size (2 MiB), as tests do.
    let t = deep_tree(5000);
    let leaf = t
        .descendants(t.root())
        .find(|&n| t.element(n).is_some_and(|e| e.attr("id") == Some("leaf")))
        .unwrap();
    let mut depth = 0;
    let mut cur = leaf;
    while let Some(p) = t.parent(cur) {
        depth += 1;
        cur = p;
    }
    assert!(depth > 5000, "html5ever kept the nesting ({depth})");
    for (sel, expect_leaf) in [
        ("body div p", true),
        ("body > div > section > div p#leaf", true),
        ("span p", false),
        ("div.a section.b p", false),
        ("div:not(.a) p", false),
        ("section > p", true),
        ("div > p", false),
        (":is(div, section) :where(div) > section > p", true),
        (":is(div, section) :where(section) > div > p", false),
        ("body:has(p#leaf) p", true),
        ("html:not(:has(span)) p", true),
        ("html p:only-child:empty", true),
        ("div ~ p, span p", false),
    ] {
        let s = CompiledSelector::parse(sel).unwrap();
        assert_eq!(s.matches(&t, leaf), expect_leaf, "{sel}");
    }
    // Matching every element of the deep tree (descendant combinator walks all ancestors).
    assert_eq!(count(&t, "body div.a section div p"), 1);
    assert_eq!(count(&t, "section:nth-child(1) > div:first-child"), 2499);
    // :has() over the whole deep subtree, from the top and from every element.
    let body = t
        .descendants(t.root())
        .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "body"))
        .unwrap();
    let s = CompiledSelector::parse("body:has(p#leaf)").unwrap();
    assert!(s.matches(&t, body));
    assert_eq!(count(&t, "div:has(> p)"), 0);
    assert_eq!(count(&t, "section:has(p)"), 2500);
}

/// `deep_tree` built through the tree API (html5ever's tree builder is quadratic in the
/// nesting depth, too slow for 40,000 levels in a unit test).
fn deep_tree_built(depth: usize) -> Tree {
    use crate::dom::tree::{Attr, Attrs, attr_name, html_name};
    let attrs = |pairs: &[(&str, &str)]| -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| Attr {
                name: attr_name(k),
                value: (*v).into(),
            })
            .collect()
    };
    let mut t = Tree::new_document();
    let root = t.root();
    let doctype = t.create(crate::dom::tree::Doctype::node("html", "", ""));
    t.append(root, doctype);
    let html = t.create_element(html_name("html"), Attrs::new());
    t.append(root, html);
    let head = t.create_element(html_name("head"), Attrs::new());
    t.append(html, head);
    let body = t.create_element(html_name("body"), Attrs::new());
    t.append(html, body);
    let mut parent = body;
    for i in 0..depth {
        let e = if i % 2 == 0 {
            t.create_element(html_name("div"), attrs(&[("class", "a")]))
        } else {
            t.create_element(html_name("section"), Attrs::new())
        };
        t.append(parent, e);
        parent = e;
    }
    let leaf = t.create_element(html_name("p"), attrs(&[("id", "leaf")]));
    t.append(parent, leaf);
    t
}

#[test]
fn has_on_a_pathologically_deep_tree_does_not_overflow() {
    // 40,000 levels: `selectors`' recursive :has() search would need ~6-14 MB of stack, more
    // than a test thread (2 MiB) has; `matches` moves such searches to a big-stack thread.
    let t = deep_tree_built(40_000);
    assert_eq!(
        deep_tree(50).first_difference(&deep_tree_built(50)),
        None,
        "both builders agree"
    );
    let body = t
        .descendants(t.root())
        .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "body"))
        .unwrap();
    let s = CompiledSelector::parse("body:has(p#leaf)").unwrap();
    assert!(s.matches(&t, body));
    let s = CompiledSelector::parse("body:has(span)").unwrap();
    assert!(!s.matches(&t, body));
    let s = CompiledSelector::parse("body > div:has(~ p)").unwrap();
    let first = t.first_child(body).unwrap();
    assert!(!s.matches(&t, first));
    // Plain selectors stay on the caller's thread and are fine at any depth.
    let leaf = t
        .descendants(t.root())
        .find(|&n| t.element(n).is_some_and(|e| e.attr("id") == Some("leaf")))
        .unwrap();
    let s = CompiledSelector::parse("body div section div p").unwrap();
    assert!(s.matches(&t, leaf));
}

/// A ~100 KB page of realistic markup, for the timing note.
fn big_page() -> String {
    let mut s = String::from(
        "<!DOCTYPE html><html><head><title>t</title><link rel=stylesheet href=/s.css></head><body><header class=\"site-header\"><nav><ul>",
    );
    for i in 0..20 {
        s.push_str(&format!(
            "<li class=\"nav-item{}\"><a href=\"/section/{i}\">Section {i}</a></li>",
            if i == 3 { " active" } else { "" }
        ));
    }
    s.push_str("</ul></nav></header><main id=content>");
    let mut i = 0;
    while s.len() < 100_000 {
        s.push_str(&format!(
            "<article class=\"card post-{i}\" data-id=\"{i}\"><h2 class=title><a href=\"/p/{i}\">Post {i}</a></h2>\
             <p class=\"lead\">Lorem ipsum <em>dolor</em> sit amet, <strong>consectetur</strong> adipiscing.</p>\
             <form class=comment><input type=text name=q placeholder=Search><input type=password name=pw>\
             <input type=checkbox {}><button type=submit>Go</button></form><ul class=tags><li>a</li><li>b</li><li>c</li></ul></article>",
            if i % 2 == 0 { "checked" } else { "" }
        ));
        i += 1;
    }
    s.push_str("</main><footer><p>&copy; x</p></footer></body></html>");
    s
}

#[test]
fn perf_note_five_selectors_on_a_100kb_page() {
    let html = big_page();
    let mut pages = vec![("synthetic".to_owned(), html)];
    // Also a real page from the corpus, when the cache is present.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus/cache/htmlparser-benchmark");
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let mut best: Option<(u64, std::path::PathBuf)> = None;
        for e in rd.flatten() {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            let d = len.abs_diff(100_000);
            if best.as_ref().is_none_or(|(b, _)| d < *b) {
                best = Some((d, e.path()));
            }
        }
        if let Some((_, p)) = best
            && let Ok(bytes) = std::fs::read(&p)
        {
            pages.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    let sels: Vec<_> = [
        "input[type=password]",
        "form.comment input:not([type=submit])",
        "article:nth-child(2n+1) > h2 a[href^='/p/']",
        "ul li:last-child",
        "article:has(input:checked) .lead em",
    ]
    .iter()
    .map(|s| CompiledSelector::parse(s).unwrap())
    .collect();
    for (name, html) in pages {
        let t = parse_document_str(&html);
        let elements: Vec<NodeId> = t
            .descendants(t.root())
            .filter(|&n| t.element(n).is_some())
            .collect();
        let start = std::time::Instant::now();
        let mut hits = [0usize; 5];
        let rounds = 5;
        for _ in 0..rounds {
            hits = [0; 5];
            for &id in &elements {
                for (k, s) in sels.iter().enumerate() {
                    if s.matches(&t, id) {
                        hits[k] += 1;
                    }
                }
            }
        }
        let per = start.elapsed() / rounds;
        println!(
            "selector perf [{name}]: {} bytes, {} elements, 5 selectors x every element: {per:?} per pass (hits {hits:?})",
            html.len(),
            elements.len()
        );
    }
}

/// Selectors for the differential test: every feature the module supports, in combinations,
/// plus texts both must refuse.
const DIFFERENTIAL: &[&str] = &[
    "*",
    "div",
    "DIV",
    "a",
    "p",
    "span",
    "li",
    "img",
    "svg",
    "path",
    "clipPath",
    "clippath",
    "svg|*",
    "html|*",
    "*|*",
    "|p",
    "svg|svg",
    "mathml|math",
    "html|A",
    "#main",
    "#content",
    ".nav",
    ".active",
    ".btn.primary",
    "div.container",
    "a.button",
    "[href]",
    "[HREF]",
    "[class]",
    "[id]",
    "[style]",
    "[data-id]",
    "[viewBox]",
    "[viewbox]",
    "[type=text]",
    "[type=TEXT]",
    "[type='submit' s]",
    "[type=hidden i]",
    "[lang|=en]",
    "[rel~=nofollow]",
    "[rel~='no follow']",
    "[rel~='']",
    "[href^=http]",
    "[href^='https:']",
    "[href$='.pdf']",
    "[href*=google]",
    "[href*='']",
    "[href^='']",
    "[class*=nav i]",
    "[src$=png i]",
    "[title]",
    "[alt='']",
    "[target=_blank]",
    "[target=_BLANK]",
    "[xlink|href]",
    "[*|href]",
    "[|href]",
    "[name=q]",
    "[method=post]",
    "[method=POST]",
    "a[href]:not([href^='#'])",
    "div > p",
    "div p",
    "ul > li",
    "li + li",
    "li ~ li",
    "h1 + p",
    "h2 ~ p",
    "body > *",
    "html > body > div",
    "div > div > div",
    "ul li a",
    "nav a",
    "form input",
    "form > input",
    "table tr td",
    "tr > td:first-child",
    "td + td + td",
    "div ~ div > p",
    "p + ul li",
    "* + *",
    "* > * > * > * > *",
    ":root",
    ":root > body",
    ":scope",
    ":empty",
    "div:empty",
    "p:empty",
    "td:empty",
    ":first-child",
    ":last-child",
    ":only-child",
    "li:first-child",
    "li:last-child",
    "p:only-child",
    ":first-of-type",
    ":last-of-type",
    ":only-of-type",
    "div:first-of-type",
    "a:last-of-type",
    ":nth-child(2)",
    ":nth-child(2n)",
    ":nth-child(2n+1)",
    ":nth-child(odd)",
    ":nth-child(EVEN)",
    ":nth-child(-n+3)",
    ":nth-child(n+4)",
    ":nth-child(3n - 1)",
    ":nth-child(3n-1)",
    ":nth-child( +2n + 0 )",
    ":nth-child(-2n+5)",
    ":nth-child(0n+1)",
    ":nth-child(n)",
    ":nth-child(-n)",
    ":nth-child(0)",
    "li:nth-child(5n)",
    ":nth-last-child(1)",
    ":nth-last-child(2n)",
    ":nth-of-type(2)",
    ":nth-of-type(odd)",
    ":nth-last-of-type(2)",
    "li:nth-last-of-type(-n+2)",
    ":nth-child(2 of .active)",
    ":nth-child(odd of li, p)",
    ":nth-last-child(1 of a[href])",
    ":nth-child(2n of div > *)",
    ":not(div)",
    ":not(div, span)",
    "div:not(.container)",
    ":not(:first-child)",
    "a:not([href])",
    ":not(div p)",
    ":not(:not(a))",
    ":is(h1, h2, h3)",
    ":is(ul, ol) > li",
    ":where(nav, header) a",
    ":is(div p, ul li) a",
    ":is(:hover2, p)",
    ":is()",
    ":where(.x)",
    "div:has(p)",
    "div:has(> p)",
    "ul:has(> li + li)",
    "li:has(+ li)",
    "h2:has(~ p)",
    "div:has(a[href]):not(:has(img))",
    "body :has(> img)",
    ":has(> *)",
    "p:has(a, img)",
    "tr:has(td:empty)",
    "div:has(~ div p)",
    "li:has(+ li a)",
    "section:has(h2 + p)",
    ":is(div, p):has(span)",
    "table:has(tr:nth-child(3))",
    "a:has(> img:only-child)",
    ":link",
    ":any-link",
    ":visited",
    "a:not(:visited)",
    ":checked",
    "input:checked",
    ":disabled",
    ":enabled",
    "input:enabled",
    ":required",
    ":optional",
    "select:optional",
    "option:checked",
    "fieldset :disabled",
    "button:enabled",
    "html body div span a",
    "body div div div",
    "div :is(a, span) + :where(span, a)",
    "a:first-child:last-child",
    "p, div, span",
    " p ,div ",
    "p/**/div",
    "p /* x */ > a",
    r"#\31 0",
    r".\61 ",
    r"[data-x='a\'b']",
    "[data-x=\"a b\"]",
    // Refused by both.
    "",
    " ",
    ",",
    "p,",
    ",p",
    "> p",
    "p >",
    "p > > a",
    "div[[",
    "[",
    "[x=]",
    "[x=y z]",
    "#",
    ".",
    "#1",
    ".1a",
    "::before",
    "p::after",
    ":before",
    "a:hover",
    ":focus",
    ":hover2",
    ":lang(en)",
    ":dir(ltr)",
    ":host",
    ":host(p)",
    ":not(",
    ":not()",
    ":nth-child(foo)",
    ":nth-child()",
    ":nth-child(2n+)",
    ":nth-child(+ 2n)",
    ":nth-child(2 n)",
    ":nth-of-type(2 of p)",
    "foo|bar",
    "&",
    "div ++ p",
    ":has()",
    ":has(:has(p))",
    ":has(::before)",
    ":read-only",
    "p!",
    "p)",
    "[x|=]",
    "[foo|href]",
];

/// The module agrees with servo's `selectors` (the reference, `servo_reference.rs`, which
/// the engine shipped before) on which selectors are valid and on which elements of real
/// pages each one matches.
#[test]
fn agrees_with_servo_selectors_on_corpus_pages() {
    use super::servo_reference as servo;
    let mut pages = vec![doc(
        r##"<div id=main class="container"><nav class="nav"><a href="#x" class="button active">x</a><a>y</a></nav>
        <form method=POST><fieldset disabled><legend><input name=q type=TEXT></legend><input required type=checkbox checked></fieldset>
        <select><option selected>a</option><optgroup disabled><option>b</option></optgroup></select><button>b</button></form>
        <ul><li>1</li><li class=active>2</li><li><a href=/f.PDF>3</a></li><li></li><li><img src=x.PNG alt=""></li></ul>
        <svg viewBox="0 0 1 1"><clipPath id=c><path/></clipPath><a xlink:href="#c"></a></svg><p></p><p><span></span></p>
        <table><tr><td></td><td>x</td><td></td></tr></table><template><p>in</p></template><div id=10 class=a></div></div>"##,
    )];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus/cache/htmlparser-benchmark");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    // Every 16th page (16 pages), for the test's time.
    for f in files.iter().step_by(16) {
        let html = std::fs::read(f).unwrap();
        pages.push(parse_document_str(&String::from_utf8_lossy(&html)));
    }
    assert!(
        pages.len() > 10,
        "the corpus cache is present (corpus/fetch.sh)"
    );
    let (mut checked, mut hits, mut valid) = (0usize, 0usize, 0usize);
    let mut wrong = Vec::new();
    for &sel in DIFFERENTIAL {
        let ours = CompiledSelector::parse(sel);
        let theirs = servo::CompiledSelector::parse(sel);
        if ours.is_ok() != theirs.is_ok() {
            wrong.push(format!(
                "`{sel}`: ours {:?}, servo {:?}",
                ours.as_ref().err().map(|e| &e.message),
                theirs.as_ref().err().map(|e| &e.message)
            ));
            continue;
        }
        let (Ok(ours), Ok(theirs)) = (ours, theirs) else {
            continue;
        };
        valid += 1;
        for t in &pages {
            let mut caches = servo::MatchCaches::default();
            for id in t.descendants(t.root()) {
                let want = theirs.matches(t, id, &mut caches);
                if ours.matches(t, id) != want && wrong.len() < 50 {
                    wrong.push(format!("`{sel}` on {id:?}: servo says {want}"));
                }
                checked += 1;
                hits += usize::from(want);
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(valid > 150 && hits > 100_000, "{valid} valid, {hits} hits");
    println!("{valid} selectors, {checked} node matches compared, {hits} hits");
}
