//! The `cobrowse` command, run as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cobrowse_engine::parse_document_str;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cobrowse"))
}

fn cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/cases")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run cobrowse")
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn diff_with_apply_out_reproduces_to_on_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(cases()).unwrap() {
        let case = entry.unwrap().path();
        if !case.join("from.html").exists() {
            continue;
        }
        let out_html = dir.path().join("out.html");
        let frame = dir.path().join("delta.cbf");
        let json = ok(bin()
            .arg("diff")
            .arg(case.join("from.html"))
            .arg(case.join("to.html"))
            .arg("--no-sanitize")
            .arg("--json")
            .arg("--frame-out")
            .arg(&frame)
            .arg("--apply-out")
            .arg(&out_html));
        let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON object");
        let count = v["mutations"].as_u64().unwrap();
        let by_kind: u64 = v["by_kind"]
            .as_object()
            .unwrap()
            .values()
            .map(|x| x.as_u64().unwrap())
            .sum();
        assert_eq!(count, by_kind, "{}: by_kind adds up", case.display());
        assert_eq!(
            v["frame_bytes"].as_u64().unwrap(),
            std::fs::metadata(&frame).unwrap().len()
        );
        assert!(v["timings_ms"]["diff"].as_f64().is_some());
        let got = parse_document_str(&std::fs::read_to_string(&out_html).unwrap());
        let want = parse_document_str(&std::fs::read_to_string(case.join("to.html")).unwrap());
        // The written document re-parses to TO's tree.
        if let Some(d) = got.first_difference(&want) {
            panic!("{}: {d}", case.display());
        }
        n += 1;
    }
    assert!(n >= 20);
}

#[test]
fn snapshot_then_apply_a_delta_matches_diff_apply_out() {
    let dir = tempfile::tempdir().unwrap();
    let case = cases().join("reorder-keyed");
    let kf = dir.path().join("k.cbf");
    let delta = dir.path().join("d.cbf");
    let via_diff = dir.path().join("a.html");
    let via_apply = dir.path().join("b.html");
    let s = ok(bin()
        .arg("snapshot")
        .arg(case.join("from.html"))
        .arg("--frame-out")
        .arg(&kf)
        .arg("--json"));
    let v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
    assert!(v["frame_bytes"].as_u64().unwrap() > 0);
    ok(bin()
        .arg("diff")
        .arg(case.join("from.html"))
        .arg(case.join("to.html"))
        .arg("--frame-out")
        .arg(&delta)
        .arg("--apply-out")
        .arg(&via_diff));
    ok(bin()
        .arg("apply")
        .arg(case.join("from.html"))
        .arg(&kf)
        .arg(&delta)
        .arg("--out")
        .arg(&via_apply));
    assert_eq!(
        std::fs::read_to_string(&via_diff).unwrap(),
        std::fs::read_to_string(&via_apply).unwrap()
    );
    let text = ok(bin().arg("inspect").arg(&delta));
    assert!(text.starts_with("delta v1 seq 2 base 1"), "{text}");
    let json = ok(bin().arg("inspect").arg(&kf).arg("--json"));
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["kind"], "keyframe");
    assert_eq!(v["sanitized"], true);
}

#[test]
fn secrets_never_reach_frames_or_inspect_output() {
    let dir = tempfile::tempdir().unwrap();
    let privacy = cases().join("privacy");
    let rules = privacy.join("rules.json");
    let kf = dir.path().join("k.cbf");
    let delta = dir.path().join("d.cbf");
    let out_html = dir.path().join("o.html");
    ok(bin()
        .arg("snapshot")
        .arg(privacy.join("login.html"))
        .arg("--rules")
        .arg(&rules)
        .arg("--frame-out")
        .arg(&kf));
    let diff_out = ok(bin()
        .arg("diff")
        .arg(privacy.join("login.html"))
        .arg(privacy.join("login-edited.html"))
        .arg("--rules")
        .arg(&rules)
        .arg("--frame-out")
        .arg(&delta)
        .arg("--apply-out")
        .arg(&out_html)
        .arg("--json"));
    let mut outputs = vec![diff_out, std::fs::read_to_string(&out_html).unwrap()];
    for f in [&kf, &delta] {
        outputs.push(String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned());
        outputs.push(ok(bin().arg("inspect").arg(f)));
        outputs.push(ok(bin().arg("inspect").arg(f).arg("--json")));
    }
    for o in &outputs {
        assert!(!o.contains("CANARY"), "a secret leaked: {o}");
    }
}

#[test]
fn clear_errors_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let case = cases().join("entities");
    // Unreadable file: 3.
    let out = run(bin()
        .arg("diff")
        .arg(dir.path().join("missing.html"))
        .arg(case.join("to.html")));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.html"));
    // Invalid rules: 4, naming the selector.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"mask": {"selectors": ["div[[oops"]}}"#).unwrap();
    let out = run(bin()
        .arg("diff")
        .arg(case.join("from.html"))
        .arg(case.join("to.html"))
        .arg("--rules")
        .arg(&bad));
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("div[[oops"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Malformed rules file: 4.
    std::fs::write(&bad, "{ not json").unwrap();
    let out = run(bin()
        .arg("snapshot")
        .arg(case.join("from.html"))
        .arg("--rules")
        .arg(&bad)
        .arg("--frame-out")
        .arg(dir.path().join("x")));
    assert_eq!(out.status.code(), Some(4));
    // Invalid frame: 5.
    let junk = dir.path().join("junk.cbf");
    std::fs::write(&junk, b"not a frame at all").unwrap();
    let out = run(bin().arg("inspect").arg(&junk));
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.cbf"));
    let out = run(bin()
        .arg("apply")
        .arg(case.join("from.html"))
        .arg(&junk)
        .arg("--out")
        .arg(dir.path().join("o.html")));
    assert_eq!(out.status.code(), Some(5));
    // A delta applied to the wrong base: 5 (fingerprint or unknown node), nothing written.
    let delta = dir.path().join("d.cbf");
    ok(bin()
        .arg("diff")
        .arg(case.join("from.html"))
        .arg(case.join("to.html"))
        .arg("--frame-out")
        .arg(&delta));
    let other = cases().join("unicode/from.html");
    let target = dir.path().join("never.html");
    let out = run(bin()
        .arg("apply")
        .arg(other)
        .arg(&delta)
        .arg("--out")
        .arg(&target));
    assert_eq!(out.status.code(), Some(5));
    assert!(!target.exists());
    // Usage: 2.
    assert_eq!(run(bin().arg("diff")).status.code(), Some(2));
}

/// Generated FROM/TO pairs (corpus pages edited in the anonymous mode of the seeded
/// generator, both written as HTML): `cobrowse diff FROM TO --no-sanitize --apply-out OUT
/// --json` writes an OUT whose parse equals TO's exactly, attribute order included, and the
/// JSON's mutation count matches what a direct diff finds. A swapped attribute pair too.
#[test]
fn diff_apply_out_reproduces_generated_pairs_exactly_attribute_order_included() {
    use cobrowse_tests::edits::{EditGenerator, parse_fixed_point};
    let dir = tempfile::tempdir().unwrap();
    let (from, to, out) = (
        dir.path().join("from.html"),
        dir.path().join("to.html"),
        dir.path().join("out.html"),
    );
    let mut pairs = vec![(
        r#"<div class="clearfix" id="masthead"><p>x</p></div>"#.to_string(),
        r#"<div id="masthead" class="clearfix"><p>x</p></div>"#.to_string(),
    )];
    let pages = cobrowse_tests::corpus_pages_required();
    for (i, p) in pages.iter().enumerate().step_by(16) {
        let old = parse_fixed_point(&std::fs::read_to_string(p).unwrap());
        for count in [5usize, 25] {
            let (new, _) = EditGenerator::new(0xc11 + ((i as u64) << 8 | count as u64))
                .edit_anonymous(&old, count);
            pairs.push((
                cobrowse_engine::to_html(&old),
                cobrowse_engine::to_html(&new),
            ));
        }
    }
    for (k, (a, b)) in pairs.iter().enumerate() {
        std::fs::write(&from, a).unwrap();
        std::fs::write(&to, b).unwrap();
        let json = ok(bin()
            .arg("diff")
            .arg(&from)
            .arg(&to)
            .arg("--no-sanitize")
            .arg("--apply-out")
            .arg(&out)
            .arg("--json"));
        let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON object");
        assert!(v["mutations"].as_u64().is_some(), "pair {k}: {json}");
        let got = parse_document_str(&std::fs::read_to_string(&out).unwrap());
        let want = parse_document_str(b);
        if let Some(d) = got.first_difference(&want) {
            panic!("pair {k}: OUT differs from TO: {d}");
        }
    }
    assert!(pairs.len() > 1 || pages.is_empty());
}
