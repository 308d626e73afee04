//! Arbitrary HTML pairs: parse -> diff -> frame -> apply must reproduce the target tree.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\u{0}').unwrap_or((&text, ""));
    cobrowse_engine::fuzz_html_round_trip(a, b);
});
