//! What a mirror really holds on the heap, measured with a counting global allocator, against
//! its keyframe's bytes and against what the relay's memory budgets count for it
//! ([`Budget::footprint`]: node slots x [`NODE_BYTES`] + frame bytes x [`FRAME_BYTE_COST`]).
//! Over the hand-written cases and, when present, the 258 real pages of the corpus cache.
//! Prints the figures for `BENCHMARKS.md` ("Mirror cost against its frame bytes").
//!
//! One test in its own binary, so that no other test allocates while it measures.

use cobrowse_engine::*;
use cobrowse_relay::budget::{Budget, FRAME_BYTE_COST, NODE_BYTES};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// The pages: (name, html).
fn pages() -> Vec<(String, String)> {
    let mut pages = Vec::new();
    let root = cobrowse_tests::repo_root();
    for dir in ["corpus/cases", "corpus/cache/htmlparser-benchmark"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            let file = if p.is_dir() { p.join("from.html") } else { p };
            if file.extension().is_none_or(|e| e != "html") {
                continue;
            }
            if let Ok(s) = std::fs::read_to_string(&file) {
                pages.push((file.display().to_string(), s));
            }
        }
    }
    pages.sort();
    pages
}

/// Bytes held at the end of a region. `stats_alloc` already adds a realloc's growth to
/// `bytes_allocated` (and its shrinking to `bytes_deallocated`); `bytes_reallocated` is the
/// same growth again, so it must not be added.
fn net_bytes(change: &stats_alloc::Stats) -> isize {
    change.bytes_allocated as isize - change.bytes_deallocated as isize
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::MIN, f64::max)
}

#[test]
fn a_mirrors_heap_is_within_its_counted_budget() {
    let pages = pages();
    assert!(pages.len() > 10);
    let (mut real_per_kf, mut counted_per_kf, mut real_per_node) = (vec![], vec![], vec![]);
    let (mut all_kf, mut all_real, mut all_counted, mut all_nodes) = (0usize, 0, 0, 0);
    let mut over = Vec::new();
    let mut all_compact = 0usize;
    // Per node, beyond what the frame bytes are counted at: what NODE_BYTES must cover.
    let mut beyond_frames = Vec::new();
    for (name, html) in &pages {
        let kf = Capture::new(Rules::default(), parse_document_str(html)).keyframe();
        let region = Region::new(GLOBAL);
        let mut m = Mirror::new(MirrorOptions::default());
        m.apply_frame(&kf, &mut ()).unwrap();
        let change = region.change();
        let heap = net_bytes(&change);
        let real = heap as usize + std::mem::size_of::<Mirror>();
        let nodes = m.tree().slot_capacity();
        // The same tree cloned: its vectors and maps at the capacity they need, no growth slack.
        let region = Region::new(GLOBAL);
        let exact = m.tree().clone();
        let change = region.change();
        let compact = net_bytes(&change);
        drop(exact);
        all_compact += compact as usize;
        let counted = Budget::footprint(nodes, kf.len());
        drop(m);
        if real > counted {
            over.push(format!(
                "{name}: the mirror holds {real} B, the budget counts {counted} B ({nodes} nodes, {} B keyframe)",
                kf.len()
            ));
        }
        real_per_kf.push(real as f64 / kf.len() as f64);
        counted_per_kf.push(counted as f64 / kf.len() as f64);
        real_per_node.push(real as f64 / nodes as f64);
        beyond_frames.push((real as f64 - (FRAME_BYTE_COST * kf.len()) as f64) / nodes as f64);
        all_kf += kf.len();
        all_real += real;
        all_counted += counted;
        all_nodes += nodes;
    }
    println!(
        "{} pages, {} nodes, {} KiB of keyframes; heap / keyframe bytes: median {:.1}x, max {:.1}x, all pages {:.1}x; \
         counted (node {NODE_BYTES} B, frame byte {FRAME_BYTE_COST} B) / keyframe bytes: median {:.1}x, max {:.1}x, all pages {:.1}x; \
         heap per node: median {:.0} B, max {:.0} B, all pages {:.0} B, {:.0} B in an exact-capacity clone of the tree; beyond {FRAME_BYTE_COST} B per keyframe byte, at most {:.0} B per node; type sizes: NodeData {} B, ElementData {} B (boxed per element), Attr {} B, View {} B",
        pages.len(),
        all_nodes,
        all_kf / 1024,
        median(&mut real_per_kf.clone()),
        max(&real_per_kf),
        all_real as f64 / all_kf as f64,
        median(&mut counted_per_kf.clone()),
        max(&counted_per_kf),
        all_counted as f64 / all_kf as f64,
        median(&mut real_per_node.clone()),
        max(&real_per_node),
        all_real as f64 / all_nodes as f64,
        all_compact as f64 / all_nodes as f64,
        max(&beyond_frames),
        std::mem::size_of::<NodeData>(),
        std::mem::size_of::<ElementData>(),
        std::mem::size_of::<Attr>(),
        std::mem::size_of::<View>(),
    );
    assert!(
        over.is_empty(),
        "{} pages over their count:\n{}",
        over.len(),
        over.join("\n")
    );
}
