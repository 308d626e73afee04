//! Shared helpers for the cross-crate tests: round trips through the whole pipeline
//! (prepare, snapshot, diff, frame encoding, zero-copy access, mirror replay), corpus
//! discovery, and the seeded edit generator.

pub mod edits;

use std::path::{Path, PathBuf};

use cobrowse_engine::*;

/// Where the repository's top level is.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `../shared` beside the repository, if present.
pub fn shared_dir() -> Option<PathBuf> {
    let p = repo_root().parent()?.join("shared");
    p.is_dir().then_some(p)
}

/// The fetched real-world pages (empty if the corpus was not fetched).
pub fn corpus_pages() -> Vec<PathBuf> {
    let dir = repo_root().join("corpus/cache/htmlparser-benchmark");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "html"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The corpus pages, or a loud failure when they are missing under CI.
pub fn corpus_pages_required() -> Vec<PathBuf> {
    let v = corpus_pages();
    if v.is_empty() {
        if std::env::var_os("CI").is_some() {
            panic!("corpus not fetched: run corpus/fetch.sh (the README test command does)");
        }
        eprintln!("SKIPPED: corpus not fetched (run corpus/fetch.sh)");
    }
    v
}

/// Result of one round trip.
pub struct Roundtrip {
    /// Mutations of the delta.
    pub mutations: Vec<Mutation>,
    /// The encoded keyframe.
    pub keyframe: Vec<u8>,
    /// The encoded delta.
    pub delta: Vec<u8>,
    /// The mirror after keyframe + delta.
    pub mirror: Mirror,
    /// The new tree (ids assigned by the diff).
    pub new: Tree,
}

/// Snapshot `old` into a mirror through a keyframe frame, diff to `new`, send the delta as a
/// frame, apply it, all through a [`Capture`] (which numbers the frames and checks them on its
/// shadow mirror). A `new` that carries `old`'s wire ids is matched by identity, an anonymous
/// one (parsed on its own) without. Errors are returned as strings with context.
pub fn roundtrip(old: Tree, new: Tree, rules: &Rules) -> Result<Roundtrip, String> {
    let mut capture = Capture::new(rules.clone(), old);
    let keyframe = capture.keyframe();
    let mut mirror = Mirror::new(MirrorOptions {
        require_sanitized: false,
        ..Default::default()
    });
    mirror
        .apply_frame(&keyframe, &mut ())
        .map_err(|e| format!("keyframe: {e}"))?;
    let delta = capture.replace_document(new).unwrap_or_default();
    if !delta.is_empty() {
        mirror
            .apply_frame(&delta, &mut ())
            .map_err(|e| format!("delta: {e}"))?;
    }
    Ok(Roundtrip {
        mutations: capture.last_mutations().to_vec(),
        keyframe,
        delta,
        mirror,
        new: capture.tree().clone(),
    })
}

/// Asserts that the mirror holds the same tree as `want` (parsed or built independently).
pub fn assert_same(label: &str, got: &Tree, want: &Tree) {
    if let Some(d) = got.first_difference(want) {
        panic!("{label}: mirror differs from the target: {d}");
    }
}

/// Whether a frame's header says it was not sanitized.
pub fn frame_is_unsanitized(frame: &[u8]) -> bool {
    !FrameView::access(frame)
        .expect("valid frame")
        .header()
        .sanitized
}

/// Asserts that two trees hold the same nodes: same shape and, position by position, the same
/// wire ids (what keeps later deltas applicable). `capture` is seen through `rules`.
pub fn assert_same_ids(label: &str, mirror: &Tree, capture: &Tree, rules: &Rules) {
    let proj = Projection::through(rules);
    let mut stack = vec![(mirror.root(), capture.root())];
    while let Some((a, b)) = stack.pop() {
        assert_eq!(
            mirror.wire_id(a),
            capture.wire_id(b),
            "{label}: wire ids diverged"
        );
        let ka: Vec<NodeId> = mirror.children(a).collect();
        let kb: Vec<NodeId> = proj.children(capture, b).collect();
        assert_eq!(ka.len(), kb.len(), "{label}: child counts diverged");
        stack.extend(ka.into_iter().zip(kb));
    }
}

/// The status code and body of a raw HTTP/1.1 response (what the relay's tests read from a
/// `Connection: close` request); status 0 when there is none.
pub fn http_status_and_body(response: &str) -> (u16, String) {
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
