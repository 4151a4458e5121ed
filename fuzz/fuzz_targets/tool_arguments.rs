//! A tool index and any bytes as that tool's arguments: parsing and validating them may
//! reject them but never panic. Input layout: the first byte picks the tool (modulo the
//! number of tools, in catalog order) and the rest is the JSON arguments.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mcp_google_hub::fuzzing;

static TOOLS: LazyLock<Vec<&'static str>> = LazyLock::new(fuzzing::tool_names);

fuzz_target!(|data: &[u8]| {
    let Some((&index, arguments)) = data.split_first() else {
        return;
    };
    let tool = TOOLS[usize::from(index) % TOOLS.len()];
    fuzzing::tool_arguments(tool, arguments);
});
