//! Fixtures shared by the criterion benches (`benches/engine.rs`) and the side-by-side ratio
//! script (`src/bin/ratios.rs`): corpus loading with a fallback to the hand-written cases, the
//! html5ever -> `RcDom` peer parser, and the capture / edit / diff / incremental set-ups.
//!
//! Nothing here times anything; see `BENCHMARKS.md` at the repository root for the figures.

use std::path::{Path, PathBuf};

use cobrowse_engine::*;
use cobrowse_tests::edits::{EditGenerator, EditLog};
use html5ever::tendril::{StrTendril, TendrilSink};
use markup5ever_rcdom::RcDom;

/// One input page.
pub struct Page {
    /// File name (the corpus names are 64-hex hashes; cases are `<case>/<file>`).
    pub name: String,
    /// The page, decoded as UTF-8 (the corpus README explains why charset metas are ignored).
    pub html: String,
}

impl Page {
    /// A short label for tables: the first 8 characters of the name.
    pub fn short(&self) -> &str {
        &self.name[..self.name.len().min(8)]
    }
}

/// The pages to measure.
pub struct Corpus {
    /// Pages in name order.
    pub pages: Vec<Page>,
    /// `true`: the 258 fetched real-world pages; `false`: the hand-written cases (fallback).
    pub real: bool,
}

impl Corpus {
    /// Total HTML bytes.
    pub fn total_bytes(&self) -> usize {
        self.pages.iter().map(|p| p.html.len()).sum()
    }

    /// The largest page.
    pub fn largest(&self) -> &Page {
        self.pages
            .iter()
            .max_by_key(|p| p.html.len())
            .expect("corpus is never empty")
    }

    /// Up to `n` pages spread evenly over the size ranks, smallest and largest included.
    pub fn spread(&self, n: usize) -> Vec<&Page> {
        let mut by_size: Vec<&Page> = self.pages.iter().collect();
        by_size.sort_by_key(|p| (p.html.len(), p.name.clone()));
        if by_size.len() <= n {
            return by_size;
        }
        let last = by_size.len() - 1;
        let mut picked: Vec<usize> = (0..n).map(|i| i * last / (n - 1)).collect();
        picked.dedup();
        picked.into_iter().map(|i| by_size[i]).collect()
    }

    /// Two large pages with unrelated content: the largest and the second largest.
    pub fn unrelated_pair(&self) -> (&Page, &Page) {
        let mut by_size: Vec<&Page> = self.pages.iter().collect();
        by_size.sort_by_key(|p| std::cmp::Reverse(p.html.len()));
        (by_size[0], by_size.get(1).copied().unwrap_or(by_size[0]))
    }

    /// What the pages are, for printing.
    pub fn describe(&self) -> String {
        let kind = if self.real {
            "htmlparser-benchmark@1.1.3 corpus"
        } else {
            "FALLBACK: hand-written corpus/cases (real corpus not fetched: run corpus/fetch.sh)"
        };
        format!(
            "{} pages, {} bytes, largest {} bytes ({kind})",
            self.pages.len(),
            self.total_bytes(),
            self.largest().html.len()
        )
    }
}

/// Loads the fetched corpus, or the hand-written cases when it is missing. `None` only when
/// neither is there (then callers print SKIPPED).
pub fn load_corpus() -> Option<Corpus> {
    let real: Vec<PathBuf> = cobrowse_tests::corpus_pages();
    if !real.is_empty() {
        let pages = real
            .iter()
            .filter_map(|p| read_page(p, p.file_name()?.to_str()?.to_owned()))
            .collect();
        return Some(Corpus { pages, real: true });
    }
    let cases = cobrowse_tests::repo_root().join("corpus/cases");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&cases).ok()?.flatten() {
        let dir = entry.path();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for f in rd.flatten() {
                let p = f.path();
                if p.extension().is_some_and(|x| x == "html") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    let pages: Vec<Page> = files
        .iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&cases).ok()?.to_str()?.to_owned();
            read_page(p, rel)
        })
        .collect();
    (!pages.is_empty()).then_some(Corpus { pages, real: false })
}

fn read_page(path: &Path, name: String) -> Option<Page> {
    let bytes = std::fs::read(path).ok()?;
    Some(Page {
        name,
        html: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// The peer: html5ever's tree builder into `markup5ever_rcdom::RcDom`, fed the same way as
/// [`parse_document_str`] feeds ours (one `StrTendril`, default options except scripting on,
/// which is html5ever's default too).
pub fn parse_rcdom(html: &str) -> RcDom {
    html5ever::parse_document(RcDom::default(), Default::default()).one(StrTendril::from(html))
}

/// Ours, parse + fingerprint: [`parse_document_str`] then [`prepare`] (rules + xxh3).
pub fn parse_fingerprint(html: &str, rules: &Rules) -> Tree {
    let mut t = parse_document_str(html);
    prepare(&mut t, rules);
    t
}

/// A captured page: what [`Capture`] holds after its first keyframe.
pub struct Captured {
    /// The prepared tree with wire ids.
    pub tree: Tree,
    /// The keyframe records (for timing the encoder alone).
    pub records: Vec<NodeRecord>,
    /// The encoded keyframe (seq 1).
    pub keyframe: Vec<u8>,
    /// The keyframe's header.
    pub header: FrameHeader,
}

/// Parses the page and captures it: prepared, ids assigned, keyframe encoded ([`Capture`]).
pub fn capture(html: &str, rules: &Rules) -> Captured {
    let mut capture = Capture::new(rules.clone(), parse_document_str(html));
    let keyframe = capture.keyframe();
    let header = FrameView::access(&keyframe)
        .expect("the capture's keyframe validates")
        .header();
    let mut tree = capture.tree().clone();
    let records = snapshot(&mut tree, rules);
    Captured {
        tree,
        records,
        keyframe,
        header,
    }
}

/// Mirror options matching `rules` (a transparent capture is not sanitized).
pub fn mirror_options(rules: &Rules) -> MirrorOptions {
    MirrorOptions {
        require_sanitized: rules.sanitizes(),
        ..Default::default()
    }
}

/// A fresh mirror holding `keyframe`.
pub fn mirror_of(keyframe: &[u8], rules: &Rules) -> Mirror {
    let mut m = Mirror::new(mirror_options(rules));
    m.apply_frame(keyframe, &mut ()).expect("keyframe applies");
    m
}

/// `old` after `k` identity-tracked edits from seed `seed`, *not yet refreshed* (its dirty list
/// is pending, so `refresh` can be timed on a clone).
pub fn edited_unrefreshed(old: &Tree, seed: u64, k: usize) -> (Tree, EditLog) {
    let mut new = old.clone();
    let log = EditGenerator::new(seed).edit(&mut new, k);
    (new, log)
}

/// `old` after `k` identity-tracked edits, refreshed (ready to diff).
pub fn edited(old: &Tree, rules: &Rules, seed: u64, k: usize) -> (Tree, EditLog) {
    let (mut new, log) = edited_unrefreshed(old, seed, k);
    refresh(&mut new, rules);
    (new, log)
}

/// Diffs `old` -> `new` into a vector and encodes the delta (seq 2 on 1).
pub fn delta(old: &Tree, new: &mut Tree, rules: &Rules) -> (Vec<Mutation>, Vec<u8>) {
    let mut muts = Vec::new();
    diff(old, new, rules, &mut muts);
    let frame = encode_delta(
        &FrameHeader::delta(2, new.fingerprint(), rules.sanitizes()),
        &muts,
    );
    (muts, frame)
}

/// A delta that can be applied to a mirror again and again: `forward` turns the keyframe's
/// tree into the edited one, `back` returns it; frames are re-encoded with increasing sequence
/// numbers by [`PingPong::frame`] (cheap next to applying).
pub struct PingPong {
    /// Mutations old -> new.
    pub forward: Vec<Mutation>,
    /// Root fingerprint after `forward`.
    pub forward_fp: u64,
    /// Mutations new -> old.
    pub back: Vec<Mutation>,
    /// Root fingerprint after `back`.
    pub back_fp: u64,
    /// Whether frames say sanitized.
    pub sanitized: bool,
}

impl PingPong {
    /// Builds both directions from a captured page and its edited copy (ids shared).
    pub fn new(old: &Tree, new: &Tree, rules: &Rules) -> PingPong {
        let mut n = new.clone();
        let mut forward = Vec::new();
        diff(old, &mut n, rules, &mut forward);
        let mut o = old.clone();
        let mut back = Vec::new();
        diff(&n, &mut o, rules, &mut back);
        PingPong {
            forward,
            forward_fp: n.fingerprint(),
            back,
            back_fp: o.fingerprint(),
            sanitized: rules.sanitizes(),
        }
    }

    /// The frame at sequence `seq` (>= 2): forward when even, back when odd.
    pub fn frame(&self, seq: u64) -> Vec<u8> {
        let (muts, fp) = if seq.is_multiple_of(2) {
            (&self.forward, self.forward_fp)
        } else {
            (&self.back, self.back_fp)
        };
        encode_delta(&FrameHeader::delta(seq, fp, self.sanitized), muts)
    }
}

/// The incremental re-diff set-up: a live tree (prepared, ids, wire index), a shadow mirror
/// holding its keyframe, and one text edit inside one element; the timed call is
/// `diff_subtrees(shadow.tree(), &mut live, rules, &[dirty], sink)`.
pub struct Incremental {
    /// The capture-side shadow (what the agent has).
    pub shadow: Mirror,
    /// The live tree, edited and refreshed.
    pub live: Tree,
    /// The dirty subtree's root.
    pub dirty: WireId,
    /// Nodes in the dirty subtree.
    pub subtree_nodes: usize,
    /// Nodes in the page.
    pub page_nodes: usize,
    /// Element name of the dirty root.
    pub root_name: String,
}

/// Builds [`Incremental`] on `html`. The edited text node is the middle one (in document
/// order) of the visible, non-blank text nodes whose parent is an ordinary element; the dirty
/// root is its parent, or its nearest ancestor with at least `min_subtree` nodes.
pub fn incremental(html: &str, rules: &Rules, min_subtree: usize) -> Incremental {
    let Captured {
        tree: mut live,
        keyframe,
        ..
    } = capture(html, rules);
    live.ensure_wire_index();
    let shadow = mirror_of(&keyframe, rules);
    let root = live.root();
    let texts: Vec<NodeId> = live
        .descendants(root)
        .filter(|&n| {
            let Some(t) = live.data(n).character_data() else {
                return false;
            };
            matches!(live.data(n), NodeData::Text(_))
                && !t.trim().is_empty()
                && live
                    .parent(n)
                    .and_then(|p| live.element(p))
                    .is_some_and(|e| {
                        !matches!(
                            &*e.name.local,
                            "script" | "style" | "title" | "textarea" | "noscript" | "template"
                        )
                    })
                && shadow.tree().node_by_wire(live.wire_id(n)).is_some()
        })
        .collect();
    let text = texts[texts.len() / 2];
    let mut top = live.parent(text).expect("text has a parent");
    while live.descendants(top).count() < min_subtree {
        match live.parent(top) {
            Some(p) if live.element(p).is_some() => top = p,
            _ => break,
        }
    }
    let old = live.data(text).character_data().unwrap_or("").to_owned();
    live.set_character_data(text, &format!("{old} (edited)"));
    refresh(&mut live, rules);
    let dirty = live.wire_id(top);
    let subtree_nodes = live.descendants(top).count();
    let page_nodes = live.descendants(root).count();
    let root_name = live
        .element(top)
        .map(|e| e.name.local.to_string())
        .unwrap_or_default();
    Incremental {
        shadow,
        live,
        dirty,
        subtree_nodes,
        page_nodes,
        root_name,
    }
}

impl Incremental {
    /// One incremental re-diff (the timed call); returns the mutation count.
    pub fn rediff(&mut self, rules: &Rules) -> usize {
        let mut sink = CountingSink::default();
        diff_subtrees(
            self.shadow.tree(),
            &mut self.live,
            rules,
            &[self.dirty],
            &mut sink,
        );
        sink.count
    }
}

/// The machine: logical CPUs, CPU model, load average.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .map(|kb| format!("{:.1} GiB RAM", kb as f64 / 1048576.0))
        .unwrap_or_default();
    format!(
        "{cpus} logical CPUs (nproc), CPU model \"{model}\", {mem}, load average {}",
        load_average()
    )
}

/// `/proc/loadavg`'s first three fields.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The cheapest legal html5ever sink: it keeps only element names (the tree builder asks for
/// them) and drops text, attributes and structure. Parsing into it measures html5ever's own
/// tokenizer + tree builder, i.e. the floor under any parser built on html5ever (ours and
/// `RcDom` alike).
pub mod floor {
    use std::borrow::Cow;
    use std::cell::{Ref, RefCell};

    use html5ever::tendril::{StrTendril, TendrilSink};
    use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
    use html5ever::{Attribute, QualName, local_name, ns};

    /// See the module docs.
    pub struct NamesOnly {
        names: RefCell<Vec<QualName>>,
    }

    impl NamesOnly {
        fn push(&self, name: QualName) -> usize {
            let mut v = self.names.borrow_mut();
            v.push(name);
            v.len() - 1
        }
        fn anon(&self) -> usize {
            self.push(QualName::new(None, ns!(), local_name!("")))
        }
    }

    /// Parses `html` into [`NamesOnly`]; returns how many nodes it created.
    pub fn parse(html: &str) -> usize {
        let sink = NamesOnly {
            names: RefCell::new(vec![QualName::new(None, ns!(), local_name!(""))]),
        };
        html5ever::parse_document(sink, Default::default()).one(StrTendril::from(html))
    }

    impl TreeSink for NamesOnly {
        type Handle = usize;
        type Output = usize;
        type ElemName<'a> = Ref<'a, QualName>;

        fn finish(self) -> usize {
            self.names.into_inner().len()
        }
        fn parse_error(&self, _msg: Cow<'static, str>) {}
        fn get_document(&self) -> usize {
            0
        }
        fn elem_name<'a>(&'a self, target: &'a usize) -> Ref<'a, QualName> {
            Ref::map(self.names.borrow(), |v| &v[*target])
        }
        fn create_element(
            &self,
            name: QualName,
            _attrs: Vec<Attribute>,
            _flags: ElementFlags,
        ) -> usize {
            self.push(name)
        }
        fn create_comment(&self, _text: StrTendril) -> usize {
            self.anon()
        }
        fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
            self.anon()
        }
        fn append(&self, _parent: &usize, _child: NodeOrText<usize>) {}
        fn append_based_on_parent_node(
            &self,
            _element: &usize,
            _prev: &usize,
            _child: NodeOrText<usize>,
        ) {
        }
        fn append_doctype_to_document(
            &self,
            _name: StrTendril,
            _public_id: StrTendril,
            _system_id: StrTendril,
        ) {
        }
        fn get_template_contents(&self, _target: &usize) -> usize {
            self.anon()
        }
        fn same_node(&self, x: &usize, y: &usize) -> bool {
            x == y
        }
        fn set_quirks_mode(&self, _mode: QuirksMode) {}
        fn append_before_sibling(&self, _sibling: &usize, _new_node: NodeOrText<usize>) {}
        fn add_attrs_if_missing(&self, _target: &usize, _attrs: Vec<Attribute>) {}
        fn remove_from_parent(&self, _target: &usize) {}
        fn reparent_children(&self, _node: &usize, _new_parent: &usize) {}
    }
}
