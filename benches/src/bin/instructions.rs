//! Instruction-count harness for parsing, to run under `valgrind --tool=callgrind`: counts are
//! deterministic, so they compare contenders on a shared, noisy machine.
//!
//! `cargo build --release -p cobrowse-benches --bin instructions`, then for each of
//! `floor`, `rcdom`, `ours`:
//! `valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.MODE target/release/instructions MODE`
//! (the totals include loading the corpus, the same for every mode).

use cobrowse_benches::{floor, load_corpus, parse_fingerprint, parse_rcdom};
use cobrowse_engine::Rules;

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let pages: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let corpus = load_corpus().expect("no corpus: run corpus/fetch.sh");
    let rules = Rules::default();
    let html: Vec<&str> = corpus
        .pages
        .iter()
        .take(pages)
        .map(|p| p.html.as_str())
        .collect();
    match mode.as_str() {
        "floor" => html.iter().for_each(|h| {
            std::hint::black_box(floor::parse(h));
        }),
        "rcdom" => html
            .iter()
            .for_each(|h| drop(std::hint::black_box(parse_rcdom(h)))),
        "ours" => html
            .iter()
            .for_each(|h| drop(std::hint::black_box(parse_fingerprint(h, &rules)))),
        "load" => {}
        _ => {
            eprintln!("usage: instructions floor|rcdom|ours|load [PAGES]");
            std::process::exit(2);
        }
    }
}
