//! `hub_status`: what the hub is connected to, without ever showing a token.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use schemars::JsonSchema;
use serde::Serialize;

use super::gmail::NoArgs;
use crate::domain::access::{AccessLevels, RequiredAccess, missing_scopes};
use crate::domain::tools::{Render, Tool, ToolAnnotations, ToolContext, ToolError};

/// How long `hub_status` waits for the credential source, so a hung backend still gets a
/// status answer.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct HubStatus;

/// The hub's connection state.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct HubStatusResult {
    /// The hub's version.
    version: String,
    /// oma_backend or local_file.
    auth_mode: String,
    /// The configuration problem to fix, if any.
    configuration_error: Option<String>,
    /// The credential source (URL or file path).
    credential_source: Option<String>,
    /// Whether the credential source answered.
    source_reachable: bool,
    /// The credential source's error, if it failed.
    source_error: Option<String>,
    /// Whether a Google account is connected.
    google_connected: bool,
    account_email: Option<String>,
    /// Granted OAuth scopes.
    scopes: Vec<String>,
    /// Expiry of the current Google access token, RFC 3339 UTC.
    token_expires_at: Option<String>,
    /// Seconds until that expiry.
    token_expires_in_seconds: Option<i64>,
    /// Expiry of the hub's own credential for the source (the OMA JWT), RFC 3339 UTC.
    oma_token_expires_at: Option<String>,
    /// The Gmail access level: read, organize, draft or send.
    gmail_access: String,
    /// The Calendar access level: read or write.
    calendar_access: String,
    /// Whether HUB_ALLOWED_RECIPIENTS limits who mail and invitations may go to.
    recipients_restricted: bool,
    /// Problems coming up that the user should act on, such as an OMA JWT about to expire.
    warnings: Vec<String>,
}

#[async_trait]
impl Tool for HubStatus {
    type Args = NoArgs;
    type Output = HubStatusResult;

    const NAME: &'static str = "hub_status";
    const TITLE: &'static str = "Hub status";
    const DESCRIPTION: &'static str = "Show how the hub is connected: auth mode, credential source and whether it answers, the Google account, granted scopes and token expiry. Use it to diagnose failing tools. Never shows tokens.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
    const ACCESS: RequiredAccess = RequiredAccess::None;

    async fn run(
        &self,
        context: &ToolContext,
        _args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let provider = context.credentials.provider();
        let mut result = HubStatusResult {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            auth_mode: provider.mode().to_string(),
            configuration_error: context.settings.configuration_error.clone(),
            credential_source: None,
            source_reachable: false,
            source_error: None,
            google_connected: false,
            account_email: None,
            scopes: Vec::new(),
            token_expires_at: None,
            token_expires_in_seconds: None,
            oma_token_expires_at: None,
            gmail_access: context.settings.access.gmail.to_string(),
            calendar_access: context.settings.access.calendar.to_string(),
            recipients_restricted: context.settings.recipients.is_restricted(),
            warnings: Vec::new(),
        };
        if result.configuration_error.is_some() {
            return Ok(result);
        }

        if let Some(expiry) = provider.source_token_expiry() {
            result.oma_token_expires_at = Some(expiry.to_rfc3339());
            result
                .warnings
                .extend(source_token_warning(expiry, Utc::now()));
        }

        match tokio::time::timeout(STATUS_TIMEOUT, provider.status()).await {
            Ok(Ok(status)) => {
                result.source_reachable = true;
                result.google_connected = status.connected;
                result.credential_source = Some(status.source);
                result.account_email = status.account_email;
                result.scopes = status.scopes;
                result.token_expires_at = status.expires_at.map(|at| at.to_rfc3339());
                result.token_expires_in_seconds =
                    status.expires_at.map(|at| (at - Utc::now()).num_seconds());
            }
            Ok(Err(error)) => result.source_error = Some(error.to_string()),
            Err(_) => {
                result.source_error = Some(format!(
                    "the credential source did not answer within {} s",
                    STATUS_TIMEOUT.as_secs()
                ))
            }
        }

        // The cache has the token actually in use, which may be newer than the status.
        if let Some(credentials) = context.credentials.peek() {
            if let Some(expires_at) = credentials.expires_at {
                result.token_expires_at = Some(expires_at.to_rfc3339());
                result.token_expires_in_seconds = Some((expires_at - Utc::now()).num_seconds());
            }
            if result.account_email.is_none() {
                result.account_email = credentials.account_email.clone();
            }
            if result.scopes.is_empty() {
                result.scopes = credentials.scopes.clone();
            }
        }
        if let Some(error) = context.credentials.last_error()
            && result.source_error.is_none()
        {
            result.source_error = Some(error.to_string());
        }
        if !result.scopes.is_empty() {
            result
                .warnings
                .extend(scope_warnings(&context.settings.access, &result.scopes));
        }
        Ok(result)
    }
}

/// Returns a warning for each service whose access level needs scopes the Google token was
/// not granted, because the tools of that level would then fail with permission errors.
fn scope_warnings(access: &AccessLevels, granted: &[String]) -> Vec<String> {
    let levels = [
        ("gmail", "Gmail", access.gmail.as_str()),
        ("calendar", "Calendar", access.calendar.as_str()),
    ];
    let mut warnings = Vec::new();
    for (service, name, level) in levels {
        let needed = access.scopes_for(service).unwrap_or_default();
        let missing = missing_scopes(needed, granted);
        if !missing.is_empty() {
            warnings.push(format!(
                "{name} access level `{level}` needs scopes the Google token was not granted: {}. Authorize Google again with that level (auth login in local_file mode, with {service} in HUB_SERVICES; the OMA web UI otherwise).",
                missing.join(" ")
            ));
        }
    }
    warnings
}

/// How long before the OMA JWT expires `hub_status` warns about it.
const SOURCE_TOKEN_WARNING: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Returns a warning when the hub's own credential expires within
/// [`SOURCE_TOKEN_WARNING`] of `now` or has expired.
fn source_token_warning(
    expiry: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
) -> Option<String> {
    let at = expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let renew = "Log in to the OMA web UI and set OMA_ACCESS_TOKEN to the new token, or set \
                 OMA_USERNAME and OMA_PASSWORD so the hub logs in again by itself.";
    if expiry <= now {
        Some(format!("The OMA access token expired at {at}. {renew}"))
    } else if expiry - now <= SOURCE_TOKEN_WARNING {
        let minutes = (expiry - now).num_minutes();
        Some(format!(
            "The OMA access token expires at {at}, in {minutes} min. {renew}"
        ))
    } else {
        None
    }
}

impl Render for HubStatusResult {
    fn render_text(&self) -> String {
        let mut out = format!(
            "mcp-google-hub {} in {} mode\n",
            self.version, self.auth_mode
        );
        if let Some(problem) = &self.configuration_error {
            out.push_str(&format!("Configuration error: {problem}\n"));
            return out.trim_end().to_owned();
        }

        let mut line = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                out.push_str(&format!("{name}: {value}\n"));
            }
        };
        line("Credential source", self.credential_source.clone());
        line(
            "Source reachable",
            Some(if self.source_reachable { "yes" } else { "no" }.to_owned()),
        );
        line("Source error", self.source_error.clone());
        line(
            "Google connected",
            Some(if self.google_connected { "yes" } else { "no" }.to_owned()),
        );
        line("Account", self.account_email.clone());
        line(
            "Scopes",
            (!self.scopes.is_empty()).then(|| self.scopes.join(" ")),
        );
        let expiry = self
            .token_expires_at
            .clone()
            .map(|at| match self.token_expires_in_seconds {
                Some(seconds) => format!("{at} (in {seconds} s)"),
                None => at,
            });
        line("Token expires", expiry);
        line("OMA token expires", self.oma_token_expires_at.clone());
        line(
            "Access",
            Some(format!(
                "Gmail {}, Calendar {}{}",
                self.gmail_access,
                self.calendar_access,
                if self.recipients_restricted {
                    ", recipients limited by HUB_ALLOWED_RECIPIENTS"
                } else {
                    ""
                }
            )),
        );
        for warning in &self.warnings {
            out.push_str(&format!("Warning: {warning}\n"));
        }
        out.trim_end().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn source_token_warning_windows() {
        let now = Utc::now();
        assert_eq!(source_token_warning(now + TimeDelta::hours(1), now), None);

        let soon = source_token_warning(now + TimeDelta::minutes(3), now).expect("a warning");
        assert!(
            soon.contains("in 2 min") || soon.contains("in 3 min"),
            "{soon}"
        );
        assert!(soon.contains("OMA_ACCESS_TOKEN"), "{soon}");

        let expired = source_token_warning(now - TimeDelta::minutes(1), now).expect("a warning");
        assert!(expired.contains("expired"), "{expired}");
    }

    #[test]
    fn scope_warnings_name_missing_scopes() {
        let granted = [
            "https://www.googleapis.com/auth/gmail.readonly".to_owned(),
            "https://www.googleapis.com/auth/calendar.readonly".to_owned(),
        ];

        assert!(scope_warnings(&AccessLevels::READ_ONLY, &granted).is_empty());

        let drafting = AccessLevels {
            gmail: crate::domain::access::GmailAccess::Draft,
            ..AccessLevels::READ_ONLY
        };
        let warnings = scope_warnings(&drafting, &granted);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("`draft`"), "{}", warnings[0]);
        assert!(warnings[0].contains("gmail.compose"), "{}", warnings[0]);
    }
}
