//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the hostile-input tests, so
//! that both exercise exactly the same code.

use crate::diff::{assign_ids, diff, prepare, snapshot};
use crate::dom::parse::parse_document_str;
use crate::replay::{Mirror, MirrorOptions};
use crate::rules::Rules;
use crate::wire::frame::{FrameHeader, FrameKind, encode_delta, encode_keyframe};

/// Parses `a` and `b`, diffs them under transparent and default rules, sends both frames
/// through the encoder, the validator and a mirror, and panics if the mirror does not end
/// with `b` (exactly, under transparent rules; by fingerprint under default rules).
pub fn fuzz_html_round_trip(a: &str, b: &str) {
    for rules in [Rules::transparent(), Rules::default()] {
        let mut old = parse_document_str(a);
        prepare(&mut old, &rules);
        assign_ids(&mut old, &rules);
        let records = snapshot(&mut old, &rules);
        let h = FrameHeader {
            kind: FrameKind::Keyframe,
            seq: 1,
            base_seq: 1,
            fingerprint: old.fingerprint(),
            sanitized: rules.sanitizes(),
        };
        let mut mirror = Mirror::new(MirrorOptions {
            require_sanitized: false,
            ..Default::default()
        });
        mirror
            .apply_frame(&encode_keyframe(&h, &records), &mut ())
            .expect("keyframe applies");
        let mut new = parse_document_str(b);
        prepare(&mut new, &rules);
        let mut muts = Vec::new();
        diff(&old, &mut new, &rules, &mut muts);
        let h = FrameHeader {
            kind: FrameKind::Delta,
            seq: 2,
            base_seq: 1,
            fingerprint: new.fingerprint(),
            sanitized: rules.sanitizes(),
        };
        mirror
            .apply_frame(&encode_delta(&h, &muts), &mut ())
            .expect("delta applies");
        if !rules.sanitizes() {
            let want = parse_document_str(b);
            if let Some(d) = mirror.tree().first_difference(&want) {
                panic!("round trip differs: {d}");
            }
        }
    }
}
