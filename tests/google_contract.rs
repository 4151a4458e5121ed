//! Contract tests of the Gmail and Calendar clients against a wiremock stand-in for Google.
//!
//! Every mock matches the method, the exact path, the exact set of query parameters and
//! the `Authorization` and `Accept` headers, so a request that drifts from Google's API
//! gets wiremock's 404 and fails the test. The last test checks every recorded request
//! against Google's discovery documents.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use mcp_google_hub::domain::errors::GoogleApiError;
use mcp_google_hub::domain::models::calendar::EventListQuery;
use mcp_google_hub::domain::models::gmail::{MessageFormat, MessageListQuery};
use mcp_google_hub::domain::models::{
    AccessToken, AttachmentId, CalendarId, EventId, MessageId, ThreadId,
};
use mcp_google_hub::domain::ports::{CalendarApi, GmailApi};
use mcp_google_hub::outbound::google::{CalendarClient, GmailClient, GoogleEndpoints};
use mcp_google_hub::outbound::http::{HttpSettings, build_client};
use mcp_google_hub::outbound::retry::RetryPolicy;

const TOKEN: &str = "ya29.contract-test-token";

/// A calendar id with the `#` and `@` that group calendars carry.
const GROUP_CALENDAR: &str = "en.usa#holiday@group.v.calendar.google.com";

/// The same id as one percent-encoded path segment.
const GROUP_CALENDAR_SEGMENT: &str = "en.usa%23holiday@group.v.calendar.google.com";

/// The general response limit of the clients, 16 MiB.
const RESOURCE_LIMIT: usize = 16 * 1024 * 1024;

/// Matches when the request's query parameters are exactly these pairs, in any order,
/// with repeated names counted.
#[derive(Debug)]
struct QueryIs(Vec<(String, String)>);

impl Match for QueryIs {
    fn matches(&self, request: &Request) -> bool {
        let mut actual: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        let mut expected = self.0.clone();
        actual.sort();
        expected.sort();
        actual == expected
    }
}

fn query_is(pairs: &[(&str, &str)]) -> QueryIs {
    QueryIs(
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
    )
}

/// Starts a mock that matches an authorized JSON GET of exactly this path and query.
fn google_get(exact_path: &str, query: &[(&str, &str)]) -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(exact_path))
        .and(query_is(query))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/json"))
}

fn token() -> AccessToken {
    AccessToken::new(TOKEN)
}

fn http_client() -> reqwest::Client {
    build_client(&HttpSettings::default()).expect("the HTTP client builds")
}

fn endpoints(server: &MockServer) -> GoogleEndpoints {
    GoogleEndpoints::with_root(Url::parse(&server.uri()).unwrap())
}

fn gmail(server: &MockServer) -> GmailClient {
    GmailClient::new(http_client(), &endpoints(server))
}

fn calendar(server: &MockServer) -> CalendarClient {
    CalendarClient::new(http_client(), &endpoints(server))
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn events_query(calendar_id: &str) -> EventListQuery {
    EventListQuery {
        calendar_id: CalendarId::new(calendar_id).unwrap(),
        time_min: None,
        time_max: None,
        query: None,
        max_results: 0,
        page_token: None,
        time_zone: None,
    }
}

const PLAIN_TEXT: &str = "Hi Alex,\r\n\r\nThe agenda for Thursday >>> attached. Questions??\r\n";
const HTML_TEXT: &str = "<p>Hi Alex,</p><p>The agenda for Thursday &gt;&gt;&gt; attached.</p>";

/// Builds a `format=full` message as Gmail sends it: `multipart/mixed` with an alternative part
/// and a PDF attachment, base64url bodies and `internalDate` as an int64 string.
fn full_message_json() -> Value {
    json!({
        "id": "18f2a7c3b9d4e5f6",
        "threadId": "18f2a7c3b9d4e5f0",
        "labelIds": ["INBOX", "UNREAD", "CATEGORY_PERSONAL"],
        "snippet": "Hi Alex, The agenda for Thursday &gt;&gt;&gt; attached.",
        "historyId": "4829173",
        "internalDate": "1714557600000",
        "sizeEstimate": 48213,
        "payload": {
            "partId": "",
            "mimeType": "multipart/mixed",
            "filename": "",
            "headers": [
                { "name": "From", "value": "Sam Lee <sam@example.com>" },
                { "name": "To", "value": "alex@example.com" },
                { "name": "Subject", "value": "Agenda for Thursday" },
                { "name": "Date", "value": "Wed, 1 May 2024 10:00:00 +0000" },
                { "name": "Content-Type", "value": "multipart/mixed; boundary=\"000000000000a1b2\"" }
            ],
            "body": { "size": 0 },
            "parts": [
                {
                    "partId": "0",
                    "mimeType": "multipart/alternative",
                    "filename": "",
                    "headers": [
                        { "name": "Content-Type", "value": "multipart/alternative; boundary=\"000000000000c3d4\"" }
                    ],
                    "body": { "size": 0 },
                    "parts": [
                        {
                            "partId": "0.0",
                            "mimeType": "text/plain",
                            "filename": "",
                            "headers": [{ "name": "Content-Type", "value": "text/plain; charset=\"UTF-8\"" }],
                            "body": { "size": PLAIN_TEXT.len(), "data": URL_SAFE_NO_PAD.encode(PLAIN_TEXT) }
                        },
                        {
                            "partId": "0.1",
                            "mimeType": "text/html",
                            "filename": "",
                            "headers": [{ "name": "Content-Type", "value": "text/html; charset=\"UTF-8\"" }],
                            "body": { "size": HTML_TEXT.len(), "data": URL_SAFE_NO_PAD.encode(HTML_TEXT) }
                        }
                    ]
                },
                {
                    "partId": "1",
                    "mimeType": "application/pdf",
                    "filename": "agenda.pdf",
                    "headers": [
                        { "name": "Content-Type", "value": "application/pdf; name=\"agenda.pdf\"" },
                        { "name": "Content-Disposition", "value": "attachment; filename=\"agenda.pdf\"" },
                        { "name": "Content-Transfer-Encoding", "value": "base64" }
                    ],
                    "body": { "attachmentId": "ANGjdJ8xQ2-attachment_id", "size": 40213 }
                }
            ]
        }
    })
}

fn metadata_message_json(id: &str) -> Value {
    json!({
        "id": id,
        "threadId": "18f2a7c3b9d4e5f0",
        "labelIds": ["INBOX"],
        "snippet": "Short note",
        "historyId": "4829170",
        "internalDate": "1714550000000",
        "sizeEstimate": 2048,
        "payload": {
            "mimeType": "text/plain",
            "headers": [
                { "name": "From", "value": "sam@example.com" },
                { "name": "Subject", "value": "Re: Agenda" }
            ]
        }
    })
}

fn event_json(id: &str) -> Value {
    json!({
        "kind": "calendar#event",
        "etag": "\"3420000000000000\"",
        "id": id,
        "status": "confirmed",
        "htmlLink": "https://www.google.com/calendar/event?eid=abc",
        "created": "2024-04-01T09:00:00.000Z",
        "updated": "2024-04-02T09:00:00.000Z",
        "summary": "Weekly sync",
        "description": "<b>Agenda</b> in the doc",
        "location": "Room 4",
        "creator": { "email": "sam@example.com" },
        "organizer": { "email": "sam@example.com", "displayName": "Sam Lee", "self": false },
        "start": { "dateTime": "2024-05-06T10:00:00+02:00", "timeZone": "Europe/Berlin" },
        "end": { "dateTime": "2024-05-06T10:30:00+02:00", "timeZone": "Europe/Berlin" },
        "recurringEventId": "weeklysync",
        "originalStartTime": { "dateTime": "2024-05-06T10:00:00+02:00", "timeZone": "Europe/Berlin" },
        "iCalUID": "weeklysync@google.com",
        "sequence": 0,
        "attendees": [
            { "email": "sam@example.com", "organizer": true, "responseStatus": "accepted" },
            { "email": "alex@example.com", "self": true, "responseStatus": "needsAction", "optional": true }
        ],
        "hangoutLink": "https://meet.google.com/abc-defg-hij",
        "reminders": { "useDefault": true },
        "eventType": "default"
    })
}

#[tokio::test]
async fn list_messages_sends_every_parameter() {
    let server = MockServer::start().await;
    google_get(
        "/gmail/v1/users/me/messages",
        &[
            (
                "q",
                "from:sam@example.com is:unread subject:\"agenda & notes\"",
            ),
            ("maxResults", "25"),
            ("pageToken", "09876543210+/=page"),
            ("labelIds", "INBOX"),
            ("labelIds", "Label_12"),
            ("includeSpamTrash", "true"),
        ],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "messages": [
            { "id": "18f2a7c3b9d4e5f6", "threadId": "18f2a7c3b9d4e5f0" },
            { "id": "18f2a7c3b9d4e5f7", "threadId": "18f2a7c3b9d4e5f7" }
        ],
        "nextPageToken": "13579",
        "resultSizeEstimate": 201
    })))
    .expect(1)
    .mount(&server)
    .await;

    let query = MessageListQuery {
        query: Some("from:sam@example.com is:unread subject:\"agenda & notes\"".to_owned()),
        max_results: 25,
        page_token: Some("09876543210+/=page".to_owned()),
        label_ids: vec!["INBOX".to_owned(), "Label_12".to_owned()],
        include_spam_trash: true,
    };
    let page = gmail(&server)
        .list_messages(&token(), &query)
        .await
        .unwrap();

    assert_eq!(page.messages.len(), 2);
    assert_eq!(page.messages[1].id, "18f2a7c3b9d4e5f7");
    assert_eq!(page.next_page_token.as_deref(), Some("13579"));
    assert_eq!(page.result_size_estimate, Some(201));
}

#[tokio::test]
async fn list_messages_omits_unset_parameters() {
    let server = MockServer::start().await;
    google_get("/gmail/v1/users/me/messages", &[("maxResults", "10")])
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "resultSizeEstimate": 0 })))
        .expect(1)
        .mount(&server)
        .await;

    let query = MessageListQuery {
        max_results: 10,
        query: Some("  ".to_owned()),
        ..MessageListQuery::default()
    };
    let page = gmail(&server)
        .list_messages(&token(), &query)
        .await
        .unwrap();

    assert!(page.messages.is_empty());
    assert_eq!(page.next_page_token, None);
}

#[tokio::test]
async fn get_message_full_parses_nested_parts() {
    let server = MockServer::start().await;
    google_get(
        "/gmail/v1/users/me/messages/18f2a7c3b9d4e5f6",
        &[("format", "full")],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(full_message_json()))
    .expect(1)
    .mount(&server)
    .await;

    let id = MessageId::new("18f2a7c3b9d4e5f6").unwrap();
    let message = gmail(&server)
        .get_message(&token(), &id, &MessageFormat::Full)
        .await
        .unwrap();

    assert_eq!(message.internal_date, Some(1_714_557_600_000));
    assert_eq!(message.history_id.as_deref(), Some("4829173"));
    assert_eq!(message.label_ids, ["INBOX", "UNREAD", "CATEGORY_PERSONAL"]);
    assert_eq!(message.header("subject"), Some("Agenda for Thursday"));

    let payload = message.payload.as_ref().unwrap();
    assert_eq!(payload.mime_type, "multipart/mixed");
    assert_eq!(payload.parts.len(), 2);
    let plain = &payload.parts[0].parts[0];
    assert_eq!(plain.part_id, "0.0");
    let data = plain.body.as_ref().unwrap().data.as_deref().unwrap();
    assert!(
        data.contains('-') || data.contains('_'),
        "the sample should exercise base64url: {data}"
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(data).unwrap(), PLAIN_TEXT.as_bytes());

    let attachment = &payload.parts[1];
    assert_eq!(attachment.filename, "agenda.pdf");
    let body = attachment.body.as_ref().unwrap();
    assert_eq!(
        body.attachment_id.as_deref(),
        Some("ANGjdJ8xQ2-attachment_id")
    );
    assert_eq!(body.size, 40213);
}

#[tokio::test]
async fn get_message_metadata_repeats_headers() {
    let server = MockServer::start().await;
    google_get(
        "/gmail/v1/users/me/messages/18f2a7c3b9d4e5f7",
        &[
            ("format", "metadata"),
            ("metadataHeaders", "From"),
            ("metadataHeaders", "Subject"),
        ],
    )
    .respond_with(
        ResponseTemplate::new(200).set_body_json(metadata_message_json("18f2a7c3b9d4e5f7")),
    )
    .expect(1)
    .mount(&server)
    .await;

    let id = MessageId::new("18f2a7c3b9d4e5f7").unwrap();
    let format = MessageFormat::Metadata(vec!["From".to_owned(), "Subject".to_owned()]);
    let message = gmail(&server)
        .get_message(&token(), &id, &format)
        .await
        .unwrap();

    assert_eq!(message.header("From"), Some("sam@example.com"));
    assert_eq!(message.internal_date, Some(1_714_550_000_000));
}

#[tokio::test]
async fn get_thread_in_both_formats() {
    let server = MockServer::start().await;
    let thread = json!({
        "id": "18f2a7c3b9d4e5f0",
        "snippet": "Short note",
        "historyId": "4829173",
        "messages": [full_message_json(), metadata_message_json("18f2a7c3b9d4e5f7")]
    });
    google_get(
        "/gmail/v1/users/me/threads/18f2a7c3b9d4e5f0",
        &[("format", "full")],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(&thread))
    .expect(1)
    .mount(&server)
    .await;
    google_get(
        "/gmail/v1/users/me/threads/18f2a7c3b9d4e5f0",
        &[
            ("format", "metadata"),
            ("metadataHeaders", "Message-ID"),
            ("metadataHeaders", "In-Reply-To"),
        ],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(&thread))
    .expect(1)
    .mount(&server)
    .await;

    let client = gmail(&server);
    let id = ThreadId::new("18f2a7c3b9d4e5f0").unwrap();
    let full = client
        .get_thread(&token(), &id, &MessageFormat::Full)
        .await
        .unwrap();
    let format = MessageFormat::Metadata(vec!["Message-ID".to_owned(), "In-Reply-To".to_owned()]);
    let metadata = client.get_thread(&token(), &id, &format).await.unwrap();

    assert_eq!(full.messages.len(), 2);
    assert_eq!(full.messages[0].internal_date, Some(1_714_557_600_000));
    assert_eq!(metadata, full);
}

#[tokio::test]
async fn list_labels_returns_labels() {
    let server = MockServer::start().await;
    google_get("/gmail/v1/users/me/labels", &[])
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "labels": [
                { "id": "INBOX", "name": "INBOX", "type": "system", "messagesTotal": 1520, "messagesUnread": 12 },
                { "id": "Label_12", "name": "Receipts", "type": "user", "labelListVisibility": "labelShow" }
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let labels = gmail(&server).list_labels(&token()).await.unwrap();

    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0].messages_unread, Some(12));
    assert_eq!(labels[1].name, "Receipts");
    assert_eq!(labels[1].label_type.as_deref(), Some("user"));
}

#[tokio::test]
async fn get_attachment_returns_data() {
    let server = MockServer::start().await;
    let content = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
    google_get(
        "/gmail/v1/users/me/messages/18f2a7c3b9d4e5f6/attachments/ANGjdJ8xQ2-attachment_id",
        &[],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "size": content.len(),
        "data": URL_SAFE_NO_PAD.encode(content)
    })))
    .expect(1)
    .mount(&server)
    .await;

    let message_id = MessageId::new("18f2a7c3b9d4e5f6").unwrap();
    let attachment_id = AttachmentId::new("ANGjdJ8xQ2-attachment_id").unwrap();
    let body = gmail(&server)
        .get_attachment(&token(), &message_id, &attachment_id)
        .await
        .unwrap();

    assert_eq!(body.size, i64::try_from(content.len()).unwrap());
    assert_eq!(URL_SAFE_NO_PAD.decode(body.data.unwrap()).unwrap(), content);
}

#[tokio::test]
async fn list_calendars_passes_page_token() {
    let server = MockServer::start().await;
    google_get("/calendar/v3/users/me/calendarList", &[])
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "calendar#calendarList",
            "items": [{
                "id": "alex@example.com",
                "summary": "alex@example.com",
                "timeZone": "Europe/Berlin",
                "accessRole": "owner",
                "primary": true
            }],
            "nextPageToken": "EjYKLGVu+/="
        })))
        .expect(1)
        .mount(&server)
        .await;
    google_get(
        "/calendar/v3/users/me/calendarList",
        &[("pageToken", "EjYKLGVu+/=")],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "items": [{
            "id": GROUP_CALENDAR,
            "summary": "Holidays in United States",
            "summaryOverride": "US holidays",
            "accessRole": "reader"
        }]
    })))
    .expect(1)
    .mount(&server)
    .await;

    let client = calendar(&server);
    let first = client.list_calendars(&token(), None).await.unwrap();
    let second = client
        .list_calendars(&token(), first.next_page_token.clone())
        .await
        .unwrap();

    assert_eq!(first.items[0].primary, Some(true));
    assert_eq!(second.items[0].id, GROUP_CALENDAR);
    assert_eq!(
        second.items[0].summary_override.as_deref(),
        Some("US holidays")
    );
    assert_eq!(second.next_page_token, None);
}

#[tokio::test]
async fn list_events_sends_every_parameter() {
    let server = MockServer::start().await;
    google_get(
        &format!("/calendar/v3/calendars/{GROUP_CALENDAR_SEGMENT}/events"),
        &[
            ("singleEvents", "true"),
            ("orderBy", "startTime"),
            ("timeMin", "2024-05-06T00:00:00Z"),
            ("timeMax", "2024-05-13T00:00:00Z"),
            ("q", "sync & review"),
            ("maxResults", "50"),
            ("pageToken", "CigKGjRz+/=="),
            ("timeZone", "Europe/Berlin"),
        ],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "kind": "calendar#events",
        "summary": "Holidays in United States",
        "timeZone": "Europe/Berlin",
        "items": [event_json("weeklysync_20240506T080000Z")],
        "nextPageToken": "next+page"
    })))
    .expect(1)
    .mount(&server)
    .await;

    let query = EventListQuery {
        // Given in another offset, sent in UTC with `Z`.
        time_min: Some(instant("2024-05-06T02:00:00+02:00")),
        time_max: Some(instant("2024-05-13T00:00:00Z")),
        query: Some("sync & review".to_owned()),
        max_results: 50,
        page_token: Some("CigKGjRz+/==".to_owned()),
        time_zone: Some("Europe/Berlin".to_owned()),
        ..events_query(GROUP_CALENDAR)
    };
    let events = calendar(&server)
        .list_events(&token(), &query)
        .await
        .unwrap();

    assert_eq!(events.next_page_token.as_deref(), Some("next+page"));
    let event = &events.items[0];
    assert_eq!(event.recurring_event_id.as_deref(), Some("weeklysync"));
    assert_eq!(
        event.start.date_time.as_deref(),
        Some("2024-05-06T10:00:00+02:00")
    );
    assert_eq!(event.attendees[1].is_self, Some(true));
    assert_eq!(event.ical_uid.as_deref(), Some("weeklysync@google.com"));
}

#[tokio::test]
async fn list_events_always_expands_recurrences() {
    let server = MockServer::start().await;
    google_get(
        "/calendar/v3/calendars/primary/events",
        &[("singleEvents", "true"), ("orderBy", "startTime")],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "items": [] })))
    .expect(1)
    .mount(&server)
    .await;

    let events = calendar(&server)
        .list_events(&token(), &events_query("primary"))
        .await
        .unwrap();

    assert!(events.items.is_empty());
}

#[tokio::test]
async fn get_event_encodes_ids() {
    let server = MockServer::start().await;
    google_get(
        &format!("/calendar/v3/calendars/{GROUP_CALENDAR_SEGMENT}/events/odd%2Fid%23x%3Fy"),
        &[],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(event_json("odd/id#x?y")))
    .expect(1)
    .mount(&server)
    .await;

    let calendar_id = CalendarId::new(GROUP_CALENDAR).unwrap();
    let event_id = EventId::new("odd/id#x?y").unwrap();
    let event = calendar(&server)
        .get_event(&token(), &calendar_id, &event_id)
        .await
        .unwrap();

    assert_eq!(event.id, "odd/id#x?y");
    assert_eq!(event.summary.as_deref(), Some("Weekly sync"));
}

#[tokio::test]
async fn gmail_ids_are_encoded() {
    let server = MockServer::start().await;
    google_get(
        "/gmail/v1/users/me/messages/a%2F..%2Fb%23c",
        &[("format", "full")],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(metadata_message_json("a/../b#c")))
    .expect(1)
    .mount(&server)
    .await;

    let id = MessageId::new("a/../b#c").unwrap();
    let message = gmail(&server)
        .get_message(&token(), &id, &MessageFormat::Full)
        .await
        .unwrap();

    assert_eq!(message.id, "a/../b#c");
}

#[tokio::test]
async fn root_with_path_prefix_joins() {
    let server = MockServer::start().await;
    google_get("/google/gmail/v1/users/me/labels", &[])
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "labels": [] })))
        .expect(2)
        .mount(&server)
        .await;
    google_get("/google/calendar/v3/users/me/calendarList", &[])
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "items": [] })))
        .expect(2)
        .mount(&server)
        .await;

    for root in [
        format!("{}/google", server.uri()),
        format!("{}/google/", server.uri()),
    ] {
        let endpoints = GoogleEndpoints::with_root(Url::parse(&root).unwrap());
        let labels = GmailClient::new(http_client(), &endpoints)
            .list_labels(&token())
            .await;
        let calendars = CalendarClient::new(http_client(), &endpoints)
            .list_calendars(&token(), None)
            .await;

        assert!(labels.is_ok(), "root {root}: {labels:?}");
        assert!(calendars.is_ok(), "root {root}: {calendars:?}");
    }
}

fn google_error_body(code: u16, status: &str, reason: &str, message: &str) -> Value {
    json!({
        "error": {
            "code": code,
            "message": message,
            "status": status,
            "errors": [{ "message": message, "domain": "global", "reason": reason }]
        }
    })
}

/// Serves `response` to `users.labels.list` and returns the error of a client that makes a
/// single attempt, so the mapping is seen without the retries.
async fn labels_error(response: ResponseTemplate) -> GoogleApiError {
    let server = MockServer::start().await;
    google_get("/gmail/v1/users/me/labels", &[])
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;

    gmail(&server)
        .with_retry_policy(RetryPolicy::single_attempt(Duration::from_secs(30)))
        .list_labels(&token())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn error_bodies_map_to_variants() {
    let invalid_credentials = "Request had invalid authentication credentials.";
    let cases = [
        (
            ResponseTemplate::new(401).set_body_json(google_error_body(
                401,
                "UNAUTHENTICATED",
                "authError",
                invalid_credentials,
            )),
            GoogleApiError::Unauthorized {
                message: invalid_credentials.to_owned(),
            },
        ),
        (
            ResponseTemplate::new(403).set_body_json(google_error_body(
                403,
                "PERMISSION_DENIED",
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
            )),
            GoogleApiError::PermissionDenied {
                reason: Some("insufficientPermissions".to_owned()),
                message: "Request had insufficient authentication scopes.".to_owned(),
            },
        ),
        (
            ResponseTemplate::new(403).set_body_json(google_error_body(
                403,
                "PERMISSION_DENIED",
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            )),
            GoogleApiError::RateLimited {
                reason: Some("rateLimitExceeded".to_owned()),
                message: "Rate Limit Exceeded".to_owned(),
                retry_after: None,
            },
        ),
        (
            ResponseTemplate::new(403)
                .insert_header("Retry-After", "5")
                .set_body_json(google_error_body(
                    403,
                    "PERMISSION_DENIED",
                    "userRateLimitExceeded",
                    "User Rate Limit Exceeded",
                )),
            GoogleApiError::RateLimited {
                reason: Some("userRateLimitExceeded".to_owned()),
                message: "User Rate Limit Exceeded".to_owned(),
                retry_after: Some(Duration::from_secs(5)),
            },
        ),
        (
            ResponseTemplate::new(403).set_body_json(google_error_body(
                403,
                "PERMISSION_DENIED",
                "quotaExceeded",
                "Quota exceeded for quota metric 'Queries'.",
            )),
            GoogleApiError::RateLimited {
                reason: Some("quotaExceeded".to_owned()),
                message: "Quota exceeded for quota metric 'Queries'.".to_owned(),
                retry_after: None,
            },
        ),
        (
            ResponseTemplate::new(404).set_body_json(google_error_body(
                404,
                "NOT_FOUND",
                "notFound",
                "Requested entity was not found.",
            )),
            GoogleApiError::NotFound {
                message: "Requested entity was not found.".to_owned(),
            },
        ),
        (
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "17")
                .set_body_json(google_error_body(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "rateLimitExceeded",
                    "Too many concurrent requests for user.",
                )),
            GoogleApiError::RateLimited {
                reason: Some("rateLimitExceeded".to_owned()),
                message: "Too many concurrent requests for user.".to_owned(),
                retry_after: Some(Duration::from_secs(17)),
            },
        ),
        (
            ResponseTemplate::new(400).set_body_json(google_error_body(
                400,
                "INVALID_ARGUMENT",
                "invalidArgument",
                "Invalid id value",
            )),
            GoogleApiError::InvalidRequest {
                status: 400,
                reason: Some("invalidArgument".to_owned()),
                message: "Invalid id value".to_owned(),
            },
        ),
        (
            ResponseTemplate::new(500).set_body_json(google_error_body(
                500,
                "INTERNAL",
                "backendError",
                "Backend Error",
            )),
            GoogleApiError::Unavailable {
                message: "Google returned status 500: Backend Error".to_owned(),
            },
        ),
    ];

    for (response, expected) in cases {
        let error = labels_error(response).await;
        assert_eq!(error, expected);
        assert!(!error.to_string().contains(TOKEN), "{error}");
    }
}

#[tokio::test]
async fn non_json_error_maps_by_status() {
    let html = "<html><title>Error 503 (Server Error)!!1</title><p>private detail</p></html>";
    let error = labels_error(ResponseTemplate::new(503).set_body_raw(html, "text/html")).await;
    assert_eq!(
        error,
        GoogleApiError::Unavailable {
            message: "Google returned status 503: Service Unavailable, and Google's error body \
                      could not be read"
                .to_owned(),
        }
    );

    let error = labels_error(ResponseTemplate::new(429).insert_header("Retry-After", "3")).await;
    assert!(
        matches!(error, GoogleApiError::RateLimited { retry_after: Some(delay), .. } if delay == Duration::from_secs(3)),
        "{error:?}"
    );

    let error =
        labels_error(ResponseTemplate::new(403).set_body_raw("{\"error\": ", "application/json"))
            .await;
    assert!(
        matches!(error, GoogleApiError::PermissionDenied { reason: None, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn malformed_success_body_names_resource() {
    let server = MockServer::start().await;
    google_get("/gmail/v1/users/me/messages/m1", &[("format", "full")])
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "m1",
            "internalDate": "private-date-value"
        })))
        .mount(&server)
        .await;
    google_get("/calendar/v3/users/me/calendarList", &[])
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("<html>private page</html>", "text/html"),
        )
        .mount(&server)
        .await;

    let id = MessageId::new("m1").unwrap();
    let error = gmail(&server)
        .get_message(&token(), &id, &MessageFormat::Full)
        .await
        .unwrap_err();
    let GoogleApiError::InvalidResponse { message } = &error else {
        panic!("expected InvalidResponse, got {error:?}");
    };
    assert!(message.contains("gmail.users.messages.get"), "{message}");
    assert!(message.contains("internalDate"), "{message}");
    assert!(!message.contains("private"), "{message}");

    let error = calendar(&server)
        .list_calendars(&token(), None)
        .await
        .unwrap_err();
    let GoogleApiError::InvalidResponse { message } = &error else {
        panic!("expected InvalidResponse, got {error:?}");
    };
    assert!(message.contains("calendar.calendarList.list"), "{message}");
    assert!(!message.contains("private"), "{message}");
}

#[tokio::test]
async fn oversized_body_is_rejected() {
    let server = MockServer::start().await;
    let padding = "x".repeat(RESOURCE_LIMIT);
    google_get("/gmail/v1/users/me/labels", &[])
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "labels": [], "padding": padding })),
        )
        .mount(&server)
        .await;

    let error = gmail(&server).list_labels(&token()).await.unwrap_err();

    assert_eq!(
        error,
        GoogleApiError::InvalidResponse {
            message: format!(
                "the gmail.users.labels.list response is larger than the hub's limit of {RESOURCE_LIMIT} bytes"
            ),
        }
    );
}

#[tokio::test]
async fn attachment_limit_exceeds_general_limit() {
    let server = MockServer::start().await;
    // 24 MiB of base64url, above the general limit but well under the attachment limit.
    let data = "QUJD".repeat(6 * 1024 * 1024);
    google_get("/gmail/v1/users/me/messages/m1/attachments/a1", &[])
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "size": 18_874_368, "data": data })),
        )
        .mount(&server)
        .await;

    let message_id = MessageId::new("m1").unwrap();
    let attachment_id = AttachmentId::new("a1").unwrap();
    let body = gmail(&server)
        .get_attachment(&token(), &message_id, &attachment_id)
        .await
        .unwrap();

    assert_eq!(body.data.map(|data| data.len()), Some(24 * 1024 * 1024));
}

#[tokio::test]
async fn refused_connection_is_unavailable() {
    // Bind and release a loopback port so that nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let root = format!("http://{}/private-prefix/", listener.local_addr().unwrap());
    drop(listener);

    let endpoints = GoogleEndpoints::with_root(Url::parse(&root).unwrap());
    let query = MessageListQuery {
        query: Some("secret search".to_owned()),
        ..MessageListQuery::default()
    };
    let error = GmailClient::new(http_client(), &endpoints)
        .list_messages(&token(), &query)
        .await
        .unwrap_err();

    let GoogleApiError::Unavailable { message } = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(message.starts_with("the connection failed"), "{message}");
    assert!(!message.contains("private-prefix"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test]
async fn timeout_is_unavailable() {
    let server = MockServer::start().await;
    google_get("/calendar/v3/users/me/calendarList", &[])
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "items": [] }))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;

    let settings = HttpSettings {
        timeout: Duration::from_millis(200),
        ..HttpSettings::default()
    };
    let client = CalendarClient::new(build_client(&settings).unwrap(), &endpoints(&server));
    let error = client.list_calendars(&token(), None).await.unwrap_err();

    let GoogleApiError::Unavailable { message } = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(message.starts_with("the request timed out"), "{message}");
}

/// Collects log output in memory.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_log_omits_url_and_token() {
    let server = MockServer::start().await;
    google_get(
        "/gmail/v1/users/me/messages",
        &[("q", "secret-search-term"), ("maxResults", "5")],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "resultSizeEstimate": 0 })))
    .mount(&server)
    .await;
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("mcp_google_hub=debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let query = MessageListQuery {
        query: Some("secret-search-term".to_owned()),
        max_results: 5,
        ..MessageListQuery::default()
    };
    gmail(&server)
        .list_messages(&token(), &query)
        .await
        .unwrap();

    let output = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = output
        .lines()
        .filter(|line| line.contains("mcp_google_hub") && line.contains("Google API call"))
        .collect();
    assert_eq!(lines.len(), 1, "{output}");
    assert!(lines[0].contains("gmail.users.messages.list"), "{output}");
    assert!(lines[0].contains("status=200"), "{output}");
    assert!(lines[0].contains("elapsed_ms="), "{output}");
    assert!(!output.contains("secret-search-term"), "{output}");
    assert!(!output.contains(TOKEN), "{output}");
    assert!(!output.contains("/users/me"), "{output}");
}

/// The GET methods of one discovery document as (method id, path template, query
/// parameters with their schema).
struct Discovery {
    service_prefix: Vec<String>,
    methods: Vec<(String, Vec<String>, serde_json::Map<String, Value>)>,
}

fn load_discovery(file: &str) -> Discovery {
    let location = format!(
        "{}/../shared/google-discovery/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&location)
        .unwrap_or_else(|error| panic!("reading {location}: {error}"));
    let document: Value = serde_json::from_str(&text).unwrap();

    let root_path = Url::parse(document["rootUrl"].as_str().unwrap())
        .unwrap()
        .path()
        .to_owned();
    let service_path = document["servicePath"].as_str().unwrap_or_default();
    let service_prefix = format!("{root_path}{service_path}")
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(str::to_owned)
        .collect();

    let mut methods = Vec::new();
    collect_methods(&document["resources"], &mut methods);
    Discovery {
        service_prefix,
        methods,
    }
}

fn collect_methods(
    resources: &Value,
    methods: &mut Vec<(String, Vec<String>, serde_json::Map<String, Value>)>,
) {
    let Some(resources) = resources.as_object() else {
        return;
    };
    for resource in resources.values() {
        if let Some(resource_methods) = resource["methods"].as_object() {
            for method in resource_methods.values() {
                if method["httpMethod"] != "GET" {
                    continue;
                }
                let template = method["path"]
                    .as_str()
                    .unwrap()
                    .split('/')
                    .map(str::to_owned)
                    .collect();
                let query = method["parameters"]
                    .as_object()
                    .map(|parameters| {
                        parameters
                            .iter()
                            .filter(|(_, schema)| schema["location"] == "query")
                            .map(|(name, schema)| (name.clone(), schema.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                methods.push((method["id"].as_str().unwrap().to_owned(), template, query));
            }
        }
        collect_methods(&resource["resources"], methods);
    }
}

/// Finds the method whose path template matches `segments`, where `{name}` matches any
/// one segment.
fn match_method<'a>(
    discovery: &'a Discovery,
    segments: &[&str],
) -> Option<&'a (String, Vec<String>, serde_json::Map<String, Value>)> {
    let rest = segments.strip_prefix(
        discovery
            .service_prefix
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
    )?;
    discovery.methods.iter().find(|(_, template, _)| {
        template.len() == rest.len()
            && template.iter().zip(rest).all(|(part, segment)| {
                (part.starts_with('{') && part.ends_with('}') && !part.starts_with("{+"))
                    || part == segment
            })
    })
}

/// Makes every call with every parameter it can send, then checks each recorded request
/// against the discovery documents. The path must match a GET method, and each query
/// parameter must be one of that method's, with a value its schema allows.
#[tokio::test]
async fn requests_match_discovery_documents() {
    let server = MockServer::start().await;
    // `{"id": ...}` parses as every response type the ports return.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "x" })))
        .mount(&server)
        .await;
    let gmail = gmail(&server);
    let calendar = calendar(&server);
    let message_id = MessageId::new("18f2a7c3b9d4e5f6").unwrap();
    let metadata = MessageFormat::Metadata(vec!["From".to_owned(), "Subject".to_owned()]);
    let list = MessageListQuery {
        query: Some("is:unread".to_owned()),
        max_results: 20,
        page_token: Some("p".to_owned()),
        label_ids: vec!["INBOX".to_owned(), "UNREAD".to_owned()],
        include_spam_trash: true,
    };
    let events = EventListQuery {
        time_min: Some(instant("2024-05-06T00:00:00Z")),
        time_max: Some(instant("2024-05-13T00:00:00Z")),
        query: Some("sync".to_owned()),
        max_results: 100,
        page_token: Some("p".to_owned()),
        time_zone: Some("UTC".to_owned()),
        ..events_query(GROUP_CALENDAR)
    };

    gmail.list_messages(&token(), &list).await.unwrap();
    gmail
        .get_message(&token(), &message_id, &MessageFormat::Full)
        .await
        .unwrap();
    gmail
        .get_message(&token(), &message_id, &metadata)
        .await
        .unwrap();
    gmail
        .get_thread(&token(), &ThreadId::new("t1").unwrap(), &metadata)
        .await
        .unwrap();
    gmail.list_labels(&token()).await.unwrap();
    gmail
        .get_attachment(&token(), &message_id, &AttachmentId::new("a1").unwrap())
        .await
        .unwrap();
    calendar
        .list_calendars(&token(), Some("p".to_owned()))
        .await
        .unwrap();
    calendar.list_events(&token(), &events).await.unwrap();
    let event_id = EventId::new("e1").unwrap();
    calendar
        .get_event(
            &token(),
            &CalendarId::new(GROUP_CALENDAR).unwrap(),
            &event_id,
        )
        .await
        .unwrap();

    let documents = [
        load_discovery("gmail.v1.json"),
        load_discovery("calendar.v3.json"),
    ];
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 9);
    let mut methods_seen = BTreeSet::new();
    for request in &requests {
        let segments: Vec<&str> = request.url.path_segments().unwrap().collect();
        let (id, _, parameters) = documents
            .iter()
            .find_map(|document| match_method(document, &segments))
            .unwrap_or_else(|| {
                panic!(
                    "no GET method in the discovery documents has the path {}",
                    request.url.path()
                )
            });
        methods_seen.insert(id.clone());

        for (name, value) in request.url.query_pairs() {
            let schema = parameters
                .get(name.as_ref())
                .unwrap_or_else(|| panic!("{id} has no query parameter {name:?}"));
            if let Some(allowed) = schema["enum"].as_array() {
                assert!(
                    allowed.iter().any(|option| option == value.as_ref()),
                    "{id}: {name}={value} is not in {allowed:?}"
                );
            }
            match schema["type"].as_str() {
                Some("boolean") => {
                    assert!(value == "true" || value == "false", "{id}: {name}={value}")
                }
                Some("integer") => assert!(value.parse::<i64>().is_ok(), "{id}: {name}={value}"),
                _ => {}
            }
            if schema["format"] == "date-time" {
                assert!(
                    value.ends_with('Z') && DateTime::parse_from_rfc3339(&value).is_ok(),
                    "{id}: {name}={value}"
                );
            }
        }
    }

    let expected: BTreeSet<String> = [
        "gmail.users.messages.list",
        "gmail.users.messages.get",
        "gmail.users.threads.get",
        "gmail.users.labels.list",
        "gmail.users.messages.attachments.get",
        "calendar.calendarList.list",
        "calendar.events.list",
        "calendar.events.get",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(methods_seen, expected);
}
