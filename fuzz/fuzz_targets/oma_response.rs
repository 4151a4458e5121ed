//! Any bytes as an OMA Backend response body: parsing it as credentials, as a
//! status or as an error body may fail but never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_google_hub::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::oma_response(data);
});
