//! The recorder's per-batch engine path, natively, for `perf record -g`: each of `PAGES`
//! corpus pages (spread over the size ranks) is captured, then edited `BATCHES` times with
//! `OPS` seeded edits each (`EditGenerator`, through the `Tree` API like `apply_batch`), and
//! every batch runs what the browser's `batch` call runs after its ops: the blocked elements
//! to measure, then the delta.
//!
//! `cargo build -p cobrowse-benches --bin batches` (or `--release`), then
//! `perf record -g target/debug/batches [PAGES] [BATCHES] [OPS]`. Prints the time spent in the
//! engine's calls (the edits excluded) and the delta bytes per edit. On a loaded machine compare
//! builds by instruction counts instead: `valgrind --tool=callgrind target/debug/batches 8 100 5`,
//! then `callgrind_annotate --inclusive=yes` for `Capture::delta` and
//! `Capture::take_unmeasured_blocked` (the edits are the same seeded ones in every build).

use std::time::{Duration, Instant};

use cobrowse_benches::load_corpus;
use cobrowse_engine::{Capture, Rules, parse_document_str};
use cobrowse_tests::edits::EditGenerator;

fn main() {
    let arg = |i: usize, d: usize| {
        std::env::args()
            .nth(i)
            .and_then(|n| n.parse().ok())
            .unwrap_or(d)
    };
    let (pages, batches, ops) = (arg(1, 8), arg(2, 500), arg(3, 5));
    let corpus = load_corpus().expect("no corpus: run corpus/fetch.sh");
    let rules = Rules::default();
    let mut engine = Duration::ZERO;
    let (mut bytes, mut edits) = (0usize, 0usize);
    for (i, page) in corpus.spread(pages).into_iter().enumerate() {
        let mut cap = Capture::new(rules.clone(), parse_document_str(&page.html));
        cap.keyframe();
        let mut editor = EditGenerator::new(i as u64 + 1);
        for _ in 0..batches {
            edits += editor.edit(cap.tree_mut(), ops).edits.len();
            let t = Instant::now();
            std::hint::black_box(cap.take_unmeasured_blocked());
            bytes += cap.delta().map_or(0, |f| f.len());
            engine += t.elapsed();
        }
    }
    println!(
        "engine {:.1} ms for {edits} edits ({:.2} µs/edit), {:.1} B/edit",
        engine.as_secs_f64() * 1e3,
        engine.as_secs_f64() * 1e6 / edits.max(1) as f64,
        bytes as f64 / edits.max(1) as f64
    );
}
