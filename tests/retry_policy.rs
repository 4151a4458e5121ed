//! The shared retry policy as the Gmail client applies it, against wiremock on loopback:
//! which Google failures are retried, how `Retry-After` is honoured, and that a call ends
//! at its deadline. Checks count requests and match error kinds; none measures time.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use mcp_google_hub::domain::errors::GoogleApiError;
use mcp_google_hub::domain::models::AccessToken;
use mcp_google_hub::domain::ports::GmailApi;
use mcp_google_hub::outbound::google::{GmailClient, GoogleEndpoints};
use mcp_google_hub::outbound::http::{HttpSettings, build_client};
use mcp_google_hub::outbound::retry::RetryPolicy;

const LABELS: &str = "/gmail/v1/users/me/labels";

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(2),
        deadline: Duration::from_secs(20),
    }
}

fn client(server: &MockServer, policy: RetryPolicy) -> GmailClient {
    let http = build_client(&HttpSettings::default()).expect("the HTTP client builds");
    let root = url::Url::parse(&server.uri()).expect("mock URL parses");
    GmailClient::new(http, &GoogleEndpoints::with_root(root)).with_retry_policy(policy)
}

fn google_error(code: u16, reason: &str) -> Value {
    json!({
        "error": {
            "code": code,
            "message": "test error",
            "errors": [{ "message": "test error", "domain": "global", "reason": reason }]
        }
    })
}

fn labels_ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "labels": [{ "id": "INBOX", "name": "INBOX" }] }))
}

/// Mounts `first` for the first `times` requests and a success after them.
async fn fail_then_succeed(server: &MockServer, first: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(LABELS))
        .respond_with(first)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(LABELS))
        .respond_with(labels_ok())
        .expect(1)
        .mount(server)
        .await;
}

async fn list_labels(server: &MockServer) -> Result<usize, GoogleApiError> {
    client(server, policy())
        .list_labels(&AccessToken::new("ya29.test"))
        .await
        .map(|labels| labels.len())
}

#[tokio::test]
async fn status_503_then_200_is_retried() {
    let server = MockServer::start().await;
    fail_then_succeed(&server, ResponseTemplate::new(503), 2).await;

    assert_eq!(list_labels(&server).await, Ok(1));
}

#[tokio::test]
async fn status_429_retry_after_is_honoured() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("Retry-After", "1")
        .set_body_json(google_error(429, "rateLimitExceeded"));
    fail_then_succeed(&server, limited, 1).await;

    assert_eq!(list_labels(&server).await, Ok(1));
}

#[tokio::test]
async fn retry_after_past_cap_returns_at_once() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429).insert_header("Retry-After", "3600");
    Mock::given(method("GET"))
        .and(path(LABELS))
        .respond_with(limited)
        .expect(1)
        .mount(&server)
        .await;

    let error = list_labels(&server).await.unwrap_err();

    assert!(
        matches!(error, GoogleApiError::RateLimited { retry_after: Some(wait), .. } if wait == Duration::from_secs(3600)),
        "{error:?}"
    );
}

#[tokio::test]
async fn forbidden_rate_limit_reasons_are_retried() {
    for reason in ["rateLimitExceeded", "userRateLimitExceeded"] {
        let server = MockServer::start().await;
        let limited = ResponseTemplate::new(403).set_body_json(google_error(403, reason));
        fail_then_succeed(&server, limited, 1).await;

        assert_eq!(list_labels(&server).await, Ok(1), "reason {reason}");
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let cases = [
        (
            ResponseTemplate::new(403).set_body_json(google_error(403, "insufficientPermissions")),
            "PermissionDenied",
        ),
        (
            ResponseTemplate::new(403).set_body_json(google_error(403, "dailyLimitExceeded")),
            "RateLimited",
        ),
        (
            ResponseTemplate::new(400).set_body_json(google_error(400, "invalidArgument")),
            "InvalidRequest",
        ),
        (
            ResponseTemplate::new(404).set_body_json(google_error(404, "notFound")),
            "NotFound",
        ),
        (
            ResponseTemplate::new(401).set_body_json(google_error(401, "authError")),
            "Unauthorized",
        ),
    ];
    for (response, variant) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(LABELS))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;

        let error = list_labels(&server).await.unwrap_err();

        assert!(format!("{error:?}").starts_with(variant), "{error:?}");
        // Dropping the server checks that exactly one request arrived.
    }
}

#[tokio::test]
async fn persistent_503_stops_after_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LABELS))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;

    let error = list_labels(&server).await.unwrap_err();

    assert!(
        matches!(error, GoogleApiError::Unavailable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn deadline_ends_a_hanging_call() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LABELS))
        .respond_with(labels_ok().set_delay(Duration::from_secs(30)))
        .expect(1)
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        deadline: Duration::from_millis(300),
        ..policy()
    };

    let error = client(&server, policy)
        .list_labels(&AccessToken::new("ya29.test"))
        .await
        .unwrap_err();

    let GoogleApiError::Unavailable { message } = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(message.contains("did not answer within"), "{message}");
    assert!(message.contains("0.3 s"), "{message}");
}
