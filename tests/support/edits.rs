//! A seeded generator of realistic edits on a tree, counting the primitive DOM operations it
//! performs (the unit the minimality property is stated in).
//!
//! Each edit is what a page's script would do, counted in DOM calls:
//! - text: `textNode.data = …` (1);
//! - attribute: `setAttribute` / `removeAttribute` (1);
//! - insert: `insertBefore(newSubtree)` (1, the subtree is built detached);
//! - remove: `removeChild` (1);
//! - move: `insertBefore(existing)` elsewhere (1; 0 when it lands where it already was);
//! - reorder: a run of up to 6 siblings permuted, the fewest `insertBefore` calls that do it
//!   (the run's length minus its longest increasing subsequence);
//! - wrap: insert a new element and move a node into it (2);
//! - unwrap: move each child out before the wrapper, then remove it (children + 1);
//! - prop: `input.value = …`, `checked`, `selected`, `scrollTop`, a window resize (1).
//!
//! Edits keep nodes' wire ids (existing nodes keep theirs, new ones get fresh ids), exactly
//! like a capture that tracks live DOM nodes.
//!
//! **Anonymous mode** ([`EditGenerator::edit_anonymous`]) makes the pairs a diff sees when it
//! has no identity at all (a reload, `cobrowse diff FROM TO`): the edits are applied to a copy
//! of a page that is already a parse fixed point (`parse(to_html(parse(page)))`), the copy is
//! serialized and parsed again, and the two parsed documents are diffed. An edit whose result
//! does not survive that trip unchanged is undone and another one drawn: two text nodes made
//! adjacent (the parser merges them), a block put inside a `<p>` (the parser closes the `<p>`),
//! content put into a table (foster parenting), text that loses a leading newline in a
//! `<pre>`, and the like. Otherwise the parsed `new` would not be the tree the budget was
//! counted on, and the budget would lie. Live-state edits (props) are not in HTML and are never
//! drawn in this mode. The check is a full serialize-and-parse of the edited copy per edit.

use cobrowse_engine::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Kinds of edits the generator makes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EditKind {
    /// Change a text node.
    Text,
    /// Set, change or remove an attribute.
    Attribute,
    /// Insert a new subtree.
    Insert,
    /// Remove a subtree.
    Remove,
    /// Move a subtree elsewhere.
    Move,
    /// Permute a run of siblings.
    Reorder,
    /// Wrap a node in a new element.
    Wrap,
    /// Replace an element by its children.
    Unwrap,
    /// Live state: a typed value, a checkbox, a selected option, a scroll offset, the viewport.
    Prop,
}

impl EditKind {
    /// All kinds.
    pub const ALL: [EditKind; 9] = [
        EditKind::Text,
        EditKind::Attribute,
        EditKind::Insert,
        EditKind::Remove,
        EditKind::Move,
        EditKind::Reorder,
        EditKind::Wrap,
        EditKind::Unwrap,
        EditKind::Prop,
    ];
}

/// What the generator did.
#[derive(Clone, Debug, Default)]
pub struct EditLog {
    /// Primitive DOM operations performed.
    pub primitive_edits: usize,
    /// The edits, for failure messages.
    pub edits: Vec<(EditKind, usize)>,
    /// Anonymous mode: edits undone because the result did not re-parse to itself.
    pub rejected: usize,
}

/// Whether serializing `tree` and parsing the HTML again gives `tree` back (attribute order
/// included).
pub fn reparses_to_itself(tree: &Tree) -> bool {
    parse_document_str(&to_html(tree)).same_tree(tree)
}

/// A page as the anonymous mode starts from it: parsed, serialized and parsed again, so that
/// one more trip changes nothing.
pub fn parse_fixed_point(html: &str) -> Tree {
    parse_document_str(&to_html(&parse_document_str(html)))
}

/// The seeded generator.
pub struct EditGenerator {
    rng: SmallRng,
    kinds: Vec<EditKind>,
}

const WORDS: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "price",
    "total",
    "€12.50",
    "новый",
    "日本",
    "ok",
];

impl EditGenerator {
    /// A generator drawing from every kind.
    pub fn new(seed: u64) -> Self {
        EditGenerator {
            rng: SmallRng::seed_from_u64(seed),
            kinds: EditKind::ALL.to_vec(),
        }
    }

    /// A generator drawing only from `kinds`.
    pub fn with_kinds(seed: u64, kinds: &[EditKind]) -> Self {
        EditGenerator {
            rng: SmallRng::seed_from_u64(seed),
            kinds: kinds.to_vec(),
        }
    }

    /// Makes `count` edits (fewer if the tree offers no target for a kind) and logs them.
    pub fn edit(&mut self, tree: &mut Tree, count: usize) -> EditLog {
        let mut log = EditLog::default();
        let mut attempts = 0;
        while log.edits.len() < count && attempts < count * 20 {
            attempts += 1;
            let kind = self.kinds[self.rng.random_range(0..self.kinds.len())];
            if let Some(n) = self.one(tree, kind) {
                log.primitive_edits += n;
                log.edits.push((kind, n));
            }
        }
        log
    }

    /// Anonymous mode (see the module docs): makes `count` edits on a copy of `old`, keeping
    /// only edits after which the copy re-parses to itself, and returns the re-parsed copy
    /// (no wire ids carried over) with the log of the kept edits. `old` should be a parse
    /// fixed point (`parse(to_html(parse(page)))`).
    pub fn edit_anonymous(&mut self, old: &Tree, count: usize) -> (Tree, EditLog) {
        let (new, _, log) = self.edit_anonymous_traced(old, count);
        (new, log)
    }

    /// [`EditGenerator::edit_anonymous`], also returning the edited copy before the trip
    /// through HTML: it keeps `old`'s wire ids (new nodes have fresh ones), so diffing `old`
    /// against it by identity gives the script the edits made, to compare with the anonymous
    /// diff's.
    pub fn edit_anonymous_traced(&mut self, old: &Tree, count: usize) -> (Tree, Tree, EditLog) {
        let mut work = old.clone();
        let mut log = EditLog::default();
        let mut attempts = 0;
        let kinds: Vec<EditKind> = self
            .kinds
            .iter()
            .copied()
            .filter(|&k| k != EditKind::Prop)
            .collect();
        while log.edits.len() < count && attempts < count * 20 && !kinds.is_empty() {
            attempts += 1;
            let kind = kinds[self.rng.random_range(0..kinds.len())];
            let before = work.clone();
            let Some(n) = self.one(&mut work, kind) else {
                continue;
            };
            if reparses_to_itself(&work) {
                log.primitive_edits += n;
                log.edits.push((kind, n));
            } else {
                log.rejected += 1;
                work = before;
            }
        }
        let new = parse_document_str(&to_html(&work));
        (new, work, log)
    }

    fn pick(&mut self, v: &[NodeId]) -> Option<NodeId> {
        (!v.is_empty()).then(|| v[self.rng.random_range(0..v.len())])
    }

    fn one(&mut self, tree: &mut Tree, kind: EditKind) -> Option<usize> {
        let body = find_body(tree);
        let scope = body.unwrap_or(tree.root());
        let all: Vec<NodeId> = tree.descendants(scope).filter(|&n| n != scope).collect();
        let movable: Vec<NodeId> = all
            .iter()
            .copied()
            .filter(|&n| is_movable(tree, n))
            .collect();
        let containers: Vec<NodeId> = std::iter::once(scope)
            .chain(all.iter().copied())
            .filter(|&n| is_container(tree, n))
            .collect();
        match kind {
            EditKind::Text => {
                let texts: Vec<NodeId> = all
                    .iter()
                    .copied()
                    .filter(|&n| matches!(tree.data(n), NodeData::Text(_)))
                    .collect();
                let t = self.pick(&texts)?;
                let w = WORDS[self.rng.random_range(0..WORDS.len())];
                let old = tree.data(t).character_data().unwrap_or("").to_owned();
                let new = if old.len() > 40 {
                    format!("{} {w}", &old[..old.floor_char_boundary(20)])
                } else {
                    format!("{old} {w}")
                };
                tree.set_character_data(t, &new);
                Some(1)
            }
            EditKind::Attribute => {
                let els: Vec<NodeId> = all
                    .iter()
                    .copied()
                    .filter(|&n| tree.element(n).is_some())
                    .collect();
                let e = self.pick(&els)?;
                let attrs: Vec<QualName> = tree
                    .element(e)?
                    .attrs
                    .iter()
                    .map(|a| a.name.clone())
                    .collect();
                match self.rng.random_range(0..3) {
                    0 if !attrs.is_empty() => {
                        let a = attrs[self.rng.random_range(0..attrs.len())].clone();
                        tree.remove_attr(e, &a);
                    }
                    1 if !attrs.is_empty() => {
                        let a = attrs[self.rng.random_range(0..attrs.len())].clone();
                        let v = format!("v{}", self.rng.random_range(0..1000));
                        tree.set_attr(e, a, &v);
                    }
                    _ => {
                        let name = ["data-x", "title", "class", "aria-label", "data-state"]
                            [self.rng.random_range(0..5)];
                        let v = format!(
                            "{}-{}",
                            WORDS[self.rng.random_range(0..WORDS.len())],
                            self.rng.random_range(0..100)
                        );
                        tree.set_attr(e, attr_name(name), &v);
                    }
                }
                Some(1)
            }
            EditKind::Insert => {
                let parent = self.pick(&containers)?;
                let kids: Vec<NodeId> = tree.children(parent).collect();
                let prev = if kids.is_empty() {
                    None
                } else {
                    self.rng
                        .random_range(0..=kids.len())
                        .checked_sub(1)
                        .map(|i| kids[i])
                };
                let sub = self.build_subtree(tree);
                tree.insert_after(parent, prev, sub);
                Some(1)
            }
            EditKind::Remove => {
                let n = self.pick(&movable)?;
                tree.remove(n);
                Some(1)
            }
            EditKind::Move => {
                let n = self.pick(&movable)?;
                let targets: Vec<NodeId> = containers
                    .iter()
                    .copied()
                    .filter(|&c| !tree.is_inclusive_ancestor(n, c))
                    .collect();
                let parent = self.pick(&targets)?;
                let kids: Vec<NodeId> = tree.children(parent).filter(|&k| k != n).collect();
                let prev = if kids.is_empty() {
                    None
                } else {
                    self.rng
                        .random_range(0..=kids.len())
                        .checked_sub(1)
                        .map(|i| kids[i])
                };
                // Put back where it already is: no DOM call needed, none counted.
                let in_place = tree.parent(n) == Some(parent) && tree.prev_sibling(n) == prev;
                tree.insert_after(parent, prev, n);
                Some(usize::from(!in_place))
            }
            EditKind::Reorder => {
                let parents: Vec<NodeId> = containers
                    .iter()
                    .copied()
                    .filter(|&c| tree.children(c).count() >= 3)
                    .collect();
                let p = self.pick(&parents)?;
                let kids: Vec<NodeId> = tree.children(p).collect();
                let len = self.rng.random_range(3..=kids.len().min(6));
                let start = self.rng.random_range(0..=kids.len() - len);
                let run: Vec<NodeId> = kids[start..start + len].to_vec();
                let mut target = run.clone();
                for i in (1..target.len()).rev() {
                    let j = self.rng.random_range(0..=i);
                    target.swap(i, j);
                }
                // The fewest `insertBefore` calls that make the permutation: every node
                // outside a longest run of nodes already in order moves once (window minus
                // its longest increasing subsequence). Applied by placing each node of the
                // target order after its predecessor unless it is already there.
                let moves = target.len() - longest_increasing_run(&run, &target);
                let mut prev = if start == 0 {
                    None
                } else {
                    Some(kids[start - 1])
                };
                for &n in &target {
                    let cur_prev = tree.prev_sibling(n);
                    if cur_prev != prev {
                        tree.insert_after(p, prev, n);
                    }
                    prev = Some(n);
                }
                Some(moves)
            }
            EditKind::Wrap => {
                let n = self.pick(&movable)?;
                let parent = tree.parent(n)?;
                let wrapper = tree.create_element(html_name("div"), Default::default());
                let w = tree.fresh_wire_id();
                tree.set_wire_id(wrapper, w);
                tree.set_attr(wrapper, attr_name("class"), "wrap");
                let prev = tree.prev_sibling(n);
                tree.insert_after(parent, prev, wrapper);
                tree.append(wrapper, n);
                Some(2)
            }
            EditKind::Prop => {
                if self.rng.random_range(0..6) == 0 {
                    let root = tree.root();
                    let size = (
                        self.rng.random_range(320..1920),
                        self.rng.random_range(480..1200),
                    );
                    return tree.set_prop(root, Prop::Viewport(Some(size))).then_some(1);
                }
                let els: Vec<NodeId> = all
                    .iter()
                    .copied()
                    .filter(|&n| tree.element(n).is_some())
                    .collect();
                let e = self.pick(&els)?;
                let prop = match self.rng.random_range(0..4) {
                    0 => Prop::Value(Some(format!("typed {}", self.rng.random_range(0..1000)))),
                    1 => Prop::Checked(Some(self.rng.random_bool(0.5))),
                    2 => Prop::Selected(Some(self.rng.random_bool(0.5))),
                    _ => Prop::Scroll(Some((0, self.rng.random_range(0..5000)))),
                };
                tree.set_prop(e, prop).then_some(1)
            }
            EditKind::Unwrap => {
                let cands: Vec<NodeId> = movable
                    .iter()
                    .copied()
                    .filter(|&n| {
                        tree.element(n).is_some()
                            && tree.template_contents(n).is_none()
                            && tree.first_child(n).is_some()
                    })
                    .collect();
                let w = self.pick(&cands)?;
                let parent = tree.parent(w)?;
                let kids: Vec<NodeId> = tree.children(w).collect();
                let mut prev = tree.prev_sibling(w);
                for &k in &kids {
                    tree.insert_after(parent, prev, k);
                    prev = Some(k);
                }
                tree.remove(w);
                Some(kids.len() + 1)
            }
        }
    }

    fn build_subtree(&mut self, tree: &mut Tree) -> NodeId {
        let tag = ["div", "p", "span", "li", "section", "b"][self.rng.random_range(0..6)];
        let el = tree.create_element(html_name(tag), Default::default());
        let w = tree.fresh_wire_id();
        tree.set_wire_id(el, w);
        tree.set_attr(
            el,
            attr_name("class"),
            &format!("gen-{}", self.rng.random_range(0..100000)),
        );
        let text = tree.create(NodeData::Text(cobrowse_engine::Text::from(format!(
            "{} {}",
            WORDS[self.rng.random_range(0..WORDS.len())],
            self.rng.random_range(0..1000)
        ))));
        let w = tree.fresh_wire_id();
        tree.set_wire_id(text, w);
        tree.append(el, text);
        if self.rng.random_bool(0.3) {
            let inner = tree.create_element(html_name("em"), Default::default());
            let w = tree.fresh_wire_id();
            tree.set_wire_id(inner, w);
            tree.append(el, inner);
        }
        el
    }
}

/// The length of a longest subsequence of `target` whose nodes keep their order in `run` (a
/// longest increasing subsequence of their old positions; quadratic, runs are at most 6).
fn longest_increasing_run(run: &[NodeId], target: &[NodeId]) -> usize {
    let pos: Vec<usize> = target
        .iter()
        .map(|n| {
            run.iter()
                .position(|r| r == n)
                .expect("a permutation of the run")
        })
        .collect();
    let mut best = vec![1usize; pos.len()];
    for i in 0..pos.len() {
        for j in 0..i {
            if pos[j] < pos[i] {
                best[i] = best[i].max(best[j] + 1);
            }
        }
    }
    best.into_iter().max().unwrap_or(0)
}

/// The `<body>` element, if any.
pub fn find_body(tree: &Tree) -> Option<NodeId> {
    tree.descendants(tree.root()).find(|&n| {
        tree.element(n)
            .is_some_and(|e| e.is_html(&local_name!("body")))
    })
}

fn is_container(tree: &Tree, n: NodeId) -> bool {
    match tree.data(n) {
        NodeData::Element(e) => {
            e.name.ns == ns!(html)
                && !matches!(
                    &*e.name.local,
                    "script"
                        | "style"
                        | "textarea"
                        | "title"
                        | "template"
                        | "area"
                        | "br"
                        | "img"
                        | "input"
                        | "hr"
                        | "meta"
                        | "link"
                        | "col"
                        | "embed"
                        | "source"
                        | "track"
                        | "wbr"
                        | "param"
                        | "base"
                        | "iframe"
                        | "noscript"
                        | "xmp"
                        | "plaintext"
                        | "noembed"
                        | "noframes"
                )
        }
        NodeData::Fragment => true,
        _ => false,
    }
}

fn is_movable(tree: &Tree, n: NodeId) -> bool {
    match tree.data(n) {
        NodeData::Fragment | NodeData::Document { .. } | NodeData::Doctype(_) => false,
        NodeData::Element(e) => {
            !(e.is_html(&local_name!("html"))
                || e.is_html(&local_name!("head"))
                || e.is_html(&local_name!("body")))
        }
        _ => tree.parent(n).is_some_and(|p| {
            tree.element(p)
                .is_some_and(|e| !matches!(&*e.name.local, "script" | "style"))
        }),
    }
}
