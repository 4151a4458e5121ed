//! The composition root as a library: builds the adapters a [`Config`] asks for and wires
//! them into a [`ToolDispatcher`]. The binary and embedding applications both start here.
//!
//! Cargo features decide which credential adapters exist. A mode whose adapter is not
//! compiled in is a configuration error at run time, never a build failure, so every
//! feature combination builds.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::Config;
use crate::domain::access::AccessLevels;
use crate::domain::errors::{CredentialError, GoogleApiError};
use crate::domain::models::calendar::{
    CalendarList, Event, EventListQuery, EventWrite, Events, FreeBusyRequest, FreeBusyResponse,
    SendUpdates,
};
use crate::domain::models::gmail::{
    Draft, DraftListQuery, Label, LabelChanges, ListDraftsResponse, ListMessagesResponse, Message,
    MessageFormat, MessageListQuery, MessagePartBody, NewLabel, OutgoingMessage, Profile, Thread,
};
use crate::domain::models::{
    AccessToken, AttachmentId, AuthMode, CalendarId, Credentials, DraftId, EventId, MessageId,
    ProviderStatus, ThreadId,
};
use crate::domain::ports::{CalendarApi, CredentialProvider, GmailApi};
use crate::domain::service::{CredentialCache, ToolDispatcher};
use crate::domain::tools::{ToolContext, ToolSettings};
use crate::outbound::fallback::RefreshFallback;
use crate::outbound::google::{CalendarClient, GmailClient, GoogleEndpoints};
use crate::outbound::google_oauth::{OAuthClient, OAuthEndpoints, TokenEndpoint};
use crate::outbound::http::{HttpSettings, build_client};

/// Builds a dispatcher with the adapters the configuration selects.
///
/// # Errors
///
/// Returns a message saying what to change when the selected mode is not compiled into
/// this build or its adapter cannot be set up.
pub fn build_dispatcher(config: &Config) -> Result<ToolDispatcher, String> {
    let http = build_client(&HttpSettings::default()).map_err(|error| error.to_string())?;
    let provider = credential_provider(config, &http)?;

    let endpoints = config
        .google_api_base_url
        .clone()
        .map_or_else(GoogleEndpoints::google, GoogleEndpoints::with_root);
    let gmail: Arc<dyn GmailApi> = Arc::new(GmailClient::new(http.clone(), &endpoints));
    let calendar: Arc<dyn CalendarApi> = Arc::new(CalendarClient::new(http, &endpoints));

    let settings = ToolSettings {
        attachment_dir: config.attachment_dir.clone(),
        access: config.access,
        recipients: config.recipients.clone(),
        upload_dir: config.upload_dir.clone(),
        ..ToolSettings::default()
    };
    let cache = Arc::new(CredentialCache::new(provider));
    Ok(ToolDispatcher::new(ToolContext::new(
        cache, gmail, calendar, settings,
    )))
}

/// Builds a dispatcher that lists the tools `access` allows but answers each Google call with `problem`.
///
/// An MCP client usually hides the server's stderr, so a server that exits on bad
/// configuration looks merely broken. This one completes the handshake and puts the
/// configuration error in front of the model and the user.
pub fn unconfigured_dispatcher(
    mode: AuthMode,
    problem: String,
    access: AccessLevels,
) -> ToolDispatcher {
    let provider = Arc::new(UnconfiguredProvider {
        mode,
        problem: problem.clone(),
    });
    let google = Arc::new(NoGoogle);

    let settings = ToolSettings {
        configuration_error: Some(problem),
        access,
        ..ToolSettings::default()
    };
    ToolDispatcher::new(ToolContext::new(
        Arc::new(CredentialCache::new(provider)),
        google.clone(),
        google,
        settings,
    ))
}

fn credential_provider(
    config: &Config,
    http: &reqwest::Client,
) -> Result<Arc<dyn CredentialProvider>, String> {
    match config.auth_mode {
        AuthMode::OmaBackend => oma_provider(config, http),
        AuthMode::LocalFile => local_file_provider(config, http),
    }
}

/// Returns the OAuth endpoints: Google's, or those under `GOOGLE_OAUTH_BASE_URL`.
pub fn oauth_endpoints(config: &Config) -> OAuthEndpoints {
    config
        .oauth
        .base_url
        .as_ref()
        .map_or_else(OAuthEndpoints::google, OAuthEndpoints::under)
}

/// Wraps the OMA provider in [`RefreshFallback`] when the hub has its own OAuth client
/// (`GOOGLE_CLIENT_ID` and `GOOGLE_CLIENT_SECRET`), so that an unreachable OMA Backend does
/// not stop the tools while the last Google token can still be refreshed.
#[cfg_attr(not(feature = "oma-backend"), allow(dead_code))]
fn with_fallback(
    primary: Arc<dyn CredentialProvider>,
    config: &Config,
    http: &reqwest::Client,
) -> Arc<dyn CredentialProvider> {
    let Some((client_id, client_secret)) = config.oauth.client() else {
        return primary;
    };
    let client = OAuthClient {
        client_id,
        client_secret,
        token_uri: oauth_endpoints(config).token_uri,
    };
    Arc::new(RefreshFallback::new(
        primary,
        TokenEndpoint::new(http.clone()),
        client,
    ))
}

#[cfg(feature = "oma-backend")]
fn oma_provider(
    config: &Config,
    http: &reqwest::Client,
) -> Result<Arc<dyn CredentialProvider>, String> {
    use crate::outbound::circuit_breaker::{BreakerSettings, CircuitBreaker};
    use crate::outbound::oma::{OmaClient, OmaLogin, OmaOptions, OmaSettings};
    use secrecy::SecretString;

    let login = config.oma.login.as_ref().map(|login| OmaLogin {
        username: login.username.clone(),
        password: login.password.clone(),
    });
    // With a login, the hub can start without a JWT and log in on the first request.
    let access_token = config
        .oma
        .access_token
        .clone()
        .or_else(|| login.as_ref().map(|_| SecretString::from(String::new())));
    let (Some(base_url), Some(access_token)) = (config.oma.base_url.clone(), access_token) else {
        return Err(
            "OMA_BACKEND_URL and OMA_ACCESS_TOKEN (or OMA_USERNAME and OMA_PASSWORD) must be set in oma_backend mode"
                .to_owned(),
        );
    };
    let settings = OmaSettings {
        base_url,
        api_prefix: config.oma.api_prefix.clone(),
        access_token,
        verify_tls: config.oma.verify_tls,
        timeout: config.oma.timeout,
    };
    let options = OmaOptions {
        root_certificates: config.oma.ca_certificates.clone(),
        login,
    };
    let client = OmaClient::with_options(settings, options).map_err(|error| error.to_string())?;
    // The breaker sits next to the OMA client, so the fallback (outside it) takes over at
    // once while the backend is marked down.
    let guarded = CircuitBreaker::new(Arc::new(client), "OMA Backend", BreakerSettings::default());
    Ok(with_fallback(Arc::new(guarded), config, http))
}

#[cfg(not(feature = "oma-backend"))]
fn oma_provider(
    _config: &Config,
    _http: &reqwest::Client,
) -> Result<Arc<dyn CredentialProvider>, String> {
    Err(
        "AUTH_MODE=oma_backend needs the oma-backend feature, which this build lacks; \
         rebuild with --features oma-backend or set AUTH_MODE=local_file"
            .to_owned(),
    )
}

/// Returns the `local_file` settings the configuration describes.
#[cfg(feature = "local-file")]
pub fn local_file_settings(config: &Config) -> crate::outbound::local_file::LocalFileSettings {
    crate::outbound::local_file::LocalFileSettings {
        token_path: config.local_file.token_path.clone(),
        credentials_path: config.local_file.credentials_path.clone(),
        client: config.oauth.client(),
        endpoints: oauth_endpoints(config),
    }
}

#[cfg(feature = "local-file")]
fn local_file_provider(
    config: &Config,
    http: &reqwest::Client,
) -> Result<Arc<dyn CredentialProvider>, String> {
    use crate::outbound::local_file::TokenFileProvider;

    Ok(Arc::new(TokenFileProvider::new(
        local_file_settings(config),
        TokenEndpoint::new(http.clone()),
    )))
}

#[cfg(not(feature = "local-file"))]
fn local_file_provider(
    _config: &Config,
    _http: &reqwest::Client,
) -> Result<Arc<dyn CredentialProvider>, String> {
    Err(
        "AUTH_MODE=local_file needs the local-file feature, which this build lacks; \
         rebuild with --features local-file or set AUTH_MODE=oma_backend"
            .to_owned(),
    )
}

/// Stands in for Google in an unconfigured hub. The tools stop at the configuration error
/// before they reach a port, so these methods only guard against a future tool that does not.
#[derive(Debug)]
struct NoGoogle;

impl NoGoogle {
    fn error() -> GoogleApiError {
        GoogleApiError::Unavailable {
            message: "the hub is not configured".to_owned(),
        }
    }
}

#[async_trait]
impl GmailApi for NoGoogle {
    async fn list_messages(
        &self,
        _: &AccessToken,
        _: &MessageListQuery,
    ) -> Result<ListMessagesResponse, GoogleApiError> {
        Err(Self::error())
    }

    async fn get_message(
        &self,
        _: &AccessToken,
        _: &MessageId,
        _: &MessageFormat,
    ) -> Result<Message, GoogleApiError> {
        Err(Self::error())
    }

    async fn get_thread(
        &self,
        _: &AccessToken,
        _: &ThreadId,
        _: &MessageFormat,
    ) -> Result<Thread, GoogleApiError> {
        Err(Self::error())
    }

    async fn list_labels(&self, _: &AccessToken) -> Result<Vec<Label>, GoogleApiError> {
        Err(Self::error())
    }

    async fn get_attachment(
        &self,
        _: &AccessToken,
        _: &MessageId,
        _: &AttachmentId,
    ) -> Result<MessagePartBody, GoogleApiError> {
        Err(Self::error())
    }

    async fn get_profile(&self, _: &AccessToken) -> Result<Profile, GoogleApiError> {
        Err(Self::error())
    }

    async fn send_message(
        &self,
        _: &AccessToken,
        _: &OutgoingMessage,
    ) -> Result<Message, GoogleApiError> {
        Err(Self::error())
    }

    async fn create_draft(
        &self,
        _: &AccessToken,
        _: &OutgoingMessage,
    ) -> Result<Draft, GoogleApiError> {
        Err(Self::error())
    }

    async fn update_draft(
        &self,
        _: &AccessToken,
        _: &DraftId,
        _: &OutgoingMessage,
    ) -> Result<Draft, GoogleApiError> {
        Err(Self::error())
    }

    async fn list_drafts(
        &self,
        _: &AccessToken,
        _: &DraftListQuery,
    ) -> Result<ListDraftsResponse, GoogleApiError> {
        Err(Self::error())
    }

    async fn get_draft(
        &self,
        _: &AccessToken,
        _: &DraftId,
        _: &MessageFormat,
    ) -> Result<Draft, GoogleApiError> {
        Err(Self::error())
    }

    async fn send_draft(&self, _: &AccessToken, _: &DraftId) -> Result<Message, GoogleApiError> {
        Err(Self::error())
    }

    async fn delete_draft(&self, _: &AccessToken, _: &DraftId) -> Result<(), GoogleApiError> {
        Err(Self::error())
    }

    async fn modify_message(
        &self,
        _: &AccessToken,
        _: &MessageId,
        _: &LabelChanges,
    ) -> Result<Message, GoogleApiError> {
        Err(Self::error())
    }

    async fn batch_modify_messages(
        &self,
        _: &AccessToken,
        _: &[MessageId],
        _: &LabelChanges,
    ) -> Result<(), GoogleApiError> {
        Err(Self::error())
    }

    async fn trash_message(
        &self,
        _: &AccessToken,
        _: &MessageId,
    ) -> Result<Message, GoogleApiError> {
        Err(Self::error())
    }

    async fn untrash_message(
        &self,
        _: &AccessToken,
        _: &MessageId,
    ) -> Result<Message, GoogleApiError> {
        Err(Self::error())
    }

    async fn create_label(&self, _: &AccessToken, _: &NewLabel) -> Result<Label, GoogleApiError> {
        Err(Self::error())
    }
}

#[async_trait]
impl CalendarApi for NoGoogle {
    async fn list_calendars(
        &self,
        _: &AccessToken,
        _: Option<String>,
    ) -> Result<CalendarList, GoogleApiError> {
        Err(Self::error())
    }

    async fn list_events(
        &self,
        _: &AccessToken,
        _: &EventListQuery,
    ) -> Result<Events, GoogleApiError> {
        Err(Self::error())
    }

    async fn get_event(
        &self,
        _: &AccessToken,
        _: &CalendarId,
        _: &EventId,
    ) -> Result<Event, GoogleApiError> {
        Err(Self::error())
    }

    async fn insert_event(
        &self,
        _: &AccessToken,
        _: &CalendarId,
        _: &EventWrite,
        _: SendUpdates,
    ) -> Result<Event, GoogleApiError> {
        Err(Self::error())
    }

    async fn patch_event(
        &self,
        _: &AccessToken,
        _: &CalendarId,
        _: &EventId,
        _: &EventWrite,
        _: SendUpdates,
    ) -> Result<Event, GoogleApiError> {
        Err(Self::error())
    }

    async fn delete_event(
        &self,
        _: &AccessToken,
        _: &CalendarId,
        _: &EventId,
        _: SendUpdates,
    ) -> Result<(), GoogleApiError> {
        Err(Self::error())
    }

    async fn query_freebusy(
        &self,
        _: &AccessToken,
        _: &FreeBusyRequest,
    ) -> Result<FreeBusyResponse, GoogleApiError> {
        Err(Self::error())
    }
}

/// Stands in for a credential source that could not be configured.
#[derive(Debug)]
struct UnconfiguredProvider {
    mode: AuthMode,
    problem: String,
}

#[async_trait]
impl CredentialProvider for UnconfiguredProvider {
    fn mode(&self) -> AuthMode {
        self.mode
    }

    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
        Err(CredentialError::NotConfigured(self.problem.clone()))
    }

    async fn status(&self) -> Result<ProviderStatus, CredentialError> {
        Err(CredentialError::NotConfigured(self.problem.clone()))
    }
}

/// Points the configuration at a running sandbox: the OMA Backend, Google's APIs and
/// Google's OAuth endpoints (`GOOGLE_OAUTH_BASE_URL`, with the sandbox's OAuth client as
/// `GOOGLE_CLIENT_ID` and `GOOGLE_CLIENT_SECRET`) all become the sandbox's loopback URL,
/// whatever the environment says.
///
/// `AUTH_MODE=local_file` is kept, so that `auth login` and the token refresh run against
/// the sandbox; the token file is then still `GOOGLE_TOKEN_PATH`. Any other mode becomes
/// `oma_backend`.
#[cfg(feature = "sandbox")]
pub fn point_at_sandbox(
    sources: &mut crate::config::ConfigSources,
    sandbox: &crate::sandbox::Sandbox,
) {
    sources.mark_sandbox();
    let url = sandbox.base_url().to_string();
    let local_file = sources
        .get("AUTH_MODE")
        .and_then(|mode| mode.parse::<AuthMode>().ok())
        == Some(AuthMode::LocalFile);
    if !local_file {
        sources.set_override("AUTH_MODE", AuthMode::OmaBackend.as_str());
    }
    sources.set_override("GOOGLE_OAUTH_BASE_URL", url.clone());
    sources.set_override("GOOGLE_CLIENT_ID", crate::sandbox::OAUTH_CLIENT_ID);
    sources.set_override("GOOGLE_CLIENT_SECRET", crate::sandbox::OAUTH_CLIENT_SECRET);
    sources.set_override("OMA_BACKEND_URL", url.clone());
    sources.set_override("OMA_API_PREFIX", crate::config::DEFAULT_OMA_API_PREFIX);
    sources.set_override("OMA_ACCESS_TOKEN", sandbox.oma_access_token());
    sources.set_override("OMA_VERIFY_SSL", "true");
    sources.set_override("GOOGLE_API_BASE_URL", url);
}
