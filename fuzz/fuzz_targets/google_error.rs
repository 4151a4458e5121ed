//! An HTTP status and any bytes as a Google error response: mapping the body and reading
//! the bytes as a `Retry-After` value may fall back to defaults but never panic. Input
//! layout: the first two bytes are the status (big-endian) and the rest is the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_google_hub::fuzzing;

fuzz_target!(|data: &[u8]| {
    let [high, low, body @ ..] = data else {
        return;
    };
    fuzzing::google_error(u16::from_be_bytes([*high, *low]), body);
});
