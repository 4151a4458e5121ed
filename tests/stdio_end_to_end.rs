//! End to end over stdio: the built binary, started with `--sandbox` over the real-world
//! mail and calendar corpora, driven by rmcp's MCP client as an MCP client would drive it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;

use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt as _};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

const EML_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/eml");
const ICS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/ics");

type Client = RunningService<RoleClient, ()>;

/// Reads every corpus message and a window of corpus events through the MCP tools.
#[tokio::test]
async fn corpus_served_through_mcp() {
    let expected_messages = loaded_message_count().await;
    assert!(
        expected_messages > 0,
        "the sandbox loaded no corpus messages"
    );
    let workdir = tempfile::tempdir().unwrap();
    let client = start_hub(
        &[
            "--sandbox",
            "--sandbox-mail",
            EML_DIR,
            "--sandbox-calendar",
            ICS_DIR,
        ],
        workdir.path(),
    )
    .await;

    let tools = client.list_all_tools().await.expect("tools/list failed");
    assert_eq!(tools.len(), 11);
    let mut outlines = std::collections::HashMap::new();
    for tool in &tools {
        let outline = tool
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no output schema", tool.name));
        outlines.insert(
            tool.name.to_string(),
            Value::Object(outline.as_ref().clone()),
        );
        let annotations = tool.annotations.as_ref().expect("annotations");
        assert_eq!(annotations.read_only_hint, Some(true), "{}", tool.name);
    }

    let ids = search_all(&client).await;
    assert_eq!(
        ids.len(),
        expected_messages,
        "every loaded message is found exactly once"
    );

    for id in &ids {
        let result = call(&client, "gmail_get_message", json!({"message_id": id})).await;
        assert_ne!(
            result.is_error,
            Some(true),
            "gmail_get_message {id} failed: {:?}",
            result.content
        );
        let structured = result.structured_content.expect("structured result");
        assert_matches_outline(&structured, &outlines["gmail_get_message"]);
        assert_eq!(structured["id"], json!(id));
        assert!(structured["body"].is_string());
    }

    let events = call(
        &client,
        "calendar_list_events",
        json!({"time_min": "2025-01-01T00:00:00Z", "time_max": "2025-01-15T00:00:00Z", "max_results": 250}),
    )
    .await;
    assert_ne!(events.is_error, Some(true), "{:?}", events.content);
    let structured = events.structured_content.expect("structured result");
    assert_matches_outline(&structured, &outlines["calendar_list_events"]);
    let occurrences = structured["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["recurring_event_id"].is_string())
        .count();
    assert!(
        occurrences >= 10,
        "expected the daily series' 10 occurrences, got {occurrences}: {structured}"
    );

    client.cancel().await.unwrap();
}

/// Bad input gets the right error and the server goes on serving.
#[tokio::test]
async fn bad_input_answered_and_server_keeps_serving() {
    let workdir = tempfile::tempdir().unwrap();
    let client = start_hub(&["--sandbox"], workdir.path()).await;

    let invalid = call(&client, "gmail_get_message", json!({"message_id": 7})).await;
    assert_eq!(invalid.is_error, Some(true));
    let text = first_text(&invalid);
    assert!(text.contains("message_id"), "{text}");
    let error = &invalid
        .structured_content
        .as_ref()
        .expect("a structured error")["error"];
    assert_eq!(error["category"], json!("invalid_argument"));
    assert_eq!(error["retryable"], json!(false));
    assert_eq!(error["message"], json!(text));
    assert!(error["hint"].is_string(), "{error}");

    let unknown = client
        .call_tool(CallToolRequestParams::new("gmail_delete_all"))
        .await
        .expect_err("an unknown tool is a protocol error");
    assert!(
        unknown.to_string().contains("gmail_delete_all"),
        "{unknown}"
    );

    let labels = call(&client, "gmail_list_labels", json!({})).await;
    assert_ne!(labels.is_error, Some(true), "{:?}", labels.content);
    let status = call(&client, "hub_status", json!({})).await;
    let status = status.structured_content.unwrap();
    assert_eq!(status["google_connected"], true);
    assert_eq!(status["auth_mode"], "oma_backend");

    client.cancel().await.unwrap();
}

/// Without configuration the server still completes the handshake, lists its tools, and
/// answers each call with the configuration problem.
#[tokio::test]
async fn missing_configuration_reported_per_call() {
    let workdir = tempfile::tempdir().unwrap();
    let client = start_hub(&[], workdir.path()).await;

    assert_eq!(client.list_all_tools().await.unwrap().len(), 11);
    let result = call(
        &client,
        "gmail_search_messages",
        json!({"query": "is:unread"}),
    )
    .await;

    assert_eq!(result.is_error, Some(true));
    let text = first_text(&result);
    assert!(text.contains("OMA_BACKEND_URL is not set"), "{text}");
    assert!(text.contains("--sandbox"), "{text}");
    client.cancel().await.unwrap();
}

/// Stdout carries nothing but JSON-RPC, even for malformed input, and the server answers
/// requests after a bad line.
#[tokio::test]
async fn stdout_is_only_json_rpc() {
    let workdir = tempfile::tempdir().unwrap();
    let mut child = hub_command(&["--sandbox"], workdir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();

    let lines = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}).to_string(),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        "{this is not json".to_owned(),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string(),
        json!({"jsonrpc": "2.0", "id": 3, "method": "no/such/method"}).to_string(),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "hub_status", "arguments": {}}}).to_string(),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "hub_status", "arguments": "not an object"}}).to_string(),
    ];
    for line in lines {
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
    }
    stdin.flush().await.unwrap();

    let mut answered = HashSet::new();
    let mut parse_errors = 0;
    while answered.len() < 5 || parse_errors < 1 {
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), stdout.next_line())
            .await
            .expect("the server stopped answering")
            .unwrap()
            .expect("stdout closed early");
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("non-JSON on stdout ({error}): {line}"));
        assert_eq!(message["jsonrpc"], "2.0", "{line}");
        if message["id"].is_null() {
            assert_eq!(message["error"]["code"], -32700, "{line}");
            parse_errors += 1;
        }
        if let Some(id) = message["id"].as_i64() {
            answered.insert(id);
            match id {
                3 => assert_eq!(message["error"]["code"], -32601, "{line}"),
                5 => assert_eq!(message["error"]["code"], -32602, "{line}"),
                4 => assert!(
                    message["result"]["structuredContent"]["auth_mode"].is_string(),
                    "{line}"
                ),
                _ => assert!(message.get("result").is_some(), "{line}"),
            }
        }
    }

    drop(stdin);
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "the server exited with {status} after stdin closed"
    );
}

/// Checks a result against the outline in `tools/list`: every field is declared, and its
/// JSON type is the declared one.
fn assert_matches_outline(result: &Value, outline: &Value) {
    let properties = outline["properties"]
        .as_object()
        .expect("outline properties");
    for (name, value) in result.as_object().expect("result object") {
        let declared = properties
            .get(name)
            .unwrap_or_else(|| panic!("field {name} is not in the outline"));
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let allowed = match &declared["type"] {
            Value::String(single) => vec![single.as_str()],
            Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        assert!(
            allowed.contains(&kind) || (kind == "integer" && allowed.contains(&"number")),
            "field {name} is {kind}, declared {allowed:?}"
        );
    }
}

async fn search_all(client: &Client) -> Vec<String> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut arguments = json!({"query": "in:anywhere", "max_results": 100});
        if let Some(token) = &page_token {
            arguments["page_token"] = json!(token);
        }
        let result = call(client, "gmail_search_messages", arguments).await;
        assert_ne!(result.is_error, Some(true), "{:?}", result.content);
        let structured = result.structured_content.expect("structured result");

        for message in structured["messages"].as_array().unwrap() {
            let id = message["id"].as_str().unwrap().to_owned();
            assert!(
                message.get("error").is_none(),
                "metadata of {id} failed: {message}"
            );
            assert!(seen.insert(id.clone()), "message {id} listed twice");
            ids.push(id);
        }
        match structured["next_page_token"].as_str() {
            Some(token) => page_token = Some(token.to_owned()),
            None => return ids,
        }
    }
}

async fn call(client: &Client, tool: &'static str, arguments: Value) -> CallToolResult {
    let arguments = arguments.as_object().cloned().unwrap_or_default();
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .unwrap_or_else(|error| panic!("{tool} failed at the protocol level: {error}"))
}

fn first_text(result: &CallToolResult) -> String {
    result
        .content
        .first()
        .and_then(|block| block.as_text())
        .map(|text| text.text.clone())
        .unwrap_or_default()
}

/// The number of corpus messages the sandbox loads, from the library itself.
async fn loaded_message_count() -> usize {
    let sandbox = Sandbox::start(SandboxOptions {
        mail_dir: Some(PathBuf::from(EML_DIR)),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let count = sandbox.message_count();
    sandbox.shutdown().await;
    count
}

/// The hub binary with a clean environment: no OMA or Google variables from the machine,
/// and a working directory without a `.env` file.
fn hub_command(args: &[&str], workdir: &std::path::Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-google-hub"));
    command
        .args(args)
        .current_dir(workdir)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    for (name, _) in std::env::vars() {
        if name.starts_with("OMA_")
            || name.starts_with("GOOGLE_")
            || name.starts_with("HUB_")
            || name == "AUTH_MODE"
        {
            command.env_remove(name);
        }
    }
    command
}

async fn start_hub(args: &[&str], workdir: &std::path::Path) -> Client {
    let (transport, _stderr) = TokioChildProcess::builder(hub_command(args, workdir))
        .stderr(Stdio::null())
        .spawn()
        .expect("the hub binary did not start");
    ().serve(transport).await.expect("the MCP handshake failed")
}
