//! Contract tests of the OMA Backend client against a wiremock server on loopback.
//!
//! Every mock matches the method, the exact path and the exact `Authorization` header, so a
//! request that strays from the contract gets wiremock's 404 and fails the test.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use mcp_google_hub::domain::errors::CredentialError;
use mcp_google_hub::domain::models::AuthMode;
use mcp_google_hub::domain::ports::CredentialProvider;
use mcp_google_hub::outbound::oma::{OmaClient, OmaSettings};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A JWT-shaped OMA token. No message or `Debug` output may contain it.
const JWT: &str = concat!(
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
    ".eyJzdWIiOiJ1c2VyQGV4YW1wbGUuY29tIn0",
    ".c2VjcmV0LXNpZ25hdHVyZQ",
);

const CREDENTIALS_PATH: &str = "/api/v1/google/credentials";
const STATUS_PATH: &str = "/api/v1/google/status";

fn settings(base_url: &str, api_prefix: &str) -> OmaSettings {
    OmaSettings {
        base_url: Url::parse(base_url).expect("mock server URL parses"),
        api_prefix: api_prefix.to_owned(),
        access_token: SecretString::from(JWT),
        verify_tls: true,
        timeout: Duration::from_secs(5),
    }
}

/// Creates a client for `server` with the default prefix and a retry backoff short enough for tests.
fn client_for(server: &MockServer) -> OmaClient {
    client_with(settings(&server.uri(), OmaSettings::DEFAULT_API_PREFIX))
}

fn client_with(settings: OmaSettings) -> OmaClient {
    OmaClient::new(settings)
        .expect("valid settings")
        .with_retry_policy(3, Duration::from_millis(10))
}

/// Mounts a GET on `route` that requires the exact bearer header and returns
/// `response` exactly `times` times.
async fn mount(server: &MockServer, route: &str, response: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(route))
        .and(header("Authorization", format!("Bearer {JWT}").as_str()))
        .respond_with(response)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

async fn credentials_answering(
    body: serde_json::Value,
) -> Result<mcp_google_hub::domain::models::Credentials, CredentialError> {
    let server = MockServer::start().await;
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(200).set_body_json(body),
        1,
    )
    .await;
    client_for(&server).fetch_credentials().await
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid timestamp")
        .with_timezone(&Utc)
}

/// Asserts that an error's message is free of the JWT, names `variable` and ends as a sentence.
fn assert_clean(error: &CredentialError, variable: &str) {
    let message = error.to_string();
    assert!(
        !message.contains(JWT),
        "the message contains the JWT: {message}"
    );
    assert!(
        !format!("{error:?}").contains(JWT),
        "the Debug output contains the JWT: {error:?}"
    );
    assert!(
        message.contains(variable),
        "the message does not name {variable}: {message}"
    );
    assert!(
        message.ends_with('.'),
        "the message is not a complete sentence: {message}"
    );
}

/// Asserts that an error's message is free of the JWT.
fn assert_no_token(error: &CredentialError) {
    assert!(
        !error.to_string().contains(JWT),
        "the message contains the JWT: {error}"
    );
}

#[tokio::test]
async fn credentials_with_expires_at() {
    let credentials = credentials_answering(json!({
        "access_token": "ya29.access",
        "refresh_token": "1//refresh",
        "token_type": "Bearer",
        "expires_at": "2030-01-01T10:00:00Z",
        "scopes": [
            "https://www.googleapis.com/auth/gmail.readonly",
            "https://www.googleapis.com/auth/calendar.readonly",
        ],
        "email": "person@example.com",
    }))
    .await
    .expect("credentials");

    assert_eq!(credentials.access_token.expose_secret(), "ya29.access");
    assert_eq!(
        credentials
            .refresh_token
            .as_ref()
            .map(|token| token.expose_secret()),
        Some("1//refresh")
    );
    assert_eq!(credentials.token_type, "Bearer");
    assert_eq!(credentials.expires_at, Some(at("2030-01-01T10:00:00Z")));
    assert_eq!(
        credentials.scopes,
        [
            "https://www.googleapis.com/auth/gmail.readonly",
            "https://www.googleapis.com/auth/calendar.readonly"
        ]
    );
    assert_eq!(
        credentials.account_email.as_deref(),
        Some("person@example.com")
    );
}

#[tokio::test]
async fn credentials_with_expires_at_unix_seconds() {
    let credentials =
        credentials_answering(json!({"access_token": "ya29.a", "expires_at": 1_893_492_000})).await;
    assert_eq!(
        credentials.expect("credentials").expires_at,
        Some(at("2030-01-01T10:00:00Z"))
    );
}

#[tokio::test]
async fn credentials_with_expires_in() {
    let before = Utc::now();
    let credentials =
        credentials_answering(json!({"access_token": "ya29.a", "expires_in": 3599})).await;
    let after = Utc::now();

    let expires_at = credentials
        .expect("credentials")
        .expires_at
        .expect("an expiry");
    assert!(
        expires_at >= before + TimeDelta::seconds(3599),
        "{expires_at}"
    );
    assert!(
        expires_at <= after + TimeDelta::seconds(3599),
        "{expires_at}"
    );
}

#[tokio::test]
async fn credentials_with_expires_in_string() {
    let before = Utc::now();
    let credentials =
        credentials_answering(json!({"access_token": "ya29.a", "expires_in": "120"})).await;

    let expires_at = credentials
        .expect("credentials")
        .expires_at
        .expect("an expiry");
    assert!(
        expires_at >= before + TimeDelta::seconds(120),
        "{expires_at}"
    );
    assert!(
        expires_at <= Utc::now() + TimeDelta::seconds(120),
        "{expires_at}"
    );
}

#[tokio::test]
async fn credentials_with_naive_expiry() {
    let credentials = credentials_answering(
        json!({"access_token": "ya29.a", "expiry": "2030-01-01T10:00:00.250000"}),
    )
    .await;
    assert_eq!(
        credentials.expect("credentials").expires_at,
        Some(at("2030-01-01T10:00:00.25Z"))
    );
}

#[tokio::test]
async fn credentials_prefer_expires_at() {
    let credentials = credentials_answering(json!({
        "access_token": "ya29.a",
        "expires_in": 10,
        "expiry": "2031-01-01T00:00:00",
        "expires_at": "2030-01-01T10:00:00+00:00",
    }))
    .await;
    assert_eq!(
        credentials.expect("credentials").expires_at,
        Some(at("2030-01-01T10:00:00Z"))
    );
}

#[tokio::test]
async fn credentials_with_scope_string() {
    let credentials =
        credentials_answering(json!({"access_token": "ya29.a", "scope": "openid email"})).await;
    assert_eq!(
        credentials.expect("credentials").scopes,
        ["openid", "email"]
    );
}

#[tokio::test]
async fn credentials_with_scopes_as_string() {
    let credentials =
        credentials_answering(json!({"access_token": "ya29.a", "scopes": "openid email"})).await;
    assert_eq!(
        credentials.expect("credentials").scopes,
        ["openid", "email"]
    );
}

#[tokio::test]
async fn credentials_with_null_refresh_token() {
    let credentials =
        credentials_answering(json!({"access_token": "ya29.a", "refresh_token": null})).await;
    let credentials = credentials.expect("credentials");
    assert_eq!(credentials.refresh_token, None);
    assert_eq!(credentials.token_type, "Bearer");
    assert_eq!(credentials.expires_at, None);
    assert!(credentials.scopes.is_empty());
    assert_eq!(credentials.account_email, None);
}

#[tokio::test]
async fn credentials_ignore_extra_fields() {
    let credentials = credentials_answering(json!({
        "access_token": "ya29.a",
        "connected": true,
        "token_uri": "https://oauth2.googleapis.com/token",
        "client_id": "1234.apps.googleusercontent.com",
        "provider": "google",
        "metadata": {"nested": [1, 2, 3]},
        "email": "person@example.com",
    }))
    .await;
    let credentials = credentials.expect("credentials");
    assert_eq!(credentials.access_token.expose_secret(), "ya29.a");
    assert_eq!(
        credentials.account_email.as_deref(),
        Some("person@example.com")
    );
}

#[tokio::test]
async fn credentials_missing_access_token() {
    for body in [
        json!({"refresh_token": "1//r"}),
        json!({"access_token": null}),
        json!({"access_token": ""}),
    ] {
        let error = credentials_answering(body.clone())
            .await
            .expect_err("no access token");
        assert!(
            matches!(error, CredentialError::InvalidResponse(_)),
            "{body}: {error:?}"
        );
        assert!(error.to_string().contains("access_token"), "{error}");
        assert_no_token(&error);
    }
}

#[tokio::test]
async fn credentials_connected_false() {
    let error = credentials_answering(json!({"connected": false, "access_token": null}))
        .await
        .expect_err("not connected");
    assert!(
        matches!(error, CredentialError::NotConnected(_)),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("Connect Google in the OMA web UI"),
        "{error}"
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn credentials_unauthorized_401() {
    let server = MockServer::start().await;
    let body = json!({"detail": "Could not validate credentials"});
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(401).set_body_json(body),
        1,
    )
    .await;

    let error = client_for(&server)
        .fetch_credentials()
        .await
        .expect_err("401");

    assert!(
        matches!(error, CredentialError::Unauthorized(_)),
        "{error:?}"
    );
    assert_clean(&error, "OMA_ACCESS_TOKEN");
    let message = error.to_string();
    assert!(message.contains("HTTP 401"), "{message}");
    assert!(
        message.contains("\"Could not validate credentials\""),
        "{message}"
    );
    assert!(message.contains("POST /api/v1/auth/login"), "{message}");
}

#[tokio::test]
async fn credentials_forbidden_403() {
    let server = MockServer::start().await;
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(403).set_body_string("Forbidden"),
        1,
    )
    .await;

    let error = client_for(&server)
        .fetch_credentials()
        .await
        .expect_err("403");

    assert!(
        matches!(error, CredentialError::Unauthorized(_)),
        "{error:?}"
    );
    assert_clean(&error, "OMA_ACCESS_TOKEN");
    assert!(error.to_string().contains("HTTP 403"), "{error}");
}

#[tokio::test]
async fn credentials_not_found_404() {
    let server = MockServer::start().await;
    let body = json!({"detail": "Google account not connected"});
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(404).set_body_json(body),
        1,
    )
    .await;

    let error = client_for(&server)
        .fetch_credentials()
        .await
        .expect_err("404");

    assert!(
        matches!(error, CredentialError::NotConnected(_)),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("Connect Google in the OMA web UI"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("\"Google account not connected\""),
        "{error}"
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn credentials_echoed_token_not_quoted() {
    let server = MockServer::start().await;
    let body = json!({"detail": format!("token {JWT} has expired")});
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(401).set_body_json(body),
        1,
    )
    .await;

    let error = client_for(&server)
        .fetch_credentials()
        .await
        .expect_err("401");

    assert_clean(&error, "OMA_ACCESS_TOKEN");
}

#[tokio::test]
async fn credentials_retry_after_500() {
    let server = MockServer::start().await;
    mount(&server, CREDENTIALS_PATH, ResponseTemplate::new(500), 1).await;
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "ya29.after-retry"})),
        1,
    )
    .await;

    let credentials = client_for(&server)
        .fetch_credentials()
        .await
        .expect("the second attempt succeeds");

    assert_eq!(credentials.access_token.expose_secret(), "ya29.after-retry");
}

#[tokio::test]
async fn credentials_persistent_503() {
    let server = MockServer::start().await;
    let body = json!({"detail": "database unavailable"});
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(503).set_body_json(body),
        3,
    )
    .await;

    let error = client_for(&server)
        .fetch_credentials()
        .await
        .expect_err("503 throughout");

    assert!(
        matches!(error, CredentialError::Unavailable(_)),
        "{error:?}"
    );
    assert_clean(&error, "OMA_BACKEND_URL");
    let message = error.to_string();
    let host = Url::parse(&server.uri())
        .expect("URL")
        .host_str()
        .expect("host")
        .to_owned();
    assert!(message.contains(&host), "{message}");
    assert!(message.contains("HTTP 503"), "{message}");
    assert!(message.contains("after 3 attempts"), "{message}");
    assert!(message.contains("\"database unavailable\""), "{message}");
    // Dropping the server checks that exactly three requests arrived.
}

#[tokio::test]
async fn credentials_default_policy_makes_three_attempts() {
    let server = MockServer::start().await;
    mount(&server, CREDENTIALS_PATH, ResponseTemplate::new(502), 3).await;
    let client = OmaClient::new(settings(&server.uri(), "/api/v1")).expect("valid settings");

    let error = client
        .fetch_credentials()
        .await
        .expect_err("502 throughout");

    assert!(
        matches!(error, CredentialError::Unavailable(_)),
        "{error:?}"
    );
    assert!(error.to_string().contains("after 3 attempts"), "{error}");
    // Dropping the server checks that exactly three requests arrived.
}

#[tokio::test]
async fn credentials_429_retry_after_honoured() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429).insert_header("Retry-After", "1");
    mount(&server, CREDENTIALS_PATH, limited, 1).await;
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "ya29.after-429"})),
        1,
    )
    .await;

    let credentials = client_for(&server)
        .fetch_credentials()
        .await
        .expect("the attempt after Retry-After succeeds");

    assert_eq!(credentials.access_token.expose_secret(), "ya29.after-429");
}

#[tokio::test]
async fn credentials_client_errors_not_retried() {
    for status in [400, 401, 404, 422] {
        let server = MockServer::start().await;
        mount(&server, CREDENTIALS_PATH, ResponseTemplate::new(status), 1).await;

        let error = client_for(&server).fetch_credentials().await;

        assert!(error.is_err(), "status {status}");
        // Dropping the server checks that exactly one request arrived.
    }
}

#[tokio::test]
async fn credentials_timeout() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(json!({"access_token": "ya29.late"}))
        .set_delay(Duration::from_secs(2));
    mount(&server, CREDENTIALS_PATH, slow, 3).await;
    let client = client_with(OmaSettings {
        timeout: Duration::from_millis(300),
        ..settings(&server.uri(), "/api/v1")
    });

    let started = std::time::Instant::now();
    let error = client.fetch_credentials().await.expect_err("timeout");
    let elapsed = started.elapsed();

    assert!(
        matches!(error, CredentialError::Unavailable(_)),
        "{error:?}"
    );
    assert_clean(&error, "OMA_TIMEOUT_SECS");
    assert!(error.to_string().contains("0.3 s"), "{error}");
    assert!(
        elapsed < Duration::from_millis(1900),
        "three attempts of 300 ms took {elapsed:?}"
    );
}

#[tokio::test]
async fn credentials_connection_refused() {
    // Take a free loopback port and close it again, so nothing listens there.
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.local_addr().expect("local address")
    };
    let client = client_with(settings(&format!("http://{address}"), "/api/v1"));

    let error = client
        .fetch_credentials()
        .await
        .expect_err("nothing listens");

    assert!(
        matches!(error, CredentialError::Unavailable(_)),
        "{error:?}"
    );
    assert_clean(&error, "OMA_BACKEND_URL");
    assert!(error.to_string().contains(&address.to_string()), "{error}");
}

#[tokio::test]
async fn credentials_malformed_json() {
    let server = MockServer::start().await;
    let body = format!(r#"{{"access_token": "{JWT}", "#);
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(200).set_body_string(body),
        1,
    )
    .await;

    let error = client_for(&server)
        .fetch_credentials()
        .await
        .expect_err("malformed");

    assert!(
        matches!(error, CredentialError::InvalidResponse(_)),
        "{error:?}"
    );
    assert_clean(&error, "OMA_API_PREFIX");
}

#[tokio::test]
async fn credentials_html_body() {
    let server = MockServer::start().await;
    let page =
        ResponseTemplate::new(200).set_body_raw("<!doctype html><title>OMA</title>", "text/html");
    mount(&server, CREDENTIALS_PATH, page, 1).await;

    let error = client_for(&server)
        .fetch_credentials()
        .await
        .expect_err("HTML");

    assert!(
        matches!(error, CredentialError::InvalidResponse(_)),
        "{error:?}"
    );
    assert!(!error.to_string().contains("doctype"), "{error}");
}

#[tokio::test]
async fn credentials_other_client_error() {
    let server = MockServer::start().await;
    mount(&server, CREDENTIALS_PATH, ResponseTemplate::new(405), 1).await;

    let error = client_for(&server)
        .fetch_credentials()
        .await
        .expect_err("405");

    assert!(
        matches!(error, CredentialError::InvalidResponse(_)),
        "{error:?}"
    );
    assert_clean(&error, "OMA_API_PREFIX");
}

#[tokio::test]
async fn prefix_apib_variants() {
    for prefix in ["/apib/v1", "apib/v1", "/apib/v1/", "apib/v1/"] {
        let server = MockServer::start().await;
        let body = json!({"access_token": "ya29.proxied"});
        mount(
            &server,
            "/apib/v1/google/credentials",
            ResponseTemplate::new(200).set_body_json(body),
            1,
        )
        .await;
        let client = client_with(settings(&format!("{}/", server.uri()), prefix));

        let credentials = client
            .fetch_credentials()
            .await
            .unwrap_or_else(|error| panic!("prefix {prefix:?}: {error}"));

        assert_eq!(
            credentials.access_token.expose_secret(),
            "ya29.proxied",
            "prefix {prefix:?}"
        );
    }
}

#[tokio::test]
async fn base_url_with_path() {
    for base_path in ["/oma", "/oma/"] {
        let server = MockServer::start().await;
        let body = json!({"access_token": "ya29.behind-path"});
        mount(
            &server,
            "/oma/apib/v1/google/credentials",
            ResponseTemplate::new(200).set_body_json(body),
            1,
        )
        .await;
        let base_url = format!("{}{base_path}", server.uri());
        let client = client_with(settings(&base_url, "/apib/v1"));

        assert_eq!(
            client.credentials_url().path(),
            "/oma/apib/v1/google/credentials"
        );
        let credentials = client
            .fetch_credentials()
            .await
            .unwrap_or_else(|error| panic!("base {base_url}: {error}"));
        assert_eq!(credentials.access_token.expose_secret(), "ya29.behind-path");
    }
}

#[tokio::test]
async fn status_connected() {
    let server = MockServer::start().await;
    let body = json!({
        "connected": true,
        "email": "person@example.com",
        "scopes": ["https://www.googleapis.com/auth/gmail.readonly"],
        "expires_at": "2030-01-01T10:00:00Z",
        "access_token": "ya29.must-not-be-needed",
    });
    mount(
        &server,
        STATUS_PATH,
        ResponseTemplate::new(200).set_body_json(body),
        1,
    )
    .await;
    let client = client_for(&server);

    let status = client.status().await.expect("status");

    assert!(status.connected);
    assert_eq!(status.account_email.as_deref(), Some("person@example.com"));
    assert_eq!(
        status.scopes,
        ["https://www.googleapis.com/auth/gmail.readonly"]
    );
    assert_eq!(status.expires_at, Some(at("2030-01-01T10:00:00Z")));
    assert_eq!(
        status.source,
        format!("OMA Backend at {}/api/v1", server.uri())
    );
    assert!(!status.source.contains(JWT), "{}", status.source);
}

#[tokio::test]
async fn status_not_connected() {
    let server = MockServer::start().await;
    mount(
        &server,
        STATUS_PATH,
        ResponseTemplate::new(200).set_body_json(json!({"connected": false})),
        1,
    )
    .await;

    let status = client_for(&server).status().await.expect("status");

    assert!(!status.connected);
    assert_eq!(status.account_email, None);
    assert!(status.scopes.is_empty());
}

#[tokio::test]
async fn status_unauthorized() {
    let server = MockServer::start().await;
    mount(&server, STATUS_PATH, ResponseTemplate::new(401), 1).await;

    let error = client_for(&server).status().await.expect_err("401");

    assert!(
        matches!(error, CredentialError::Unauthorized(_)),
        "{error:?}"
    );
    assert_clean(&error, "OMA_ACCESS_TOKEN");
}

#[tokio::test]
async fn status_retry_after_502() {
    let server = MockServer::start().await;
    mount(&server, STATUS_PATH, ResponseTemplate::new(502), 2).await;
    mount(
        &server,
        STATUS_PATH,
        ResponseTemplate::new(200).set_body_json(json!({"connected": true})),
        1,
    )
    .await;

    let status = client_for(&server)
        .status()
        .await
        .expect("the third attempt succeeds");

    assert!(status.connected);
}

#[tokio::test]
async fn client_mode_and_debug() {
    let server = MockServer::start().await;
    let client = client_for(&server);

    assert_eq!(client.mode(), AuthMode::OmaBackend);
    let debug = format!("{client:?}");
    assert!(!debug.contains(JWT), "{debug}");
    assert!(!debug.contains("c2VjcmV0LXNpZ25hdHVyZQ"), "{debug}");
    assert!(!client.credentials_url().as_str().contains(JWT));
}

#[tokio::test]
async fn verify_tls_off_builds() {
    let server = MockServer::start().await;
    mount(
        &server,
        CREDENTIALS_PATH,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "ya29.a"})),
        1,
    )
    .await;
    let client = client_with(OmaSettings {
        verify_tls: false,
        ..settings(&server.uri(), "/api/v1")
    });

    assert!(client.fetch_credentials().await.is_ok());
}
