//! Resource budgets of a tool session against the sandbox, counted rather than timed:
//! connections opened, OMA requests made, and characters returned to the model.

use std::sync::Arc;

use mcp_google_hub::ToolDispatcher;
use mcp_google_hub::app;
use mcp_google_hub::config::{Config, ConfigSources};
use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

const EML_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/eml");

/// The default body budget of `gmail_get_message`, in characters.
const MESSAGE_BODY_CHARS: usize = 8_000;
/// The default per-message body budget of `gmail_get_thread`, in characters.
const THREAD_BODY_CHARS: usize = 2_000;
/// Room for the headers, labels and attachment list around a body, in characters.
const ENVELOPE_CHARS: usize = 4_000;

async fn hub_over(options: SandboxOptions) -> (Sandbox, ToolDispatcher) {
    let sandbox = Sandbox::start(options).await.expect("sandbox starts");
    let mut sources = ConfigSources::default();
    app::point_at_sandbox(&mut sources, &sandbox);
    let config = Config::from_sources(&sources).expect("sandbox configuration");
    let dispatcher = app::build_dispatcher(&config).expect("dispatcher");
    (sandbox, dispatcher)
}

fn corpus() -> SandboxOptions {
    SandboxOptions {
        mail_dir: Some(EML_DIR.into()),
        ..SandboxOptions::default()
    }
}

/// Returns the ids of every message, paging through the search results.
async fn all_message_ids(dispatcher: &ToolDispatcher) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page_token = Value::Null;
    loop {
        let mut arguments = json!({"max_results": 100});
        if !page_token.is_null() {
            arguments["page_token"] = page_token.clone();
        }
        let page = dispatcher
            .call("gmail_search_messages", arguments)
            .await
            .expect("search succeeds");
        for message in page.structured["messages"].as_array().expect("messages") {
            ids.push(message["id"].as_str().expect("id").to_owned());
        }
        page_token = page.structured["next_page_token"].clone();
        if page_token.is_null() {
            return ids;
        }
    }
}

#[tokio::test]
async fn hundred_calls_keep_one_connection_per_client() {
    let (sandbox, lister) = hub_over(SandboxOptions::default()).await;
    let ids = all_message_ids(&lister).await;
    assert!(!ids.is_empty(), "the built-in mailbox has messages");

    // A fresh hub on the same sandbox, so its connections can be told apart.
    let mut sources = ConfigSources::default();
    app::point_at_sandbox(&mut sources, &sandbox);
    let config = Config::from_sources(&sources).expect("sandbox configuration");
    let dispatcher = app::build_dispatcher(&config).expect("dispatcher");
    let connections_before = sandbox.connection_count();
    let oma_requests_before = sandbox.oma_request_count();

    for call in 0..100 {
        let id = &ids[call % ids.len()];
        let result = match call % 4 {
            0 => dispatcher.call("gmail_get_message", json!({"message_id": id})),
            1 => dispatcher.call("gmail_list_labels", Value::Null),
            2 => dispatcher.call("calendar_list_events", Value::Null),
            _ => dispatcher.call("calendar_list_calendars", Value::Null),
        }
        .await;
        assert!(result.is_ok(), "call {call} failed: {:?}", result.err());
    }

    // The sandbox serves both the OMA Backend and Google on one port, and the hub has one
    // pooled client for each, so a session that reuses its connections opens exactly two.
    assert_eq!(
        sandbox.connection_count() - connections_before,
        2,
        "expected one kept-alive connection for OMA and one for Google"
    );
    assert_eq!(
        sandbox.oma_request_count() - oma_requests_before,
        1,
        "the cached token serves every call"
    );
}

#[tokio::test]
async fn searches_reuse_their_connections() {
    let (sandbox, dispatcher) = hub_over(SandboxOptions::default()).await;

    dispatcher
        .call("gmail_search_messages", Value::Null)
        .await
        .expect("search succeeds");
    let after_first = sandbox.connection_count();
    for _ in 0..20 {
        dispatcher
            .call("gmail_search_messages", json!({"query": "is:unread"}))
            .await
            .expect("search succeeds");
    }

    // A search fetches up to 10 messages' metadata at once. The sandbox speaks HTTP/1.1,
    // so that takes up to 10 connections (Google's HTTP/2 carries them on one), and later
    // searches reuse them.
    assert!(
        after_first <= 11,
        "{after_first} connections for one search"
    );
    assert_eq!(sandbox.connection_count(), after_first);
}

#[tokio::test]
async fn concurrent_first_calls_share_one_oma_request() {
    let (sandbox, dispatcher) = hub_over(SandboxOptions::default()).await;
    let dispatcher = Arc::new(dispatcher);

    let calls: Vec<_> = (0..50)
        .map(|_| {
            let dispatcher = Arc::clone(&dispatcher);
            tokio::spawn(async move { dispatcher.call("gmail_list_labels", Value::Null).await })
        })
        .collect();
    for call in calls {
        assert!(call.await.expect("task").is_ok());
    }

    assert_eq!(sandbox.oma_request_count(), 1);
}

#[tokio::test]
async fn corpus_messages_stay_within_budget() {
    let (_sandbox, dispatcher) = hub_over(corpus()).await;
    let ids = all_message_ids(&dispatcher).await;
    assert!(
        ids.len() > 50,
        "the corpus loaded, got {} messages",
        ids.len()
    );

    for id in &ids {
        let message = dispatcher
            .call("gmail_get_message", json!({"message_id": id}))
            .await
            .expect("get succeeds");
        let body_chars = message.structured["body"]
            .as_str()
            .expect("body")
            .chars()
            .count();
        assert!(
            body_chars <= MESSAGE_BODY_CHARS,
            "{id}: body of {body_chars} chars"
        );
        let text_chars = message.text.chars().count();
        assert!(
            text_chars <= MESSAGE_BODY_CHARS + ENVELOPE_CHARS,
            "{id}: text of {text_chars} chars"
        );

        let short = dispatcher
            .call(
                "gmail_get_message",
                json!({"message_id": id, "max_chars": 100}),
            )
            .await
            .expect("get succeeds");
        let short_chars = short.structured["body"]
            .as_str()
            .expect("body")
            .chars()
            .count();
        assert!(short_chars <= 100, "{id}: body of {short_chars} chars");
    }
}

#[tokio::test]
async fn corpus_threads_stay_within_budget() {
    let (_sandbox, dispatcher) = hub_over(corpus()).await;
    let ids = all_message_ids(&dispatcher).await;

    for id in &ids {
        let message = dispatcher
            .call(
                "gmail_get_message",
                json!({"message_id": id, "max_chars": 100}),
            )
            .await
            .expect("get succeeds");
        let thread_id = message.structured["thread_id"].as_str().expect("thread id");
        let thread = dispatcher
            .call("gmail_get_thread", json!({"thread_id": thread_id}))
            .await
            .expect("thread succeeds");

        let messages = thread.structured["messages"].as_array().expect("messages");
        for message in messages {
            let body_chars = message["body"].as_str().expect("body").chars().count();
            assert!(
                body_chars <= THREAD_BODY_CHARS,
                "{thread_id}: body of {body_chars} chars"
            );
        }
        let text_chars = thread.text.chars().count();
        assert!(
            text_chars <= messages.len() * (THREAD_BODY_CHARS + ENVELOPE_CHARS),
            "{thread_id}: text of {text_chars} chars for {} messages",
            messages.len()
        );
    }
}
