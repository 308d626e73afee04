//! Side-by-side ratios for `BENCHMARKS.md`.
//!
//! ```sh
//! cargo run --release -p cobrowse-benches --bin ratios            # full run, a few minutes
//! cargo run --release -p cobrowse-benches --bin ratios -- --quick # fewer rounds and pages
//! ```
//!
//! Every speed figure is a ratio of two things measured in this one process, interleaved
//! round by round (the order rotates each round), and reported as the median of the per-round
//! ratios with the min..max range: on a shared, noisy machine absolute times drift, ratios
//! measured side by side much less. Absolute medians are printed only for context.
//! Size figures (keyframe and delta bytes, mutations per edit) are exact counts.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cobrowse_benches::*;
use cobrowse_engine::*;

struct Opts {
    quick: bool,
    parse_rounds: usize,
    page_rounds: usize,
    /// Soft wall-clock budget per timed section.
    section_budget: Duration,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let num = |flag: &str| -> Option<usize> {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1)?.parse().ok()
    };
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: ratios [--quick] [--parse-rounds N] [--page-rounds N] [--budget SECS]");
        std::process::exit(0);
    }
    Opts {
        quick,
        parse_rounds: num("--parse-rounds").unwrap_or(if quick { 3 } else { 15 }),
        page_rounds: num("--page-rounds").unwrap_or(if quick { 7 } else { 61 }),
        section_budget: Duration::from_secs(
            num("--budget").unwrap_or(if quick { 20 } else { 75 }) as u64
        ),
    }
}

/// Median, min and max of per-round values.
#[derive(Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
    n: usize,
}

fn spread(v: &[f64]) -> Spread {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Spread {
        median,
        min: s[0],
        max: s[n - 1],
        n,
    }
}

impl Spread {
    fn x(&self) -> String {
        format!(
            "**{:.2}x** (range {:.2}–{:.2}, {} rounds)",
            self.median, self.min, self.max, self.n
        )
    }
    fn pct(&self) -> String {
        format!(
            "**{:.3} %** (range {:.3}–{:.3}, {} rounds)",
            self.median * 100.0,
            self.min * 100.0,
            self.max * 100.0,
            self.n
        )
    }
}

/// Times `f`, returning its output so that dropping it is not timed.
#[inline(never)]
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

fn ms(d: f64) -> String {
    format!("{:.3} ms", d * 1e3)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn cmd(c: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(c).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

struct Row {
    id: &'static str,
    what: String,
    measured: String,
    target: &'static str,
    status: String,
}

// ----- (a) parse throughput over all pages ---------------------------------------------------

struct ParseResult {
    pf_vs_rcdom: Spread,
    p_vs_rcdom: Spread,
    pf_vs_rcdom_with_drop: Spread,
    p_vs_rcdom_with_drop: Spread,
    floor_vs_rcdom: Spread,
    ceiling_vs_rcdom: Spread,
    prepare_share: Spread,
    mbps: [f64; 4],
}

/// Contenders of section (a).
const PF: usize = 0;
const P: usize = 1;
const RCDOM: usize = 2;
const FLOOR: usize = 3;
const N: usize = 4;

fn parse_section(corpus: &Corpus, o: &Opts) -> ParseResult {
    let rules = Rules::default();
    let total = corpus.total_bytes() as f64;
    // Each returns (parse time, parse + drop time).
    let one = |c: usize, html: &str| -> (f64, f64) {
        let (d, dd) = match c {
            PF => {
                let (d, tree) = timed(|| parse_fingerprint(html, &rules));
                (d, timed(|| drop(black_box(tree))).0)
            }
            P => {
                let (d, tree) = timed(|| parse_document_str(html));
                (d, timed(|| drop(black_box(tree))).0)
            }
            RCDOM => {
                let (d, dom) = timed(|| parse_rcdom(html));
                (d, timed(|| drop(black_box(dom))).0)
            }
            _ => (timed(|| floor::parse(html)).0, Duration::ZERO),
        };
        (d.as_secs_f64(), (d + dd).as_secs_f64())
    };
    // One round is one pass over all pages; each page is parsed by every contender back to
    // back, in an order that rotates with the page and the round, so that they share the
    // machine's noise at a granularity of milliseconds.
    let run = |r: usize| -> [(f64, f64); N] {
        let mut t = [(0.0, 0.0); N];
        for (pi, p) in corpus.pages.iter().enumerate() {
            let html = black_box(p.html.as_str());
            for i in 0..N {
                let c = (i + pi + r) % N;
                let (d, dd) = one(c, html);
                t[c].0 += d;
                t[c].1 += dd;
            }
        }
        t
    };
    run(0); // warm-up
    let start = Instant::now();
    let (mut a, mut b, mut ad, mut bd, mut fl, mut ceil, mut share) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut times: [Vec<f64>; N] = Default::default();
    for r in 0..o.parse_rounds {
        let t = run(r);
        a.push(t[RCDOM].0 / t[PF].0);
        b.push(t[RCDOM].0 / t[P].0);
        ad.push(t[RCDOM].1 / t[PF].1);
        bd.push(t[RCDOM].1 / t[P].1);
        fl.push(t[RCDOM].0 / t[FLOOR].0);
        // A sink that cost nothing, plus today's `prepare`.
        ceil.push(t[RCDOM].0 / (t[FLOOR].0 + (t[PF].0 - t[P].0)));
        share.push((t[PF].0 - t[P].0) / t[PF].0);
        for c in 0..N {
            times[c].push(t[c].0);
        }
        eprintln!(
            "  parse round {r}: ours p+f {:.0} MB/s, ours parse {:.0} MB/s, rcdom {:.0} MB/s, html5ever floor {:.0} MB/s",
            total / t[PF].0 / 1e6,
            total / t[P].0 / 1e6,
            total / t[RCDOM].0 / 1e6,
            total / t[FLOOR].0 / 1e6
        );
        if r + 1 >= 3 && start.elapsed() > o.section_budget {
            eprintln!("  (section budget reached after {} rounds)", r + 1);
            break;
        }
    }
    let mbps = [PF, P, RCDOM, FLOOR].map(|c| total / spread(&times[c]).median / 1e6);
    ParseResult {
        pf_vs_rcdom: spread(&a),
        p_vs_rcdom: spread(&b),
        pf_vs_rcdom_with_drop: spread(&ad),
        p_vs_rcdom_with_drop: spread(&bd),
        floor_vs_rcdom: spread(&fl),
        ceiling_vs_rcdom: spread(&ceil),
        prepare_share: spread(&share),
        mbps,
    }
}

// ----- (b, c) largest page: 1-edit diff and incremental re-diff vs parse ----------------------

struct PageResult {
    diff_vs_parse: Spread,
    worst_seed_diff_vs_parse: Spread,
    pipeline_vs_parse: Spread,
    diff_vs_rcdom_parse: Spread,
    inc_vs_parse: Spread,
    inc100_vs_parse: Spread,
    parse_ms: f64,
    diff_ms: f64,
    inc_us: f64,
    inc100_us: f64,
    seeds: Vec<String>,
    inc_desc: String,
    inc100_desc: String,
    kf_apply_vs_parse: Spread,
    delta_apply_vs_kf_apply: Spread,
    delta_muts: usize,
}

const SEEDS: u64 = 8;

fn page_section(page: &Page, o: &Opts) -> PageResult {
    let rules = Rules::default();
    let html = page.html.as_str();
    let cap = capture(html, &rules);
    let mut unrefreshed = Vec::new();
    let mut refreshed = Vec::new();
    let mut seeds = Vec::new();
    for seed in 0..SEEDS {
        let (u, log) = edited_unrefreshed(&cap.tree, seed, 1);
        let mut r = u.clone();
        refresh(&mut r, &rules);
        let mut probe = r.clone();
        let (muts, _) = delta(&cap.tree, &mut probe, &rules);
        seeds.push(format!(
            "seed {seed}: {:?} ({} mutation{})",
            log.edits[0].0,
            muts.len(),
            if muts.len() == 1 { "" } else { "s" }
        ));
        unrefreshed.push(u);
        refreshed.push(r);
    }
    let mut inc = incremental(html, &rules, 1);
    let mut inc100 = incremental(html, &rules, 100);
    let inc_desc = format!(
        "<{}> holding {} of the page's {} nodes",
        inc.root_name, inc.subtree_nodes, inc.page_nodes
    );
    let inc100_desc = format!(
        "<{}> holding {} of the page's {} nodes",
        inc100.root_name, inc100.subtree_nodes, inc100.page_nodes
    );
    const INC_REPS: u32 = 50;
    // Mirror side: a keyframe into a fresh mirror, and a 25-edit delta (forward half of a
    // ping-pong pair, re-encoded with the next sequence number outside the timed part).
    let (new25, _) = edited(&cap.tree, &rules, 7, 25);
    let pp = PingPong::new(&cap.tree, &new25, &rules);
    let mut mirror = mirror_of(&cap.keyframe, &rules);
    let mut seq = 1u64;
    let kf_apply = || {
        let mut m = Mirror::new(mirror_options(&rules));
        let d = timed(|| {
            m.apply_frame(&cap.keyframe, &mut ())
                .expect("keyframe applies")
        })
        .0;
        drop(m);
        d.as_secs_f64()
    };
    let mut delta_apply = || {
        seq += 1;
        let f = pp.frame(seq);
        let d = timed(|| mirror.apply_frame(&f, &mut ()).expect("delta applies")).0;
        seq += 1;
        mirror
            .apply_frame(&pp.frame(seq), &mut ())
            .expect("reverse delta applies");
        d.as_secs_f64()
    };

    let parse = || {
        timed(|| parse_document_str(black_box(html)))
            .0
            .as_secs_f64()
    };
    let rcdom = || timed(|| parse_rcdom(black_box(html))).0.as_secs_f64();
    let diffs = |pipeline: bool| -> (f64, f64) {
        let (mut sum, mut worst) = (0.0f64, 0.0f64);
        for s in 0..SEEDS as usize {
            let d = if pipeline {
                let mut n = unrefreshed[s].clone();
                timed(|| {
                    refresh(&mut n, &rules);
                    let mut muts = Vec::new();
                    diff(&cap.tree, &mut n, &rules, &mut muts);
                    encode_delta(
                        &FrameHeader::delta(2, n.fingerprint(), rules.sanitizes()),
                        &muts,
                    )
                })
                .0
            } else {
                let mut n = refreshed[s].clone();
                timed(|| {
                    let mut muts = Vec::new();
                    diff(&cap.tree, &mut n, &rules, &mut muts);
                    muts
                })
                .0
            };
            let d = d.as_secs_f64();
            sum += d;
            worst = worst.max(d);
        }
        (sum / SEEDS as f64, worst)
    };
    let mut incs = |which: usize| -> f64 {
        let i = if which == 0 { &mut inc } else { &mut inc100 };
        let t = Instant::now();
        for _ in 0..INC_REPS {
            black_box(i.rediff(&rules));
        }
        t.elapsed().as_secs_f64() / INC_REPS as f64
    };
    // Warm-up.
    parse();
    rcdom();
    diffs(false);
    diffs(true);
    incs(0);
    incs(1);
    kf_apply();
    delta_apply();
    let start = Instant::now();
    let mut v: [Vec<f64>; 8] = Default::default();
    let (mut pv, mut dv, mut iv, mut i1v) = (vec![], vec![], vec![], vec![]);
    for r in 0..o.page_rounds {
        // Alternate: parse before or after the contenders.
        let (mut p, mut pr, mut d, mut worst, mut pl, mut i, mut i1) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let (mut ka, mut da) = (0.0, 0.0);
        for step in 0..8 {
            match if r % 2 == 0 { step } else { 7 - step } {
                0 => p = parse(),
                1 => pr = rcdom(),
                2 => (d, worst) = diffs(false),
                3 => pl = diffs(true).0,
                4 => i = incs(0),
                5 => i1 = incs(1),
                6 => ka = kf_apply(),
                _ => da = delta_apply(),
            }
        }
        v[0].push(d / p);
        v[1].push(worst / p);
        v[2].push(pl / p);
        v[3].push(d / pr);
        v[4].push(i / p);
        v[5].push(i1 / p);
        v[6].push(ka / p);
        v[7].push(da / ka);
        pv.push(p);
        dv.push(d);
        iv.push(i);
        i1v.push(i1);
        if r + 1 >= 5 && start.elapsed() > o.section_budget {
            eprintln!("  (section budget reached after {} rounds)", r + 1);
            break;
        }
    }
    PageResult {
        diff_vs_parse: spread(&v[0]),
        worst_seed_diff_vs_parse: spread(&v[1]),
        pipeline_vs_parse: spread(&v[2]),
        diff_vs_rcdom_parse: spread(&v[3]),
        inc_vs_parse: spread(&v[4]),
        inc100_vs_parse: spread(&v[5]),
        parse_ms: spread(&pv).median * 1e3,
        diff_ms: spread(&dv).median * 1e3,
        inc_us: spread(&iv).median * 1e6,
        inc100_us: spread(&i1v).median * 1e6,
        seeds,
        inc_desc,
        inc100_desc,
        kf_apply_vs_parse: spread(&v[6]),
        delta_apply_vs_kf_apply: spread(&v[7]),
        delta_muts: pp.forward.len(),
    }
}

// ----- (d, e, f) sizes over all pages ---------------------------------------------------------

#[derive(Default, Clone)]
struct KStats {
    scenarios: usize,
    edits: usize,
    primitive: usize,
    mutations: usize,
    bytes: usize,
    empty: usize,
    per_scenario_bpm: Vec<f64>,
    worst_mpe: f64,
    worst_mpe_at: String,
    over_one: usize,
}

struct SizeResult {
    html: usize,
    kf: usize,
    worst_kf: f64,
    worst_kf_page: String,
    median_kf: f64,
    by_k: Vec<(usize, KStats)>,
    header_bytes: usize,
}

const KS: [usize; 3] = [1, 7, 25];

fn size_section(corpus: &Corpus, rules: &Rules, pages_step: usize) -> SizeResult {
    let mut html = 0;
    let mut kf = 0;
    let mut per_page = Vec::new();
    let mut by_k: Vec<(usize, KStats)> = KS.iter().map(|&k| (k, KStats::default())).collect();
    let mut header_bytes = 0;
    for (pi, p) in corpus.pages.iter().enumerate().step_by(pages_step) {
        let cap = capture(&p.html, rules);
        html += p.html.len();
        kf += cap.keyframe.len();
        per_page.push((
            cap.keyframe.len() as f64 / p.html.len() as f64,
            p.name.clone(),
        ));
        header_bytes = encode_delta(
            &FrameHeader::delta(2, cap.tree.fingerprint(), rules.sanitizes()),
            &[],
        )
        .len();
        for (k, st) in by_k.iter_mut() {
            let seed = (pi as u64) * 1000 + *k as u64;
            let (mut new, log) = edited(&cap.tree, rules, seed, *k);
            let (muts, frame) = delta(&cap.tree, &mut new, rules);
            FrameView::access(&frame).expect("delta frame validates");
            st.scenarios += 1;
            st.edits += log.edits.len();
            st.primitive += log.primitive_edits;
            st.mutations += muts.len();
            st.bytes += frame.len();
            if muts.is_empty() {
                st.empty += 1;
            } else {
                st.per_scenario_bpm
                    .push(frame.len() as f64 / muts.len() as f64);
            }
            if log.primitive_edits > 0 {
                let mpe = muts.len() as f64 / log.primitive_edits as f64;
                if mpe > 1.0 {
                    st.over_one += 1;
                }
                if mpe > st.worst_mpe {
                    st.worst_mpe = mpe;
                    st.worst_mpe_at = format!(
                        "{} seed {seed}: {} mutations for {} primitive edits",
                        &p.name[..p.name.len().min(12)],
                        muts.len(),
                        log.primitive_edits
                    );
                }
            }
        }
    }
    per_page.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (worst_kf, worst_kf_page) = per_page.last().cloned().unwrap_or((0.0, String::new()));
    let median_kf = per_page[per_page.len() / 2].0;
    SizeResult {
        html,
        kf,
        worst_kf,
        worst_kf_page,
        median_kf,
        by_k,
        header_bytes,
    }
}

fn total_k(s: &SizeResult) -> KStats {
    let mut t = KStats::default();
    for (_, k) in &s.by_k {
        t.scenarios += k.scenarios;
        t.edits += k.edits;
        t.primitive += k.primitive;
        t.mutations += k.mutations;
        t.bytes += k.bytes;
        t.empty += k.empty;
        t.over_one += k.over_one;
        t.per_scenario_bpm.extend_from_slice(&k.per_scenario_bpm);
        if k.worst_mpe > t.worst_mpe {
            t.worst_mpe = k.worst_mpe;
            t.worst_mpe_at = k.worst_mpe_at.clone();
        }
    }
    t
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn main() {
    let o = opts();
    let t0 = Instant::now();
    let Some(corpus) = load_corpus() else {
        println!("SKIPPED: no corpus pages and no corpus/cases found");
        return;
    };
    let load_before = load_average();
    println!("# cobrowse-engine ratios\n");
    println!("- machine: {}", machine());
    if let Some(v) = cmd("rustc", &["-V"]) {
        println!(
            "- compiler: {v}; profile: {}",
            if cfg!(debug_assertions) {
                "DEBUG (numbers meaningless)"
            } else {
                "release"
            }
        );
    }
    if let Some(h) = cmd(
        "git",
        &[
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    ) {
        let dirty = cmd(
            "git",
            &["-C", env!("CARGO_MANIFEST_DIR"), "status", "--porcelain"],
        )
        .is_some_and(|s| !s.is_empty());
        println!(
            "- commit: {h}{}",
            if dirty { " + uncommitted changes" } else { "" }
        );
    }
    println!("- corpus: {}", corpus.describe());
    println!(
        "- command: `cargo run --release -p cobrowse-benches --bin ratios{}`",
        if o.quick { " -- --quick" } else { "" }
    );
    println!(
        "- peer parser: html5ever 0.40.1 tree builder -> markup5ever_rcdom 0.40.1 `RcDom`, same input (one StrTendril per page); ours uses the same html5ever tokenizer and tree builder with an arena sink"
    );
    println!();

    eprintln!("(a) parse throughput over {} pages ...", corpus.pages.len());
    let pr = parse_section(&corpus, &o);
    let page = corpus.largest();
    eprintln!(
        "(b, c) largest page {} ({} bytes) ...",
        page.short(),
        page.html.len()
    );
    let pg = page_section(page, &o);
    let step = if o.quick { 8 } else { 1 };
    eprintln!(
        "(d, e, f) sizes over {} pages x {:?} edits, default rules ...",
        corpus.pages.len().div_ceil(step),
        KS
    );
    let sd = size_section(&corpus, &Rules::default(), step);
    eprintln!("(d, e, f) again with transparent rules ...");
    let st = size_section(&corpus, &Rules::transparent(), step);

    let td = total_k(&sd);
    let tt = total_k(&st);
    let bpm = |k: &KStats| k.bytes as f64 / k.mutations.max(1) as f64;
    let mpe = |k: &KStats| k.mutations as f64 / k.primitive.max(1) as f64;
    let kf_total = sd.kf as f64 / sd.html as f64;

    let rows = vec![
        Row {
            id: "a",
            what: format!(
                "parse + fingerprint throughput, ours (`parse_document_str` + `prepare`, default rules) / html5ever->RcDom parse, all {} pages",
                corpus.pages.len()
            ),
            measured: pr.pf_vs_rcdom.x(),
            target: ">= 1.2x",
            status: met(pr.pf_vs_rcdom.median >= 1.2).into(),
        },
        Row {
            id: "a'",
            what: "parse-only throughput, ours (`parse_document_str`) / html5ever->RcDom".into(),
            measured: pr.p_vs_rcdom.x(),
            target: "(context)",
            status: "-".into(),
        },
        Row {
            id: "b",
            what: format!(
                "1-edit `diff` on the largest page ({} bytes), mean of {SEEDS} seeded edits, / our parse of that page",
                page.html.len()
            ),
            measured: pg.diff_vs_parse.pct(),
            target: "<= 5 %",
            status: met(pg.diff_vs_parse.median <= 0.05).into(),
        },
        Row {
            id: "c",
            what: format!(
                "incremental `diff_subtrees` of one dirty subtree ({}) / our parse of that page",
                pg.inc_desc
            ),
            measured: pg.inc_vs_parse.pct(),
            target: "<= 1 %",
            status: met(pg.inc_vs_parse.median <= 0.01).into(),
        },
        Row {
            id: "d",
            what: format!(
                "keyframe bytes / HTML bytes, default rules, all pages: total (worst page {})",
                &sd.worst_kf_page[..sd.worst_kf_page.len().min(8)]
            ),
            measured: format!("**{:.3}x** ({:.3}x)", kf_total, sd.worst_kf),
            target: "<= 1.2x",
            status: if kf_total <= 1.2 && sd.worst_kf <= 1.2 {
                "met".into()
            } else if kf_total <= 1.2 {
                "met in total; worst page **missed**".into()
            } else {
                "**missed**".into()
            },
        },
        Row {
            id: "e",
            what: format!(
                "delta frame bytes / mutation, {} scenarios ({:?} edits on every page), default rules",
                td.scenarios, KS
            ),
            measured: format!("**{:.1}**", bpm(&td)),
            target: "<= 100",
            status: met(bpm(&td) <= 100.0).into(),
        },
        Row {
            id: "f",
            what:
                "mutations / primitive DOM edit, same scenarios, default rules (transparent rules)"
                    .into(),
            measured: format!("**{:.3}** ({:.3})", mpe(&td), mpe(&tt)),
            target: "<= 1",
            status: met(mpe(&td) <= 1.0 && mpe(&tt) <= 1.0).into(),
        },
    ];
    println!("## Summary\n");
    println!("| # | figure | measured (median of per-round ratios) | target | status |");
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.id, r.what, r.measured, r.target, r.status
        );
    }

    println!("\n## (a) Parsing, all pages, interleaved rounds\n");
    println!("| contender | median throughput (context only) | ratio to html5ever->RcDom |");
    println!("|---|---|---|");
    println!(
        "| ours parse + prepare (default rules) | {:.1} MB/s | {} |",
        pr.mbps[0],
        pr.pf_vs_rcdom.x()
    );
    println!(
        "| ours parse only | {:.1} MB/s | {} |",
        pr.mbps[1],
        pr.p_vs_rcdom.x()
    );
    println!("| html5ever -> RcDom | {:.1} MB/s | 1 |", pr.mbps[2]);
    println!(
        "| html5ever floor: names-only sink (no tree, no text; not a usable parser) | {:.1} MB/s | {} |",
        pr.mbps[3],
        pr.floor_vs_rcdom.x()
    );
    println!();
    println!(
        "- Ceiling on html5ever: the floor plus today's `prepare` time (a sink that cost nothing) / RcDom: {}.",
        pr.ceiling_vs_rcdom.x()
    );
    println!(
        "- Including the time to drop the tree: p+f / RcDom {}, parse / RcDom {}.",
        pr.pf_vs_rcdom_with_drop.x(),
        pr.p_vs_rcdom_with_drop.x()
    );
    println!(
        "- `prepare` share of our parse + prepare time: {:.1} % (median, range {:.1}–{:.1}).",
        pr.prepare_share.median * 100.0,
        pr.prepare_share.min * 100.0,
        pr.prepare_share.max * 100.0
    );

    println!(
        "\n## (b, c) Largest page `{}`, {} bytes\n",
        page.short(),
        page.html.len()
    );
    println!("| measurement | / our parse of the page | context: median time |");
    println!("|---|---|---|");
    println!(
        "| our parse (`parse_document_str`) | 100 % | {} |",
        ms(pg.parse_ms / 1e3)
    );
    println!(
        "| 1-edit `diff`, mean over {SEEDS} seeds | {} | {} |",
        pg.diff_vs_parse.pct(),
        ms(pg.diff_ms / 1e3)
    );
    println!(
        "| 1-edit `diff`, slowest seed | {} | |",
        pg.worst_seed_diff_vs_parse.pct()
    );
    println!(
        "| 1-edit `refresh` + `diff` + `encode_delta`, mean | {} | |",
        pg.pipeline_vs_parse.pct()
    );
    println!(
        "| incremental, dirty root {} | {} | {:.1} µs |",
        pg.inc_desc,
        pg.inc_vs_parse.pct(),
        pg.inc_us
    );
    println!(
        "| incremental, dirty root {} | {} | {:.1} µs |",
        pg.inc100_desc,
        pg.inc100_vs_parse.pct(),
        pg.inc100_us
    );
    println!(
        "| mirror: keyframe applied to a fresh `Mirror` | {} | |",
        pg.kf_apply_vs_parse.pct()
    );
    println!();
    println!(
        "- mirror: a 25-edit delta ({} mutations) applied / the keyframe applied: {}.",
        pg.delta_muts,
        pg.delta_apply_vs_kf_apply.x()
    );
    println!(
        "- 1-edit `diff` / html5ever->RcDom parse of the same page: {}.",
        pg.diff_vs_rcdom_parse.pct()
    );
    println!("- Edits: {}.", pg.seeds.join("; "));

    for (label, s) in [
        ("default rules (sanitizing on)", &sd),
        ("transparent rules (no masking, no sanitizing)", &st),
    ] {
        let t = total_k(s);
        println!("\n## (d, e, f) Sizes, {label}\n");
        println!(
            "- keyframe / HTML: total {:.3}x ({} / {} bytes), median page {:.3}x, worst page {:.3}x (`{}`).",
            s.kf as f64 / s.html as f64,
            s.kf,
            s.html,
            s.median_kf,
            s.worst_kf,
            s.worst_kf_page
        );
        println!(
            "- fixed delta frame overhead (empty delta): {} bytes.",
            s.header_bytes
        );
        println!();
        println!(
            "| edits per scenario | scenarios | edits made | primitive edits | mutations | mutations / primitive | delta bytes | bytes / mutation | bytes / mutation without the fixed header | mean of per-scenario bytes / mutation | empty deltas | scenarios with mutations > primitive |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        let mut all: Vec<(String, &KStats)> =
            s.by_k.iter().map(|(k, st)| (k.to_string(), st)).collect();
        all.push(("all".into(), &t));
        for (k, st) in all {
            println!(
                "| {k} | {} | {} | {} | {} | {:.3} | {} | {:.1} | {:.1} | {:.1} | {} | {} |",
                st.scenarios,
                st.edits,
                st.primitive,
                st.mutations,
                mpe(st),
                st.bytes,
                bpm(st),
                (st.bytes - st.scenarios * s.header_bytes) as f64 / st.mutations.max(1) as f64,
                mean(&st.per_scenario_bpm),
                st.empty,
                st.over_one
            );
        }
        if t.worst_mpe > 0.0 {
            println!(
                "\n- highest mutations / primitive edit in one scenario: {:.2} ({}).",
                t.worst_mpe, t.worst_mpe_at
            );
        }
    }
    println!(
        "\n- load average before / after: {load_before} / {}; wall time {:.0} s.",
        load_average(),
        t0.elapsed().as_secs_f64()
    );
}
