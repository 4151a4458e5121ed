//! Secrets never reach the hub's output. A full session runs with every log target at
//! `trace`: every tool, token refreshes, credential errors and tool errors. Then stdout and
//! stderr are searched for the OMA JWT and for any Google token the sandbox issued.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};

/// Every access token the sandbox issues starts with this; refresh tokens with the second.
const ACCESS_TOKEN_MARK: &str = "ya29.sandbox-";
const REFRESH_TOKEN_MARK: &str = "1//sandbox-";

/// A session over stdio at trace level leaks neither the OMA JWT nor a Google token.
#[tokio::test]
async fn trace_session_leaks_no_secret() {
    // Two-second tokens are never "usable" past the expiry margin, so every call refreshes.
    let sandbox = Sandbox::start(SandboxOptions {
        token_lifetime: Some(Duration::from_secs(2)),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let jwt = sandbox.oma_access_token().to_owned();
    let workdir = tempfile::tempdir().unwrap();
    let env = [
        ("OMA_BACKEND_URL", sandbox.base_url().to_string()),
        ("OMA_ACCESS_TOKEN", jwt.clone()),
        ("GOOGLE_API_BASE_URL", sandbox.base_url().to_string()),
        (
            "HUB_ATTACHMENT_DIR",
            workdir.path().join("attachments").display().to_string(),
        ),
        ("HUB_GMAIL_ACCESS", gmail_access().to_owned()),
        ("HUB_CALENDAR_ACCESS", "write".to_owned()),
    ];

    let output = run_session(workdir.path(), &env, &session_requests()).await;

    assert!(
        output.contains("\"jsonrpc\""),
        "the session produced no responses"
    );
    assert!(
        output.contains("TRACE") || output.contains("DEBUG"),
        "trace logging was not on"
    );
    assert_no_secret(&output, &jwt);

    // The error path: a JWT the backend rejects must not be echoed either.
    let rejected_jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.REJECTEDSIGNATURE";
    let env = [
        ("OMA_BACKEND_URL", sandbox.base_url().to_string()),
        ("OMA_ACCESS_TOKEN", rejected_jwt.to_owned()),
        ("GOOGLE_API_BASE_URL", sandbox.base_url().to_string()),
    ];
    let output = run_session(workdir.path(), &env, &session_requests()[..4]).await;
    assert!(
        output.contains("rejected"),
        "the rejected JWT produced no error"
    );
    assert_no_secret(&output, rejected_jwt);

    sandbox.shutdown().await;
}

fn assert_no_secret(output: &str, jwt: &str) {
    for (name, secret) in [
        ("the OMA JWT", jwt),
        ("the JWT's signature", jwt.rsplit('.').next().unwrap()),
        ("a Google access token", ACCESS_TOKEN_MARK),
        ("a Google refresh token", REFRESH_TOKEN_MARK),
    ] {
        if let Some(at) = output.find(secret) {
            let start = output[..at].rfind('\n').map_or(0, |line| line + 1);
            let line: String = output[start..]
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            panic!("{name} appears in the output: {line}");
        }
    }
}

/// The highest Gmail level this build allows, so the session reaches every write tool it has.
fn gmail_access() -> &'static str {
    if cfg!(feature = "gmail-send") {
        "send"
    } else {
        "draft"
    }
}

/// Requests that touch every tool, good and bad arguments, and a not-found id.
fn session_requests() -> Vec<Value> {
    let call = |id: i64, name: &str, arguments: Value| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}});
    vec![
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "leak-test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        call(
            3,
            "gmail_search_messages",
            json!({"query": "in:anywhere", "max_results": 20}),
        ),
        call(
            4,
            "gmail_search_messages",
            json!({"query": "has:attachment"}),
        ),
        call(5, "gmail_list_labels", json!({})),
        call(6, "calendar_list_calendars", json!({})),
        call(7, "calendar_list_events", json!({})),
        call(8, "hub_status", json!({})),
        call(
            9,
            "gmail_get_message",
            json!({"message_id": "0000000000000000"}),
        ),
        call(10, "gmail_get_message", json!({"message_id": 12})),
        call(11, "calendar_get_event", json!({"event_id": "nosuchevent"})),
        call(
            12,
            "gmail_get_thread",
            json!({"thread_id": "0000000000000000"}),
        ),
        call(
            13,
            "gmail_create_draft",
            json!({"to": ["ana@example.com"], "subject": "Draft", "body": "Hello"}),
        ),
        call(14, "gmail_list_drafts", json!({})),
        call(
            15,
            "gmail_send_message",
            json!({"to": ["ana@example.com"], "subject": "Sent", "body": "Hello"}),
        ),
        call(16, "gmail_create_label", json!({"name": "Leak test"})),
        call(
            17,
            "gmail_modify_labels",
            json!({"message_ids": ["0000000000000000"], "archive": true}),
        ),
        call(
            18,
            "gmail_trash_message",
            json!({"message_id": "0000000000000000"}),
        ),
        call(
            19,
            "calendar_create_event",
            json!({"summary": "Leak test", "start": "2026-12-10T09:00:00Z", "end": "2026-12-10T10:00:00Z"}),
        ),
        call(
            20,
            "calendar_query_freebusy",
            json!({"time_min": "2026-12-10T00:00:00Z", "time_max": "2026-12-11T00:00:00Z"}),
        ),
        call(
            21,
            "calendar_find_free_slots",
            json!({"time_min": "2026-12-10T00:00:00Z", "time_max": "2026-12-12T00:00:00Z", "duration_minutes": 30, "time_zone": "Europe/Berlin"}),
        ),
        call(
            22,
            "calendar_delete_event",
            json!({"event_id": "nosuchevent"}),
        ),
    ]
}

/// Runs the hub over stdio at trace level, sends `requests`, reads every response, and
/// returns stdout and stderr together.
async fn run_session(workdir: &Path, env: &[(&str, String)], requests: &[Value]) -> String {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-google-hub"));
    command
        .current_dir(workdir)
        .env("RUST_LOG", "trace")
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
    command.envs(env.iter().map(|(name, value)| (*name, value.as_str())));
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut stderr = child.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });

    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let expected = requests
        .iter()
        .filter(|request| request.get("id").is_some())
        .count();
    let mut transcript = String::new();
    for request in requests {
        stdin
            .write_all(format!("{request}\n").as_bytes())
            .await
            .unwrap();
    }
    stdin.flush().await.unwrap();

    for _ in 0..expected {
        let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
            .await
            .expect("the hub stopped answering")
            .unwrap()
            .expect("stdout closed early");
        transcript.push_str(&line);
        transcript.push('\n');
    }
    drop(stdin);
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;

    transcript.push_str(&stderr_task.await.unwrap());
    transcript
}
