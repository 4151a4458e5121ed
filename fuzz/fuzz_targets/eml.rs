//! Any bytes as an `.eml` file in the sandbox mailbox: loading it, converting it to a
//! Gmail payload and reading it back may skip it but never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_google_hub::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::eml(data);
});
