//! Untrusted frame bytes: access must validate without panicking, and a mirror must apply or
//! refuse whatever validates.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cobrowse_engine::fuzz_access(data);
    let mut mirror = cobrowse_engine::Mirror::new(cobrowse_engine::MirrorOptions { require_sanitized: false, ..Default::default() });
    let _ = mirror.apply_frame(data, &mut ());
});
