//! The dispatcher's error: what a tool call can fail with, and how it reads to a model.

use crate::domain::access::RecipientNotAllowed;
use crate::domain::errors::{CredentialError, GoogleApiError};

/// Why a tool call failed.
///
/// Everything but [`ToolError::Internal`] is something the model or the user can act on,
/// and is returned to the model as a tool error with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// No tool has this name.
    #[error("unknown tool {name:?}; the available tools are: {available}")]
    UnknownTool {
        /// The name asked for.
        name: String,
        /// The available names, comma separated.
        available: String,
    },
    /// The arguments did not parse or validate.
    #[error("invalid arguments for {tool}: {message}")]
    InvalidArguments {
        /// The tool.
        tool: &'static str,
        /// What is wrong, naming the field.
        message: String,
    },
    /// Google credentials could not be had.
    #[error("{0}")]
    Credentials(#[from] CredentialError),
    /// Google answered with an error.
    #[error("{0}")]
    Google(#[from] GoogleApiError),
    /// The request was understood but cannot be carried out, such as an attachment too
    /// large to return.
    #[error("{0}")]
    Rejected(String),
    /// The configuration forbids the request: the tool is above the configured access
    /// level, or a recipient is outside the allowlist. Only the user can change that.
    #[error("{0}")]
    NotPermitted(String),
    /// A fault inside the hub. The text is logged, and the model sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<RecipientNotAllowed> for ToolError {
    fn from(error: RecipientNotAllowed) -> Self {
        Self::NotPermitted(error.to_string())
    }
}

/// A machine-readable class of tool error, so a client can react without parsing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCategory {
    /// Credentials are missing, invalid or expired, or the hub is not configured.
    AuthRequired,
    /// Google or the OMA Backend is limiting the request rate or quota.
    RateLimited,
    /// The message, thread, event or calendar does not exist for this user.
    NotFound,
    /// The account lacks a scope or access to the resource.
    PermissionDenied,
    /// The tool, its arguments or the request cannot be carried out as given.
    InvalidArgument,
    /// Google or the credential source is unreachable, timed out or failed on its side.
    Unavailable,
    /// A fault inside the hub, or a response it cannot read.
    Internal,
}

impl ErrorCategory {
    /// Returns the snake_case name sent to clients, such as `rate_limited`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthRequired => "auth_required",
            Self::RateLimited => "rate_limited",
            Self::NotFound => "not_found",
            Self::PermissionDenied => "permission_denied",
            Self::InvalidArgument => "invalid_argument",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Google's rate-limit reasons for quotas that reset daily, where retrying soon cannot help.
const DAILY_QUOTA_REASONS: [&str; 2] = ["dailyLimitExceeded", "quotaExceeded"];

impl ToolError {
    /// Rewrites Google's bare "Not Found" into a sentence naming what was not found and how
    /// to find valid ids, such as `message 18c... (find ids with gmail_search_messages)`.
    pub(crate) fn explain_not_found(self, what: impl FnOnce() -> String) -> Self {
        match self {
            Self::Google(GoogleApiError::NotFound { .. }) => {
                Self::Google(GoogleApiError::NotFound {
                    message: format!("{} does not exist or this account cannot see it", what()),
                })
            }
            other => other,
        }
    }

    /// Returns whether this is a fault inside the hub rather than an error the caller can
    /// act on.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Internal(_))
    }

    /// Returns the machine-readable class of the error.
    pub fn category(&self) -> ErrorCategory {
        match self {
            Self::UnknownTool { .. } | Self::InvalidArguments { .. } | Self::Rejected(_) => {
                ErrorCategory::InvalidArgument
            }
            Self::Credentials(error) => match error {
                CredentialError::NotConfigured(_)
                | CredentialError::Unauthorized(_)
                | CredentialError::NotConnected(_) => ErrorCategory::AuthRequired,
                CredentialError::Unavailable(_) | CredentialError::InvalidResponse(_) => {
                    ErrorCategory::Unavailable
                }
            },
            Self::Google(error) => match error {
                GoogleApiError::Unauthorized { .. } => ErrorCategory::AuthRequired,
                GoogleApiError::PermissionDenied { .. } => ErrorCategory::PermissionDenied,
                GoogleApiError::NotFound { .. } => ErrorCategory::NotFound,
                GoogleApiError::RateLimited { .. } => ErrorCategory::RateLimited,
                GoogleApiError::InvalidRequest { .. } => ErrorCategory::InvalidArgument,
                GoogleApiError::Unavailable { .. } => ErrorCategory::Unavailable,
                GoogleApiError::InvalidResponse { .. } => ErrorCategory::Internal,
            },
            Self::NotPermitted(_) => ErrorCategory::PermissionDenied,
            Self::Internal(_) => ErrorCategory::Internal,
        }
    }

    /// Returns whether the same call, made again later without other changes, may succeed.
    ///
    /// The hub has already retried what it could within the call, so this is about waiting
    /// (for an outage to end or a rate limit to reset), not about retrying at once.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Credentials(CredentialError::Unavailable(_)) => true,
            Self::Google(GoogleApiError::Unavailable { .. }) => true,
            Self::Google(GoogleApiError::RateLimited { reason, .. }) => reason
                .as_deref()
                .is_none_or(|reason| !DAILY_QUOTA_REASONS.contains(&reason)),
            _ => false,
        }
    }

    /// Returns a short sentence on what to do next, for the client or the user.
    pub fn hint(&self) -> String {
        match self {
            Self::UnknownTool { .. } => "Call tools/list and use one of the listed names.".to_owned(),
            Self::InvalidArguments { .. } => {
                "Fix the named argument so it matches the tool's input schema, then call again."
                    .to_owned()
            }
            Self::Rejected(_) => "Change the request as the message says.".to_owned(),
            Self::NotPermitted(_) => {
                "The hub's configuration forbids this; do something else, or ask the user to change the setting the message names."
                    .to_owned()
            }
            Self::Credentials(CredentialError::Unavailable(_)) => {
                "Wait a minute and call again; hub_status shows whether the credential source answers."
                    .to_owned()
            }
            Self::Credentials(CredentialError::InvalidResponse(_)) => {
                "The credential source sent an unusable answer; check its URL and API prefix in the hub's configuration."
                    .to_owned()
            }
            Self::Credentials(_) => {
                "The user must fix the hub's credentials as the message says; hub_status shows the current state."
                    .to_owned()
            }
            Self::Google(GoogleApiError::Unauthorized { .. }) => {
                "Google rejected a fresh token too; the user must reconnect Google.".to_owned()
            }
            Self::Google(GoogleApiError::PermissionDenied { .. }) => {
                "The Google account did not grant the scope this tool needs; reconnect Google with the Gmail and Calendar scopes."
                    .to_owned()
            }
            Self::Google(GoogleApiError::NotFound { .. }) => {
                "Check the id; search or list again to get a current one.".to_owned()
            }
            Self::Google(GoogleApiError::RateLimited { retry_after, .. }) => {
                match (self.retryable(), retry_after) {
                    (false, _) => "The daily quota is used up; try again tomorrow.".to_owned(),
                    (true, Some(wait)) => format!("Wait {} s, then call again.", wait.as_secs().max(1)),
                    (true, None) => "Wait a minute, then call again.".to_owned(),
                }
            }
            Self::Google(GoogleApiError::InvalidRequest { .. }) => {
                "Google rejected the request as given; change the arguments named in the message.".to_owned()
            }
            Self::Google(GoogleApiError::Unavailable { .. }) => {
                "Google is unreachable or failing; wait a minute, then call again.".to_owned()
            }
            Self::Google(GoogleApiError::InvalidResponse { .. }) | Self::Internal(_) => {
                "Retrying may not help; the cause is in the hub's log.".to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn google_rate_limited(reason: Option<&str>, retry_after: Option<u64>) -> ToolError {
        ToolError::Google(GoogleApiError::RateLimited {
            reason: reason.map(str::to_owned),
            message: "slow down".to_owned(),
            retry_after: retry_after.map(Duration::from_secs),
        })
    }

    #[test]
    fn every_variant_has_category_and_retryable() {
        let text = || "text".to_owned();
        let cases: Vec<(ToolError, ErrorCategory, bool)> = vec![
            (
                ToolError::UnknownTool {
                    name: "x".to_owned(),
                    available: "a".to_owned(),
                },
                ErrorCategory::InvalidArgument,
                false,
            ),
            (
                ToolError::InvalidArguments {
                    tool: "t",
                    message: text(),
                },
                ErrorCategory::InvalidArgument,
                false,
            ),
            (
                ToolError::Rejected(text()),
                ErrorCategory::InvalidArgument,
                false,
            ),
            (ToolError::Internal(text()), ErrorCategory::Internal, false),
            (
                CredentialError::NotConfigured(text()).into(),
                ErrorCategory::AuthRequired,
                false,
            ),
            (
                CredentialError::Unauthorized(text()).into(),
                ErrorCategory::AuthRequired,
                false,
            ),
            (
                CredentialError::NotConnected(text()).into(),
                ErrorCategory::AuthRequired,
                false,
            ),
            (
                CredentialError::Unavailable(text()).into(),
                ErrorCategory::Unavailable,
                true,
            ),
            (
                CredentialError::InvalidResponse(text()).into(),
                ErrorCategory::Unavailable,
                false,
            ),
            (
                GoogleApiError::Unauthorized { message: text() }.into(),
                ErrorCategory::AuthRequired,
                false,
            ),
            (
                GoogleApiError::PermissionDenied {
                    reason: Some("insufficientPermissions".to_owned()),
                    message: text(),
                }
                .into(),
                ErrorCategory::PermissionDenied,
                false,
            ),
            (
                GoogleApiError::NotFound { message: text() }.into(),
                ErrorCategory::NotFound,
                false,
            ),
            (
                google_rate_limited(Some("userRateLimitExceeded"), Some(3)),
                ErrorCategory::RateLimited,
                true,
            ),
            (
                google_rate_limited(None, None),
                ErrorCategory::RateLimited,
                true,
            ),
            (
                google_rate_limited(Some("dailyLimitExceeded"), None),
                ErrorCategory::RateLimited,
                false,
            ),
            (
                GoogleApiError::InvalidRequest {
                    status: 400,
                    reason: None,
                    message: text(),
                }
                .into(),
                ErrorCategory::InvalidArgument,
                false,
            ),
            (
                GoogleApiError::Unavailable { message: text() }.into(),
                ErrorCategory::Unavailable,
                true,
            ),
            (
                GoogleApiError::InvalidResponse { message: text() }.into(),
                ErrorCategory::Internal,
                false,
            ),
        ];
        for (error, category, retryable) in cases {
            assert_eq!(error.category(), category, "{error:?}");
            assert_eq!(error.retryable(), retryable, "{error:?}");
            assert!(!error.hint().is_empty(), "{error:?}");
        }
    }

    #[test]
    fn rate_limit_hint_names_wait() {
        assert!(google_rate_limited(None, Some(7)).hint().contains("7 s"));
        assert!(
            google_rate_limited(Some("quotaExceeded"), None)
                .hint()
                .contains("tomorrow")
        );
    }

    #[test]
    fn category_names_are_snake_case() {
        assert_eq!(ErrorCategory::AuthRequired.as_str(), "auth_required");
        assert_eq!(
            serde_json::to_value(ErrorCategory::PermissionDenied).unwrap(),
            serde_json::json!("permission_denied")
        );
    }
}
