//! Benchmarks of whole tool calls over the messages of the eml corpus:
//!
//! - `dispatch/*`: the hub's own share of a call. A fake `GmailApi` parses the JSON the
//!   sandbox served for the message, so the figure covers dispatch, argument parsing,
//!   credential lookup, response parsing and rendering, with no network.
//! - `sandbox/*`: each read tool against the sandbox over loopback HTTP, and the raw GET of a
//!   message, whose median subtracted from `sandbox/gmail_get_message` gives the hub's
//!   share of a real call as a cross-check.
//! - `render/*`: turning corpus payloads into text, with throughput in bytes of payload JSON.
//!
//! Run with `cargo bench --bench tool_calls`. The corpus is read from `../shared/corpus`
//! beside the repository.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcp_google_hub::config::{Config, ConfigSources};
use mcp_google_hub::domain::errors::{CredentialError, GoogleApiError};
use mcp_google_hub::domain::mail_content;
use mcp_google_hub::domain::models::calendar::{
    CalendarList, Event, EventListQuery, EventWrite, Events, FreeBusyRequest, FreeBusyResponse,
    SendUpdates,
};
use mcp_google_hub::domain::models::gmail::{
    Draft, DraftListQuery, Label, LabelChanges, ListDraftsResponse, ListMessagesResponse, Message,
    MessageFormat, MessageListQuery, MessagePartBody, NewLabel, OutgoingMessage, Profile, Thread,
};
use mcp_google_hub::domain::models::{
    AccessToken, AttachmentId, AuthMode, CalendarId, Credentials, DraftId, EventId, MessageId,
    ProviderStatus, ThreadId,
};
use mcp_google_hub::domain::ports::{CalendarApi, CredentialProvider, GmailApi};
use mcp_google_hub::domain::tools::{ToolContext, ToolSettings};
use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};
use mcp_google_hub::{CredentialCache, ToolDispatcher, app};
use serde_json::{Value, json};

const EML_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/eml");
const ICS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/ics");

/// One corpus message as the sandbox serves it in `format=full`.
struct ServedMessage {
    id: String,
    json: Vec<u8>,
}

/// The hub over a sandbox loaded with the corpus, and every message's served JSON.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    sandbox: Sandbox,
    dispatcher: ToolDispatcher,
    http: reqwest::Client,
    messages: Vec<ServedMessage>,
    thread_id: String,
    event: (String, String),
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (sandbox, dispatcher, http, messages, thread_id, event) = runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxOptions {
            mail_dir: Some(EML_DIR.into()),
            calendar_dir: Some(ICS_DIR.into()),
            ..SandboxOptions::default()
        })
        .await
        .expect("sandbox");
        let mut sources = ConfigSources::default();
        app::point_at_sandbox(&mut sources, &sandbox);
        let config = Config::from_sources(&sources).expect("config");
        let dispatcher = app::build_dispatcher(&config).expect("dispatcher");
        let http = reqwest::Client::new();

        let page = dispatcher
            .call("gmail_search_messages", json!({"max_results": 100}))
            .await
            .expect("search");
        let token = google_token(&dispatcher).await;
        let mut messages = Vec::new();
        for summary in page.structured["messages"].as_array().expect("messages") {
            let id = summary["id"].as_str().expect("id").to_owned();
            let json = raw_get(&http, &sandbox, &token, &id).await;
            messages.push(ServedMessage { id, json });
        }
        let thread_id = page.structured["messages"][0]["thread_id"]
            .as_str()
            .expect("thread id")
            .to_owned();

        let events = dispatcher
            .call(
                "calendar_list_events",
                json!({"time_min": "2000-01-01", "time_max": "2100-01-01", "max_results": 1}),
            )
            .await
            .expect("events");
        let event = &events.structured["events"][0];
        let event = (
            event["calendar_id"]
                .as_str()
                .unwrap_or("primary")
                .to_owned(),
            event["id"].as_str().expect("event id").to_owned(),
        );
        (sandbox, dispatcher, http, messages, thread_id, event)
    });
    Fixture {
        runtime,
        sandbox,
        dispatcher,
        http,
        messages,
        thread_id,
        event,
    }
}

/// Returns the Google access token the dispatcher holds, for raw requests to the sandbox.
async fn google_token(dispatcher: &ToolDispatcher) -> String {
    let credentials = dispatcher
        .context()
        .credentials()
        .get()
        .await
        .expect("credentials");
    credentials.access_token.expose_secret().to_owned()
}

async fn raw_get(http: &reqwest::Client, sandbox: &Sandbox, token: &str, id: &str) -> Vec<u8> {
    let url = sandbox
        .base_url()
        .join(&format!("gmail/v1/users/me/messages/{id}?format=full"))
        .expect("url");
    let response = http.get(url).bearer_auth(token).send().await.expect("get");
    response.bytes().await.expect("body").to_vec()
}

/// Hands out a token valid for an hour.
struct StaticProvider;

#[async_trait]
impl CredentialProvider for StaticProvider {
    fn mode(&self) -> AuthMode {
        AuthMode::OmaBackend
    }

    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
        Ok(Credentials {
            expires_at: Some(Utc::now() + TimeDelta::hours(1)),
            ..Credentials::bearer(AccessToken::new("bench-token"))
        })
    }

    async fn status(&self) -> Result<ProviderStatus, CredentialError> {
        Ok(ProviderStatus::default())
    }
}

/// Serves `messages.get` by parsing the JSON the sandbox served for that id, as the real
/// client parses Google's body. Every other call fails: the benchmark makes none.
struct ServedGmail {
    messages: Vec<(String, Vec<u8>)>,
}

fn unused() -> GoogleApiError {
    GoogleApiError::Unavailable {
        message: "not served by the benchmark".to_owned(),
    }
}

#[async_trait]
impl GmailApi for ServedGmail {
    async fn list_messages(
        &self,
        _: &AccessToken,
        _: &MessageListQuery,
    ) -> Result<ListMessagesResponse, GoogleApiError> {
        Err(unused())
    }

    async fn get_message(
        &self,
        _: &AccessToken,
        id: &MessageId,
        _: &MessageFormat,
    ) -> Result<Message, GoogleApiError> {
        let (_, json) = self
            .messages
            .iter()
            .find(|(served, _)| served == id.as_str())
            .ok_or_else(unused)?;
        serde_json::from_slice(json).map_err(|error| GoogleApiError::InvalidResponse {
            message: error.to_string(),
        })
    }

    async fn get_thread(
        &self,
        _: &AccessToken,
        _: &ThreadId,
        _: &MessageFormat,
    ) -> Result<Thread, GoogleApiError> {
        Err(unused())
    }

    async fn list_labels(&self, _: &AccessToken) -> Result<Vec<Label>, GoogleApiError> {
        Err(unused())
    }

    async fn get_attachment(
        &self,
        _: &AccessToken,
        _: &MessageId,
        _: &AttachmentId,
    ) -> Result<MessagePartBody, GoogleApiError> {
        Err(unused())
    }

    async fn get_profile(&self, _: &AccessToken) -> Result<Profile, GoogleApiError> {
        Err(unused())
    }

    async fn send_message(
        &self,
        _: &AccessToken,
        _: &OutgoingMessage,
    ) -> Result<Message, GoogleApiError> {
        Err(unused())
    }

    async fn create_draft(
        &self,
        _: &AccessToken,
        _: &OutgoingMessage,
    ) -> Result<Draft, GoogleApiError> {
        Err(unused())
    }

    async fn update_draft(
        &self,
        _: &AccessToken,
        _: &DraftId,
        _: &OutgoingMessage,
    ) -> Result<Draft, GoogleApiError> {
        Err(unused())
    }

    async fn list_drafts(
        &self,
        _: &AccessToken,
        _: &DraftListQuery,
    ) -> Result<ListDraftsResponse, GoogleApiError> {
        Err(unused())
    }

    async fn get_draft(
        &self,
        _: &AccessToken,
        _: &DraftId,
        _: &MessageFormat,
    ) -> Result<Draft, GoogleApiError> {
        Err(unused())
    }

    async fn send_draft(&self, _: &AccessToken, _: &DraftId) -> Result<Message, GoogleApiError> {
        Err(unused())
    }

    async fn delete_draft(&self, _: &AccessToken, _: &DraftId) -> Result<(), GoogleApiError> {
        Err(unused())
    }

    async fn modify_message(
        &self,
        _: &AccessToken,
        _: &MessageId,
        _: &LabelChanges,
    ) -> Result<Message, GoogleApiError> {
        Err(unused())
    }

    async fn batch_modify_messages(
        &self,
        _: &AccessToken,
        _: &[MessageId],
        _: &LabelChanges,
    ) -> Result<(), GoogleApiError> {
        Err(unused())
    }

    async fn trash_message(
        &self,
        _: &AccessToken,
        _: &MessageId,
    ) -> Result<Message, GoogleApiError> {
        Err(unused())
    }

    async fn untrash_message(
        &self,
        _: &AccessToken,
        _: &MessageId,
    ) -> Result<Message, GoogleApiError> {
        Err(unused())
    }

    async fn create_label(&self, _: &AccessToken, _: &NewLabel) -> Result<Label, GoogleApiError> {
        Err(unused())
    }
}

struct NoCalendar;

#[async_trait]
impl CalendarApi for NoCalendar {
    async fn list_calendars(
        &self,
        _: &AccessToken,
        _: Option<String>,
    ) -> Result<CalendarList, GoogleApiError> {
        Err(unused())
    }

    async fn list_events(
        &self,
        _: &AccessToken,
        _: &EventListQuery,
    ) -> Result<Events, GoogleApiError> {
        Err(unused())
    }

    async fn get_event(
        &self,
        _: &AccessToken,
        _: &CalendarId,
        _: &EventId,
    ) -> Result<Event, GoogleApiError> {
        Err(unused())
    }

    async fn insert_event(
        &self,
        _: &AccessToken,
        _: &CalendarId,
        _: &EventWrite,
        _: SendUpdates,
    ) -> Result<Event, GoogleApiError> {
        Err(unused())
    }

    async fn patch_event(
        &self,
        _: &AccessToken,
        _: &CalendarId,
        _: &EventId,
        _: &EventWrite,
        _: SendUpdates,
    ) -> Result<Event, GoogleApiError> {
        Err(unused())
    }

    async fn delete_event(
        &self,
        _: &AccessToken,
        _: &CalendarId,
        _: &EventId,
        _: SendUpdates,
    ) -> Result<(), GoogleApiError> {
        Err(unused())
    }

    async fn query_freebusy(
        &self,
        _: &AccessToken,
        _: &FreeBusyRequest,
    ) -> Result<FreeBusyResponse, GoogleApiError> {
        Err(unused())
    }
}

/// Cycles through the corpus so every iteration reads the next message.
fn next_id<'a>(messages: &'a [ServedMessage], cursor: &AtomicUsize) -> &'a str {
    let index = cursor.fetch_add(1, Ordering::Relaxed) % messages.len();
    &messages[index].id
}

fn dispatch(c: &mut Criterion, fixture: &Fixture) {
    let gmail = ServedGmail {
        messages: fixture
            .messages
            .iter()
            .map(|message| (message.id.clone(), message.json.clone()))
            .collect(),
    };
    let cache = Arc::new(CredentialCache::new(Arc::new(StaticProvider)));
    let dispatcher = ToolDispatcher::new(ToolContext::new(
        cache,
        Arc::new(gmail),
        Arc::new(NoCalendar),
        ToolSettings::default(),
    ));
    let cursor = AtomicUsize::new(0);

    c.bench_function("dispatch/gmail_get_message (corpus, no network)", |b| {
        b.to_async(&fixture.runtime).iter(|| {
            let id = next_id(&fixture.messages, &cursor);
            let dispatcher = &dispatcher;
            async move {
                dispatcher
                    .call("gmail_get_message", json!({"message_id": id}))
                    .await
                    .expect("call")
            }
        })
    });
}

fn render(c: &mut Criterion, fixture: &Fixture) {
    let messages: Vec<Message> = fixture
        .messages
        .iter()
        .map(|message| serde_json::from_slice(&message.json).expect("served JSON parses"))
        .collect();
    let bytes: usize = fixture
        .messages
        .iter()
        .map(|message| message.json.len())
        .sum();

    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("corpus payloads to text", |b| {
        b.iter(|| {
            for message in &messages {
                if let Some(payload) = &message.payload {
                    std::hint::black_box(mail_content::extract(payload));
                }
            }
        })
    });
    group.bench_function("corpus JSON parsed and to text", |b| {
        b.iter(|| {
            for served in &fixture.messages {
                let message: Message = serde_json::from_slice(&served.json).expect("parses");
                if let Some(payload) = &message.payload {
                    std::hint::black_box(mail_content::extract(payload));
                }
            }
        })
    });
    group.finish();
}

fn sandbox_round_trips(c: &mut Criterion, fixture: &Fixture) {
    let token = fixture.runtime.block_on(google_token(&fixture.dispatcher));
    let cursor = AtomicUsize::new(0);
    let mut group = c.benchmark_group("sandbox");

    group.bench_function("raw GET messages/{id}", |b| {
        b.to_async(&fixture.runtime).iter(|| {
            let id = next_id(&fixture.messages, &cursor);
            raw_get(&fixture.http, &fixture.sandbox, &token, id)
        })
    });
    group.bench_function("gmail_get_message", |b| {
        b.to_async(&fixture.runtime).iter(|| {
            let id = next_id(&fixture.messages, &cursor);
            call(
                &fixture.dispatcher,
                "gmail_get_message",
                json!({"message_id": id}),
            )
        })
    });

    let (calendar_id, event_id) = &fixture.event;
    let fixed: [(&str, Value); 6] = [
        ("gmail_search_messages", json!({"query": "is:unread"})),
        ("gmail_get_thread", json!({"thread_id": fixture.thread_id})),
        ("gmail_list_labels", Value::Null),
        ("calendar_list_calendars", Value::Null),
        (
            "calendar_list_events",
            json!({"time_min": "2000-01-01", "time_max": "2100-01-01"}),
        ),
        (
            "calendar_get_event",
            json!({"calendar_id": calendar_id, "event_id": event_id}),
        ),
    ];
    for (tool, arguments) in fixed {
        group.bench_function(tool, |b| {
            b.to_async(&fixture.runtime)
                .iter(|| call(&fixture.dispatcher, tool, arguments.clone()))
        });
    }
    group.finish();
}

async fn call(dispatcher: &ToolDispatcher, tool: &str, arguments: Value) {
    dispatcher.call(tool, arguments).await.expect("tool call");
}

fn benches(c: &mut Criterion) {
    let fixture = fixture();
    dispatch(c, &fixture);
    render(c, &fixture);
    sandbox_round_trips(c, &fixture);
}

fn config() -> Criterion {
    // Short runs: the figures are medians over a few thousand calls, enough on a noisy host.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! {
    name = tool_calls;
    config = config();
    targets = benches
}
criterion_main!(tool_calls);
