//! The error enums of the ports. Adapters map their own failures into these, and the tool
//! dispatcher maps these into tool errors.

use std::time::Duration;

/// Why Google credentials could not be had.
///
/// Each variant carries a complete sentence written by the adapter: what failed and what
/// the user should do. Messages never contain a token or a response body. The type is
/// `Clone` so that one failed refresh can be handed to every caller that waited for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The configuration needed for this source is missing or invalid.
    #[error("{0}")]
    NotConfigured(String),
    /// The source rejected the hub's own credential, such as an expired OMA JWT.
    #[error("{0}")]
    Unauthorized(String),
    /// The user has not connected a Google account, or must authorize again.
    #[error("{0}")]
    NotConnected(String),
    /// The source could not be reached, timed out, or failed on its side.
    #[error("{0}")]
    Unavailable(String),
    /// The source answered with something the hub cannot use.
    #[error("{0}")]
    InvalidResponse(String),
}

/// Why a Gmail or Calendar call failed, from Google's error body
/// (`error.code`, `error.message`, `error.status`, `error.errors[].reason`) or the transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoogleApiError {
    /// 401: the access token was rejected. The caller should get a new token and retry once.
    #[error("Google rejected the access token (401): {message}")]
    Unauthorized {
        /// Google's `error.message`.
        message: String,
    },
    /// 403 for a missing scope or a denied resource.
    #[error("Google denied access (403{}): {message}", reason_suffix(.reason))]
    PermissionDenied {
        /// Google's `error.errors[0].reason`, such as `insufficientPermissions`.
        reason: Option<String>,
        /// Google's `error.message`.
        message: String,
    },
    /// 404: no such resource for this user.
    #[error("not found (404): {message}")]
    NotFound {
        /// Google's `error.message`.
        message: String,
    },
    /// 429, or 403 with a rate-limit reason.
    #[error("Google rate limit reached{}: {message}", reason_suffix(.reason))]
    RateLimited {
        /// Google's reason, such as `userRateLimitExceeded`.
        reason: Option<String>,
        /// Google's `error.message`.
        message: String,
        /// How long Google asked the client to wait (`Retry-After`), where it said.
        retry_after: Option<Duration>,
    },
    /// 400 and other 4xx statuses: the request itself was wrong.
    #[error("Google rejected the request ({status}{}): {message}", reason_suffix(.reason))]
    InvalidRequest {
        /// The HTTP status.
        status: u16,
        /// Google's reason, such as `invalidArgument`.
        reason: Option<String>,
        /// Google's `error.message`.
        message: String,
    },
    /// 5xx, a network failure or a timeout.
    #[error("Google is unavailable: {message}")]
    Unavailable {
        /// What failed, without URLs or tokens.
        message: String,
    },
    /// A response the hub could not parse.
    #[error("Google sent a response the hub cannot read: {message}")]
    InvalidResponse {
        /// What was wrong with it, without the body.
        message: String,
    },
    /// The adapter does not make this call in this build, such as sending mail without
    /// the `gmail-send` feature. No request reached Google.
    #[error("{message}")]
    NotSupported {
        /// What this build cannot do and which build can.
        message: String,
    },
}

impl GoogleApiError {
    /// Replaces every occurrence of `secret` in the error's text with `<redacted>`.
    pub fn redact(self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let clean = |text: String| {
            if text.contains(secret) {
                text.replace(secret, "<redacted>")
            } else {
                text
            }
        };
        match self {
            Self::Unauthorized { message } => Self::Unauthorized {
                message: clean(message),
            },
            Self::PermissionDenied { reason, message } => Self::PermissionDenied {
                reason,
                message: clean(message),
            },
            Self::NotFound { message } => Self::NotFound {
                message: clean(message),
            },
            Self::RateLimited {
                reason,
                message,
                retry_after,
            } => Self::RateLimited {
                reason,
                message: clean(message),
                retry_after,
            },
            Self::InvalidRequest {
                status,
                reason,
                message,
            } => Self::InvalidRequest {
                status,
                reason,
                message: clean(message),
            },
            Self::Unavailable { message } => Self::Unavailable {
                message: clean(message),
            },
            Self::InvalidResponse { message } => Self::InvalidResponse {
                message: clean(message),
            },
            Self::NotSupported { message } => Self::NotSupported {
                message: clean(message),
            },
        }
    }
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason
        .as_deref()
        .map(|reason| format!(", {reason}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_secret_from_message() {
        let error = GoogleApiError::Unauthorized {
            message: "Invalid Credentials Bearer ya29.secret".to_owned(),
        };
        assert_eq!(
            error.redact("ya29.secret").to_string(),
            "Google rejected the access token (401): Invalid Credentials Bearer <redacted>"
        );
    }
}
