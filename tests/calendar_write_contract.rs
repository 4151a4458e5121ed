//! Contract tests of the Calendar write calls and `freebusy.query` against a wiremock
//! stand-in for Google.
//!
//! Every mock matches the method, the exact path, the exact set of query parameters, the
//! `Authorization` header and the exact JSON body, so a request that drifts from Google's
//! API gets wiremock's 404 and fails the test. The last test checks every recorded request
//! against Google's `calendar.v3` discovery document.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use mcp_google_hub::domain::errors::GoogleApiError;
use mcp_google_hub::domain::models::calendar::{
    EventAttendee, EventDateTime, EventWrite, FreeBusyRequest, FreeBusyRequestItem, SendUpdates,
};
use mcp_google_hub::domain::models::{AccessToken, CalendarId, EventId};
use mcp_google_hub::domain::ports::CalendarApi;
use mcp_google_hub::outbound::google::{CalendarClient, GoogleEndpoints};
use mcp_google_hub::outbound::http::{HttpSettings, build_client};
use mcp_google_hub::outbound::retry::RetryPolicy;

const TOKEN: &str = "ya29.calendar-write-token";

/// A calendar id with the `#` and `@` that group calendars carry, and its path segment.
const GROUP_CALENDAR: &str = "team#ops@group.calendar.google.com";
const GROUP_CALENDAR_SEGMENT: &str = "team%23ops@group.calendar.google.com";

/// Matches when the request's query parameters are exactly these pairs, in any order.
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

/// Starts a mock of an authorized request with exactly this method, path and query.
fn google(http_method: &str, exact_path: &str, query: &[(&str, &str)]) -> MockBuilder {
    Mock::given(method(http_method))
        .and(path(exact_path))
        .and(query_is(query))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/json"))
}

/// As [`google`], for a request with this exact JSON body.
fn google_with_body(
    http_method: &str,
    exact_path: &str,
    query: &[(&str, &str)],
    body: Value,
) -> MockBuilder {
    google(http_method, exact_path, query)
        .and(header("content-type", "application/json"))
        .and(body_json(body))
}

fn token() -> AccessToken {
    AccessToken::new(TOKEN)
}

fn calendar(server: &MockServer) -> CalendarClient {
    let http = build_client(&HttpSettings::default()).expect("the HTTP client builds");
    let endpoints = GoogleEndpoints::with_root(Url::parse(&server.uri()).unwrap());
    CalendarClient::new(http, &endpoints).with_retry_policy(RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::DEFAULT
    })
}

fn stored_event() -> Value {
    json!({
        "kind": "calendar#event",
        "id": "k3v0a1b2c3d4e5f6g7h8i9j0kl",
        "status": "confirmed",
        "summary": "Design review",
        "start": { "dateTime": "2026-03-06T09:00:00-05:00", "timeZone": "America/New_York" },
        "end": { "dateTime": "2026-03-06T10:00:00-05:00", "timeZone": "America/New_York" },
        "attendees": [{ "email": "ana@example.com", "responseStatus": "needsAction" }]
    })
}

fn new_event() -> EventWrite {
    EventWrite {
        id: Some("k3v0a1b2c3d4e5f6g7h8i9j0kl".to_owned()),
        summary: Some("Design review".to_owned()),
        start: Some(EventDateTime {
            date_time: Some("2026-03-06T09:00:00-05:00".to_owned()),
            time_zone: Some("America/New_York".to_owned()),
            ..EventDateTime::default()
        }),
        end: Some(EventDateTime {
            date_time: Some("2026-03-06T10:00:00-05:00".to_owned()),
            time_zone: Some("America/New_York".to_owned()),
            ..EventDateTime::default()
        }),
        attendees: Some(vec![EventAttendee {
            email: Some("ana@example.com".to_owned()),
            ..EventAttendee::default()
        }]),
        recurrence: Some(vec!["RRULE:FREQ=DAILY;COUNT=5".to_owned()]),
        ..EventWrite::default()
    }
}

fn new_event_json() -> Value {
    json!({
        "id": "k3v0a1b2c3d4e5f6g7h8i9j0kl",
        "summary": "Design review",
        "start": { "dateTime": "2026-03-06T09:00:00-05:00", "timeZone": "America/New_York" },
        "end": { "dateTime": "2026-03-06T10:00:00-05:00", "timeZone": "America/New_York" },
        "attendees": [{ "email": "ana@example.com" }],
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]
    })
}

#[tokio::test]
async fn insert_sends_event_and_send_updates() {
    let server = MockServer::start().await;
    google_with_body(
        "POST",
        &format!("/calendar/v3/calendars/{GROUP_CALENDAR_SEGMENT}/events"),
        &[("sendUpdates", "all")],
        new_event_json(),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(stored_event()))
    .expect(1)
    .mount(&server)
    .await;

    let event = calendar(&server)
        .insert_event(
            &token(),
            &CalendarId::new(GROUP_CALENDAR).unwrap(),
            &new_event(),
            SendUpdates::All,
        )
        .await
        .unwrap();

    assert_eq!(event.id, "k3v0a1b2c3d4e5f6g7h8i9j0kl");
    assert_eq!(event.start.time_zone.as_deref(), Some("America/New_York"));
}

#[tokio::test]
async fn all_day_insert_sends_dates() {
    let server = MockServer::start().await;
    google_with_body(
        "POST",
        "/calendar/v3/calendars/primary/events",
        &[("sendUpdates", "none")],
        json!({
            "summary": "Holiday",
            "start": { "date": "2026-12-24" },
            "end": { "date": "2026-12-25" },
            "transparency": "transparent"
        }),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "h1", "start": { "date": "2026-12-24" }, "end": { "date": "2026-12-25" }
    })))
    .expect(1)
    .mount(&server)
    .await;

    let event = EventWrite {
        summary: Some("Holiday".to_owned()),
        start: Some(EventDateTime {
            date: Some("2026-12-24".to_owned()),
            ..EventDateTime::default()
        }),
        end: Some(EventDateTime {
            date: Some("2026-12-25".to_owned()),
            ..EventDateTime::default()
        }),
        transparency: Some("transparent".to_owned()),
        ..EventWrite::default()
    };
    let stored = calendar(&server)
        .insert_event(&token(), &CalendarId::primary(), &event, SendUpdates::None)
        .await
        .unwrap();
    assert_eq!(stored.end.date.as_deref(), Some("2026-12-25"));
}

/// A 500 may come after Google stored the event. The repeated insert then gets 409 for
/// the same id, so the client returns the stored event instead of an error.
#[tokio::test]
async fn insert_retry_after_duplicate_returns_stored_event() {
    let server = MockServer::start().await;
    let events_path = "/calendar/v3/calendars/primary/events";
    google_with_body(
        "POST",
        events_path,
        &[("sendUpdates", "none")],
        new_event_json(),
    )
    .respond_with(ResponseTemplate::new(500))
    .up_to_n_times(1)
    .expect(1)
    .mount(&server)
    .await;
    google_with_body(
        "POST",
        events_path,
        &[("sendUpdates", "none")],
        new_event_json(),
    )
    .respond_with(ResponseTemplate::new(409).set_body_json(json!({
        "error": { "code": 409, "message": "The requested identifier already exists.",
                   "errors": [{ "reason": "duplicate", "domain": "global" }] }
    })))
    .expect(1)
    .mount(&server)
    .await;
    google(
        "GET",
        &format!("{events_path}/k3v0a1b2c3d4e5f6g7h8i9j0kl"),
        &[],
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(stored_event()))
    .expect(1)
    .mount(&server)
    .await;

    let event = calendar(&server)
        .insert_event(
            &token(),
            &CalendarId::primary(),
            &new_event(),
            SendUpdates::None,
        )
        .await
        .unwrap();
    assert_eq!(event.summary.as_deref(), Some("Design review"));
}

/// Without a client-chosen id a second insert could create a second event, so a 503 is
/// not retried.
#[tokio::test]
async fn insert_without_id_is_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;

    let event = EventWrite {
        id: None,
        ..new_event()
    };
    let error = calendar(&server)
        .insert_event(&token(), &CalendarId::primary(), &event, SendUpdates::None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, GoogleApiError::Unavailable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn patch_sends_only_changed_fields() {
    let server = MockServer::start().await;
    google_with_body(
        "PATCH",
        "/calendar/v3/calendars/primary/events/abc123_20261207T090000Z",
        &[("sendUpdates", "externalOnly")],
        json!({ "summary": "Moved review", "location": "Room 2" }),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(stored_event()))
    .expect(1)
    .mount(&server)
    .await;

    let patch = EventWrite {
        summary: Some("Moved review".to_owned()),
        location: Some("Room 2".to_owned()),
        ..EventWrite::default()
    };
    calendar(&server)
        .patch_event(
            &token(),
            &CalendarId::primary(),
            &EventId::new("abc123_20261207T090000Z").unwrap(),
            &patch,
            SendUpdates::ExternalOnly,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn patch_of_attendees_sends_whole_list() {
    let server = MockServer::start().await;
    google_with_body(
        "PATCH",
        "/calendar/v3/calendars/primary/events/abc123",
        &[("sendUpdates", "all")],
        json!({ "attendees": [
            { "email": "me@example.com", "self": true, "responseStatus": "declined", "comment": "Travelling" },
            { "email": "ana@example.com", "responseStatus": "accepted" }
        ] }),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(stored_event()))
    .expect(1)
    .mount(&server)
    .await;

    let patch = EventWrite {
        attendees: Some(vec![
            EventAttendee {
                email: Some("me@example.com".to_owned()),
                is_self: Some(true),
                response_status: Some("declined".to_owned()),
                comment: Some("Travelling".to_owned()),
                ..EventAttendee::default()
            },
            EventAttendee {
                email: Some("ana@example.com".to_owned()),
                response_status: Some("accepted".to_owned()),
                ..EventAttendee::default()
            },
        ]),
        ..EventWrite::default()
    };
    calendar(&server)
        .patch_event(
            &token(),
            &CalendarId::primary(),
            &EventId::new("abc123").unwrap(),
            &patch,
            SendUpdates::All,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_sends_no_body() {
    let server = MockServer::start().await;
    google(
        "DELETE",
        &format!("/calendar/v3/calendars/{GROUP_CALENDAR_SEGMENT}/events/abc123_20261207T090000Z"),
        &[("sendUpdates", "none")],
    )
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;

    calendar(&server)
        .delete_event(
            &token(),
            &CalendarId::new(GROUP_CALENDAR).unwrap(),
            &EventId::new("abc123_20261207T090000Z").unwrap(),
            SendUpdates::None,
        )
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].body.is_empty());
}

/// A delete repeated after a 503 finds the event gone (410) and counts as done.
#[tokio::test]
async fn repeated_delete_that_finds_event_gone_succeeds() {
    let server = MockServer::start().await;
    let event_path = "/calendar/v3/calendars/primary/events/abc123";
    google("DELETE", event_path, &[("sendUpdates", "none")])
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    google("DELETE", event_path, &[("sendUpdates", "none")])
        .respond_with(ResponseTemplate::new(410).set_body_json(json!({
            "error": { "code": 410, "message": "Resource has been deleted",
                       "errors": [{ "reason": "deleted", "domain": "global" }] }
        })))
        .expect(1)
        .mount(&server)
        .await;

    calendar(&server)
        .delete_event(
            &token(),
            &CalendarId::primary(),
            &EventId::new("abc123").unwrap(),
            SendUpdates::None,
        )
        .await
        .unwrap();
}

/// A first-attempt 410 is a real error: the event was deleted before this call.
#[tokio::test]
async fn first_delete_of_deleted_event_fails() {
    let server = MockServer::start().await;
    google(
        "DELETE",
        "/calendar/v3/calendars/primary/events/abc123",
        &[("sendUpdates", "none")],
    )
    .respond_with(ResponseTemplate::new(410))
    .mount(&server)
    .await;

    let error = calendar(&server)
        .delete_event(
            &token(),
            &CalendarId::primary(),
            &EventId::new("abc123").unwrap(),
            SendUpdates::None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, GoogleApiError::InvalidRequest { status: 410, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn freebusy_sends_window_and_reads_errors() {
    let server = MockServer::start().await;
    google_with_body(
        "POST",
        "/calendar/v3/freeBusy",
        &[],
        json!({
            "timeMin": "2026-03-02T00:00:00Z",
            "timeMax": "2026-03-09T00:00:00Z",
            "timeZone": "Europe/Berlin",
            "items": [{ "id": "primary" }, { "id": "ghost@example.com" }]
        }),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "kind": "calendar#freeBusy",
        "timeMin": "2026-03-02T00:00:00.000Z",
        "timeMax": "2026-03-09T00:00:00.000Z",
        "calendars": {
            "primary": { "busy": [
                { "start": "2026-03-02T10:00:00+01:00", "end": "2026-03-02T11:00:00+01:00" }
            ] },
            "ghost@example.com": {
                "errors": [{ "domain": "global", "reason": "notFound" }],
                "busy": []
            }
        }
    })))
    .expect(1)
    .mount(&server)
    .await;

    let request = FreeBusyRequest {
        time_min: "2026-03-02T00:00:00Z".to_owned(),
        time_max: "2026-03-09T00:00:00Z".to_owned(),
        time_zone: Some("Europe/Berlin".to_owned()),
        items: vec![
            FreeBusyRequestItem {
                id: "primary".to_owned(),
            },
            FreeBusyRequestItem {
                id: "ghost@example.com".to_owned(),
            },
        ],
    };
    let response = calendar(&server)
        .query_freebusy(&token(), &request)
        .await
        .unwrap();

    assert_eq!(response.calendars["primary"].busy.len(), 1);
    assert_eq!(
        response.calendars["ghost@example.com"].errors[0]
            .reason
            .as_deref(),
        Some("notFound")
    );
}

/// Sends every write call, then checks each recorded request against the discovery
/// document: the HTTP method and path template, each query parameter and its enum, and
/// each top-level body field a property of the request schema.
#[tokio::test]
async fn write_requests_match_discovery_document() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "x" })))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "x" })))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let client = calendar(&server);
    let calendar_id = CalendarId::primary();
    let event_id = EventId::new("abc123").unwrap();

    client
        .insert_event(
            &token(),
            &calendar_id,
            &new_event(),
            SendUpdates::ExternalOnly,
        )
        .await
        .unwrap();
    client
        .patch_event(
            &token(),
            &calendar_id,
            &event_id,
            &new_event(),
            SendUpdates::All,
        )
        .await
        .unwrap();
    client
        .delete_event(&token(), &calendar_id, &event_id, SendUpdates::None)
        .await
        .unwrap();
    let request = FreeBusyRequest {
        time_min: "2026-03-02T00:00:00Z".to_owned(),
        time_max: "2026-03-03T00:00:00Z".to_owned(),
        time_zone: Some("UTC".to_owned()),
        items: vec![FreeBusyRequestItem {
            id: "primary".to_owned(),
        }],
    };
    client.query_freebusy(&token(), &request).await.unwrap();

    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/google-discovery/calendar.v3.json"
    ))
    .expect("discovery document");
    let discovery: Value = serde_json::from_str(&text).unwrap();
    let methods = [
        &discovery["resources"]["events"]["methods"]["insert"],
        &discovery["resources"]["events"]["methods"]["patch"],
        &discovery["resources"]["events"]["methods"]["delete"],
        &discovery["resources"]["freebusy"]["methods"]["query"],
    ];

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4);
    for (request, expected) in requests.iter().zip(methods) {
        let id = expected["id"].as_str().unwrap();
        assert_eq!(request.method.as_str(), expected["httpMethod"], "{id}");

        let segments: Vec<&str> = request.url.path_segments().unwrap().collect();
        let template: Vec<&str> = expected["path"].as_str().unwrap().split('/').collect();
        assert_eq!(&segments[..2], ["calendar", "v3"], "{id}");
        assert_eq!(segments.len() - 2, template.len(), "{id}");
        for (segment, part) in segments[2..].iter().zip(&template) {
            assert!(
                part.starts_with('{') || part == segment,
                "{id}: {segment} vs {part}"
            );
        }

        for (name, value) in request.url.query_pairs() {
            let parameter = &expected["parameters"][name.as_ref()];
            assert_eq!(
                parameter["location"], "query",
                "{id} has no query parameter {name}"
            );
            if let Some(allowed) = parameter["enum"].as_array() {
                assert!(
                    allowed.iter().any(|option| option == value.as_ref()),
                    "{id}: {name}={value}"
                );
            }
        }

        let schema = expected["request"]["$ref"].as_str();
        match schema {
            None => assert!(request.body.is_empty(), "{id} takes no body"),
            Some(schema) => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let properties = &discovery["schemas"][schema]["properties"];
                for key in body.as_object().unwrap().keys() {
                    assert!(
                        properties.get(key).is_some(),
                        "{schema} has no property {key}"
                    );
                }
            }
        }
    }
}
