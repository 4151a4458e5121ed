//! The OMA JWT the client sends: its expiry warnings, and logging in again with
//! `OMA_USERNAME` and `OMA_PASSWORD` when it expires or is rejected.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{PoisonError, RwLock};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::jwt_expiry;
use crate::domain::errors::CredentialError;
use crate::outbound::http::{describe_error, read_body_limited};
use crate::outbound::retry::{self, Decision, RetryPolicy};

/// How long before the JWT expires the hub starts warning.
pub(super) const EXPIRY_WARNING: TimeDelta = TimeDelta::minutes(5);

/// The largest login response read. A token response is well under 8 KiB.
const LOGIN_BODY_LIMIT: usize = 64 * 1024;

/// The OMA account to log in with, for renewing the JWT.
#[derive(Clone)]
pub struct OmaLogin {
    /// `OMA_USERNAME`.
    pub username: String,
    /// `OMA_PASSWORD`. Never logged and never put in a message.
    pub password: SecretString,
}

impl std::fmt::Debug for OmaLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmaLogin")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Which expiry warning was logged for the current JWT.
const WARNED_NONE: u8 = 0;
const WARNED_SOON: u8 = 1;
const WARNED_EXPIRED: u8 = 2;

/// The current JWT with its `exp` and a generation that grows with each login, so callers
/// that saw the same rejected token share one login.
pub(super) struct Session {
    state: RwLock<TokenState>,
    warned: AtomicU8,
    /// Serializes logins; held across the login request.
    login_lock: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
pub(super) struct TokenState {
    pub(super) token: SecretString,
    pub(super) expiry: Option<DateTime<Utc>>,
    pub(super) generation: u64,
}

impl Session {
    pub(super) fn new(token: SecretString) -> Self {
        Self {
            state: RwLock::new(TokenState {
                expiry: jwt_expiry(token.expose_secret()),
                token,
                generation: 0,
            }),
            warned: AtomicU8::new(WARNED_NONE),
            login_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub(super) fn current(&self) -> TokenState {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn expiry(&self) -> Option<DateTime<Utc>> {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .expiry
    }

    /// Returns whether the JWT is empty or past its `exp` at `now`.
    pub(super) fn needs_login(&self, now: DateTime<Utc>) -> bool {
        let state = self.current();
        state.token.expose_secret().trim().is_empty() || state.expiry.is_some_and(|exp| exp <= now)
    }

    /// Logs a warning once per JWT when it expires within [`EXPIRY_WARNING`], and once more
    /// when it has expired.
    pub(super) fn warn_if_expiring(&self, now: DateTime<Utc>, can_log_in: bool) {
        let Some(expiry) = self.expiry() else {
            return;
        };
        let level = if expiry <= now {
            WARNED_EXPIRED
        } else if expiry - now <= EXPIRY_WARNING {
            WARNED_SOON
        } else {
            return;
        };
        if self.warned.fetch_max(level, Ordering::SeqCst) >= level {
            return;
        }

        let at = expiry.to_rfc3339_opts(SecondsFormat::Secs, true);
        match (level, can_log_in) {
            (_, true) => {
                tracing::info!(expires_at = %at, "the OMA JWT expires soon; the hub will log in again with OMA_USERNAME")
            }
            (WARNED_SOON, false) => tracing::warn!(
                expires_at = %at,
                "OMA_ACCESS_TOKEN expires within 5 minutes; log in to the OMA web UI and set a new token, or set OMA_USERNAME and OMA_PASSWORD"
            ),
            _ => tracing::warn!(
                expires_at = %at,
                "OMA_ACCESS_TOKEN has expired, so the OMA Backend will reject the hub; log in to the OMA web UI and set a new token"
            ),
        }
    }

    /// Logs in and stores the new JWT, unless another caller already replaced the token of
    /// `seen_generation`. Concurrent callers wait for one login.
    ///
    /// # Errors
    ///
    /// [`CredentialError::Unauthorized`] naming `OMA_USERNAME` when the OMA Backend rejects
    /// the user name or password, [`CredentialError::Unavailable`] when it cannot be
    /// reached, and [`CredentialError::InvalidResponse`] for any other answer.
    pub(super) async fn log_in(
        &self,
        http: &reqwest::Client,
        policy: &RetryPolicy,
        login_url: &Url,
        login: &OmaLogin,
        seen_generation: u64,
    ) -> Result<(), CredentialError> {
        let _login = self.login_lock.lock().await;
        if self.current().generation != seen_generation {
            return Ok(());
        }

        let outcome = retry::run(
            policy,
            "login",
            |_| request_token(http, login_url, login),
            |error| match error {
                LoginError::Transient(_) => Decision::Retry { retry_after: None },
                LoginError::Final(_) => Decision::Stop,
            },
        )
        .await;
        let token = outcome.map_err(|failed| match failed.last_error {
            Some(LoginError::Final(error)) => error,
            Some(LoginError::Transient(cause)) => CredentialError::Unavailable(format!(
                "Logging in to the OMA Backend as OMA_USERNAME failed after {} attempts ({cause}). Check \
                 that the server at OMA_BACKEND_URL is running, then try again.",
                failed.attempts
            )),
            None => CredentialError::Unavailable(format!(
                "Logging in to the OMA Backend as OMA_USERNAME did not finish within {} s.",
                policy.deadline.as_secs_f64()
            )),
        })?;

        let expiry = jwt_expiry(token.expose_secret());
        {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            state.generation += 1;
            state.expiry = expiry;
            state.token = token;
        }
        self.warned.store(WARNED_NONE, Ordering::SeqCst);
        tracing::info!(
            expires_at = ?expiry,
            "logged in to the OMA Backend again with OMA_USERNAME"
        );
        Ok(())
    }
}

enum LoginError {
    Transient(String),
    Final(CredentialError),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(cause) => f.write_str(cause),
            Self::Final(error) => error.fmt(f),
        }
    }
}

/// Sends `POST {prefix}/auth/login` with `{username, password}` and reads `access_token`.
async fn request_token(
    http: &reqwest::Client,
    login_url: &Url,
    login: &OmaLogin,
) -> Result<SecretString, LoginError> {
    let body = serde_json::json!({
        "username": login.username,
        "password": login.password.expose_secret(),
    });
    let response = http
        .post(login_url.clone())
        .header(ACCEPT, "application/json")
        .json(&body)
        .send()
        .await
        .map_err(|error| LoginError::Transient(describe_error(&error)))?;

    let status = response.status();
    let code = status.as_u16();
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(LoginError::Final(CredentialError::Unauthorized(format!(
                "The OMA Backend rejected the login with OMA_USERNAME and OMA_PASSWORD (HTTP {code}). \
                 Check OMA_USERNAME and OMA_PASSWORD (or OMA_PASSWORD_FILE), or set a new OMA_ACCESS_TOKEN."
            ))));
        }
        _ if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
            return Err(LoginError::Transient(format!("HTTP {code}")));
        }
        _ if !status.is_success() => {
            return Err(LoginError::Final(CredentialError::InvalidResponse(
                format!(
                    "The OMA Backend answered the login request with HTTP {code}. Check that OMA_BACKEND_URL \
                 and OMA_API_PREFIX point to an OMA Backend that offers POST /auth/login."
                ),
            )));
        }
        _ => {}
    }

    let body = read_body_limited(response, LOGIN_BODY_LIMIT)
        .await
        .map_err(|error| LoginError::Transient(error.to_string()))?;
    let token = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| value.get("access_token")?.as_str().map(str::to_owned))
        .filter(|token| !token.trim().is_empty());
    match token {
        Some(token) => Ok(SecretString::from(token)),
        None => Err(LoginError::Final(CredentialError::InvalidResponse(
            "The OMA Backend's login response has no access_token string. Check that OMA_BACKEND_URL \
             and OMA_API_PREFIX point to the OMA Backend's API."
                .to_owned(),
        ))),
    }
}
