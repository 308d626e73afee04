//! Round trips and minimality on generated scenarios: every hand-written case, and seeded
//! realistic edits on every corpus page.

use cobrowse_engine::*;
use cobrowse_tests::edits::{EditGenerator, EditKind, parse_fixed_point, reparses_to_itself};
use cobrowse_tests::{assert_same, corpus_pages_required, repo_root, roundtrip};

#[test]
fn every_hand_written_case_round_trips() {
    let dir = repo_root().join("corpus/cases");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("from.html").exists())
        .collect();
    names.sort();
    assert!(names.len() >= 20, "hand-written cases missing");
    for rules in [Rules::transparent(), Rules::default()] {
        for p in &names {
            let from = std::fs::read_to_string(p.join("from.html")).unwrap();
            let to = std::fs::read_to_string(p.join("to.html")).unwrap();
            let rt = roundtrip(parse_document_str(&from), parse_document_str(&to), &rules)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let mut want = parse_document_str(&to);
            if rules.sanitizes() {
                // With rules, the mirror holds the projection: compare fingerprints instead.
                prepare(&mut want, &rules);
                assert_eq!(
                    rt.mirror.fingerprint(),
                    want.fingerprint(),
                    "{}",
                    p.display()
                );
            } else {
                assert_same(&p.display().to_string(), rt.mirror.tree(), &want);
            }
        }
    }
}

/// Identity-tracked edits (what the browser capture produces): the diff finds at most as
/// many mutations as primitive edits were made, and the mirror ends equal to the target.
#[test]
fn generated_edits_on_every_corpus_page_are_minimal_and_round_trip() {
    let pages = corpus_pages_required();
    let rules = Rules::transparent();
    let (mut total_edits, mut total_mutations, mut total_delta_bytes) = (0usize, 0usize, 0usize);
    for (i, p) in pages.iter().enumerate() {
        let html = std::fs::read_to_string(p).unwrap();
        for (round, count) in [1usize, 7, 25].into_iter().enumerate() {
            let seed = (i as u64) << 8 | round as u64;
            let mut old = parse_document_str(&html);
            prepare(&mut old, &rules);
            assign_ids(&mut old, &rules);
            let mut new = old.clone();
            let log = EditGenerator::new(seed).edit(&mut new, count);
            // Incremental fingerprints after edits must equal a full recomputation.
            refresh(&mut new, &rules);
            let incremental = new.fingerprint();
            let mut full = new.clone();
            prepare(&mut full, &rules);
            assert_eq!(
                incremental,
                full.fingerprint(),
                "{}: incremental fingerprint differs (seed {seed})",
                p.display()
            );
            let expected = new.clone();
            let rt = roundtrip(old, new, &rules)
                .unwrap_or_else(|e| panic!("{} seed {seed}: {e}", p.display()));
            assert_same(
                &format!("{} seed {seed}", p.display()),
                rt.mirror.tree(),
                &expected,
            );
            assert!(
                rt.mutations.len() <= log.primitive_edits,
                "{} seed {seed}: {} mutations for {} primitive edits {:?}\n{:#?}",
                p.display(),
                rt.mutations.len(),
                log.primitive_edits,
                log.edits,
                rt.mutations.iter().map(|m| m.kind()).collect::<Vec<_>>()
            );
            total_edits += log.primitive_edits;
            total_mutations += rt.mutations.len();
            total_delta_bytes += rt.delta.len();
        }
    }
    if !pages.is_empty() {
        eprintln!(
            "scenarios: {} pages, {total_edits} primitive edits, {total_mutations} mutations, {:.1} delta bytes/mutation",
            pages.len(),
            total_delta_bytes as f64 / total_mutations.max(1) as f64
        );
    }
}

/// Anonymous trees (both sides re-parsed from HTML, no ids carried over): the diff still
/// turns one into the other exactly.
#[test]
fn reparsed_corpus_pages_round_trip() {
    let pages = corpus_pages_required();
    let rules = Rules::transparent();
    for (i, p) in pages.iter().enumerate() {
        let html = std::fs::read_to_string(p).unwrap();
        let mut edited = parse_document_str(&html);
        prepare(&mut edited, &rules);
        assign_ids(&mut edited, &rules);
        EditGenerator::new(1000 + i as u64).edit(&mut edited, 10);
        let to_html = cobrowse_engine::to_html(&edited);
        let want = parse_document_str(&to_html);
        let rt = roundtrip(
            parse_document_str(&html),
            parse_document_str(&to_html),
            &rules,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_same(&p.display().to_string(), rt.mirror.tree(), &want);
    }
}

/// Unrelated pages: the diff of one page into another still round-trips.
#[test]
fn unrelated_corpus_pages_round_trip() {
    let pages = corpus_pages_required();
    let rules = Rules::default();
    for w in pages.windows(2).step_by(8) {
        let a = std::fs::read_to_string(&w[0]).unwrap();
        let b = std::fs::read_to_string(&w[1]).unwrap();
        let rt = roundtrip(parse_document_str(&a), parse_document_str(&b), &rules).unwrap();
        let mut want = parse_document_str(&b);
        prepare(&mut want, &rules);
        assert_eq!(rt.mirror.fingerprint(), want.fingerprint());
    }
}

/// Each kind of edit alone, on a mid-sized page, many seeds.
#[test]
fn each_edit_kind_alone_is_minimal() {
    let pages = corpus_pages_required();
    let Some(page) = pages.get(pages.len() / 2) else {
        return;
    };
    let html = std::fs::read_to_string(page).unwrap();
    let rules = Rules::transparent();
    for kind in EditKind::ALL {
        for seed in 0..20u64 {
            let mut old = parse_document_str(&html);
            prepare(&mut old, &rules);
            assign_ids(&mut old, &rules);
            let mut new = old.clone();
            let log = EditGenerator::with_kinds(seed, &[kind]).edit(&mut new, 3);
            let expected = new.clone();
            let rt = roundtrip(old, new, &rules).unwrap();
            assert_same(
                &format!("{kind:?} seed {seed}"),
                rt.mirror.tree(),
                &expected,
            );
            assert!(
                rt.mutations.len() <= log.primitive_edits,
                "{kind:?} seed {seed}: {} > {}",
                rt.mutations.len(),
                log.primitive_edits
            );
        }
    }
}

/// The incremental entry point: only the dirty subtree is compared (a [`Capture`]'s delta
/// after tree edits), and an agent's mirror fed every frame ends equal to the capture's
/// shadow.
#[test]
fn incremental_rediff_of_dirty_subtrees_round_trips() {
    let pages = corpus_pages_required();
    for (i, p) in pages.iter().enumerate().step_by(5) {
        let html = std::fs::read_to_string(p).unwrap();
        let mut cap = Capture::new(Rules::default(), parse_document_str(&html));
        let mut agent = Mirror::new(MirrorOptions::default());
        agent.apply_frame(&cap.keyframe(), &mut ()).unwrap();
        // Edit inside one subtree, then re-diff only that subtree.
        let live = cap.tree();
        let body = cobrowse_tests::edits::find_body(live).unwrap();
        let Some(target) = live
            .children(body)
            .filter(|&c| live.element(c).is_some())
            .nth(i % 3)
        else {
            continue;
        };
        let mut sub = Tree::new_fragment();
        let copy = sub.import_subtree(live, target);
        sub.reserve_wire_ids_from(live.next_wire_id());
        let root = sub.root();
        sub.append(root, copy);
        EditGenerator::new(i as u64).edit(&mut sub, 5);
        // Apply the same edits to the live tree by replacing the subtree's children.
        let live = cap.tree_mut();
        let kids: Vec<_> = live.children(target).collect();
        for k in kids {
            live.remove(k);
        }
        let new_kids: Vec<_> = sub.children(copy).collect();
        for k in new_kids {
            let c = live.import_subtree(&sub, k);
            live.append(target, c);
        }
        if let Some(delta) = cap.delta() {
            agent
                .apply_frame(&delta, &mut ())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
        assert_eq!(agent.fingerprint(), cap.shadow().fingerprint());
        assert_same(&p.display().to_string(), agent.tree(), cap.shadow().tree());
    }
}

/// A long session: many consecutive deltas on one mirror. Wire ids must stay in step with the
/// capture side after every delta (a divergence would break a later delta), and a re-parsed
/// page in the middle (anonymous matching) must not disturb that either.
#[test]
fn long_sessions_keep_wire_ids_in_step() {
    let pages = corpus_pages_required();
    let rules = Rules::default();
    for (i, p) in pages.iter().enumerate().step_by(16) {
        let html = std::fs::read_to_string(p).unwrap();
        let mut cap = Capture::new(rules.clone(), parse_document_str(&html));
        let mut mirror = Mirror::new(MirrorOptions::default());
        mirror.apply_frame(&cap.keyframe(), &mut ()).unwrap();
        let mut edits = EditGenerator::new(7000 + i as u64);
        for round in 0..12u64 {
            let delta = if round == 6 {
                // The capture re-reads the whole page: no ids carried over.
                let page = parse_document_str(&cobrowse_engine::to_html(cap.tree()));
                cap.replace_document(page)
            } else {
                edits.edit(cap.tree_mut(), 4);
                cap.delta()
            };
            if let Some(delta) = delta {
                let h = mirror
                    .apply_frame(&delta, &mut ())
                    .unwrap_or_else(|e| panic!("{} round {round}: {e}", p.display()));
                assert_eq!(h.seq, cap.seq());
            }
            cobrowse_tests::assert_same_ids(
                &format!("{} round {round}", p.display()),
                mirror.tree(),
                cap.tree(),
                &rules,
            );
        }
    }
}

/// Ratios of mutations to primitive budget, for the summary line.
fn summarize(label: &str, ratios: &mut [f64]) -> String {
    if ratios.is_empty() {
        return format!("{label}: no scenarios");
    }
    ratios.sort_by(f64::total_cmp);
    format!(
        "{label}: {} scenarios, mutations/budget median {:.3}, max {:.3}",
        ratios.len(),
        ratios[ratios.len() / 2],
        ratios[ratios.len() - 1]
    )
}

/// What the anonymous scenarios gave: ratios of mutations to budget, the scenarios over
/// budget (with their edit logs), edits rejected as not re-parse safe.
struct AnonymousRun {
    /// Every `step`-th corpus page was run (1: all).
    step: usize,
    ratios: Vec<f64>,
    over_budget: Vec<String>,
    worst: f64,
    rejected: usize,
}

/// Anonymous mode on every corpus page (every `SCENARIO_PAGE_STEP`-th with that variable set,
/// for quick local runs), 1, 5, 25 and 100 edits: both sides are independently parsed
/// documents (no identity at all, what `cobrowse diff FROM TO` and a reload see). Asserts that
/// the mirror ends equal to the re-parsed target, attribute order included, on every one.
fn run_anonymous_scenarios() -> AnonymousRun {
    let step = std::env::var("SCENARIO_PAGE_STEP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    run_anonymous(
        &corpus_pages_required(),
        step,
        0xa000,
        "anonymous scenarios",
    )
}

/// Both pages of every hand-written case (`corpus/cases`), in anonymous mode as
/// [`run_anonymous_scenarios`] (176 scenarios).
fn run_anonymous_hand_written() -> AnonymousRun {
    let dir = repo_root().join("corpus/cases");
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("from.html").exists())
        .flat_map(|p| [p.join("from.html"), p.join("to.html")])
        .collect();
    pages.sort();
    assert!(pages.len() >= 40, "hand-written cases missing");
    run_anonymous(&pages, 1, 0xc000, "anonymous hand-written scenarios")
}

/// Every `step`-th of `pages`, 1, 5, 25 and 100 edits, seeds from `seed_base`.
fn run_anonymous(
    pages: &[std::path::PathBuf],
    step: usize,
    seed_base: u64,
    what: &str,
) -> AnonymousRun {
    let rules = Rules::transparent();
    let mut run = AnonymousRun {
        step,
        ratios: Vec::new(),
        over_budget: Vec::new(),
        worst: 0.0,
        rejected: 0,
    };
    for (i, p) in pages.iter().enumerate().step_by(step) {
        let html = std::fs::read_to_string(p).unwrap();
        let old = parse_fixed_point(&html);
        assert!(
            reparses_to_itself(&old),
            "{}: not a parse fixed point",
            p.display()
        );
        for count in [1usize, 5, 25, 100] {
            let seed = seed_base + ((i as u64) << 8 | count as u64);
            let (new, log) = EditGenerator::new(seed).edit_anonymous(&old, count);
            run.rejected += log.rejected;
            let label = format!("{} seed {seed} ({count} edits)", p.display());
            let want = new.clone();
            let rt = roundtrip(old.clone(), new, &rules).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_same(&label, rt.mirror.tree(), &want);
            let budget = log.primitive_edits;
            if std::env::var_os("SCENARIO_COUNTS").is_some() {
                // One line per scenario, for comparing two builds scenario by scenario.
                eprintln!("COUNT {label} {} {budget}", rt.mutations.len());
            }
            if budget > 0 {
                let r = rt.mutations.len() as f64 / budget as f64;
                run.ratios.push(r);
                run.worst = run.worst.max(r);
            }
            if rt.mutations.len() > budget {
                run.over_budget.push(format!(
                    "{label}: {} mutations for a budget of {budget} {:?}\n  {:?}",
                    rt.mutations.len(),
                    log.edits,
                    rt.mutations.iter().map(|m| m.kind()).collect::<Vec<_>>()
                ));
            }
        }
    }
    eprintln!(
        "{}; {} over budget; {} edits rejected (not re-parse safe)",
        summarize(what, &mut run.ratios),
        run.over_budget.len(),
        run.rejected
    );
    run
}

/// Anonymous mode (see [`run_anonymous_scenarios`]): every replay is exact, no scenario spends more
/// than 1.25 times its budget (the worst measured is 1.115 with the keyed repeated blocks of branch
/// diff7g; 1.27 on branch diff7f, with the one-pass segment alignment; 2.06 on branch diff7e, one
/// scenario made worse by the own-data keys; 1.61 with the bottom-up repair of crosswise pairs,
/// 2.06 before it; 3.86 before the in-order sibling alignment, 15.8 before the phased matcher), and
/// on the full corpus at most 2 of the 1,028 scenarios are over budget (2 measured with branch
/// diff7l's descendant keys, 6 with diff7k, 7 with diff7j, 9 with diff7i, 11 with branch diff7h's distinct child keys, 13 with diff7g's keys, 16
/// on branch diff7f, 46 on diff7e, 68 with the repair, 77 before it, reorders counted as window
/// minus LIS; 188 before the alignment, with the looser count). A ratchet, not the goal: the goal is
/// [`anonymous_edits_are_within_budget_strict`].
#[test]
fn anonymous_edits_on_every_corpus_page_round_trip_exactly() {
    let run = run_anonymous_scenarios();
    assert!(
        run.worst <= 1.25,
        "a scenario spent {:.2} times its budget:\n{}",
        run.worst,
        run.over_budget.join("\n")
    );
    if run.step == 1 && !run.ratios.is_empty() {
        assert!(
            run.over_budget.len() <= 2,
            "{} scenarios over budget (at most 2 expected):\n{}",
            run.over_budget.len(),
            run.over_budget.join("\n")
        );
    }
}

/// The bound, per scenario: mutations <= the primitive budget, on the corpus and on the
/// hand-written cases. Not met yet on 6 of 1,028 corpus scenarios (worst 1.115x; 7 before branch
/// diff7k's common empty elements in the global moves, 9 before branch diff7j's repair and unwrapped-copy fixes, 11 before branch diff7i's wrapped-copy preference in
/// the global moves, 13 before branch diff7h's distinct child keys; 16 and 1.27x since branch
/// diff7f's one-pass segment alignment; 46 and 2.06x with branch diff7e's own-data keys, 53 and
/// 1.61x before them, 68 before branch diff7d's fixes, 77 and 2.06x before the bottom-up repair;
/// all 176 hand-written ones are met since branch diff7i, 1 before):
/// repeated similar or equal blocks (gallery slides, menu tables) paired with a copy under another
/// parent, moved subtrees edited inside (see benches/JOURNAL.md, "Anonymous diff", branch
/// `diff7f`). Full run, listing them: `cargo test -p cobrowse-tests --test scenarios
/// anonymous_edits_are_within_budget_strict -- --ignored --nocapture` (about 6 minutes here on an
/// idle machine; `SCENARIO_PAGE_STEP=16` for every 16th page).
#[test]
#[ignore = "not met yet: 2 of 1,028 corpus anonymous scenarios are over budget"]
fn anonymous_edits_are_within_budget_strict() {
    let mut over = run_anonymous_hand_written().over_budget;
    let run = run_anonymous_scenarios();
    over.extend(run.over_budget);
    assert!(
        over.is_empty(),
        "{} scenarios over budget:\n{}",
        over.len(),
        over.join("\n")
    );
}

/// Anonymous mode on the hand-written cases ([`run_anonymous_hand_written`]): every replay is
/// exact; a ratchet on the budget as for the corpus (none of 176 over, worst 1.000x measured
/// on branch diff7i; 1 and 1.06x on branch diff7f; 2 and 1.28x on diff7e, 3 before it).
#[test]
fn anonymous_edits_on_hand_written_cases_round_trip_exactly() {
    let run = run_anonymous_hand_written();
    assert!(
        run.worst <= 1.25 && run.over_budget.is_empty(),
        "{} scenarios over budget, worst {:.2}x:\n{}",
        run.over_budget.len(),
        run.worst,
        run.over_budget.join("\n")
    );
}

/// Debugging aid: `SCENARIO_DEBUG=page-file-name:seed:count cargo test --test scenarios
/// debug_one -- --ignored --nocapture` prints, for one anonymous scenario, the mutations that
/// the anonymous diff and the identity diff of the same edits (the script the edits made) do
/// not share, by kind and node; with `SCENARIO_DEBUG_ORDER` set, also the anonymous
/// mutations in emission order; with `SCENARIO_DEBUG_HTML=dir`, writes both pages there
/// (`from.html`, `to.html`).
#[test]
#[ignore]
fn debug_one() {
    let spec = std::env::var("SCENARIO_DEBUG").unwrap_or_default();
    let mut it = spec.split(':');
    let (Some(name), Some(seed), Some(count)) = (it.next(), it.next(), it.next()) else {
        return;
    };
    // A corpus page's file name, or a path from the repository's top (`corpus/cases/…`).
    let page = if name.contains('/') {
        repo_root().join(name)
    } else {
        repo_root()
            .join("corpus/cache/htmlparser-benchmark")
            .join(name)
    };
    let html = std::fs::read_to_string(page).unwrap();
    let rules = Rules::transparent();
    let mut old = parse_fixed_point(&html);
    prepare(&mut old, &rules);
    assign_ids(&mut old, &rules);
    let (anon, tracked, log) = EditGenerator::new(seed.parse().unwrap())
        .edit_anonymous_traced(&old, count.parse().unwrap());
    eprintln!("budget {} edits {:?}", log.primitive_edits, log.edits);
    if let Some(dir) = std::env::var_os("SCENARIO_DEBUG_HTML") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("from.html"), to_html(&old)).unwrap();
        std::fs::write(dir.join("to.html"), to_html(&anon)).unwrap();
    }
    let got = roundtrip(old.clone(), anon, &rules).unwrap();
    let ideal = roundtrip(old.clone(), tracked, &rules).unwrap();
    eprintln!(
        "anonymous {} mutations, identity {}",
        got.mutations.len(),
        ideal.mutations.len()
    );
    let show = |w: WireId| {
        old.node_by_wire(w)
            .map(|n| {
                let html: String = subtree_to_html(&old, n).chars().take(90).collect();
                if old.element(n).is_none() {
                    format!("{html:?}") // texts quoted, so whitespace shows
                } else {
                    html.replace('\n', " ")
                }
            })
            .unwrap_or_else(|| format!("(new {})", w.0))
    };
    let key = |m: &Mutation| match m {
        Mutation::Move { node, parent, .. } => {
            let from = old
                .node_by_wire(*node)
                .and_then(|n| old.parent(n))
                .map_or(0, |p| old.wire_id(p).0);
            format!(
                "move {} (from {from}) -> under {} ({})",
                show(*node),
                show(*parent),
                parent.0
            )
        }
        Mutation::Insert { parent, nodes, .. } => {
            format!("insert {} nodes under {}", nodes.len(), show(*parent))
        }
        Mutation::Remove { node } => format!("remove {}", show(*node)),
        Mutation::SetText { node, .. } => format!("text {}", show(*node)),
        Mutation::SetAttr { node, name, .. } => format!("set {} on {}", name.local, show(*node)),
        Mutation::RemoveAttr { node, name } => {
            format!("remove attr {} on {}", name.local, show(*node))
        }
        m => format!("{m:?}"),
    };
    if std::env::var_os("SCENARIO_DEBUG_ORDER").is_some() {
        for m in &got.mutations {
            let after = match m {
                Mutation::Move { prev, .. } | Mutation::Insert { prev, .. } => {
                    format!(" after {}", prev.map_or("nothing".into(), show))
                }
                _ => String::new(),
            };
            eprintln!("ANON  {}{after}", key(m));
        }
    }
    let mut a: Vec<String> = got.mutations.iter().map(key).collect();
    let mut b: Vec<String> = ideal.mutations.iter().map(key).collect();
    a.sort();
    b.sort();
    for x in &a {
        if let Ok(i) = b.binary_search(x) {
            b.remove(i);
        } else {
            eprintln!("ANON ONLY  {x}");
        }
    }
    for x in &b {
        eprintln!("IDENT ONLY {x}");
    }
}
