//! The OMA Backend client (feature `oma-backend`).
//!
//! The OMA Backend stores each user's Google tokens and refreshes them. The hub sends the
//! user's OMA JWT as a bearer token and receives a usable Google access token:
//!
//! - `GET {OMA_BACKEND_URL}{OMA_API_PREFIX}/google/credentials` returns the tokens.
//! - `GET {OMA_BACKEND_URL}{OMA_API_PREFIX}/google/status` reports the connection without
//!   tokens.
//!
//! Server errors (5xx), 429, timeouts and connection failures are retried under
//! [`DEFAULT_RETRY_POLICY`]: at most 3 attempts and 30 s for the whole request. Every other
//! failure is mapped to a [`CredentialError`] at once.

mod endpoint;
mod failure;
mod jwt;
pub(crate) mod response;
mod session;

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use self::endpoint::Endpoint;
use self::failure::{Failure, MessageContext, Transient};
use crate::domain::errors::CredentialError;
use crate::domain::models::{AuthMode, Credentials, ProviderStatus};
use crate::domain::ports::CredentialProvider;
use crate::outbound::http::{
    BodyError, HttpSettings, build_client, read_body_limited, retry_after,
};
use crate::outbound::retry::{self, Decision, GaveUp, RetryPolicy};

pub use self::jwt::jwt_expiry;
pub use self::session::OmaLogin;
use self::session::Session;

/// The largest response body read from the OMA Backend. A credentials body is well under
/// 4 KiB, so a body near this limit is not an OMA response.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The maximum time to set up a TCP and TLS connection, unless the per-attempt timeout is shorter.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The retry policy for OMA requests: 3 attempts, backoff from 200 ms with full jitter,
/// `Retry-After` up to 10 s, and 30 s for the whole request.
pub const DEFAULT_RETRY_POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(2),
    max_retry_after: Duration::from_secs(10),
    deadline: Duration::from_secs(30),
};

/// Connection settings for the OMA Backend, read from the `OMA_*` variables.
#[derive(Debug, Clone)]
pub struct OmaSettings {
    /// `OMA_BACKEND_URL`, such as `https://oma.example.com`. A path of its own
    /// (`https://host/oma/`) is kept in front of the API prefix. A query or fragment is
    /// dropped.
    pub base_url: Url,
    /// `OMA_API_PREFIX`, such as `/api/v1`, or `/apib/v1` behind some proxies. Leading and
    /// trailing slashes are optional.
    pub api_prefix: String,
    /// `OMA_ACCESS_TOKEN`: the user's OMA JWT, sent as `Authorization: Bearer`.
    pub access_token: SecretString,
    /// `OMA_VERIFY_SSL`: whether to check the server's TLS certificate.
    pub verify_tls: bool,
    /// `OMA_TIMEOUT_SECS`: the limit for each attempt, from connecting to the last body byte.
    pub timeout: Duration,
}

impl OmaSettings {
    /// The API prefix used when `OMA_API_PREFIX` is not set.
    pub const DEFAULT_API_PREFIX: &str = "/api/v1";

    /// The per-attempt timeout used when `OMA_TIMEOUT_SECS` is not set.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
}

/// The [`CredentialProvider`] for `AUTH_MODE=oma_backend`.
///
/// One client is shared by all tool calls, and its connection pool with them. `Debug`
/// shows the endpoint URLs and settings but never the token.
pub struct OmaClient {
    http: reqwest::Client,
    session: Session,
    login: Option<OmaLogin>,
    login_url: Url,
    credentials_url: Url,
    status_url: Url,
    /// The `ProviderStatus::source` line, such as `OMA Backend at https://host/api/v1`.
    source: String,
    messages: MessageContext,
    verify_tls: bool,
    retry: RetryPolicy,
}

impl OmaClient {
    /// Creates a client for the OMA Backend the settings describe. Nothing is sent yet.
    ///
    /// With `verify_tls` off, logs a warning that certificate checks are off.
    ///
    /// # Errors
    ///
    /// [`CredentialError::NotConfigured`] when the URL is not http(s) or contains a user
    /// name or password, the token is empty, the timeout is zero, or the HTTP client cannot
    /// be built.
    pub fn new(settings: OmaSettings) -> Result<Self, CredentialError> {
        Self::with_options(settings, OmaOptions::default())
    }

    /// Creates a client with the extra `options`: CA certificates to trust and an account
    /// to log in with when the JWT expires or is rejected. With a login, the access token
    /// may be empty, and the first request logs in.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_options(
        settings: OmaSettings,
        options: OmaOptions,
    ) -> Result<Self, CredentialError> {
        let OmaSettings {
            base_url,
            api_prefix,
            access_token,
            verify_tls,
            timeout,
        } = settings;
        validate(&base_url, &access_token, options.login.is_some(), timeout)?;

        let api_prefix = endpoint::normalize_prefix(&api_prefix);
        let host = match (base_url.host_str(), base_url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        };
        let api_root = endpoint::join(&base_url, &api_prefix, "");

        let http = build_client(&HttpSettings {
            timeout,
            connect_timeout: timeout.min(MAX_CONNECT_TIMEOUT),
            accept_invalid_certs: !verify_tls,
            root_certificates: options.root_certificates,
        })
        .map_err(|error| {
            CredentialError::NotConfigured(format!(
                "The HTTP client for the OMA Backend could not be built: {error}."
            ))
        })?;

        if !verify_tls {
            tracing::warn!(
                %host,
                "OMA_VERIFY_SSL is false, so TLS certificate checks are off for the OMA Backend and anyone \
                 on the network path could read OMA_ACCESS_TOKEN and the Google tokens"
            );
        }

        Ok(Self {
            http,
            login_url: endpoint::join(&base_url, &api_prefix, "auth/login"),
            credentials_url: endpoint::join(&base_url, &api_prefix, Endpoint::Credentials.path()),
            status_url: endpoint::join(&base_url, &api_prefix, Endpoint::Status.path()),
            source: format!("OMA Backend at {api_root}"),
            messages: MessageContext {
                host,
                api_prefix,
                timeout,
                token_expiry: None,
            },
            session: Session::new(access_token),
            login: options.login,
            verify_tls,
            retry: DEFAULT_RETRY_POLICY,
        })
    }

    /// Returns the URL of the credentials endpoint, for `hub_status` and logs. It contains
    /// no token.
    pub fn credentials_url(&self) -> &Url {
        &self.credentials_url
    }

    /// Replaces the attempt count and the first backoff of the retry policy, so tests of the
    /// retry path run in milliseconds. `max_attempts` counts the first attempt and is at
    /// least 1.
    #[doc(hidden)]
    #[must_use]
    pub fn with_retry_policy(self, max_attempts: u32, first_delay: Duration) -> Self {
        let policy = RetryPolicy {
            max_attempts: max_attempts.max(1),
            base_delay: first_delay,
            ..self.retry
        };
        self.with_retry(policy)
    }

    /// Replaces the retry policy ([`DEFAULT_RETRY_POLICY`] unless set).
    #[must_use]
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends a GET to `endpoint` and returns the body of a 2xx response. With a login
    /// configured, an expired JWT is renewed first, and a rejected one is renewed and the
    /// request sent once more.
    async fn get(&self, endpoint: Endpoint) -> Result<Vec<u8>, CredentialError> {
        let now = Utc::now();
        self.session.warn_if_expiring(now, self.login.is_some());
        let Some(login) = &self.login else {
            return self.get_with_retries(endpoint).await;
        };

        if self.session.needs_login(now) {
            let generation = self.session.current().generation;
            self.log_in(login, generation).await?;
        }
        let generation = self.session.current().generation;
        match self.get_with_retries(endpoint).await {
            Err(CredentialError::Unauthorized(_)) => {
                tracing::info!("the OMA Backend rejected the JWT; logging in again");
                self.log_in(login, generation).await?;
                self.get_with_retries(endpoint).await
            }
            result => result,
        }
    }

    async fn log_in(&self, login: &OmaLogin, generation: u64) -> Result<(), CredentialError> {
        self.session
            .log_in(&self.http, &self.retry, &self.login_url, login, generation)
            .await
    }

    /// Returns the `exp` of the JWT in use, if it has one.
    pub fn token_expiry(&self) -> Option<DateTime<Utc>> {
        self.session.expiry()
    }

    /// Sends a GET to `endpoint` under the retry policy.
    async fn get_with_retries(&self, endpoint: Endpoint) -> Result<Vec<u8>, CredentialError> {
        let outcome = retry::run(
            &self.retry,
            endpoint.name(),
            |attempt| self.attempt(endpoint, attempt),
            |failure| match failure {
                Failure::Transient(Transient::RateLimited { retry_after, .. }) => Decision::Retry {
                    retry_after: *retry_after,
                },
                Failure::Transient(_) => Decision::Retry { retry_after: None },
                Failure::Final(_) => Decision::Stop,
            },
        )
        .await;

        outcome.map_err(|failed| match failed.last_error {
            Some(Failure::Final(error)) => error,
            Some(Failure::Transient(transient)) if failed.reason != GaveUp::Deadline => {
                self.messages.exhausted(&transient, failed.attempts)
            }
            _ => self.messages.deadline(self.retry.deadline, failed.attempts),
        })
    }

    /// Sends one GET and reads its body.
    async fn attempt(&self, endpoint: Endpoint, attempt: u32) -> Result<Vec<u8>, Failure> {
        let url = match endpoint {
            Endpoint::Credentials => &self.credentials_url,
            Endpoint::Status => &self.status_url,
        };
        let started = Instant::now();
        let token = self.session.current().token;

        let response = self
            .http
            .get(url.clone())
            .bearer_auth(token.expose_secret())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| {
                let transient = Transient::from_request_error(&error);
                tracing::debug!(
                    endpoint = endpoint.name(),
                    attempt,
                    reason = %transient,
                    "OMA Backend request failed"
                );
                Failure::Transient(transient)
            })?;

        let status = response.status();
        let retry_after = retry_after(response.headers(), Utc::now());
        let body = read_body_limited(response, MAX_BODY_BYTES).await;
        tracing::debug!(
            endpoint = endpoint.name(),
            status = status.as_u16(),
            attempt,
            elapsed_ms = started.elapsed().as_millis(),
            "OMA Backend responded"
        );

        if status.is_success() {
            return body.map_err(|error| match error {
                BodyError::TooLarge { .. } => Failure::Final(CredentialError::InvalidResponse(format!(
                    "The OMA Backend's {} response is too large: {error}. Check that OMA_BACKEND_URL and \
                     OMA_API_PREFIX point to the OMA Backend's API.",
                    endpoint.name()
                ))),
                BodyError::Transport(cause) => Failure::Transient(Transient::Transport(cause)),
            });
        }

        let detail = body
            .ok()
            .and_then(|body| response::error_detail(&body, token.expose_secret()));
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Transient(Transient::RateLimited {
                retry_after,
                detail,
            }));
        }
        let messages = MessageContext {
            token_expiry: self.session.expiry(),
            ..self.messages.clone()
        };
        Err(messages.for_status(endpoint, status, detail, Utc::now()))
    }
}

#[async_trait]
impl CredentialProvider for OmaClient {
    fn mode(&self) -> AuthMode {
        AuthMode::OmaBackend
    }

    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
        let body = self.get(Endpoint::Credentials).await?;
        let credentials = response::parse_credentials(&body, Utc::now())?;

        tracing::debug!(
            expires_at = ?credentials.expires_at,
            scopes = credentials.scopes.len(),
            has_refresh_token = credentials.refresh_token.is_some(),
            "received Google credentials from the OMA Backend"
        );
        Ok(credentials)
    }

    async fn status(&self) -> Result<ProviderStatus, CredentialError> {
        let body = self.get(Endpoint::Status).await?;
        response::parse_status(&body, Utc::now(), self.source.clone())
    }

    fn source_token_expiry(&self) -> Option<DateTime<Utc>> {
        self.session.expiry()
    }
}

/// Optional settings of an [`OmaClient`] beyond [`OmaSettings`].
#[derive(Debug, Default)]
pub struct OmaOptions {
    /// CA certificates trusted besides the platform's roots (`OMA_CA_CERT`).
    pub root_certificates: Vec<reqwest::Certificate>,
    /// The account to log in with when the JWT expires or is rejected.
    pub login: Option<OmaLogin>,
}

impl fmt::Debug for OmaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OmaClient")
            .field("credentials_url", &self.credentials_url.as_str())
            .field("status_url", &self.status_url.as_str())
            .field("access_token", &"<redacted>")
            .field("verify_tls", &self.verify_tls)
            .field("timeout", &self.messages.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Checks what the client cannot work without.
fn validate(
    base_url: &Url,
    access_token: &SecretString,
    can_log_in: bool,
    timeout: Duration,
) -> Result<(), CredentialError> {
    if !matches!(base_url.scheme(), "http" | "https") {
        return Err(CredentialError::NotConfigured(format!(
            "OMA_BACKEND_URL must be an http or https URL such as https://oma.example.com, \
             but its scheme is \"{}\".",
            base_url.scheme()
        )));
    }
    if !base_url.username().is_empty() || base_url.password().is_some() {
        return Err(CredentialError::NotConfigured(
            "OMA_BACKEND_URL contains a user name or password. Remove them, because the hub authenticates \
             to the OMA Backend with OMA_ACCESS_TOKEN only."
                .to_owned(),
        ));
    }
    if access_token.expose_secret().trim().is_empty() && !can_log_in {
        return Err(CredentialError::NotConfigured(
            "OMA_ACCESS_TOKEN is empty. Log in to the OMA web UI and set OMA_ACCESS_TOKEN to \
             your OMA JWT."
                .to_owned(),
        ));
    }
    if timeout.is_zero() {
        return Err(CredentialError::NotConfigured(
            "OMA_TIMEOUT_SECS must be greater than zero.".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base_url: &str) -> OmaSettings {
        OmaSettings {
            base_url: Url::parse(base_url).expect("test URL parses"),
            api_prefix: OmaSettings::DEFAULT_API_PREFIX.to_owned(),
            access_token: SecretString::from("eyJhbGciOiJIUzI1NiJ9.e30.secret-signature"),
            verify_tls: true,
            timeout: OmaSettings::DEFAULT_TIMEOUT,
        }
    }

    fn not_configured(settings: OmaSettings) -> String {
        match OmaClient::new(settings) {
            Err(CredentialError::NotConfigured(message)) => message,
            other => panic!("expected NotConfigured, got {other:?}"),
        }
    }

    #[test]
    fn new_rejects_non_http_scheme() {
        let message = not_configured(settings("ftp://oma.example.com"));
        assert!(message.contains("OMA_BACKEND_URL"), "{message}");
        assert!(message.contains("\"ftp\""), "{message}");
    }

    #[test]
    fn new_rejects_credentials_in_url() {
        let message = not_configured(settings("https://user:pass@oma.example.com"));
        assert!(!message.contains("pass@"), "{message}");
        assert!(message.contains("user name or password"), "{message}");
    }

    #[test]
    fn new_rejects_empty_token_and_zero_timeout() {
        let empty_token = OmaSettings {
            access_token: SecretString::from(" "),
            ..settings("https://oma.example.com")
        };
        assert!(not_configured(empty_token).contains("OMA_ACCESS_TOKEN"));
        let zero_timeout = OmaSettings {
            timeout: Duration::ZERO,
            ..settings("https://oma.example.com")
        };
        assert!(not_configured(zero_timeout).contains("OMA_TIMEOUT_SECS"));
    }

    #[test]
    fn credentials_url_keeps_base_path() {
        let client = OmaClient::new(OmaSettings {
            api_prefix: "apib/v1/".to_owned(),
            ..settings("https://host/oma")
        })
        .expect("valid settings");
        assert_eq!(
            client.credentials_url().as_str(),
            "https://host/oma/apib/v1/google/credentials"
        );
        assert_eq!(client.source, "OMA Backend at https://host/oma/apib/v1");
        assert_eq!(client.messages.host, "host");
    }

    #[test]
    fn host_includes_explicit_port() {
        let client = OmaClient::new(settings("http://127.0.0.1:8000/")).expect("valid settings");
        assert_eq!(client.messages.host, "127.0.0.1:8000");
    }

    #[test]
    fn debug_hides_token() {
        let client = OmaClient::new(settings("https://oma.example.com")).expect("valid settings");
        let debug = format!("{client:?}");
        assert!(!debug.contains("secret-signature"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(
            debug.contains("https://oma.example.com/api/v1/google/credentials"),
            "{debug}"
        );
    }
}
