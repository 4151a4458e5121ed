//! Contract tests of logging in to the OMA Backend again (`POST {prefix}/auth/login`) when
//! the OMA JWT has expired or is rejected, against wiremock on loopback.
#![cfg(feature = "oma-backend")]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use mcp_google_hub::domain::errors::CredentialError;
use mcp_google_hub::domain::ports::CredentialProvider;
use mcp_google_hub::outbound::oma::{OmaClient, OmaLogin, OmaOptions, OmaSettings};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "correct horse battery staple";

fn jwt(expires_in: TimeDelta, marker: &str) -> String {
    let encode = |value: serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.{}",
        encode(json!({"alg": "HS256", "typ": "JWT"})),
        encode(json!({"sub": "ada", "exp": (Utc::now() + expires_in).timestamp()})),
        URL_SAFE_NO_PAD.encode(marker)
    )
}

fn client(server: &MockServer, token: &str) -> OmaClient {
    let settings = OmaSettings {
        base_url: url::Url::parse(&server.uri()).expect("mock URL parses"),
        api_prefix: OmaSettings::DEFAULT_API_PREFIX.to_owned(),
        access_token: SecretString::from(token.to_owned()),
        verify_tls: true,
        timeout: Duration::from_secs(5),
    };
    let options = OmaOptions {
        login: Some(OmaLogin {
            username: "ada".to_owned(),
            password: SecretString::from(PASSWORD),
        }),
        ..OmaOptions::default()
    };
    OmaClient::with_options(settings, options)
        .expect("valid settings")
        .with_retry_policy(3, Duration::from_millis(10))
}

async fn mount_login(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/login"))
        .and(body_json(json!({"username": "ada", "password": PASSWORD})))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

async fn mount_credentials(server: &MockServer, token: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/api/v1/google/credentials"))
        .and(header("Authorization", format!("Bearer {token}").as_str()))
        .respond_with(response)
        .mount(server)
        .await;
}

fn google_credentials() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"access_token": "ya29.fresh"}))
}

#[tokio::test]
async fn expired_jwt_logs_in_before_request() {
    let server = MockServer::start().await;
    let old = jwt(TimeDelta::minutes(-1), "old");
    let new = jwt(TimeDelta::minutes(30), "new");
    mount_login(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": new, "token_type": "bearer"})),
    )
    .await;
    mount_credentials(&server, &new, google_credentials()).await;
    let client = client(&server, &old);

    let credentials = client.fetch_credentials().await.expect("credentials");

    assert_eq!(credentials.access_token.expose_secret(), "ya29.fresh");
    assert!(client.token_expiry().expect("an exp") > Utc::now());
}

#[tokio::test]
async fn rejected_jwt_logs_in_and_retries_once() {
    let server = MockServer::start().await;
    let old = jwt(TimeDelta::minutes(20), "revoked");
    let new = jwt(TimeDelta::minutes(30), "new");
    mount_credentials(
        &server,
        &old,
        ResponseTemplate::new(401)
            .set_body_json(json!({"detail": "Could not validate credentials"})),
    )
    .await;
    mount_login(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": new})),
    )
    .await;
    mount_credentials(&server, &new, google_credentials()).await;

    let credentials = client(&server, &old).fetch_credentials().await;

    assert_eq!(
        credentials
            .expect("credentials")
            .access_token
            .expose_secret(),
        "ya29.fresh"
    );
}

#[tokio::test]
async fn bad_password_names_oma_username() {
    let server = MockServer::start().await;
    let old = jwt(TimeDelta::minutes(-1), "old");
    mount_login(
        &server,
        ResponseTemplate::new(401)
            .set_body_json(json!({"detail": "Incorrect username or password"})),
    )
    .await;

    let error = client(&server, &old).fetch_credentials().await.unwrap_err();

    let CredentialError::Unauthorized(message) = &error else {
        panic!("expected Unauthorized, got {error:?}");
    };
    assert!(message.contains("OMA_USERNAME"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    assert!(!message.contains(&old), "{message}");
}

#[tokio::test]
async fn concurrent_callers_share_one_login() {
    let server = MockServer::start().await;
    let old = jwt(TimeDelta::minutes(-1), "old");
    let new = jwt(TimeDelta::minutes(30), "new");
    mount_login(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": new}))
            .set_delay(Duration::from_millis(100)),
    )
    .await;
    mount_credentials(&server, &new, google_credentials()).await;
    let client = Arc::new(client(&server, &old));

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.fetch_credentials().await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("no panic").is_ok());
    }
    // Dropping the server checks that exactly one login arrived.
}

#[tokio::test]
async fn empty_token_with_login_logs_in_first() {
    let server = MockServer::start().await;
    let new = jwt(TimeDelta::minutes(30), "new");
    mount_login(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": new})),
    )
    .await;
    mount_credentials(&server, &new, google_credentials()).await;

    let credentials = client(&server, "").fetch_credentials().await;

    assert!(credentials.is_ok(), "{credentials:?}");
}
