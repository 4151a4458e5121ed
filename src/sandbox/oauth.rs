//! Google's OAuth endpoints as the sandbox serves them, for `auth login` and token refresh
//! in `local_file` mode.
//!
//! - `GET /o/oauth2/auth` approves at once, with no page to click: it checks the client ID,
//!   a loopback `redirect_uri`, `response_type=code` and an S256 `code_challenge`, then
//!   answers 302 to the `redirect_uri` with `code` and `state`, so a test (or a browser)
//!   completes the flow with one GET.
//! - `POST /token` exchanges a code (checking the PKCE verifier and the redirect URI) or a
//!   refresh token, and answers errors as Google does (`{"error": "invalid_grant"}`).
//! - `POST /revoke` revokes a refresh or access token.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{TimeDelta, Utc};
use sha2::Digest as _;

use super::oma::{PendingCode, SCOPES};
use super::server::AppState;
use super::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET};

/// How long an authorization code stays valid, as with Google.
const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(10);

fn form(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// An OAuth error response (RFC 6749 section 5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Accepts only loopback redirects over http, as Google does for installed apps.
fn is_loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|url| {
        url.scheme() == "http"
            && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
    })
}

/// `GET /o/oauth2/auth`: approves the request and redirects with a code.
pub(crate) async fn authorize(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = form(query.as_deref().unwrap_or_default());
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();

    if get("client_id") != OAUTH_CLIENT_ID {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    }
    let redirect_uri = get("redirect_uri");
    if !is_loopback_redirect(redirect_uri) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "The sandbox accepts only http loopback redirect URIs.",
        );
    }
    if get("response_type") != "code" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "Use response_type=code.",
        );
    }
    if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The sandbox requires PKCE with code_challenge_method=S256.",
        );
    }
    let scope = if get("scope").is_empty() {
        SCOPES.join(" ")
    } else {
        get("scope").to_owned()
    };

    let code = state.tokens.issue_code(PendingCode {
        redirect_uri: redirect_uri.to_owned(),
        code_challenge: get("code_challenge").to_owned(),
        scope: scope.clone(),
        expires_at: Utc::now() + CODE_LIFETIME,
    });
    let Ok(mut location) = url::Url::parse(redirect_uri) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid redirect_uri.",
        );
    };
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("scope", &scope);
    if let Some(request_state) = params.get("state") {
        location
            .query_pairs_mut()
            .append_pair("state", request_state);
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// `POST /token`: the authorization-code and refresh-token grants.
pub(crate) async fn token(State(state): State<Arc<AppState>>, body: String) -> Response {
    state.counters.count_token_request();
    let params = form(&body);
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();

    if get("client_id") != OAUTH_CLIENT_ID || get("client_secret") != OAUTH_CLIENT_SECRET {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
    }
    let now = Utc::now();
    let (refresh_token, scope) = match get("grant_type") {
        "authorization_code" => {
            let Some(pending) = state.tokens.take_code(get("code"), now) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Malformed auth code.",
                );
            };
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
            if challenge != pending.code_challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid code verifier.",
                );
            }
            if get("redirect_uri") != pending.redirect_uri {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri_mismatch",
                    "Bad Request",
                );
            }
            (Some(state.tokens.issue_refresh_token()), pending.scope)
        }
        "refresh_token" => {
            if !state.tokens.is_refresh_token(get("refresh_token")) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                );
            }
            (None, SCOPES.join(" "))
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Invalid grant_type.",
            );
        }
    };

    let (access_token, _) = state.tokens.issue_google_token(now);
    let mut answer = serde_json::json!({
        "access_token": access_token,
        "expires_in": state.tokens.lifetime().num_seconds(),
        "scope": scope,
        "token_type": "Bearer",
    });
    if let Some(refresh_token) = refresh_token {
        answer["refresh_token"] = serde_json::Value::from(refresh_token);
    }
    Json(answer).into_response()
}

/// `POST /revoke`: revokes a token given as `token=` in the form or the query.
pub(crate) async fn revoke(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    body: String,
) -> Response {
    let mut params = form(query.as_deref().unwrap_or_default());
    params.extend(form(&body));
    let token = params.get("token").map(String::as_str).unwrap_or_default();
    if state.tokens.revoke(token, Utc::now()) {
        Json(serde_json::json!({})).into_response()
    } else {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_redirects() {
        assert!(is_loopback_redirect("http://127.0.0.1:4242/"));
        assert!(is_loopback_redirect("http://localhost:1/cb"));
        assert!(!is_loopback_redirect("https://127.0.0.1/"));
        assert!(!is_loopback_redirect("http://example.com/"));
        assert!(!is_loopback_redirect("not a url"));
    }
}
