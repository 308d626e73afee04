//! Criterion benches of the engine pipeline over the real-world corpus.
//!
//! `cargo bench -p cobrowse-benches` measures; `cargo test -p cobrowse-benches --benches`
//! runs every bench once as a smoke test (CI). Absolute times on a shared 2-core machine are
//! noisy: compare contenders within one group of one run, and use the `ratios` binary
//! (interleaved, median of per-round ratios) for the figures in `BENCHMARKS.md`.
//!
//! Without the fetched corpus the benches run on the hand-written `corpus/cases` pages (and
//! say so); with neither they print SKIPPED.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cobrowse_benches::*;
use cobrowse_engine::*;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// Pages in the `parse`, `parse_fingerprint` and `fingerprint` subsets.
const SUBSET: usize = 20;

fn corpus() -> Option<&'static Corpus> {
    static C: OnceLock<Option<Corpus>> = OnceLock::new();
    C.get_or_init(|| {
        let c = load_corpus();
        match &c {
            Some(c) => eprintln!("corpus: {}", c.describe()),
            None => eprintln!("SKIPPED: no corpus pages and no corpus/cases found"),
        }
        c
    })
    .as_ref()
}

fn subset_bytes(pages: &[&Page]) -> u64 {
    pages.iter().map(|p| p.html.len() as u64).sum()
}

fn parse(c: &mut Criterion) {
    let Some(corpus) = corpus() else { return };
    let pages = corpus.spread(SUBSET);
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(subset_bytes(&pages)));
    g.bench_function("ours", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(parse_document_str(black_box(&p.html)));
            }
        })
    });
    g.bench_function("html5ever_rcdom", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(parse_rcdom(black_box(&p.html)));
            }
        })
    });
    g.finish();
}

fn parse_fingerprint_group(c: &mut Criterion) {
    let Some(corpus) = corpus() else { return };
    let pages = corpus.spread(SUBSET);
    let rules = Rules::default();
    let mut g = c.benchmark_group("parse_fingerprint");
    g.throughput(Throughput::Bytes(subset_bytes(&pages)));
    g.bench_function("ours_parse_prepare", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(parse_fingerprint(black_box(&p.html), &rules));
            }
        })
    });
    g.bench_function("html5ever_rcdom_parse", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(parse_rcdom(black_box(&p.html)));
            }
        })
    });
    g.finish();
}

fn fingerprint(c: &mut Criterion) {
    let Some(corpus) = corpus() else { return };
    let pages = corpus.spread(SUBSET);
    let mut g = c.benchmark_group("fingerprint");
    g.throughput(Throughput::Bytes(subset_bytes(&pages)));
    for (label, rules) in [
        ("prepare_default_rules", Rules::default()),
        ("prepare_transparent", Rules::transparent()),
    ] {
        // `prepare` recomputes every view and fingerprint, so preparing the same trees again
        // is the same work each iteration.
        let mut trees: Vec<Tree> = pages.iter().map(|p| parse_document_str(&p.html)).collect();
        g.bench_function(label, |b| {
            b.iter(|| {
                for t in trees.iter_mut() {
                    prepare(t, &rules);
                }
                black_box(trees.len())
            })
        });
    }
    g.finish();
}

/// Times `diff(old, new)` again and again on the same `new` after checking that a repeat
/// gives the same mutations (ids were assigned by the first run; identity-tracked edits
/// already carry them, so every run does the same work).
fn bench_repeat_diff(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    old: &Tree,
    mut new: Tree,
    rules: &Rules,
) {
    let pristine = new.clone();
    let mut first = Vec::new();
    diff(old, &mut new, rules, &mut first);
    let mut second = Vec::new();
    diff(old, &mut new, rules, &mut second);
    if first == second {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut muts = Vec::new();
                diff(old, &mut new, rules, &mut muts);
                muts
            })
        });
    } else {
        eprintln!("{name}: a repeated diff differs; timing each diff on a fresh clone");
        g.bench_function(name, |b| {
            b.iter_batched(
                || pristine.clone(),
                |mut n| {
                    let mut muts = Vec::new();
                    diff(old, &mut n, rules, &mut muts);
                    (n, muts)
                },
                BatchSize::PerIteration,
            )
        });
    }
}

fn diff_group(c: &mut Criterion) {
    let Some(corpus) = corpus() else { return };
    let rules = Rules::default();
    let page = corpus.largest();
    let cap = capture(&page.html, &rules);
    let mut g = c.benchmark_group("diff");
    g.throughput(Throughput::Bytes(page.html.len() as u64));
    for k in [1usize, 25, 100] {
        let (new, log) = edited(&cap.tree, &rules, 7, k);
        eprintln!(
            "diff/edits_{k}: {} edits, {} primitive, page {}",
            log.edits.len(),
            log.primitive_edits,
            page.short()
        );
        bench_repeat_diff(
            &mut g,
            &format!("largest_page_{k}_edits"),
            &cap.tree,
            new,
            &rules,
        );
    }
    // Two unrelated pages: no ids in common, everything matched by fingerprint, id and name.
    let (a, b) = corpus.unrelated_pair();
    let ca = capture(&a.html, &rules);
    let nb = parse_fingerprint(&b.html, &rules);
    g.throughput(Throughput::Bytes(b.html.len() as u64));
    g.bench_function("unrelated_pages", |bch| {
        bch.iter_batched(
            || nb.clone(),
            |mut n| {
                let mut muts = Vec::new();
                diff(&ca.tree, &mut n, &rules, &mut muts);
                (n, muts)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn incremental_group(c: &mut Criterion) {
    let Some(corpus) = corpus() else { return };
    let rules = Rules::default();
    let page = corpus.largest();
    let mut g = c.benchmark_group("incremental");
    g.throughput(Throughput::Bytes(page.html.len() as u64));
    for (label, min) in [("one_element", 1usize), ("component_100_nodes", 100)] {
        let mut inc = incremental(&page.html, &rules, min);
        assert_eq!(inc.rediff(&rules), 1, "one text edit is one mutation");
        eprintln!(
            "incremental/{label}: dirty <{}> with {} of {} nodes",
            inc.root_name, inc.subtree_nodes, inc.page_nodes
        );
        g.bench_function(label, |b| b.iter(|| inc.rediff(&rules)));
    }
    g.finish();
}

fn encode_group(c: &mut Criterion) {
    let Some(corpus) = corpus() else { return };
    let rules = Rules::default();
    let page = corpus.largest();
    let cap = capture(&page.html, &rules);
    let (mut new, _) = edited(&cap.tree, &rules, 7, 25);
    let (muts, frame) = delta(&cap.tree, &mut new, &rules);
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes(cap.keyframe.len() as u64));
    let kh = cap.header;
    g.bench_function("keyframe_largest_page", |b| {
        b.iter(|| encode_keyframe(&kh, black_box(&cap.records)))
    });
    g.throughput(Throughput::Bytes(frame.len() as u64));
    let dh = FrameView::access(&frame).expect("delta validates").header();
    g.bench_function("delta_25_edits", |b| {
        b.iter(|| encode_delta(&dh, black_box(&muts)))
    });
    g.finish();
}

fn access_group(c: &mut Criterion) {
    let Some(corpus) = corpus() else { return };
    let rules = Rules::default();
    let page = corpus.largest();
    let cap = capture(&page.html, &rules);
    let (mut new, _) = edited(&cap.tree, &rules, 7, 25);
    let (_, frame) = delta(&cap.tree, &mut new, &rules);
    let mut g = c.benchmark_group("access");
    g.throughput(Throughput::Bytes(cap.keyframe.len() as u64));
    g.bench_function("keyframe_largest_page", |b| {
        b.iter(|| {
            FrameView::access(black_box(&cap.keyframe))
                .map(|v| v.header().seq)
                .expect("valid")
        })
    });
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("delta_25_edits", |b| {
        b.iter(|| {
            FrameView::access(black_box(&frame))
                .map(|v| v.header().seq)
                .expect("valid")
        })
    });
    g.finish();
}

fn apply_group(c: &mut Criterion) {
    let Some(corpus) = corpus() else { return };
    let rules = Rules::default();
    let page = corpus.largest();
    let cap = capture(&page.html, &rules);
    let mut g = c.benchmark_group("apply");
    g.throughput(Throughput::Bytes(cap.keyframe.len() as u64));
    g.bench_function("keyframe_into_fresh_mirror", |b| {
        b.iter_batched(
            || Mirror::new(mirror_options(&rules)),
            |mut m| {
                m.apply_frame(&cap.keyframe, &mut ())
                    .expect("keyframe applies");
                m
            },
            BatchSize::PerIteration,
        )
    });
    // A 25-edit delta applied over and over: the mirror alternates between the keyframe's
    // tree and the edited one (forward and backward deltas, re-encoded with the next sequence
    // number outside the timed part); only the forward applications are timed.
    let (new, _) = edited(&cap.tree, &rules, 7, 25);
    let pp = PingPong::new(&cap.tree, &new, &rules);
    let mut mirror = mirror_of(&cap.keyframe, &rules);
    let mut seq = 1u64;
    let step = |m: &mut Mirror, seq: &mut u64| -> Duration {
        *seq += 1;
        let f = pp.frame(*seq);
        let t = Instant::now();
        m.apply_frame(&f, &mut ()).expect("forward delta applies");
        let d = t.elapsed();
        *seq += 1;
        m.apply_frame(&pp.frame(*seq), &mut ())
            .expect("backward delta applies");
        d
    };
    // Check the cycle before timing it.
    for _ in 0..3 {
        step(&mut mirror, &mut seq);
    }
    let fwd = pp.frame(2);
    g.throughput(Throughput::Bytes(fwd.len() as u64));
    g.bench_function("delta_25_edits", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| step(&mut mirror, &mut seq)).sum())
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse, parse_fingerprint_group, fingerprint, diff_group, incremental_group,
        encode_group, access_group, apply_group
}
criterion_main!(benches);
