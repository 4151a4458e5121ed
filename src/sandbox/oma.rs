//! The OMA Backend endpoints and the tokens the sandbox issues and accepts.
//!
//! The OMA access token is a random JWT-shaped string made at start; the sandbox only
//! compares it and never verifies a signature. Every call to the credentials endpoint or to
//! the OAuth token endpoint issues a new Google access token valid for the configured
//! lifetime (default [`GOOGLE_TOKEN_LIFETIME_SECS`]); every unexpired one stays valid, as
//! with Google.
//!
//! Refresh tokens start with [`REFRESH_TOKEN_PREFIX`] and are accepted by every sandbox
//! until revoked in that sandbox, so a token file written by `auth login` against one
//! sandbox run keeps working with the next.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rand::RngCore as _;

use super::server::AppState;

/// The lifetime of an issued Google access token, as Google's token endpoint grants.
pub(crate) const GOOGLE_TOKEN_LIFETIME_SECS: i64 = 3600;

/// The `exp` of the OMA JWT, counted from the start. The sandbox does not enforce it.
const OMA_TOKEN_LIFETIME_DAYS: i64 = 30;

/// The scopes the sandbox grants: the read-only ones the hub's read tools need.
pub(crate) const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/calendar.readonly",
];

/// The start of every refresh token the sandbox issues and accepts.
pub(crate) const REFRESH_TOKEN_PREFIX: &str = "1//sandbox-";

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct PendingCode {
    pub(crate) redirect_uri: String,
    /// The PKCE S256 challenge.
    pub(crate) code_challenge: String,
    pub(crate) scope: String,
    pub(crate) expires_at: DateTime<Utc>,
}

/// Issues and checks the sandbox's tokens.
pub(crate) struct TokenIssuer {
    oma_token: String,
    lifetime: TimeDelta,
    /// Google access tokens and their expiry.
    google_tokens: Mutex<HashMap<String, DateTime<Utc>>>,
    /// Refresh tokens revoked in this sandbox.
    revoked: Mutex<HashSet<String>>,
    /// Authorization codes not yet exchanged.
    codes: Mutex<HashMap<String, PendingCode>>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// Makes a new random OMA JWT for `user_email`; Google access tokens will last
    /// `lifetime`.
    pub(crate) fn new(user_email: &str, now: DateTime<Utc>, lifetime: TimeDelta) -> Self {
        let header = serde_json::json!({ "alg": "HS256", "typ": "JWT" });
        let claims = serde_json::json!({
            "sub": user_email,
            "email": user_email,
            "iss": "mcp-google-hub-sandbox",
            "iat": now.timestamp(),
            "exp": (now + TimeDelta::days(OMA_TOKEN_LIFETIME_DAYS)).timestamp(),
        });
        let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let oma_token = format!(
            "{}.{}.{}",
            encode(header.to_string().as_bytes()),
            encode(claims.to_string().as_bytes()),
            encode(&random_bytes()),
        );
        Self {
            oma_token,
            lifetime,
            google_tokens: Mutex::new(HashMap::new()),
            revoked: Mutex::new(HashSet::new()),
            codes: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the lifetime of an issued access token.
    pub(crate) fn lifetime(&self) -> TimeDelta {
        self.lifetime
    }

    /// Issues a new refresh token.
    pub(crate) fn issue_refresh_token(&self) -> String {
        format!(
            "{REFRESH_TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes())
        )
    }

    /// Returns whether `token` is a sandbox refresh token not revoked here.
    pub(crate) fn is_refresh_token(&self, token: &str) -> bool {
        token.starts_with(REFRESH_TOKEN_PREFIX) && !lock(&self.revoked).contains(token)
    }

    /// Revokes a refresh or access token; returns whether it was a valid one.
    pub(crate) fn revoke(&self, token: &str, now: DateTime<Utc>) -> bool {
        if self.is_refresh_token(token) {
            return lock(&self.revoked).insert(token.to_owned());
        }
        lock(&self.google_tokens)
            .remove(token)
            .is_some_and(|expiry| expiry > now)
    }

    /// Stores a new authorization code and returns it.
    pub(crate) fn issue_code(&self, pending: PendingCode) -> String {
        let code = format!(
            "4/sandbox-{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes())
        );
        let mut codes = lock(&self.codes);
        codes.retain(|_, waiting| waiting.expires_at > pending.expires_at - TimeDelta::minutes(10));
        codes.insert(code.clone(), pending);
        code
    }

    /// Removes and returns the pending code, so each code is exchanged at most once.
    pub(crate) fn take_code(&self, code: &str, now: DateTime<Utc>) -> Option<PendingCode> {
        lock(&self.codes)
            .remove(code)
            .filter(|pending| pending.expires_at > now)
    }

    /// Returns the OMA JWT the sandbox accepts.
    pub(crate) fn oma_token(&self) -> &str {
        &self.oma_token
    }

    /// Returns whether `token` is the OMA JWT.
    pub(crate) fn is_oma_token(&self, token: &str) -> bool {
        constant_time_eq(token.as_bytes(), self.oma_token.as_bytes())
    }

    /// Issues a new Google access token and returns it with its expiry. Expired tokens are
    /// dropped here, so the set stays as small as the number of live tokens.
    pub(crate) fn issue_google_token(&self, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let token = format!(
            "ya29.sandbox-{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes())
        );
        let expires_at = now + self.lifetime;

        let mut tokens = self
            .google_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens.retain(|_, expiry| *expiry > now);
        tokens.insert(token.clone(), expires_at);
        (token, expires_at)
    }

    /// Returns whether `token` was issued here and has not expired at `now`.
    pub(crate) fn is_google_token(&self, token: &str, now: DateTime<Utc>) -> bool {
        let tokens = self
            .google_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens.get(token).is_some_and(|expiry| *expiry > now)
    }

    /// Returns the expiry of the newest live token, for the status endpoint.
    fn latest_expiry(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tokens = self
            .google_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens
            .values()
            .copied()
            .filter(|expiry| *expiry > now)
            .max()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Compares without an early exit, so response times do not reveal how much of a guessed
/// token was right.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter()
        .zip(right)
        .fold(0_u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

/// Returns the token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Builds FastAPI's 401 response for a missing or rejected bearer token.
fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({ "detail": "Could not validate credentials" })),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `GET /api/v1/google/credentials`: a fresh Google access token for the sandbox user.
pub(crate) async fn credentials(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    state.counters.count_oma_request();
    if !bearer_token(&headers).is_some_and(|token| state.tokens.is_oma_token(token)) {
        return unauthorized();
    }

    let (access_token, expires_at) = state.tokens.issue_google_token(Utc::now());
    Json(serde_json::json!({
        "access_token": access_token,
        "refresh_token": null,
        "token_type": "Bearer",
        "expires_in": state.tokens.lifetime().num_seconds(),
        "expires_at": rfc3339(expires_at),
        "scopes": SCOPES,
        "email": state.user_email,
    }))
    .into_response()
}

/// `GET /api/v1/google/status`: whether Google is connected, without a token.
pub(crate) async fn status(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !bearer_token(&headers).is_some_and(|token| state.tokens.is_oma_token(token)) {
        return unauthorized();
    }

    // Before the first credentials call there is no token; the next one would last an hour.
    let now = Utc::now();
    let expires_at = state
        .tokens
        .latest_expiry(now)
        .unwrap_or_else(|| now + state.tokens.lifetime());
    Json(serde_json::json!({
        "connected": true,
        "email": state.user_email,
        "scopes": SCOPES,
        "expires_at": rfc3339(expires_at),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oma_token_is_jwt_shaped() {
        let issuer = TokenIssuer::new(
            "a@example.com",
            Utc::now(),
            TimeDelta::seconds(GOOGLE_TOKEN_LIFETIME_SECS),
        );
        let parts: Vec<&str> = issuer.oma_token().split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .expect("base64");
        let claims: serde_json::Value = serde_json::from_slice(&claims).expect("json");
        assert!(claims["exp"].as_i64().is_some());
        assert!(issuer.is_oma_token(issuer.oma_token()));
        assert!(!issuer.is_oma_token("x.y.z"));
    }

    #[test]
    fn google_tokens_expire() {
        let now = Utc::now();
        let issuer = TokenIssuer::new(
            "a@example.com",
            now,
            TimeDelta::seconds(GOOGLE_TOKEN_LIFETIME_SECS),
        );
        let (first, _) = issuer.issue_google_token(now);
        let (second, _) = issuer.issue_google_token(now);
        assert_ne!(first, second);
        assert!(issuer.is_google_token(&first, now));
        assert!(issuer.is_google_token(&second, now));
        assert!(
            !issuer.is_google_token(&first, now + TimeDelta::seconds(GOOGLE_TOKEN_LIFETIME_SECS))
        );
        assert!(!issuer.is_google_token("bogus", now));
    }

    #[test]
    fn bearer_header_parses() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            header::HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(
            header::AUTHORIZATION,
            header::HeaderValue::from_static("Basic abc"),
        );
        assert_eq!(bearer_token(&headers), None);
    }
}
