//! cobrowse-engine: capture, diff, mask and replay DOM trees for co-browsing.
//!
//! The source folders are the pipeline, in the order data flows through it:
//!
//! | folder | stage |
//! |---|---|
//! | `dom/` | the arena [`Tree`], HTML parsing (feature `html`) and serialization |
//! | `rules/` | mask, block, disable and sanitize rules, compiled once, CSS selectors |
//! | `diff/` | subtree fingerprints, the minimal diff and the [`Mutation`] vocabulary it emits |
//! | `wire/` | frames (keyframes and deltas) and the session [`protocol`] |
//! | `replay/` | the [`Mirror`] that applies frames on the agent side and in the relay |
//! | `capture/` | the [`Capture`] object that owns a capturing caller's state |
//! | `session/` | the session rules as a sans-IO state machine |
//!
//! Customer side: `dom` (parse, or live capture through the tree-edit API) -> `rules`
//! (annotate once) -> `diff` -> `wire::frame`. Agent side and relay: `wire::frame` (validated,
//! zero-copy) -> `replay`. The engine does no IO and reads no clock: callers pass `now`.

mod capture;
mod diff;
mod dom;
#[cfg(feature = "fuzzing")]
mod fuzzing;
mod replay;
mod rules;
pub mod session;
mod sort;
mod wire;

pub use wire::protocol;

pub use capture::batch::{self as capture_batch, BatchError, BatchStats, NodeHandles, apply_batch};
pub use capture::{Capture, DeltaStats};
pub use capture::{KeyframePhase, Progress};
pub use diff::mutation::{
    CountingSink, Mutation, MutationKind, MutationRef, MutationSink, NameRef, NodeRecord, PropRef,
    PropsRef, RecordData, RecordDataRef, RecordRef, WireNs,
};
pub use diff::{
    DiffStats, assign_ids, diff, diff_against_mirror, diff_subtrees, prepare, prepare_identity,
    refresh, refresh_identity, snapshot,
};
#[cfg(feature = "html")]
pub use dom::parse::{
    ParseOptions, parse_document_str, parse_document_with, parse_fragment_in, parse_fragment_str,
};
pub use dom::rendered::{
    MAX_LENGTH as MAX_RENDERED_LENGTH, Rendered, RenderedBox, RenderedDisplay,
};
#[cfg(feature = "html")]
pub use dom::serialize::{subtree_to_html, to_html};
pub use dom::tree::{
    Attr, Attrs, Doctype, ElementData, NodeData, NodeId, NodeKind, Prop, Props, Text, Tree, WireId,
    attr_name, html_name,
};
pub use dom::view::View;
#[cfg(feature = "fuzzing")]
pub use fuzzing::{fuzz_html_round_trip, normalized_difference, reparse_difference};
pub use markup5ever::{LocalName, Namespace, Prefix, QualName, local_name, namespace_url, ns};
pub use replay::{FrameMeta, Mirror, MirrorOptions, ReplayError, ReplayObserver};
pub use rules::selector::SelectorError;
pub use rules::{
    AttributeMask, BlockConfig, DisableConfig, MaskConfig, Projection, Rules, RulesConfig,
    RulesError, Sanitize, mask_text,
};
pub use wire::frame::{
    FRAME_VERSION, FrameError, FrameHeader, FrameKind, FrameView, MAX_FRAME_BYTES, MAX_PIXEL_RATIO,
    encode_delta, encode_keyframe,
};
pub use wire::protocol::{
    MAX_MESSAGE_BYTES, Message, MessageKind, MessageView, PROTOCOL_VERSION, ProtocolError,
    encode_frame,
};
#[cfg(feature = "fuzzing")]
pub use wire::{frame::fuzz_access, protocol::fuzz_decode};
