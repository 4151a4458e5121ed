//! Any bytes as a Google token file: parsing may fail but never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_google_hub::fuzzing;

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::token_file(data);
});
