//! Google token files (feature `local-file`): the authorized-user JSON that Python's
//! google-auth writes (`token`, `refresh_token`, `expiry`, `scopes`, ...), and the
//! variants other tools write.
//!
//! NOTE: this provider reads the token file and serves its access token. It does not yet
//! exchange the refresh token for a new access token, so an expired token file must be
//! renewed by the tool that wrote it.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::errors::CredentialError;
use crate::domain::models::{AccessToken, AuthMode, Credentials, ProviderStatus, RefreshToken};
use crate::domain::ports::CredentialProvider;

/// The largest token file read, in bytes. Real ones are under 2 KiB.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Serves the access token from an authorized-user token file.
#[derive(Debug, Clone)]
pub struct TokenFileProvider {
    path: PathBuf,
}

impl TokenFileProvider {
    /// Creates a provider over the token file at `path`. The file is read on each fetch,
    /// so a token renewed by another program is picked up.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Returns the token file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read(&self) -> Result<Credentials, CredentialError> {
        let shown = self.path.display();
        let metadata = tokio::fs::metadata(&self.path).await.map_err(|error| {
            CredentialError::NotConfigured(format!(
                "cannot read the token file {shown}: {error}; check GOOGLE_TOKEN_PATH"
            ))
        })?;
        if metadata.len() > MAX_TOKEN_FILE_BYTES {
            return Err(CredentialError::InvalidResponse(format!(
                "the token file {shown} is {} bytes, too large for a token file; check GOOGLE_TOKEN_PATH",
                metadata.len()
            )));
        }

        let text = tokio::fs::read_to_string(&self.path)
            .await
            .map_err(|error| {
                CredentialError::NotConfigured(format!(
                    "cannot read the token file {shown}: {error}"
                ))
            })?;
        parse_token_file(&text).map_err(|reason| {
            CredentialError::InvalidResponse(format!("the token file {shown} {reason}"))
        })
    }
}

#[async_trait]
impl CredentialProvider for TokenFileProvider {
    fn mode(&self) -> AuthMode {
        AuthMode::LocalFile
    }

    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
        let credentials = self.read().await?;
        if !credentials.is_usable_at(Utc::now()) {
            return Err(CredentialError::NotConnected(format!(
                "the access token in {} has expired and this version of the hub cannot refresh it; renew the file with the tool that wrote it",
                self.path.display()
            )));
        }
        Ok(credentials)
    }

    async fn status(&self) -> Result<ProviderStatus, CredentialError> {
        let credentials = self.read().await?;
        Ok(ProviderStatus {
            connected: true,
            account_email: credentials.account_email,
            scopes: credentials.scopes,
            expires_at: credentials.expires_at,
            source: format!("token file {}", self.path.display()),
        })
    }
}

/// The token file fields the hub reads, under every spelling it accepts.
#[derive(Deserialize)]
struct TokenFile {
    token: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    token_type: Option<String>,
    expiry: Option<Value>,
    expires_at: Option<Value>,
    expiry_date: Option<Value>,
    scopes: Option<Value>,
    scope: Option<Value>,
    account: Option<String>,
    email: Option<String>,
}

/// Parses a token file. The error completes the sentence "the token file X ...".
pub(crate) fn parse_token_file(text: &str) -> Result<Credentials, String> {
    let file: TokenFile =
        serde_json::from_str(text).map_err(|error| format!("is not valid token JSON ({error})"))?;

    let access_token = file
        .token
        .or(file.access_token)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| "has no access token (`token` or `access_token`)".to_owned())?;

    let expires_at = match (&file.expiry, &file.expires_at, &file.expiry_date) {
        (Some(value), _, _) | (None, Some(value), _) => Some(parse_instant(value, 1)?),
        (None, None, Some(value)) => Some(parse_instant(value, 1000)?),
        (None, None, None) => None,
    };

    Ok(Credentials {
        access_token: AccessToken::new(access_token),
        refresh_token: file
            .refresh_token
            .filter(|token| !token.is_empty())
            .map(RefreshToken::new),
        token_type: file.token_type.unwrap_or_else(|| "Bearer".to_owned()),
        expires_at,
        scopes: parse_scopes(file.scopes.as_ref().or(file.scope.as_ref())),
        account_email: file
            .email
            .or(file.account)
            .filter(|account| !account.is_empty()),
    })
}

/// Parses an instant given as RFC 3339, as google-auth's naive UTC (`2025-01-01T10:00:00`
/// with or without fractional seconds), or as a number of `units_per_second` since the
/// epoch (1 for seconds, 1000 for milliseconds).
fn parse_instant(value: &Value, units_per_second: i64) -> Result<DateTime<Utc>, String> {
    let invalid = || format!("has an expiry that is not a date: {value}");
    match value {
        Value::String(text) => {
            let text = text.trim();
            if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
                return Ok(instant.with_timezone(&Utc));
            }
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|naive| naive.and_utc())
                .map_err(|_| invalid())
        }
        Value::Number(number) => {
            let units = number.as_f64().ok_or_else(invalid)?;
            let millis = (units * 1000.0 / units_per_second as f64) as i64;
            DateTime::from_timestamp_millis(millis).ok_or_else(invalid)
        }
        _ => Err(invalid()),
    }
}

fn parse_scopes(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(text)) => text.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_google_auth_format() {
        let credentials = parse_token_file(
            r#"{"token": "ya29.a0", "refresh_token": "1//0g", "token_uri": "https://oauth2.googleapis.com/token",
                "client_id": "id.apps.googleusercontent.com", "client_secret": "secret",
                "scopes": ["https://www.googleapis.com/auth/gmail.readonly"], "universe_domain": "googleapis.com",
                "account": "", "expiry": "2025-06-01T10:20:30.123456Z"}"#,
        )
        .unwrap();

        assert_eq!(credentials.access_token.expose_secret(), "ya29.a0");
        assert_eq!(credentials.refresh_token.unwrap().expose_secret(), "1//0g");
        assert_eq!(
            credentials.expires_at.unwrap().to_rfc3339(),
            "2025-06-01T10:20:30.123456+00:00"
        );
        assert_eq!(
            credentials.scopes,
            ["https://www.googleapis.com/auth/gmail.readonly"]
        );
        assert_eq!(credentials.account_email, None);
    }

    #[test]
    fn reads_naive_expiry_as_utc() {
        let with_fraction =
            parse_token_file(r#"{"token": "t", "expiry": "2025-06-01T10:20:30.5"}"#).unwrap();
        let without =
            parse_token_file(r#"{"token": "t", "expiry": "2025-06-01T10:20:30"}"#).unwrap();
        assert_eq!(
            with_fraction.expires_at.unwrap().to_rfc3339(),
            "2025-06-01T10:20:30.500+00:00"
        );
        assert_eq!(
            without.expires_at.unwrap().to_rfc3339(),
            "2025-06-01T10:20:30+00:00"
        );
    }

    #[test]
    fn reads_other_tools_variants() {
        let node = parse_token_file(
            r#"{"access_token": "t", "expiry_date": 1748773230000, "scope": "a b"}"#,
        )
        .unwrap();
        assert_eq!(
            node.expires_at.unwrap().to_rfc3339(),
            "2025-06-01T10:20:30+00:00"
        );
        assert_eq!(node.scopes, ["a", "b"]);

        let seconds =
            parse_token_file(r#"{"access_token": "t", "expires_at": 1748773230}"#).unwrap();
        assert_eq!(
            seconds.expires_at.unwrap().to_rfc3339(),
            "2025-06-01T10:20:30+00:00"
        );
    }

    #[test]
    fn missing_expiry_is_unknown() {
        let credentials = parse_token_file(r#"{"token": "t"}"#).unwrap();
        assert_eq!(credentials.expires_at, None);
    }

    #[test]
    fn rejects_files_without_token() {
        assert!(
            parse_token_file(r#"{"refresh_token": "r"}"#)
                .unwrap_err()
                .contains("no access token")
        );
        assert!(
            parse_token_file("not json")
                .unwrap_err()
                .contains("not valid token JSON")
        );
        assert!(
            parse_token_file(r#"{"token": "t", "expiry": "soon"}"#)
                .unwrap_err()
                .contains("not a date")
        );
    }

    #[tokio::test]
    async fn expired_file_reported_not_served() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("token.json");
        std::fs::write(&path, r#"{"token": "t", "expiry": "2020-01-01T00:00:00"}"#).unwrap();

        let error = TokenFileProvider::new(&path)
            .fetch_credentials()
            .await
            .unwrap_err();

        assert!(
            matches!(error, CredentialError::NotConnected(_)),
            "{error:?}"
        );
        assert!(!error.to_string().contains("\"t\""));
    }
}
