//! The first keyframe of a large page in steps: every phase that goes over the whole tree is
//! resumable with a work budget (`max_nodes`), so that a browser can spread it over tasks under
//! a wall-clock deadline of its own (the engine has no clock):
//!
//! 1. **Prepare** ([`Capture::new_in_steps`], [`Capture::prepare_step`]): the rules' views in
//!    pre-order (the visible nodes get their wire ids in that order, as
//!    `diff::assign_ids` gives them, and the blocked elements to measure are noted), then the
//!    fingerprints, children first (the reverse of that pre-order).
//! 2. The caller applies what changed meanwhile through [`Capture::tree_mut`] (the late batch).
//! 3. **Encode** ([`Capture::begin_keyframe`], [`Capture::encode_step`]): a pre-order walk of
//!    what the agent sees; each node's record goes into one growing [`KeyframeEncoder`] and,
//!    the same record, into the shadow's tree under construction ([`ShadowBuild`]). Nodes the
//!    late batch added get their wire ids as the walk reaches them; their fingerprints are
//!    refreshed (in proportion to them) before the frame's header is written, and the
//!    shadow's nodes take the fingerprints of the live nodes they were recorded from (a
//!    record is the live node as projected: the same values as hashing the shadow again).
//! 4. **Settle** ([`Capture::settle_step`]): the shadow becomes what the agents hold, as if
//!    the frame had been decoded into it.
//!
//! Nothing encoded can go stale: the live tree is only reachable for editing through
//! [`Capture::tree_mut`], which first finishes a phase in progress (prepare or encode) in the
//! same call, so between two steps the tree is exactly what the earlier steps saw. The late
//! batch lands between prepare and encode, when no walk is open; a change made after the
//! encode began waits for the next delta. Debug builds assert it: the arena's size does not
//! change during a walk, the only edit marks the encode walk leaves are its own wire-id
//! assignments, and the shadow built from the records decodes equal from the finished frame.
//! The settle phase does not read the live tree, so edits during it are allowed; every
//! frame-making call finishes it first.

use crate::capture::Capture;
use crate::diff::{self, fingerprint};
use crate::dom::rendered::Rendered;
use crate::dom::tree::{NodeId, Tree};
use crate::replay::{FrameMeta, ShadowBuild};
use crate::rules::{AnnotateWalk, Projection, Rules, placeholder};
use crate::wire::frame::{FrameKind, KeyframeEncoder};

/// Whether a resumable phase has work left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The phase is done.
    Done,
    /// Call again.
    More,
}

/// The phase of a first keyframe made in steps (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyframePhase {
    /// No keyframe in steps is in progress.
    Idle,
    /// The rules' views and the fingerprints of the page (`prepare_step`).
    Preparing,
    /// The keyframe's walk and encoding (`encode_step`).
    Encoding,
    /// The keyframe is made (`take_keyframe`); the shadow is installed (`settle_step`).
    Settling,
}

/// The state of the phase in progress.
pub(crate) enum Steps {
    Prepare(Box<Prepare>),
    Encode(Box<Encode>),
    Settle(Box<Settle>),
}

pub(crate) struct Prepare {
    /// `Some` while the views are computed; then the fingerprints.
    walk: Option<AnnotateWalk>,
    /// Every node in pre-order (what the annotation visited).
    order: Vec<NodeId>,
    /// Nodes of `order`, from its end, whose fingerprints are computed.
    hashed: usize,
    /// Blocked elements whose box the page must measure, in document order.
    blocked: Vec<NodeId>,
    /// The arena's length when the phase began.
    arena: usize,
}

pub(crate) struct Encode {
    /// Nodes to visit, next on top.
    stack: Vec<NodeId>,
    enc: KeyframeEncoder,
    shadow: Option<ShadowBuild>,
    /// The live node of each record, in order (the shadow's fingerprints are copied from them).
    recorded: Vec<NodeId>,
    /// Wire ids given by this walk to nodes the late batch added.
    assigned: usize,
    arena: usize,
}

pub(crate) struct Settle {
    shadow: ShadowBuild,
    meta: FrameMeta,
    /// The frame, to check in debug builds that it decodes into the tree built beside it.
    #[cfg(debug_assertions)]
    frame: Vec<u8>,
}

/// Whether the agent sees `id` (its view is current): not dropped, and not inside a blocked
/// element (whose children the placeholder replaces). A dropped or blocked node's descendants
/// inherit the drop, so the parent's view is all there is to look at.
fn visible(tree: &Tree, id: NodeId) -> bool {
    !tree.node(id).view.is_dropped()
        && tree
            .parent(id)
            .is_none_or(|p| !tree.node(p).view.is_blocked())
}

fn unmeasured_blocked(tree: &Tree, id: NodeId) -> bool {
    let view = tree.node(id).view;
    view.is_blocked()
        && !view.is_dropped()
        && tree.element(id).is_some_and(|e| {
            placeholder::takes_a_box(e) && e.props.as_ref().and_then(|p| p.rendered).is_none()
        })
}

impl Prepare {
    fn step(&mut self, rules: &Rules, tree: &mut Tree, max_nodes: usize) -> Progress {
        debug_assert_eq!(
            self.arena,
            tree.capacity_index(),
            "the tree changed while prepared"
        );
        let mut left = max_nodes.max(1);
        if let Some(walk) = &mut self.walk {
            let (order, blocked) = (&mut self.order, &mut self.blocked);
            let before = order.len();
            let done = walk.step(rules, tree, left, |tree, id| {
                order.push(id);
                if visible(tree, id) && !tree.wire_id(id).is_assigned() {
                    let w = tree.fresh_wire_id();
                    tree.set_wire_id(id, w);
                }
                if unmeasured_blocked(tree, id) {
                    blocked.push(id);
                }
            });
            left -= self.order.len() - before;
            if !done {
                return Progress::More;
            }
            self.walk = None;
        }
        let proj = Projection::through(rules);
        let mut buf = Vec::with_capacity(256);
        let end = self.order.len() - self.hashed;
        let start = end.saturating_sub(left);
        for &id in self.order[start..end].iter().rev() {
            fingerprint::fingerprint_one(tree, id, &proj, &mut buf);
        }
        self.hashed += end - start;
        if self.hashed < self.order.len() {
            return Progress::More;
        }
        fingerprint::finish_fingerprints(tree);
        Progress::Done
    }
}

impl Capture {
    /// Starts capturing `page` under `rules` like [`Capture::new`], with the page's
    /// preparation (the rules' views, wire ids, fingerprints) left to [`Capture::prepare_step`]
    /// (see the module docs). `page` is a fresh tree: no wire ids yet.
    pub fn new_in_steps(rules: Rules, mut page: Tree) -> Capture {
        debug_assert!(
            !page.wire_id(page.root()).is_assigned(),
            "a page prepared in steps is fresh"
        );
        page.fingerprinted = false;
        page.dirty.clear();
        page.ensure_wire_index();
        let root = page.root();
        let prepare = Prepare {
            walk: Some(AnnotateWalk::new(&page, root)),
            order: Vec::with_capacity(page.len()),
            hashed: 0,
            blocked: Vec::new(),
            arena: page.capacity_index(),
        };
        let mut cap = Capture::unprepared(rules, page);
        cap.steps = Some(Steps::Prepare(Box::new(prepare)));
        cap
    }

    /// Where a keyframe in steps stands.
    pub fn keyframe_phase(&self) -> KeyframePhase {
        match &self.steps {
            None => KeyframePhase::Idle,
            Some(Steps::Prepare(_)) => KeyframePhase::Preparing,
            Some(Steps::Encode(_)) => KeyframePhase::Encoding,
            Some(Steps::Settle(_)) => KeyframePhase::Settling,
        }
    }

    /// Prepares up to about `max_nodes` more nodes of a page given to
    /// [`Capture::new_in_steps`] (each node is visited twice: views, then fingerprints).
    pub fn prepare_step(&mut self, max_nodes: usize) -> Progress {
        let Some(Steps::Prepare(p)) = &mut self.steps else {
            return Progress::Done;
        };
        if p.step(&self.rules, &mut self.live, max_nodes) == Progress::More {
            return Progress::More;
        }
        let Some(Steps::Prepare(p)) = self.steps.take() else {
            unreachable!()
        };
        self.scan_all_blocked = false;
        self.prepared_blocked = Some(p.blocked);
        debug_assert!(!self.live.fingerprints_stale());
        Progress::Done
    }

    /// Starts the keyframe of the page as it is now (prepared, with the late batch applied),
    /// to be encoded by [`Capture::encode_step`]. Finishes a preparation still in progress.
    pub fn begin_keyframe(&mut self) {
        self.finish_steps();
        self.prepared_blocked = None;
        diff::refresh(&mut self.live, &self.rules);
        self.refreshed_dirty.clear();
        let enc = Encode {
            stack: vec![self.live.root()],
            enc: KeyframeEncoder::default(),
            shadow: None,
            recorded: Vec::with_capacity(self.live.indexed_wire_ids()),
            assigned: 0,
            arena: self.live.capacity_index(),
        };
        self.steps = Some(Steps::Encode(Box::new(enc)));
    }

    /// Encodes up to `max_nodes` more nodes of the keyframe begun by
    /// [`Capture::begin_keyframe`]; at the end the keyframe waits for
    /// [`Capture::take_keyframe`] and the shadow's [`Capture::settle_step`]s begin.
    pub fn encode_step(&mut self, max_nodes: usize) -> Progress {
        let Some(Steps::Encode(e)) = &mut self.steps else {
            return Progress::Done;
        };
        debug_assert_eq!(
            e.arena,
            self.live.capacity_index(),
            "the tree changed while encoded"
        );
        let proj = Projection::through(&self.rules);
        let live = &mut self.live;
        let mut left = max_nodes.max(1);
        while left > 0 {
            let Some(id) = e.stack.pop() else { break };
            left -= 1;
            if !live.wire_id(id).is_assigned() {
                // A node the late batch added: its id, in the pre-order `assign_ids` uses.
                let w = live.fresh_wire_id();
                live.set_wire_id(id, w);
                e.assigned += 1;
            }
            let start = e.stack.len();
            e.stack.extend(proj.children(live, id));
            let kids = (e.stack.len() - start) as u32;
            e.stack[start..].reverse();
            let record = diff::record_of(live, &proj, id, kids);
            e.enc.record(&record);
            e.recorded.push(id);
            match &mut e.shadow {
                // The prepared page's visible nodes (the late batch's new ones are not
                // counted: the shadow grows for them).
                None => e.shadow = Some(ShadowBuild::new(&record, live.indexed_wire_ids())),
                Some(s) => s.push(record),
            }
        }
        if !e.stack.is_empty() {
            return Progress::More;
        }
        let Some(Steps::Encode(e)) = self.steps.take() else {
            unreachable!()
        };
        // Only this walk's id assignments marked the tree since `begin_keyframe`.
        debug_assert_eq!(
            self.live.dirty.len(),
            e.assigned,
            "the tree changed while encoded"
        );
        diff::refresh(&mut self.live, &self.rules);
        self.seq += 1;
        let header = self.header(FrameKind::Keyframe);
        let frame = e.enc.finish(&header);
        let mut shadow = e.shadow.expect("a keyframe has a root");
        debug_assert!(shadow.is_built());
        // The live tree's fingerprints are current (refreshed above): the shadow takes them
        // instead of hashing its own tree again in the settle phase.
        shadow.copy_fingerprints(&self.live, &e.recorded);
        self.last_kind = Some(crate::wire::frame::FrameKind::Keyframe);
        self.last.clear();
        self.last_stats = crate::capture::DeltaStats::default();
        self.steps = Some(Steps::Settle(Box::new(Settle {
            shadow,
            meta: FrameMeta::of(&header),
            #[cfg(debug_assertions)]
            frame: frame.clone(),
        })));
        self.encoded = Some(frame);
        Progress::Done
    }

    /// The keyframe [`Capture::encode_step`] finished, once (then `None`).
    pub fn take_keyframe(&mut self) -> Option<Vec<u8>> {
        self.encoded.take()
    }

    /// Fingerprints up to `max_nodes` more nodes of the shadow built beside the keyframe; at
    /// the end the shadow holds it.
    pub fn settle_step(&mut self, max_nodes: usize) -> Progress {
        let Some(Steps::Settle(s)) = &mut self.steps else {
            return Progress::Done;
        };
        if !s.shadow.hash_step(max_nodes.max(1)) {
            return Progress::More;
        }
        let Some(Steps::Settle(s)) = self.steps.take() else {
            unreachable!()
        };
        let s = *s;
        s.shadow.install(&mut self.shadow, &s.meta);
        #[cfg(debug_assertions)]
        {
            let mut decoded = crate::Mirror::default();
            decoded
                .apply_frame(&s.frame, &mut ())
                .expect("the capture's own keyframe applies");
            debug_assert!(
                decoded.tree().same_tree(self.shadow.tree()),
                "the shadow built from the records differs from the frame"
            );
        }
        Progress::Done
    }

    /// Runs a phase in progress to its end, in this call: a preparation, an encoding (its
    /// keyframe then waits for [`Capture::take_keyframe`]) and the settling after it.
    pub fn finish_steps(&mut self) {
        while self.prepare_step(usize::MAX) == Progress::More {}
        while self.encode_step(usize::MAX) == Progress::More {}
        while self.settle_step(usize::MAX) == Progress::More {}
    }

    /// The blocked elements noted by a preparation in steps, marked asked (see
    /// [`Capture::take_unmeasured_blocked`]).
    pub(crate) fn take_prepared_blocked(&mut self) -> Vec<NodeId> {
        let out = self.prepared_blocked.take().unwrap_or_default();
        for &n in &out {
            self.live.set_rendered(n, Some(Rendered::Unknown));
        }
        out
    }
}

#[cfg(all(test, feature = "html"))]
mod tests {
    use super::*;
    use crate::dom::parse::parse_document_str;
    use crate::dom::tree::{attr_name, html_name};
    use crate::replay::Mirror;
    use crate::rules::{BlockConfig, MaskConfig, RulesConfig, Sanitize};

    const PAGE: &str = "<!DOCTYPE html><title>t</title><ul><li>a<li class=secret>b<li>c</ul>\
        <iframe class=ad width=30></iframe><template><i>t</i></template>\
        <p>x<input type=password value=pw><script>bad()</script></p>";

    fn rules() -> Rules {
        let config = RulesConfig {
            block: BlockConfig {
                selectors: vec!["iframe.ad".into()],
            },
            mask: MaskConfig {
                selectors: vec![".secret".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        Rules::compile(&config, Sanitize::On).unwrap()
    }

    fn find(t: &Tree, name: &str) -> NodeId {
        t.descendants(t.root())
            .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == name))
            .unwrap()
    }

    /// The late batch of the tests: a new element with a text child, an attribute, a removal.
    fn late_edits(t: &mut Tree) {
        let ul = find(t, "ul");
        let li = t.create_element(html_name("li"), Default::default());
        let text = t.create(crate::dom::tree::NodeData::Text("late".into()));
        t.append(li, text);
        t.append(ul, li);
        let p = find(t, "p");
        t.set_attr(p, attr_name("title"), "late");
        let first = t.first_child(ul).unwrap();
        t.remove(first);
    }

    /// Runs every phase with `budget`, the late batch between prepare and encode; returns
    /// the capture, the keyframe, and how many steps each phase took.
    fn in_steps(budget: usize) -> (Capture, Vec<u8>, [usize; 3]) {
        let mut cap = Capture::new_in_steps(rules(), parse_document_str(PAGE));
        let mut counts = [0; 3];
        assert_eq!(cap.keyframe_phase(), KeyframePhase::Preparing);
        loop {
            counts[0] += 1;
            if cap.prepare_step(budget) == Progress::Done {
                break;
            }
        }
        assert_eq!(cap.keyframe_phase(), KeyframePhase::Idle);
        let iframe = find(cap.tree(), "iframe");
        assert_eq!(cap.take_unmeasured_blocked(), vec![iframe]);
        late_edits(cap.tree_mut());
        cap.begin_keyframe();
        assert_eq!(cap.keyframe_phase(), KeyframePhase::Encoding);
        loop {
            counts[1] += 1;
            assert_eq!(cap.take_keyframe(), None);
            if cap.encode_step(budget) == Progress::Done {
                break;
            }
        }
        let kf = cap.take_keyframe().expect("encoded");
        assert_eq!(cap.take_keyframe(), None, "handed out once");
        assert_eq!(cap.keyframe_phase(), KeyframePhase::Settling);
        loop {
            counts[2] += 1;
            if cap.settle_step(budget) == Progress::Done {
                break;
            }
        }
        assert_eq!(cap.keyframe_phase(), KeyframePhase::Idle);
        (cap, kf, counts)
    }

    /// Every budget gives the keyframe the one-call path gives for the same page and edits,
    /// byte for byte (same wire ids, records and tables), in as many steps as the budget
    /// says; the shadow equals an agent's mirror fed the frame, and the next delta applies.
    #[test]
    fn a_keyframe_in_steps_is_the_keyframe_whatever_the_budget() {
        let mut whole = Capture::new(rules(), parse_document_str(PAGE));
        whole.take_unmeasured_blocked();
        late_edits(whole.tree_mut());
        let expected = whole.keyframe();
        let nodes = parse_document_str(PAGE).len();
        for budget in [1, 2, 7, usize::MAX] {
            let (mut cap, kf, counts) = in_steps(budget);
            assert_eq!(kf, expected, "budget {budget}");
            if budget == 1 {
                // Views then fingerprints of every node; each visible node; the shadow took
                // its fingerprints from the live tree at the encode's end: one settle step.
                assert_eq!(counts[0], 2 * nodes, "{counts:?}");
                assert!(counts[1] > 10 && counts[2] == 1, "{counts:?}");
            }
            if budget == usize::MAX {
                assert_eq!(counts, [1, 1, 1]);
            }
            let mut agent = Mirror::default();
            agent.apply_frame(&kf, &mut ()).unwrap();
            assert!(agent.tree().same_tree(cap.shadow().tree()));
            assert_eq!(agent.fingerprint(), cap.tree().fingerprint());
            let li = find(cap.tree(), "li");
            cap.tree_mut().set_attr(li, attr_name("title"), "after");
            let delta = cap.delta().expect("an edit after the keyframe");
            assert_eq!(cap.last_mutations().len(), 1, "{:?}", cap.last_mutations());
            agent.apply_frame(&delta, &mut ()).unwrap();
            assert_eq!(agent.fingerprint(), cap.tree().fingerprint());
        }
    }

    /// An edit while the keyframe is encoded (through `tree_mut`, the only way to the live
    /// tree) finishes the encoding first: the keyframe is the page before the edit, and the
    /// edit comes in the next delta. The same for an edit during the preparation, which is
    /// then finished and in the keyframe.
    #[test]
    fn an_edit_in_the_middle_of_a_phase_finishes_it_first() {
        let mut cap = Capture::new_in_steps(rules(), parse_document_str(PAGE));
        assert_eq!(cap.prepare_step(3), Progress::More);
        late_edits(cap.tree_mut());
        assert_eq!(
            cap.keyframe_phase(),
            KeyframePhase::Idle,
            "prepared by tree_mut"
        );
        cap.begin_keyframe();
        assert_eq!(cap.encode_step(3), Progress::More);
        let before = {
            let mut whole = Capture::new(rules(), parse_document_str(PAGE));
            late_edits(whole.tree_mut());
            whole.keyframe()
        };
        let p = find(cap.tree(), "p");
        cap.tree_mut().set_attr(p, attr_name("title"), "during");
        assert_eq!(cap.keyframe_phase(), KeyframePhase::Settling);
        let kf = cap.take_keyframe().expect("finished by tree_mut");
        assert_eq!(kf, before, "the keyframe is the page before the edit");
        let mut agent = Mirror::default();
        agent.apply_frame(&kf, &mut ()).unwrap();
        let delta = cap.delta().expect("the edit is a delta");
        assert_eq!(cap.last_mutations().len(), 1, "{:?}", cap.last_mutations());
        agent.apply_frame(&delta, &mut ()).unwrap();
        assert_eq!(agent.fingerprint(), cap.tree().fingerprint());
        assert!(agent.tree().same_tree(cap.shadow().tree()));
    }
}
