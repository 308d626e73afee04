//! The capture object: everything a capturing caller (the browser, the CLI, the tests, the
//! benches) would otherwise keep by hand: the rules, the live tree, a shadow [`Mirror`] holding
//! exactly what the agents have, sequence numbers and frame headers.
//!
//! A caller edits the live tree through [`Capture::tree_mut`] (the tree-edit API marks what
//! it touches) or swaps in a whole new document with [`Capture::replace_document`] (a reload,
//! a navigation, two parsed pages in the CLI), and asks for frames:
//!
//! - [`Capture::keyframe`]: the whole page as the agent may see it;
//! - [`Capture::delta`]: every edit since the last frame as one minimal delta, or nothing when
//!   no visible change is pending (an insert then a remove in the same batch costs nothing).
//!
//! Invariants (debug-asserted): after every frame handed out, the shadow mirror has applied
//! it, so its fingerprint equals the live tree's under the rules; frames are numbered
//! 1, 2, 3, ... and every delta's base is the frame before it. The one exception is
//! [`Capture::keyframe_unsettled`] (a caller spreading a large page's keyframe over tasks):
//! its shadow applies the keyframe at [`Capture::settle`], which every other frame-making
//! call and [`Capture::shadow`]'s callers through [`Capture::settle`] run first. Masking, blocking, disabling
//! and sanitizing happen inside the diff, before anything is encoded.

pub mod batch;
mod steps;
pub use steps::{KeyframePhase, Progress};

use crate::diff::{self, mutation::Mutation, mutation::NodeRecord};
use crate::dom::rendered::Rendered;
use crate::dom::tree::{Dirty, NodeId, NodeSet, Tree, WireId};
use crate::replay::{FrameMeta, Mirror, MirrorOptions, ShadowBuild};
use crate::rules::Rules;
use crate::rules::placeholder;
use crate::wire::frame::{FrameHeader, FrameKind, FrameView, encode_delta, encode_keyframe};

/// What a delta held, for callers that report on it (the CLI's `--json`, benches).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Primitive mutations in the delta.
    pub mutations: usize,
    /// The diff's own counters.
    pub diff: diff::DiffStats,
}

/// Owns a capturing caller's state and hands out numbered, verified frames.
pub struct Capture {
    rules: Rules,
    live: Tree,
    shadow: Mirror,
    seq: u64,
    last: Vec<Mutation>,
    last_stats: DeltaStats,
    /// The kind of the last frame handed out (`None` before the first).
    last_kind: Option<FrameKind>,
    /// Whether [`Capture::take_unmeasured_blocked`] must look at the whole page (a new
    /// document) rather than at the edited subtrees.
    scan_all_blocked: bool,
    /// Edit marks that a refresh made by [`Capture::take_unmeasured_blocked`] consumed from
    /// the live tree, kept for the next delta (which finds what changed from them).
    refreshed_dirty: Vec<(u32, Dirty)>,
    /// A keyframe handed out by [`Capture::keyframe_unsettled`] that the shadow has not
    /// applied yet (see [`Capture::settle`]).
    unsettled: Option<(FrameMeta, Vec<NodeRecord>)>,
    /// The phase of a first keyframe made in steps, while one is in progress ([`steps`]).
    steps: Option<steps::Steps>,
    /// A keyframe made in steps, until [`Capture::take_keyframe`] hands it out.
    encoded: Option<Vec<u8>>,
    /// The blocked elements to measure found by a preparation in steps, until
    /// [`Capture::take_unmeasured_blocked`] hands them out.
    prepared_blocked: Option<Vec<NodeId>>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("seq", &self.seq)
            .field("nodes", &self.live.len())
            .finish_non_exhaustive()
    }
}

impl Capture {
    /// Starts capturing `page` under `rules`. No frame is made until [`Capture::keyframe`].
    pub fn new(rules: Rules, mut page: Tree) -> Capture {
        diff::prepare(&mut page, &rules);
        diff::assign_ids(&mut page, &rules);
        page.ensure_wire_index();
        Capture::unprepared(rules, page)
    }

    /// The capture of `page` as it is (prepared or not).
    fn unprepared(rules: Rules, page: Tree) -> Capture {
        Capture {
            shadow: Mirror::new(MirrorOptions {
                require_sanitized: false,
                ..MirrorOptions::default()
            }),
            rules,
            live: page,
            seq: 0,
            last: Vec::new(),
            last_stats: DeltaStats::default(),
            last_kind: None,
            scan_all_blocked: true,
            refreshed_dirty: Vec::new(),
            unsettled: None,
            steps: None,
            encoded: None,
            prepared_blocked: None,
        }
    }

    /// The rules every frame is made under.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The live tree (what the page holds, unprojected).
    pub fn tree(&self) -> &Tree {
        &self.live
    }

    /// The live tree, to edit. Every edit made through the [`Tree`] API is remembered until
    /// the next [`Capture::delta`]. A keyframe being prepared or encoded in steps is finished
    /// first, in this call (see [`steps`]: nothing encoded goes stale).
    pub fn tree_mut(&mut self) -> &mut Tree {
        if matches!(
            self.steps,
            Some(steps::Steps::Prepare(_) | steps::Steps::Encode(_))
        ) {
            while self.prepare_step(usize::MAX) == steps::Progress::More {}
            while self.encode_step(usize::MAX) == steps::Progress::More {}
        }
        &mut self.live
    }

    /// What the agents hold after the last frame handed out. After
    /// [`Capture::keyframe_unsettled`], call [`Capture::settle`] first (debug-asserted).
    pub fn shadow(&self) -> &Mirror {
        debug_assert!(
            self.unsettled.is_none() && self.steps.is_none(),
            "the shadow of an unsettled keyframe"
        );
        &self.shadow
    }

    /// Whether a keyframe handed out by [`Capture::keyframe_unsettled`] awaits
    /// [`Capture::settle`].
    pub fn is_unsettled(&self) -> bool {
        self.unsettled.is_some() || self.steps.is_some()
    }

    /// The sequence number of the last frame handed out (0 before the first).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The mutations of the last delta handed out, in order.
    pub fn last_mutations(&self) -> &[Mutation] {
        &self.last
    }

    /// Counters of the last delta handed out.
    pub fn last_stats(&self) -> &DeltaStats {
        &self.last_stats
    }

    /// The kind of the last frame handed out (`None` before the first): a caller tells a
    /// delta's fallback to a keyframe without decoding the frame.
    pub fn last_frame_kind(&self) -> Option<FrameKind> {
        self.last_kind
    }

    /// The blocked elements of the page whose rendered box the page was never asked for, in
    /// document order; each is marked [`Rendered::Unknown`] (asked), so it is handed out once.
    ///
    /// A capturing browser measures them and reports each box (batch op `OP_RENDERED_BOX`)
    /// before it asks for the next frame, so that a placeholder has its size in the frame
    /// that first shows it (see `crate::rules::placeholder`). Only elements whose placeholder
    /// takes a box are listed. Cost: the subtrees edited since the last frame (the whole page
    /// after [`Capture::new`] or [`Capture::replace_document`]).
    pub fn take_unmeasured_blocked(&mut self) -> Vec<NodeId> {
        if self.prepared_blocked.is_some() && self.live.dirty.is_empty() {
            // Right after a preparation in steps, which found them on its way.
            return self.take_prepared_blocked();
        }
        self.finish_steps();
        if self.prepared_blocked.take().is_some() {
            // Edited since: look at the whole page, as for a new document.
            self.scan_all_blocked = true;
        }
        let marks = self.live.dirty.clone();
        // With views that follow ancestors only, the refresh re-decides the views of attached
        // subtrees, and of an edited node's subtree only when that node's view changed (or it
        // is an `annotation-xml`, see `Rules::annotate_edited`): only there can an unmeasured
        // blocked element appear. A child-list mark alone (its attached children carry marks
        // of their own) needs no look; before, each one looked at the parent's whole subtree
        // (all of `<body>` for one appended child). Other rules: every marked subtree.
        let follows = self.rules.views_follow_ancestors_only();
        let edited_views: Vec<(u32, crate::dom::view::View)> = if follows {
            marks
                .iter()
                .filter(|&&(d, why)| {
                    why == Dirty::Data
                        && (d as usize) < self.live.capacity_index()
                        && self.live.is_inclusive_ancestor(self.live.root(), NodeId(d))
                })
                .map(|&(d, _)| (d, self.live.node(NodeId(d)).view))
                .collect()
        } else {
            Vec::new()
        };
        diff::refresh(&mut self.live, &self.rules);
        self.refreshed_dirty.extend_from_slice(&marks);
        let live = &self.live;
        let root = live.root();
        // Marked nodes whose whole subtree is looked at, and edited nodes looked at alone.
        let mut deep = NodeSet::default();
        let mut alone: Vec<NodeId> = Vec::new();
        let scan_all = std::mem::take(&mut self.scan_all_blocked);
        if !scan_all {
            let attached = |d: u32| {
                (d as usize) < live.capacity_index() && live.is_inclusive_ancestor(root, NodeId(d))
            };
            if follows {
                for &(d, why) in &marks {
                    if why == Dirty::Subtree && attached(d) {
                        deep.insert(d);
                    }
                }
                for &(d, before) in &edited_views {
                    let n = NodeId(d);
                    let encodes = live.element(n).is_some_and(|e| {
                        e.name.ns == markup5ever::ns!(mathml) && &*e.name.local == "annotation-xml"
                    });
                    if live.node(n).view != before || encodes {
                        deep.insert(d);
                    } else {
                        alone.push(n);
                    }
                }
            } else {
                deep.extend(marks.iter().map(|&(d, _)| d).filter(|&d| attached(d)));
            }
        }
        let under_deep = |n: NodeId| has_ancestor_in(live, n, &deep);
        let tops: Vec<NodeId> = if scan_all {
            vec![root]
        } else {
            let mut tops: Vec<NodeId> = deep
                .iter()
                .map(|&d| NodeId(d))
                .filter(|&n| !under_deep(n))
                .collect();
            crate::sort::sort_by(&mut tops, |a, b| a.0 < b.0);
            tops
        };
        alone.retain(|&n| !deep.contains(&n.0) && !under_deep(n));
        crate::sort::sort_by(&mut alone, |a, b| a.0 < b.0);
        alone.dedup();
        let unmeasured = |n: NodeId| {
            let view = live.node(n).view;
            view.is_blocked()
                && !view.is_dropped()
                && live.element(n).is_some_and(|e| {
                    placeholder::takes_a_box(e)
                        && e.props.as_ref().and_then(|p| p.rendered).is_none()
                })
        };
        let mut out = Vec::new();
        for top in tops {
            out.extend(live.descendants(top).filter(|&n| unmeasured(n)));
        }
        out.extend(alone.into_iter().filter(|&n| unmeasured(n)));
        for &n in &out {
            self.live.set_rendered(n, Some(Rendered::Unknown));
        }
        out
    }

    /// A keyframe of the whole page. Pending edits are folded in.
    pub fn keyframe(&mut self) -> Vec<u8> {
        let bytes = self.keyframe_unsettled();
        self.settle();
        bytes
    }

    /// A keyframe of the whole page whose application to the shadow (a second build of the
    /// whole tree) is left to [`Capture::settle`], so that a caller can hand the frame out and
    /// do that work in another task. Until then the capture makes no other frame: every
    /// frame-making call settles first.
    pub fn keyframe_unsettled(&mut self) -> Vec<u8> {
        self.settle();
        diff::refresh(&mut self.live, &self.rules);
        diff::assign_ids(&mut self.live, &self.rules);
        self.refreshed_dirty.clear();
        let records = diff::snapshot(&mut self.live, &self.rules);
        self.seq += 1;
        let header = self.header(FrameKind::Keyframe);
        let bytes = encode_keyframe(&header, &records);
        self.last_kind = Some(FrameKind::Keyframe);
        self.last.clear();
        self.last_stats = DeltaStats::default();
        self.unsettled = Some((FrameMeta::of(&header), records));
        bytes
    }

    /// Applies the keyframe handed out by [`Capture::keyframe_unsettled`] to the shadow; does
    /// nothing when none awaits.
    pub fn settle(&mut self) {
        self.finish_steps();
        debug_assert!(
            self.encoded.is_none(),
            "a keyframe made in steps was never handed out"
        );
        if let Some((meta, records)) = self.unsettled.take() {
            // The shadow builds the keyframe from the records it was encoded from, not from
            // the frame decoded again (as deltas apply their mutations): the customer's
            // module then holds no frame validation. A keyframe of our own tree always
            // applies; the build checks its fingerprint in debug builds.
            let count = records.len();
            let mut records = records.into_iter();
            let mut build =
                ShadowBuild::new(&records.next().expect("a keyframe has a root"), count);
            for r in records {
                build.push(r);
            }
            build.hash_step(usize::MAX);
            build.install(&mut self.shadow, &meta);
        }
    }

    /// One delta holding every edit made since the last frame, or `None` when the agents'
    /// view did not change. Before the first keyframe this is the keyframe.
    pub fn delta(&mut self) -> Option<Vec<u8>> {
        self.settle();
        if !self.shadow.in_sync() {
            return Some(self.keyframe());
        }
        let dirty = self.dirty_roots();
        self.refreshed_dirty.clear();
        diff::refresh(&mut self.live, &self.rules);
        if dirty.is_empty() {
            return None;
        }
        let mut muts = Vec::new();
        let stats = diff::diff_subtrees(
            self.shadow.tree(),
            &mut self.live,
            &self.rules,
            &dirty,
            &mut muts,
        );
        self.live.ensure_wire_index();
        self.finish_delta(muts, stats)
    }

    /// Replaces the live page by `page` (a reload, a navigation, or simply a second parsed
    /// document) and returns the delta from what the agents hold to it, or `None` when they
    /// would see no difference. Nodes are matched without identity.
    pub fn replace_document(&mut self, mut page: Tree) -> Option<Vec<u8>> {
        self.settle();
        diff::prepare(&mut page, &self.rules);
        self.live = page;
        self.scan_all_blocked = true;
        self.refreshed_dirty.clear();
        if !self.shadow.in_sync() {
            return Some(self.keyframe());
        }
        let mut muts = Vec::new();
        let stats =
            diff::diff_against_mirror(self.shadow.tree(), &mut self.live, &self.rules, &mut muts);
        diff::assign_ids(&mut self.live, &self.rules);
        self.finish_delta(muts, stats)
    }

    /// A delta without mutations, numbered after the last frame: for callers that must hand
    /// out a frame when [`Capture::delta`] or [`Capture::replace_document`] found nothing to
    /// send (a heartbeat; the CLI's `diff` of two identical pages). Before the first keyframe
    /// this is the keyframe. Pending edits are not folded in: call it when no visible change
    /// is pending (debug-asserted).
    pub fn empty_delta(&mut self) -> Vec<u8> {
        self.settle();
        if !self.shadow.in_sync() {
            return self.keyframe();
        }
        debug_assert_eq!(
            self.shadow.fingerprint(),
            self.live.fingerprint(),
            "an empty delta while a visible change is pending"
        );
        self.seq += 1;
        let header = self.header(FrameKind::Delta);
        let bytes = encode_delta(&header, &[]);
        self.last_kind = Some(FrameKind::Delta);
        self.last.clear();
        self.last_stats = DeltaStats::default();
        let applied = self
            .shadow
            .apply_delta(&FrameMeta::of(&header), std::iter::empty(), &mut ());
        debug_assert!(
            applied.is_ok(),
            "the shadow refused the capture's own empty delta: {applied:?}"
        );
        bytes
    }

    fn finish_delta(&mut self, muts: Vec<Mutation>, stats: diff::DiffStats) -> Option<Vec<u8>> {
        if muts.is_empty() {
            debug_assert_eq!(
                self.shadow.fingerprint(),
                self.live.fingerprint(),
                "no mutations, yet the views differ"
            );
            return None;
        }
        self.seq += 1;
        let header = self.header(FrameKind::Delta);
        let bytes = encode_delta(&header, &muts);
        self.last_kind = Some(FrameKind::Delta);
        self.last_stats = DeltaStats {
            mutations: muts.len(),
            diff: stats,
        };
        // The shadow applies the mutations the frame was encoded from, not the frame decoded
        // again (validating and decoding it cost about as much as applying it); debug builds
        // check that the frame decodes to them.
        debug_assert!(
            FrameView::access(&bytes).is_ok_and(
                |v| v.header() == header && v.mutations().eq(muts.iter().map(Mutation::as_ref))
            ),
            "a delta that does not decode to its own mutations"
        );
        let applied = self.shadow.apply_delta(
            &FrameMeta::of(&header),
            muts.iter().map(Mutation::as_ref),
            &mut (),
        );
        debug_assert!(
            applied.is_ok(),
            "the shadow refused the capture's own delta: {applied:?}"
        );
        self.last = muts;
        if applied.is_err() {
            // The shadow refused our own delta: a bug, never an agent's problem. Agents get
            // a keyframe instead, which always applies.
            debug_assert!(false, "the shadow refused the capture's own delta");
            self.seq -= 1;
            return Some(self.keyframe());
        }
        Some(bytes)
    }

    fn header(&self, kind: FrameKind) -> FrameHeader {
        let (fingerprint, sanitized) = (self.live.fingerprint(), self.rules.sanitizes());
        match kind {
            FrameKind::Keyframe => FrameHeader::keyframe(self.seq, fingerprint, sanitized),
            FrameKind::Delta => FrameHeader::delta(self.seq, fingerprint, sanitized),
        }
    }

    /// Wire ids of the attached nodes whose data or child list changed since the last frame
    /// and that the agents already know (a new node travels inside its nearest known
    /// ancestor's diff), keeping only the outermost: a dirty node inside another's subtree is
    /// compared by that one's diff.
    fn dirty_roots(&self) -> Vec<WireId> {
        let live = &self.live;
        let known = |n: NodeId| {
            let w = live.wire_id(n);
            w.is_assigned() && self.shadow.tree().node_by_wire(w).is_some()
        };
        let root = live.root();
        let mut marked = NodeSet::default();
        for &(d, why) in self.refreshed_dirty.iter().chain(&live.dirty) {
            let id = NodeId(d);
            if d as usize >= live.capacity_index() || !live.is_inclusive_ancestor(root, id) {
                continue;
            }
            // A (re)attached subtree shows up through its parent's child list.
            let mut at = match why {
                Dirty::Subtree => live.parent(id),
                Dirty::Children | Dirty::Data => Some(id),
            };
            while let Some(x) = at {
                if known(x) {
                    marked.insert(x.0);
                    break;
                }
                at = live.parent(x);
            }
        }
        let mut out: Vec<WireId> = marked
            .iter()
            .map(|&i| NodeId(i))
            .filter(|&n| !has_ancestor_in(live, n, &marked))
            .map(|n| live.wire_id(n))
            .collect();
        crate::sort::sort_by(&mut out, |a, b| a.0 < b.0);
        out
    }
}

/// Whether a proper ancestor of `n` is in `set` (node indices).
fn has_ancestor_in(tree: &Tree, n: NodeId, set: &NodeSet) -> bool {
    let mut a = tree.parent(n);
    while let Some(x) = a {
        if set.contains(&x.0) {
            return true;
        }
        a = tree.parent(x);
    }
    false
}

#[cfg(all(test, feature = "html"))]
mod iframe_tests;

#[cfg(all(test, feature = "html"))]
mod tests {
    use super::*;
    use crate::dom::parse::parse_document_str;
    use crate::dom::tree::{NodeData, Prop, attr_name, html_name};
    use crate::replay::ReplayError;
    use crate::rules::Rules;

    fn body(t: &Tree) -> NodeId {
        t.descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "body"))
            .unwrap()
    }

    /// An agent-side mirror fed every frame ends equal to the capture's shadow and the live
    /// page, frame after frame, and frames are numbered in order.
    #[test]
    fn frames_from_tree_edits_keep_an_agent_mirror_equal_to_the_page() {
        let page = parse_document_str("<p id=a>one</p><p>two<input type=password value=x></p>");
        let mut cap = Capture::new(Rules::default(), page);
        let mut agent = Mirror::default();
        let h = agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();
        assert_eq!((h.seq, h.kind), (1, FrameKind::Keyframe));

        let t = cap.tree_mut();
        let b = body(t);
        let first = t.first_child(b).unwrap();
        t.set_attr(first, attr_name("class"), "x");
        let em = t.create_element(html_name("em"), Default::default());
        t.append(b, em);
        let delta = cap.delta().expect("visible edits make a delta");
        let h = agent.apply_frame(&delta, &mut ()).unwrap();
        assert_eq!((h.seq, h.base_seq, h.kind), (2, 1, FrameKind::Delta));
        assert_eq!(cap.last_mutations().len(), 2, "{:?}", cap.last_mutations());
        assert_eq!(agent.fingerprint(), cap.shadow().fingerprint());
        assert!(agent.tree().same_tree(cap.shadow().tree()));
        assert_eq!(cap.delta(), None, "nothing pending");
    }

    /// A delta of one text edit on a 5,000-item page pays for the nodes it touches, not for
    /// the page: its diff writes a handful of match-table entries (it allocated and zeroed
    /// three tables of one entry per node slot of each tree, over 30,000 entries, per delta).
    #[test]
    fn a_one_text_delta_on_a_large_page_writes_few_match_table_entries() {
        let items: String = (0..5000).map(|i| format!("<li>row {i}</li>")).collect();
        let page = parse_document_str(&format!("<ul>{items}</ul>"));
        let mut cap = Capture::new(Rules::default(), page);
        let mut agent = Mirror::default();
        agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();
        let texts: Vec<NodeId> = {
            let t = cap.tree();
            t.descendants(t.root())
                .filter(|&n| matches!(t.data(n), NodeData::Text(_)))
                .collect()
        };
        let mut entries = Vec::new();
        for (k, &text) in [texts[10], texts[4000], texts[2500]].iter().enumerate() {
            cap.tree_mut()
                .set_character_data(text, &format!("edited {k}"));
            let delta = cap.delta().expect("a visible edit");
            agent.apply_frame(&delta, &mut ()).unwrap();
            assert_eq!(cap.last_mutations().len(), 1, "{:?}", cap.last_mutations());
            entries.push(cap.last_stats().diff.table_entries);
        }
        assert!(agent.tree().same_tree(cap.shadow().tree()));
        // The first diff of the thread grows the tables once; later ones write what they pair
        // (the edited text, the dirty root: 2 entries of the new side, 1 of the old side).
        assert!(entries[0] > 15_000, "{entries:?}");
        assert_eq!(entries[1..], [3, 3], "{entries:?}");
    }

    /// An unsettled keyframe is the keyframe; its shadow build waits for `settle`, or for the
    /// next frame-making call, which settles first: the delta after it applies on an agent
    /// mirror fed the keyframe, and the shadow ends equal to the agent's mirror.
    #[test]
    fn an_unsettled_keyframe_settles_before_the_next_frame() {
        let page = "<p id=a>one</p><p>two</p>";
        let mut settled = Capture::new(Rules::default(), parse_document_str(page));
        let mut cap = Capture::new(Rules::default(), parse_document_str(page));
        let kf = cap.keyframe_unsettled();
        assert_eq!(kf, settled.keyframe(), "the same keyframe");
        assert!(cap.is_unsettled());
        let mut agent = Mirror::default();
        agent.apply_frame(&kf, &mut ()).unwrap();

        let t = cap.tree_mut();
        let b = body(t);
        let em = t.create_element(html_name("em"), Default::default());
        t.append(b, em);
        let delta = cap.delta().expect("an edit makes a delta");
        assert!(!cap.is_unsettled(), "delta settles first");
        let h = agent.apply_frame(&delta, &mut ()).unwrap();
        assert_eq!((h.seq, h.base_seq, h.kind), (2, 1, FrameKind::Delta));
        assert_eq!(cap.last_mutations().len(), 1, "{:?}", cap.last_mutations());
        assert_eq!(agent.fingerprint(), cap.shadow().fingerprint());
        assert!(agent.tree().same_tree(cap.shadow().tree()));

        // An explicit settle, then nothing pending.
        let mut cap = Capture::new(Rules::default(), parse_document_str(page));
        cap.keyframe_unsettled();
        cap.settle();
        assert!(!cap.is_unsettled());
        assert_eq!(cap.shadow().fingerprint(), cap.tree().fingerprint());
        assert_eq!(cap.delta(), None);
    }

    /// An insert then a remove of the same node in one batch costs nothing.
    #[test]
    fn an_insert_then_remove_in_one_batch_makes_no_frame() {
        let mut cap = Capture::new(Rules::default(), parse_document_str("<p>x</p>"));
        cap.keyframe();
        let t = cap.tree_mut();
        let b = body(t);
        let em = t.create_element(html_name("em"), Default::default());
        t.append(b, em);
        t.remove(em);
        assert_eq!(cap.delta(), None);
        assert_eq!(cap.seq(), 1);
        // A caller that must send something gets an empty delta that applies.
        let mut agent = Mirror::default();
        let mut cap = Capture::new(Rules::default(), parse_document_str("<p>x</p>"));
        agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();
        let h = agent.apply_frame(&cap.empty_delta(), &mut ()).unwrap();
        assert_eq!((h.seq, h.base_seq, h.kind), (2, 1, FrameKind::Delta));
        assert!(cap.last_mutations().is_empty());
        assert_eq!(agent.fingerprint(), cap.tree().fingerprint());
    }

    /// A batch that removes a node and inserts a new one with the same content in its place
    /// (what `el.innerHTML = el.innerHTML` does) beside another edit of the same parent costs
    /// only that edit: the new node has no wire id yet, and the diff's anonymous phases
    /// (`Differ::match_children` after identity) pair it with the removed one. So the capture
    /// does reach the anonymous matcher (benches/JOURNAL.md, bundle size, branch `bundle9c`).
    #[test]
    fn a_node_recreated_with_the_same_content_costs_nothing_beside_another_edit() {
        let mut cap = Capture::new(Rules::default(), parse_document_str("<p>x</p><p>y</p>"));
        let mut agent = Mirror::default();
        agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();
        let t = cap.tree_mut();
        let b = body(t);
        let old = t.first_child(b).unwrap();
        let p = t.create_element(html_name("p"), Default::default());
        let x = t.create(crate::dom::tree::NodeData::Text("x".into()));
        t.append(p, x);
        t.insert_before(old, p);
        t.remove(old);
        let y = t.first_child(t.last_child(b).unwrap()).unwrap();
        t.set_character_data(y, "z");
        let yw = t.wire_id(y);
        agent.apply_frame(&cap.delta().unwrap(), &mut ()).unwrap();
        assert_eq!(
            cap.last_mutations(),
            [Mutation::SetText {
                node: yw,
                text: "z".into(),
            }]
        );
        assert!(agent.tree().same_tree(cap.shadow().tree()));
        assert_eq!(agent.fingerprint(), cap.tree().fingerprint());
    }

    /// A new document (a reload) becomes one delta against what the agents hold, and the
    /// mirror's `keyframe()` re-encodes exactly what it holds.
    #[test]
    fn a_replaced_document_is_a_delta_and_the_mirror_keyframe_reproduces_it() {
        let mut cap = Capture::new(Rules::default(), parse_document_str("<ul><li>a<li>b</ul>"));
        let mut agent = Mirror::default();
        agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();
        let delta = cap
            .replace_document(parse_document_str("<ul><li>a<li>b<li>c</ul>"))
            .unwrap();
        agent.apply_frame(&delta, &mut ()).unwrap();
        assert_eq!(cap.last_mutations().len(), 1);
        let mut late = Mirror::default();
        late.apply_frame(&agent.keyframe().unwrap(), &mut ())
            .unwrap();
        assert!(late.tree().same_tree(agent.tree()));
        assert_eq!(late.seq(), Some(2));
    }

    /// The device pixel ratio travels with the document: a change is one prop mutation, and a
    /// mirror (and the keyframe it makes for a late joiner) keeps it.
    #[test]
    fn the_pixel_ratio_reaches_the_mirror_and_its_keyframes() {
        let mut cap = Capture::new(Rules::default(), parse_document_str("<p>x</p>"));
        let mut agent = Mirror::default();
        agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();
        assert_eq!(agent.tree().pixel_ratio(), None);
        let root = cap.tree().root();
        cap.tree_mut().set_prop(root, Prop::PixelRatio(Some(2000)));
        let delta = cap.delta().expect("a new ratio is a change");
        assert_eq!(
            cap.last_mutations(),
            &[Mutation::SetProp {
                node: cap.tree().wire_id(root),
                prop: Prop::PixelRatio(Some(2000)),
            }]
        );
        agent.apply_frame(&delta, &mut ()).unwrap();
        assert_eq!(agent.tree().pixel_ratio(), Some(2000));
        let mut late = Mirror::default();
        late.apply_frame(&agent.keyframe().unwrap(), &mut ())
            .unwrap();
        assert_eq!(late.tree().pixel_ratio(), Some(2000));
        assert_eq!(late.fingerprint(), cap.tree().fingerprint());
    }

    /// Blocked placeholders and the boxes the page measured.
    mod placeholders {
        use super::*;
        use crate::diff::mutation::{NodeRecord, RecordData};
        use crate::dom::rendered::{RenderedBox, RenderedDisplay};
        use crate::dom::view::View;
        use crate::rules::{BlockConfig, RulesConfig, Sanitize};
        use crate::wire::frame::FrameView;

        const PAGE: &str = "<p>a</p><iframe class=ad width=300 src=/x title=t></iframe>";
        const STYLE_642: &str = "display:inline-block;box-sizing:border-box;width:642px;height:122px;margin:16px 0px 0px 0px";

        fn rules() -> Rules {
            let config = RulesConfig {
                block: BlockConfig {
                    selectors: vec!["iframe.ad".into()],
                },
                ..Default::default()
            };
            Rules::compile(&config, Sanitize::On).unwrap()
        }

        fn iframe(t: &Tree) -> NodeId {
            t.descendants(t.root())
                .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "iframe"))
                .unwrap()
        }

        fn measured(w: u32, h: u32) -> Option<Rendered> {
            Some(Rendered::Box(RenderedBox::new(
                RenderedDisplay::Inline,
                w,
                h,
                [1600, 0, 0, 0],
            )))
        }

        /// The iframe's record in a keyframe: (flags, attributes in order).
        fn placeholder_record(frame: &[u8]) -> (u8, Vec<(String, String)>) {
            let records: Vec<NodeRecord> = FrameView::access(frame).unwrap().to_records();
            records
                .into_iter()
                .find_map(|r| match r.data {
                    RecordData::Element { name, attrs, .. } if &*name.local == "iframe" => Some((
                        r.flags,
                        attrs
                            .into_iter()
                            .map(|(n, v)| (n.local.to_string(), v))
                            .collect(),
                    )),
                    _ => None,
                })
                .unwrap()
        }

        fn attrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
            list.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        }

        #[test]
        fn a_measured_blocked_element_reaches_the_keyframe_with_its_box() {
            let mut cap = Capture::new(rules(), parse_document_str(PAGE));
            let el = iframe(cap.tree());
            assert_eq!(cap.take_unmeasured_blocked(), vec![el]);
            assert_eq!(cap.take_unmeasured_blocked(), vec![], "asked once");
            cap.tree_mut().set_rendered(el, measured(64200, 12200));
            let kf = cap.keyframe();
            assert_eq!(
                placeholder_record(&kf),
                (
                    View::BLOCKED,
                    attrs(&[("width", "300"), ("style", STYLE_642)])
                )
            );
            let mut agent = Mirror::default();
            agent.apply_frame(&kf, &mut ()).unwrap();
            assert!(agent.tree().same_tree(cap.shadow().tree()));
        }

        #[test]
        fn a_size_change_is_one_attribute_mutation() {
            let mut cap = Capture::new(rules(), parse_document_str(PAGE));
            let el = iframe(cap.tree());
            cap.take_unmeasured_blocked();
            cap.tree_mut().set_rendered(el, measured(64200, 12200));
            let mut agent = Mirror::default();
            agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();
            cap.tree_mut().set_rendered(el, measured(30450, 12200));
            let delta = cap.delta().expect("a new size is a visible change");
            let wire = cap.tree().wire_id(el);
            assert_eq!(
                cap.last_mutations(),
                &[Mutation::SetAttr {
                    node: wire,
                    name: crate::dom::tree::attr_name("style"),
                    value: "display:inline-block;box-sizing:border-box;width:304.5px;height:122px;margin:16px 0px 0px 0px".into(),
                }]
            );
            agent.apply_frame(&delta, &mut ()).unwrap();
            // The same size again (a resize observer's echo) changes nothing.
            cap.tree_mut().set_rendered(el, measured(30450, 12200));
            assert_eq!(cap.delta(), None);
        }

        #[test]
        fn an_unknown_box_keeps_the_placeholder_without_a_style() {
            let mut cap = Capture::new(rules(), parse_document_str(PAGE));
            let el = iframe(cap.tree());
            assert_eq!(cap.take_unmeasured_blocked(), vec![el]);
            let kf = cap.keyframe();
            assert_eq!(
                placeholder_record(&kf),
                (View::BLOCKED, attrs(&[("width", "300")]))
            );
            // The page could not measure it (op with the flag 0): still no style, no frame.
            cap.tree_mut().set_rendered(el, Some(Rendered::Unknown));
            assert_eq!(cap.delta(), None);
        }

        #[test]
        fn an_element_blocked_by_an_edit_is_handed_out_for_measuring() {
            let mut cap = Capture::new(
                rules(),
                parse_document_str("<iframe id=f width=10></iframe><i>x</i>"),
            );
            assert_eq!(cap.take_unmeasured_blocked(), vec![]);
            cap.keyframe();
            let el = iframe(cap.tree());
            cap.tree_mut()
                .set_attr(el, crate::dom::tree::attr_name("class"), "ad");
            assert_eq!(cap.take_unmeasured_blocked(), vec![el]);
            cap.tree_mut().set_rendered(el, measured(64200, 12200));
            let wire = cap.tree().wire_id(el);
            cap.delta().unwrap();
            let style = crate::dom::tree::attr_name("style");
            let id = crate::dom::tree::attr_name("id");
            assert_eq!(
                cap.last_mutations(),
                &[
                    Mutation::SetAttr {
                        node: wire,
                        name: style,
                        value: STYLE_642.into(),
                    },
                    Mutation::RemoveAttr {
                        node: wire,
                        name: id
                    },
                    Mutation::SetFlags {
                        node: wire,
                        flags: View::BLOCKED,
                    },
                ]
            );
        }

        #[test]
        fn receivers_refuse_a_blocked_element_with_other_attributes() {
            use crate::wire::frame::{FrameHeader, encode_delta, encode_keyframe};
            let mut cap = Capture::new(rules(), parse_document_str(PAGE));
            let el = iframe(cap.tree());
            cap.take_unmeasured_blocked();
            cap.tree_mut().set_rendered(el, measured(64200, 12200));
            let kf = cap.keyframe();
            let mut records = FrameView::access(&kf).unwrap().to_records();
            for (value, ok) in [(STYLE_642, true), ("background:url(//evil/)", false)] {
                for r in &mut records {
                    if let RecordData::Element { name, attrs, .. } = &mut r.data
                        && &*name.local == "iframe"
                    {
                        attrs[1].1 = value.to_owned();
                    }
                }
                let h = FrameHeader::keyframe(1, 0, true);
                assert_eq!(
                    FrameView::access(&encode_keyframe(&h, &records)).is_ok(),
                    ok,
                    "{value}"
                );
            }
            // A delta setting another attribute on the blocked element is refused by the mirror.
            let mut agent = Mirror::default();
            agent.apply_frame(&kf, &mut ()).unwrap();
            let wire = cap.tree().wire_id(el);
            let bad = encode_delta(
                &FrameHeader::delta(2, cap.tree().fingerprint(), true),
                &[Mutation::SetAttr {
                    node: wire,
                    name: crate::dom::tree::attr_name("class"),
                    value: "x".into(),
                }],
            );
            assert_eq!(
                agent.apply_frame(&bad, &mut ()).unwrap_err(),
                ReplayError::BadStructure("a blocked element carries a non-placeholder attribute")
            );
        }
    }

    /// The batch path's refresh re-decides views only where they can change: after child-list
    /// edits (an item inserted first, a script and a style text appended, a subtree moved),
    /// every view equals a full annotation of the same tree, with the default rules (views
    /// follow ancestors only: a changed child list alone re-decides nothing) and with a
    /// sibling-dependent mask selector (the former first item is no longer masked).
    #[test]
    fn refreshed_views_after_child_list_edits_equal_a_full_annotation() {
        use crate::dom::tree::NodeData;
        use crate::rules::{MaskConfig, RulesConfig, Sanitize};
        let structural = Rules::compile(
            &RulesConfig {
                mask: MaskConfig {
                    selectors: vec!["li:first-child".into()],
                    ..Default::default()
                },
                ..Default::default()
            },
            Sanitize::On,
        )
        .unwrap();
        assert!(Rules::default().views_follow_ancestors_only());
        assert!(!structural.views_follow_ancestors_only());
        for rules in [Rules::default(), structural] {
            let mut t = parse_document_str(
                "<ul><li>a</li><li>b</li></ul><style>p{}</style><div><p>x</p></div><section></section>",
            );
            crate::diff::prepare(&mut t, &rules);
            let find = |t: &Tree, name: &str| {
                t.descendants(t.root())
                    .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == name))
                    .unwrap()
            };
            let (ul, style, div, section) = (
                find(&t, "ul"),
                find(&t, "style"),
                find(&t, "div"),
                find(&t, "section"),
            );
            let old_first = t.first_child(ul).unwrap();
            let li = t.create_element(html_name("li"), Default::default());
            let li_text = t.create(NodeData::Text("new".into()));
            t.append(li, li_text);
            t.insert_before(old_first, li);
            let script = t.create_element(html_name("script"), Default::default());
            t.append(div, script);
            let css = t.create(NodeData::Text("a{background:url(javascript:x)}".into()));
            t.append(style, css);
            let p = t.first_child(div).unwrap();
            t.append(section, p);
            crate::diff::refresh(&mut t, &rules);
            let mut full = t.clone();
            rules.annotate(&mut full);
            let views = |t: &Tree| {
                t.descendants(t.root())
                    .map(|n| (n, t.node(n).view))
                    .collect::<Vec<_>>()
            };
            assert_eq!(views(&t), views(&full), "{rules:?}");
            assert!(t.node(script).view.is_dropped());
            assert!(t.node(css).view.is_dropped());
            assert_eq!(
                (
                    t.node(li).view.is_masked(),
                    t.node(old_first).view.is_masked()
                ),
                (!rules.views_follow_ancestors_only(), false),
                "{rules:?}"
            );
        }
    }

    /// A node's own edit (attributes, text, scroll) re-decides its view, and its subtree's only
    /// where they can see it: a scroll of `<html>` or a title on a large `<div>` computes one
    /// view, not the page's; a class that changes nothing below stays on its element; an
    /// `annotation-xml`'s `encoding` re-decides its children; a node that becomes blocked
    /// re-decides its subtree. The views equal a full annotation after each step.
    #[test]
    fn an_edit_of_a_node_re_decides_its_subtree_only_where_it_can_see_it() {
        use crate::dom::tree::Prop;
        use crate::rules::VIEWS_COMPUTED;
        let rules = Rules::default();
        assert!(rules.views_follow_ancestors_only());
        let mut t = parse_document_str(
            "<div><p>a</p><p>b</p><style>p{}</style></div>\
             <math><annotation-xml encoding=\"text/html\"><div>x</div></annotation-xml></math>\
             <svg><set attributeName=\"x\"><desc>d</desc></set></svg>",
        );
        crate::diff::prepare(&mut t, &rules);
        let find = |t: &Tree, name: &str| {
            t.descendants(t.root())
                .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == name))
                .unwrap()
        };
        let (html, div, ax) = (
            find(&t, "html"),
            find(&t, "div"),
            find(&t, "annotation-xml"),
        );
        let inner = t.first_child(ax).unwrap();
        let views = |t: &Tree| {
            t.descendants(t.root())
                .map(|n| (n, t.node(n).view))
                .collect::<Vec<_>>()
        };
        let refreshed = |t: &mut Tree| {
            VIEWS_COMPUTED.with(|n| n.set(0));
            crate::diff::refresh(t, &rules);
            let computed = VIEWS_COMPUTED.with(|n| n.get());
            let mut full = t.clone();
            rules.annotate(&mut full);
            assert_eq!(views(t), views(&full));
            computed
        };
        assert!(!t.node(inner).view.is_dropped());

        t.set_prop(html, Prop::Scroll(Some((0, 40))));
        t.set_attr(div, attr_name("title"), "t");
        assert_eq!(refreshed(&mut t), 2);

        // Without an HTML encoding, the `div` is no longer HTML where it is: dropped.
        t.set_attr(ax, attr_name("encoding"), "x");
        assert_eq!(refreshed(&mut t), 3);
        assert!(t.node(inner).view.is_dropped());

        // An SVG animation of `href` is dropped (script could rewrite a link): so is its
        // subtree, re-decided.
        let set = find(&t, "set");
        let desc = t.first_child(set).unwrap();
        assert!(!t.node(desc).view.is_dropped());
        t.set_attr(set, attr_name("attributeName"), "href");
        assert_eq!(refreshed(&mut t), 3);
        assert!(t.node(desc).view.is_dropped());
    }

    /// With views that follow ancestors only, the blocked elements handed out for measuring
    /// are those a look at the whole page finds: a child-list edit alone looks at the subtrees
    /// it attached, an edited node at itself, and at its subtree where its edit re-decided it
    /// (an `annotation-xml`'s `encoding` lets an HTML `<object>` child be kept, so blocked).
    #[test]
    fn blocked_elements_to_measure_after_edits_are_those_of_a_look_at_the_whole_page() {
        use crate::dom::tree::Prop;
        let rules = Rules::default();
        assert!(rules.views_follow_ancestors_only());
        let mut cap = Capture::new(
            rules.clone(),
            parse_document_str(
                "<div><p>a</p><object></object></div><math><annotation-xml></annotation-xml></math>",
            ),
        );
        let find = |t: &Tree, name: &str| {
            t.descendants(t.root())
                .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == name))
                .unwrap()
        };
        let (div, object, ax) = (
            find(cap.tree(), "div"),
            find(cap.tree(), "object"),
            find(cap.tree(), "annotation-xml"),
        );
        assert_eq!(cap.take_unmeasured_blocked(), vec![object]);
        cap.keyframe();
        // What a look at the whole page finds (then marks as asked, like the capture does).
        let whole_page = |t: &Tree| {
            let mut t = t.clone();
            crate::diff::refresh(&mut t, &rules);
            t.descendants(t.root())
                .filter(|&n| {
                    let v = t.node(n).view;
                    v.is_blocked()
                        && !v.is_dropped()
                        && t.element(n).is_some_and(|e| {
                            placeholder::takes_a_box(e)
                                && e.props.as_ref().and_then(|p| p.rendered).is_none()
                        })
                })
                .collect::<Vec<_>>()
        };
        // An <embed> appended to the <div> (a child-list edit), a title on the <div>.
        let t = cap.tree_mut();
        let embed = t.create_element(html_name("embed"), Default::default());
        t.append(div, embed);
        t.set_attr(div, attr_name("title"), "t");
        assert_eq!(whole_page(cap.tree()), vec![embed]);
        assert_eq!(cap.take_unmeasured_blocked(), vec![embed]);
        cap.delta();
        // An HTML <object> in MathML content is dropped; `encoding="text/html"` keeps it.
        let t = cap.tree_mut();
        let inner = t.create_element(html_name("object"), Default::default());
        t.append(ax, inner);
        assert_eq!(whole_page(cap.tree()), vec![]);
        assert_eq!(cap.take_unmeasured_blocked(), vec![]);
        cap.delta();
        cap.tree_mut()
            .set_attr(ax, attr_name("encoding"), "text/html");
        assert_eq!(whole_page(cap.tree()), vec![inner]);
        assert_eq!(cap.take_unmeasured_blocked(), vec![inner]);
        cap.delta();
        // A scroll of the <div> (its own edit, its view unchanged): nothing new.
        cap.tree_mut().set_prop(div, Prop::Scroll(Some((0, 5))));
        assert_eq!(whole_page(cap.tree()), vec![]);
        assert_eq!(cap.take_unmeasured_blocked(), vec![]);
    }
}
