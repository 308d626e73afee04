//! cobrowse-engine: parse, fingerprint, diff, mask and replay DOM trees for co-browsing.

mod diff;
mod fingerprint;
mod frame;
mod fuzzing;
mod mutation;
mod parse;
pub mod protocol;
mod redact;
mod replay;
mod rules;
mod selector;
mod serialize;
pub mod session;
mod tree;
mod view;

pub use diff::{
    DiffStats, assign_ids, diff, diff_against_mirror, diff_subtrees, prepare, prepare_identity,
    refresh, refresh_identity, snapshot,
};
pub use frame::{
    FRAME_VERSION, FrameError, FrameHeader, FrameKind, FrameView, MAX_FRAME_BYTES, encode_delta,
    encode_keyframe, fuzz_access,
};
pub use fuzzing::fuzz_html_round_trip;
pub use markup5ever::{LocalName, Namespace, Prefix, QualName, local_name, namespace_url, ns};
pub use mutation::{
    CountingSink, Mutation, MutationKind, MutationRef, MutationSink, NameRef, NodeRecord, PropRef,
    PropsRef, RecordData, RecordDataRef, RecordRef, WireNs,
};
pub use parse::{
    ParseOptions, parse_document_str, parse_document_with, parse_fragment_in, parse_fragment_str,
};
pub use protocol::{
    MAX_MESSAGE_BYTES, Message, MessageKind, MessageView, PROTOCOL_VERSION, ProtocolError,
    encode_frame, fuzz_decode,
};
pub use replay::{FrameMeta, Mirror, MirrorOptions, ReplayError, ReplayObserver};
pub use rules::{
    AttributeMask, BlockConfig, DisableConfig, MaskConfig, Projection, Rules, RulesConfig,
    RulesError, Sanitize, mask_text,
};
pub use selector::SelectorError;
pub use serialize::{subtree_to_html, to_html};
pub use tree::{
    Attr, Attrs, ElementData, NodeData, NodeId, NodeKind, Prop, Props, Text, Tree, WireId,
    attr_name, html_name,
};
pub use view::View;
