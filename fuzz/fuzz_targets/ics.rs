//! Any bytes as an `.ics` file in the sandbox calendar: loading it and listing its
//! occurrences may skip it but never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_google_hub::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::ics(data);
});
