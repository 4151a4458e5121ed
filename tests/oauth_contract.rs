//! Contract tests of the token refresh against a wiremock token endpoint: grants, each
//! error class, retries, single flight within a process and across token file readers, the
//! file written back, and the OMA fallback.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use mcp_google_hub::CredentialCache;
use mcp_google_hub::domain::errors::CredentialError;
use mcp_google_hub::domain::models::{
    AccessToken, AuthMode, Credentials, ProviderStatus, RefreshToken,
};
use mcp_google_hub::domain::ports::CredentialProvider;
use mcp_google_hub::outbound::fallback::RefreshFallback;
use mcp_google_hub::outbound::google_oauth::{
    OAuthClient, OAuthEndpoints, RetryPolicy, TokenEndpoint,
};
use mcp_google_hub::outbound::local_file::{LocalFileSettings, TokenFileProvider};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REFRESH_TOKEN: &str = "1//stored-refresh-token";

fn endpoint() -> TokenEndpoint {
    let http = mcp_google_hub::outbound::http::build_client(&Default::default()).unwrap();
    TokenEndpoint::new(http).with_retry(RetryPolicy {
        max_attempts: 3,
        first_delay: Duration::from_millis(5),
    })
}

fn client(server: &MockServer) -> OAuthClient {
    OAuthClient {
        client_id: "client-id.apps.googleusercontent.com".to_owned(),
        client_secret: SecretString::from("client-secret-value"),
        token_uri: url::Url::parse(&format!("{}/token", server.uri())).unwrap(),
    }
}

fn granted(access_token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access_token,
        "expires_in": 3599,
        "scope": "https://www.googleapis.com/auth/gmail.readonly",
        "token_type": "Bearer",
    }))
}

fn rejected(status: u16, error: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": error, "error_description": "secret-ish detail"}))
}

/// Writes a google-auth token file that expired an hour ago, with an unknown field.
fn write_expired_file(folder: &Path, server: &MockServer) -> std::path::PathBuf {
    let path = folder.join("token.json");
    let expired = (Utc::now() - TimeDelta::hours(1))
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let file = json!({
        "token": "ya29.expired",
        "refresh_token": REFRESH_TOKEN,
        "token_uri": format!("{}/token", server.uri()),
        "client_id": "client-id.apps.googleusercontent.com",
        "client_secret": "client-secret-value",
        "scopes": ["https://www.googleapis.com/auth/gmail.readonly"],
        "universe_domain": "googleapis.com",
        "account": "me@example.com",
        "expiry": expired,
        "kept_by_hub": {"nested": [1, 2]},
    });
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    path
}

fn provider(path: &Path) -> TokenFileProvider {
    TokenFileProvider::new(
        LocalFileSettings {
            endpoints: OAuthEndpoints::google(),
            ..LocalFileSettings::new(path)
        },
        endpoint(),
    )
}

#[tokio::test]
async fn refresh_success_sends_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(
            "refresh_token=1%2F%2Fstored-refresh-token",
        ))
        .and(body_string_contains(
            "client_id=client-id.apps.googleusercontent.com",
        ))
        .and(body_string_contains("client_secret=client-secret-value"))
        .respond_with(granted("ya29.new").append_header("content-type", "application/json"))
        .expect(1)
        .mount(&server)
        .await;

    let grant = endpoint()
        .refresh(&client(&server), &RefreshToken::new(REFRESH_TOKEN))
        .await
        .unwrap();

    assert_eq!(grant.access_token.expose_secret(), "ya29.new");
    assert_eq!(grant.expires_in, Some(Duration::from_secs(3599)));
    assert!(grant.refresh_token.is_none());
    assert_eq!(
        grant.scopes.unwrap(),
        ["https://www.googleapis.com/auth/gmail.readonly"]
    );
}

#[tokio::test]
async fn reauthorization_errors_not_retried() {
    let cases = [
        ("invalid_grant", "Testing"),
        ("invalid_client", "GOOGLE_CREDENTIALS_PATH"),
        ("unauthorized_client", "another client ID"),
    ];
    for (code, hint) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(rejected(
                if code == "invalid_client" { 401 } else { 400 },
                code,
            ))
            .expect(1)
            .mount(&server)
            .await;

        let error = endpoint()
            .refresh(&client(&server), &RefreshToken::new(REFRESH_TOKEN))
            .await
            .unwrap_err();

        let CredentialError::NotConnected(message) = &error else {
            panic!("{code}: expected NotConnected, got {error:?}");
        };
        assert!(message.contains(code), "{message}");
        assert!(message.contains("mcp-google-hub auth login"), "{message}");
        assert!(message.contains(hint), "{code}: {message}");
        assert!(!message.contains("secret-ish detail"), "{message}");
        assert!(!message.contains(REFRESH_TOKEN), "{message}");
    }
}

#[tokio::test]
async fn server_error_then_success_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(granted("ya29.after-retry"))
        .expect(1)
        .mount(&server)
        .await;

    let grant = endpoint()
        .refresh(&client(&server), &RefreshToken::new(REFRESH_TOKEN))
        .await
        .unwrap();
    assert_eq!(grant.access_token.expose_secret(), "ya29.after-retry");
}

#[tokio::test]
async fn persistent_server_error_unavailable_after_bounded_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal detail"))
        .expect(3)
        .mount(&server)
        .await;

    let error = endpoint()
        .refresh(&client(&server), &RefreshToken::new(REFRESH_TOKEN))
        .await
        .unwrap_err();

    let CredentialError::Unavailable(message) = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(message.contains("3 attempts"), "{message}");
    assert!(message.contains("HTTP 500"), "{message}");
    assert!(!message.contains("internal detail"), "{message}");
}

#[tokio::test]
async fn network_error_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = OAuthClient {
        token_uri: url::Url::parse(&format!("http://127.0.0.1:{port}/token")).unwrap(),
        ..client(&MockServer::start().await)
    };

    let error = endpoint()
        .refresh(&client, &RefreshToken::new(REFRESH_TOKEN))
        .await
        .unwrap_err();
    assert!(
        matches!(error, CredentialError::Unavailable(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn expired_file_refreshed_and_written_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(granted("ya29.fresh"))
        .expect(1)
        .mount(&server)
        .await;
    let folder = tempfile::tempdir().unwrap();
    let path = write_expired_file(folder.path(), &server);

    let credentials = provider(&path).fetch_credentials().await.unwrap();

    assert_eq!(credentials.access_token.expose_secret(), "ya29.fresh");
    assert!(credentials.is_usable_at(Utc::now()));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["token"], "ya29.fresh");
    assert_eq!(
        written["refresh_token"], REFRESH_TOKEN,
        "a grant without refresh_token keeps the stored one"
    );
    assert_eq!(written["kept_by_hub"], json!({"nested": [1, 2]}));
    assert_eq!(written["universe_domain"], "googleapis.com");
    assert_eq!(written["account"], "me@example.com");
    assert!(written["expiry"].as_str().unwrap().ends_with('Z'));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    check_with_google_auth(&path, "ya29.fresh");
}

#[tokio::test]
async fn many_callers_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(granted("ya29.single").set_delay(Duration::from_millis(100)))
        .expect(1)
        .mount(&server)
        .await;
    let folder = tempfile::tempdir().unwrap();
    let path = write_expired_file(folder.path(), &server);
    let cache = Arc::new(CredentialCache::new(Arc::new(provider(&path))));

    let calls = (0..64).map(|_| {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get().await })
    });
    for result in futures::future::join_all(calls).await {
        let credentials = result.unwrap().unwrap();
        assert_eq!(credentials.access_token.expose_secret(), "ya29.single");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_file_readers_refresh_once_under_lock() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(granted("ya29.locked").set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&server)
        .await;
    let folder = tempfile::tempdir().unwrap();
    let path = write_expired_file(folder.path(), &server);

    // Separate providers, as in separate hub processes: only the file lock is shared.
    let tasks = (0..4).map(|_| {
        let provider = provider(&path);
        tokio::spawn(async move { provider.fetch_credentials().await })
    });
    for result in futures::future::join_all(tasks).await {
        let credentials = result.unwrap().unwrap();
        assert_eq!(credentials.access_token.expose_secret(), "ya29.locked");
    }

    let written = std::fs::read_to_string(&path).unwrap();
    let parsed: Value = serde_json::from_str(&written).expect("the file is intact JSON");
    assert_eq!(parsed["token"], "ya29.locked");
}

#[tokio::test]
async fn rejected_token_forces_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(granted("ya29.after-401"))
        .expect(1)
        .mount(&server)
        .await;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("token.json");
    std::fs::write(
        &path,
        json!({
            "token": "ya29.revoked-but-not-expired",
            "refresh_token": REFRESH_TOKEN,
            "token_uri": format!("{}/token", server.uri()),
            "client_id": "id",
            "client_secret": "secret",
        })
        .to_string(),
    )
    .unwrap();
    let cache = CredentialCache::new(Arc::new(provider(&path)));

    let first = cache.get().await.unwrap();
    assert_eq!(
        first.access_token.expose_secret(),
        "ya29.revoked-but-not-expired",
        "a file without expiry is served until Google rejects it"
    );
    cache.invalidate(&first.access_token);
    let second = cache.get().await.unwrap();

    assert_eq!(second.access_token.expose_secret(), "ya29.after-401");
}

#[tokio::test]
async fn invalid_grant_from_file_says_login() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(rejected(400, "invalid_grant"))
        .expect(1)
        .mount(&server)
        .await;
    let folder = tempfile::tempdir().unwrap();
    let path = write_expired_file(folder.path(), &server);
    let before = std::fs::read_to_string(&path).unwrap();

    let error = provider(&path).fetch_credentials().await.unwrap_err();

    assert!(
        matches!(error, CredentialError::NotConnected(_)),
        "{error:?}"
    );
    assert!(error.to_string().contains("auth login"), "{error}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "a failed refresh leaves the file alone"
    );
}

/// Reads the file with google-auth, as the Python server would.
#[allow(clippy::print_stdout)] // The skip note belongs in the test output.
fn check_with_google_auth(path: &Path, expected_token: &str) {
    let available = std::process::Command::new("python3")
        .args(["-c", "import google.oauth2.credentials"])
        .status()
        .is_ok_and(|status| status.success());
    if !available {
        println!("skipped the google-auth check: python3 with google-auth is not installed");
        return;
    }
    let script = "import sys\n\
from google.oauth2.credentials import Credentials\n\
c = Credentials.from_authorized_user_file(sys.argv[1])\n\
assert c.token == sys.argv[2], 'token'\n\
assert c.refresh_token, 'refresh token'\n\
assert c.expiry is not None and not c.expired, 'expiry'\n\
print(c.account or '', ' '.join(c.scopes or []))\n";
    let output = std::process::Command::new("python3")
        .args(["-c", script, path.to_str().unwrap(), expected_token])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "google-auth cannot read the file: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("me@example.com"), "{printed}");
}

/// A primary source that is down after its first answer.
struct FlakyPrimary {
    calls: std::sync::atomic::AtomicUsize,
    refresh_token: Option<&'static str>,
}

#[async_trait]
impl CredentialProvider for FlakyPrimary {
    fn mode(&self) -> AuthMode {
        AuthMode::OmaBackend
    }

    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Ok(Credentials {
                refresh_token: self.refresh_token.map(RefreshToken::new),
                expires_at: Some(Utc::now() + TimeDelta::minutes(1)),
                account_email: Some("me@example.com".to_owned()),
                ..Credentials::bearer(AccessToken::new("ya29.from-oma"))
            })
        } else {
            Err(CredentialError::Unavailable(
                "the OMA Backend is unreachable.".to_owned(),
            ))
        }
    }

    async fn status(&self) -> Result<ProviderStatus, CredentialError> {
        Err(CredentialError::Unavailable(
            "the OMA Backend is unreachable.".to_owned(),
        ))
    }
}

#[tokio::test]
async fn fallback_refreshes_last_oma_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("refresh_token=1%2F%2Foma-refresh"))
        .respond_with(granted("ya29.fallback"))
        .expect(1)
        .mount(&server)
        .await;
    let fallback = RefreshFallback::new(
        Arc::new(FlakyPrimary {
            calls: Default::default(),
            refresh_token: Some("1//oma-refresh"),
        }),
        endpoint(),
        client(&server),
    );

    let first = fallback.fetch_credentials().await.unwrap();
    assert_eq!(first.access_token.expose_secret(), "ya29.from-oma");
    assert!(!fallback.is_on_fallback());

    let second = fallback.fetch_credentials().await.unwrap();
    assert_eq!(second.access_token.expose_secret(), "ya29.fallback");
    assert_eq!(second.account_email.as_deref(), Some("me@example.com"));
    assert!(fallback.is_on_fallback());
    let status = fallback.status().await.unwrap();
    assert!(status.source.starts_with("fallback:"), "{}", status.source);
}

#[tokio::test]
async fn fallback_without_refresh_token_says_so() {
    let server = MockServer::start().await;
    let fallback = RefreshFallback::new(
        Arc::new(FlakyPrimary {
            calls: Default::default(),
            refresh_token: None,
        }),
        endpoint(),
        client(&server),
    );
    fallback.fetch_credentials().await.unwrap();

    let error = fallback.fetch_credentials().await.unwrap_err();

    assert!(
        matches!(error, CredentialError::Unavailable(_)),
        "{error:?}"
    );
    assert!(error.to_string().contains("no refresh token"), "{error}");
}
