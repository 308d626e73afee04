//! Third-party conformance pairs (morphdom's fixtures, diffDOM's test pairs), read at test time
//! from `../shared/conformance/` and never copied into this repository (see the `SOURCE.md` of
//! each folder for provenance, licence and how each pair is parsed).
//!
//! Every pair goes through the whole pipeline ([`cobrowse_tests::roundtrip`] with transparent
//! rules): the mirror must end up holding the *whole* target fragment (all top-level nodes),
//! which is stricter than the peers' own check on the first child. morphdom's identity rule is
//! checked too: an element whose `id` is in both `from` and `to` (same tag name) must keep its
//! wire id, i.e. be moved/updated rather than recreated.
//!
//! Each suite runs every pair, then fails once with all failing pairs and their first
//! difference, and prints a summary line (pairs, mutations, largest delta).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use cobrowse_engine::{
    Attr, Attrs, FrameView, LocalName, Mutation, NodeData, ParseOptions, QualName, RecordData,
    Rules, Tree, WireId, attr_name, html_name, ns, parse_fragment_in, parse_fragment_str,
};
use cobrowse_tests::{Roundtrip, roundtrip, shared_dir};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Locating the data

/// `../shared/conformance`, or `None` after a loud skip; panics under CI, which always has it.
fn conformance_dir() -> Option<PathBuf> {
    let dir = shared_dir()
        .map(|s| s.join("conformance"))
        .filter(|d| d.is_dir());
    if dir.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("../shared/conformance not found (CI must provide the conformance data)");
        }
        eprintln!("SKIPPED: ../shared/conformance not found");
    }
    dir
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Building trees

/// How a pair's files become trees.
#[derive(Clone, Debug)]
enum Context {
    /// `innerHTML` of an HTML element with this local name (`body`, `div`, `select`).
    Html(String),
    /// `innerHTML` of an SVG-namespace `<svg>` element.
    Svg,
    /// Built node by node from the `.json` trees (diffDOM's `siblings` suite).
    DomBuilt,
}

impl Context {
    fn from_case(s: &str) -> Result<Context, String> {
        match s {
            "body" | "div" | "select" => Ok(Context::Html(s.to_string())),
            "svg" => Ok(Context::Svg),
            "dom-built" => Ok(Context::DomBuilt),
            other => Err(format!("unknown context {other:?} in cases.json")),
        }
    }

    /// Reads and builds `<dir>/<stem>.html` (or `.json` for [`Context::DomBuilt`]).
    fn load(&self, dir: &Path, stem: &str) -> Result<Tree, String> {
        match self {
            Context::Html(ctx) => Ok(parse_fragment_str(
                &read(&dir.join(format!("{stem}.html")))?,
                ctx,
            )),
            Context::Svg => Ok(parse_fragment_in(
                &read(&dir.join(format!("{stem}.html")))?,
                QualName::new(None, ns!(svg), LocalName::from("svg")),
                &ParseOptions::default(),
            )),
            Context::DomBuilt => {
                let path = dir.join(format!("{stem}.json"));
                let json: Value = serde_json::from_str(&read(&path)?)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let mut tree = Tree::new_fragment();
                let root = tree.root();
                // A file holds one node (the diffed root) or, defensively, a list of nodes.
                let nodes = match &json {
                    Value::Array(v) => v.iter().collect(),
                    v => vec![v],
                };
                for n in nodes {
                    let child = build_json(&mut tree, n, false)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    tree.append(root, child);
                }
                Ok(tree)
            }
        }
    }
}

/// Builds one node of diffDOM's JSON shape `{nn: tagName, a: [[name, value]], c: children,
/// t: text, co: comment}` as `createElement` / `createTextNode` / `createComment` would: HTML
/// tag names are upper case (`DIV`) and become lower-case HTML elements; `svg` and everything
/// inside it is in the SVG namespace with its case kept.
fn build_json(tree: &mut Tree, v: &Value, in_svg: bool) -> Result<cobrowse_engine::NodeId, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("node is not an object: {v}"))?;
    if let Some(t) = obj.get("t") {
        let t = t.as_str().ok_or("`t` is not a string")?;
        return Ok(tree.create(NodeData::Text(t.into())));
    }
    if let Some(c) = obj.get("co") {
        let c = c.as_str().ok_or("`co` is not a string")?;
        return Ok(tree.create(NodeData::comment(c)));
    }
    let nn = obj
        .get("nn")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("node without nn/t/co: {v}"))?;
    let svg = in_svg || nn == "svg";
    let name = if svg {
        QualName::new(None, ns!(svg), LocalName::from(nn))
    } else {
        html_name(&nn.to_ascii_lowercase())
    };
    let mut attrs = Attrs::new();
    for a in obj
        .get("a")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let pair = a
            .as_array()
            .filter(|p| p.len() == 2)
            .ok_or_else(|| format!("bad attribute {a}"))?;
        let (n, val) = (
            pair[0].as_str().ok_or("attribute name")?,
            pair[1].as_str().ok_or("attribute value")?,
        );
        let name = match n.strip_prefix("xlink:") {
            Some(local) if svg => QualName::new(
                Some(cobrowse_engine::Prefix::from("xlink")),
                ns!(xlink),
                LocalName::from(local),
            ),
            _ => attr_name(n),
        };
        attrs.push(Attr {
            name,
            value: val.into(),
        });
    }
    let el = tree.create_element(name, attrs);
    for c in obj
        .get("c")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let child = build_json(tree, c, svg)?;
        tree.append(el, child);
    }
    Ok(el)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Elements by `id` attribute: id -> (tag name, how many elements carry it).
fn ids(tree: &Tree) -> HashMap<String, (QualName, usize)> {
    let mut m: HashMap<String, (QualName, usize)> = HashMap::new();
    for n in tree.descendants(tree.root()) {
        if let Some(e) = tree.element(n)
            && let Some(id) = e.attr("id")
        {
            m.entry(id.to_string())
                .or_insert_with(|| (e.name.clone(), 0))
                .1 += 1;
        }
    }
    m
}

/// The ids morphdom's identity rule applies to: in both trees, once each, same tag name.
fn kept_ids(from: &Tree, to: &Tree) -> Vec<String> {
    let (a, b) = (ids(from), ids(to));
    let mut v: Vec<String> = a
        .iter()
        .filter(|(id, (name, n))| *n == 1 && b.get(*id).is_some_and(|(m, k)| *k == 1 && m == name))
        .map(|(id, _)| id.clone())
        .collect();
    v.sort();
    v
}

/// Wire ids of the keyframe's elements, by `id` attribute.
fn keyframe_wires(keyframe: &[u8]) -> Result<HashMap<String, WireId>, String> {
    let view = FrameView::access(keyframe).map_err(|e| format!("decoding the keyframe: {e}"))?;
    let mut m = HashMap::new();
    for r in view.to_records() {
        if let RecordData::Element { attrs, .. } = &r.data
            && let Some((_, v)) = attrs
                .iter()
                .find(|(n, _)| n.ns == ns!() && &*n.local == "id")
        {
            m.insert(v.clone(), r.wire);
        }
    }
    Ok(m)
}

/// morphdom's identity rule, on the wire: each kept id's element has the same wire id in the
/// keyframe and in the final mirror, and the delta neither removes nor re-inserts that id.
fn check_identity(rt: &Roundtrip, kept: &[String]) -> Result<(), String> {
    if kept.is_empty() {
        return Ok(());
    }
    let before = keyframe_wires(&rt.keyframe)?;
    let mirror = rt.mirror.tree();
    let mut after = HashMap::new();
    for n in mirror.descendants(mirror.root()) {
        if let Some(id) = mirror.element(n).and_then(|e| e.attr("id")) {
            after.insert(id.to_string(), mirror.wire_id(n));
        }
    }
    let mut errs = Vec::new();
    for id in kept {
        let (Some(&w0), Some(&w1)) = (before.get(id), after.get(id)) else {
            errs.push(format!(
                "#{id}: missing (keyframe {:?}, mirror {:?})",
                before.get(id),
                after.get(id)
            ));
            continue;
        };
        if w0 != w1 {
            errs.push(format!("#{id}: recreated (wire {} -> {})", w0.0, w1.0));
            continue;
        }
        for m in &rt.mutations {
            match m {
                Mutation::Remove { node } if *node == w0 => {
                    errs.push(format!("#{id}: wire {} removed", w0.0))
                }
                Mutation::Insert { nodes, .. } if nodes.iter().any(|r| r.wire == w0) => {
                    errs.push(format!("#{id}: wire {} re-inserted", w0.0))
                }
                _ => {}
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!("identity: {}", errs.join("; ")))
    }
}

/// What one passing pair measured.
struct Outcome {
    /// Mutations in the delta.
    mutations: usize,
    /// Kept ids whose identity was checked.
    ids: usize,
}

/// One pair through the pipeline.
fn run_pair(from: Tree, to: Tree, identity: bool) -> Result<Outcome, String> {
    let kept = if identity {
        kept_ids(&from, &to)
    } else {
        Vec::new()
    };
    let want = to.clone();
    let rules = Rules::transparent();
    let rt = roundtrip(from, to, &rules)?;
    if let Some(d) = rt.mirror.tree().first_difference(&want) {
        return Err(format!("mirror differs from the target: {d}"));
    }
    check_identity(&rt, &kept)?;
    Ok(Outcome {
        mutations: rt.mutations.len(),
        ids: kept.len(),
    })
}

/// [`run_pair`] with panics turned into failures, so one run reports every pair.
fn run_caught(f: impl FnOnce() -> Result<Outcome, String>) -> Result<Outcome, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(non-string panic)".into());
            Err(format!("panicked: {msg}"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting

#[derive(Default)]
struct Suite {
    label: &'static str,
    pairs: usize,
    mutations: usize,
    ids: usize,
    max: Option<(usize, String)>,
    failures: Vec<(String, String)>,
}

impl Suite {
    fn new(label: &'static str) -> Suite {
        Suite {
            label,
            ..Default::default()
        }
    }

    fn record(&mut self, name: &str, r: &Result<Outcome, String>) {
        self.pairs += 1;
        match r {
            Ok(o) => {
                self.mutations += o.mutations;
                self.ids += o.ids;
                if self.max.as_ref().is_none_or(|(m, _)| o.mutations > *m) {
                    self.max = Some((o.mutations, name.to_string()));
                }
            }
            Err(e) => self.failures.push((name.to_string(), e.clone())),
        }
    }

    /// Prints the summary line, then fails with every failing pair.
    fn finish(self) {
        let max = match &self.max {
            Some((n, name)) => format!("max {n} ({name})"),
            None => "max -".into(),
        };
        let ids = if self.ids > 0 {
            format!(", {} kept ids checked", self.ids)
        } else {
            String::new()
        };
        println!(
            "{}: {} pairs, {} passed, {} failed, {} mutations, {max}{ids}",
            self.label,
            self.pairs,
            self.pairs - self.failures.len(),
            self.failures.len(),
            self.mutations
        );
        assert!(self.pairs > 0, "{}: no pairs found", self.label);
        if !self.failures.is_empty() {
            let list: Vec<String> = self
                .failures
                .iter()
                .map(|(n, e)| format!("  {n}: {e}"))
                .collect();
            panic!(
                "{}: {} of {} pairs failed:\n{}",
                self.label,
                self.failures.len(),
                self.pairs,
                list.join("\n")
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Suites

/// One morphdom fixture folder: `from.html` / `to.html`, parsed as `body.innerHTML`.
fn morphdom_pair(dir: &Path) -> Result<Outcome, String> {
    let ctx = Context::Html("body".into());
    let from = ctx.load(dir, "from")?;
    let to = ctx.load(dir, "to")?;
    run_pair(from, to, true)
}

#[test]
fn morphdom_autotest() {
    let Some(root) = conformance_dir() else {
        return;
    };
    let mut suite = Suite::new("morphdom autotest");
    for dir in subdirs(&root.join("morphdom/fixtures/autotest")) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let r = run_caught(|| morphdom_pair(&dir));
        suite.record(&name, &r);
    }
    suite.finish();
}

/// The fixture folders morphdom's harness does not reference (`change-types`, `reverse-ids`).
#[test]
fn morphdom_other() {
    let Some(root) = conformance_dir() else {
        return;
    };
    let mut suite = Suite::new("morphdom other");
    for dir in subdirs(&root.join("morphdom/fixtures")) {
        if dir.file_name().is_some_and(|n| n == "autotest") {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let r = run_caught(|| morphdom_pair(&dir));
        suite.record(&name, &r);
    }
    suite.finish();
}

#[test]
fn diffdom() {
    let Some(root) = conformance_dir() else {
        return;
    };
    let base = root.join("diffdom");
    let index_path = base.join("cases.json");
    let index: Value = serde_json::from_str(&read(&index_path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", index_path.display()));
    let cases = index["cases"]
        .as_array()
        .expect("cases.json: `cases` is an array");

    let mut suite = Suite::new("diffdom");
    // Peer counts, by kind: (below, equal, above, names above).
    let mut peer: Vec<(&'static str, [usize; 3], Vec<String>)> = vec![
        ("diffdom_exact_diffs", [0; 3], Vec::new()),
        ("diffdom_max_diffs", [0; 3], Vec::new()),
    ];
    for case in cases {
        let name = case["name"].as_str().expect("case name").to_string();
        let r = run_caught(|| {
            let ctx = Context::from_case(case["context"].as_str().unwrap_or("<missing>"))?;
            let dir = base.join("cases").join(&name);
            let from = ctx.load(&dir, "from")?;
            let to = ctx.load(&dir, "to")?;
            run_pair(from, to, false)
        });
        if let Ok(Outcome {
            mutations: ours, ..
        }) = r
        {
            for (key, counts, above) in peer.iter_mut() {
                if let Some(theirs) = case["peer"][*key].as_u64() {
                    let theirs = theirs as usize;
                    let slot = match ours.cmp(&theirs) {
                        std::cmp::Ordering::Less => 0,
                        std::cmp::Ordering::Equal => 1,
                        std::cmp::Ordering::Greater => 2,
                    };
                    counts[slot] += 1;
                    if slot == 2 {
                        above.push(format!("{name} {ours}>{theirs}"));
                    }
                }
            }
        }
        suite.record(&name, &r);
    }
    for (key, [lt, eq, gt], above) in &peer {
        println!(
            "diffdom vs peer {key} ({} pairs, different vocabularies, not asserted): ours < peer {lt}, = {eq}, > {gt}{}",
            lt + eq + gt,
            if above.is_empty() {
                String::new()
            } else {
                format!(" [{}]", above.join(", "))
            }
        );
    }
    suite.finish();
}
