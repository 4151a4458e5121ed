//! End to end in `local_file` mode: `auth login` against the sandbox with a simulated
//! browser, then MCP over stdio with access tokens that expire during the test, then
//! `auth status` and `auth logout`. Also runs every command MIGRATION.md shows.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use mcp_google_hub::sandbox::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, Sandbox, SandboxOptions};
use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};

/// The access-token lifetime the sandbox grants here: short, so tokens expire mid-test.
const TOKEN_LIFETIME: Duration = Duration::from_secs(3);

fn hub_command(workdir: &Path, sandbox: Option<&Sandbox>) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-google-hub"));
    command
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
        .env("AUTH_MODE", "local_file")
        .env("GOOGLE_TOKEN_PATH", workdir.join("data/token.google.json"));
    if let Some(sandbox) = sandbox {
        let url = sandbox.base_url().to_string();
        command
            .env("GOOGLE_OAUTH_BASE_URL", &url)
            .env("GOOGLE_API_BASE_URL", &url)
            .env("GOOGLE_CLIENT_ID", OAUTH_CLIENT_ID)
            .env("GOOGLE_CLIENT_SECRET", OAUTH_CLIENT_SECRET);
    }
    command
}

/// Runs `args` (an `auth login` command), plays the browser for the URL it prints, and
/// returns its stdout.
async fn login_with_simulated_browser(mut command: tokio::process::Command) -> String {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _stdin = child.stdin.take();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let mut printed = String::new();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("auth login printed no URL")
            .unwrap()
            .expect("auth login exited before printing a URL");
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("http://") {
            break line;
        }
    };

    // The browser: GET the authorization URL and follow its redirect to the loopback
    // listener of `auth login`.
    let browser = mcp_google_hub::outbound::http::build_client(&Default::default()).unwrap();
    let page = browser.get(&url).send().await.unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    assert!(page.url().as_str().starts_with("http://127.0.0.1:"));
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Authorization received")
    );

    while let Some(line) = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
    {
        printed.push_str(&line);
        printed.push('\n');
    }
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "auth login failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed
}

#[tokio::test]
async fn login_then_tools_survive_token_expiry() {
    let sandbox = Sandbox::start(SandboxOptions {
        token_lifetime: Some(TOKEN_LIFETIME),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let workdir = tempfile::tempdir().unwrap();

    let mut login = hub_command(workdir.path(), Some(&sandbox));
    login.args(["auth", "login", "--no-browser", "--timeout", "60"]);
    let printed = login_with_simulated_browser(login).await;
    assert!(printed.contains("gmail.readonly"), "{printed}");
    assert!(
        printed.contains("Account: sandbox.user@example.com"),
        "{printed}"
    );

    let token_path = workdir.path().join("data/token.google.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&token_path).unwrap()).unwrap();
    assert_eq!(file["account"], "sandbox.user@example.com");
    assert!(file["refresh_token"].as_str().unwrap().starts_with("1//"));
    let exchanged = sandbox.token_request_count();
    assert_eq!(exchanged, 1, "one code exchange");

    let (transport, _stderr) =
        TokioChildProcess::builder(hub_command(workdir.path(), Some(&sandbox)))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
    let client = ().serve(transport).await.unwrap();

    for round in 0..3 {
        let labels = client
            .call_tool(CallToolRequestParams::new("gmail_list_labels"))
            .await
            .unwrap();
        assert_ne!(
            labels.is_error,
            Some(true),
            "round {round}: {:?}",
            labels.content
        );
        let events = client
            .call_tool(CallToolRequestParams::new("calendar_list_calendars"))
            .await
            .unwrap();
        assert_ne!(
            events.is_error,
            Some(true),
            "round {round}: {:?}",
            events.content
        );
        // Every access token the hub held so far has expired after this.
        tokio::time::sleep(TOKEN_LIFETIME + Duration::from_millis(500)).await;
    }
    let status = client
        .call_tool(CallToolRequestParams::new("hub_status"))
        .await
        .unwrap();
    let status = status.structured_content.unwrap();
    assert_eq!(status["auth_mode"], "local_file");
    assert_eq!(status["google_connected"], true, "{status}");
    assert_eq!(status["account_email"], "sandbox.user@example.com");
    client.cancel().await.unwrap();

    assert!(
        sandbox.token_request_count() >= exchanged + 3,
        "the hub refreshed once per expired token, got {} token requests",
        sandbox.token_request_count()
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&token_path).unwrap()).unwrap();
    assert_eq!(
        file["account"], "sandbox.user@example.com",
        "the refresh kept the account"
    );

    let mut status = hub_command(workdir.path(), Some(&sandbox));
    let output = status
        .args(["auth", "status", "--json"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["account"], "sandbox.user@example.com");
    assert_eq!(summary["has_refresh_token"], true);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !text.contains("1//"),
        "auth status never shows tokens: {text}"
    );

    let mut logout = hub_command(workdir.path(), Some(&sandbox));
    let output = logout.args(["auth", "logout"]).output().await.unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("Revoked"), "{text}");
    assert!(!token_path.exists());
}

/// The commands MIGRATION.md shows, in its order, against `--sandbox` and temporary files.
#[tokio::test]
async fn migration_guide_commands_work() {
    let workdir = tempfile::tempdir().unwrap();
    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/MIGRATION.md")).unwrap();
    let mut in_block = false;
    let mut commands = Vec::new();
    for line in guide.lines().map(str::trim) {
        if line.starts_with("```") {
            in_block = !in_block;
        } else if in_block && let Some(command) = line.strip_prefix("mcp-google-hub ") {
            commands.push(command);
        }
    }
    assert!(commands.len() >= 5, "{commands:?}");

    for command in commands {
        let args = shell_words(command);
        let mut hub = hub_command(workdir.path(), None);
        if !args.iter().any(|arg| arg == "--sandbox") {
            hub.arg("--sandbox");
        }
        hub.args(&args);
        let output = if args.iter().any(|arg| arg == "login") {
            // The test plays the browser; a real one must not open.
            hub.arg("--no-browser");
            let printed = login_with_simulated_browser(hub).await;
            assert!(printed.contains("Authorized"), "{command}: {printed}");
            continue;
        } else {
            hub.stdin(Stdio::null()).output().await.unwrap()
        };
        assert!(
            output.status.success(),
            "`mcp-google-hub {command}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Splits a command line on spaces, keeping single-quoted parts whole.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[test]
fn shell_words_keep_quotes() {
    assert_eq!(
        shell_words(r#"call gmail_search_messages '{"query": "x"}' --json"#),
        [
            "call",
            "gmail_search_messages",
            r#"{"query": "x"}"#,
            "--json"
        ]
    );
    let _ = json!({});
}
