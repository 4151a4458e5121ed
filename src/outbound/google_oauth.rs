//! Google's OAuth 2.0 token endpoint, always built: exchanging a refresh token for a new
//! access token, and an authorization code for the first pair of tokens.
//!
//! Both `local_file` mode and the OMA fallback refresh through [`TokenEndpoint`]. Errors are
//! classified once, here:
//!
//! - `invalid_grant`, `invalid_client` and `unauthorized_client` mean the user must
//!   authorize again. They become [`CredentialError::NotConnected`] with the command to run,
//!   and are never retried.
//! - 5xx, 429 and transport failures are retried with doubling waits, at most
//!   [`RetryPolicy::max_attempts`] attempts in total, then become
//!   [`CredentialError::Unavailable`].
//!
//! No token, client secret or response body is logged or put into an error message. Only
//! the OAuth error code (such as `invalid_grant`), which RFC 6749 limits to a fixed set of
//! ASCII words, is shown.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::domain::errors::CredentialError;
use crate::domain::models::{AccessToken, Credentials, RefreshToken};
use crate::outbound::http::{describe_error, read_body_limited};

/// Google's authorization endpoint for installed apps.
pub const GOOGLE_AUTH_URI: &str = "https://accounts.google.com/o/oauth2/auth";
/// Google's token endpoint.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Google's token revocation endpoint.
pub const GOOGLE_REVOKE_URI: &str = "https://oauth2.googleapis.com/revoke";

/// The command that authorizes the hub again, named in every "authorize again" message.
pub const LOGIN_COMMAND: &str = "mcp-google-hub auth login";

/// The largest token endpoint response read. Google's are under 4 KiB.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The OAuth endpoints the hub talks to.
///
/// [`google`](Self::google) gives Google's. [`under`](Self::under) puts all three under one
/// root (`{root}/o/oauth2/auth`, `{root}/token`, `{root}/revoke`), for the sandbox and
/// tests; that is what `GOOGLE_OAUTH_BASE_URL` sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthEndpoints {
    /// The authorization endpoint the browser is sent to.
    pub auth_uri: Url,
    /// The token endpoint.
    pub token_uri: Url,
    /// The revocation endpoint.
    pub revoke_uri: Url,
    /// Whether these replace Google's, so that they win over a `token_uri` stored in a file.
    pub overridden: bool,
}

impl OAuthEndpoints {
    /// Google's endpoints.
    pub fn google() -> Self {
        Self {
            auth_uri: constant_url(GOOGLE_AUTH_URI),
            token_uri: constant_url(GOOGLE_TOKEN_URI),
            revoke_uri: constant_url(GOOGLE_REVOKE_URI),
            overridden: false,
        }
    }

    /// All three endpoints under `root`, which keeps a path of its own.
    pub fn under(root: &Url) -> Self {
        let join = |path: &str| {
            let mut url = root.clone();
            let base = url.path().trim_end_matches('/').to_owned();
            url.set_path(&format!("{base}/{path}"));
            url.set_query(None);
            url.set_fragment(None);
            url
        };
        Self {
            auth_uri: join("o/oauth2/auth"),
            token_uri: join("token"),
            revoke_uri: join("revoke"),
            overridden: true,
        }
    }
}

impl Default for OAuthEndpoints {
    fn default() -> Self {
        Self::google()
    }
}

fn constant_url(text: &str) -> Url {
    // The constants above are valid URLs; a test checks them.
    Url::parse(text).unwrap_or_else(|_| Url::parse("https://invalid.invalid/").expect("valid"))
}

/// An OAuth client: its ID, its secret and the token endpoint it uses.
#[derive(Clone)]
pub struct OAuthClient {
    /// The client ID, such as `123-abc.apps.googleusercontent.com`. Not a secret.
    pub client_id: String,
    /// The client secret. Google calls it a secret even for installed apps; it is never
    /// logged.
    pub client_secret: SecretString,
    /// The token endpoint.
    pub token_uri: Url,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_uri", &self.token_uri.as_str())
            .finish()
    }
}

/// What the token endpoint granted.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The new access token.
    pub access_token: AccessToken,
    /// A new refresh token. Google sends one on the first code exchange and usually not
    /// on a refresh, where the stored one stays valid and must be kept.
    pub refresh_token: Option<RefreshToken>,
    /// The token type, `Bearer`.
    pub token_type: String,
    /// The access token's lifetime (`expires_in`), where stated.
    pub expires_in: Option<Duration>,
    /// The granted scopes (`scope`, space-separated on the wire), where stated.
    pub scopes: Option<Vec<String>>,
}

impl TokenGrant {
    /// Returns the expiry the grant implies when it was received at `now`.
    pub fn expires_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let lifetime = TimeDelta::from_std(self.expires_in?).ok()?;
        now.checked_add_signed(lifetime)
    }

    /// Builds credentials from the grant received at `now`, keeping `previous`'s refresh
    /// token, scopes and account where the grant does not replace them.
    pub fn into_credentials(
        self,
        now: DateTime<Utc>,
        previous: Option<&Credentials>,
    ) -> Credentials {
        let expires_at = self.expires_at(now);
        Credentials {
            access_token: self.access_token,
            refresh_token: self
                .refresh_token
                .or_else(|| previous.and_then(|previous| previous.refresh_token.clone())),
            token_type: self.token_type,
            expires_at,
            scopes: self
                .scopes
                .or_else(|| previous.map(|previous| previous.scopes.clone()))
                .unwrap_or_default(),
            account_email: previous.and_then(|previous| previous.account_email.clone()),
        }
    }
}

/// How often and how long to wait before retrying a transient token endpoint failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, counting the first; at least 1.
    pub max_attempts: u32,
    /// The wait after the first failed attempt, doubled after each further one.
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts with waits of 0.5 s and 1 s: a refresh gives up after about 1.5 s
    /// plus three request timeouts.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            first_delay: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    fn delay_after(self, attempt: u32) -> Duration {
        self.first_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
    }
}

/// Which grant a request makes, for the wording of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Refresh,
    AuthorizationCode,
}

/// A client of one OAuth token endpoint: refreshes and code exchanges with classified
/// errors and bounded retries.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl TokenEndpoint {
    /// Creates an endpoint client over a shared HTTP client, with the default retries.
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            retry: RetryPolicy::default(),
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            max_attempts: retry.max_attempts.max(1),
            ..retry
        };
        self
    }

    /// Exchanges `refresh_token` for a new access token (`grant_type=refresh_token`).
    ///
    /// # Errors
    ///
    /// - [`CredentialError::NotConnected`] for `invalid_grant`, `invalid_client` and
    ///   `unauthorized_client`: the user must run [`LOGIN_COMMAND`].
    /// - [`CredentialError::Unavailable`] when 5xx, 429 or transport failures persist.
    /// - [`CredentialError::InvalidResponse`] for another rejection or an unreadable answer.
    pub async fn refresh(
        &self,
        client: &OAuthClient,
        refresh_token: &RefreshToken,
    ) -> Result<TokenGrant, CredentialError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
            ("client_id", client.client_id.as_str()),
            ("client_secret", client.client_secret.expose_secret()),
        ];
        let grant = self.post(client, &form, Grant::Refresh).await?;
        tracing::info!(
            expires_in_secs = grant.expires_in.map(|lifetime| lifetime.as_secs()),
            new_refresh_token = grant.refresh_token.is_some(),
            "refreshed the Google access token"
        );
        Ok(grant)
    }

    /// Exchanges an authorization code and its PKCE verifier for tokens
    /// (`grant_type=authorization_code`).
    ///
    /// # Errors
    ///
    /// The same variants as [`refresh`](Self::refresh); `invalid_grant` here means the
    /// code expired, was used already or does not match the verifier.
    pub async fn exchange_code(
        &self,
        client: &OAuthClient,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenGrant, CredentialError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", code_verifier),
            ("redirect_uri", redirect_uri),
            ("client_id", client.client_id.as_str()),
            ("client_secret", client.client_secret.expose_secret()),
        ];
        self.post(client, &form, Grant::AuthorizationCode).await
    }

    async fn post(
        &self,
        client: &OAuthClient,
        form: &[(&str, &str)],
        grant: Grant,
    ) -> Result<TokenGrant, CredentialError> {
        let mut attempt = 1;
        loop {
            match self.attempt(client, form, grant).await {
                Err(Attempt::Final(error)) => return Err(error),
                Ok(tokens) => return Ok(tokens),
                Err(Attempt::Transient(cause)) if attempt >= self.retry.max_attempts => {
                    tracing::warn!(%cause, attempts = attempt, "Google's token endpoint failed; giving up");
                    return Err(CredentialError::Unavailable(format!(
                        "Google's token endpoint is unavailable ({cause}) after {attempt} attempts; \
                         try again in a minute"
                    )));
                }
                Err(Attempt::Transient(cause)) => {
                    let delay = self.retry.delay_after(attempt);
                    tracing::warn!(
                        %cause,
                        attempt,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "Google's token endpoint failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(
        &self,
        client: &OAuthClient,
        form: &[(&str, &str)],
        grant: Grant,
    ) -> Result<TokenGrant, Attempt> {
        let response = self
            .http
            .post(client.token_uri.clone())
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|error| Attempt::Transient(describe_error(&error)))?;

        let status = response.status();
        let body = read_body_limited(response, MAX_BODY_BYTES)
            .await
            .map_err(|error| Attempt::Transient(error.to_string()))?;

        if status.is_success() {
            return parse_grant(&body).map_err(Attempt::Final);
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Attempt::Transient(format!("HTTP {}", status.as_u16())));
        }
        Err(Attempt::Final(classify_rejection(status, &body, grant)))
    }
}

enum Attempt {
    /// Worth another attempt; the text says what failed.
    Transient(String),
    Final(CredentialError),
}

#[derive(Deserialize)]
struct GrantBody {
    access_token: Option<String>,
    refresh_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    scope: Option<String>,
}

fn parse_grant(body: &[u8]) -> Result<TokenGrant, CredentialError> {
    let parsed: GrantBody = serde_json::from_slice(body).map_err(|error| {
        CredentialError::InvalidResponse(format!(
            "Google's token endpoint sent a response that is not token JSON (at line {}, column {})",
            error.line(),
            error.column()
        ))
    })?;

    let access_token = parsed
        .access_token
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            CredentialError::InvalidResponse(
                "Google's token endpoint sent a response without an access_token".to_owned(),
            )
        })?;
    // Google sends a number; some proxies turn it into a string.
    let expires_in = match parsed.expires_in {
        Some(serde_json::Value::Number(number)) => number.as_u64(),
        Some(serde_json::Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    };

    Ok(TokenGrant {
        access_token: AccessToken::new(access_token),
        refresh_token: parsed
            .refresh_token
            .filter(|token| !token.is_empty())
            .map(RefreshToken::new),
        token_type: parsed.token_type.unwrap_or_else(|| "Bearer".to_owned()),
        expires_in: expires_in.map(Duration::from_secs),
        scopes: parsed
            .scope
            .map(|scope| scope.split_whitespace().map(str::to_owned).collect()),
    })
}

/// Reads the OAuth `error` code of a rejection, if it is a plain lowercase word.
fn error_code(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: Option<serde_json::Value>,
    }

    let code = match serde_json::from_slice::<ErrorBody>(body).ok()?.error? {
        serde_json::Value::String(code) => code,
        // Some Google endpoints wrap errors as {"error": {"status": ..., "message": ...}}.
        serde_json::Value::Object(object) => object.get("status")?.as_str()?.to_ascii_lowercase(),
        _ => return None,
    };
    let plain = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte == b'_');
    plain.then_some(code)
}

fn classify_rejection(status: StatusCode, body: &[u8], grant: Grant) -> CredentialError {
    let code = error_code(body);
    let status = status.as_u16();
    match (code.as_deref(), grant) {
        (Some("invalid_grant"), Grant::Refresh) => CredentialError::NotConnected(format!(
            "Google rejected the stored refresh token (invalid_grant): it expired or was revoked, \
             so the Google account must be authorized again. Run `{LOGIN_COMMAND}`. If this \
             happens about 7 days after every login, the OAuth app's publishing status in the \
             Google Cloud console is \"Testing\", in which Google expires refresh tokens after \
             7 days; publish the app (\"In production\") to keep them."
        )),
        (Some("invalid_grant"), Grant::AuthorizationCode) => {
            CredentialError::NotConnected(format!(
                "Google rejected the authorization code (invalid_grant): it expired, was used \
             already or does not match this login. Run `{LOGIN_COMMAND}` again."
            ))
        }
        (Some("invalid_client"), _) => CredentialError::NotConnected(format!(
            "Google rejected the OAuth client (invalid_client): the client ID or secret is wrong, \
             or the client was deleted. Download the client secrets again from the Google Cloud \
             console into GOOGLE_CREDENTIALS_PATH, then run `{LOGIN_COMMAND}`."
        )),
        (Some("unauthorized_client"), _) => CredentialError::NotConnected(format!(
            "Google refused the grant for this OAuth client (unauthorized_client): the refresh \
             token was issued to another client ID than the one the hub uses. Run \
             `{LOGIN_COMMAND}` with the current client secrets."
        )),
        (Some(code), _) => CredentialError::InvalidResponse(format!(
            "Google's token endpoint rejected the request (HTTP {status}, {code})"
        )),
        (None, _) => CredentialError::InvalidResponse(format!(
            "Google's token endpoint rejected the request (HTTP {status}) without an OAuth error code"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_endpoints_parse() {
        let endpoints = OAuthEndpoints::google();
        assert_eq!(endpoints.auth_uri.as_str(), GOOGLE_AUTH_URI);
        assert_eq!(endpoints.token_uri.as_str(), GOOGLE_TOKEN_URI);
        assert_eq!(endpoints.revoke_uri.as_str(), GOOGLE_REVOKE_URI);
        assert!(!endpoints.overridden);
    }

    #[test]
    fn endpoints_under_root_keep_its_path() {
        let root = Url::parse("http://127.0.0.1:9/base/").unwrap();
        let endpoints = OAuthEndpoints::under(&root);
        assert_eq!(
            endpoints.auth_uri.as_str(),
            "http://127.0.0.1:9/base/o/oauth2/auth"
        );
        assert_eq!(
            endpoints.token_uri.as_str(),
            "http://127.0.0.1:9/base/token"
        );
        assert_eq!(
            endpoints.revoke_uri.as_str(),
            "http://127.0.0.1:9/base/revoke"
        );
    }

    #[test]
    fn error_code_only_plain_words() {
        assert_eq!(
            error_code(br#"{"error": "invalid_grant", "error_description": "Bad"}"#).as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(error_code(br#"{"error": "<script>"}"#), None);
        assert_eq!(error_code(b"not json"), None);
    }

    #[test]
    fn grant_keeps_previous_refresh_token() {
        let previous = Credentials {
            refresh_token: Some(RefreshToken::new("old-refresh")),
            scopes: vec!["a".to_owned()],
            account_email: Some("me@example.com".to_owned()),
            ..Credentials::bearer(AccessToken::new("old"))
        };
        let grant = parse_grant(br#"{"access_token": "new", "expires_in": "3599"}"#).unwrap();
        let now = Utc::now();
        let credentials = grant.into_credentials(now, Some(&previous));
        assert_eq!(credentials.access_token.expose_secret(), "new");
        assert_eq!(
            credentials.refresh_token.unwrap().expose_secret(),
            "old-refresh"
        );
        assert_eq!(credentials.scopes, ["a"]);
        assert_eq!(credentials.expires_at, Some(now + TimeDelta::seconds(3599)));
        assert_eq!(credentials.account_email.as_deref(), Some("me@example.com"));
    }
}
