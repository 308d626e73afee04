//! Hostile frames: truncations, bit flips, random bytes, huge declared lengths and
//! semantically bogus mutations give errors, never a panic; a mirror that refused a frame asks
//! for a keyframe and recovers with one.

use cobrowse_engine::*;
use cobrowse_tests::roundtrip;

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn sample_frames() -> (Vec<u8>, Vec<u8>) {
    let rt = roundtrip(
        parse_document_str("<ul><li>a</li><li class=x>b</li><li>c</li></ul><p title=t>text</p>"),
        parse_document_str(
            "<ul><li>c</li><li>a</li><li class=y>b!</li></ul><p>text 2</p><input value=v>",
        ),
        &Rules::default(),
    )
    .unwrap();
    (rt.keyframe, rt.delta)
}

fn poke(bytes: &[u8]) {
    fuzz_access(bytes);
    let mut m = Mirror::new(MirrorOptions {
        require_sanitized: false,
        ..Default::default()
    });
    let _ = m.apply_frame(bytes, &mut ());
}

#[test]
fn every_truncation_is_an_error() {
    let (kf, delta) = sample_frames();
    for f in [&kf, &delta] {
        for cut in 0..f.len() {
            assert!(
                FrameView::access(&f[..cut]).is_err(),
                "truncated at {cut} accepted"
            );
            poke(&f[..cut]);
        }
    }
}

#[test]
fn every_bit_flip_is_handled() {
    let (kf, delta) = sample_frames();
    for f in [&kf, &delta] {
        for bit in 0..f.len() * 8 {
            let mut g = f.clone();
            g[bit / 8] ^= 1 << (bit % 8);
            poke(&g);
        }
    }
}

#[test]
fn random_bytes_are_rejected() {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..20_000 {
        let len = (xorshift(&mut s) % 512) as usize;
        let mut v: Vec<u8> = (0..len).map(|_| xorshift(&mut s) as u8).collect();
        if xorshift(&mut s).is_multiple_of(2) && v.len() >= 4 {
            v[..4].copy_from_slice(b"CBF1");
        }
        poke(&v);
    }
}

#[test]
fn html_pairs_from_random_bytes_round_trip() {
    let mut s = 42u64;
    let pieces = [
        "<div>",
        "</div>",
        "<p>",
        "x",
        " ",
        "<table><tr><td>",
        "<!--",
        "-->",
        "<svg>",
        "<template>",
        "&amp;",
        "<li id=a>",
        "<script>1</script>",
        "<a href=javascript:1>",
        "<math>",
        "<mtext>",
        "<mi>",
        "<mglyph>",
        "<malignmark>",
        "<annotation-xml encoding=text/html>",
        "<foreignObject>",
        "<desc>",
        "<style>",
        "</style>",
        "<form>",
        "</form>",
        "</p>",
        "<noscript>",
        "<xmp>",
        "<object width=1>",
        "<img src=x onerror=alert(1)>",
        "<select>",
        "<font color=red>",
        "</math>",
        "</svg>",
        "<li>",
        "<dd>",
        "<h2>",
        "<a>",
        "<nobr>",
        "<button>",
        "<option>",
        "<optgroup>",
        "<caption>",
        "<tr>",
        "</table>",
    ];
    for _ in 0..3000 {
        let mut a = String::new();
        let mut b = String::new();
        for _ in 0..(xorshift(&mut s) % 30) {
            a.push_str(pieces[(xorshift(&mut s) % pieces.len() as u64) as usize]);
        }
        for _ in 0..(xorshift(&mut s) % 30) {
            b.push_str(pieces[(xorshift(&mut s) % pieces.len() as u64) as usize]);
        }
        fuzz_html_round_trip(&a, &b);
    }
}

/// Inputs the `html_diff_apply` fuzz target once failed on (`fuzz/regressions/`), replayed
/// through the same entry point.
#[test]
fn fuzz_regressions_round_trip() {
    let dir = cobrowse_tests::repo_root().join("fuzz/regressions/html_diff_apply");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&data);
        let (a, b) = text.split_once('\u{0}').unwrap_or((&text, ""));
        fuzz_html_round_trip(a, b);
        n += 1;
    }
    assert!(n >= 1, "no regression inputs in {}", dir.display());
}

/// A mirror holding the keyframe of `html`, and the capture that made it (its tree has the
/// wire ids the mirror knows).
fn mirror_with(html: &str) -> (Mirror, Capture) {
    let mut capture = Capture::new(Rules::default(), parse_document_str(html));
    let mut m = Mirror::new(MirrorOptions::default());
    m.apply_frame(&capture.keyframe(), &mut ()).unwrap();
    (m, capture)
}

/// A delta holding exactly `muts` after a keyframe of seq 1. Hand-made on purpose: the
/// capture only ever makes valid deltas, and these mutations are bogus.
fn delta(muts: &[Mutation], fp: u64) -> Vec<u8> {
    encode_delta(
        &FrameHeader {
            kind: FrameKind::Delta,
            seq: 2,
            base_seq: 1,
            fingerprint: fp,
            sanitized: true,
        },
        muts,
    )
}

#[test]
fn semantically_bogus_mutations_are_errors_and_need_a_keyframe() {
    let (_, capture) = mirror_with("<div><p>a</p></div>");
    let t = capture.tree();
    let ids: Vec<WireId> = t.descendants(t.root()).map(|n| t.wire_id(n)).collect();
    let root = ids[0];
    let div = t
        .descendants(t.root())
        .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "div"))
        .map(|n| t.wire_id(n))
        .unwrap();
    let p = t
        .descendants(t.root())
        .find(|&n| t.element(n).is_some_and(|e| &*e.name.local == "p"))
        .map(|n| t.wire_id(n))
        .unwrap();
    let text = |s: &str| NodeRecord {
        wire: WireId(9999),
        children: 0,
        flags: 0,
        data: RecordData::Text(s.into()),
    };
    let cases: Vec<(&str, Vec<Mutation>)> = vec![
        (
            "unknown node",
            vec![Mutation::Remove {
                node: WireId(424242),
            }],
        ),
        ("remove root", vec![Mutation::Remove { node: root }]),
        (
            "move into own descendant",
            vec![Mutation::Move {
                node: div,
                parent: p,
                prev: None,
            }],
        ),
        (
            "prev not a child",
            vec![Mutation::Move {
                node: p,
                parent: root,
                prev: Some(p),
            }],
        ),
        (
            "duplicate id",
            vec![Mutation::Insert {
                parent: div,
                prev: None,
                nodes: vec![NodeRecord {
                    wire: p,
                    ..text("x")
                }],
            }],
        ),
        (
            "id zero",
            vec![Mutation::Insert {
                parent: div,
                prev: None,
                nodes: vec![NodeRecord {
                    wire: WireId(0),
                    ..text("x")
                }],
            }],
        ),
        (
            "text on element",
            vec![Mutation::SetText {
                node: div,
                text: "x".into(),
            }],
        ),
        (
            "attr on text",
            vec![Mutation::SetAttr {
                node: ids[ids.len() - 1],
                name: attr_name("a"),
                value: "b".into(),
            }],
        ),
        (
            "wrong fingerprint",
            vec![Mutation::SetAttr {
                node: div,
                name: attr_name("a"),
                value: "b".into(),
            }],
        ),
    ];
    for (label, muts) in cases {
        let (mut m, _) = mirror_with("<div><p>a</p></div>");
        let err = m.apply_frame(&delta(&muts, 1), &mut ()).expect_err(label);
        assert!(err.needs_keyframe(), "{label}");
        assert!(!m.in_sync(), "{label}: mirror must stop taking deltas");
        let again = m.apply_frame(&delta(&[], 1), &mut ()).unwrap_err();
        assert!(
            matches!(
                again,
                ReplayError::Desynchronized | ReplayError::SequenceGap { .. }
            ),
            "{label}: {again}"
        );
    }
}

#[test]
fn sequence_gaps_are_detected_and_a_keyframe_recovers() {
    let (mut m, mut capture) = mirror_with("<p>a</p>");
    // Frames 2 and 3 never reach the mirror.
    for text in ["b", "c"] {
        capture
            .replace_document(parse_document_str(&format!("<p>{text}</p>")))
            .expect("a delta");
    }
    let next = capture
        .replace_document(parse_document_str("<p>d</p>"))
        .expect("a delta");
    assert!(matches!(
        m.apply_frame(&next, &mut ()),
        Err(ReplayError::SequenceGap {
            have: Some(1),
            base: 3
        })
    ));
    m.apply_frame(&capture.keyframe(), &mut ()).unwrap();
    assert_eq!(m.seq(), Some(5));
    assert!(m.in_sync());
    assert!(m.tree().same_tree(capture.shadow().tree()));
}

#[test]
fn oversized_input_is_refused_before_validation() {
    let big = vec![0u8; MAX_FRAME_BYTES + 1];
    assert!(matches!(
        FrameView::access(&big),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn the_mirror_reports_every_operation_it_applied_in_order() {
    struct Log(Vec<String>, usize);
    impl ReplayObserver for Log {
        fn keyframe(&mut self, records: &[RecordRef<'_>]) {
            self.1 = records.len();
        }
        fn mutation(&mut self, m: &MutationRef<'_>) {
            self.0.push(format!("{m:?}"));
        }
    }
    let rt = roundtrip(
        parse_document_str("<ul><li>a</li><li>b</li></ul>"),
        parse_document_str("<ul><li>b</li><li>a!</li></ul><p>new</p>"),
        &Rules::default(),
    )
    .unwrap();
    let mut m = Mirror::new(MirrorOptions::default());
    let mut log = Log(Vec::new(), 0);
    m.apply_frame(&rt.keyframe, &mut log).unwrap();
    assert!(log.1 > 5, "keyframe records reported");
    m.apply_frame(&rt.delta, &mut log).unwrap();
    let expected: Vec<String> = rt
        .mutations
        .iter()
        .map(|m| format!("{:?}", m.as_ref()))
        .collect();
    assert_eq!(log.0, expected);
}
