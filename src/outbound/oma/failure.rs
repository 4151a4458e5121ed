//! Mapping failed OMA Backend requests to [`CredentialError`]s whose messages state what
//! failed and which setting to fix. Messages name the host, never the full URL, a token or
//! a body. A short server `detail` may be quoted.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;

use super::endpoint::Endpoint;
use crate::domain::errors::CredentialError;
use crate::outbound::http::describe_error;

/// The message for a user without a connected Google account.
pub(super) const NOT_CONNECTED: &str = "No Google account is connected for this OMA user. \
                                        Connect Google in the OMA web UI, then try again.";

/// The outcome of one failed attempt.
#[derive(Debug)]
pub(super) enum Failure {
    /// Worth another attempt: a 5xx, a timeout or a transport failure.
    Transient(Transient),
    /// Another attempt would fail the same way.
    Final(CredentialError),
}

/// A one-line reason for the retry log.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transient(transient) => transient.fmt(f),
            Self::Final(error) => error.fmt(f),
        }
    }
}

/// A failure that may go away on its own.
#[derive(Debug)]
pub(super) enum Transient {
    /// A 5xx status, with the server's `detail` where it gave one.
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The server's short `detail`.
        detail: Option<String>,
    },
    /// HTTP 429, with the server's `Retry-After` and `detail` where it gave them.
    RateLimited {
        /// How long the server asked the client to wait.
        retry_after: Option<Duration>,
        /// The server's short `detail`.
        detail: Option<String>,
    },
    /// No complete response within the configured timeout.
    Timeout,
    /// The connection could not be set up, described without the URL.
    Connect(String),
    /// Sending the request or reading the response failed, described without the URL.
    Transport(String),
}

impl Transient {
    /// Classifies a reqwest error from sending a request.
    pub(super) fn from_request_error(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Connect(describe_error(error))
        } else {
            Self::Transport(describe_error(error))
        }
    }
}

/// A one-line reason for the retry log.
impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status { status, .. } => write!(f, "HTTP {}", status.as_u16()),
            Self::RateLimited { .. } => f.write_str("HTTP 429"),
            Self::Timeout => f.write_str("the request timed out"),
            Self::Connect(cause) | Self::Transport(cause) => f.write_str(cause),
        }
    }
}

/// The settings that error messages name.
#[derive(Debug, Clone)]
pub(super) struct MessageContext {
    /// `host[:port]` of `OMA_BACKEND_URL`.
    pub(super) host: String,
    /// `OMA_API_PREFIX` normalized to `/seg/seg`, or empty.
    pub(super) api_prefix: String,
    /// `OMA_TIMEOUT_SECS`.
    pub(super) timeout: Duration,
    /// The `exp` claim of `OMA_ACCESS_TOKEN`, where it has one.
    pub(super) token_expiry: Option<DateTime<Utc>>,
}

impl MessageContext {
    /// Maps a non-success HTTP status to a failure.
    pub(super) fn for_status(
        &self,
        endpoint: Endpoint,
        status: StatusCode,
        detail: Option<String>,
        now: DateTime<Utc>,
    ) -> Failure {
        let code = status.as_u16();
        let quoted = quote_detail(detail.as_deref());
        let host = &self.host;
        let request = endpoint.path();

        let error = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                CredentialError::Unauthorized(self.unauthorized(code, &quoted, now))
            }
            StatusCode::NOT_FOUND => {
                CredentialError::NotConnected(self.not_found(&quoted, detail.as_deref()))
            }
            _ if status.is_server_error() => {
                return Failure::Transient(Transient::Status { status, detail });
            }
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                CredentialError::Unavailable(format!(
                    "The OMA Backend at {host} answered the {request} request with HTTP {code}{quoted}. \
                 Wait a minute, then try again."
                ))
            }
            _ if status.is_client_error() => CredentialError::InvalidResponse(format!(
                "The OMA Backend at {host} rejected the {request} request with HTTP {code}{quoted}. Check that \
                 OMA_BACKEND_URL and OMA_API_PREFIX (now \"{}\") point to a compatible OMA Backend API.",
                self.api_prefix
            )),
            _ => CredentialError::InvalidResponse(format!(
                "The OMA Backend at {host} answered the {request} request with the unexpected HTTP {code}. \
                 Check that OMA_BACKEND_URL and OMA_API_PREFIX point to the OMA Backend's API."
            )),
        };
        Failure::Final(error)
    }

    /// Builds the error for a transient failure that lasted through every attempt.
    pub(super) fn exhausted(&self, failure: &Transient, attempts: u32) -> CredentialError {
        let host = &self.host;
        let after = after_attempts(attempts);

        let message = match failure {
            Transient::Status { status, detail } => format!(
                "The OMA Backend at {host} failed with HTTP {}{} {after}. Check that the server at \
                 OMA_BACKEND_URL is running and healthy, then try again.",
                status.as_u16(),
                quote_detail(detail.as_deref())
            ),
            Transient::RateLimited { detail, .. } => format!(
                "The OMA Backend at {host} answered HTTP 429 (too many requests){} {after}. Wait a \
                 minute, then try again.",
                quote_detail(detail.as_deref())
            ),
            Transient::Timeout => format!(
                "The OMA Backend at {host} did not respond within OMA_TIMEOUT_SECS ({} s) {after}. Check \
                 that the server at OMA_BACKEND_URL is running and reachable, or raise OMA_TIMEOUT_SECS \
                 if it is slow.",
                self.timeout.as_secs_f64()
            ),
            Transient::Connect(cause) => {
                let mut message = format!(
                    "The OMA Backend at {host} could not be reached {after} ({cause}). Check OMA_BACKEND_URL \
                     and that the server is running and reachable."
                );
                if cause.to_ascii_lowercase().contains("certificate") {
                    message.push_str(
                        " If the server's certificate is not issued by a trusted authority, \
                         OMA_VERIFY_SSL=false turns certificate checks off, which is safe only for testing.",
                    );
                }
                message
            }
            Transient::Transport(cause) => format!(
                "The request to the OMA Backend at {host} failed {after} ({cause}). Check OMA_BACKEND_URL \
                 and the network, then try again."
            ),
        };
        CredentialError::Unavailable(message)
    }

    /// Builds the error for a call that passed its deadline, `deadline` after it started.
    pub(super) fn deadline(&self, deadline: Duration, attempts: u32) -> CredentialError {
        CredentialError::Unavailable(format!(
            "The OMA Backend at {} did not deliver a usable answer within the hub's limit of {} s for \
             one request {}. Check that the server at OMA_BACKEND_URL is running and reachable, then \
             try again.",
            self.host,
            deadline.as_secs_f64(),
            after_attempts(attempts)
        ))
    }

    fn unauthorized(&self, code: u16, quoted: &str, now: DateTime<Utc>) -> String {
        let reason = match self.token_expiry {
            Some(expiry) if expiry <= now => format!(
                "because the JWT expired at {}",
                expiry.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            _ => "so the JWT is invalid or expired".to_owned(),
        };
        format!(
            "The OMA Backend rejected OMA_ACCESS_TOKEN with HTTP {code}{quoted}, {reason}. Log in to the \
             OMA web UI (or POST {}/auth/login) and set OMA_ACCESS_TOKEN to the new token, or set \
             OMA_USERNAME and OMA_PASSWORD so the hub logs in again by itself.",
            self.api_prefix
        )
    }

    fn not_found(&self, quoted: &str, detail: Option<&str>) -> String {
        let mut message = format!(
            "No Google account is connected for this OMA user (HTTP 404{quoted}). Connect Google in the \
             OMA web UI, then try again."
        );

        // FastAPI returns the detail "Not Found" for a path it has no route for, which points
        // to a wrong prefix rather than a missing connection.
        if detail.is_none_or(|detail| detail.eq_ignore_ascii_case("not found")) {
            message.push_str(&format!(
                " If Google is already connected, check OMA_API_PREFIX (now \"{}\"), because some \
                 deployments serve the API under another prefix such as /apib/v1.",
                self.api_prefix
            ));
        }
        message
    }
}

fn quote_detail(detail: Option<&str>) -> String {
    detail
        .map(|detail| format!(", server detail \"{detail}\""))
        .unwrap_or_default()
}

fn after_attempts(attempts: u32) -> String {
    if attempts == 1 {
        "after 1 attempt".to_owned()
    } else {
        format!("after {attempts} attempts")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> MessageContext {
        MessageContext {
            host: "oma.example.com".to_owned(),
            api_prefix: "/apib/v1".to_owned(),
            timeout: Duration::from_millis(1500),
            token_expiry: None,
        }
    }

    fn final_error(failure: Failure) -> CredentialError {
        match failure {
            Failure::Final(error) => error,
            Failure::Transient(transient) => panic!("expected a final error, got {transient:?}"),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-01T09:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn unauthorized_names_variable_and_login() {
        for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN] {
            let error =
                final_error(context().for_status(Endpoint::Credentials, status, None, now()));
            let CredentialError::Unauthorized(message) = error else {
                panic!("expected Unauthorized: {error:?}")
            };
            assert!(message.contains("OMA_ACCESS_TOKEN"), "{message}");
            assert!(message.contains("POST /apib/v1/auth/login"), "{message}");
            assert!(
                message.contains(&format!("HTTP {}", status.as_u16())),
                "{message}"
            );
        }
    }

    #[test]
    fn unauthorized_with_past_expiry_says_when() {
        let context = MessageContext {
            token_expiry: Some(now() - chrono::TimeDelta::minutes(5)),
            ..context()
        };
        let error = final_error(context.for_status(
            Endpoint::Credentials,
            StatusCode::UNAUTHORIZED,
            None,
            now(),
        ));
        assert!(
            error
                .to_string()
                .contains("expired at 2025-01-01T08:55:00Z"),
            "{error}"
        );
    }

    #[test]
    fn not_found_hints_at_prefix_for_route_miss() {
        let route_miss = context().for_status(
            Endpoint::Credentials,
            StatusCode::NOT_FOUND,
            Some("Not Found".to_owned()),
            now(),
        );
        let error = final_error(route_miss);
        assert!(
            matches!(error, CredentialError::NotConnected(_)),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("OMA_API_PREFIX (now \"/apib/v1\")"),
            "{error}"
        );

        let specific = context().for_status(
            Endpoint::Credentials,
            StatusCode::NOT_FOUND,
            Some("Google account not connected".to_owned()),
            now(),
        );
        let error = final_error(specific);
        assert!(!error.to_string().contains("OMA_API_PREFIX"), "{error}");
        assert!(
            error
                .to_string()
                .contains("\"Google account not connected\""),
            "{error}"
        );
    }

    #[test]
    fn server_errors_are_transient() {
        let failure = context().for_status(Endpoint::Status, StatusCode::BAD_GATEWAY, None, now());
        assert!(
            matches!(failure, Failure::Transient(Transient::Status { .. })),
            "{failure:?}"
        );
    }

    #[test]
    fn other_client_errors_are_final() {
        let rate_limited = final_error(context().for_status(
            Endpoint::Status,
            StatusCode::TOO_MANY_REQUESTS,
            None,
            now(),
        ));
        assert!(
            matches!(rate_limited, CredentialError::Unavailable(_)),
            "{rate_limited:?}"
        );
        let unprocessable = final_error(context().for_status(
            Endpoint::Status,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            now(),
        ));
        assert!(
            matches!(unprocessable, CredentialError::InvalidResponse(_)),
            "{unprocessable:?}"
        );
        assert!(
            unprocessable.to_string().contains("google/status request"),
            "{unprocessable}"
        );
    }

    #[test]
    fn exhausted_timeout_names_setting() {
        let error = context().exhausted(&Transient::Timeout, 3);
        let message = error.to_string();
        assert!(
            matches!(error, CredentialError::Unavailable(_)),
            "{error:?}"
        );
        assert!(message.contains("oma.example.com"), "{message}");
        assert!(
            message.contains("OMA_TIMEOUT_SECS (1.5 s) after 3 attempts"),
            "{message}"
        );
    }

    #[test]
    fn exhausted_certificate_failure_mentions_verify_setting() {
        let failure = Transient::Connect(
            "the connection failed: invalid peer certificate: UnknownIssuer".to_owned(),
        );
        let message = context().exhausted(&failure, 1).to_string();
        assert!(message.contains("after 1 attempt ("), "{message}");
        assert!(message.contains("OMA_VERIFY_SSL=false"), "{message}");
    }
}
