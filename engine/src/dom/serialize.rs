//! HTML serialization of a [`Tree`], through html5ever's serializer (escaping, void elements
//! and raw-text elements are its business). A template's contents fragment serializes inside
//! its `<template>`; doctypes keep their public and system identifiers.

use std::io::{self, Write};

use html5ever::serialize::{HtmlSerializer, Serialize, SerializeOpts, Serializer, TraversalScope};

use crate::dom::tree::{NodeData, NodeId, Tree};

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
        NodeData::Doctype { .. } => write_doctype(tree.data(id), &mut out),
        _ => write_node(tree, id, &mut out),
    }
    .expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("serializer writes UTF-8")
}

fn write_children(tree: &Tree, parent: NodeId, out: &mut Vec<u8>) -> io::Result<()> {
    for c in tree.children(parent) {
        match tree.data(c) {
            NodeData::Doctype { .. } => write_doctype(tree.data(c), out)?,
            NodeData::Fragment | NodeData::Document { .. } => write_children(tree, c, out)?,
            _ => write_node(tree, c, out)?,
        }
    }
    Ok(())
}

fn write_node(tree: &Tree, id: NodeId, out: &mut Vec<u8>) -> io::Result<()> {
    let opts = SerializeOpts {
        traversal_scope: TraversalScope::IncludeNode,
        ..Default::default()
    };
    html5ever::serialize::serialize(out, &NodeRef { tree, id }, opts)
}

fn write_doctype(data: &NodeData, out: &mut Vec<u8>) -> io::Result<()> {
    let NodeData::Doctype {
        name,
        public_id,
        system_id,
    } = data
    else {
        return Ok(());
    };
    write!(out, "<!DOCTYPE {name}")?;
    if !public_id.is_empty() {
        write!(out, " PUBLIC \"{public_id}\"")?;
        if !system_id.is_empty() {
            write!(out, " \"{system_id}\"")?;
        }
    } else if !system_id.is_empty() {
        write!(out, " SYSTEM \"{system_id}\"")?;
    }
    out.write_all(b">")
}

struct NodeRef<'a> {
    tree: &'a Tree,
    id: NodeId,
}

impl Serialize for NodeRef<'_> {
    fn serialize<S: Serializer>(&self, s: &mut S, scope: TraversalScope) -> io::Result<()> {
        let tree = self.tree;
        // Iterative walk: real pages nest deeper than a recursive serializer's stack allows.
        enum Step {
            Open(NodeId),
            Close(NodeId),
        }
        let mut stack = Vec::new();
        match scope {
            TraversalScope::IncludeNode => stack.push(Step::Open(self.id)),
            TraversalScope::ChildrenOnly(_) => {
                let kids: Vec<_> = tree.children(self.id).collect();
                stack.extend(kids.into_iter().rev().map(Step::Open));
            }
        }
        while let Some(step) = stack.pop() {
            match step {
                Step::Open(id) => match tree.data(id) {
                    NodeData::Element(e) => {
                        s.start_elem(
                            e.name.clone(),
                            e.attrs.iter().map(|a| (&a.name, a.value.as_str())),
                        )?;
                        // HTML drops one newline right after <pre>, <textarea> and <listing>:
                        // write an extra one when the content starts with a newline.
                        if e.name.ns == markup5ever::ns!(html)
                            && matches!(&*e.name.local, "pre" | "textarea" | "listing")
                            && tree.first_child(id).is_some_and(
                                |c| matches!(tree.data(c), NodeData::Text(t) if t.starts_with('\n')),
                            )
                        {
                            s.write_text("\n")?;
                        }
                        stack.push(Step::Close(id));
                        push_children(tree, id, &mut stack, Step::Open);
                    }
                    NodeData::Fragment | NodeData::Document { .. } => {
                        push_children(tree, id, &mut stack, Step::Open);
                    }
                    NodeData::Text(t) => s.write_text(t)?,
                    NodeData::Comment(t) => s.write_comment(t)?,
                    NodeData::Doctype { name, .. } => s.write_doctype(name)?,
                },
                Step::Close(id) => {
                    if let NodeData::Element(e) = tree.data(id) {
                        s.end_elem(e.name.clone())?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn push_children<T>(tree: &Tree, id: NodeId, stack: &mut Vec<T>, f: impl Fn(NodeId) -> T) {
    let start = stack.len();
    stack.extend(tree.children(id).map(f));
    stack[start..].reverse();
}

#[allow(dead_code)]
fn _assert_serializer_is_html(_: HtmlSerializer<Vec<u8>>) {}

/// A tree prints as its HTML.
impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&to_html(self))
    }
}
