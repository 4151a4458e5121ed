//! The embedded sandbox (feature `sandbox`): a loopback HTTP server that speaks the OMA
//! Backend API and the Gmail v1 / Calendar v3 subset the hub uses, over a mailbox loaded
//! from `.eml` files and a calendar loaded from `.ics` files.
//!
//! It lets the hub run end to end with no Google account: the real adapters are pointed at
//! [`Sandbox::base_url`] and authenticate with [`Sandbox::oma_access_token`]. Responses
//! follow the shapes and errors of Google's APIs. The sandbox reads its input files once at
//! start and never writes to disk.

mod builtin_mail;
pub(crate) mod calendar;
mod google_error;
pub(crate) mod mailbox;
mod oauth;
mod oma;
mod query;
mod server;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::Duration;

use axum::serve::ListenerExt as _;
use chrono::{TimeDelta, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use calendar::CalendarStore;
use mailbox::Mailbox;
use oma::TokenIssuer;
use server::{AppState, Counters};

/// The OAuth client ID the sandbox's authorization and token endpoints accept. Not a
/// secret: every sandbox accepts it.
pub const OAUTH_CLIENT_ID: &str = "mcp-google-hub-sandbox.apps.googleusercontent.com";

/// The client secret that goes with [`OAUTH_CLIENT_ID`]. Public like the ID, because it
/// only opens the sandbox.
pub const OAUTH_CLIENT_SECRET: &str = "sandbox-client-secret";

/// The user the sandbox serves when [`SandboxOptions::user_email`] is not set.
pub const DEFAULT_USER_EMAIL: &str = "sandbox.user@example.com";

/// The data and user the sandbox serves.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// A directory searched recursively for `.eml` files; the built-in mailbox when `None`.
    pub mail_dir: Option<PathBuf>,
    /// A directory searched recursively for `.ics` files; the built-in calendar when `None`.
    pub calendar_dir: Option<PathBuf>,
    /// The Google account the sandbox pretends to be; [`DEFAULT_USER_EMAIL`] when `None`.
    pub user_email: Option<String>,
    /// The lifetime of the Google access tokens it issues; one hour, as Google's, when
    /// `None`. Tests set a few seconds to watch tokens expire and the hub refresh them.
    pub token_lifetime: Option<Duration>,
}

/// An error that keeps the sandbox from starting.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The mail directory does not exist or is not a directory.
    #[error(
        "mail directory {} does not exist or is not a directory; pass a directory of .eml files, or none for the built-in mailbox",
        path.display()
    )]
    MailDirNotFound {
        /// The directory as given.
        path: PathBuf,
    },
    /// The mail directory exists but cannot be listed.
    #[error("mail directory {} cannot be read ({source}); check its permissions", path.display())]
    MailDirUnreadable {
        /// The directory as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The calendar directory does not exist or is not a directory.
    #[error(
        "calendar directory {} does not exist or is not a directory; pass a directory of .ics files, or none for the built-in calendar",
        path.display()
    )]
    CalendarDirNotFound {
        /// The directory as given.
        path: PathBuf,
    },
    /// The calendar directory exists but cannot be listed.
    #[error("calendar directory {} cannot be read ({source}); check its permissions", path.display())]
    CalendarDirUnreadable {
        /// The directory as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The user address is not a plain `local@domain` address.
    #[error(
        "sandbox user email {value:?} is invalid; use a plain address such as {DEFAULT_USER_EMAIL}"
    )]
    InvalidUserEmail {
        /// The address as given.
        value: String,
    },
    /// The loopback listener could not be bound.
    #[error(
        "the sandbox could not listen on 127.0.0.1 ({source}); check that loopback networking is available"
    )]
    Bind {
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A running sandbox server. Dropping it stops the server, as [`Sandbox::shutdown`] does
/// without waiting.
pub struct Sandbox {
    base_url: url::Url,
    user_email: String,
    oma_access_token: String,
    message_count: usize,
    event_count: usize,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url.as_str())
            .field("user_email", &self.user_email)
            .field("message_count", &self.message_count)
            .field("event_count", &self.event_count)
            .field("request_count", &self.request_count())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Loads the mailbox and calendar, binds `127.0.0.1:0` and spawns the server on the
    /// current tokio runtime.
    ///
    /// Loading reads the files synchronously on the calling task; unreadable or unparsable
    /// files are skipped with a warning naming them.
    ///
    /// # Errors
    ///
    /// - [`SandboxError::MailDirNotFound`] / [`SandboxError::CalendarDirNotFound`] when a
    ///   given directory does not exist, and the `…Unreadable` variants when it cannot be
    ///   listed.
    /// - [`SandboxError::InvalidUserEmail`] for an address with whitespace, control
    ///   characters or no `@`.
    /// - [`SandboxError::Bind`] when the loopback listener cannot be bound.
    pub async fn start(options: SandboxOptions) -> Result<Self, SandboxError> {
        let user_email = options
            .user_email
            .unwrap_or_else(|| DEFAULT_USER_EMAIL.to_owned());
        check_user_email(&user_email)?;

        let mailbox = match &options.mail_dir {
            Some(dir) => {
                check_dir(dir).map_err(|error| match error {
                    DirError::NotFound => SandboxError::MailDirNotFound { path: dir.clone() },
                    DirError::Unreadable(source) => SandboxError::MailDirUnreadable {
                        path: dir.clone(),
                        source,
                    },
                })?;
                Mailbox::load_dir(dir, &user_email).map_err(|source| {
                    SandboxError::MailDirUnreadable {
                        path: dir.clone(),
                        source,
                    }
                })?
            }
            None => Mailbox::builtin(&user_email),
        };
        let calendar = match &options.calendar_dir {
            Some(dir) => {
                check_dir(dir).map_err(|error| match error {
                    DirError::NotFound => SandboxError::CalendarDirNotFound { path: dir.clone() },
                    DirError::Unreadable(source) => SandboxError::CalendarDirUnreadable {
                        path: dir.clone(),
                        source,
                    },
                })?;
                CalendarStore::load_dir(dir, &user_email)
            }
            None => CalendarStore::builtin(&user_email, Utc::now()),
        };

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|source| SandboxError::Bind { source })?;
        let port = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { source })?
            .port();
        let base_url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).map_err(|error| {
            SandboxError::Bind {
                source: std::io::Error::other(error),
            }
        })?;

        let counters = Arc::new(Counters::default());
        let lifetime = options
            .token_lifetime
            .and_then(|lifetime| TimeDelta::from_std(lifetime).ok())
            .filter(|lifetime| *lifetime > TimeDelta::zero())
            .unwrap_or_else(|| TimeDelta::seconds(oma::GOOGLE_TOKEN_LIFETIME_SECS));
        let tokens = TokenIssuer::new(&user_email, Utc::now(), lifetime);
        let oma_access_token = tokens.oma_token().to_owned();
        let message_count = mailbox.len();
        let event_count = calendar.len();
        let state = Arc::new(AppState {
            user_email: user_email.clone(),
            tokens,
            mailbox: std::sync::RwLock::new(mailbox),
            calendar: std::sync::RwLock::new(calendar),
            counters: Arc::clone(&counters),
        });

        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(state);
        let connection_counters = Arc::clone(&counters);
        let listener = listener.tap_io(move |_| connection_counters.count_connection());
        let task = tokio::spawn(async move {
            let shutdown = async {
                // A dropped sender stops the server as a sent signal does.
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "the sandbox server stopped with an error");
            }
        });
        tracing::info!(%base_url, message_count, event_count, "sandbox started");

        Ok(Self {
            base_url,
            user_email,
            oma_access_token,
            message_count,
            event_count,
            counters,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Returns the root URL of both the OMA and the Google APIs, `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> url::Url {
        self.base_url.clone()
    }

    /// Returns the OMA JWT the sandbox accepts: random per start, shaped like a JWT with an `exp`
    /// claim. It is a secret for the life of the sandbox, so do not log it.
    pub fn oma_access_token(&self) -> &str {
        &self.oma_access_token
    }

    /// Returns the Google account the sandbox serves.
    pub fn user_email(&self) -> &str {
        &self.user_email
    }

    /// Returns the number of messages loaded.
    pub fn message_count(&self) -> usize {
        self.message_count
    }

    /// Returns the number of calendar events loaded (a recurring series counts once).
    pub fn event_count(&self) -> usize {
        self.event_count
    }

    /// Returns the number of HTTP requests served so far, on every route.
    pub fn request_count(&self) -> u64 {
        self.counters.requests()
    }

    /// Returns the number of requests to the OMA credentials endpoint so far.
    pub fn oma_request_count(&self) -> u64 {
        self.counters.oma_requests()
    }

    /// Returns the number of requests to the OAuth token endpoint (code exchanges and
    /// refreshes) so far.
    pub fn token_request_count(&self) -> u64 {
        self.counters.token_requests()
    }

    /// Returns the number of TCP connections accepted so far. A client that keeps its
    /// connection alive opens one for a whole session.
    pub fn connection_count(&self) -> u64 {
        self.counters.connections()
    }

    /// Stops accepting connections and waits until open requests complete.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(%error, "the sandbox server task failed");
        }
        tracing::info!("sandbox stopped");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

enum DirError {
    NotFound,
    Unreadable(std::io::Error),
}

fn check_dir(dir: &Path) -> Result<(), DirError> {
    if !dir.is_dir() {
        return Err(DirError::NotFound);
    }
    std::fs::read_dir(dir)
        .map(drop)
        .map_err(DirError::Unreadable)
}

/// Rejects addresses that could not appear in a header line as is, because the built-in
/// mail is written for the configured address.
fn check_user_email(value: &str) -> Result<(), SandboxError> {
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && value
        .chars()
        .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | ',' | '"'));
    if valid {
        Ok(())
    } else {
        Err(SandboxError::InvalidUserEmail {
            value: value.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_email_is_checked() {
        assert!(check_user_email("a@example.com").is_ok());
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@b@c",
            "a@example.com\r\nX: y",
        ] {
            assert!(check_user_email(bad).is_err(), "{bad:?}");
        }
    }
}
