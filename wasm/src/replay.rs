//! The agent side (feature `agent`): [`ReplayEngine`] applies frames to a [`Mirror`] and hands
//! the browser the DOM operations of each accepted frame (see [`crate::dom_ops`]).

use cobrowse_engine::{FrameView, Mirror, MirrorOptions, ReplayError};
use wasm_bindgen::prelude::*;

use crate::dom_ops::DomOps;
use crate::dump;

/// The agent side: a mirror and the DOM operations of the last accepted frame.
#[wasm_bindgen]
pub struct ReplayEngine {
    mirror: Mirror,
    ops: DomOps,
    error: String,
}

impl Default for ReplayEngine {
    fn default() -> Self {
        ReplayEngine::new()
    }
}

#[wasm_bindgen]
impl ReplayEngine {
    /// An empty mirror that only accepts sanitized frames.
    #[wasm_bindgen(constructor)]
    pub fn new() -> ReplayEngine {
        ReplayEngine {
            mirror: Mirror::new(MirrorOptions::default()),
            ops: DomOps::default(),
            error: String::new(),
        }
    }

    /// Applies one frame. `true`: accepted, its DOM operations are in `ops()`/`text()`.
    /// `false`: refused (see `error()`); no operations; the mirror waits for a keyframe.
    pub fn apply(&mut self, bytes: &[u8]) -> bool {
        let mut ops = DomOps::default();
        match self.mirror.apply_frame(bytes, &mut ops) {
            Ok(_) => {
                self.ops = ops;
                self.error.clear();
                true
            }
            Err(e) => {
                self.ops = DomOps::default();
                self.error = describe(&e);
                false
            }
        }
    }

    /// DOM operations that rebuild the whole page from what the mirror holds (a fresh iframe
    /// document); `false` when the mirror has nothing in sync to show.
    pub fn rebuild(&mut self) -> bool {
        let Some(bytes) = self.mirror.keyframe() else {
            return false;
        };
        let mut ops = DomOps::default();
        let Ok(view) = FrameView::access(&bytes) else {
            return false;
        };
        let records: Vec<_> = view.records().collect();
        ops.keyframe_records(&records);
        self.ops = ops;
        true
    }

    /// The op stream of the last accepted frame.
    pub fn ops(&self) -> Vec<u32> {
        self.ops.ops.clone()
    }

    /// The string operands of the last accepted frame.
    pub fn text(&self) -> String {
        self.ops.text.clone()
    }

    /// Why the last frame was refused.
    pub fn error(&self) -> String {
        self.error.clone()
    }

    /// Whether the mirror accepts deltas.
    pub fn in_sync(&self) -> bool {
        self.mirror.in_sync()
    }

    /// The mirror's fingerprint, as 16 hex digits.
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", self.mirror.fingerprint())
    }

    /// The customer's device pixel ratio in thousandths (0: not known).
    pub fn pixel_ratio(&self) -> u32 {
        self.mirror.tree().pixel_ratio().unwrap_or(0)
    }

    /// Nodes the mirror holds.
    pub fn node_count(&self) -> u32 {
        self.mirror.tree().len() as u32
    }

    /// A canonical dump of the mirror (tests compare it with the iframe's DOM).
    #[wasm_bindgen(js_name = debugDump)]
    pub fn debug_dump(&self) -> String {
        dump::dump(self.mirror.tree())
    }
}

fn describe(e: &ReplayError) -> String {
    let kind = match e {
        ReplayError::SequenceGap { .. } => "sequence-gap",
        ReplayError::FingerprintMismatch { .. } => "fingerprint-mismatch",
        ReplayError::Desynchronized => "desynchronized",
        ReplayError::Unsanitized => "unsanitized",
        ReplayError::Frame(_) => "invalid-frame",
        _ => "invalid-structure",
    };
    format!("{kind}: {e}")
}
