//! A credential provider that keeps the hub working while its primary source is down, by
//! refreshing the last Google token it got through Google's token endpoint itself.
//!
//! In `oma_backend` mode the OMA Backend refreshes Google tokens. When it cannot be reached
//! ([`CredentialError::Unavailable`]) and the hub has its own OAuth client
//! (`GOOGLE_CLIENT_ID` and `GOOGLE_CLIENT_SECRET`), [`RefreshFallback`] refreshes the last
//! credentials the primary returned, which works only when they carried a refresh token.
//! Every other error of the primary (an expired OMA JWT, say) passes through unchanged,
//! because refreshing behind the user's back would hide a problem they must fix.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::Utc;

use crate::domain::errors::CredentialError;
use crate::domain::models::{AccessToken, AuthMode, Credentials, ProviderStatus};
use crate::domain::ports::CredentialProvider;
use crate::outbound::google_oauth::{OAuthClient, TokenEndpoint};

/// Wraps a primary provider and falls back to refreshing its last token at Google.
pub struct RefreshFallback {
    primary: std::sync::Arc<dyn CredentialProvider>,
    endpoint: TokenEndpoint,
    client: OAuthClient,
    /// The newest credentials, from the primary or from a fallback refresh.
    last: Mutex<Option<Credentials>>,
    /// Whether the credentials in use came from a fallback refresh.
    on_fallback: AtomicBool,
}

impl std::fmt::Debug for RefreshFallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshFallback")
            .field("mode", &self.primary.mode())
            .field("client", &self.client)
            .field("on_fallback", &self.is_on_fallback())
            .finish_non_exhaustive()
    }
}

impl RefreshFallback {
    /// Wraps `primary`; fallback refreshes go to `client.token_uri` through `endpoint`.
    pub fn new(
        primary: std::sync::Arc<dyn CredentialProvider>,
        endpoint: TokenEndpoint,
        client: OAuthClient,
    ) -> Self {
        Self {
            primary,
            endpoint,
            client,
            last: Mutex::new(None),
            on_fallback: AtomicBool::new(false),
        }
    }

    /// Returns whether the token in use came from a fallback refresh.
    pub fn is_on_fallback(&self) -> bool {
        self.on_fallback.load(Ordering::Relaxed)
    }

    fn last(&self) -> Option<Credentials> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn remember(&self, credentials: &Credentials) {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The OMA Backend may stop sending the refresh token; an earlier one stays valid.
        let refresh_token = credentials.refresh_token.clone().or_else(|| {
            last.as_ref()
                .and_then(|previous| previous.refresh_token.clone())
        });
        *last = Some(Credentials {
            refresh_token,
            ..credentials.clone()
        });
    }

    async fn refresh_last(&self, cause: String) -> Result<Credentials, CredentialError> {
        let Some(previous) = self.last() else {
            return Err(CredentialError::Unavailable(format!(
                "{cause} The fallback to Google's token endpoint cannot help yet, because the \
                 hub has not received a Google token from the OMA Backend since it started."
            )));
        };
        let Some(refresh_token) = previous.refresh_token.clone() else {
            return Err(CredentialError::Unavailable(format!(
                "{cause} No fallback is possible: the OMA Backend sends no refresh token \
                 (refresh_token is null), so the hub cannot refresh the Google token itself."
            )));
        };

        tracing::warn!(%cause, "the OMA Backend is unavailable; refreshing the Google token at Google instead");
        let grant = self
            .endpoint
            .refresh(&self.client, &refresh_token)
            .await
            .map_err(|error| match error {
                CredentialError::Unavailable(message) => CredentialError::Unavailable(format!(
                    "{cause} The fallback failed too: {message}"
                )),
                other => other,
            })?;

        let credentials = grant.into_credentials(Utc::now(), Some(&previous));
        self.remember(&credentials);
        self.on_fallback.store(true, Ordering::Relaxed);
        Ok(credentials)
    }
}

#[async_trait]
impl CredentialProvider for RefreshFallback {
    fn mode(&self) -> AuthMode {
        self.primary.mode()
    }

    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
        match self.primary.fetch_credentials().await {
            Ok(credentials) => {
                self.remember(&credentials);
                if self.on_fallback.swap(false, Ordering::Relaxed) {
                    tracing::info!("the OMA Backend answers again; the fallback has ended");
                }
                Ok(credentials)
            }
            Err(CredentialError::Unavailable(cause)) => self.refresh_last(cause).await,
            Err(other) => Err(other),
        }
    }

    async fn status(&self) -> Result<ProviderStatus, CredentialError> {
        match self.primary.status().await {
            Err(CredentialError::Unavailable(cause)) if self.is_on_fallback() => {
                let last = self.last();
                Ok(ProviderStatus {
                    connected: true,
                    account_email: last.as_ref().and_then(|c| c.account_email.clone()),
                    scopes: last.as_ref().map(|c| c.scopes.clone()).unwrap_or_default(),
                    expires_at: last.as_ref().and_then(|c| c.expires_at),
                    source: format!(
                        "fallback: Google's token endpoint {} with the hub's own OAuth client, \
                         because the OMA Backend is unavailable ({cause})",
                        self.client.token_uri
                    ),
                })
            }
            other => other,
        }
    }

    fn token_rejected(&self, token: &AccessToken) {
        self.primary.token_rejected(token);
    }
}
