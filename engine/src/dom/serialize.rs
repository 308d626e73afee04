//! HTML serialization of a [`Tree`], following the HTML standard's "serializing HTML
//! fragments" algorithm, with two additions that make parsed trees read back unchanged: a
//! carriage return in text or an attribute value is written as `&#13;` (the parser turns a
//! literal one into a newline), and doctype identifiers keep their public and system ids,
//! quoted with the quote they do not contain.
//!
//! A template's contents fragment serializes inside its `<template>`. Text inside the HTML
//! raw-text elements (`style`, `script`, `xmp`, `iframe`, `noembed`, `noframes`,
//! `plaintext`, and `noscript`, as parsed with scripting on) is written as it is: whether it
//! reads back the same is the sanitizer's business (see `rules::sanitize`), not the
//! serializer's. A same-origin iframe's content document (the iframe's only child in the
//! tree) has no markup inside its `<iframe>`: the iframe is written empty, and
//! [`subtree_to_html`] of the content document writes that document on its own (so each
//! document of the tree reads back as itself). The walk is iterative: real pages nest deeper than a recursive serializer's
//! stack allows.

use std::io::{self, Write};

use markup5ever::ns;

use crate::dom::tree::{NodeData, NodeId, Tree, is_void_element};

/// Serializes the whole tree.
pub fn to_html(tree: &Tree) -> String {
    let mut out = Vec::new();
    write_children(tree, tree.root(), &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("serializer writes UTF-8")
}

/// Serializes one node and its subtree (outer HTML).
pub fn subtree_to_html(tree: &Tree, id: NodeId) -> String {
    let mut out = Vec::new();
    match tree.data(id) {
        NodeData::Document { .. } | NodeData::Fragment => write_children(tree, id, &mut out),
        _ => write_subtree(tree, id, &mut out),
    }
    .expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("serializer writes UTF-8")
}

fn write_children(tree: &Tree, parent: NodeId, out: &mut Vec<u8>) -> io::Result<()> {
    for c in tree.children(parent) {
        if !tree.is_document(c) {
            write_subtree(tree, c, out)?;
        }
    }
    Ok(())
}

/// HTML elements whose text children are written without escaping.
fn holds_raw_text(tree: &Tree, parent: Option<NodeId>) -> bool {
    parent.and_then(|p| tree.element(p)).is_some_and(|e| {
        e.name.ns == ns!(html)
            && matches!(
                &*e.name.local,
                "style"
                    | "script"
                    | "xmp"
                    | "iframe"
                    | "noembed"
                    | "noframes"
                    | "plaintext"
                    | "noscript"
            )
    })
}

fn write_escaped(out: &mut Vec<u8>, text: &str, attribute: bool) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let rep: &[u8] = match c {
            '&' => b"&amp;",
            '\u{A0}' => b"&nbsp;",
            '<' => b"&lt;",
            '>' => b"&gt;",
            '"' if attribute => b"&quot;",
            '\r' => b"&#13;",
            _ => continue,
        };
        out.write_all(&text.as_bytes()[start..i])?;
        out.write_all(rep)?;
        start = i + c.len_utf8();
    }
    out.write_all(&text.as_bytes()[start..])
}

fn write_start_tag(out: &mut Vec<u8>, tree: &Tree, id: NodeId) -> io::Result<()> {
    let Some(e) = tree.element(id) else {
        return Ok(());
    };
    out.write_all(b"<")?;
    out.write_all(e.name.local.as_bytes())?;
    for a in &e.attrs {
        out.write_all(b" ")?;
        let prefix: &[u8] = match a.name.ns {
            ns!(xml) => b"xml:",
            ns!(xmlns) if &*a.name.local != "xmlns" => b"xmlns:",
            ns!(xlink) => b"xlink:",
            _ => b"",
        };
        out.write_all(prefix)?;
        out.write_all(a.name.local.as_bytes())?;
        out.write_all(b"=\"")?;
        write_escaped(out, &a.value, true)?;
        out.write_all(b"\"")?;
    }
    out.write_all(b">")?;
    // HTML drops one newline right after <pre>, <textarea> and <listing>: write an extra one
    // when the content starts with a newline.
    if e.name.ns == ns!(html)
        && matches!(&*e.name.local, "pre" | "textarea" | "listing")
        && tree
            .first_child(id)
            .is_some_and(|c| matches!(tree.data(c), NodeData::Text(t) if t.starts_with('\n')))
    {
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_doctype(data: &NodeData, out: &mut Vec<u8>) -> io::Result<()> {
    let NodeData::Doctype(d) = data else {
        return Ok(());
    };
    let (name, public_id, system_id) = (&d.name, &d.public_id, &d.system_id);
    // An identifier is quoted with whichever quote it does not hold (a parsed one never holds
    // both): a `"` inside `"..."` would end it early and make the doctype bogus, which flips
    // the document into quirks mode when the HTML is parsed again.
    let quoted = |id: &str| {
        if id.contains('"') {
            format!("'{id}'")
        } else {
            format!("\"{id}\"")
        }
    };
    write!(out, "<!DOCTYPE {name}")?;
    if !public_id.is_empty() {
        write!(out, " PUBLIC {}", quoted(public_id))?;
        if !system_id.is_empty() {
            write!(out, " {}", quoted(system_id))?;
        }
    } else if !system_id.is_empty() {
        write!(out, " SYSTEM {}", quoted(system_id))?;
    }
    out.write_all(b">")
}

/// Writes `top` and its subtree.
fn write_subtree(tree: &Tree, top: NodeId, out: &mut Vec<u8>) -> io::Result<()> {
    enum Step {
        Open(NodeId),
        Close(NodeId),
    }
    let mut stack = vec![Step::Open(top)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Open(id) => match tree.data(id) {
                NodeData::Element(e) => {
                    write_start_tag(out, tree, id)?;
                    if e.name.ns == ns!(html) && is_void_element(&e.name.local) {
                        continue;
                    }
                    stack.push(Step::Close(id));
                    push_children(tree, id, &mut stack, Step::Open);
                }
                // A content document inside the tree: not part of its iframe's markup.
                NodeData::Document { .. } if id != top => {}
                NodeData::Fragment | NodeData::Document { .. } => {
                    push_children(tree, id, &mut stack, Step::Open);
                }
                NodeData::Text(t) => {
                    if holds_raw_text(tree, tree.parent(id)) {
                        out.write_all(t.as_bytes())?;
                    } else {
                        write_escaped(out, t, false)?;
                    }
                }
                NodeData::Comment(t) => {
                    out.write_all(b"<!--")?;
                    out.write_all(t.as_bytes())?;
                    out.write_all(b"-->")?;
                }
                d @ NodeData::Doctype(_) => write_doctype(d, out)?,
            },
            Step::Close(id) => {
                if let Some(e) = tree.element(id) {
                    out.write_all(b"</")?;
                    out.write_all(e.name.local.as_bytes())?;
                    out.write_all(b">")?;
                }
            }
        }
    }
    Ok(())
}

fn push_children<T>(tree: &Tree, id: NodeId, stack: &mut Vec<T>, f: impl Fn(NodeId) -> T) {
    let start = stack.len();
    stack.extend(tree.children(id).map(f));
    stack[start..].reverse();
}

/// A tree prints as its HTML.
impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&to_html(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dom::parse::parse_document_str;

    #[test]
    fn carriage_returns_and_quoted_doctype_ids_read_back() {
        let html = "<!DOCTYPE html PUBLIC '-//\"x' \"y\"><p title=\"a&#13;b\">c&#13;d</p>";
        let t = parse_document_str(html);
        assert_eq!(
            to_html(&t),
            "<!DOCTYPE html PUBLIC '-//\"x' \"y\"><html><head></head><body>\
             <p title=\"a&#13;b\">c&#13;d</p></body></html>"
        );
        assert!(parse_document_str(&to_html(&t)).same_tree(&t));
    }

    /// A content document is not written inside its iframe; written on its own, it reads back.
    #[test]
    fn content_documents_are_written_on_their_own() {
        let mut t = parse_document_str("<iframe src=\"a.html\"></iframe>");
        let body = t
            .children(t.children(t.root()).next().unwrap())
            .nth(1)
            .unwrap();
        let iframe = t.first_child(body).unwrap();
        let inner = parse_document_str("<!DOCTYPE html><p>in</p>");
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
        t.check_invariants();
        assert_eq!(
            to_html(&t),
            "<html><head></head><body><iframe src=\"a.html\"></iframe></body></html>"
        );
        assert_eq!(
            subtree_to_html(&t, iframe),
            "<iframe src=\"a.html\"></iframe>"
        );
        assert_eq!(
            subtree_to_html(&t, doc),
            "<!DOCTYPE html><html><head></head><body><p>in</p></body></html>"
        );
    }

    #[test]
    fn void_raw_text_and_foreign_content_serialize_as_the_standard_says() {
        let t = parse_document_str(
            "<style>a<b</style><br><svg><style>a&lt;b</style><a xlink:href=\"#x\">&nbsp;&amp;</a></svg><pre>\n\nx</pre>",
        );
        assert_eq!(
            to_html(&t),
            "<html><head><style>a<b</style></head><body><br><svg><style>a&lt;b</style>\
             <a xlink:href=\"#x\">&nbsp;&amp;</a></svg><pre>\n\nx</pre></body></html>"
        );
    }
}
