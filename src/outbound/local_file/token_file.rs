//! The authorized-user token file: reading every spelling the hub accepts, and writing it
//! back atomically, under a lock, in the format Python's google-auth reads.
//!
//! google-auth (2.x) writes `token`, `refresh_token`, `token_uri`, `client_id`,
//! `client_secret`, `scopes`, `universe_domain`, `account` and `expiry`, the last as naive UTC
//! plus `Z` (`2025-06-01T10:20:30.123456Z`), and reads `expiry` back by cutting the `Z` and
//! the fraction. Other tools write `access_token`, `expires_at` (seconds or RFC 3339),
//! `expiry_date` (milliseconds) and `scope` (one space-separated string). Writing back merges
//! into the original JSON object, so fields the hub does not know survive, and a variant
//! field the file already had is updated too, so the tool that wrote it still reads it.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Map, Value};

use crate::domain::models::{AccessToken, Credentials, RefreshToken};
use crate::outbound::google_oauth::{OAuthClient, TokenGrant};

/// The largest token file read, in bytes. Real ones are under 2 KiB.
pub(crate) const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// The `expiry` format google-auth writes: naive UTC with microseconds and a `Z`.
const GOOGLE_AUTH_EXPIRY_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// A token file as read: the values the hub uses, and the whole JSON object for writing
/// back.
#[derive(Clone)]
pub struct StoredToken {
    object: Map<String, Value>,
    /// The access token (`token` or `access_token`); a file may hold only a refresh token.
    pub access_token: Option<AccessToken>,
    /// The refresh token.
    pub refresh_token: Option<RefreshToken>,
    /// The token type, `Bearer` unless the file says otherwise.
    pub token_type: String,
    /// The access token's expiry; `None` when the file does not say.
    pub expires_at: Option<DateTime<Utc>>,
    /// The granted scopes (`scopes` or `scope`).
    pub scopes: Vec<String>,
    /// The Google account (`account` or `email`), where stored.
    pub account: Option<String>,
    /// The OAuth client that issued the refresh token, as google-auth stores it.
    pub client_id: Option<String>,
    /// That client's secret.
    pub client_secret: Option<SecretString>,
    /// The token endpoint stored with the token.
    pub token_uri: Option<String>,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("has_access_token", &self.access_token.is_some())
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("account", &self.account)
            .field("client_id", &self.client_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl StoredToken {
    /// Parses a token file. The error completes the sentence "the token file X ...".
    ///
    /// # Errors
    ///
    /// Returns the reason when the text is not a JSON object, is another kind of Google
    /// file, has neither an access nor a refresh token, or has an expiry that is not a date.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|error| format!("is not valid token JSON ({error})"))?;
        let Value::Object(object) = value else {
            return Err("is not a JSON object, so it is not a token file".to_owned());
        };
        reject_other_kinds(&object)?;

        let text_field = |names: &[&str]| {
            names.iter().find_map(|name| {
                object
                    .get(*name)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|value| !value.is_empty())
                    .map(str::to_owned)
            })
        };
        let access_token = text_field(&["token", "access_token"]).map(AccessToken::new);
        let refresh_token = text_field(&["refresh_token"]).map(RefreshToken::new);
        if access_token.is_none() && refresh_token.is_none() {
            return Err(
                "has neither an access token (`token` or `access_token`) nor a refresh token"
                    .to_owned(),
            );
        }

        let expires_at = match ["expiry", "expires_at", "expiry_date"]
            .iter()
            .find_map(|name| Some((*name, object.get(*name).filter(|v| !v.is_null())?)))
        {
            Some(("expiry_date", value)) => Some(parse_instant(value, 1000)?),
            Some((_, value)) => Some(parse_instant(value, 1)?),
            None => None,
        };

        Ok(Self {
            access_token,
            refresh_token,
            token_type: text_field(&["token_type"]).unwrap_or_else(|| "Bearer".to_owned()),
            expires_at,
            scopes: parse_scopes(object.get("scopes").or_else(|| object.get("scope"))),
            account: text_field(&["account", "email"]),
            client_id: text_field(&["client_id"]),
            client_secret: text_field(&["client_secret"]).map(SecretString::from),
            token_uri: text_field(&["token_uri"]),
            object,
        })
    }

    /// Starts an empty token for a first login, or builds on `previous`'s JSON object so
    /// that fields other tools put there survive a new login.
    pub fn for_login(previous: Option<&Self>) -> Self {
        Self {
            object: previous
                .map(|token| token.object.clone())
                .unwrap_or_default(),
            access_token: None,
            refresh_token: None,
            token_type: "Bearer".to_owned(),
            expires_at: None,
            scopes: Vec::new(),
            account: None,
            client_id: None,
            client_secret: None,
            token_uri: None,
        }
    }

    /// Returns the credentials the file holds, or `None` without an access token.
    pub fn credentials(&self) -> Option<Credentials> {
        Some(Credentials {
            access_token: self.access_token.clone()?,
            refresh_token: self.refresh_token.clone(),
            token_type: self.token_type.clone(),
            expires_at: self.expires_at,
            scopes: self.scopes.clone(),
            account_email: self.account.clone(),
        })
    }

    /// Records a grant received at `now` from `client`: the new access token and expiry,
    /// the new refresh token if one came (the stored one is kept otherwise), the granted
    /// scopes, and the client, so google-auth can refresh the file too.
    pub fn apply_grant(&mut self, grant: &TokenGrant, client: &OAuthClient, now: DateTime<Utc>) {
        self.access_token = Some(grant.access_token.clone());
        if let Some(refresh_token) = &grant.refresh_token {
            self.refresh_token = Some(refresh_token.clone());
        }
        self.token_type = grant.token_type.clone();
        self.expires_at = grant.expires_at(now);
        if let Some(scopes) = &grant.scopes {
            self.scopes = scopes.clone();
        }
        self.client_id = Some(client.client_id.clone());
        self.client_secret = Some(client.client_secret.clone());
        self.token_uri = Some(client.token_uri.to_string());
    }

    /// Records the Google account the token belongs to.
    pub fn set_account(&mut self, account: String) {
        self.account = Some(account);
    }

    /// Renders the file: the original object with the hub's values merged in.
    pub fn to_json(&self) -> String {
        let mut object = self.object.clone();
        let mut set = |name: &str, value: Value| {
            object.insert(name.to_owned(), value);
        };

        if let Some(token) = &self.access_token {
            set("token", Value::from(token.expose_secret()));
        }
        if let Some(token) = &self.refresh_token {
            set("refresh_token", Value::from(token.expose_secret()));
        }
        if let Some(client_id) = &self.client_id {
            set("client_id", Value::from(client_id.as_str()));
        }
        if let Some(secret) = &self.client_secret {
            set("client_secret", Value::from(secret.expose_secret()));
        }
        if let Some(token_uri) = &self.token_uri {
            set("token_uri", Value::from(token_uri.as_str()));
        }
        set("scopes", Value::from(self.scopes.clone()));
        if let Some(account) = &self.account {
            set("account", Value::from(account.as_str()));
        }
        match self.expires_at {
            Some(at) => set(
                "expiry",
                Value::from(at.format(GOOGLE_AUTH_EXPIRY_FORMAT).to_string()),
            ),
            None => {
                object.remove("expiry");
            }
        }
        self.update_variants(&mut object);

        // Serializing a map of strings, numbers and arrays cannot fail.
        serde_json::to_string_pretty(&Value::Object(object)).unwrap_or_default()
    }

    /// Updates the other tools' spellings the original file used, so they read the new
    /// token too.
    fn update_variants(&self, object: &mut Map<String, Value>) {
        if object.contains_key("access_token")
            && let Some(token) = &self.access_token
        {
            object.insert(
                "access_token".to_owned(),
                Value::from(token.expose_secret()),
            );
        }
        if object.contains_key("scope") {
            object.insert("scope".to_owned(), Value::from(self.scopes.join(" ")));
        }
        if let Some(at) = self.expires_at {
            if object.contains_key("expiry_date") {
                object.insert("expiry_date".to_owned(), Value::from(at.timestamp_millis()));
            }
            match object.get("expires_at") {
                Some(Value::Number(_)) => {
                    object.insert("expires_at".to_owned(), Value::from(at.timestamp()));
                }
                Some(Value::String(_)) => {
                    object.insert("expires_at".to_owned(), Value::from(at.to_rfc3339()));
                }
                _ => {}
            }
        }
    }
}

/// Names a Google file that is not a token file, so the user sees what went wrong.
fn reject_other_kinds(object: &Map<String, Value>) -> Result<(), String> {
    if object.get("type").and_then(Value::as_str) == Some("service_account") {
        return Err(
            "is a service-account key, not an authorized-user token file; the hub acts as a \
             user, so run `mcp-google-hub auth login` to create a token file there"
                .to_owned(),
        );
    }
    if object.contains_key("installed") || object.contains_key("web") {
        return Err(
            "is an OAuth client-secrets file, not a token file; point GOOGLE_CREDENTIALS_PATH at \
             it and GOOGLE_TOKEN_PATH at the token file `mcp-google-hub auth login` writes"
                .to_owned(),
        );
    }
    Ok(())
}

/// Parses an instant given as RFC 3339, as google-auth's naive UTC (with or without a
/// fraction and a trailing `Z`), or as a number of `units_per_second` since the epoch
/// (1 for seconds, 1000 for milliseconds).
fn parse_instant(value: &Value, units_per_second: i64) -> Result<DateTime<Utc>, String> {
    let invalid = || format!("has an expiry that is not a date: {value}");
    match value {
        Value::String(text) => {
            let text = text.trim();
            if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
                return Ok(instant.with_timezone(&Utc));
            }
            NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
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

/// Reads and parses the token file at `path`. Blocking.
///
/// # Errors
///
/// Returns a sentence naming the file: unreadable, too large, or not a token file.
pub fn read_token_file(path: &Path) -> Result<StoredToken, ReadError> {
    let shown = path.display();
    let metadata = std::fs::metadata(path).map_err(|error| {
        ReadError::Missing(format!(
            "cannot read the token file {shown}: {error}; run `mcp-google-hub auth login` to create it, or check GOOGLE_TOKEN_PATH"
        ))
    })?;
    if metadata.len() > MAX_TOKEN_FILE_BYTES {
        return Err(ReadError::Invalid(format!(
            "the token file {shown} is {} bytes, too large for a token file; check GOOGLE_TOKEN_PATH",
            metadata.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|error| {
        ReadError::Missing(format!("cannot read the token file {shown}: {error}"))
    })?;
    StoredToken::parse(&text)
        .map_err(|reason| ReadError::Invalid(format!("the token file {shown} {reason}")))
}

/// Why a token file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file does not exist or cannot be opened.
    #[error("{0}")]
    Missing(String),
    /// The file exists but is not a usable token file.
    #[error("{0}")]
    Invalid(String),
}

/// Replaces the file at `path` with `contents` atomically: a temporary file in the same
/// folder with mode 0600 is written, flushed to disk and renamed over the old file, and
/// the folder is synced, so a reader sees the old file or the new one and never a mix,
/// even after a crash. Creates the folder (mode 0700) when missing. Blocking.
///
/// # Errors
///
/// Returns the I/O error of the step that failed; the temporary file is removed then.
pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&folder)?;

    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "token.json".to_owned());
    let temporary = folder.join(format!(".{name}.{:016x}.tmp", rand::rng().next_u64()));

    let result = write_and_rename(&temporary, path, contents, &folder);
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

fn write_and_rename(
    temporary: &Path,
    path: &Path,
    contents: &str,
    folder: &Path,
) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(temporary)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    drop(file);

    std::fs::rename(temporary, path)?;

    // The rename is durable only once the folder entry is on disk.
    #[cfg(unix)]
    File::open(folder)?.sync_all()?;
    Ok(())
}

fn create_private_dir(folder: &Path) -> std::io::Result<()> {
    if folder.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(folder)
}

/// An exclusive advisory lock on a token file's sibling lock file (`token.json.lock`),
/// released when dropped. Processes that refresh the same file take it in turn.
#[derive(Debug)]
pub struct TokenFileLock {
    _file: File,
}

/// Returns the lock file beside `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_else(|| "token.json".into());
    name.push(".lock");
    path.with_file_name(name)
}

/// Waits for the exclusive lock on `path`'s lock file, creating the file (and its folder)
/// when missing. Blocking: call it from `spawn_blocking`.
///
/// # Errors
///
/// Returns the I/O error when the lock file cannot be created or locked.
pub fn lock_token_file(path: &Path) -> std::io::Result<TokenFileLock> {
    let lock = lock_path(path);
    if let Some(folder) = lock
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        create_private_dir(folder)?;
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&lock)?;
    fs4::fs_std::FileExt::lock_exclusive(&file)?;
    Ok(TokenFileLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn client() -> OAuthClient {
        OAuthClient {
            client_id: "id.apps.googleusercontent.com".to_owned(),
            client_secret: SecretString::from("client-secret"),
            token_uri: url::Url::parse("https://oauth2.googleapis.com/token").unwrap(),
        }
    }

    fn grant(refresh: Option<&str>) -> TokenGrant {
        TokenGrant {
            access_token: AccessToken::new("new-access"),
            refresh_token: refresh.map(RefreshToken::new),
            token_type: "Bearer".to_owned(),
            expires_in: Some(Duration::from_secs(3599)),
            scopes: Some(vec!["s1".to_owned(), "s2".to_owned()]),
        }
    }

    #[test]
    fn reads_google_auth_format() {
        let stored = StoredToken::parse(
            r#"{"token": "ya29.a0", "refresh_token": "1//0g", "token_uri": "https://oauth2.googleapis.com/token",
                "client_id": "id.apps.googleusercontent.com", "client_secret": "secret",
                "scopes": ["https://www.googleapis.com/auth/gmail.readonly"], "universe_domain": "googleapis.com",
                "account": "", "expiry": "2025-06-01T10:20:30.123456Z"}"#,
        )
        .unwrap();
        let credentials = stored.credentials().unwrap();

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
        assert_eq!(
            stored.client_id.as_deref(),
            Some("id.apps.googleusercontent.com")
        );
        assert_eq!(
            stored.token_uri.as_deref(),
            Some("https://oauth2.googleapis.com/token")
        );
    }

    #[test]
    fn reads_naive_expiry_as_utc() {
        for (text, expected) in [
            ("2025-06-01T10:20:30.5", "2025-06-01T10:20:30.500+00:00"),
            ("2025-06-01T10:20:30", "2025-06-01T10:20:30+00:00"),
            ("2025-06-01T10:20:30Z", "2025-06-01T10:20:30+00:00"),
            (
                "2025-06-01T10:20:30.000001Z",
                "2025-06-01T10:20:30.000001+00:00",
            ),
            ("2025-06-01T12:20:30+02:00", "2025-06-01T10:20:30+00:00"),
        ] {
            let stored =
                StoredToken::parse(&format!(r#"{{"token": "t", "expiry": "{text}"}}"#)).unwrap();
            assert_eq!(stored.expires_at.unwrap().to_rfc3339(), expected, "{text}");
        }
    }

    #[test]
    fn reads_other_tools_variants() {
        let node = StoredToken::parse(
            r#"{"access_token": "t", "expiry_date": 1748773230000, "scope": "a b"}"#,
        )
        .unwrap();
        assert_eq!(
            node.expires_at.unwrap().to_rfc3339(),
            "2025-06-01T10:20:30+00:00"
        );
        assert_eq!(node.scopes, ["a", "b"]);

        let seconds =
            StoredToken::parse(r#"{"access_token": "t", "expires_at": 1748773230}"#).unwrap();
        assert_eq!(
            seconds.expires_at.unwrap().to_rfc3339(),
            "2025-06-01T10:20:30+00:00"
        );

        let rfc = StoredToken::parse(
            r#"{"access_token": "t", "expires_at": "2025-06-01T10:20:30Z", "email": "a@b.c"}"#,
        )
        .unwrap();
        assert_eq!(
            rfc.expires_at.unwrap().to_rfc3339(),
            "2025-06-01T10:20:30+00:00"
        );
        assert_eq!(rfc.account.as_deref(), Some("a@b.c"));

        let refresh_only = StoredToken::parse(r#"{"refresh_token": "r"}"#).unwrap();
        assert!(refresh_only.credentials().is_none());
        assert!(refresh_only.refresh_token.is_some());
    }

    #[test]
    fn missing_or_null_expiry_is_unknown() {
        assert_eq!(
            StoredToken::parse(r#"{"token": "t"}"#).unwrap().expires_at,
            None
        );
        assert_eq!(
            StoredToken::parse(r#"{"token": "t", "expiry": null}"#)
                .unwrap()
                .expires_at,
            None
        );
    }

    #[test]
    fn rejects_non_token_files() {
        let cases = [
            ("{}", "neither an access token"),
            ("not json", "not valid token JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"token": "t", "expiry": "soon"}"#, "not a date"),
            (
                r#"{"type": "service_account", "private_key": "k"}"#,
                "service-account key",
            ),
            (
                r#"{"installed": {"client_id": "x"}}"#,
                "client-secrets file",
            ),
        ];
        for (text, expected) in cases {
            let error = StoredToken::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn write_back_keeps_unknown_fields_and_variants() {
        let mut stored = StoredToken::parse(
            r#"{"access_token": "old", "refresh_token": "r1", "expiry_date": 1, "scope": "x",
                "custom": {"kept": true}}"#,
        )
        .unwrap();
        let now = DateTime::parse_from_rfc3339("2025-06-01T10:00:00Z")
            .unwrap()
            .to_utc();

        stored.apply_grant(&grant(None), &client(), now);
        let written: Value = serde_json::from_str(&stored.to_json()).unwrap();

        assert_eq!(written["custom"]["kept"], true);
        assert_eq!(written["token"], "new-access");
        assert_eq!(written["access_token"], "new-access");
        assert_eq!(
            written["refresh_token"], "r1",
            "the stored refresh token is kept"
        );
        assert_eq!(written["expiry"], "2025-06-01T10:59:59.000000Z");
        assert_eq!(written["expiry_date"], 1_748_775_599_000_i64);
        assert_eq!(written["scopes"], serde_json::json!(["s1", "s2"]));
        assert_eq!(written["scope"], "s1 s2");
        assert_eq!(written["client_id"], "id.apps.googleusercontent.com");

        let reread = StoredToken::parse(&stored.to_json()).unwrap();
        assert_eq!(
            reread.expires_at,
            Some(now + chrono::TimeDelta::seconds(3599))
        );
    }

    #[test]
    fn new_refresh_token_replaces_old() {
        let mut stored = StoredToken::parse(r#"{"token": "old", "refresh_token": "r1"}"#).unwrap();
        stored.apply_grant(&grant(Some("r2")), &client(), Utc::now());
        assert_eq!(stored.refresh_token.unwrap().expose_secret(), "r2");
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_is_private_and_leaves_no_temp_file() {
        use std::os::unix::fs::PermissionsExt as _;

        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("data").join("token.json");
        write_atomically(&path, "{\"token\": \"a\"}").unwrap();
        write_atomically(&path, "{\"token\": \"b\"}").unwrap();

        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"b\""));
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["token.json"], "no temporary file is left");
    }

    #[test]
    fn lock_is_exclusive_between_handles() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("token.json");
        let first = lock_token_file(&path).unwrap();

        let (sender, receiver) = std::sync::mpsc::channel();
        let waiter = {
            std::thread::spawn(move || {
                let _second = lock_token_file(&path).unwrap();
                sender.send(()).unwrap();
            })
        };
        assert!(
            receiver.recv_timeout(Duration::from_millis(200)).is_err(),
            "the second lock waits while the first is held"
        );
        drop(first);
        receiver.recv_timeout(Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
    }
}
