//! Dispatcher tests over mocked ports: argument handling, the 401 retry, rendering.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use serde_json::json;

use super::*;
use crate::domain::errors::{CredentialError, GoogleApiError};
use crate::domain::mail_content::encode_base64url;
use crate::domain::models::calendar::{Event, EventDateTime, Events};
use crate::domain::models::gmail::{
    ListMessagesResponse, Message, MessageFormat, MessagePart, MessagePartBody, MessagePartHeader,
    MessageRef,
};
use crate::domain::models::{AccessToken, AuthMode, Credentials};
use crate::domain::ports::{MockCalendarApi, MockCredentialProvider, MockGmailApi};
use crate::domain::service::CredentialCache;
use crate::domain::tools::{ToolContext, ToolSettings};

fn provider_with_tokens(tokens: &'static [&'static str]) -> MockCredentialProvider {
    let mut provider = MockCredentialProvider::new();
    provider.expect_mode().return_const(AuthMode::OmaBackend);
    provider.expect_token_rejected().return_const(());
    let mut sequence = mockall::Sequence::new();
    for token in tokens {
        provider
            .expect_fetch_credentials()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(move || {
                Ok(Credentials {
                    expires_at: Some(Utc::now() + TimeDelta::hours(1)),
                    ..Credentials::bearer(AccessToken::new(*token))
                })
            });
    }
    provider
}

fn dispatcher(
    provider: MockCredentialProvider,
    gmail: MockGmailApi,
    calendar: MockCalendarApi,
) -> ToolDispatcher {
    dispatcher_with(provider, gmail, calendar, ToolSettings::default())
}

fn dispatcher_with(
    provider: MockCredentialProvider,
    gmail: MockGmailApi,
    calendar: MockCalendarApi,
    settings: ToolSettings,
) -> ToolDispatcher {
    let cache = Arc::new(CredentialCache::new(Arc::new(provider)));
    ToolDispatcher::new(ToolContext::new(
        cache,
        Arc::new(gmail),
        Arc::new(calendar),
        settings,
    ))
}

fn header(name: &str, value: &str) -> MessagePartHeader {
    MessagePartHeader {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

fn plain_message(id: &str, body: &str) -> Message {
    Message {
        id: id.to_owned(),
        thread_id: "thread-1".to_owned(),
        label_ids: vec!["INBOX".to_owned(), "UNREAD".to_owned()],
        snippet: Some("Hello there".to_owned()),
        internal_date: Some(1_714_557_600_000),
        payload: Some(MessagePart {
            mime_type: "text/plain".to_owned(),
            headers: vec![
                // Gmail returns header values with RFC 2047 encoded words decoded.
                header("From", "Renée <renee@example.com>"),
                header("To", "me@example.com"),
                header("Subject", "Quarterly report"),
                header("Message-ID", "<abc@example.com>"),
            ],
            body: Some(MessagePartBody {
                size: body.len() as i64,
                data: Some(encode_base64url(body.as_bytes())),
                attachment_id: None,
            }),
            ..MessagePart::default()
        }),
        ..Message::default()
    }
}

#[tokio::test]
async fn unknown_tool_lists_available() {
    let dispatcher = dispatcher(
        MockCredentialProvider::new(),
        MockGmailApi::new(),
        MockCalendarApi::new(),
    );

    let error = dispatcher
        .call("gmail_delete_everything", json!({}))
        .await
        .unwrap_err();

    let message = error.to_string();
    assert!(message.contains("\"gmail_delete_everything\""), "{message}");
    assert!(message.contains("gmail_search_messages"), "{message}");
}

#[tokio::test]
async fn invalid_arguments_name_the_field() {
    let dispatcher = dispatcher(
        MockCredentialProvider::new(),
        MockGmailApi::new(),
        MockCalendarApi::new(),
    );
    let cases = [
        ("gmail_get_message", json!({}), "message_id"),
        ("gmail_get_message", json!({"message_id": 42}), "message_id"),
        (
            "gmail_get_message",
            json!({"message_id": "a", "max_chars": "lots"}),
            "max_chars",
        ),
        (
            "gmail_get_message",
            json!({"message_id": "a", "max_chars": 5}),
            "max_chars",
        ),
        ("gmail_get_message", json!({"message_id": ""}), "message_id"),
        (
            "gmail_search_messages",
            json!({"max_result": 5}),
            "max_result",
        ),
        (
            "gmail_search_messages",
            json!({"max_results": 0}),
            "max_results",
        ),
        (
            "calendar_list_events",
            json!({"time_min": "tomorrow"}),
            "time_min",
        ),
        (
            "calendar_list_events",
            json!({"time_zone": "Mars/Base"}),
            "time_zone",
        ),
        (
            "calendar_list_events",
            json!({"time_min": "2025-01-02", "time_max": "2025-01-01"}),
            "time_max",
        ),
        ("calendar_get_event", json!({"event_id": "a b"}), "event_id"),
    ];

    for (tool, arguments, field) in cases {
        let error = dispatcher.call(tool, arguments.clone()).await.unwrap_err();
        assert!(
            matches!(error, ToolError::InvalidArguments { .. }),
            "expected invalid arguments for {tool} {arguments}, got {error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(tool), "{message}");
        assert!(message.contains(field), "expected {field} in: {message}");
    }
}

#[tokio::test]
async fn non_object_arguments_rejected() {
    let dispatcher = dispatcher(
        MockCredentialProvider::new(),
        MockGmailApi::new(),
        MockCalendarApi::new(),
    );

    let error = dispatcher
        .call("gmail_list_labels", json!([1, 2]))
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        "invalid arguments for gmail_list_labels: arguments must be a JSON object, got an array"
    );
}

#[tokio::test]
async fn search_fetches_metadata_for_each_result() {
    let mut gmail = MockGmailApi::new();
    gmail
        .expect_list_messages()
        .withf(|token, query| {
            token.expose_secret() == "token-1"
                && query.query.as_deref() == Some("from:renee")
                && query.max_results == 20
        })
        .returning(|_, _| {
            Ok(ListMessagesResponse {
                messages: vec![
                    MessageRef {
                        id: "m1".to_owned(),
                        thread_id: "t1".to_owned(),
                    },
                    MessageRef {
                        id: "m2".to_owned(),
                        thread_id: "t2".to_owned(),
                    },
                ],
                next_page_token: Some("page-2".to_owned()),
                result_size_estimate: Some(7),
            })
        });
    gmail
        .expect_get_message()
        .withf(|_, _, format| matches!(format, MessageFormat::Metadata(headers) if headers.contains(&"Subject".to_owned())))
        .times(2)
        .returning(|_, id, _| {
            if id.as_str() == "m2" {
                return Err(GoogleApiError::NotFound { message: "gone".to_owned() });
            }
            Ok(plain_message(id.as_str(), ""))
        });
    let dispatcher = dispatcher(
        provider_with_tokens(&["token-1"]),
        gmail,
        MockCalendarApi::new(),
    );

    let output = dispatcher
        .call("gmail_search_messages", json!({"query": " from:renee "}))
        .await
        .unwrap();

    let messages = output.structured["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["from"], "Renée <renee@example.com>");
    assert_eq!(messages[0]["subject"], "Quarterly report");
    assert_eq!(messages[0]["date"], "2024-05-01T10:00:00Z");
    assert!(messages[0].get("error").is_none());
    assert_eq!(
        messages[1]["error"],
        "the message was deleted after the search ran"
    );
    assert_eq!(output.structured["next_page_token"], "page-2");
    assert!(
        output.text.contains("page_token \"page-2\""),
        "{}",
        output.text
    );
    assert!(output.text.contains("[unread]"), "{}", output.text);
}

#[tokio::test]
async fn rejected_token_is_replaced_and_call_retried_once() {
    let mut gmail = MockGmailApi::new();
    gmail
        .expect_list_labels()
        .withf(|token| token.expose_secret() == "revoked")
        .times(1)
        .returning(|_| {
            Err(GoogleApiError::Unauthorized {
                message: "Invalid Credentials".to_owned(),
            })
        });
    gmail
        .expect_list_labels()
        .withf(|token| token.expose_secret() == "fresh")
        .times(1)
        .returning(|_| Ok(Vec::new()));
    let dispatcher = dispatcher(
        provider_with_tokens(&["revoked", "fresh"]),
        gmail,
        MockCalendarApi::new(),
    );

    let output = dispatcher
        .call("gmail_list_labels", json!(null))
        .await
        .unwrap();

    assert_eq!(output.structured, json!({"labels": []}));
}

#[tokio::test]
async fn second_rejection_is_reported() {
    let mut gmail = MockGmailApi::new();
    gmail.expect_list_labels().times(2).returning(|_| {
        Err(GoogleApiError::Unauthorized {
            message: "Invalid Credentials".to_owned(),
        })
    });
    let dispatcher = dispatcher(
        provider_with_tokens(&["first", "second"]),
        gmail,
        MockCalendarApi::new(),
    );

    let error = dispatcher
        .call("gmail_list_labels", json!({}))
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            ToolError::Google(GoogleApiError::Unauthorized { .. })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn credential_failure_reaches_the_caller() {
    let mut provider = MockCredentialProvider::new();
    provider.expect_mode().return_const(AuthMode::OmaBackend);
    provider.expect_fetch_credentials().returning(|| {
        Err(CredentialError::Unauthorized(
            "the OMA Backend rejected OMA_ACCESS_TOKEN".to_owned(),
        ))
    });
    let dispatcher = dispatcher(provider, MockGmailApi::new(), MockCalendarApi::new());

    let error = dispatcher
        .call("gmail_list_labels", json!({}))
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        "the OMA Backend rejected OMA_ACCESS_TOKEN"
    );
}

#[tokio::test]
async fn configuration_error_returned_by_every_google_tool() {
    let mut provider = MockCredentialProvider::new();
    provider.expect_mode().return_const(AuthMode::OmaBackend);
    let settings = ToolSettings {
        configuration_error: Some("OMA_BACKEND_URL is not set".to_owned()),
        ..ToolSettings::default()
    };
    let dispatcher = dispatcher_with(
        provider,
        MockGmailApi::new(),
        MockCalendarApi::new(),
        settings,
    );

    for tool in [
        "gmail_search_messages",
        "gmail_list_labels",
        "calendar_list_calendars",
        "calendar_list_events",
    ] {
        let error = dispatcher.call(tool, json!({})).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "OMA_BACKEND_URL is not set",
            "tool {tool}"
        );
    }
    let status = dispatcher.call("hub_status", json!({})).await.unwrap();
    assert_eq!(
        status.structured["configuration_error"],
        "OMA_BACKEND_URL is not set"
    );
    assert!(
        status
            .text
            .contains("Configuration error: OMA_BACKEND_URL is not set"),
        "{}",
        status.text
    );
}

#[tokio::test]
async fn long_body_cut_with_continuation() {
    let body = "ü".repeat(250);
    let mut gmail = MockGmailApi::new();
    gmail
        .expect_get_message()
        .times(2)
        .returning(move |_, id, _| Ok(plain_message(id.as_str(), &body)));
    let dispatcher = dispatcher(
        provider_with_tokens(&["token"]),
        gmail,
        MockCalendarApi::new(),
    );

    let first = dispatcher
        .call(
            "gmail_get_message",
            json!({"message_id": "m1", "max_chars": 100}),
        )
        .await
        .unwrap();
    assert_eq!(
        first.structured["body"].as_str().unwrap().chars().count(),
        100
    );
    assert_eq!(first.structured["truncated"], true);
    assert_eq!(first.structured["next_offset"], 100);
    assert_eq!(first.structured["body_total_chars"], 250);
    assert_eq!(first.structured["message_id_header"], "<abc@example.com>");
    assert!(first.text.contains("offset 100"), "{}", first.text);

    let last = dispatcher
        .call(
            "gmail_get_message",
            json!({"message_id": "m1", "max_chars": 200, "offset": 200}),
        )
        .await
        .unwrap();
    assert_eq!(
        last.structured["body"].as_str().unwrap().chars().count(),
        50
    );
    assert_eq!(last.structured["truncated"], false);
    assert!(last.structured["next_offset"].is_null());
}

#[tokio::test]
async fn list_events_defaults_to_next_week_and_marks_all_day() {
    let mut calendar = MockCalendarApi::new();
    calendar
        .expect_list_events()
        .withf(|_, query| {
            let window = query.time_max.unwrap() - query.time_min.unwrap();
            query.calendar_id.as_str() == "primary"
                && window == TimeDelta::days(7)
                && query.max_results == 25
        })
        .returning(|_, _| {
            Ok(Events {
                time_zone: Some("Europe/Berlin".to_owned()),
                items: vec![
                    Event {
                        id: "holiday".to_owned(),
                        summary: Some("Company holiday".to_owned()),
                        start: EventDateTime {
                            date: Some("2025-05-01".to_owned()),
                            ..EventDateTime::default()
                        },
                        end: EventDateTime {
                            date: Some("2025-05-03".to_owned()),
                            ..EventDateTime::default()
                        },
                        ..Event::default()
                    },
                    Event {
                        id: "standup_20250505T070000Z".to_owned(),
                        summary: Some("Standup".to_owned()),
                        start: EventDateTime {
                            date_time: Some("2025-05-05T09:00:00+02:00".to_owned()),
                            time_zone: Some("Europe/Berlin".to_owned()),
                            ..EventDateTime::default()
                        },
                        end: EventDateTime {
                            date_time: Some("2025-05-05T09:15:00+02:00".to_owned()),
                            time_zone: Some("Europe/Berlin".to_owned()),
                            ..EventDateTime::default()
                        },
                        recurring_event_id: Some("standup".to_owned()),
                        ..Event::default()
                    },
                ],
                ..Events::default()
            })
        });
    let dispatcher = dispatcher(
        provider_with_tokens(&["token"]),
        MockGmailApi::new(),
        calendar,
    );

    let output = dispatcher
        .call("calendar_list_events", json!({}))
        .await
        .unwrap();

    let events = output.structured["events"].as_array().unwrap();
    assert_eq!(events[0]["all_day"], true);
    assert_eq!(events[0]["start"], "2025-05-01");
    assert_eq!(events[0]["end"], "2025-05-03");
    assert_eq!(events[1]["all_day"], false);
    assert_eq!(events[1]["start"], "2025-05-05T09:00:00+02:00");
    assert_eq!(output.structured["time_zone"], "Europe/Berlin");
    assert!(
        output
            .text
            .contains("2025-05-01 to 2025-05-02 (all day): Company holiday"),
        "{}",
        output.text
    );
}

#[test]
fn every_tool_has_object_schemas_and_annotations() {
    let dispatcher = dispatcher(
        MockCredentialProvider::new(),
        MockGmailApi::new(),
        MockCalendarApi::new(),
    );
    let names: Vec<_> = dispatcher
        .definitions()
        .map(|definition| definition.name)
        .collect();
    assert_eq!(
        names,
        [
            "gmail_search_messages",
            "gmail_get_message",
            "gmail_get_thread",
            "gmail_list_labels",
            "gmail_get_attachment",
            "calendar_list_calendars",
            "calendar_list_events",
            "calendar_get_event",
            "calendar_query_freebusy",
            "calendar_find_free_slots",
            "hub_status",
        ]
    );

    for definition in dispatcher.definitions() {
        assert_eq!(
            definition.input_schema["type"], "object",
            "{} input",
            definition.name
        );
        assert_eq!(
            definition.output_schema["type"], "object",
            "{} output",
            definition.name
        );
        assert!(
            !definition.input_schema.contains_key("$schema"),
            "{}",
            definition.name
        );
        assert!(
            !definition.input_schema.contains_key("$defs"),
            "{} has unresolved references",
            definition.name
        );
        assert!(definition.annotations.read_only, "{}", definition.name);
        assert!(
            definition.description.len() <= 400,
            "{} description is long",
            definition.name
        );
    }
}

#[tokio::test]
async fn oversized_arguments_rejected_with_size() {
    let dispatcher = dispatcher(
        MockCredentialProvider::new(),
        MockGmailApi::new(),
        MockCalendarApi::new(),
    );
    let query = "x".repeat(super::MAX_ARGUMENTS_BYTES);

    let error = dispatcher
        .call("gmail_search_messages", json!({ "query": query }))
        .await
        .unwrap_err();

    assert!(
        matches!(error, ToolError::InvalidArguments { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("65548 bytes"), "{error}");
}
