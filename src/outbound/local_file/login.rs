//! `mcp-google-hub auth login`, `auth status` and `auth logout`.
//!
//! Login is Google's installed-app flow with PKCE (S256) and a random `state`. A listener
//! on `127.0.0.1` with a port the system picks receives the browser's redirect, and lives
//! only while the flow runs, so no fixed callback port can collide with another program.
//! The redirected URL may also be pasted on standard input instead, for a browser on
//! another machine (SSH, containers). The tokens are written to the token file as
//! google-auth writes them, with the account's address from Gmail's `users.getProfile`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use sha2::Digest as _;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use super::LocalFileSettings;
use super::client_secrets::read_client_secrets;
use super::token_file::{
    ReadError, StoredToken, lock_token_file, read_token_file, write_atomically,
};
use crate::domain::access::AccessLevels;
use crate::domain::errors::CredentialError;
use crate::domain::models::AccessToken;
use crate::outbound::google_oauth::{OAuthClient, TokenEndpoint};
use crate::outbound::http::describe_error;

/// How long `auth login` waits for the browser by default.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// The services whose scopes login asks for when `HUB_SERVICES` is not set.
pub const DEFAULT_SERVICES: [&str; 2] = ["gmail", "calendar"];

/// Returns the OAuth scopes that `services` (`gmail`, `calendar`) need at the configured
/// access levels, without duplicates.
///
/// # Errors
///
/// Names an unknown service and the known ones.
pub fn scopes_for_services(
    services: &[String],
    access: &AccessLevels,
) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for service in services {
        let service = service.trim().to_ascii_lowercase();
        let Some(needed) = access.scopes_for(&service) else {
            return Err(format!(
                "HUB_SERVICES names an unknown service {service:?}; use a comma-separated list of gmail and calendar"
            ));
        };
        for scope in needed {
            if !scopes.iter().any(|known| known == scope) {
                scopes.push((*scope).to_owned());
            }
        }
    }
    Ok(scopes)
}

/// The options of a login, besides the settings.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// The scopes to ask for.
    pub scopes: Vec<String>,
    /// The root of the Gmail API, for `users.getProfile` (`https://gmail.googleapis.com/`).
    pub gmail_root: Url,
    /// Whether to open the system's browser at the authorization URL.
    pub open_browser: bool,
    /// How long to wait for the redirect.
    pub timeout: Duration,
    /// Replace a token file that belongs to another OAuth client.
    pub replace_other_client: bool,
}

/// The prompt for the user: open `url` in a browser.
#[derive(Debug, Clone)]
pub struct LoginPrompt {
    /// The authorization URL. It carries no secret: the PKCE verifier stays in the hub.
    pub url: Url,
    /// The loopback address the browser is sent back to.
    pub redirect_uri: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
}

/// A summary of the token file's contents, without tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSummary {
    /// The token file.
    pub path: PathBuf,
    /// The Google account, where stored.
    pub account: Option<String>,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// The access token's expiry, where stored.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether the file has a refresh token, without which the hub cannot renew it.
    pub has_refresh_token: bool,
    /// The OAuth client the token was issued to.
    pub client_id: Option<String>,
}

impl TokenSummary {
    fn of(path: &Path, stored: &StoredToken) -> Self {
        Self {
            path: path.to_path_buf(),
            account: stored.account.clone(),
            scopes: stored.scopes.clone(),
            expires_at: stored.expires_at,
            has_refresh_token: stored.refresh_token.is_some(),
            client_id: stored.client_id.clone(),
        }
    }
}

/// Runs the installed-app flow and writes the token file.
///
/// Calls `show` once with the URL to open, before waiting. Lines received on `pasted` that
/// hold the redirected URL (or its query) complete the flow as the loopback redirect does.
/// The caller reads them (from stdin, say) on a thread of its own, because a read pending
/// on tokio's stdin would keep the runtime from shutting down.
///
/// # Errors
///
/// - [`CredentialError::NotConfigured`] without a usable client-secrets file or override.
/// - [`CredentialError::NotConnected`] when the user denies access, the `state` does not
///   match, the wait times out or Google rejects the code.
/// - [`CredentialError::Unavailable`] when the listener cannot start, Google cannot be
///   reached, or the token file cannot be written.
pub async fn login(
    http: &reqwest::Client,
    endpoint: &TokenEndpoint,
    settings: &LocalFileSettings,
    options: &LoginOptions,
    show: impl FnOnce(&LoginPrompt),
    pasted: Option<mpsc::Receiver<String>>,
) -> Result<TokenSummary, CredentialError> {
    let (client, auth_uri) = login_client(settings)?;
    check_replacement(settings, &client, options)?;
    let verifier = random_token();
    let state = random_token();

    let listener = Listener::start(state.clone()).await?;
    let url = authorization_url(
        &auth_uri,
        &client.client_id,
        &listener.redirect_uri,
        &options.scopes,
        &state,
        &verifier,
    );
    show(&LoginPrompt {
        url: url.clone(),
        redirect_uri: listener.redirect_uri.clone(),
        scopes: options.scopes.clone(),
    });
    if options.open_browser {
        open_browser(&url).await;
    }

    let code = wait_for_code(listener.received, pasted, &state, options.timeout).await;
    let _ = listener.stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(2), listener.task).await;
    let code = code?;

    let grant = endpoint
        .exchange_code(&client, &code, &verifier, &listener.redirect_uri)
        .await?;
    let account = fetch_account(http, &options.gmail_root, &grant.access_token).await;

    write_login(settings, &client, &grant, account).await
}

/// Refuses to replace a token file issued to another OAuth client unless asked to: such a
/// file is usually a real account's, and `--sandbox` or a new client would overwrite it.
fn check_replacement(
    settings: &LocalFileSettings,
    client: &OAuthClient,
    options: &LoginOptions,
) -> Result<(), CredentialError> {
    let Ok(previous) = read_token_file(&settings.token_path) else {
        return Ok(());
    };
    let other_client = previous
        .client_id
        .as_deref()
        .is_some_and(|id| id != client.client_id);
    if other_client && !options.replace_other_client {
        return Err(CredentialError::NotConfigured(format!(
            "the token file {} belongs to another OAuth client, and logging in would replace it; \
             set GOOGLE_TOKEN_PATH to another file, or pass --replace to overwrite it",
            settings.token_path.display()
        )));
    }
    Ok(())
}

/// Returns the client and the authorization endpoint for a login: `GOOGLE_CLIENT_ID` and
/// `GOOGLE_CLIENT_SECRET` when set, else the client-secrets file.
fn login_client(settings: &LocalFileSettings) -> Result<(OAuthClient, Url), CredentialError> {
    let endpoints = &settings.endpoints;
    if let Some((client_id, client_secret)) = settings.client.clone() {
        let client = OAuthClient {
            client_id,
            client_secret,
            token_uri: endpoints.token_uri.clone(),
        };
        return Ok((client, endpoints.auth_uri.clone()));
    }

    let secrets =
        read_client_secrets(&settings.credentials_path).map_err(CredentialError::NotConfigured)?;
    let pick = |from_file: Option<Url>, default: &Url| {
        if endpoints.overridden {
            default.clone()
        } else {
            from_file.unwrap_or_else(|| default.clone())
        }
    };
    let client = OAuthClient {
        client_id: secrets.client_id,
        client_secret: secrets.client_secret,
        token_uri: pick(secrets.token_uri, &endpoints.token_uri),
    };
    Ok((client, pick(secrets.auth_uri, &endpoints.auth_uri)))
}

/// 32 random bytes as base64url: a PKCE verifier (43 characters, within RFC 7636's 43 to
/// 128) or a `state`.
fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Returns the S256 code challenge for `verifier` (RFC 7636 section 4.2).
pub fn code_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn authorization_url(
    auth_uri: &Url,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
    verifier: &str,
) -> Url {
    let mut url = auth_uri.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", state)
        .append_pair("code_challenge", &code_challenge(verifier))
        .append_pair("code_challenge_method", "S256")
        // Offline access and a consent prompt make Google send a refresh token on every
        // login, not only on the first one.
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent");
    url
}

async fn open_browser(url: &Url) {
    let text = url.to_string();
    match tokio::task::spawn_blocking(move || webbrowser::open(&text)).await {
        Ok(Ok(())) => tracing::debug!("opened the browser"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot open a browser; open the printed URL yourself")
        }
        Err(error) => tracing::warn!(%error, "opening a browser failed"),
    }
}

/// The outcome the redirect carried.
type Callback = Result<String, CredentialError>;

/// The loopback listener for the redirect.
struct Listener {
    redirect_uri: String,
    received: mpsc::Receiver<Callback>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    async fn start(state: String) -> Result<Self, CredentialError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .and_then(|listener| Ok((listener.local_addr()?, listener)))
            .map_err(|error| {
                CredentialError::Unavailable(format!(
                    "cannot listen on 127.0.0.1 for Google's redirect ({error})"
                ))
            });
        let (address, listener) = listener?;
        let redirect_uri = format!("http://127.0.0.1:{}/", address.port());

        let (sender, received) = mpsc::channel::<Callback>(4);
        let app = Router::new().route(
            "/",
            get(move |Query(params): Query<HashMap<String, String>>| {
                let sender = sender.clone();
                let state = state.clone();
                async move {
                    let result = callback_result(&params, &state);
                    let page = match &result {
                        Ok(_) => "Authorization received. You can close this tab and return to the terminal.",
                        Err(_) => "Authorization failed. The terminal says why.",
                    };
                    let _ = sender.send(result).await;
                    Html(format!("<!doctype html><title>mcp-google-hub</title><p>{page}</p>"))
                }
            }),
        );

        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(%error, "the login listener stopped with an error");
            }
        });
        Ok(Self {
            redirect_uri,
            received,
            stop,
            task,
        })
    }
}

/// Checks a redirect's query: the `state` must match, and `code` or `error` be present.
fn callback_result(params: &HashMap<String, String>, state: &str) -> Callback {
    if params.get("state").map(String::as_str) != Some(state) {
        return Err(CredentialError::NotConnected(
            "the redirect's state does not match this login, so it was ignored as possibly forged; run `mcp-google-hub auth login` again".to_owned(),
        ));
    }
    if let Some(error) = params.get("error") {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(CredentialError::NotConnected(format!(
            "Google did not authorize the hub ({error}); run `mcp-google-hub auth login` again and allow access"
        )));
    }
    params
        .get("code")
        .filter(|code| !code.is_empty())
        .cloned()
        .ok_or_else(|| {
            CredentialError::NotConnected("the redirect carried no authorization code".to_owned())
        })
}

async fn wait_for_code(
    mut received: mpsc::Receiver<Callback>,
    pasted: Option<mpsc::Receiver<String>>,
    state: &str,
    timeout: Duration,
) -> Result<String, CredentialError> {
    let from_listener = async {
        match received.recv().await {
            Some(result) => result,
            None => std::future::pending().await,
        }
    };
    let from_paste = read_pasted(pasted, state);
    tokio::select! {
        result = from_listener => result,
        result = from_paste => result,
        () = tokio::time::sleep(timeout) => Err(CredentialError::NotConnected(format!(
            "no authorization arrived within {} s; run `mcp-google-hub auth login` again",
            timeout.as_secs()
        ))),
    }
}

/// Reads pasted lines until one holds a redirect URL (or its query string). Never
/// finishes when there is no input or it ends.
async fn read_pasted(pasted: Option<mpsc::Receiver<String>>, state: &str) -> Callback {
    let Some(mut pasted) = pasted else {
        return std::future::pending().await;
    };
    loop {
        let Some(line) = pasted.recv().await else {
            return std::future::pending().await;
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let query = Url::parse(text)
            .ok()
            .and_then(|url| url.query().map(str::to_owned))
            .unwrap_or_else(|| text.trim_start_matches('?').to_owned());
        let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        if params.contains_key("code") || params.contains_key("error") {
            return callback_result(&params, state);
        }
        tracing::warn!(
            "the pasted line is not the redirected URL; paste the whole address from the browser's address bar"
        );
    }
}

/// Asks Gmail's `users.getProfile` for the account's address; `None` when it fails (a
/// login without the Gmail scope, say).
async fn fetch_account(
    http: &reqwest::Client,
    gmail_root: &Url,
    token: &AccessToken,
) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Profile {
        email_address: String,
    }

    let url = gmail_root.join("gmail/v1/users/me/profile").ok()?;
    let response = match http
        .get(url)
        .bearer_auth(token.expose_secret())
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(error = %describe_error(&error), "cannot read the account's address from Gmail");
            return None;
        }
    };
    if !response.status().is_success() {
        tracing::warn!(
            status = response.status().as_u16(),
            "Gmail did not return the account's address"
        );
        return None;
    }
    response
        .json::<Profile>()
        .await
        .ok()
        .map(|profile| profile.email_address)
}

async fn write_login(
    settings: &LocalFileSettings,
    client: &OAuthClient,
    grant: &crate::outbound::google_oauth::TokenGrant,
    account: Option<String>,
) -> Result<TokenSummary, CredentialError> {
    let path = settings.token_path.clone();
    let client = client.clone();
    let grant = grant.clone();
    tokio::task::spawn_blocking(move || {
        let failed = |error: std::io::Error| {
            CredentialError::Unavailable(format!(
                "cannot write the token file {} ({error})",
                path.display()
            ))
        };
        let _lock = lock_token_file(&path).map_err(failed)?;

        let previous = read_token_file(&path).ok();
        let mut stored = StoredToken::for_login(previous.as_ref());
        stored.apply_grant(&grant, &client, Utc::now());
        if grant.refresh_token.is_none() {
            // Google omits it when the user had authorized this client before without a
            // consent prompt; the earlier one stays valid.
            stored.refresh_token = previous.and_then(|previous| previous.refresh_token);
        }
        if let Some(account) = account {
            stored.set_account(account);
        }
        write_atomically(&path, &stored.to_json()).map_err(failed)?;
        Ok(TokenSummary::of(&path, &stored))
    })
    .await
    .map_err(|error| CredentialError::Unavailable(error.to_string()))?
}

/// Reads what the token file holds, without tokens.
///
/// # Errors
///
/// [`ReadError`] when the file is missing or not a token file.
pub fn token_summary(path: &Path) -> Result<TokenSummary, ReadError> {
    read_token_file(path).map(|stored| TokenSummary::of(path, &stored))
}

/// The outcome of `auth logout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutOutcome {
    /// `Ok` when Google revoked the grant, else why not.
    pub revoked: Result<(), String>,
    /// Whether a token file was deleted.
    pub deleted: bool,
}

/// Revokes the token file's grant at Google's revoke endpoint, then deletes the file
/// whether or not revoking worked.
///
/// # Errors
///
/// [`CredentialError::Unavailable`] when the file exists but cannot be deleted.
pub async fn logout(
    http: &reqwest::Client,
    settings: &LocalFileSettings,
) -> Result<LogoutOutcome, CredentialError> {
    let path = settings.token_path.clone();
    let stored = match read_token_file(&path) {
        Ok(stored) => Some(stored),
        Err(ReadError::Missing(_)) => None,
        Err(ReadError::Invalid(message)) => {
            tracing::warn!(%message, "the token file is not readable; deleting it without revoking");
            None
        }
    };

    let revoked = match &stored {
        None => Err("there was no token to revoke".to_owned()),
        Some(stored) => {
            // Revoking the refresh token revokes the whole grant; an access token revokes
            // only itself, which is the best that is left.
            let token = stored
                .refresh_token
                .as_ref()
                .map(|token| token.expose_secret().to_owned())
                .or_else(|| {
                    stored
                        .access_token
                        .as_ref()
                        .map(|token| token.expose_secret().to_owned())
                });
            match token {
                Some(token) => revoke(http, &settings.endpoints.revoke_uri, &token).await,
                None => Err("the file has no token to revoke".to_owned()),
            }
        }
    };

    let deleted = match std::fs::remove_file(&path) {
        Ok(()) => true,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => {
            return Err(CredentialError::Unavailable(format!(
                "cannot delete the token file {} ({error})",
                path.display()
            )));
        }
    };
    let _ = std::fs::remove_file(super::token_file::lock_path(&path));
    Ok(LogoutOutcome { revoked, deleted })
}

async fn revoke(http: &reqwest::Client, revoke_uri: &Url, token: &str) -> Result<(), String> {
    let response = http
        .post(revoke_uri.clone())
        .form(&[("token", token)])
        .send()
        .await
        .map_err(|error| describe_error(&error))?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        // Google answers 400 invalid_token for a token that is already revoked or expired.
        400 => Err("Google reports the token as already invalid".to_owned()),
        status => Err(format!("Google's revoke endpoint answered HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::{CalendarAccess, GmailAccess};

    #[test]
    fn login_keeps_another_clients_token_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("token.json");
        std::fs::write(
            &path,
            r#"{"token": "t", "refresh_token": "r", "client_id": "real-client"}"#,
        )
        .unwrap();
        let settings = LocalFileSettings::new(&path);
        let client = OAuthClient {
            client_id: "sandbox-client".to_owned(),
            client_secret: secrecy::SecretString::from("secret".to_owned()),
            token_uri: Url::parse("http://127.0.0.1:1/token").unwrap(),
        };
        let mut options = LoginOptions {
            scopes: Vec::new(),
            gmail_root: Url::parse("http://127.0.0.1:1/").unwrap(),
            open_browser: false,
            timeout: Duration::from_secs(1),
            replace_other_client: false,
        };

        let error = check_replacement(&settings, &client, &options).unwrap_err();
        assert!(error.to_string().contains("--replace"), "{error}");

        options.replace_other_client = true;
        assert!(check_replacement(&settings, &client, &options).is_ok());
    }

    #[test]
    fn challenge_matches_rfc7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn scopes_follow_services() {
        let services = ["gmail".to_owned(), "Calendar".to_owned()];

        let read = scopes_for_services(&services, &AccessLevels::READ_ONLY).unwrap();
        assert_eq!(
            read,
            [
                "https://www.googleapis.com/auth/gmail.readonly",
                "https://www.googleapis.com/auth/calendar.readonly"
            ]
        );

        let error =
            scopes_for_services(&["drive".to_owned()], &AccessLevels::READ_ONLY).unwrap_err();
        assert!(error.contains("drive"), "{error}");
    }

    #[test]
    fn scopes_follow_access_levels() {
        let write = AccessLevels {
            gmail: GmailAccess::Draft,
            calendar: CalendarAccess::Write,
        };

        let scopes =
            scopes_for_services(&["gmail".to_owned(), "calendar".to_owned()], &write).unwrap();

        assert_eq!(
            scopes,
            [
                "https://www.googleapis.com/auth/gmail.modify",
                "https://www.googleapis.com/auth/gmail.compose",
                "https://www.googleapis.com/auth/calendar.readonly",
                "https://www.googleapis.com/auth/calendar.events"
            ]
        );
        let only_gmail = scopes_for_services(&["gmail".to_owned()], &write).unwrap();
        assert_eq!(only_gmail.len(), 2);
    }

    #[test]
    fn callback_checks_state() {
        let params = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>()
        };
        assert_eq!(
            callback_result(&params(&[("state", "s"), ("code", "c")]), "s").unwrap(),
            "c"
        );
        assert!(callback_result(&params(&[("state", "x"), ("code", "c")]), "s").is_err());
        let denied = callback_result(&params(&[("state", "s"), ("error", "access_denied")]), "s");
        assert!(denied.unwrap_err().to_string().contains("access_denied"));
    }

    #[tokio::test]
    async fn pasted_url_completes_wait() {
        let (_sender, received) = mpsc::channel(1);
        let (paste, pasted) = mpsc::channel(4);
        paste.send("garbage".to_owned()).await.unwrap();
        paste
            .send("http://127.0.0.1:1/?state=s&code=the-code".to_owned())
            .await
            .unwrap();
        let code = wait_for_code(received, Some(pasted), "s", Duration::from_secs(5)).await;
        assert_eq!(code.unwrap(), "the-code");
    }

    #[tokio::test]
    async fn wait_times_out() {
        let (_sender, received) = mpsc::channel(1);
        let error = wait_for_code(received, None, "s", Duration::from_millis(10))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("within"), "{error}");
    }
}
