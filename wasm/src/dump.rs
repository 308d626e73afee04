//! A canonical text dump of a tree, one node per line in pre-order, for tests that compare the
//! engine's trees with a browser's DOM (the page's `test/dom-dump.js` writes the same format).
//!
//! Line: two spaces per depth, then
//! `#document`, `#fragment`, `<!DOCTYPE name "public" "system">`, `"text"`, `<!--data-->`, or
//! `<prefix:local a="v" ...>` (prefix `svg:`/`math:` for SVG/MathML elements, attribute
//! prefixes `xlink:`/`xml:`/`xmlns:`), followed by the set props: ` :value="..."`,
//! ` :checked=true|false`, ` :selected=true|false` (scroll offsets are left out: they
//! depend on layout; tests compare them on their own). Strings are escaped (`\\`, `\"`,
//! `\n`).

use cobrowse_engine::{NodeData, Tree, WireNs};

fn esc(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn prefix(ns: WireNs, element: bool) -> &'static str {
    match ns {
        WireNs::Svg => "svg:",
        WireNs::MathMl => "math:",
        WireNs::XLink => "xlink:",
        WireNs::Xml => "xml:",
        WireNs::XmlNs => "xmlns:",
        WireNs::Html | WireNs::None => {
            if element && ns == WireNs::None {
                "none:"
            } else {
                ""
            }
        }
    }
}

/// The dump of `tree`.
pub fn dump(tree: &Tree) -> String {
    let mut out = String::new();
    let mut stack = vec![(tree.root(), 0usize)];
    while let Some((n, depth)) = stack.pop() {
        for _ in 0..depth {
            out.push_str("  ");
        }
        match tree.data(n) {
            NodeData::Document { .. } => out.push_str("#document"),
            NodeData::Fragment => out.push_str("#fragment"),
            NodeData::Doctype(d) => {
                let (name, public_id, system_id) = (&d.name, &d.public_id, &d.system_id);
                out.push_str("<!DOCTYPE ");
                esc(name, &mut out);
                out.push_str(" \"");
                esc(public_id, &mut out);
                out.push_str("\" \"");
                esc(system_id, &mut out);
                out.push_str("\">");
            }
            NodeData::Text(t) => {
                out.push('"');
                esc(t, &mut out);
                out.push('"');
            }
            NodeData::Comment(t) => {
                out.push_str("<!--");
                esc(t, &mut out);
                out.push_str("-->");
            }
            NodeData::Element(e) => {
                out.push('<');
                let ns = WireNs::of(&e.name.ns);
                out.push_str(prefix(ns, true));
                out.push_str(&e.name.local);
                for a in &e.attrs {
                    out.push(' ');
                    let ans = WireNs::of(&a.name.ns);
                    if !(ans == WireNs::XmlNs && &*a.name.local == "xmlns") {
                        out.push_str(prefix(ans, false));
                    }
                    out.push_str(&a.name.local);
                    out.push_str("=\"");
                    esc(&a.value, &mut out);
                    out.push('"');
                }
                if let Some(p) = e.props.as_deref() {
                    if let Some(v) = &p.value {
                        out.push_str(" :value=\"");
                        esc(v, &mut out);
                        out.push('"');
                    }
                    if let Some(v) = p.checked {
                        out.push_str(&format!(" :checked={v}"));
                    }
                    if let Some(v) = p.selected {
                        out.push_str(&format!(" :selected={v}"));
                    }
                }
                out.push('>');
            }
        }
        out.push('\n');
        let kids: Vec<_> = tree.children(n).collect();
        for &k in kids.iter().rev() {
            stack.push((k, depth + 1));
        }
    }
    out
}
