//! Entry points for the fuzz targets in `fuzz/` and the corpus replay test: one function
//! per parser of outside input, each taking raw bytes and running the same code that real
//! input reaches.
//!
//! This module is not part of the public API. It exists only with the internal `__fuzz`
//! feature and may change in any release. Every function discards the parser's result,
//! because the only property checked is that no input makes a parser panic.

use std::path::Path;

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::Value;

use crate::domain::mail_content;
#[cfg(feature = "local-file")]
use crate::domain::models::Credentials;
use crate::domain::models::gmail::Message;

/// A fixed clock, so that a crash found at one time replays at any other.
fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The mailbox owner assumed by the sandbox loaders.
const OWNER: &str = "me@example.com";

/// Parses an OMA Backend body as a `google/credentials` response, as a `google/status`
/// response and as an error body.
#[cfg(feature = "oma-backend")]
pub fn oma_response(body: &[u8]) {
    use crate::outbound::oma::response;

    let _ = response::parse_credentials(body, fixed_now());
    let _ = response::parse_status(body, fixed_now(), "fuzz".to_owned());
    let _ = response::error_detail(body, "secret-token");
}

/// Parses a Google token file, which the provider reads as UTF-8 text, writes it back the
/// way a refresh does and parses that again. Returns the credentials of the rewritten file,
/// so the round-trip property test covers the reader and the writer.
#[cfg(feature = "local-file")]
pub fn token_file(bytes: &[u8]) -> Option<Credentials> {
    use crate::outbound::local_file::token_file::StoredToken;

    let text = std::str::from_utf8(bytes).ok()?;
    let stored = StoredToken::parse(text).ok()?;
    let rewritten = StoredToken::parse(&stored.to_json()).ok()?;
    rewritten.credentials()
}

/// Parses a Gmail message resource and turns its payload into text, as the Gmail tools do.
pub fn gmail_message(bytes: &[u8]) {
    let Ok(message) = serde_json::from_slice::<Message>(bytes) else {
        return;
    };

    if let Some(payload) = &message.payload {
        let _ = mail_content::extract(payload);
    }
    let _ = mail_content::decode_header(message.header("Subject").unwrap_or_default());
    let _ = mail_content::decode_snippet(message.snippet.as_deref().unwrap_or_default());
}

/// Loads an `.eml` file into the sandbox mailbox and reads the resulting message back in
/// every format, which runs the MIME-to-Gmail conversion and the text extraction.
///
/// The loader catches a panic of the MIME parser and skips the file. Under libFuzzer the
/// panic hook aborts first, so such a panic is still reported.
#[cfg(feature = "sandbox")]
pub fn eml(bytes: &[u8]) {
    use crate::sandbox::mailbox::load::{Source, build};
    use crate::sandbox::mailbox::{Format, ListParams};

    let source = Source {
        name: "fuzz.eml".to_owned(),
        bytes: bytes.to_vec(),
    };
    let mailbox = build(vec![source], OWNER);

    // `in:anywhere` keeps a message the loader labelled SPAM or TRASH in the listing.
    let params = ListParams {
        q: Some("in:anywhere".to_owned()),
        include_spam_trash: true,
        ..ListParams::default()
    };
    let ids: Vec<String> = mailbox
        .list(&params)
        .map(|page| page.messages.into_iter().map(|m| m.id).collect())
        .unwrap_or_default();
    for id in ids {
        let message = mailbox.message(&id, &Format::Full);
        if let Ok(message) = &message
            && let Some(payload) = &message.payload
        {
            let _ = mail_content::extract(payload);
        }
        let _ = mailbox.message(&id, &Format::Raw);
        let _ = mailbox.thread(&id, &Format::Full);
    }
}

/// Loads an `.ics` file into the sandbox calendar store the way the directory loader
/// does, then lists two years of occurrences, which expands recurrence rules.
///
/// The loader catches a panic of the iCalendar or RRULE parser and skips the file. Under
/// libFuzzer the panic hook aborts first, so such a panic is still reported.
#[cfg(feature = "sandbox")]
pub fn ics(bytes: &[u8]) {
    use crate::sandbox::calendar::{CalendarStore, EventsParams};

    let text = String::from_utf8_lossy(bytes);
    let store = CalendarStore::from_text("fuzz.ics", &text, OWNER);

    let params = EventsParams {
        time_min: Some("2024-06-01T00:00:00Z".to_owned()),
        time_max: Some("2026-06-01T00:00:00Z".to_owned()),
        single_events: Some("true".to_owned()),
        order_by: Some("startTime".to_owned()),
        ..EventsParams::default()
    };
    let _ = store.list_events("primary", &params);
    let _ = store.list_events("primary", &EventsParams::default());
}

/// The names of the tools whose arguments [`tool_arguments`] checks, in catalog order.
pub fn tool_names() -> Vec<&'static str> {
    crate::domain::tools::all_tools()
        .iter()
        .map(|tool| tool.definition().name)
        .collect()
}

/// Parses `bytes` as JSON and runs the argument parsing and validation of the tool named
/// `tool`, without running the tool. Unknown names and bytes that are not JSON are
/// ignored, as the dispatcher rejects them before any tool sees them.
pub fn tool_arguments(tool: &str, bytes: &[u8]) {
    let Ok(arguments) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };

    let tools = crate::domain::tools::all_tools();
    if let Some(found) = tools.iter().find(|t| t.definition().name == tool) {
        let _ = found.check_arguments(arguments);
    }
}

/// Parses a `.env` file, which the loader reads as UTF-8 text.
pub fn dotenv(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::config::parse_dotenv(text, Path::new("fuzz.env"));
    }
}

/// Screens one line from an MCP client as the stdio server does before rmcp sees it.
#[cfg(feature = "mcp-stdio")]
pub fn mcp_line(bytes: &[u8]) {
    // The stdio reader decodes lines as UTF-8 and rejects the others before screening.
    if let Ok(line) = std::str::from_utf8(bytes) {
        let _ = crate::inbound::mcp::stdio::screen(line);
    }
}

/// Maps a Google error response to the port's error: `status` as the HTTP status (values
/// outside 100..=999 are moved into it) and `body` both as the body and as the value of a
/// `Retry-After` header.
pub fn google_error(status: u16, body: &[u8]) {
    use crate::outbound::google::error::{error_from_status, retry_after};
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    let code = 100 + status % 900;
    let Ok(status) = StatusCode::from_u16(code) else {
        return;
    };

    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(body) {
        headers.insert(RETRY_AFTER, value);
    }
    let delay = retry_after(&headers, fixed_now());

    let _ = error_from_status(status, delay, body);
}
