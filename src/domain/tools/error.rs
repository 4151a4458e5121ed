//! The dispatcher's error: what a tool call can fail with, and how it reads to a model.

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
    /// A fault inside the hub. The text is logged, and the model sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

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
}
