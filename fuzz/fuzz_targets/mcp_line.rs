//! Any bytes as one line from an MCP client: the stdio screen may reply with an error
//! but never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_google_hub::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::mcp_line(data);
});
