//! What a tool runs against: the credential cache, the Google ports and the settings.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crate::domain::access::{AccessLevels, RecipientAllowlist};
use crate::domain::errors::{CredentialError, GoogleApiError};
use crate::domain::models::Credentials;
use crate::domain::ports::{CalendarApi, GmailApi};
use crate::domain::service::CredentialCache;

use super::ToolError;

/// Limits and places the tools use.
#[derive(Debug, Clone)]
pub struct ToolSettings {
    /// Where `gmail_get_attachment` saves files. Created on first use with mode 0700.
    pub attachment_dir: PathBuf,
    /// The largest attachment fetched at all, in bytes.
    pub attachment_max_bytes: u64,
    /// The largest attachment returned inline in the result, in bytes.
    pub inline_attachment_max_bytes: u64,
    /// What the tools may do. Tools above these levels are neither listed nor run.
    pub access: AccessLevels,
    /// The recipients mail and event invitations may go to.
    pub recipients: RecipientAllowlist,
    /// A configuration problem found at start. When set, every tool that needs Google
    /// returns it, so an MCP client that hides the server's stderr still shows the cause.
    pub configuration_error: Option<String>,
}

impl Default for ToolSettings {
    fn default() -> Self {
        Self {
            attachment_dir: std::env::temp_dir()
                .join("mcp-google-hub")
                .join("attachments"),
            // Gmail's own limit for a message is 25 MB; attachments cannot be larger.
            attachment_max_bytes: 25 * 1024 * 1024,
            // Inline content is base64 in the model's context; keep it small.
            inline_attachment_max_bytes: 256 * 1024,
            access: AccessLevels::READ_ONLY,
            recipients: RecipientAllowlist::unrestricted(),
            configuration_error: None,
        }
    }
}

/// The services every tool call shares.
#[derive(Clone)]
pub struct ToolContext {
    pub(crate) credentials: Arc<CredentialCache>,
    pub(crate) gmail: Arc<dyn GmailApi>,
    pub(crate) calendar: Arc<dyn CalendarApi>,
    pub(crate) settings: Arc<ToolSettings>,
}

impl ToolContext {
    /// Creates a context over a credential cache and the Google ports.
    pub fn new(
        credentials: Arc<CredentialCache>,
        gmail: Arc<dyn GmailApi>,
        calendar: Arc<dyn CalendarApi>,
        settings: ToolSettings,
    ) -> Self {
        Self {
            credentials,
            gmail,
            calendar,
            settings: Arc::new(settings),
        }
    }

    /// Returns the credential cache.
    pub fn credentials(&self) -> &Arc<CredentialCache> {
        &self.credentials
    }

    /// Returns the settings.
    pub fn settings(&self) -> &ToolSettings {
        &self.settings
    }

    /// Runs one Google call with a usable token. When Google rejects the token (401), the
    /// token is dropped from the cache and the call is made once more with a new one: a
    /// token revoked or rotated behind the hub's back costs one retry, not a failed call.
    ///
    /// # Errors
    ///
    /// [`CredentialError::NotConfigured`] for a configuration problem, [`ToolError::Credentials`] when
    /// no token can be had, and [`ToolError::Google`] when the call fails (after the retry,
    /// for a 401).
    pub(crate) async fn with_google<T, F, Fut>(&self, call: F) -> Result<T, ToolError>
    where
        F: Fn(Arc<Credentials>) -> Fut,
        Fut: Future<Output = Result<T, GoogleApiError>>,
    {
        if let Some(problem) = &self.settings.configuration_error {
            return Err(CredentialError::NotConfigured(problem.clone()).into());
        }

        let credentials = self.credentials.get().await?;
        match call(Arc::clone(&credentials)).await {
            Err(GoogleApiError::Unauthorized { .. }) => {
                tracing::info!(
                    "Google rejected the access token; fetching a new one and retrying once"
                );
                self.credentials.invalidate(&credentials.access_token);
                let credentials = self.credentials.get().await?;
                Ok(call(credentials).await?)
            }
            result => Ok(result?),
        }
    }
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("credentials", &self.credentials)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
