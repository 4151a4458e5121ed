//! Google token files (feature `local-file`): the authorized-user JSON that Python's
//! google-auth writes, refreshed at Google's token endpoint and written back in place.
//!
//! [`TokenFileProvider`] serves the file's access token while it has more than
//! [`REFRESH_AHEAD`] left, and refreshes it otherwise, or when Google rejected it
//! ([`CredentialProvider::token_rejected`]). A refresh takes an exclusive lock on the
//! sibling file `token.json.lock`, reads the file again (another process may have refreshed
//! it meanwhile) and only then asks Google, so hub processes sharing one file send one
//! refresh between them and never write over each other. `auth login`, `auth status` and
//! `auth logout` live in [`login`].

pub mod client_secrets;
pub mod login;
pub mod token_file;

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Utc;
use secrecy::SecretString;

use self::client_secrets::read_client_secrets;
use self::token_file::{
    ReadError, StoredToken, lock_token_file, read_token_file, write_atomically,
};
use crate::domain::errors::CredentialError;
use crate::domain::models::{AccessToken, AuthMode, Credentials, ProviderStatus};
use crate::domain::ports::CredentialProvider;
use crate::domain::service::REFRESH_AHEAD;
use crate::outbound::google_oauth::{LOGIN_COMMAND, OAuthClient, OAuthEndpoints, TokenEndpoint};

/// Where the token file and the OAuth client come from.
#[derive(Debug, Clone)]
pub struct LocalFileSettings {
    /// `GOOGLE_TOKEN_PATH`: the authorized-user token file.
    pub token_path: PathBuf,
    /// `GOOGLE_CREDENTIALS_PATH`: the client-secrets file, read only when the token file
    /// does not name its client.
    pub credentials_path: PathBuf,
    /// `GOOGLE_CLIENT_ID` and `GOOGLE_CLIENT_SECRET`, which win over the client-secrets
    /// file.
    pub client: Option<(String, SecretString)>,
    /// The OAuth endpoints; with `overridden` set (`GOOGLE_OAUTH_BASE_URL`) they win over
    /// the endpoints stored in the files.
    pub endpoints: OAuthEndpoints,
}

impl LocalFileSettings {
    /// Settings for `token_path` with Google's endpoints and the default client-secrets
    /// path.
    pub fn new(token_path: impl Into<PathBuf>) -> Self {
        Self {
            token_path: token_path.into(),
            credentials_path: PathBuf::from(crate::config::DEFAULT_CREDENTIALS_PATH),
            client: None,
            endpoints: OAuthEndpoints::google(),
        }
    }

    /// Returns the OAuth client to refresh `stored` with: the client stored with the token
    /// (the one that issued it), else `GOOGLE_CLIENT_ID`/`GOOGLE_CLIENT_SECRET`, else the
    /// client-secrets file. The token endpoint is the overriding one, else the stored one,
    /// else the client-secrets file's, else Google's. Blocking, because it may read a file.
    ///
    /// # Errors
    ///
    /// [`CredentialError::NotConfigured`] when no client can be found.
    pub fn refresh_client(&self, stored: &StoredToken) -> Result<OAuthClient, CredentialError> {
        let stored_client = match (&stored.client_id, &stored.client_secret) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone(), None)),
            _ => None,
        };
        let (client_id, client_secret, file_token_uri) = match stored_client
            .or_else(|| self.client.clone().map(|(id, secret)| (id, secret, None)))
        {
            Some(client) => client,
            None => {
                let secrets = read_client_secrets(&self.credentials_path).map_err(|problem| {
                    CredentialError::NotConfigured(format!(
                        "the token file {} names no OAuth client, and {problem}",
                        self.token_path.display()
                    ))
                })?;
                (secrets.client_id, secrets.client_secret, secrets.token_uri)
            }
        };

        let token_uri = if self.endpoints.overridden {
            self.endpoints.token_uri.clone()
        } else {
            stored
                .token_uri
                .as_deref()
                .and_then(|uri| url::Url::parse(uri).ok())
                .or(file_token_uri)
                .unwrap_or_else(|| self.endpoints.token_uri.clone())
        };
        Ok(OAuthClient {
            client_id,
            client_secret,
            token_uri,
        })
    }
}

/// Serves and refreshes the access token of an authorized-user token file.
#[derive(Debug)]
pub struct TokenFileProvider {
    settings: LocalFileSettings,
    endpoint: TokenEndpoint,
    /// The token Google last rejected, refreshed on the next fetch even if its expiry
    /// says it is usable.
    rejected: Mutex<Option<AccessToken>>,
}

impl TokenFileProvider {
    /// Creates a provider over the settings' token file. The file is read on each fetch,
    /// so a token renewed by another program is picked up.
    pub fn new(settings: LocalFileSettings, endpoint: TokenEndpoint) -> Self {
        Self {
            settings,
            endpoint,
            rejected: Mutex::new(None),
        }
    }

    /// Returns the settings.
    pub fn settings(&self) -> &LocalFileSettings {
        &self.settings
    }

    async fn read(&self) -> Result<StoredToken, CredentialError> {
        let path = self.settings.token_path.clone();
        tokio::task::spawn_blocking(move || read_token_file(&path))
            .await
            .map_err(|error| {
                CredentialError::Unavailable(format!("reading the token file failed: {error}"))
            })?
            .map_err(|error| match error {
                ReadError::Missing(message) => CredentialError::NotConfigured(message),
                ReadError::Invalid(message) => CredentialError::InvalidResponse(message),
            })
    }

    fn rejected(&self) -> Option<AccessToken> {
        self.rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn clear_rejected(&self) {
        *self
            .rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Returns the file's credentials if they can be served as they are.
    fn servable(&self, stored: &StoredToken) -> Option<Credentials> {
        let credentials = stored.credentials()?;
        if self.rejected().as_ref() == Some(&credentials.access_token) {
            return None;
        }
        let ahead = credentials
            .remaining_at(Utc::now())
            .is_none_or(|remaining| remaining > REFRESH_AHEAD);
        ahead.then_some(credentials)
    }

    /// Refreshes under the file lock: reads the file again, and refreshes only if no other
    /// process did in the meantime.
    async fn refresh(&self) -> Result<Credentials, CredentialError> {
        let path = self.settings.token_path.clone();
        let lock = tokio::task::spawn_blocking(move || lock_token_file(&path))
            .await
            .map_err(|error| {
                CredentialError::Unavailable(format!("locking the token file failed: {error}"))
            })?
            .map_err(|error| {
                CredentialError::Unavailable(format!(
                    "cannot lock {} ({error}); check that its folder is writable",
                    token_file::lock_path(&self.settings.token_path).display()
                ))
            })?;

        let mut stored = self.read().await?;
        if let Some(credentials) = self.servable(&stored) {
            tracing::debug!("another process refreshed the token file meanwhile");
            self.clear_rejected();
            return Ok(credentials);
        }

        let shown = self.settings.token_path.display();
        let refresh_token = stored.refresh_token.clone().ok_or_else(|| {
            CredentialError::NotConnected(format!(
                "the access token in {shown} has expired and the file has no refresh token, so \
                 the hub cannot renew it; run `{LOGIN_COMMAND}`"
            ))
        })?;
        let client = {
            let settings = self.settings.clone();
            let stored = stored.clone();
            tokio::task::spawn_blocking(move || settings.refresh_client(&stored))
                .await
                .map_err(|error| CredentialError::Unavailable(error.to_string()))??
        };

        let grant = self.endpoint.refresh(&client, &refresh_token).await?;
        stored.apply_grant(&grant, &client, Utc::now());

        let path = self.settings.token_path.clone();
        let json = stored.to_json();
        match tokio::task::spawn_blocking(move || write_atomically(&path, &json)).await {
            Ok(Ok(())) => tracing::debug!(path = %shown, "wrote the refreshed token file"),
            Ok(Err(error)) => {
                tracing::error!(path = %shown, %error, "cannot write the refreshed token file; the new token serves this process only")
            }
            Err(error) => tracing::error!(path = %shown, %error, "writing the token file failed"),
        }
        drop(lock);

        self.clear_rejected();
        stored.credentials().ok_or_else(|| {
            CredentialError::InvalidResponse(
                "the refreshed token file has no access token".to_owned(),
            )
        })
    }
}

#[async_trait]
impl CredentialProvider for TokenFileProvider {
    fn mode(&self) -> AuthMode {
        AuthMode::LocalFile
    }

    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
        let stored = self.read().await?;
        if let Some(credentials) = self.servable(&stored) {
            return Ok(credentials);
        }
        self.refresh().await
    }

    async fn status(&self) -> Result<ProviderStatus, CredentialError> {
        let stored = self.read().await?;
        let refresh = if stored.refresh_token.is_some() {
            "refreshed by the hub"
        } else {
            "no refresh token: run `mcp-google-hub auth login`"
        };
        Ok(ProviderStatus {
            connected: stored.refresh_token.is_some()
                || stored
                    .credentials()
                    .is_some_and(|credentials| credentials.is_usable_at(Utc::now())),
            account_email: stored.account.clone(),
            scopes: stored.scopes.clone(),
            expires_at: stored.expires_at,
            source: format!(
                "token file {} ({refresh})",
                self.settings.token_path.display()
            ),
        })
    }

    fn token_rejected(&self, token: &AccessToken) {
        *self
            .rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token.clone());
    }
}
