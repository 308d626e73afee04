//! The engine in the browser (wasm-bindgen).
//!
//! - [`CaptureEngine`] (customer page): the browser walks the live DOM and its changes into a
//!   batch (a `u32` op stream plus one string, see `cobrowse_engine::capture_batch`) and hands
//!   it over in one call; the engine applies it to its live tree and returns one frame. All
//!   masking, blocking, disabling and sanitizing happen here, before anything is encoded.
//! - `ReplayEngine` (agent page): applies frames to a `Mirror`; once a whole frame is
//!   accepted it hands the browser the DOM operations that bring the sandboxed iframe to the
//!   mirror's state (see `dom_ops`). A refused frame yields no operations at all, so the
//!   iframe is never half-updated.
//!
//! JavaScript touches the DOM; every decision is made here.
//!
//! Feature `agent` (on by default): the [`ReplayEngine`] and its [`dom_ops`]. The customer's
//! widget loads a module built without it (`scripts/build-web.sh`): the capture keeps its own
//! shadow mirror, but never turns frames into DOM operations.
//!
//! Feature `dump` (in `agent`): the canonical tree dumps for tests (`debugDumpLive`,
//! `debugDumpShadow`); the customer's module has none.

#[cfg(feature = "agent")]
pub mod dom_ops;
#[cfg(feature = "dump")]
pub mod dump;
mod permission;
pub mod protocol;
#[cfg(feature = "agent")]
mod replay;
mod rules;

use cobrowse_engine::{
    Capture, FrameKind, KeyframePhase, NodeHandles, Progress, Rules, Sanitize, Tree, apply_batch,
};
use wasm_bindgen::prelude::*;

#[cfg(feature = "agent")]
pub use crate::replay::ReplayEngine;

/// The customer side: the live tree, the node handles the page's script uses, and the
/// capture that turns edits into frames.
#[wasm_bindgen]
pub struct CaptureEngine {
    rules: Rules,
    capture: Option<Capture>,
    handles: NodeHandles,
    freed: Vec<u32>,
    /// Handles of blocked elements whose box the page must measure before the next frame
    /// (see `take_unmeasured`).
    unmeasured: Vec<u32>,
    /// Batches whose delta the capture could not verify against its shadow, so it sent a
    /// keyframe instead (always a defect in the diff; the page still mirrors correctly).
    fallback_keyframes: u32,
    /// The tree of a keyframe being built in slices (`keyframe_begin` .. `keyframe_finish`);
    /// while it is `Some`, `capture` is `None`.
    building: Option<Tree>,
}

#[wasm_bindgen]
impl CaptureEngine {
    /// Compiles `rules` (an object with the schema of the CLI's rules file; `undefined` or
    /// `null` for the defaults). Sanitizing is always on.
    #[wasm_bindgen(constructor)]
    pub fn new(rules: JsValue) -> Result<CaptureEngine, JsError> {
        let config = rules::rules_from_js(rules)?;
        let rules =
            Rules::compile(&config, Sanitize::On).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(CaptureEngine {
            rules,
            capture: None,
            handles: NodeHandles::default(),
            freed: Vec::new(),
            unmeasured: Vec::new(),
            fallback_keyframes: 0,
            building: None,
        })
    }

    /// The local names a batch may send by code (`NAME_CODE` + their index), separated by
    /// spaces (see `cobrowse_engine::capture_batch::NAMES`).
    pub fn batch_names(&self) -> String {
        cobrowse_engine::capture_batch::names_text()
    }

    /// Builds the live tree from a batch describing the whole page (handles start afresh)
    /// and returns its keyframe, or nothing when blocked elements must be measured first:
    /// then `take_unmeasured` names them and the batch reporting their boxes returns the
    /// keyframe. The same as `keyframe_begin`, one `keyframe_feed` and `keyframe_finish`.
    pub fn keyframe(&mut self, ops: &[u32], text: &str) -> Result<Vec<u8>, JsError> {
        self.keyframe_begin();
        self.keyframe_feed(ops, text)?;
        self.keyframe_finish()
    }

    /// Starts building a keyframe in slices (a large page's walk spread over several tasks):
    /// the live tree and the handles start afresh, and no frame is made until
    /// `keyframe_finish`. Any capture in progress is dropped.
    pub fn keyframe_begin(&mut self) {
        let mut tree = Tree::new_document();
        // Indexed from the start (no wire ids yet), so the preparation need not index it.
        tree.ensure_wire_index();
        self.building = Some(tree);
        self.capture = None;
        self.handles = NodeHandles::default();
        self.freed.clear();
        self.unmeasured.clear();
    }

    /// Applies one slice of the page (a batch: new nodes with their child lists, and edits
    /// to nodes of earlier slices) to the keyframe being built. Nodes a slice leaves detached
    /// are freed and reported by `take_freed`. The work is proportional to the slice.
    pub fn keyframe_feed(&mut self, ops: &[u32], text: &str) -> Result<(), JsError> {
        let tree = self
            .building
            .as_mut()
            .ok_or_else(|| JsError::new("no keyframe being built"))?;
        apply_batch(tree, &mut self.handles, ops, text, &mut self.freed)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(())
    }

    /// Ends the keyframe being built: returns it, or nothing when blocked elements must be
    /// measured first (as `keyframe`). The same as `keyframe_prepare` then `batch` with no ops.
    pub fn keyframe_finish(&mut self) -> Result<Vec<u8>, JsError> {
        self.keyframe_prepare()?;
        if !self.unmeasured.is_empty() {
            return Ok(Vec::new());
        }
        let capture = self.capture.as_mut().expect("prepared above");
        Ok(capture.keyframe())
    }

    /// The first half of ending a keyframe being built, to run in its own task: the rules and
    /// fingerprints of the whole tree. The next `batch` (edits made since, boxes of the blocked
    /// elements `take_unmeasured` names) returns the keyframe.
    pub fn keyframe_prepare(&mut self) -> Result<(), JsError> {
        while !self.keyframe_prepare_step(u32::MAX)? {}
        Ok(())
    }

    /// `keyframe_prepare` in steps (the first keyframe of a large page spread over tasks):
    /// prepares about `max_nodes` more nodes and returns whether the page is prepared (then
    /// `take_unmeasured` names the blocked elements to measure, and `keyframe_late` follows).
    pub fn keyframe_prepare_step(&mut self, max_nodes: u32) -> Result<bool, JsError> {
        if let Some(tree) = self.building.take() {
            self.capture = Some(Capture::new_in_steps(self.rules.clone(), tree));
        }
        let capture = self
            .capture
            .as_mut()
            .ok_or_else(|| JsError::new("no keyframe being built"))?;
        if capture.keyframe_phase() != KeyframePhase::Preparing {
            return Err(JsError::new("no keyframe being prepared"));
        }
        if capture.prepare_step(max_nodes as usize) == Progress::More {
            return Ok(false);
        }
        let blocked = capture.take_unmeasured_blocked();
        self.unmeasured = self.handles_of(blocked);
        Ok(true)
    }

    /// After `keyframe_prepare(_step)`: applies the late batch (what changed since the walk
    /// began, the boxes of the blocked elements `take_unmeasured` named) and begins encoding
    /// the keyframe (`keyframe_encode_step`). Returns false, encoding nothing yet, when blocked
    /// elements the batch added must be measured first: `take_unmeasured` names them, and the
    /// next call, with their boxes, begins.
    pub fn keyframe_late(&mut self, ops: &[u32], text: &str) -> Result<bool, JsError> {
        let prepared = self
            .capture
            .as_ref()
            .is_some_and(|c| c.seq() == 0 && c.keyframe_phase() == KeyframePhase::Idle);
        if !prepared {
            return Err(JsError::new("no keyframe prepared"));
        }
        if self.apply_ops(ops, text)? {
            return Ok(false);
        }
        self.capture
            .as_mut()
            .expect("checked above")
            .begin_keyframe();
        Ok(true)
    }

    /// Encodes about `max_nodes` more nodes of the keyframe `keyframe_late` began; returns the
    /// keyframe when it is done (empty before). The engine's shadow build follows
    /// (`settle_step`).
    pub fn keyframe_encode_step(&mut self, max_nodes: u32) -> Result<Vec<u8>, JsError> {
        let capture = self
            .capture
            .as_mut()
            .filter(|c| c.keyframe_phase() == KeyframePhase::Encoding)
            .ok_or_else(|| JsError::new("no keyframe being encoded"))?;
        if capture.encode_step(max_nodes as usize) == Progress::More {
            return Ok(Vec::new());
        }
        Ok(capture.take_keyframe().expect("an encoded keyframe"))
    }

    /// Builds about `max_nodes` more nodes of what the agents hold from the keyframe just
    /// made; returns whether it is done (`settle` does all that is left at once).
    pub fn settle_step(&mut self, max_nodes: u32) -> bool {
        match self.capture.as_mut() {
            Some(c) => c.settle_step(max_nodes as usize) == Progress::Done,
            None => true,
        }
    }

    /// Applies a batch of edits and returns the frame it makes: a delta, or the keyframe while
    /// none was made yet. Empty when the agent's view did not change, or when blocked elements
    /// must be measured first (`take_unmeasured` names them; the batch reporting their boxes
    /// makes the frame). An error means the page must be captured again with a keyframe.
    pub fn batch(&mut self, ops: &[u32], text: &str) -> Result<Vec<u8>, JsError> {
        let capture = self
            .capture
            .as_mut()
            .ok_or_else(|| JsError::new("no keyframe yet"))?;
        if capture.keyframe_phase() == KeyframePhase::Encoding {
            // Its frame would be lost: the page finishes `keyframe_encode_step` first.
            return Err(JsError::new("a keyframe is being encoded"));
        }
        if self.apply_ops(ops, text)? {
            return Ok(Vec::new());
        }
        let capture = self.capture.as_mut().expect("checked above");
        let first = capture.seq() == 0;
        if first {
            // The first keyframe (after `keyframe_prepare`): its shadow build waits for
            // `settle`, a task of its own.
            return Ok(capture.keyframe_unsettled());
        }
        let frame = capture.delta().unwrap_or_default();
        // Told by the capture, not by decoding the frame again.
        if !frame.is_empty() && capture.last_frame_kind() == Some(FrameKind::Keyframe) {
            self.fallback_keyframes += 1;
        }
        Ok(frame)
    }

    /// Builds what the agents hold from the keyframe the last `batch` returned, if it has not
    /// been yet (the next batch would do it first); the page calls it in a task of its own.
    pub fn settle(&mut self) {
        if let Some(c) = self.capture.as_mut() {
            c.settle();
        }
    }

    /// Handles of the blocked elements the page must measure (batch op `OP_RENDERED_BOX`,
    /// `has = 0` when it cannot) before the next frame is made; each is named once.
    pub fn take_unmeasured(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.unmeasured)
    }

    /// Applies a batch of edits to the capture's live tree (there must be a capture); returns
    /// whether blocked elements it added must be measured before a frame is made
    /// (`take_unmeasured` names them).
    fn apply_ops(&mut self, ops: &[u32], text: &str) -> Result<bool, JsError> {
        let capture = self.capture.as_mut().expect("a capture");
        apply_batch(
            capture.tree_mut(),
            &mut self.handles,
            ops,
            text,
            &mut self.freed,
        )
        .map_err(|e| JsError::new(&e.to_string()))?;
        let unmeasured = capture.take_unmeasured_blocked();
        let unmeasured = self.handles_of(unmeasured);
        if unmeasured.is_empty() {
            return Ok(false);
        }
        self.unmeasured = unmeasured;
        Ok(true)
    }

    fn handles_of(&self, nodes: Vec<cobrowse_engine::NodeId>) -> Vec<u32> {
        nodes
            .into_iter()
            .map(|n| self.handles.handle(n))
            .filter(|&h| h != 0)
            .collect()
    }

    /// Batches that became a keyframe instead of a delta (see the field).
    pub fn fallback_keyframes(&self) -> u32 {
        self.fallback_keyframes
    }

    /// Handles of the nodes freed by the batches since the last call (the page forgets them).
    pub fn take_freed(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.freed)
    }

    /// Nodes held by the live tree and handles bound (for memory measurements).
    pub fn live_nodes(&self) -> u32 {
        self.capture.as_ref().map_or(0, |c| c.tree().len() as u32)
    }

    /// Bytes of WebAssembly memory in use by the module (it only grows; for measurements).
    pub fn memory_bytes(&self) -> f64 {
        #[cfg(target_arch = "wasm32")]
        {
            (core::arch::wasm32::memory_size(0) * 65536) as f64
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            0.0
        }
    }

    /// Handles bound.
    pub fn handle_count(&self) -> u32 {
        self.handles.len() as u32
    }

    /// The fingerprint of what the agents hold, as 16 hex digits.
    pub fn fingerprint(&mut self) -> String {
        self.settle();
        self.capture.as_ref().map_or_else(String::new, |c| {
            format!("{:016x}", c.shadow().fingerprint())
        })
    }

    /// A canonical dump of the live tree (tests compare it with the page's DOM).
    #[cfg(feature = "dump")]
    #[wasm_bindgen(js_name = debugDumpLive)]
    pub fn debug_dump_live(&self) -> String {
        self.capture
            .as_ref()
            .map_or_else(String::new, |c| dump::dump(c.tree()))
    }

    /// A canonical dump of what the agents hold.
    #[cfg(feature = "dump")]
    #[wasm_bindgen(js_name = debugDumpShadow)]
    pub fn debug_dump_shadow(&mut self) -> String {
        self.settle();
        self.capture
            .as_ref()
            .map_or_else(String::new, |c| dump::dump(c.shadow().tree()))
    }
}
