//! Untrusted protocol messages: access and decode must validate without panicking, agree with
//! each other, and whatever validates must re-encode to the same message.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cobrowse_engine::fuzz_decode(data);
});
