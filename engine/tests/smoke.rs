use cobrowse_engine::*;

fn roundtrip(from: &str, to: &str, rules: &Rules) -> (Vec<Mutation>, Mirror, Tree) {
    let mut a = parse_document_str(from);
    prepare(&mut a, rules);
    assign_ids(&mut a, rules);
    let recs = snapshot(&mut a, rules);
    let mut m = Mirror::new(MirrorOptions {
        require_sanitized: false,
        ..Default::default()
    });
    let refs: Vec<_> = recs.iter().map(|r| r.as_ref()).collect();
    m.apply_keyframe(
        &FrameMeta {
            seq: 1,
            base_seq: 1,
            fingerprint: a.fingerprint(),
            sanitized: true,
        },
        &refs,
        &mut (),
    )
    .unwrap();
    let mut b = parse_document_str(to);
    prepare(&mut b, rules);
    let mut muts = Vec::new();
    diff(&a, &mut b, rules, &mut muts);
    m.apply_delta(
        &FrameMeta {
            seq: 2,
            base_seq: 1,
            fingerprint: b.fingerprint(),
            sanitized: true,
        },
        muts.iter().map(|m| m.as_ref()),
        &mut (),
    )
    .unwrap();
    (muts, m, b)
}

#[test]
fn cases_roundtrip() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/cases");
    let rules = Rules::transparent();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("from.html").exists())
        .collect();
    names.sort();
    for p in names {
        let from = std::fs::read_to_string(p.join("from.html")).unwrap();
        let to = std::fs::read_to_string(p.join("to.html")).unwrap();
        let (muts, m, _b) = roundtrip(&from, &to, &rules);
        let want = parse_document_str(&to);
        if let Some(d) = m.tree().first_difference(&want) {
            panic!("{}: {d}", p.display());
        }
        println!(
            "{}: {} mutations",
            p.file_name().unwrap().to_string_lossy(),
            muts.len()
        );
    }
}

#[test]
fn one_move_debug() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../corpus/cases/long-list-one-move"
    );
    let from = std::fs::read_to_string(format!("{dir}/from.html")).unwrap();
    let to = std::fs::read_to_string(format!("{dir}/to.html")).unwrap();
    let (muts, _, _) = roundtrip(&from, &to, &Rules::transparent());
    for m in muts.iter().take(8) {
        println!("{m:?}");
    }
}
