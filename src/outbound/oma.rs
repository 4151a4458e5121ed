//! The OMA Backend client (feature `oma-backend`).
//!
//! The OMA Backend stores each user's Google tokens and refreshes them. The hub sends the
//! user's OMA JWT as a bearer token and receives a usable Google access token:
//!
//! - `GET {OMA_BACKEND_URL}{OMA_API_PREFIX}/google/credentials` returns the tokens.
//! - `GET {OMA_BACKEND_URL}{OMA_API_PREFIX}/google/status` reports the connection without
//!   tokens.
//!
//! Server errors (5xx), timeouts and connection failures are retried with exponential
//! backoff, so one call takes at most 3 times `OMA_TIMEOUT_SECS` plus about
//! 0.66 s of waiting. Every other failure is mapped to a [`CredentialError`] at once.

mod endpoint;
mod failure;
mod jwt;
pub(crate) mod response;

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chrono::Utc;
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use self::endpoint::Endpoint;
use self::failure::{Failure, MessageContext, Transient};
use crate::domain::errors::CredentialError;
use crate::domain::models::{AuthMode, Credentials, ProviderStatus};
use crate::domain::ports::CredentialProvider;
use crate::outbound::http::{BodyError, HttpSettings, build_client, read_body_limited};

pub use self::jwt::jwt_expiry;

/// The largest response body read from the OMA Backend. A credentials body is well under
/// 4 KiB, so a body near this limit is not an OMA response.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The maximum time to set up a TCP and TLS connection, unless the per-attempt timeout is shorter.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts per request, counting the first, for server errors, timeouts and connection
/// failures.
pub(crate) const MAX_ATTEMPTS: u32 = 3;

/// The wait before the second attempt. Each further wait doubles, and each gets up to a
/// tenth more as jitter, so with three attempts the client waits about 0.2 s and then 0.4 s.
pub(crate) const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);

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
    access_token: SecretString,
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
        let OmaSettings {
            base_url,
            api_prefix,
            access_token,
            verify_tls,
            timeout,
        } = settings;
        validate(&base_url, &access_token, timeout)?;

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
            credentials_url: endpoint::join(&base_url, &api_prefix, Endpoint::Credentials.path()),
            status_url: endpoint::join(&base_url, &api_prefix, Endpoint::Status.path()),
            source: format!("OMA Backend at {api_root}"),
            messages: MessageContext {
                host,
                api_prefix,
                timeout,
                token_expiry: jwt_expiry(access_token.expose_secret()),
            },
            access_token,
            verify_tls,
            retry: RetryPolicy {
                max_attempts: MAX_ATTEMPTS,
                first_delay: FIRST_RETRY_DELAY,
            },
        })
    }

    /// Returns the URL of the credentials endpoint, for `hub_status` and logs. It contains
    /// no token.
    pub fn credentials_url(&self) -> &Url {
        &self.credentials_url
    }

    /// Replaces the retry policy, so tests of the retry path run in milliseconds.
    /// `max_attempts` counts the first attempt and is at least 1.
    #[doc(hidden)]
    #[must_use]
    pub fn with_retry_policy(mut self, max_attempts: u32, first_delay: Duration) -> Self {
        self.retry = RetryPolicy {
            max_attempts: max_attempts.max(1),
            first_delay,
        };
        self
    }

    /// Sends a GET to `endpoint` with retries and returns the body of a 2xx response.
    async fn get(&self, endpoint: Endpoint) -> Result<Vec<u8>, CredentialError> {
        let mut attempt = 1;
        loop {
            let transient = match self.attempt(endpoint, attempt).await {
                Ok(body) => return Ok(body),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Transient(transient)) => transient,
            };

            if attempt >= self.retry.max_attempts {
                tracing::warn!(
                    endpoint = endpoint.name(),
                    attempt,
                    reason = %transient,
                    "OMA Backend request failed, giving up"
                );
                return Err(self.messages.exhausted(&transient, attempt));
            }

            let delay = self.retry.delay_after(attempt);
            tracing::warn!(
                endpoint = endpoint.name(),
                attempt,
                reason = %transient,
                delay_ms = delay.as_millis(),
                "OMA Backend request failed, retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Sends one GET and reads its body.
    async fn attempt(&self, endpoint: Endpoint, attempt: u32) -> Result<Vec<u8>, Failure> {
        let url = match endpoint {
            Endpoint::Credentials => &self.credentials_url,
            Endpoint::Status => &self.status_url,
        };
        let started = Instant::now();

        let response = self
            .http
            .get(url.clone())
            .bearer_auth(self.access_token.expose_secret())
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
            .and_then(|body| response::error_detail(&body, self.access_token.expose_secret()));
        Err(self
            .messages
            .for_status(endpoint, status, detail, Utc::now()))
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

/// How often and how long to wait before retrying a transient failure.
#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    /// Attempts in total, counting the first.
    max_attempts: u32,
    /// The wait after the first failed attempt, doubled after each further one.
    first_delay: Duration,
}

impl RetryPolicy {
    /// Returns the wait after failed attempt number `attempt` (1-based), which is the doubled
    /// delay plus up to a tenth of it as jitter, so that clients that failed together do not retry
    /// together.
    fn delay_after(self, attempt: u32) -> Duration {
        let doubled = self
            .first_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));

        // The clock's nanoseconds are random enough to spread retries, and need no RNG.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|now| now.subsec_nanos())
            .unwrap_or(0);
        let jitter = doubled / 10 * (nanos % 1000) / 1000;
        doubled + jitter
    }
}

/// Checks what the client cannot work without.
fn validate(
    base_url: &Url,
    access_token: &SecretString,
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
    if access_token.expose_secret().trim().is_empty() {
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

    #[test]
    fn retry_delays_double_with_bounded_jitter() {
        let policy = RetryPolicy {
            max_attempts: 3,
            first_delay: Duration::from_millis(200),
        };
        let first = policy.delay_after(1);
        let second = policy.delay_after(2);
        assert!(
            first >= Duration::from_millis(200) && first <= Duration::from_millis(220),
            "{first:?}"
        );
        assert!(
            second >= Duration::from_millis(400) && second <= Duration::from_millis(440),
            "{second:?}"
        );
    }

    #[test]
    fn retry_delay_does_not_overflow() {
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            first_delay: Duration::from_secs(1),
        };
        assert_eq!(policy.delay_after(u32::MAX).as_secs() / 65_536, 1);
    }
}
