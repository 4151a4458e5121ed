//! The HTTP plumbing shared by the OMA and Google adapters: one way to build a client, to
//! describe a transport failure without leaking its URL, and to read a body with a size cap.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Response;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Settings for one [`reqwest::Client`].
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The limit for a whole request, from connect to the last body byte.
    pub timeout: Duration,
    /// The limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Accept any server certificate. Only for `OMA_VERIFY_SSL=false`.
    pub accept_invalid_certs: bool,
    /// CA certificates trusted besides the platform's roots, such as a company CA.
    pub root_certificates: Vec<reqwest::Certificate>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            accept_invalid_certs: false,
            root_certificates: Vec::new(),
        }
    }
}

/// A client could not be built, which happens only when the TLS setup fails.
#[derive(Debug, thiserror::Error)]
#[error("failed to set up the HTTP client: {0}")]
pub struct HttpClientError(String);

/// Builds a client with rustls (ring) and the platform's trusted roots.
///
/// Connections are pooled and kept alive, and HTTP/2 is used where the server offers it,
/// so a session of tool calls reuses one connection per host.
///
/// # Errors
///
/// Returns [`HttpClientError`] when reqwest cannot build the TLS configuration.
pub fn build_client(settings: &HttpSettings) -> Result<reqwest::Client, HttpClientError> {
    // reqwest is built without a default crypto provider. Installing ring fails harmlessly
    // when the process (an embedding application, say) already chose one.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let mut builder = reqwest::Client::builder();
    for certificate in &settings.root_certificates {
        builder = builder.add_root_certificate(certificate.clone());
    }
    builder
        .user_agent(concat!(
            env!("CARGO_PKG_NAME"),
            "/",
            env!("CARGO_PKG_VERSION")
        ))
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .tls_danger_accept_invalid_certs(settings.accept_invalid_certs)
        .build()
        .map_err(|error| HttpClientError(describe_error(&error)))
}

/// Describes a reqwest error in one line without its URL, which may carry a query
/// parameter or path the user considers private.
pub fn describe_error(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "the request timed out"
    } else if error.is_connect() {
        "the connection failed"
    } else if error.is_body() || error.is_decode() {
        "reading the response failed"
    } else if error.is_request() {
        "sending the request failed"
    } else {
        "the request failed"
    };

    // The source chain names the cause (refused, DNS, certificate) without the URL.
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}

/// A body was larger than the caller allows, or could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body exceeded the limit.
    #[error("the response body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The transport failed while reading.
    #[error("{0}")]
    Transport(String),
}

/// Reads a response body, failing as soon as it passes `limit` bytes instead of buffering
/// whatever a misbehaving server sends.
///
/// # Errors
///
/// [`BodyError::TooLarge`] past the limit, [`BodyError::Transport`] when reading fails.
pub async fn read_body_limited(mut response: Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(BodyError::TooLarge { limit });
    }

    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| BodyError::Transport(describe_error(&error)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads `Retry-After` as delay seconds or as an HTTP date, the two forms RFC 9110 allows.
/// A date in the past gives zero; an unreadable value gives `None`.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();

    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }

    // IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) is a subset of RFC 2822.
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (date.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}
