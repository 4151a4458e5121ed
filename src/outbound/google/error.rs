//! The one place that turns Google's responses into [`GoogleApiError`]: error statuses with
//! their JSON error body, and success bodies that fail to parse.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::domain::errors::GoogleApiError;
use crate::outbound::http::BodyError;

/// The largest error body read. Google's error body is a short JSON object, so a body past
/// this size is not one. It is dropped, and the status alone decides the error.
pub(super) const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The longest `error.message` passed on, in characters, so that a misbehaving server
/// cannot flood the agent's context through an error.
const MAX_MESSAGE_CHARS: usize = 500;

/// The `errors[].reason` values with which Google reports a rate or quota limit on a 403.
const RATE_LIMIT_REASONS: [&str; 4] = [
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "quotaExceeded",
    "dailyLimitExceeded",
];

/// `{"error": {...}}`, the envelope of every Google API error.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    /// The canonical status name, such as `PERMISSION_DENIED` or `RESOURCE_EXHAUSTED`.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    reason: Option<String>,
}

/// Maps an error status, its `Retry-After` and its body (possibly empty, malformed or not
/// JSON at all) to the port's error.
pub(crate) fn error_from_status(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> GoogleApiError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(body)
        .map(|envelope| envelope.error)
        .unwrap_or_default();
    let message = match parsed.message.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => bounded(text),
        _ => generic_message(status),
    };
    // Newer Google errors may omit `errors`, so the canonical status is used as the reason.
    let first_reason = parsed
        .errors
        .iter()
        .find_map(|item| item.reason.clone())
        .or_else(|| parsed.status.clone());

    match status.as_u16() {
        401 => GoogleApiError::Unauthorized { message },
        403 => match rate_limit_reason(&parsed) {
            Some(reason) => GoogleApiError::RateLimited {
                reason: Some(reason),
                message,
                retry_after,
            },
            None => GoogleApiError::PermissionDenied {
                reason: first_reason,
                message,
            },
        },
        404 => GoogleApiError::NotFound { message },
        429 => GoogleApiError::RateLimited {
            reason: first_reason,
            message,
            retry_after,
        },
        code @ 400..=499 => GoogleApiError::InvalidRequest {
            status: code,
            reason: first_reason,
            message,
        },
        code => GoogleApiError::Unavailable {
            message: format!("Google returned status {code}: {message}"),
        },
    }
}

fn rate_limit_reason(parsed: &ErrorBody) -> Option<String> {
    let listed = parsed
        .errors
        .iter()
        .filter_map(|item| item.reason.as_deref())
        .find(|reason| RATE_LIMIT_REASONS.contains(reason));
    if let Some(reason) = listed {
        return Some(reason.to_owned());
    }

    // Newer Google errors may omit `errors` and carry only the canonical status.
    parsed
        .status
        .as_deref()
        .filter(|status| *status == "RESOURCE_EXHAUSTED")
        .map(str::to_owned)
}

fn generic_message(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{reason}, and Google's error body could not be read"),
        None => "Google's error body could not be read".to_owned(),
    }
}

fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

pub(crate) use crate::outbound::http::retry_after;

/// Parses a success body into `T`, naming the method and the JSON path that failed.
///
/// # Errors
///
/// [`GoogleApiError::InvalidResponse`] when the body is not the expected JSON. The message
/// gives the error category, path, line and column, but not serde's own message, which
/// quotes values from the body.
pub(super) fn parse_success<T: DeserializeOwned>(
    method: &str,
    body: &[u8],
) -> Result<T, GoogleApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| {
            let path = describe_path(error.path());
            (path, error.into_inner())
        })
        // Trailing data after the document is as wrong as a broken document.
        .and_then(|value| {
            deserializer
                .end()
                .map(|()| value)
                .map_err(|error| (".".to_owned(), error))
        });

    parsed.map_err(|(path, error)| {
        let category = match error.classify() {
            serde_json::error::Category::Syntax => "it is not valid JSON",
            serde_json::error::Category::Eof => "it ends too early",
            serde_json::error::Category::Data => "a field has the wrong type or is missing",
            serde_json::error::Category::Io => "it could not be read",
        };
        GoogleApiError::InvalidResponse {
            message: format!(
                "the {method} response could not be parsed: {category} at `{path}` (line {}, column {})",
                error.line(),
                error.column()
            ),
        }
    })
}

/// Writes a JSON path such as `payload.parts[1].body.size`. A key that is not a plain
/// identifier is shown as `?`, because keys of unknown fields come from the body.
fn describe_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;

    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                let plain =
                    key.len() <= 64 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                text.push_str(if plain { key } else { "?" });
            }
            Segment::Unknown => text.push_str(".?"),
        }
    }
    if text.is_empty() {
        ".".to_owned()
    } else {
        text
    }
}

/// Maps a failure to read a success body.
pub(super) fn body_error(method: &str, error: BodyError) -> GoogleApiError {
    match error {
        BodyError::TooLarge { limit } => GoogleApiError::InvalidResponse {
            message: format!(
                "the {method} response is larger than the hub's limit of {limit} bytes"
            ),
        },
        BodyError::Transport(message) => GoogleApiError::Unavailable { message },
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
    use serde_json::json;

    use super::*;

    fn google_error(code: u16, status: &str, reason: &str, message: &str) -> Vec<u8> {
        json!({
            "error": {
                "code": code,
                "message": message,
                "status": status,
                "errors": [{ "message": message, "domain": "global", "reason": reason }],
            }
        })
        .to_string()
        .into_bytes()
    }

    fn map(code: u16, body: &[u8]) -> GoogleApiError {
        error_from_status(StatusCode::from_u16(code).unwrap(), None, body)
    }

    #[test]
    fn permission_denied_keeps_reason() {
        let body = google_error(
            403,
            "PERMISSION_DENIED",
            "insufficientPermissions",
            "Insufficient Permission",
        );
        assert_eq!(
            map(403, &body),
            GoogleApiError::PermissionDenied {
                reason: Some("insufficientPermissions".to_owned()),
                message: "Insufficient Permission".to_owned(),
            }
        );
    }

    #[test]
    fn forbidden_rate_limit_reasons() {
        for reason in RATE_LIMIT_REASONS {
            let body = google_error(403, "PERMISSION_DENIED", reason, "Slow down");
            let error =
                error_from_status(StatusCode::FORBIDDEN, Some(Duration::from_secs(7)), &body);
            assert_eq!(
                error,
                GoogleApiError::RateLimited {
                    reason: Some(reason.to_owned()),
                    message: "Slow down".to_owned(),
                    retry_after: Some(Duration::from_secs(7)),
                },
                "reason {reason}"
            );
        }
    }

    #[test]
    fn resource_exhausted_without_errors() {
        let body = br#"{"error":{"code":403,"message":"Quota","status":"RESOURCE_EXHAUSTED"}}"#;
        assert!(matches!(map(403, body), GoogleApiError::RateLimited { .. }));
    }

    #[test]
    fn non_json_body_maps_by_status() {
        type IsExpected = fn(&GoogleApiError) -> bool;
        let cases: [(u16, IsExpected); 6] = [
            (401, |e| matches!(e, GoogleApiError::Unauthorized { .. })),
            (403, |e| {
                matches!(e, GoogleApiError::PermissionDenied { reason: None, .. })
            }),
            (404, |e| matches!(e, GoogleApiError::NotFound { .. })),
            (429, |e| {
                matches!(e, GoogleApiError::RateLimited { reason: None, .. })
            }),
            (418, |e| {
                matches!(
                    e,
                    GoogleApiError::InvalidRequest {
                        status: 418,
                        reason: None,
                        ..
                    }
                )
            }),
            (502, |e| matches!(e, GoogleApiError::Unavailable { .. })),
        ];
        for (code, expected) in cases {
            let error = map(code, b"<html><body>secret page</body></html>");
            assert!(expected(&error), "status {code}: {error:?}");
            assert!(
                !error.to_string().contains("secret"),
                "status {code}: {error}"
            );
        }
    }

    #[test]
    fn malformed_envelope_gets_generic_message() {
        let error = map(400, br#"{"error":"invalid_grant"}"#);
        assert_eq!(
            error,
            GoogleApiError::InvalidRequest {
                status: 400,
                reason: None,
                message: "Bad Request, and Google's error body could not be read".to_owned(),
            }
        );
    }

    #[test]
    fn long_message_is_cut() {
        let body = google_error(400, "INVALID_ARGUMENT", "invalid", &"x".repeat(5000));
        let GoogleApiError::InvalidRequest { message, .. } = map(400, &body) else {
            panic!("expected InvalidRequest");
        };
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 3);
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);

        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));

        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 01 May 2024 12:01:30 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(90)));

        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 01 May 2024 11:00:00 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));

        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[allow(dead_code)]
        items: Vec<SampleItem>,
    }

    #[derive(Debug, Deserialize)]
    struct SampleItem {
        #[allow(dead_code)]
        size: i64,
    }

    #[test]
    fn parse_error_names_path_not_body() {
        let body = br#"{"items":[{"size":1},{"size":"private-value"}]}"#;
        let error = parse_success::<Sample>("test.method", body).unwrap_err();
        let GoogleApiError::InvalidResponse { message } = &error else {
            panic!("expected InvalidResponse, got {error:?}");
        };
        assert!(message.contains("test.method"), "{message}");
        assert!(message.contains("items[1].size"), "{message}");
        assert!(!message.contains("private-value"), "{message}");
    }

    #[test]
    fn parse_rejects_trailing_data() {
        let error =
            parse_success::<Sample>("test.method", br#"{"items":[]} trailing"#).unwrap_err();
        assert!(
            matches!(error, GoogleApiError::InvalidResponse { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn parse_error_hides_odd_keys() {
        let body = br#"{"items":[], "private key!": [1, }"#;
        let error = parse_success::<Sample>("test.method", body).unwrap_err();
        assert!(!error.to_string().contains("private"), "{error}");
    }
}
