//! Parsing the OMA Backend's JSON bodies into credentials and status.
//!
//! Bodies are parsed into [`serde_json::Value`] first and read field by field, because
//! serde's typed errors quote the offending value, and that value could be a token. Every
//! error message here names the field, never its value.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

use super::endpoint::Endpoint;
use super::failure::NOT_CONNECTED;
use crate::domain::errors::CredentialError;
use crate::domain::models::{AccessToken, Credentials, ProviderStatus, RefreshToken};

/// The maximum length of a server `detail` quoted in an error message, in characters.
const MAX_DETAIL_CHARS: usize = 200;

/// The hint appended to every message about a body that does not fit the contract.
const CHECK_API: &str = "Check that OMA_BACKEND_URL and OMA_API_PREFIX point to the OMA \
                         Backend's API and not to another server.";

/// Parses a `google/credentials` body.
///
/// # Errors
///
/// [`CredentialError::NotConnected`] for `connected: false`, and
/// [`CredentialError::InvalidResponse`] when the body is not a JSON object or lacks a
/// non-empty string `access_token`.
pub(crate) fn parse_credentials(
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Credentials, CredentialError> {
    let object = parse_object(body, Endpoint::Credentials)?;

    if object.get("connected") == Some(&Value::Bool(false)) {
        return Err(CredentialError::NotConnected(NOT_CONNECTED.to_owned()));
    }

    let access_token = match object.get("access_token") {
        Some(Value::String(token)) if !token.trim().is_empty() => AccessToken::new(token.trim()),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            return Err(CredentialError::InvalidResponse(format!(
                "The OMA Backend's credentials response has no access_token, so there is no Google \
                 token to use. Reconnect Google in the OMA web UI; if that does not help, {}",
                lowercase_first(CHECK_API)
            )));
        }
        Some(_) => {
            return Err(CredentialError::InvalidResponse(format!(
                "The OMA Backend's credentials response has an access_token that is not a string. {CHECK_API}"
            )));
        }
    };

    // `token_uri` and `client_id` are accepted by the contract, but the hub never refreshes
    // an OMA-held token itself, so `Credentials` has no place for them.
    Ok(Credentials {
        access_token,
        refresh_token: non_empty_string(&object, "refresh_token").map(RefreshToken::new),
        token_type: non_empty_string(&object, "token_type")
            .unwrap_or("Bearer")
            .to_owned(),
        expires_at: parse_expiry(&object, now),
        scopes: parse_scopes(&object),
        account_email: non_empty_string(&object, "email").map(str::to_owned),
    })
}

/// Parses a `google/status` body. `connected: false` is a valid status, not an error.
///
/// # Errors
///
/// [`CredentialError::InvalidResponse`] when the body is not a JSON object or its
/// `connected` is not a boolean.
pub(crate) fn parse_status(
    body: &[u8],
    now: DateTime<Utc>,
    source: String,
) -> Result<ProviderStatus, CredentialError> {
    let object = parse_object(body, Endpoint::Status)?;

    let Some(connected) = object.get("connected").and_then(Value::as_bool) else {
        return Err(CredentialError::InvalidResponse(format!(
            "The OMA Backend's status response has no boolean `connected` field. {CHECK_API}"
        )));
    };

    Ok(ProviderStatus {
        connected,
        account_email: non_empty_string(&object, "email").map(str::to_owned),
        scopes: parse_scopes(&object),
        expires_at: parse_expiry(&object, now),
        source,
    })
}

/// Extracts the `detail` string of a FastAPI-style error body (`{"detail": "..."}`), on one
/// line and cut to [`MAX_DETAIL_CHARS`]. Returns `None` for any other body, and for a
/// detail that contains `secret`, so an echoed token never reaches a message.
pub(crate) fn error_detail(body: &[u8], secret: &str) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let detail = value.get("detail")?.as_str()?;

    let one_line: String = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() || (!secret.is_empty() && one_line.contains(secret)) {
        return None;
    }

    let mut chars = one_line.chars();
    let mut cut: String = chars.by_ref().take(MAX_DETAIL_CHARS).collect();
    if chars.next().is_some() {
        cut.push('…');
    }
    Some(cut)
}

fn parse_object(body: &[u8], endpoint: Endpoint) -> Result<Map<String, Value>, CredentialError> {
    let name = endpoint.name();
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(CredentialError::InvalidResponse(format!(
            "The OMA Backend's {name} response is JSON but not an object. {CHECK_API}"
        ))),
        // serde_json's syntax errors give only a category and a position, never content.
        Err(error) => Err(CredentialError::InvalidResponse(format!(
            "The OMA Backend's {name} response is not valid JSON ({error}). {CHECK_API}"
        ))),
    }
}

/// Returns the trimmed value of `field` when it is a string that is not blank.
fn non_empty_string<'a>(object: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    object
        .get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// Returns the value of `field` unless it is absent or `null`.
fn present<'a>(object: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    object.get(field).filter(|value| !value.is_null())
}

/// Reads the token's expiry from `expires_at`, then `expiry`, then `expires_in`, taking the
/// first that is present and readable. An unreadable field is logged (by name only) and
/// skipped. `None` means the expiry is unknown.
fn parse_expiry(object: &Map<String, Value>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    for field in ["expires_at", "expiry", "expires_in"] {
        let Some(value) = present(object, field) else {
            continue;
        };
        let parsed = if field == "expires_in" {
            parse_lifetime(value, now)
        } else {
            parse_timestamp(value)
        };
        match parsed {
            Some(expires_at) => return Some(expires_at),
            None => tracing::warn!(
                field,
                "ignoring an unreadable expiry field in the OMA Backend's response"
            ),
        }
    }
    None
}

/// Reads a point in time: RFC 3339, a timestamp without offset (taken as UTC, as the OMA
/// contract states, which is the shape Python's `datetime.isoformat()` writes for a naive
/// datetime), or seconds since the Unix epoch as a number or numeric string.
fn parse_timestamp(value: &Value) -> Option<DateTime<Utc>> {
    if let Some(text) = value.as_str() {
        let text = text.trim();
        if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
            return Some(parsed.with_timezone(&Utc));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
                return Some(naive.and_utc());
            }
        }
        return text.parse::<f64>().ok().and_then(unix_seconds);
    }
    value.as_f64().and_then(unix_seconds)
}

/// Reads a lifetime in seconds from `now`, as a number or numeric string.
fn parse_lifetime(value: &Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let seconds = match value {
        Value::String(text) => text.trim().parse::<f64>().ok()?,
        other => other.as_f64()?,
    };
    if !seconds.is_finite() {
        return None;
    }
    // Saturating `as` is fine: out-of-range values fail in `try_milliseconds`.
    let lifetime = TimeDelta::try_milliseconds((seconds * 1000.0).round() as i64)?;
    now.checked_add_signed(lifetime)
}

fn unix_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() {
        return None;
    }
    DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
}

/// Reads scopes from `scopes` (an array, or a space-separated string) or else from `scope`
/// (the same two shapes). Anything else counts as no scopes.
fn parse_scopes(object: &Map<String, Value>) -> Vec<String> {
    let Some(value) = present(object, "scopes").or_else(|| present(object, "scope")) else {
        return Vec::new();
    };

    let items: Vec<&str> = match value {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    items
        .into_iter()
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect()
}

fn lowercase_first(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-01T09:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn credentials(json: &str) -> Result<Credentials, CredentialError> {
        parse_credentials(json.as_bytes(), now())
    }

    fn expiry_of(json: &str) -> Option<DateTime<Utc>> {
        credentials(json).expect("parses").expires_at
    }

    #[test]
    fn full_body_is_read() {
        let parsed = credentials(
            r#"{"access_token":"ya29.abc","refresh_token":"1//r","token_type":"bearer",
                "expires_at":"2025-01-01T10:00:00+00:00","scopes":["a","b"],
                "email":"me@example.com","token_uri":"https://oauth2.googleapis.com/token",
                "client_id":"id.apps.googleusercontent.com","extra":{"nested":true}}"#,
        )
        .expect("parses");
        assert_eq!(parsed.access_token.expose_secret(), "ya29.abc");
        assert_eq!(
            parsed
                .refresh_token
                .as_ref()
                .map(RefreshToken::expose_secret),
            Some("1//r")
        );
        assert_eq!(parsed.token_type, "bearer");
        assert_eq!(parsed.expires_at, Some(at("2025-01-01T10:00:00Z")));
        assert_eq!(parsed.scopes, ["a", "b"]);
        assert_eq!(parsed.account_email.as_deref(), Some("me@example.com"));
    }

    #[test]
    fn minimal_body_gets_defaults() {
        let parsed = credentials(r#"{"access_token":"ya29.abc"}"#).expect("parses");
        assert_eq!(parsed.refresh_token, None);
        assert_eq!(parsed.token_type, "Bearer");
        assert_eq!(parsed.expires_at, None);
        assert!(parsed.scopes.is_empty());
        assert_eq!(parsed.account_email, None);
    }

    #[test]
    fn null_and_empty_optional_fields_are_absent() {
        let parsed = credentials(
            r#"{"access_token":"t","refresh_token":null,"token_type":"","email":"  ",
                "scopes":null,"expires_at":null}"#,
        )
        .expect("parses");
        assert_eq!(parsed.refresh_token, None);
        assert_eq!(parsed.token_type, "Bearer");
        assert_eq!(parsed.account_email, None);
        assert!(parsed.scopes.is_empty());
        assert_eq!(parsed.expires_at, None);
    }

    #[test]
    fn missing_access_token_is_invalid() {
        for body in [
            r#"{}"#,
            r#"{"access_token":null}"#,
            r#"{"access_token":""}"#,
            r#"{"access_token":"  "}"#,
        ] {
            let error = credentials(body).expect_err(body);
            assert!(
                matches!(error, CredentialError::InvalidResponse(_)),
                "{body}: {error:?}"
            );
            assert!(
                error.to_string().contains("no access_token"),
                "{body}: {error}"
            );
        }
    }

    #[test]
    fn non_string_access_token_is_invalid() {
        let error = credentials(r#"{"access_token":42}"#).expect_err("number");
        assert!(
            matches!(error, CredentialError::InvalidResponse(_)),
            "{error:?}"
        );
        assert!(!error.to_string().contains("42"), "{error}");
    }

    #[test]
    fn connected_false_is_not_connected() {
        let error =
            credentials(r#"{"connected":false,"access_token":null}"#).expect_err("not connected");
        assert!(
            matches!(error, CredentialError::NotConnected(_)),
            "{error:?}"
        );
    }

    #[test]
    fn connected_true_is_accepted() {
        assert!(credentials(r#"{"connected":true,"access_token":"t"}"#).is_ok());
    }

    #[test]
    fn malformed_json_is_invalid() {
        for body in [
            "",
            "{",
            "<html>Bad gateway</html>",
            r#"{"access_token":"ya29.secret""#,
        ] {
            let error = credentials(body).expect_err(body);
            assert!(
                matches!(error, CredentialError::InvalidResponse(_)),
                "{body}: {error:?}"
            );
            assert!(!error.to_string().contains("ya29.secret"), "{error}");
            assert!(error.to_string().contains("not valid JSON"), "{error}");
        }
    }

    #[test]
    fn non_object_json_is_invalid() {
        let error = credentials(r#"["ya29.abc"]"#).expect_err("array");
        assert!(error.to_string().contains("not an object"), "{error}");
    }

    #[test]
    fn expires_at_shapes() {
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_at":"2025-01-01T10:00:00Z"}"#),
            Some(at("2025-01-01T10:00:00Z"))
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_at":"2025-01-01T11:00:00+01:00"}"#),
            Some(at("2025-01-01T10:00:00Z"))
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_at":1735725600}"#),
            Some(at("2025-01-01T10:00:00Z"))
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_at":1735725600.5}"#),
            Some(at("2025-01-01T10:00:00.5Z"))
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_at":"1735725600"}"#),
            Some(at("2025-01-01T10:00:00Z"))
        );
    }

    #[test]
    fn expiry_shapes() {
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expiry":"2025-01-01T10:00:00"}"#),
            Some(at("2025-01-01T10:00:00Z"))
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expiry":"2025-01-01T10:00:00.123456"}"#),
            Some(at("2025-01-01T10:00:00.123456Z"))
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expiry":"2025-01-01 10:00:00"}"#),
            Some(at("2025-01-01T10:00:00Z"))
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expiry":"2025-01-01T10:00:00Z"}"#),
            Some(at("2025-01-01T10:00:00Z"))
        );
    }

    #[test]
    fn expires_in_shapes() {
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_in":3600}"#),
            Some(at("2025-01-01T10:00:00Z"))
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_in":"3600"}"#),
            Some(at("2025-01-01T10:00:00Z"))
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_in":3599.5}"#),
            Some(at("2025-01-01T09:59:59.5Z"))
        );
    }

    #[test]
    fn expiry_precedence() {
        let all = r#"{"access_token":"t","expires_in":60,"expiry":"2025-01-01T12:00:00",
                      "expires_at":"2025-01-01T11:00:00Z"}"#;
        assert_eq!(expiry_of(all), Some(at("2025-01-01T11:00:00Z")));
        let no_expires_at =
            r#"{"access_token":"t","expires_in":60,"expiry":"2025-01-01T12:00:00"}"#;
        assert_eq!(expiry_of(no_expires_at), Some(at("2025-01-01T12:00:00Z")));
        let null_expires_at = r#"{"access_token":"t","expires_at":null,"expires_in":60}"#;
        assert_eq!(expiry_of(null_expires_at), Some(at("2025-01-01T09:01:00Z")));
    }

    #[test]
    fn unreadable_expiry_falls_through() {
        let body = r#"{"access_token":"t","expires_at":"soon","expires_in":60}"#;
        assert_eq!(expiry_of(body), Some(at("2025-01-01T09:01:00Z")));
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_in":"an hour"}"#),
            None
        );
        assert_eq!(
            expiry_of(r#"{"access_token":"t","expires_in":1e300}"#),
            None
        );
        assert_eq!(expiry_of(r#"{"access_token":"t","expires_at":true}"#), None);
    }

    #[test]
    fn scope_shapes() {
        let scopes = |json: &str| credentials(json).expect("parses").scopes;
        assert_eq!(
            scopes(r#"{"access_token":"t","scopes":["a","b"]}"#),
            ["a", "b"]
        );
        assert_eq!(
            scopes(r#"{"access_token":"t","scopes":"a  b"}"#),
            ["a", "b"]
        );
        assert_eq!(scopes(r#"{"access_token":"t","scope":"a b"}"#), ["a", "b"]);
        assert_eq!(scopes(r#"{"access_token":"t","scope":["a"]}"#), ["a"]);
        assert_eq!(
            scopes(r#"{"access_token":"t","scopes":["x"],"scope":"y"}"#),
            ["x"]
        );
        assert_eq!(
            scopes(r#"{"access_token":"t","scopes":null,"scope":"y"}"#),
            ["y"]
        );
        assert_eq!(
            scopes(r#"{"access_token":"t","scopes":["a",1,"","b"]}"#),
            ["a", "b"]
        );
        assert!(scopes(r#"{"access_token":"t","scopes":7}"#).is_empty());
    }

    #[test]
    fn status_body_is_read() {
        let status = parse_status(
            br#"{"connected":true,"email":"me@example.com","scope":"a b","expires_in":60}"#,
            now(),
            "OMA Backend at https://host/api/v1".to_owned(),
        )
        .expect("parses");
        assert!(status.connected);
        assert_eq!(status.account_email.as_deref(), Some("me@example.com"));
        assert_eq!(status.scopes, ["a", "b"]);
        assert_eq!(status.expires_at, Some(at("2025-01-01T09:01:00Z")));
        assert_eq!(status.source, "OMA Backend at https://host/api/v1");
    }

    #[test]
    fn status_not_connected_is_ok() {
        let status = parse_status(br#"{"connected":false}"#, now(), String::new()).expect("parses");
        assert!(!status.connected);
    }

    #[test]
    fn status_without_connected_is_invalid() {
        let error = parse_status(br#"{"email":"me@example.com"}"#, now(), String::new())
            .expect_err("no connected");
        assert!(
            matches!(error, CredentialError::InvalidResponse(_)),
            "{error:?}"
        );
    }

    #[test]
    fn error_detail_is_quoted_and_cut() {
        assert_eq!(
            error_detail(br#"{"detail":"Could not validate\ncredentials"}"#, "jwt"),
            Some("Could not validate credentials".to_owned())
        );
        let long = format!(r#"{{"detail":"{}"}}"#, "x".repeat(500));
        let detail = error_detail(long.as_bytes(), "jwt").expect("detail");
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(detail.ends_with('…'));
    }

    #[test]
    fn error_detail_skips_other_bodies() {
        assert_eq!(error_detail(b"<html>502</html>", "jwt"), None);
        assert_eq!(
            error_detail(br#"{"detail":[{"msg":"field required"}]}"#, "jwt"),
            None
        );
        assert_eq!(error_detail(br#"{"detail":"   "}"#, "jwt"), None);
        assert_eq!(error_detail(br#"{"message":"no"}"#, "jwt"), None);
    }

    #[test]
    fn error_detail_drops_echoed_secret() {
        assert_eq!(
            error_detail(
                br#"{"detail":"bad token eyJ.secret.sig"}"#,
                "eyJ.secret.sig"
            ),
            None
        );
    }
}
