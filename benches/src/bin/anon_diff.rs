//! Anonymous diff (parsed vs parsed) against the identity-tracked diff, side by side, for
//! `BENCHMARKS.md`.
//!
//! ```sh
//! cargo run --release -p cobrowse-benches --bin anon_diff            # every corpus page
//! cargo run --release -p cobrowse-benches --bin anon_diff -- --step 4 # every 4th page
//! ```
//!
//! For every page and edit count (1, 5, 25, 100) the same seeded generator makes two pairs
//! from the page's parse fixed point: an identity pair (the edits applied to a copy that keeps
//! wire ids, what a live capture sees) and an anonymous pair (the edits applied, serialized
//! and parsed again: no identity, what `cobrowse diff FROM TO` and a reload see; see
//! `tests/support/edits.rs`). Both diffs run back to back on each page, the order alternating
//! page by page; only the `diff` call is timed (trees are prepared before). Reported: the
//! mutations/budget ratio of the anonymous diff (median, max), and per edit count the median
//! time per page of each path and the median of the per-page time ratios.

use std::hint::black_box;
use std::time::Instant;

use cobrowse_engine::*;
use cobrowse_tests::edits::{EditGenerator, parse_fixed_point};

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let step = args
        .iter()
        .position(|a| a == "--step")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(1usize);
    let pages = cobrowse_tests::corpus_pages();
    if pages.is_empty() {
        eprintln!("corpus not fetched: run corpus/fetch.sh");
        std::process::exit(1);
    }
    let rules = Rules::transparent();
    println!(
        "anon_diff: {} pages (every {step}th of {}), transparent rules",
        pages.len().div_ceil(step),
        pages.len()
    );
    println!(
        "{:>6} {:>9} {:>11} {:>9} {:>12} {:>12} {:>10} {:>9}",
        "edits",
        "scenarios",
        "mut/budget",
        "max",
        "anon µs/page",
        "ident µs/page",
        "anon/ident",
        "over"
    );
    for count in [1usize, 5, 25, 100] {
        let (mut ratios, mut anon_us, mut ident_us, mut per_page) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut over = 0usize;
        for (i, p) in pages.iter().enumerate().step_by(step) {
            let html = std::fs::read_to_string(p).expect("page");
            let old = parse_fixed_point(&html);
            let seed = 0xa000 + ((i as u64) << 8 | count as u64);
            // Anonymous pair.
            let (anon_new, log) = EditGenerator::new(seed).edit_anonymous(&old, count);
            let mut base = old.clone();
            prepare(&mut base, &rules);
            assign_ids(&mut base, &rules);
            base.ensure_wire_index();
            let mut anon_new = anon_new;
            prepare(&mut anon_new, &rules);
            // Identity pair: the same generator on a copy that keeps wire ids.
            let mut ident_new = base.clone();
            EditGenerator::new(seed).edit(&mut ident_new, count);
            refresh(&mut ident_new, &rules);
            let run = |new: &Tree| {
                let mut n = new.clone();
                let mut muts = Vec::new();
                let t = Instant::now();
                diff(&base, &mut n, &rules, &mut muts);
                let us = t.elapsed().as_secs_f64() * 1e6;
                (black_box(muts).len(), us)
            };
            let ((am, at), (_, it)) = if i % 2 == 0 {
                let a = run(&anon_new);
                (a, run(&ident_new))
            } else {
                let b = run(&ident_new);
                (run(&anon_new), b)
            };
            if log.primitive_edits > 0 {
                ratios.push(am as f64 / log.primitive_edits as f64);
                over += usize::from(am > log.primitive_edits);
            }
            anon_us.push(at);
            ident_us.push(it);
            per_page.push(at / it.max(0.001));
        }
        let n = ratios.len();
        let max = ratios.iter().copied().fold(0.0, f64::max);
        println!(
            "{count:>6} {n:>9} {:>11.3} {max:>9.3} {:>12.0} {:>12.0} {:>10.2} {over:>9}",
            median(&mut ratios),
            median(&mut anon_us),
            median(&mut ident_us),
            median(&mut per_page),
        );
    }
}
