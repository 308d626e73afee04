//! Property tests: random trees with random edits round-trip exactly, and identity-tracked
//! edits never cost more mutations than primitive edits made.

use cobrowse_engine::*;
use cobrowse_tests::edits::EditGenerator;
use cobrowse_tests::{assert_same, roundtrip};
use proptest::prelude::*;

/// A random tree as an HTML fragment string (so both sides go through the parser, whose
/// repairs are part of the test), built from a small vocabulary that hits matching corner
/// cases: repeated identical siblings, ids, text, comments, nesting, tables and SVG.
fn html_strategy() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-c ]{0,6}".prop_map(|t| t),
        Just("<br>".to_owned()),
        Just("<!--c-->".to_owned()),
        (0u8..4).prop_map(|i| format!("<i id=k{i}>k{i}</i>")),
        Just("<svg><circle r=1></circle></svg>".to_owned()),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        (
            prop_oneof![
                Just("div"),
                Just("p"),
                Just("ul"),
                Just("li"),
                Just("span"),
                Just("table"),
                Just("b")
            ],
            proptest::option::of(0u8..3),
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|(tag, class, kids)| {
                let class = class.map(|c| format!(" class=c{c}")).unwrap_or_default();
                format!("<{tag}{class}>{}</{tag}>", kids.concat())
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_trees_round_trip(a in html_strategy(), b in html_strategy()) {
        let rules = Rules::transparent();
        let rt = roundtrip(parse_fragment_str(&a, "body"), parse_fragment_str(&b, "body"), &rules)
            .map_err(TestCaseError::fail)?;
        let want = parse_fragment_str(&b, "body");
        prop_assert!(rt.mirror.tree().same_tree(&want), "{:?}", rt.mirror.tree().first_difference(&want));
    }

    #[test]
    fn random_edits_on_random_trees_are_minimal(a in html_strategy(), seed in any::<u64>(), count in 1usize..12) {
        let rules = Rules::transparent();
        let mut old = parse_fragment_str(&a, "body");
        prepare(&mut old, &rules);
        assign_ids(&mut old, &rules);
        let mut new = old.clone();
        let log = EditGenerator::new(seed).edit(&mut new, count);
        let expected = new.clone();
        let rt = roundtrip(old, new, &rules).map_err(TestCaseError::fail)?;
        assert_same("proptest", rt.mirror.tree(), &expected);
        prop_assert!(rt.mutations.len() <= log.primitive_edits, "{} mutations > {} edits: {:?}", rt.mutations.len(), log.primitive_edits, log.edits);
    }

    #[test]
    fn the_sanitizing_round_trip_matches_the_projection(a in html_strategy(), b in html_strategy()) {
        let rules = Rules::default();
        let rt = roundtrip(parse_fragment_str(&a, "body"), parse_fragment_str(&b, "body"), &rules)
            .map_err(TestCaseError::fail)?;
        let mut want = parse_fragment_str(&b, "body");
        prepare(&mut want, &rules);
        prop_assert_eq!(rt.mirror.fingerprint(), want.fingerprint());
    }
}
