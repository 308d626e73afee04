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

#[cfg(feature = "agent")]
pub mod dom_ops;
pub mod dump;
mod permission;
pub mod protocol;
#[cfg(feature = "agent")]
mod replay;
mod rules;

use cobrowse_engine::{
    Capture, FrameKind, FrameView, NodeHandles, Rules, Sanitize, Tree, apply_batch,
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
        self.building = Some(Tree::new_document());
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
        let tree = self
            .building
            .take()
            .ok_or_else(|| JsError::new("no keyframe being built"))?;
        let mut capture = Capture::new(self.rules.clone(), tree);
        self.unmeasured = self.handles_of(capture.take_unmeasured_blocked());
        self.capture = Some(capture);
        Ok(())
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
        if !unmeasured.is_empty() {
            self.unmeasured = unmeasured;
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
        if !first
            && !frame.is_empty()
            && FrameView::access(&frame).is_ok_and(|v| v.header().kind == FrameKind::Keyframe)
        {
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
    #[wasm_bindgen(js_name = debugDumpLive)]
    pub fn debug_dump_live(&self) -> String {
        self.capture
            .as_ref()
            .map_or_else(String::new, |c| dump::dump(c.tree()))
    }

    /// A canonical dump of what the agents hold.
    #[wasm_bindgen(js_name = debugDumpShadow)]
    pub fn debug_dump_shadow(&mut self) -> String {
        self.settle();
        self.capture
            .as_ref()
            .map_or_else(String::new, |c| dump::dump(c.shadow().tree()))
    }
}
