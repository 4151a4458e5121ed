//! The command line as a user runs it: `status`, `call` and configuration problems.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the hub binary in `workdir` with no OMA, Google or hub variables from the machine.
fn hub(args: &[&str], workdir: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-google-hub"));
    command
        .args(args)
        .current_dir(workdir)
        .env("RUST_LOG", "warn");
    for (name, _) in std::env::vars() {
        if name.starts_with("OMA_")
            || name.starts_with("GOOGLE_")
            || name.starts_with("HUB_")
            || name == "AUTH_MODE"
        {
            command.env_remove(name);
        }
    }
    command.output().expect("the hub binary did not run")
}

/// `status --json` on an unconfigured hub prints the problem as JSON and fails.
#[test]
fn status_json_reports_configuration_error() {
    let workdir = tempfile::tempdir().unwrap();

    let output = hub(&["status", "--json"], workdir.path());

    assert!(!output.status.success());
    let status: Value = serde_json::from_slice(&output.stdout).expect("status --json prints JSON");
    let problem = status["configuration_error"].as_str().unwrap();
    assert!(problem.contains("OMA_BACKEND_URL is not set"), "{problem}");
}

/// `status` succeeds when the credential source answers and Google is connected.
#[cfg(all(feature = "sandbox", feature = "oma-backend"))]
#[test]
fn status_succeeds_on_sandbox() {
    let workdir = tempfile::tempdir().unwrap();

    let output = hub(&["--sandbox", "status"], workdir.path());

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Google connected: yes"), "{text}");
}

/// `status` fails when the OMA Backend cannot be reached.
#[cfg(feature = "oma-backend")]
#[test]
fn status_fails_when_backend_unreachable() {
    let workdir = tempfile::tempdir().unwrap();
    let env = "OMA_BACKEND_URL=http://127.0.0.1:9\nOMA_ACCESS_TOKEN=header.payload.signature\nOMA_TIMEOUT_SECS=2\n";
    std::fs::write(workdir.path().join(".env"), env).unwrap();

    let output = hub(&["status"], workdir.path());

    assert!(!output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Source reachable: no"), "{text}");
    assert!(!text.contains("header.payload.signature"), "{text}");
}

/// A `.env` line that does not parse is named by number, never printed.
#[test]
fn malformed_dotenv_hides_value() {
    let workdir = tempfile::tempdir().unwrap();
    std::fs::write(
        workdir.path().join(".env"),
        "OMA_ACCESS_TOKEN=eyJ.eyJ.TOPSECRET\"\n",
    )
    .unwrap();

    let output = hub(&["call", "gmail_list_labels"], workdir.path());

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("invalid line 1"), "{stderr}");
    assert!(!stderr.contains("TOPSECRET"), "{stderr}");
}

/// A tool error exits non-zero with the error on stderr and nothing on stdout.
#[cfg(all(feature = "sandbox", feature = "oma-backend"))]
#[test]
fn call_failure_exits_non_zero() {
    let workdir = tempfile::tempdir().unwrap();

    let output = hub(
        &[
            "--sandbox",
            "call",
            "gmail_get_message",
            r#"{"message_id": "0000000000000000"}"#,
        ],
        workdir.path(),
    );

    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("message 0000000000000000"), "{stderr}");
    assert!(stderr.contains("gmail_search_messages"), "{stderr}");
}
