//! Wire frames: keyframes (a whole projected tree) and deltas (a list of mutations), as
//! [rkyv] archives that the receiver reads zero-copy.
//!
//! # Byte layout
//!
//! ```text
//! "CBF1"  version: u16 LE  | rkyv archive of the frame (root object at the end)
//! 4 bytes 2 bytes          | ...
//! ```
//!
//! The 4-byte magic rejects garbage before any validation work. The version sits outside the
//! archive, next to the magic, so that a frame written by a future, differently laid out format
//! is reported as [`FrameError::UnsupportedVersion`] rather than as an archive validation
//! failure.
//!
//! The crate enables rkyv's `unaligned`, `little_endian` and `pointer_width_32` features: every
//! archived type has alignment 1 (no padding anywhere, relative pointers and lengths are 32-bit
//! little-endian). That is a deliberate choice: any byte slice, at any offset (a WebSocket
//! payload inside a larger receive buffer, a frame inside a recording file), can be accessed in
//! place without copying it into an aligned buffer, and the archive is a few percent smaller.
//! Unaligned loads of `u32`/`u64` are cheap on current x86-64 and AArch64 CPUs and in wasm.
//!
//! # Archive layout
//!
//! One archive root per frame holds the header fields, the frame's **string table** (a
//! `Vec<String>`, archived as `ArchivedVec<ArchivedString>`: every distinct text, attribute
//! value, local name, doctype id and prop value appears once, and everything else refers to it
//! by index; strings of up to 8 bytes live inline in their 8-byte table entry), the delta's
//! mutations (a fixed-size enum, 14 bytes each, string indices as `u32`, optional values as
//! `ArchivedOption`) and, when the frame carries node records (a keyframe, or a delta with
//! inserts), a boxed record table.
//!
//! Node records dominate keyframes, so they are packed harder: the record table is a name
//! table plus one byte stream, `code`, in which each record is a `head` byte (its kind and
//! presence bits) followed by what the bits announce, integers as LEB128 varints (counts and
//! name indices are almost always below 128, string indices below 16384, so they cost one or
//! two bytes instead of four). A record only pays for what it has; after the head come, in
//! order:
//!
//! - if `WIRE` (the wire id is not the previous record's + 1): the zigzag varint difference;
//! - if `CHILDREN`: the (non-zero) children count;
//! - if `FLAGS`: the (non-zero) view flags byte;
//! - by kind: a text or comment's string index; a doctype's name, public and system id string
//!   indices; an element's name index;
//! - if `X1`: a document's viewport (two varints), or an element's attribute count followed by
//!   a (name index, value string index) pair per attribute;
//! - if `X2`: a document's device pixel ratio in thousandths (one varint, 1 to
//!   [`MAX_PIXEL_RATIO`]), or an element's live props: a byte saying which are set (and the two
//!   booleans), then the value's string index and the zigzag scroll offsets, when set.
//!
//! Names of elements and attributes are a per-frame table of `(ns: u8 = WireNs as u8, local:
//! string index)` pairs, so a name costs one varint per use. Wire ids of a pre-order walk are
//! mostly consecutive, so most records carry none. A delta's `Insert` says how many records its
//! subtree takes from the stream; every `Insert` of the frame takes them in order.
//!
//! So a text node costs 2-3 bytes plus its string (once per frame), an element 2-4 bytes plus
//! about 3 bytes per attribute. On the 258 real pages of the htmlparser-benchmark corpus a
//! keyframe of the parsed tree (no rules applied) is 0.77x the HTML size in total (median
//! 0.80, worst 0.94); the string table's 8-byte entries are then the largest overhead left
//! (11 %, against 13 % for all the records). A delta frame has 53 bytes of fixed overhead (6
//! prefix, 47 root), then 14 bytes per mutation plus its new strings: e.g. 14 per `Remove` or
//! `Move`, 22 per `SetAttr` with short strings, 42 per `SetText` of 20 new characters; the
//! first `Insert` of a frame adds 21 bytes for the record table.
//!
//! # Validation
//!
//! [`FrameView::access`] does everything up front: size limit, magic, version, rkyv/bytecheck
//! validation (every pointer and length is backed by bytes of the frame), then one walk of the
//! whole body checking every string/name index, namespace byte, presence bit, that a keyframe's
//! children counts describe exactly one tree whose root is a document or fragment,
//! that a document record below the root is the only child of an HTML `iframe` record (a
//! content document), that every
//! `Insert` describes exactly one subtree, that no wire id is 0, and that the record stream is
//! consumed exactly. No allocation is sized by a declared length that is not backed by bytes.
//! After that, [`FrameView::records`] and [`FrameView::mutations`] cannot fail (they still never
//! panic: on an impossible inconsistency they just end).
//!
//! Errors never contain string contents or raw bytes of the frame: messages carry structural
//! information only (positions, counts, the offending index or namespace byte), and the rkyv
//! validation message is redacted of every number before it is kept.

use std::collections::HashMap;
use std::fmt;

use rkyv::rancor;
use rkyv::{Archive, Serialize};

use crate::diff::mutation::{
    Mutation, MutationRef, NameRef, NodeRecord, PropRef, PropsRef, RecordData, RecordDataRef,
    RecordRef, WireNs,
};
use crate::dom::tree::{Prop, Props, WireId};
use crate::wire::redact::redact;

/// The frame format version this build writes and reads.
pub const FRAME_VERSION: u16 = 1;

/// The largest device pixel ratio a frame may carry, in thousandths (a ratio is at least 1,
/// i.e. 0.001x; browsers report between about 0.25x and 10x).
pub const MAX_PIXEL_RATIO: u32 = 64_000;

fn pixel_ratio_is_valid(r: u32) -> bool {
    (1..=MAX_PIXEL_RATIO).contains(&r)
}

/// Frames larger than this are rejected without looking at them.
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// The magic bytes every frame starts with.
const MAGIC: [u8; 4] = *b"CBF1";
/// Magic + version.
const PREFIX_LEN: usize = 6;

/// What a frame carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A whole tree, replacing whatever the receiver had.
    Keyframe,
    /// Mutations on top of the frame `base_seq`.
    Delta,
}

impl FrameKind {
    fn to_u8(self) -> u8 {
        match self {
            FrameKind::Keyframe => 0,
            FrameKind::Delta => 1,
        }
    }
    fn from_u8(b: u8) -> Option<FrameKind> {
        match b {
            0 => Some(FrameKind::Keyframe),
            1 => Some(FrameKind::Delta),
            _ => None,
        }
    }
}

/// A frame's header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Keyframe or delta.
    pub kind: FrameKind,
    /// This frame's sequence number.
    pub seq: u64,
    /// For a delta, the sequence number of the frame it applies on top of; for a keyframe,
    /// equal to `seq`.
    pub base_seq: u64,
    /// The root fingerprint the receiver must have after applying the frame.
    pub fingerprint: u64,
    /// Whether the content went through the sanitizer.
    pub sanitized: bool,
}

impl FrameHeader {
    /// The header of keyframe `seq` (a keyframe's base is itself).
    pub fn keyframe(seq: u64, fingerprint: u64, sanitized: bool) -> FrameHeader {
        FrameHeader {
            kind: FrameKind::Keyframe,
            seq,
            base_seq: seq,
            fingerprint,
            sanitized,
        }
    }

    /// The header of delta `seq`, which applies on top of frame `seq - 1` (so `seq >= 1`).
    pub fn delta(seq: u64, fingerprint: u64, sanitized: bool) -> FrameHeader {
        debug_assert!(seq >= 1, "a delta follows a frame");
        FrameHeader {
            kind: FrameKind::Delta,
            seq,
            base_seq: seq.saturating_sub(1),
            fingerprint,
            sanitized,
        }
    }
}

/// Why a byte slice is not a valid frame.
///
/// Messages never contain string contents or raw bytes from the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is larger than the limit.
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit ([`MAX_FRAME_BYTES`]).
        max: usize,
    },
    /// It does not start with the frame magic.
    BadMagic,
    /// It ends before the fixed-size parts.
    Truncated,
    /// The archive failed rkyv validation (message redacted of all numbers).
    Invalid(String),
    /// A version this build does not read.
    UnsupportedVersion(u16),
    /// A string index past the end of the string table.
    BadStringIndex(u32),
    /// A namespace byte that is not a [`WireNs`].
    BadNamespace(u8),
    /// The body is inconsistent (tree shape, presence bits, kind, unconsumed data, ...).
    BadStructure(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the limit of {max} bytes")
            }
            FrameError::BadMagic => f.write_str("not a cobrowse frame (bad magic)"),
            FrameError::Truncated => f.write_str("frame truncated"),
            FrameError::Invalid(msg) => write!(f, "invalid frame archive: {msg}"),
            FrameError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "unsupported frame version {v} (this build reads version {FRAME_VERSION})"
                )
            }
            FrameError::BadStringIndex(i) => write!(f, "string index {i} out of range"),
            FrameError::BadNamespace(b) => write!(f, "invalid namespace byte {b}"),
            FrameError::BadStructure(msg) => write!(f, "malformed frame: {msg}"),
        }
    }
}

impl std::error::Error for FrameError {}

fn bad(msg: impl Into<String>) -> FrameError {
    FrameError::BadStructure(msg.into())
}

// ---------------------------------------------------------------------------------------------
// The archived types.

/// Head byte of a record: the kind in the low bits, then presence bits.
const KIND_MASK: u8 = 0b111;
const K_DOCUMENT: u8 = 0;
const K_FRAGMENT: u8 = 1;
const K_DOCTYPE: u8 = 2;
const K_ELEMENT: u8 = 3;
const K_TEXT: u8 = 4;
const K_COMMENT: u8 = 5;
const H_WIRE: u8 = 1 << 3;
const H_CHILDREN: u8 = 1 << 4;
const H_FLAGS: u8 = 1 << 5;
const H_X1: u8 = 1 << 6;
const H_X2: u8 = 1 << 7;

/// Props byte of an element record with `X2`.
const P_VALUE: u8 = 1;
const P_CHECKED: u8 = 1 << 1;
const P_CHECKED_TRUE: u8 = 1 << 2;
const P_SELECTED: u8 = 1 << 3;
const P_SELECTED_TRUE: u8 = 1 << 4;
const P_SCROLL: u8 = 1 << 5;
const P_ALL: u8 = (1 << 6) - 1;

/// The archive root.
#[derive(Archive, Serialize)]
struct WFrame {
    kind: u8,
    sanitized: bool,
    seq: u64,
    base_seq: u64,
    fingerprint: u64,
    strings: Vec<String>,
    muts: Vec<WMut>,
    tree: Option<Box<WTree>>,
}

/// Node records (see the module docs).
#[derive(Archive, Serialize, Default)]
struct WTree {
    /// Element and attribute names.
    names: Vec<WName>,
    /// The records, one after the other: a head byte, then what its bits say.
    code: Vec<u8>,
}

#[derive(Archive, Serialize)]
struct WName {
    ns: u8,
    local: u32,
}

#[derive(Archive, Serialize)]
enum WMut {
    Insert {
        parent: u32,
        prev: Option<u32>,
        count: u32,
    },
    Remove {
        node: u32,
    },
    Move {
        node: u32,
        parent: u32,
        prev: Option<u32>,
    },
    SetAttr {
        node: u32,
        ns: u8,
        local: u32,
        value: u32,
    },
    RemoveAttr {
        node: u32,
        ns: u8,
        local: u32,
    },
    SetText {
        node: u32,
        text: u32,
    },
    SetValue {
        node: u32,
        value: Option<u32>,
    },
    SetChecked {
        node: u32,
        value: Option<bool>,
    },
    SetSelected {
        node: u32,
        value: Option<bool>,
    },
    SetScroll {
        node: u32,
        value: Option<(i32, i32)>,
    },
    SetViewport {
        node: u32,
        value: Option<(u32, u32)>,
    },
    SetFlags {
        node: u32,
        flags: u8,
    },
    // Appended last: the archived tags of the variants above stay what they were.
    SetPixelRatio {
        node: u32,
        value: Option<u32>,
    },
}

// ---------------------------------------------------------------------------------------------
// Encoding.

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

/// A hasher for keys that already are good hashes.
#[derive(Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

struct Encoder {
    strings: Vec<String>,
    /// String index by seeded xxh3 of the string (the table's strings are compared on a hit,
    /// so a collision is only slower, never wrong). The seed is random per encoder, so page
    /// content cannot aim collisions.
    by_hash: HashMap<u64, u32, std::hash::BuildHasherDefault<PassThrough>>,
    /// Indices of the strings whose hash collided with another string's (searched in order on
    /// a hit whose string differs; a seeded 64-bit collision is rare enough for a list).
    collided: Vec<u32>,
    seed: u64,
    /// Per namespace byte, keyed by the interned local name: hashing an atom is hashing a
    /// precomputed `u32`. (The encoder owns its keys, so it can live across the steps of a
    /// [`KeyframeEncoder`].)
    name_index: Vec<HashMap<markup5ever::LocalName, u32>>,
    tree: WTree,
    last_wire: u32,
}

impl Encoder {
    fn new() -> Self {
        Encoder {
            strings: Vec::new(),
            by_hash: HashMap::default(),
            collided: Vec::new(),
            seed: {
                use std::hash::BuildHasher;
                std::collections::hash_map::RandomState::new().hash_one(0x5EED_u64)
            },
            name_index: Vec::new(),
            tree: WTree::default(),
            last_wire: 0,
        }
    }

    fn string(&mut self, s: &str) -> u32 {
        use std::collections::hash_map::Entry;
        let next = u32::try_from(self.strings.len()).expect("string table overflow");
        match self.by_hash.entry(xxhash_rust::xxh3::xxh3_64_with_seed(
            s.as_bytes(),
            self.seed,
        )) {
            Entry::Occupied(e) => {
                let i = *e.get();
                if self.strings[i as usize] == s {
                    return i;
                }
                if let Some(&i) = self
                    .collided
                    .iter()
                    .find(|&&i| self.strings[i as usize] == s)
                {
                    return i;
                }
                self.collided.push(next);
            }
            Entry::Vacant(e) => {
                e.insert(next);
            }
        }
        self.strings.push(s.to_owned());
        next
    }

    fn name(&mut self, name: &markup5ever::QualName) -> u32 {
        let ns = WireNs::of(&name.ns) as u8;
        if let Some(&i) = self
            .name_index
            .get(usize::from(ns))
            .and_then(|m| m.get(&name.local))
        {
            return i;
        }
        let local = self.string(&name.local);
        let i = u32::try_from(self.tree.names.len()).expect("name table overflow");
        self.tree.names.push(WName { ns, local });
        if self.name_index.len() <= usize::from(ns) {
            self.name_index
                .resize_with(usize::from(ns) + 1, HashMap::new);
        }
        self.name_index[usize::from(ns)].insert(name.local.clone(), i);
        i
    }

    fn int(&mut self, v: u64) {
        push_varint(&mut self.tree.code, v);
    }

    fn record(&mut self, r: &NodeRecord) {
        let at = self.tree.code.len();
        self.tree.code.push(0); // the head, patched below
        let mut head = 0u8;
        if Some(r.wire.0) != self.last_wire.checked_add(1) {
            head |= H_WIRE;
            self.int(zigzag(
                i64::from(r.wire.0) - (i64::from(self.last_wire) + 1),
            ));
        }
        self.last_wire = r.wire.0;
        if r.children != 0 {
            head |= H_CHILDREN;
            self.int(r.children.into());
        }
        if r.flags != 0 {
            head |= H_FLAGS;
            self.tree.code.push(r.flags);
        }
        match &r.data {
            RecordData::Document {
                viewport,
                pixel_ratio,
            } => {
                head |= K_DOCUMENT;
                if let Some((w, h)) = viewport {
                    head |= H_X1;
                    self.int((*w).into());
                    self.int((*h).into());
                }
                if let Some(r) = pixel_ratio {
                    head |= H_X2;
                    self.int((*r).into());
                }
            }
            RecordData::Fragment => head |= K_FRAGMENT,
            RecordData::Doctype {
                name,
                public_id,
                system_id,
            } => {
                head |= K_DOCTYPE;
                for s in [name, public_id, system_id] {
                    let i = self.string(s);
                    self.int(i.into());
                }
            }
            RecordData::Element { name, attrs, props } => {
                head |= K_ELEMENT;
                let name = self.name(name);
                self.int(name.into());
                if !attrs.is_empty() {
                    head |= H_X1;
                    self.int(attrs.len() as u64);
                    for (n, v) in attrs {
                        let name = self.name(n);
                        self.int(name.into());
                        let value = self.string(v);
                        self.int(value.into());
                    }
                }
                if !props.is_empty() {
                    head |= H_X2;
                    let mut p = 0u8;
                    if props.value.is_some() {
                        p |= P_VALUE;
                    }
                    match props.checked {
                        Some(true) => p |= P_CHECKED | P_CHECKED_TRUE,
                        Some(false) => p |= P_CHECKED,
                        None => {}
                    }
                    match props.selected {
                        Some(true) => p |= P_SELECTED | P_SELECTED_TRUE,
                        Some(false) => p |= P_SELECTED,
                        None => {}
                    }
                    if props.scroll.is_some() {
                        p |= P_SCROLL;
                    }
                    self.tree.code.push(p);
                    if let Some(v) = &props.value {
                        let v = self.string(v);
                        self.int(v.into());
                    }
                    if let Some((x, y)) = props.scroll {
                        self.int(zigzag(x.into()));
                        self.int(zigzag(y.into()));
                    }
                }
            }
            RecordData::Text(t) | RecordData::Comment(t) => {
                head |= if matches!(r.data, RecordData::Text(_)) {
                    K_TEXT
                } else {
                    K_COMMENT
                };
                let t = self.string(t);
                self.int(t.into());
            }
        }
        self.tree.code[at] = head;
    }

    fn mutation(&mut self, m: &Mutation) -> WMut {
        match m {
            Mutation::Insert {
                parent,
                prev,
                nodes,
            } => {
                for r in nodes {
                    self.record(r);
                }
                WMut::Insert {
                    parent: parent.0,
                    prev: prev.map(|p| p.0),
                    count: u32::try_from(nodes.len()).expect("insert too large"),
                }
            }
            Mutation::Remove { node } => WMut::Remove { node: node.0 },
            Mutation::Move { node, parent, prev } => WMut::Move {
                node: node.0,
                parent: parent.0,
                prev: prev.map(|p| p.0),
            },
            Mutation::SetAttr { node, name, value } => WMut::SetAttr {
                node: node.0,
                ns: WireNs::of(&name.ns) as u8,
                local: self.string(&name.local),
                value: self.string(value),
            },
            Mutation::RemoveAttr { node, name } => WMut::RemoveAttr {
                node: node.0,
                ns: WireNs::of(&name.ns) as u8,
                local: self.string(&name.local),
            },
            Mutation::SetText { node, text } => WMut::SetText {
                node: node.0,
                text: self.string(text),
            },
            Mutation::SetProp { node, prop } => {
                let node = node.0;
                match prop {
                    Prop::Value(v) => WMut::SetValue {
                        node,
                        value: v.as_deref().map(|v| self.string(v)),
                    },
                    Prop::Checked(v) => WMut::SetChecked { node, value: *v },
                    Prop::Selected(v) => WMut::SetSelected { node, value: *v },
                    Prop::Scroll(v) => WMut::SetScroll { node, value: *v },
                    Prop::Viewport(v) => WMut::SetViewport { node, value: *v },
                    Prop::PixelRatio(v) => WMut::SetPixelRatio { node, value: *v },
                }
            }
            Mutation::SetFlags { node, flags } => WMut::SetFlags {
                node: node.0,
                flags: *flags,
            },
        }
    }

    fn finish(self, header: &FrameHeader, muts: Vec<WMut>, with_tree: bool) -> Vec<u8> {
        let tree = (with_tree || !self.tree.code.is_empty()).then(|| Box::new(self.tree));
        let frame = WFrame {
            kind: header.kind.to_u8(),
            sanitized: header.sanitized,
            seq: header.seq,
            base_seq: header.base_seq,
            fingerprint: header.fingerprint,
            strings: self.strings,
            muts,
            tree,
        };
        archive(&frame)
    }
}

/// Prefix + archive.
fn archive(frame: &WFrame) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FRAME_VERSION.to_le_bytes());
    // Relative pointers make the archive position-independent, so it can be written right
    // after the prefix; with alignment 1 there is no padding to account for.
    rkyv::api::high::to_bytes_in::<_, rancor::Error>(frame, out)
        .expect("frame too large to encode (over 2 GiB of archive)")
}

/// Encodes a keyframe: `nodes` is the whole tree in pre-order (`nodes[0]` is the root, a
/// document or fragment).
///
/// `header.kind` must be [`FrameKind::Keyframe`] (checked in debug builds; the frame is always
/// written as a keyframe) and `header.base_seq == header.seq`.
///
/// Encoding does not validate: records that do not form one tree (or that [`FrameView::access`]
/// would otherwise reject, such as wire id 0) give a frame the receiver rejects. A frame larger
/// than [`MAX_FRAME_BYTES`] is written but rejected by the receiver; check `len()` if that can
/// happen.
///
/// # Panics
///
/// If the archive would exceed 2 GiB or a single string 1 GiB (the 32-bit offsets' range).
pub fn encode_keyframe(header: &FrameHeader, nodes: &[NodeRecord]) -> Vec<u8> {
    debug_assert_eq!(
        header.kind,
        FrameKind::Keyframe,
        "encode_keyframe needs a keyframe header"
    );
    debug_assert_eq!(
        header.base_seq, header.seq,
        "a keyframe's base_seq is its seq"
    );
    let mut enc = KeyframeEncoder::default();
    for r in nodes {
        enc.record(r);
    }
    let header = FrameHeader {
        kind: FrameKind::Keyframe,
        ..*header
    };
    enc.finish(&header)
}

/// A keyframe encoded in steps (a large page's keyframe spread over tasks): the records of
/// the whole tree in pre-order, fed in any number of [`KeyframeEncoder::record`] calls, go
/// into one growing record stream and string table; [`KeyframeEncoder::finish`] writes the
/// frame, byte for byte what [`encode_keyframe`] writes for the same records (the same string
/// and name tables in the same order; only the string hash seed differs, and it is not in the
/// frame).
pub(crate) struct KeyframeEncoder {
    enc: Encoder,
}

impl Default for KeyframeEncoder {
    fn default() -> Self {
        KeyframeEncoder {
            enc: Encoder::new(),
        }
    }
}

impl KeyframeEncoder {
    /// Appends the next record (the first is the root, a document or fragment).
    pub(crate) fn record(&mut self, r: &NodeRecord) {
        self.enc.record(r);
    }

    /// Writes the frame (see [`encode_keyframe`] for `header`).
    pub(crate) fn finish(self, header: &FrameHeader) -> Vec<u8> {
        debug_assert_eq!(header.kind, FrameKind::Keyframe);
        debug_assert_eq!(header.base_seq, header.seq);
        self.enc.finish(header, Vec::new(), true)
    }
}

/// Encodes a delta: `mutations` apply in order on top of frame `header.base_seq`.
///
/// `header.kind` must be [`FrameKind::Delta`] (checked in debug builds; the frame is always
/// written as a delta). Like [`encode_keyframe`], encoding does not validate and panics only
/// past the 32-bit offsets' range.
pub fn encode_delta(header: &FrameHeader, mutations: &[Mutation]) -> Vec<u8> {
    debug_assert_eq!(
        header.kind,
        FrameKind::Delta,
        "encode_delta needs a delta header"
    );
    let mut enc = Encoder::new();
    let muts: Vec<WMut> = mutations.iter().map(|m| enc.mutation(m)).collect();
    let header = FrameHeader {
        kind: FrameKind::Delta,
        ..*header
    };
    enc.finish(&header, muts, false)
}

// ---------------------------------------------------------------------------------------------
// Decoding.

/// Reads records from the record stream in order. Every read is bounds-checked.
#[derive(Clone)]
struct Cursor<'a> {
    strings: &'a [rkyv::string::ArchivedString],
    names: &'a [ArchivedWName],
    code: &'a [u8],
    pos: usize,
    /// Records read so far (for messages).
    index: usize,
    last_wire: u32,
}

/// Shape of a record as the structure checks need it.
#[derive(Copy, Clone)]
struct Shape {
    kind: u8,
    children: u32,
    /// An HTML `iframe` element (the one element that may hold a content document).
    iframe: bool,
}

fn wire_id(raw: u32) -> Result<WireId, FrameError> {
    if raw == 0 {
        Err(bad("unassigned wire id 0"))
    } else {
        Ok(WireId(raw))
    }
}

fn opt_wire_id(
    raw: &rkyv::option::ArchivedOption<rkyv::Archived<u32>>,
) -> Result<Option<WireId>, FrameError> {
    raw.as_ref().map(|p| wire_id(p.to_native())).transpose()
}

fn ns_of(b: u8) -> Result<WireNs, FrameError> {
    WireNs::from_u8(b).ok_or(FrameError::BadNamespace(b))
}

impl<'a> Cursor<'a> {
    fn new(frame: &'a ArchivedWFrame) -> Self {
        let tree: Option<&'a ArchivedWTree> = frame.tree.as_ref().map(|b| b.get());
        Cursor {
            strings: &frame.strings,
            names: tree.map_or(&[][..], |t| &t.names[..]),
            code: tree.map_or(&[][..], |t| &t.code[..]),
            pos: 0,
            index: 0,
            last_wire: 0,
        }
    }

    fn str(&self, i: u32) -> Result<&'a str, FrameError> {
        let strings: &'a [rkyv::string::ArchivedString] = self.strings;
        strings
            .get(i as usize)
            .map(|s| s.as_str())
            .ok_or(FrameError::BadStringIndex(i))
    }

    fn name(&self, i: u32) -> Result<NameRef<'a>, FrameError> {
        let names: &'a [ArchivedWName] = self.names;
        let n = names
            .get(i as usize)
            .ok_or_else(|| bad(format!("name index {i} out of range")))?;
        Ok(NameRef {
            ns: ns_of(n.ns)?,
            local: self.str(n.local.to_native())?,
        })
    }

    /// Bytes left in the record stream.
    fn left(&self) -> usize {
        self.code.len().saturating_sub(self.pos)
    }

    fn byte(&mut self) -> Result<u8, FrameError> {
        let b = *self
            .code
            .get(self.pos)
            .ok_or_else(|| bad("record stream exhausted"))?;
        self.pos += 1;
        Ok(b)
    }

    /// One LEB128 integer (at most 10 bytes, must fit in a `u64`).
    fn varint(&mut self) -> Result<u64, FrameError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7F);
            if shift == 63 && bits > 1 {
                return Err(bad("integer overflow"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("integer overflow"))
    }

    fn varint32(&mut self) -> Result<u32, FrameError> {
        u32::try_from(self.varint()?).map_err(|_| bad("integer out of range"))
    }

    fn zigzag32(&mut self) -> Result<i32, FrameError> {
        i32::try_from(unzigzag(self.varint()?)).map_err(|_| bad("integer out of range"))
    }

    fn string(&mut self) -> Result<&'a str, FrameError> {
        let i = self.varint32()?;
        self.str(i)
    }

    /// Reads the next record. With `build == false` the element's attributes are checked but
    /// not collected (no allocation).
    fn record(&mut self, build: bool) -> Result<(RecordRef<'a>, Shape), FrameError> {
        let at = self.index;
        self.index += 1;
        let head = self.byte()?;
        let kind = head & KIND_MASK;
        if kind > K_COMMENT {
            return Err(bad(format!("record {at}: unknown node kind {kind}")));
        }
        let raw_wire = if head & H_WIRE != 0 {
            let delta = unzigzag(self.varint()?);
            (i64::from(self.last_wire) + 1)
                .checked_add(delta)
                .and_then(|w| u32::try_from(w).ok())
                .ok_or_else(|| bad(format!("record {at}: wire id out of range")))?
        } else {
            self.last_wire
                .checked_add(1)
                .ok_or_else(|| bad(format!("record {at}: wire id overflow")))?
        };
        let wire = wire_id(raw_wire)?;
        self.last_wire = raw_wire;
        let children = if head & H_CHILDREN != 0 {
            self.varint32()?
        } else {
            0
        };
        let flags = if head & H_FLAGS != 0 { self.byte()? } else { 0 };

        let allowed = match kind {
            K_DOCUMENT | K_ELEMENT => H_X1 | H_X2,
            _ => 0,
        };
        if head & (H_X1 | H_X2) & !allowed != 0 {
            return Err(bad(format!(
                "record {at}: presence bits not valid for its kind"
            )));
        }
        if children != 0 && matches!(kind, K_DOCTYPE | K_TEXT | K_COMMENT) {
            return Err(bad(format!("record {at}: a leaf node has children")));
        }

        let mut iframe = false;
        let data = match kind {
            K_DOCUMENT => {
                let viewport = if head & H_X1 != 0 {
                    Some((self.varint32()?, self.varint32()?))
                } else {
                    None
                };
                let pixel_ratio = if head & H_X2 != 0 {
                    let r = self.varint32()?;
                    if !pixel_ratio_is_valid(r) {
                        return Err(bad(format!("record {at}: pixel ratio out of range")));
                    }
                    Some(r)
                } else {
                    None
                };
                RecordDataRef::Document {
                    viewport,
                    pixel_ratio,
                }
            }
            K_FRAGMENT => RecordDataRef::Fragment,
            K_DOCTYPE => RecordDataRef::Doctype {
                name: self.string()?,
                public_id: self.string()?,
                system_id: self.string()?,
            },
            K_ELEMENT => {
                let name = self.varint32()?;
                let name = self.name(name)?;
                iframe = name.ns == WireNs::Html && name.local == "iframe";
                let mut attrs = Vec::new();
                if head & H_X1 != 0 {
                    let count = self.varint32()? as usize;
                    // Each attribute takes at least two bytes of the stream.
                    if count > self.left() / 2 {
                        return Err(bad(format!(
                            "record {at}: attribute count exceeds the stream"
                        )));
                    }
                    if build {
                        // Bounded by the archived (byte-backed) stream, checked just above.
                        attrs.reserve_exact(count);
                    }
                    let blocked = flags & crate::dom::view::View::BLOCKED != 0;
                    for _ in 0..count {
                        let n = self.varint32()?;
                        let n = self.name(n)?;
                        let v = self.string()?;
                        if blocked
                            && !crate::rules::placeholder::is_placeholder_attribute(
                                n.ns == WireNs::None,
                                n.local,
                                v,
                            )
                        {
                            return Err(bad(format!(
                                "record {at}: a blocked element carries a non-placeholder attribute"
                            )));
                        }
                        if build {
                            attrs.push((n, v));
                        }
                    }
                }
                let mut props = PropsRef::default();
                if head & H_X2 != 0 {
                    let p = self.byte()?;
                    if p & !P_ALL != 0
                        || (p & P_CHECKED_TRUE != 0 && p & P_CHECKED == 0)
                        || (p & P_SELECTED_TRUE != 0 && p & P_SELECTED == 0)
                    {
                        return Err(bad(format!("record {at}: invalid props byte")));
                    }
                    if p & P_VALUE != 0 {
                        props.value = Some(self.string()?);
                    }
                    props.checked = (p & P_CHECKED != 0).then_some(p & P_CHECKED_TRUE != 0);
                    props.selected = (p & P_SELECTED != 0).then_some(p & P_SELECTED_TRUE != 0);
                    if p & P_SCROLL != 0 {
                        props.scroll = Some((self.zigzag32()?, self.zigzag32()?));
                    }
                }
                RecordDataRef::Element { name, attrs, props }
            }
            K_TEXT => RecordDataRef::Text(self.string()?),
            _ => RecordDataRef::Comment(self.string()?),
        };
        Ok((
            RecordRef {
                wire,
                children,
                flags,
                data,
            },
            Shape {
                kind,
                children,
                iframe,
            },
        ))
    }

    /// Reads records that must form exactly one subtree (pre-order, children counts): exactly
    /// `expected` of them when given. A document record is only allowed as the first record
    /// (a keyframe's root, or an insert's top, whose parent the mirror checks) or as the only
    /// child of an HTML `iframe` record (a same-origin iframe's content document). Returns the records (when `build`) and how many there were.
    fn subtree(
        &mut self,
        expected: Option<usize>,
        build: bool,
        keyframe_root: bool,
    ) -> Result<(Vec<RecordRef<'a>>, usize), FrameError> {
        let mut out = Vec::new();
        if let Some(count) = expected {
            if count == 0 {
                return Err(bad("empty subtree"));
            }
            // Every record takes at least one byte.
            if count > self.left() {
                return Err(bad("subtree longer than the record stream"));
            }
            if build {
                // Bounded by the archived (byte-backed) stream, checked just above.
                out.reserve_exact(count);
            }
        }
        // Slots still to fill: starts with the root's; each record fills one and opens its
        // children's. Each open slot needs at least one more byte, which bounds it.
        let mut open: usize = 1;
        let mut n: usize = 0;
        // Per open parent: (children still to read, whether it is an iframe with exactly one
        // child, the only place a content document may sit). Grows by one per record read.
        let mut parents: Vec<(u32, bool)> = Vec::new();
        while open > 0 {
            if expected.is_some_and(|c| n == c) {
                return Err(bad("subtree has more records than its count"));
            }
            let (r, shape) = self.record(build)?;
            while parents.last().is_some_and(|p| p.0 == 0) {
                parents.pop();
            }
            let in_single_iframe = match parents.last_mut() {
                Some(p) => {
                    p.0 -= 1;
                    p.1
                }
                None => false,
            };
            // A document: a keyframe's root, a content document as an iframe's only child, or
            // the top of an insert (the mirror checks its parent is an iframe).
            if shape.kind == K_DOCUMENT && !(n == 0 || in_single_iframe) {
                return Err(bad("a document node outside an iframe"));
            }
            if shape.children > 0 {
                parents.push((shape.children, shape.iframe && shape.children == 1));
            }
            if n == 0 && keyframe_root && !matches!(shape.kind, K_DOCUMENT | K_FRAGMENT) {
                return Err(bad("keyframe root is not a document or fragment"));
            }
            // `open >= 1` here; checked because `usize` may be 32 bits (wasm).
            open = (open - 1)
                .checked_add(shape.children as usize)
                .filter(|&o| o <= self.left())
                .ok_or_else(|| bad(format!("children counts exceed the records (record {n})")))?;
            n += 1;
            if build {
                out.push(r);
            }
        }
        if expected.is_some_and(|c| n != c) {
            return Err(bad("subtree has fewer records than its count"));
        }
        Ok((out, n))
    }

    fn mutation(
        &mut self,
        m: &'a ArchivedWMut,
        build: bool,
    ) -> Result<MutationRef<'a>, FrameError> {
        let node = |n: &rkyv::Archived<u32>| wire_id(n.to_native());
        Ok(match m {
            ArchivedWMut::Insert {
                parent,
                prev,
                count,
            } => {
                let parent = node(parent)?;
                let prev = opt_wire_id(prev)?;
                let (nodes, _) = self.subtree(Some(count.to_native() as usize), build, false)?;
                MutationRef::Insert {
                    parent,
                    prev,
                    nodes,
                }
            }
            ArchivedWMut::Remove { node: n } => MutationRef::Remove { node: node(n)? },
            ArchivedWMut::Move {
                node: n,
                parent,
                prev,
            } => MutationRef::Move {
                node: node(n)?,
                parent: node(parent)?,
                prev: opt_wire_id(prev)?,
            },
            ArchivedWMut::SetAttr {
                node: n,
                ns,
                local,
                value,
            } => MutationRef::SetAttr {
                node: node(n)?,
                name: NameRef {
                    ns: ns_of(*ns)?,
                    local: self.str(local.to_native())?,
                },
                value: self.str(value.to_native())?,
            },
            ArchivedWMut::RemoveAttr { node: n, ns, local } => MutationRef::RemoveAttr {
                node: node(n)?,
                name: NameRef {
                    ns: ns_of(*ns)?,
                    local: self.str(local.to_native())?,
                },
            },
            ArchivedWMut::SetText { node: n, text } => MutationRef::SetText {
                node: node(n)?,
                text: self.str(text.to_native())?,
            },
            ArchivedWMut::SetValue { node: n, value } => MutationRef::SetProp {
                node: node(n)?,
                prop: PropRef::Value(
                    value
                        .as_ref()
                        .map(|v| self.str(v.to_native()))
                        .transpose()?,
                ),
            },
            ArchivedWMut::SetChecked { node: n, value } => MutationRef::SetProp {
                node: node(n)?,
                prop: PropRef::Checked(value.as_ref().copied()),
            },
            ArchivedWMut::SetSelected { node: n, value } => MutationRef::SetProp {
                node: node(n)?,
                prop: PropRef::Selected(value.as_ref().copied()),
            },
            ArchivedWMut::SetScroll { node: n, value } => MutationRef::SetProp {
                node: node(n)?,
                prop: PropRef::Scroll(value.as_ref().map(|s| (s.0.to_native(), s.1.to_native()))),
            },
            ArchivedWMut::SetViewport { node: n, value } => MutationRef::SetProp {
                node: node(n)?,
                prop: PropRef::Viewport(value.as_ref().map(|s| (s.0.to_native(), s.1.to_native()))),
            },
            ArchivedWMut::SetFlags { node: n, flags } => MutationRef::SetFlags {
                node: node(n)?,
                flags: *flags,
            },
            ArchivedWMut::SetPixelRatio { node: n, value } => {
                let value = value.as_ref().map(|r| r.to_native());
                if value.is_some_and(|r| !pixel_ratio_is_valid(r)) {
                    return Err(bad("pixel ratio out of range"));
                }
                MutationRef::SetProp {
                    node: node(n)?,
                    prop: PropRef::PixelRatio(value),
                }
            }
        })
    }
}

/// A validated zero-copy view of a frame.
#[derive(Clone, Copy)]
pub struct FrameView<'a> {
    bytes: &'a [u8],
    frame: &'a ArchivedWFrame,
    kind: FrameKind,
    /// Keyframe records, counted by the validation walk.
    records: usize,
}

impl fmt::Debug for FrameView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the contents.
        f.debug_struct("FrameView")
            .field("header", &self.header())
            .field("len_bytes", &self.len_bytes())
            .field("strings", &self.string_count())
            .field("records", &self.record_count())
            .field("mutations", &self.mutation_count())
            .finish()
    }
}

impl<'a> FrameView<'a> {
    /// Validates `bytes` as a frame: size limit, magic, version, archive validation, then every
    /// index, namespace and the body's structure. Works at any alignment.
    pub fn access(bytes: &'a [u8]) -> Result<FrameView<'a>, FrameError> {
        if bytes.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge {
                len: bytes.len(),
                max: MAX_FRAME_BYTES,
            });
        }
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes[..magic_len] != MAGIC[..magic_len] {
            return Err(FrameError::BadMagic);
        }
        if bytes.len() < PREFIX_LEN {
            return Err(FrameError::Truncated);
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != FRAME_VERSION {
            return Err(FrameError::UnsupportedVersion(version));
        }
        let archive = &bytes[PREFIX_LEN..];
        if archive.len() < size_of::<ArchivedWFrame>() {
            return Err(FrameError::Truncated);
        }
        let frame = rkyv::access::<ArchivedWFrame, rancor::Error>(archive)
            .map_err(|e| FrameError::Invalid(redact(&e.to_string())))?;
        let kind = FrameKind::from_u8(frame.kind).ok_or_else(|| bad("unknown frame kind"))?;

        let mut cur = Cursor::new(frame);
        let mut records = 0;
        match kind {
            FrameKind::Keyframe => {
                if !frame.muts.is_empty() {
                    return Err(bad("keyframe with mutations"));
                }
                if frame.base_seq != frame.seq {
                    return Err(bad("keyframe base_seq differs from seq"));
                }
                if cur.left() == 0 {
                    return Err(bad("keyframe without records"));
                }
                records = cur.subtree(None, false, true)?.1;
            }
            FrameKind::Delta => {
                for m in frame.muts.iter() {
                    cur.mutation(m, false)?;
                }
            }
        }
        if cur.left() != 0 {
            return Err(bad(format!(
                "{} unused bytes after the last record",
                cur.left()
            )));
        }
        // Names are only checked where used above; check unused ones too so that no invalid
        // byte hides in a valid frame.
        for i in 0..cur.names.len() {
            cur.name(i as u32)?;
        }
        Ok(FrameView {
            bytes,
            frame,
            kind,
            records,
        })
    }

    /// The header.
    pub fn header(&self) -> FrameHeader {
        FrameHeader {
            kind: self.kind,
            seq: self.frame.seq.to_native(),
            base_seq: self.frame.base_seq.to_native(),
            fingerprint: self.frame.fingerprint.to_native(),
            sanitized: self.frame.sanitized,
        }
    }

    /// The format version (always [`FRAME_VERSION`] for a view that exists).
    pub fn version(&self) -> u16 {
        u16::from_le_bytes([self.bytes[4], self.bytes[5]])
    }

    /// The frame's size in bytes, prefix included.
    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Distinct strings in the frame's string table.
    pub fn string_count(&self) -> usize {
        self.frame.strings.len()
    }

    /// Keyframe records (0 for a delta).
    pub fn record_count(&self) -> usize {
        self.records
    }

    /// Delta mutations (0 for a keyframe).
    pub fn mutation_count(&self) -> usize {
        self.frame.muts.len()
    }

    /// Keyframe records as borrowed views (zero-copy `&str` into the frame), in pre-order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = RecordRef<'a>> + use<'a> {
        RecordIter {
            cur: Cursor::new(self.frame),
            left: self.record_count(),
        }
    }

    /// Delta mutations as borrowed views, in order.
    pub fn mutations(&self) -> impl Iterator<Item = MutationRef<'a>> + use<'a> {
        let frame: &'a ArchivedWFrame = self.frame;
        MutationIter {
            cur: Cursor::new(frame),
            muts: &frame.muts,
            pos: 0,
        }
    }

    /// Owned copies of the keyframe records.
    pub fn to_records(&self) -> Vec<NodeRecord> {
        self.records().map(|r| record_to_owned(&r)).collect()
    }

    /// Owned copies of the delta mutations.
    pub fn to_mutations(&self) -> Vec<Mutation> {
        self.mutations().map(|m| mutation_to_owned(&m)).collect()
    }
}

struct RecordIter<'a> {
    cur: Cursor<'a>,
    left: usize,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = RecordRef<'a>;
    fn next(&mut self) -> Option<RecordRef<'a>> {
        if self.left == 0 {
            return None;
        }
        match self.cur.record(true) {
            Ok((r, _)) => {
                self.left -= 1;
                Some(r)
            }
            // Unreachable after validation; end instead of panicking.
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for RecordIter<'_> {}

struct MutationIter<'a> {
    cur: Cursor<'a>,
    muts: &'a [ArchivedWMut],
    pos: usize,
}

impl<'a> Iterator for MutationIter<'a> {
    type Item = MutationRef<'a>;
    fn next(&mut self) -> Option<MutationRef<'a>> {
        let m = self.muts.get(self.pos)?;
        match self.cur.mutation(m, true) {
            Ok(m) => {
                self.pos += 1;
                Some(m)
            }
            // Unreachable after validation; end instead of panicking.
            Err(_) => {
                self.pos = self.muts.len();
                None
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.muts.len().saturating_sub(self.pos);
        (left, Some(left))
    }
}

fn record_to_owned(r: &RecordRef<'_>) -> NodeRecord {
    let data = match &r.data {
        RecordDataRef::Document {
            viewport,
            pixel_ratio,
        } => RecordData::Document {
            viewport: *viewport,
            pixel_ratio: *pixel_ratio,
        },
        RecordDataRef::Fragment => RecordData::Fragment,
        RecordDataRef::Doctype {
            name,
            public_id,
            system_id,
        } => RecordData::Doctype {
            name: (*name).to_owned(),
            public_id: (*public_id).to_owned(),
            system_id: (*system_id).to_owned(),
        },
        RecordDataRef::Element { name, attrs, props } => RecordData::Element {
            name: name.to_qual_name(),
            attrs: attrs
                .iter()
                .map(|(n, v)| (n.to_qual_name(), (*v).to_owned()))
                .collect(),
            props: Props {
                value: props.value.map(str::to_owned),
                checked: props.checked,
                selected: props.selected,
                scroll: props.scroll,
                rendered: None,
            },
        },
        RecordDataRef::Text(t) => RecordData::Text((*t).to_owned()),
        RecordDataRef::Comment(t) => RecordData::Comment((*t).to_owned()),
    };
    NodeRecord {
        wire: r.wire,
        children: r.children,
        flags: r.flags,
        data,
    }
}

fn mutation_to_owned(m: &MutationRef<'_>) -> Mutation {
    match m {
        MutationRef::Insert {
            parent,
            prev,
            nodes,
        } => Mutation::Insert {
            parent: *parent,
            prev: *prev,
            nodes: nodes.iter().map(record_to_owned).collect(),
        },
        MutationRef::Remove { node } => Mutation::Remove { node: *node },
        MutationRef::Move { node, parent, prev } => Mutation::Move {
            node: *node,
            parent: *parent,
            prev: *prev,
        },
        MutationRef::SetAttr { node, name, value } => Mutation::SetAttr {
            node: *node,
            name: name.to_qual_name(),
            value: (*value).to_owned(),
        },
        MutationRef::RemoveAttr { node, name } => Mutation::RemoveAttr {
            node: *node,
            name: name.to_qual_name(),
        },
        MutationRef::SetText { node, text } => Mutation::SetText {
            node: *node,
            text: (*text).to_owned(),
        },
        MutationRef::SetProp { node, prop } => Mutation::SetProp {
            node: *node,
            prop: match prop {
                PropRef::Value(v) => Prop::Value(v.map(str::to_owned)),
                PropRef::Checked(v) => Prop::Checked(*v),
                PropRef::Selected(v) => Prop::Selected(*v),
                PropRef::Scroll(v) => Prop::Scroll(*v),
                PropRef::Viewport(v) => Prop::Viewport(*v),
                PropRef::PixelRatio(v) => Prop::PixelRatio(*v),
            },
        },
        MutationRef::SetFlags { node, flags } => Mutation::SetFlags {
            node: *node,
            flags: *flags,
        },
    }
}

#[cfg(any(test, feature = "fuzzing"))]
/// Fuzzing entry point: accesses `bytes` and, if it is a valid frame, walks every record and
/// mutation, then checks that re-encoding what was read gives a frame that reads back the
/// same. Panics only on a bug (an invalid frame must simply be rejected).
// Re-exported with the `fuzzing` feature; a test build without it only calls it here.
#[allow(unreachable_pub)]
pub fn fuzz_access(bytes: &[u8]) {
    let Ok(view) = FrameView::access(bytes) else {
        return;
    };
    let header = view.header();
    assert_eq!(view.version(), FRAME_VERSION);
    assert_eq!(view.records().len(), view.record_count());
    let records = view.to_records();
    let mutations = view.to_mutations();
    assert_eq!(records.len(), view.record_count());
    assert_eq!(mutations.len(), view.mutation_count());
    let again = match header.kind {
        FrameKind::Keyframe => encode_keyframe(&header, &records),
        FrameKind::Delta => encode_delta(&header, &mutations),
    };
    let view2 = FrameView::access(&again).expect("re-encoded frame must be valid");
    assert_eq!(view2.header(), header);
    assert!(view2.records().eq(view.records()));
    assert!(view2.mutations().eq(view.mutations()));
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "html")]
    use crate::dom::tree::{NodeData, Tree};
    use markup5ever::QualName;

    fn q(ns: WireNs, local: &str) -> QualName {
        ns.qual_name(local)
    }

    fn html(local: &str) -> QualName {
        q(WireNs::Html, local)
    }

    fn kf(seq: u64) -> FrameHeader {
        FrameHeader {
            kind: FrameKind::Keyframe,
            seq,
            base_seq: seq,
            fingerprint: 0xDEAD_BEEF_0123_4567,
            sanitized: false,
        }
    }

    fn dh(seq: u64) -> FrameHeader {
        FrameHeader {
            kind: FrameKind::Delta,
            seq,
            base_seq: seq - 1,
            fingerprint: 0x0102_0304_0506_0708,
            sanitized: true,
        }
    }

    fn rec(wire: u32, children: u32, data: RecordData) -> NodeRecord {
        NodeRecord {
            wire: WireId(wire),
            children,
            flags: 0,
            data,
        }
    }

    fn el(local: &str, attrs: &[(&str, &str)]) -> RecordData {
        RecordData::Element {
            name: html(local),
            attrs: attrs
                .iter()
                .map(|(n, v)| (q(WireNs::None, n), v.to_string()))
                .collect(),
            props: Props::default(),
        }
    }

    fn text(t: &str) -> RecordData {
        RecordData::Text(t.to_string())
    }

    /// A keyframe exercising every record kind, namespace, prop and presence bit.
    fn rich_records() -> Vec<NodeRecord> {
        vec![
            rec(
                1,
                4,
                RecordData::Document {
                    viewport: Some((1280, 720)),
                    pixel_ratio: Some(2000),
                },
            ),
            rec(
                2,
                0,
                RecordData::Doctype {
                    name: "html".into(),
                    public_id: "-//W3C//DTD".into(),
                    system_id: "".into(),
                },
            ),
            rec(3, 0, RecordData::Comment(" a comment ".into())),
            NodeRecord {
                wire: WireId(4),
                children: 3,
                // Every flag bit but BLOCKED (a blocked element carries only placeholder
                // attributes).
                flags: !crate::dom::view::View::BLOCKED,
                data: RecordData::Element {
                    name: html("body"),
                    attrs: vec![
                        (q(WireNs::None, "class"), "a b c".into()),
                        (q(WireNs::XLink, "href"), "#x".into()),
                        (q(WireNs::Xml, "lang"), "en".into()),
                        (
                            q(WireNs::XmlNs, "xmlns"),
                            "http://www.w3.org/2000/svg".into(),
                        ),
                        (
                            q(WireNs::XmlNs, "xlink"),
                            "http://www.w3.org/1999/xlink".into(),
                        ),
                        (q(WireNs::None, "data-empty"), "".into()),
                    ],
                    props: Props {
                        value: Some("typed".into()),
                        checked: Some(true),
                        selected: Some(false),
                        scroll: Some((-5, 1 << 30)),
                        rendered: None,
                    },
                },
            },
            // Non-consecutive wire ids.
            rec(
                100,
                1,
                RecordData::Element {
                    name: q(WireNs::Svg, "svg"),
                    attrs: vec![],
                    props: Props {
                        scroll: Some((0, 0)),
                        ..Props::default()
                    },
                },
            ),
            rec(
                99,
                0,
                RecordData::Element {
                    name: q(WireNs::Svg, "foreignObject"),
                    attrs: vec![(q(WireNs::None, "width"), "10".into())],
                    props: Props::default(),
                },
            ),
            NodeRecord {
                wire: WireId(u32::MAX - 1),
                children: 1,
                flags: 4,
                data: RecordData::Element {
                    name: q(WireNs::MathMl, "math"),
                    attrs: vec![],
                    props: Props {
                        value: None,
                        checked: None,
                        selected: Some(true),
                        scroll: None,
                        rendered: None,
                    },
                },
            },
            rec(u32::MAX, 0, text("")),
            rec(7, 2, el("template", &[])),
            rec(8, 1, RecordData::Fragment),
            rec(9, 0, text("inside the template ✓ ünïcödé")),
            rec(
                10,
                0,
                RecordData::Element {
                    name: q(WireNs::None, "weird"),
                    attrs: vec![],
                    props: Props {
                        value: Some("".into()),
                        ..Props::default()
                    },
                },
            ),
            rec(5, 0, RecordData::Comment("".into())),
        ]
    }

    fn fragment_records() -> Vec<NodeRecord> {
        vec![
            rec(1, 2, RecordData::Fragment),
            rec(2, 0, text("a")),
            rec(
                3,
                0,
                RecordData::Document {
                    viewport: None,
                    pixel_ratio: None,
                },
            ),
        ]
    }

    /// Every mutation variant, every prop variant, with `None`/`Some` prevs and namespaces.
    fn all_mutations() -> Vec<Mutation> {
        vec![
            Mutation::Insert {
                parent: WireId(4),
                prev: None,
                nodes: vec![rec(200, 0, text("new"))],
            },
            Mutation::Insert {
                parent: WireId(4),
                prev: Some(WireId(200)),
                nodes: vec![
                    rec(201, 2, el("div", &[("class", "x"), ("id", "main")])),
                    rec(202, 1, el("template", &[])),
                    rec(203, 1, RecordData::Fragment),
                    rec(204, 0, text("new")),
                    NodeRecord {
                        wire: WireId(150),
                        children: 0,
                        flags: 2,
                        data: RecordData::Comment("c".into()),
                    },
                ],
            },
            Mutation::Remove { node: WireId(3) },
            Mutation::Move {
                node: WireId(9),
                parent: WireId(4),
                prev: None,
            },
            Mutation::Move {
                node: WireId(9),
                parent: WireId(4),
                prev: Some(WireId(201)),
            },
            Mutation::SetAttr {
                node: WireId(4),
                name: q(WireNs::None, "class"),
                value: "x".into(),
            },
            Mutation::SetAttr {
                node: WireId(100),
                name: q(WireNs::XLink, "href"),
                value: "#y".into(),
            },
            Mutation::SetAttr {
                node: WireId(100),
                name: q(WireNs::Xml, "space"),
                value: "".into(),
            },
            Mutation::SetAttr {
                node: WireId(100),
                name: q(WireNs::XmlNs, "xmlns"),
                value: "u".into(),
            },
            Mutation::SetAttr {
                node: WireId(100),
                name: q(WireNs::Html, "odd"),
                value: "v".into(),
            },
            Mutation::SetAttr {
                node: WireId(100),
                name: q(WireNs::Svg, "odd"),
                value: "v".into(),
            },
            Mutation::SetAttr {
                node: WireId(100),
                name: q(WireNs::MathMl, "odd"),
                value: "v".into(),
            },
            Mutation::RemoveAttr {
                node: WireId(4),
                name: q(WireNs::None, "id"),
            },
            Mutation::RemoveAttr {
                node: WireId(4),
                name: q(WireNs::XLink, "title"),
            },
            Mutation::SetText {
                node: WireId(200),
                text: "changed text ✓".into(),
            },
            Mutation::SetText {
                node: WireId(200),
                text: "".into(),
            },
            Mutation::SetProp {
                node: WireId(10),
                prop: Prop::Value(Some("hello".into())),
            },
            Mutation::SetProp {
                node: WireId(10),
                prop: Prop::Value(None),
            },
            Mutation::SetProp {
                node: WireId(10),
                prop: Prop::Checked(Some(true)),
            },
            Mutation::SetProp {
                node: WireId(10),
                prop: Prop::Checked(Some(false)),
            },
            Mutation::SetProp {
                node: WireId(10),
                prop: Prop::Checked(None),
            },
            Mutation::SetProp {
                node: WireId(10),
                prop: Prop::Selected(Some(true)),
            },
            Mutation::SetProp {
                node: WireId(10),
                prop: Prop::Selected(None),
            },
            Mutation::SetProp {
                node: WireId(10),
                prop: Prop::Scroll(Some((i32::MIN, i32::MAX))),
            },
            Mutation::SetProp {
                node: WireId(10),
                prop: Prop::Scroll(None),
            },
            Mutation::SetProp {
                node: WireId(1),
                prop: Prop::Viewport(Some((u32::MAX, 0))),
            },
            Mutation::SetProp {
                node: WireId(1),
                prop: Prop::Viewport(None),
            },
            Mutation::SetProp {
                node: WireId(4),
                prop: Prop::PixelRatio(Some(1250)),
            },
            Mutation::SetProp {
                node: WireId(4),
                prop: Prop::PixelRatio(None),
            },
            Mutation::SetFlags {
                node: WireId(4),
                flags: 0,
            },
            Mutation::SetFlags {
                node: WireId(4),
                flags: 0xFF,
            },
        ]
    }

    /// Builds the keyframe records of a parsed tree (wire ids in pre-order from 1).
    #[cfg(feature = "html")]
    fn tree_records(tree: &Tree) -> Vec<NodeRecord> {
        tree.descendants(tree.root())
            .enumerate()
            .map(|(i, id)| NodeRecord {
                wire: WireId(i as u32 + 1),
                children: tree.children(id).count() as u32,
                flags: 0,
                data: match tree.data(id) {
                    NodeData::Document {
                        viewport,
                        pixel_ratio,
                    } => RecordData::Document {
                        viewport: *viewport,
                        pixel_ratio: *pixel_ratio,
                    },
                    NodeData::Fragment => RecordData::Fragment,
                    NodeData::Doctype(d) => RecordData::Doctype {
                        name: d.name.clone(),
                        public_id: d.public_id.clone(),
                        system_id: d.system_id.clone(),
                    },
                    NodeData::Element(e) => RecordData::Element {
                        name: e.name.clone(),
                        attrs: e
                            .attrs
                            .iter()
                            .map(|a| (a.name.clone(), a.value.to_string()))
                            .collect(),
                        props: e.props.as_deref().cloned().unwrap_or_default(),
                    },
                    NodeData::Text(t) => RecordData::Text(t.to_string()),
                    NodeData::Comment(t) => RecordData::Comment(t.to_string()),
                },
            })
            .collect()
    }

    /// Asserts that `access` rejects the bytes without panicking and that the message is clean.
    fn assert_rejected(bytes: &[u8]) -> FrameError {
        match FrameView::access(bytes) {
            Ok(v) => panic!("accepted an invalid frame: {v:?}"),
            Err(e) => e,
        }
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    fn find(hay: &[u8], needle: &[u8]) -> Vec<usize> {
        hay.windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i)
            .collect()
    }

    // --- Round trips -------------------------------------------------------------------------

    #[test]
    fn keyframe_round_trips_every_record_kind() {
        let records = rich_records();
        let bytes = encode_keyframe(&kf(7), &records);
        let view = FrameView::access(&bytes).unwrap();
        assert_eq!(view.header(), kf(7));
        assert_eq!(view.version(), FRAME_VERSION);
        assert_eq!(view.len_bytes(), bytes.len());
        assert_eq!(view.record_count(), records.len());
        assert_eq!(view.mutation_count(), 0);
        assert_eq!(view.mutations().count(), 0);
        assert_eq!(view.records().len(), records.len());
        assert_eq!(view.to_records(), records);
        let borrowed: Vec<RecordRef<'_>> = view.records().collect();
        let expected: Vec<RecordRef<'_>> = records.iter().map(NodeRecord::as_ref).collect();
        assert_eq!(borrowed, expected);
        fuzz_access(&bytes);
    }

    #[test]
    fn fragment_keyframe_round_trips_and_document_below_root_is_rejected() {
        let recs = fragment_records();
        let e = assert_rejected(&encode_keyframe(&kf(1), &recs));
        assert!(matches!(e, FrameError::BadStructure(_)), "{e:?}");
        let recs = &recs[..2];
        let recs = [rec(1, 1, RecordData::Fragment), recs[1].clone()];
        let bytes = encode_keyframe(&kf(1), &recs);
        assert_eq!(FrameView::access(&bytes).unwrap().to_records(), recs);
    }

    #[test]
    fn delta_round_trips_every_mutation_kind() {
        let muts = all_mutations();
        let bytes = encode_delta(&dh(9), &muts);
        let view = FrameView::access(&bytes).unwrap();
        assert_eq!(view.header(), dh(9));
        assert_eq!(view.mutation_count(), muts.len());
        assert_eq!(view.record_count(), 0);
        assert_eq!(view.records().len(), 0);
        assert_eq!(view.to_mutations(), muts);
        let borrowed: Vec<MutationRef<'_>> = view.mutations().collect();
        let expected: Vec<MutationRef<'_>> = muts.iter().map(Mutation::as_ref).collect();
        assert_eq!(borrowed, expected);
        fuzz_access(&bytes);
    }

    #[test]
    fn each_mutation_round_trips_alone() {
        for m in all_mutations() {
            let bytes = encode_delta(&dh(2), std::slice::from_ref(&m));
            assert_eq!(FrameView::access(&bytes).unwrap().to_mutations(), vec![m]);
        }
    }

    #[test]
    fn empty_delta_is_valid() {
        let bytes = encode_delta(&dh(5), &[]);
        let view = FrameView::access(&bytes).unwrap();
        assert_eq!(view.mutation_count(), 0);
        assert_eq!(view.string_count(), 0);
        assert_eq!(view.header(), dh(5));
        println!("empty delta frame: {} bytes", bytes.len());
    }

    #[test]
    fn header_fields_round_trip() {
        for sanitized in [false, true] {
            for (seq, base) in [(1u64, 0u64), (u64::MAX, u64::MAX - 1), (42, 7)] {
                let h = FrameHeader {
                    kind: FrameKind::Delta,
                    seq,
                    base_seq: base,
                    fingerprint: seq ^ 0xABCD,
                    sanitized,
                };
                let bytes = encode_delta(&h, &[Mutation::Remove { node: WireId(1) }]);
                assert_eq!(FrameView::access(&bytes).unwrap().header(), h);
                let h = FrameHeader {
                    kind: FrameKind::Keyframe,
                    seq,
                    base_seq: seq,
                    fingerprint: !seq,
                    sanitized,
                };
                let bytes = encode_keyframe(&h, &[rec(1, 0, RecordData::Fragment)]);
                assert_eq!(FrameView::access(&bytes).unwrap().header(), h);
            }
        }
    }

    #[test]
    fn views_outlive_the_frame_view() {
        let bytes = encode_delta(&dh(3), &all_mutations());
        let muts: Vec<MutationRef<'_>> = {
            let view = FrameView::access(&bytes).unwrap();
            view.mutations()
        }
        .collect();
        assert_eq!(muts.len(), all_mutations().len());
    }

    #[test]
    #[cfg(feature = "html")]
    fn parsed_page_round_trips() {
        let tree = crate::dom::parse::parse_document_str(
            "<!DOCTYPE html><html><head><title>t</title></head><body><p class=a>Hi <b>there</b><!--c-->\
             <svg xlink:href=x><foreignObject><div>x</div></foreignObject></svg>\
             <template><i>t</i></template><math><mi>x</mi></math></body></html>",
        );
        let records = tree_records(&tree);
        let bytes = encode_keyframe(&kf(1), &records);
        assert_eq!(FrameView::access(&bytes).unwrap().to_records(), records);
    }

    // --- Alignment, dedup, sizes ---------------------------------------------------------------

    #[test]
    fn frames_are_readable_at_any_offset() {
        let frames = [
            encode_keyframe(&kf(1), &rich_records()),
            encode_delta(&dh(2), &all_mutations()),
        ];
        for frame in &frames {
            for offset in [1usize, 2, 3, 5, 7, 13] {
                let mut buf = vec![0xAAu8; offset];
                buf.extend_from_slice(frame);
                buf.push(0x55);
                let slice = &buf[offset..offset + frame.len()];
                let view = FrameView::access(slice).unwrap();
                assert_eq!(
                    view.to_records(),
                    FrameView::access(frame).unwrap().to_records()
                );
                assert_eq!(
                    view.to_mutations(),
                    FrameView::access(frame).unwrap().to_mutations()
                );
            }
        }
    }

    #[test]
    fn strings_are_deduplicated_within_a_frame() {
        let big: String = "0123456789abcdef".repeat(64); // 1 KiB
        let muts: Vec<Mutation> = (0..100)
            .map(|i| Mutation::SetText {
                node: WireId(i + 1),
                text: big.clone(),
            })
            .collect();
        let bytes = encode_delta(&dh(2), &muts);
        let view = FrameView::access(&bytes).unwrap();
        assert_eq!(view.string_count(), 1);
        // The string once, plus the fixed-size mutations themselves.
        assert!(
            bytes.len() < 1024 + 100 * size_of::<ArchivedWMut>() + 64,
            "{} bytes",
            bytes.len()
        );
        assert_eq!(view.to_mutations(), muts);

        // 100 inserted text nodes with the same text.
        let insert = Mutation::Insert {
            parent: WireId(1),
            prev: None,
            nodes: std::iter::once(rec(2, 100, el("div", &[])))
                .chain((0..100).map(|i| rec(i + 3, 0, RecordData::Text(big.clone()))))
                .collect(),
        };
        let bytes = encode_delta(&dh(2), std::slice::from_ref(&insert));
        assert!(bytes.len() < 2048, "{} bytes", bytes.len());
        assert_eq!(
            FrameView::access(&bytes).unwrap().to_mutations(),
            vec![insert]
        );

        let records: Vec<NodeRecord> = std::iter::once(rec(1, 100, RecordData::Fragment))
            .chain((0..100).map(|i| rec(i + 2, 0, RecordData::Text(big.clone()))))
            .collect();
        let bytes = encode_keyframe(&kf(1), &records);
        assert!(bytes.len() < 2048, "{} bytes", bytes.len());
        assert_eq!(FrameView::access(&bytes).unwrap().to_records(), records);
    }

    #[test]
    fn string_hash_collisions_only_cost_time() {
        let (a, b) = (String::from("first"), String::from("second"));
        let mut enc = Encoder::new();
        assert_eq!(enc.string(&a), 0);
        // Pretend "second" hashes like "first".
        let hb = xxhash_rust::xxh3::xxh3_64_with_seed(b.as_bytes(), enc.seed);
        enc.by_hash.insert(hb, 0);
        assert_eq!(enc.string(&b), 1);
        assert_eq!(enc.string(&b), 1);
        assert_eq!(enc.string(&a), 0);
        // A second string colliding with the first: each keeps its own index.
        let c = String::from("third");
        let hc = xxhash_rust::xxh3::xxh3_64_with_seed(c.as_bytes(), enc.seed);
        enc.by_hash.insert(hc, 0);
        assert_eq!(enc.string(&c), 2);
        assert_eq!(enc.string(&b), 1);
        assert_eq!(enc.string(&c), 2);
        assert_eq!(enc.string(&a), 0);
        assert_eq!(enc.strings, vec![a.clone(), b.clone(), c.clone()]);
    }

    #[test]
    fn small_mutations_are_compact() {
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "set_attr",
                Mutation::SetAttr {
                    node: WireId(1234),
                    name: q(WireNs::None, "class"),
                    value: "active".into(),
                },
            ),
            (
                "set_text_20",
                Mutation::SetText {
                    node: WireId(1234),
                    text: "x".repeat(20),
                },
            ),
            (
                "move",
                Mutation::Move {
                    node: WireId(1234),
                    parent: WireId(99),
                    prev: Some(WireId(1200)),
                },
            ),
            ("remove", Mutation::Remove { node: WireId(1234) }),
            (
                "set_value",
                Mutation::SetProp {
                    node: WireId(1234),
                    prop: Prop::Value(Some("abc".into())),
                },
            ),
            (
                "scroll",
                Mutation::SetProp {
                    node: WireId(1234),
                    prop: Prop::Scroll(Some((0, 480))),
                },
            ),
            (
                "insert_text",
                Mutation::Insert {
                    parent: WireId(10),
                    prev: Some(WireId(11)),
                    nodes: vec![rec(5000, 0, text("hello world"))],
                },
            ),
        ];
        let empty = encode_delta(&dh(2), &[]).len();
        println!("empty delta: {empty} bytes");
        for (name, m) in &cases {
            let one = encode_delta(&dh(2), std::slice::from_ref(m)).len();
            // 100 of them with distinct nodes and distinct strings: the marginal cost.
            let many: Vec<Mutation> = (0..100u32)
                .map(|i| match m.clone() {
                    Mutation::SetAttr { name, value, .. } => Mutation::SetAttr {
                        node: WireId(i + 1),
                        name,
                        value: format!("{value}{i}"),
                    },
                    Mutation::SetText { text, .. } => Mutation::SetText {
                        node: WireId(i + 1),
                        text: format!("{}{i:03}", &text[3..]),
                    },
                    Mutation::SetProp { prop, .. } => Mutation::SetProp {
                        node: WireId(i + 1),
                        prop,
                    },
                    Mutation::Move { parent, prev, .. } => Mutation::Move {
                        node: WireId(i + 1),
                        parent,
                        prev,
                    },
                    Mutation::Remove { .. } => Mutation::Remove {
                        node: WireId(i + 1),
                    },
                    Mutation::Insert { parent, prev, .. } => Mutation::Insert {
                        parent,
                        prev,
                        nodes: vec![rec(5000 + 2 * i, 0, text(&format!("hello world {i}")))],
                    },
                    other => other,
                })
                .collect();
            let hundred = encode_delta(&dh(2), &many).len();
            let per = (hundred - empty) as f64 / 100.0;
            println!("{name:>12}: alone {one} bytes, marginal {per:.1} bytes/mutation");
            assert!(per <= 100.0);
            assert_eq!(
                FrameView::access(&encode_delta(&dh(2), &many))
                    .unwrap()
                    .to_mutations(),
                many
            );
        }
        let mixed = all_mutations();
        let bytes = encode_delta(&dh(2), &mixed);
        println!(
            "all_mutations(): {} mutations, {} bytes, {:.1} bytes/mutation",
            mixed.len(),
            bytes.len(),
            bytes.len() as f64 / mixed.len() as f64
        );
        assert!(bytes.len() as f64 / mixed.len() as f64 <= 100.0);
    }

    #[cfg(feature = "html")]
    fn corpus_pages() -> Vec<std::path::PathBuf> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpus/cache/htmlparser-benchmark");
        let mut pages: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "html"))
                    .collect()
            })
            .unwrap_or_default();
        pages.sort();
        pages
    }

    #[test]
    #[cfg(feature = "html")]
    fn keyframe_size_vs_html_size() {
        let pages = corpus_pages();
        let mut sample: Vec<(String, String)> = pages
            .iter()
            .filter_map(|p| {
                let bytes = std::fs::read(p).ok()?;
                Some((
                    p.file_name()?.to_string_lossy()[..12].to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            })
            .collect();
        if sample.is_empty() {
            println!("corpus not present; measuring a built-in page");
            let mut page =
                String::from("<!DOCTYPE html><html><head><title>Shop</title></head><body>");
            for i in 0..200 {
                page.push_str(&format!(
                    "<div class=\"item card\"><a href=\"/p/{i}\" class=\"link\">Product {i}</a>\n  <span class=price>${i}.99</span></div>\n"
                ));
            }
            page.push_str("</body></html>");
            sample.push(("builtin".into(), page));
        }
        let (mut html_total, mut frame_total) = (0usize, 0usize);
        let mut ratios = Vec::new();
        let mut breakdown = [0usize; 4];
        for (name, html) in &sample {
            let tree = crate::dom::parse::parse_document_str(html);
            let records = tree_records(&tree);
            let bytes = encode_keyframe(&kf(1), &records);
            let view = FrameView::access(&bytes).unwrap();
            assert_eq!(view.record_count(), records.len());
            html_total += html.len();
            frame_total += bytes.len();
            let ratio = bytes.len() as f64 / html.len() as f64;
            ratios.push((
                ratio,
                name.clone(),
                html.len(),
                bytes.len(),
                records.len(),
                view.string_count(),
            ));
            let t = view.frame.tree.as_ref().unwrap();
            let long: usize = view
                .frame
                .strings
                .iter()
                .map(|s| if s.len() > 8 { s.len() } else { 0 })
                .sum();
            let parts = [
                view.frame.strings.len() * 8,
                long,
                t.names.len() * size_of::<ArchivedWName>(),
                t.code.len(),
            ];
            for (i, v) in parts.iter().enumerate() {
                breakdown[i] += v;
            }
        }
        ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!(
            "breakdown string table entries / out-of-line string bytes / names / records: {breakdown:?} of {frame_total}"
        );
        let n = ratios.len();
        for r in ratios
            .iter()
            .take(3)
            .chain(ratios.iter().skip(n.saturating_sub(3)))
        {
            println!(
                "{}: html {} B, keyframe {} B, ratio {:.3}, {} records, {} strings",
                r.1, r.2, r.3, r.0, r.4, r.5
            );
        }
        println!(
            "{n} pages: keyframe/html total {:.3}, median {:.3}, min {:.3}, max {:.3}",
            frame_total as f64 / html_total as f64,
            ratios[n / 2].0,
            ratios[0].0,
            ratios[n - 1].0
        );
    }

    // --- Hostile input -------------------------------------------------------------------------

    #[test]
    fn every_truncation_is_rejected() {
        for frame in [
            encode_keyframe(&kf(1), &rich_records()),
            encode_delta(&dh(2), &all_mutations()),
        ] {
            for len in 0..frame.len() {
                let e = assert_rejected(&frame[..len]);
                if len < 6 {
                    assert_eq!(e, FrameError::Truncated, "len {len}");
                }
            }
        }
    }

    #[test]
    fn every_bit_flip_is_handled() {
        for frame in [
            encode_keyframe(&kf(1), &rich_records()[..]),
            encode_delta(&dh(2), &all_mutations()[..12]),
        ] {
            let mut buf = frame.clone();
            let (mut ok, mut err) = (0, 0);
            for bit in 0..frame.len() * 8 {
                buf[bit / 8] ^= 1 << (bit % 8);
                match FrameView::access(&buf) {
                    Ok(_) => ok += 1,
                    Err(_) => err += 1,
                }
                fuzz_access(&buf);
                buf[bit / 8] ^= 1 << (bit % 8);
            }
            assert_eq!(buf, frame);
            println!(
                "{} bytes: {ok} flips still valid, {err} rejected",
                frame.len()
            );
        }
    }

    #[test]
    fn random_buffers_are_rejected() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for i in 0..10_000 {
            let len = (rng.next() % 512) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if i % 2 == 1 && len >= 6 {
                // Half of them get a valid prefix so they reach the archive validation.
                buf[..4].copy_from_slice(&MAGIC);
                buf[4..6].copy_from_slice(&FRAME_VERSION.to_le_bytes());
            }
            let _ = assert_rejected(&buf);
            fuzz_access(&buf);
        }
    }

    #[test]
    fn magic_followed_by_random_bytes_is_rejected() {
        let mut rng = XorShift(12345);
        for len in [0usize, 1, 2, 10, 26, 27, 40, 64, 100, 1000, 4096] {
            for _ in 0..50 {
                let mut buf = MAGIC.to_vec();
                buf.extend_from_slice(&FRAME_VERSION.to_le_bytes());
                buf.extend((0..len).map(|_| rng.next() as u8));
                let _ = assert_rejected(&buf);
            }
        }
        let mut just_magic = MAGIC.to_vec();
        assert_eq!(assert_rejected(&just_magic), FrameError::Truncated);
        just_magic.push(1);
        assert_eq!(assert_rejected(&just_magic), FrameError::Truncated);
        assert_eq!(assert_rejected(b"CB"), FrameError::Truncated);
        assert_eq!(assert_rejected(b""), FrameError::Truncated);
        assert_eq!(
            assert_rejected(b"CBF2\x01\x00xxxxxxxxxxxx"),
            FrameError::BadMagic
        );
        assert_eq!(assert_rejected(b"<html>"), FrameError::BadMagic);
    }

    #[test]
    fn other_versions_are_rejected_before_validation() {
        let mut bytes = encode_delta(&dh(2), &all_mutations());
        bytes[4..6].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(assert_rejected(&bytes), FrameError::UnsupportedVersion(2));
        bytes[4..6].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(assert_rejected(&bytes), FrameError::UnsupportedVersion(0));
    }

    #[test]
    fn oversized_frames_are_rejected_without_validation() {
        let buf = vec![0u8; MAX_FRAME_BYTES + 1];
        assert_eq!(
            assert_rejected(&buf),
            FrameError::TooLarge {
                len: MAX_FRAME_BYTES + 1,
                max: MAX_FRAME_BYTES
            }
        );
        let buf = vec![0u8; MAX_FRAME_BYTES];
        assert_eq!(assert_rejected(&buf), FrameError::BadMagic);
    }

    #[test]
    fn huge_declared_lengths_are_rejected() {
        // 4660 (0x1234) removes: the mutation vec's length appears in the frame as 34 12 00 00.
        let n = 0x1234u32;
        let muts: Vec<Mutation> = (0..n)
            .map(|_| Mutation::Remove { node: WireId(7) })
            .collect();
        let frame = encode_delta(&dh(2), &muts);
        let hits = find(&frame, &n.to_le_bytes());
        assert!(!hits.is_empty());
        // And an insert whose record count (3) follows a marker parent id and prev.
        let ins = vec![Mutation::Insert {
            parent: WireId(0xA1B2_C3D4),
            prev: Some(WireId(0x0BAD_F00D)),
            nodes: vec![
                rec(10, 2, el("p", &[("class", "a")])),
                rec(11, 0, text("x")),
                rec(12, 0, text("y")),
            ],
        }];
        let ins_frame = encode_delta(&dh(2), &ins);
        let marker = find(&ins_frame, &0xA1B2_C3D4u32.to_le_bytes());
        assert_eq!(marker.len(), 1);
        let count_at = marker[0] + 4 + 5;
        assert_eq!(ins_frame[count_at..count_at + 4], 3u32.to_le_bytes());

        let huge = [
            u32::MAX,
            u32::MAX - 1,
            0x7FFF_FFFF,
            0x8000_0000,
            0x1000_0000,
            0x00FF_FFFF,
            n + 1,
        ];
        let mut rejected = 0;
        for &at in &hits {
            for h in huge {
                let mut bad_frame = frame.clone();
                bad_frame[at..at + 4].copy_from_slice(&h.to_le_bytes());
                if FrameView::access(&bad_frame).is_err() {
                    rejected += 1;
                }
                fuzz_access(&bad_frame);
            }
        }
        assert!(rejected >= huge.len());
        for h in huge.into_iter().chain([0, 4, 2]) {
            let mut bad_frame = ins_frame.clone();
            bad_frame[count_at..count_at + 4].copy_from_slice(&h.to_le_bytes());
            assert!(
                matches!(assert_rejected(&bad_frame), FrameError::BadStructure(_)),
                "count {h}"
            );
        }
        // Every length-like u32 of a keyframe, patched to huge values.
        let kf_frame = encode_keyframe(&kf(1), &rich_records());
        for at in 0..kf_frame.len() - 3 {
            for h in [u32::MAX, 0x7FFF_FFFF, 0x0100_0000] {
                let mut b = kf_frame.clone();
                b[at..at + 4].copy_from_slice(&h.to_le_bytes());
                fuzz_access(&b);
            }
        }
    }

    #[test]
    fn bad_indices_and_namespaces_are_reported() {
        let frame = encode_delta(
            &dh(2),
            &[Mutation::SetText {
                node: WireId(0xA1B2_C3D4),
                text: "t".into(),
            }],
        );
        let at = find(&frame, &0xA1B2_C3D4u32.to_le_bytes())[0] + 4;
        let mut b = frame.clone();
        b[at..at + 4].copy_from_slice(&999u32.to_le_bytes());
        assert_eq!(assert_rejected(&b), FrameError::BadStringIndex(999));

        let frame = encode_delta(
            &dh(2),
            &[Mutation::SetAttr {
                node: WireId(0xA1B2_C3D4),
                name: q(WireNs::Svg, "x"),
                value: "v".into(),
            }],
        );
        let at = find(&frame, &0xA1B2_C3D4u32.to_le_bytes())[0] + 4;
        assert_eq!(frame[at], WireNs::Svg as u8);
        let mut b = frame.clone();
        b[at] = 7;
        assert_eq!(assert_rejected(&b), FrameError::BadNamespace(7));
        b[at] = 0xFF;
        assert_eq!(assert_rejected(&b), FrameError::BadNamespace(0xFF));
    }

    /// A same-origin iframe's content document travels as the iframe's only child, nested
    /// iframes included, in keyframes and inserts.
    #[test]
    fn content_documents_round_trip() {
        let doc = || RecordData::Document {
            viewport: None,
            pixel_ratio: None,
        };
        let recs = vec![
            rec(
                1,
                1,
                RecordData::Document {
                    viewport: Some((800, 600)),
                    pixel_ratio: Some(2000),
                },
            ),
            rec(2, 1, el("iframe", &[("src", "/a.html")])),
            rec(3, 1, doc()),
            rec(4, 1, el("html", &[])),
            rec(5, 1, el("iframe", &[])),
            rec(6, 1, doc()),
            rec(7, 0, el("html", &[("lang", "x")])),
        ];
        let bytes = encode_keyframe(&kf(1), &recs);
        assert_eq!(FrameView::access(&bytes).unwrap().to_records(), recs);
        let muts = vec![Mutation::Insert {
            parent: WireId(2),
            prev: None,
            nodes: vec![rec(8, 1, doc()), rec(9, 0, el("html", &[]))],
        }];
        let bytes = encode_delta(&dh(2), &muts);
        assert_eq!(FrameView::access(&bytes).unwrap().to_mutations(), muts);
    }

    #[test]
    fn malformed_trees_are_rejected() {
        let bad_keyframes: Vec<Vec<NodeRecord>> = vec![
            vec![],
            // Two roots.
            vec![rec(1, 0, RecordData::Fragment), rec(2, 0, text("a"))],
            // Children count beyond the records.
            vec![rec(1, 2, RecordData::Fragment), rec(2, 0, text("a"))],
            vec![
                rec(1, u32::MAX, RecordData::Fragment),
                rec(2, u32::MAX, el("p", &[])),
            ],
            // A leaf with children.
            vec![
                rec(1, 1, RecordData::Fragment),
                rec(2, 1, text("a")),
                rec(3, 0, text("b")),
            ],
            vec![
                rec(1, 1, RecordData::Fragment),
                rec(2, 1, RecordData::Comment("a".into())),
                rec(3, 0, text("b")),
            ],
            // Root not a document/fragment.
            vec![rec(1, 0, el("p", &[]))],
            vec![rec(1, 0, text("p"))],
            // Document below the root.
            vec![
                rec(
                    1,
                    1,
                    RecordData::Document {
                        viewport: None,
                        pixel_ratio: None,
                    },
                ),
                rec(
                    2,
                    0,
                    RecordData::Document {
                        viewport: None,
                        pixel_ratio: None,
                    },
                ),
            ],
            // A document in an iframe beside another child, or under a non-iframe.
            vec![
                rec(
                    1,
                    1,
                    RecordData::Document {
                        viewport: None,
                        pixel_ratio: None,
                    },
                ),
                rec(2, 2, el("iframe", &[])),
                rec(
                    3,
                    0,
                    RecordData::Document {
                        viewport: None,
                        pixel_ratio: None,
                    },
                ),
                rec(4, 0, text("x")),
            ],
            vec![
                rec(
                    1,
                    1,
                    RecordData::Document {
                        viewport: None,
                        pixel_ratio: None,
                    },
                ),
                rec(2, 1, el("frame", &[])),
                rec(
                    3,
                    0,
                    RecordData::Document {
                        viewport: None,
                        pixel_ratio: None,
                    },
                ),
            ],
        ];
        for recs in bad_keyframes {
            let e = assert_rejected(&encode_keyframe(&kf(1), &recs));
            assert!(matches!(e, FrameError::BadStructure(_)), "{recs:?}: {e:?}");
        }
        let bad_inserts: Vec<Vec<NodeRecord>> = vec![
            vec![],
            vec![rec(5, 0, text("a")), rec(6, 0, text("b"))],
            vec![rec(5, 2, el("p", &[])), rec(6, 0, text("b"))],
            // A document below an insert's top that is not an iframe's only child.
            vec![
                rec(5, 1, el("div", &[])),
                rec(
                    6,
                    0,
                    RecordData::Document {
                        viewport: None,
                        pixel_ratio: None,
                    },
                ),
            ],
            vec![
                rec(5, 2, el("iframe", &[])),
                rec(
                    6,
                    0,
                    RecordData::Document {
                        viewport: None,
                        pixel_ratio: None,
                    },
                ),
                rec(7, 0, text("b")),
            ],
        ];
        for nodes in bad_inserts {
            let muts = [Mutation::Insert {
                parent: WireId(1),
                prev: None,
                nodes: nodes.clone(),
            }];
            let e = assert_rejected(&encode_delta(&dh(2), &muts));
            assert!(matches!(e, FrameError::BadStructure(_)), "{nodes:?}: {e:?}");
        }
        // An insert followed by a second insert that together would be fine but split wrongly.
        let muts = [
            Mutation::Insert {
                parent: WireId(1),
                prev: None,
                nodes: vec![rec(5, 1, el("p", &[]))],
            },
            Mutation::Insert {
                parent: WireId(1),
                prev: None,
                nodes: vec![rec(6, 0, text("b"))],
            },
        ];
        assert!(matches!(
            assert_rejected(&encode_delta(&dh(2), &muts)),
            FrameError::BadStructure(_)
        ));
    }

    fn raw(kind: u8, strings: &[&str], muts: Vec<WMut>, tree: Option<WTree>) -> Vec<u8> {
        archive(&WFrame {
            kind,
            sanitized: false,
            seq: 1,
            base_seq: 1,
            fingerprint: 0,
            strings: strings.iter().map(|s| s.to_string()).collect(),
            muts,
            tree: tree.map(Box::new),
        })
    }

    /// Builds a record stream by hand.
    #[derive(Default, Clone)]
    struct Code(Vec<u8>);
    impl Code {
        fn b(mut self, b: u8) -> Self {
            self.0.push(b);
            self
        }
        fn v(mut self, v: u64) -> Self {
            push_varint(&mut self.0, v);
            self
        }
        fn raw(mut self, bytes: &[u8]) -> Self {
            self.0.extend_from_slice(bytes);
            self
        }
        /// A fragment root with one child, the rest of the stream.
        fn under_fragment() -> Self {
            Code::default().b(K_FRAGMENT | H_CHILDREN).v(1)
        }
    }

    fn tree(names: Vec<WName>, code: Code) -> WTree {
        WTree {
            names,
            code: code.0,
        }
    }

    fn raw_keyframe(strings: &[&str], tree: WTree) -> Result<Vec<NodeRecord>, FrameError> {
        let bytes = raw(0, strings, vec![], Some(tree));
        FrameView::access(&bytes).map(|v| v.to_records())
    }

    fn structure(r: Result<Vec<NodeRecord>, FrameError>) -> String {
        match r {
            Err(FrameError::BadStructure(m)) => m,
            other => panic!("expected BadStructure, got {other:?}"),
        }
    }

    #[test]
    fn crafted_record_streams_are_rejected_with_the_right_error() {
        let no_names = Vec::new;
        let code = Code::default;
        // Baselines.
        assert_eq!(
            raw_keyframe(&[], tree(no_names(), code().b(K_FRAGMENT))).unwrap(),
            vec![rec(1, 0, RecordData::Fragment)]
        );
        assert_eq!(
            raw_keyframe(
                &["x"],
                tree(no_names(), Code::under_fragment().b(K_TEXT).v(0))
            )
            .unwrap(),
            vec![rec(1, 1, RecordData::Fragment), rec(2, 0, text("x"))]
        );
        // A document's pixel ratio: 1 to MAX_PIXEL_RATIO thousandths.
        assert_eq!(
            raw_keyframe(&[], tree(no_names(), code().b(K_DOCUMENT | H_X2).v(2000))).unwrap(),
            vec![rec(
                1,
                0,
                RecordData::Document {
                    viewport: None,
                    pixel_ratio: Some(2000)
                }
            )]
        );
        for r in [0, u64::from(MAX_PIXEL_RATIO) + 1] {
            let e = structure(raw_keyframe(
                &[],
                tree(no_names(), code().b(K_DOCUMENT | H_X2).v(r)),
            ));
            assert!(e.contains("pixel ratio out of range"), "{e}");
        }
        // Wire deltas that overflow i64 or leave the u32 range.
        for v in [
            u64::MAX,
            u64::MAX - 1,
            zigzag(-1),
            zigzag(1 << 32),
            zigzag(-(1 << 40)),
        ] {
            structure(raw_keyframe(
                &[],
                tree(no_names(), code().b(K_FRAGMENT | H_WIRE).v(v)),
            ));
        }
        // Overlong, truncated and out-of-range integers.
        let children = || code().b(K_FRAGMENT | H_CHILDREN);
        for c in [
            children().raw(&[0x80; 11]),
            children().raw(&[0xFF; 9]).b(0x02),
            children().v(1 << 32),
            children().v(u32::MAX.into()),
            children().v(1),
            children().b(0x80),
            children(),
        ] {
            structure(raw_keyframe(&[], tree(no_names(), c)));
        }
        // Unknown kinds.
        for head in [6, 7, 6 | H_CHILDREN, 7 | H_X1 | H_X2] {
            let m = structure(raw_keyframe(&[], tree(no_names(), code().b(head).v(1))));
            assert!(m.contains("unknown node kind"), "{m}");
        }
        // Presence bits on the wrong kind; a leaf with children.
        structure(raw_keyframe(
            &[],
            tree(no_names(), code().b(K_FRAGMENT | H_X1).v(1).v(1)),
        ));
        structure(raw_keyframe(
            &[],
            tree(no_names(), code().b(K_FRAGMENT | H_X2).b(0)),
        ));
        for head in [
            K_TEXT | H_X1,
            K_TEXT | H_X2,
            K_COMMENT | H_X1,
            K_DOCTYPE | H_X2,
        ] {
            let c = Code::under_fragment().b(head).raw(&[0, 0, 0, 0, 0]);
            structure(raw_keyframe(&["x"], tree(no_names(), c)));
        }
        let c = Code::under_fragment()
            .b(K_TEXT | H_CHILDREN)
            .v(1)
            .v(0)
            .b(K_TEXT)
            .v(0);
        assert!(structure(raw_keyframe(&["x"], tree(no_names(), c))).contains("leaf"));
        // Exhausted and left-over bytes; empty keyframes.
        structure(raw_keyframe(
            &[],
            tree(no_names(), code().b(K_FRAGMENT | H_FLAGS)),
        ));
        structure(raw_keyframe(
            &[],
            tree(no_names(), code().b(K_DOCUMENT | H_X1).v(1)),
        ));
        assert!(
            structure(raw_keyframe(
                &[],
                tree(no_names(), code().b(K_FRAGMENT).b(0))
            ))
            .contains("unused")
        );
        structure(raw_keyframe(&[], tree(no_names(), code())));
        // Elements, names, attributes.
        let ok_name = || vec![WName { ns: 1, local: 0 }];
        let element = |head: u8| Code::under_fragment().b(K_ELEMENT | head).v(0);
        assert!(raw_keyframe(&["p"], tree(ok_name(), element(0))).is_ok());
        assert_eq!(
            raw_keyframe(&["p", "v"], tree(ok_name(), element(H_X1).v(1).v(0).v(1))).unwrap()[1]
                .data,
            RecordData::Element {
                name: html("p"),
                attrs: vec![(html("p"), "v".into())],
                props: Props::default()
            }
        );
        structure(raw_keyframe(
            &["p"],
            tree(ok_name(), Code::under_fragment().b(K_ELEMENT).v(5)),
        ));
        structure(raw_keyframe(
            &["p"],
            tree(ok_name(), element(H_X1).v(u32::MAX.into()).v(0).v(0)),
        ));
        structure(raw_keyframe(
            &["p"],
            tree(ok_name(), element(H_X1).v(2).v(0).v(0)),
        ));
        assert_eq!(
            raw_keyframe(&["p"], tree(ok_name(), element(H_X1).v(1).v(0).v(9))).unwrap_err(),
            FrameError::BadStringIndex(9)
        );
        assert_eq!(
            raw_keyframe(&["p"], tree(vec![WName { ns: 9, local: 0 }], element(0))).unwrap_err(),
            FrameError::BadNamespace(9)
        );
        // Unused names are checked too.
        let mut names = ok_name();
        names.push(WName { ns: 200, local: 0 });
        assert_eq!(
            raw_keyframe(&["p"], tree(names, element(0))).unwrap_err(),
            FrameError::BadNamespace(200)
        );
        let mut names = ok_name();
        names.push(WName { ns: 0, local: 77 });
        assert_eq!(
            raw_keyframe(&["p"], tree(names, element(0))).unwrap_err(),
            FrameError::BadStringIndex(77)
        );
        // Props.
        let props = |c: Code| raw_keyframe(&["p"], tree(ok_name(), c)).map(|r| r[1].data.clone());
        assert_eq!(
            props(
                element(H_X2)
                    .b(P_CHECKED | P_SELECTED | P_SELECTED_TRUE | P_SCROLL)
                    .v(zigzag(-1))
                    .v(zigzag(5))
            )
            .unwrap(),
            RecordData::Element {
                name: html("p"),
                attrs: vec![],
                props: Props {
                    value: None,
                    checked: Some(false),
                    selected: Some(true),
                    scroll: Some((-1, 5)),
                    rendered: None,
                }
            }
        );
        assert_eq!(
            props(element(H_X2).b(P_VALUE).v(3)).unwrap_err(),
            FrameError::BadStringIndex(3)
        );
        for p in [1 << 6, 1 << 7, P_CHECKED_TRUE, P_SELECTED_TRUE] {
            structure(raw_keyframe(&["p"], tree(ok_name(), element(H_X2).b(p))));
        }
        structure(raw_keyframe(
            &["p"],
            tree(ok_name(), element(H_X2).b(P_SCROLL).v(zigzag(1 << 31)).v(0)),
        ));
        // Doctype string indices.
        let c = code()
            .b(K_DOCUMENT | H_CHILDREN)
            .v(1)
            .b(K_DOCTYPE)
            .v(0)
            .v(0)
            .v(4);
        assert_eq!(
            raw_keyframe(&["html"], tree(no_names(), c)).unwrap_err(),
            FrameError::BadStringIndex(4)
        );
        // Keyframe/delta bodies.
        let access =
            |b: Vec<u8>| FrameView::access(&b).map(|v| (v.record_count(), v.to_mutations()));
        let ins = |count| {
            vec![WMut::Insert {
                parent: 1,
                prev: None,
                count,
            }]
        };
        assert!(matches!(
            access(raw(0, &[], vec![], None)),
            Err(FrameError::BadStructure(_))
        ));
        let one_text = || Some(tree(no_names(), code().b(K_TEXT).v(0)));
        assert!(matches!(
            access(raw(1, &["x"], vec![], one_text())),
            Err(FrameError::BadStructure(_))
        ));
        assert!(matches!(
            access(raw(1, &["x"], ins(1), None)),
            Err(FrameError::BadStructure(_))
        ));
        assert_eq!(
            access(raw(1, &["x"], ins(1), one_text())).unwrap().1.len(),
            1
        );
        let two_texts = || Some(tree(no_names(), code().b(K_TEXT).v(0).b(K_TEXT).v(0)));
        assert!(matches!(
            access(raw(1, &["x"], ins(2), two_texts())),
            Err(FrameError::BadStructure(_))
        ));
        assert!(matches!(
            access(raw(1, &["x"], ins(1), two_texts())),
            Err(FrameError::BadStructure(_))
        ));
        assert_eq!(
            access(raw(
                1,
                &["x"],
                ins(1).into_iter().chain(ins(1)).collect(),
                two_texts()
            ))
            .unwrap()
            .1
            .len(),
            2
        );
        assert!(matches!(
            access(raw(1, &["x"], ins(u32::MAX), two_texts())),
            Err(FrameError::BadStructure(_))
        ));
        let bytes = raw(
            1,
            &[],
            vec![WMut::SetValue {
                node: 1,
                value: Some(0),
            }],
            None,
        );
        assert_eq!(
            FrameView::access(&bytes).unwrap_err(),
            FrameError::BadStringIndex(0)
        );
    }

    #[test]
    fn unassigned_wire_ids_are_rejected() {
        for m in [
            Mutation::Remove { node: WireId(0) },
            Mutation::Move {
                node: WireId(1),
                parent: WireId(0),
                prev: None,
            },
            Mutation::Move {
                node: WireId(1),
                parent: WireId(2),
                prev: Some(WireId(0)),
            },
            Mutation::SetFlags {
                node: WireId(0),
                flags: 1,
            },
        ] {
            assert!(matches!(
                assert_rejected(&encode_delta(&dh(2), &[m])),
                FrameError::BadStructure(_)
            ));
        }
    }

    #[test]
    fn inconsistent_kind_is_rejected() {
        let kind_at = |frame: &[u8]| frame.len() - size_of::<ArchivedWFrame>();
        let mut k = encode_keyframe(&kf(1), &rich_records());
        let at = kind_at(&k);
        assert_eq!(k[at], 0);
        k[at] = 1; // a "delta" whose records no insert consumes
        assert!(matches!(assert_rejected(&k), FrameError::BadStructure(_)));
        k[at] = 2;
        assert!(matches!(assert_rejected(&k), FrameError::BadStructure(_)));

        let mut d = encode_delta(&dh(2), &all_mutations());
        let at = kind_at(&d);
        assert_eq!(d[at], 1);
        d[at] = 0; // a "keyframe" with mutations
        assert!(matches!(assert_rejected(&d), FrameError::BadStructure(_)));

        // A keyframe whose base_seq differs from its seq.
        let h = kf(5);
        let mut k = encode_keyframe(&h, &[rec(1, 0, RecordData::Fragment)]);
        let at = find(&k, &5u64.to_le_bytes());
        assert_eq!(at.len(), 2);
        k[at[1]] = 4;
        assert!(matches!(assert_rejected(&k), FrameError::BadStructure(_)));
    }

    #[test]
    fn errors_never_contain_frame_strings() {
        let canary = "CANARY-SECRET-1234";
        let records = vec![
            rec(1, 2, RecordData::Fragment),
            rec(2, 0, text(canary)),
            rec(
                3,
                0,
                RecordData::Element {
                    name: html("input"),
                    attrs: vec![(q(WireNs::None, "value"), canary.into())],
                    props: Props {
                        value: Some(canary.into()),
                        ..Props::default()
                    },
                },
            ),
        ];
        let frames = [
            encode_keyframe(&kf(1), &records),
            encode_delta(
                &dh(2),
                &[Mutation::SetText {
                    node: WireId(2),
                    text: canary.into(),
                }],
            ),
        ];
        let check = |e: &FrameError| {
            let shown = format!("{e} {e:?}");
            assert!(
                !shown.contains("CANARY") && !shown.contains("SECRET") && !shown.contains("1234"),
                "{shown}"
            );
        };
        for frame in &frames {
            let at = find(frame, canary.as_bytes())[0];
            // Invalid UTF-8 inside the string.
            for (i, byte) in [0xFFu8, 0xC3, 0x80, 0xED].into_iter().enumerate() {
                let mut b = frame.clone();
                b[at + 3 + i] = byte;
                let e = assert_rejected(&b);
                assert!(matches!(e, FrameError::Invalid(_)), "{e:?}");
                check(&e);
            }
            // Every single-bit flip and every byte set to 0xFF.
            let mut b = frame.clone();
            for bit in 0..frame.len() * 8 {
                b[bit / 8] ^= 1 << (bit % 8);
                if let Err(e) = FrameView::access(&b) {
                    check(&e);
                }
                b[bit / 8] ^= 1 << (bit % 8);
            }
            for i in 0..frame.len() {
                let mut b = frame.clone();
                b[i] = 0xFF;
                if let Err(e) = FrameView::access(&b) {
                    check(&e);
                }
            }
            // Truncations.
            for len in 0..frame.len() {
                check(&assert_rejected(&frame[..len]));
            }
        }
    }

    #[test]
    fn redaction_drops_numbers_and_odd_characters() {
        assert_eq!(
            redact("invalid bool: expected 0 or 1, found 65"),
            "invalid bool: expected # or #, found #"
        );
        assert_eq!(redact("bad 0x4f41 and u32_le"), "bad # and #");
        assert_eq!(
            redact("while checking field 'strings' of struct 'ArchivedWFrame'"),
            "while checking field 'strings' of struct 'ArchivedWFrame'"
        );
        assert_eq!(redact("é{}"), "???");
    }

    #[test]
    fn error_display_is_informative() {
        assert_eq!(
            FrameError::BadMagic.to_string(),
            "not a cobrowse frame (bad magic)"
        );
        assert_eq!(
            FrameError::UnsupportedVersion(3).to_string(),
            "unsupported frame version 3 (this build reads version 1)"
        );
        let e: Box<dyn std::error::Error> = Box::new(FrameError::Truncated);
        assert_eq!(e.to_string(), "frame truncated");
    }
}
