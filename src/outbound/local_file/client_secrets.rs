//! Google's OAuth client-secrets file (`GOOGLE_CREDENTIALS_PATH`), as the Google Cloud
//! console downloads it: one `installed` or `web` section with `client_id`,
//! `client_secret`, `auth_uri`, `token_uri` and `redirect_uris`.

use std::path::Path;

use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;

use super::token_file::MAX_TOKEN_FILE_BYTES;

/// An OAuth client as the client-secrets file describes it.
#[derive(Debug, Clone)]
pub struct ClientSecrets {
    /// `installed` (a desktop app) or `web`.
    pub kind: &'static str,
    /// The client ID.
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
    /// The authorization endpoint, where the file names a valid one.
    pub auth_uri: Option<Url>,
    /// The token endpoint, where the file names a valid one.
    pub token_uri: Option<Url>,
    /// The registered redirect URIs.
    pub redirect_uris: Vec<String>,
}

/// Parses a client-secrets file. The error completes the sentence "the client-secrets
/// file X ...".
///
/// # Errors
///
/// Returns the reason when the text is not JSON, is a service-account key or a token file,
/// or lacks the client ID or secret.
pub fn parse_client_secrets(text: &str) -> Result<ClientSecrets, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| format!("is not valid JSON ({error})"))?;
    let Value::Object(object) = value else {
        return Err("is not a JSON object".to_owned());
    };

    if object.get("type").and_then(Value::as_str) == Some("service_account") {
        return Err(
            "is a service-account key, but the hub needs an OAuth client of type \"Desktop app\": \
             in the Google Cloud console, create one under APIs & Services > Credentials and \
             download its JSON (it has an \"installed\" section)"
                .to_owned(),
        );
    }
    if object.contains_key("refresh_token") || object.contains_key("token") {
        return Err(
            "is an authorized-user token file, not client secrets; point GOOGLE_TOKEN_PATH at it, \
             and GOOGLE_CREDENTIALS_PATH at the OAuth client JSON from the Google Cloud console"
                .to_owned(),
        );
    }
    let (kind, section) = match (object.get("installed"), object.get("web")) {
        (Some(Value::Object(section)), _) => ("installed", section),
        (None, Some(Value::Object(section))) => ("web", section),
        _ => {
            return Err(
                "has no \"installed\" or \"web\" section, so it is not an OAuth client-secrets \
                 file; download the client JSON from the Google Cloud console"
                    .to_owned(),
            );
        }
    };
    parse_section(kind, section)
}

fn parse_section(
    kind: &'static str,
    section: &Map<String, Value>,
) -> Result<ClientSecrets, String> {
    let text = |name: &str| {
        section
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let url = |name: &str| text(name).and_then(|value| Url::parse(&value).ok());

    let client_id =
        text("client_id").ok_or_else(|| format!("has no client_id in its \"{kind}\" section"))?;
    let client_secret = text("client_secret")
        .ok_or_else(|| format!("has no client_secret in its \"{kind}\" section"))?;
    let redirect_uris = section
        .get("redirect_uris")
        .and_then(Value::as_array)
        .map(|uris| {
            uris.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();

    Ok(ClientSecrets {
        kind,
        client_id,
        client_secret: SecretString::from(client_secret),
        auth_uri: url("auth_uri"),
        token_uri: url("token_uri"),
        redirect_uris,
    })
}

/// Reads the client-secrets file at `path`. Blocking.
///
/// # Errors
///
/// Returns a sentence naming the file and the fix.
pub fn read_client_secrets(path: &Path) -> Result<ClientSecrets, String> {
    let shown = path.display();
    let metadata = std::fs::metadata(path).map_err(|error| {
        format!(
            "cannot read the client-secrets file {shown} ({error}); download the OAuth client JSON \
             (type \"Desktop app\") from the Google Cloud console there, or set GOOGLE_CREDENTIALS_PATH"
        )
    })?;
    if metadata.len() > MAX_TOKEN_FILE_BYTES {
        return Err(format!(
            "the client-secrets file {shown} is {} bytes, too large for client secrets",
            metadata.len()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the client-secrets file {shown} ({error})"))?;
    parse_client_secrets(&text)
        .map_err(|reason| format!("the client-secrets file {shown} {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn reads_installed_and_web() {
        for kind in ["installed", "web"] {
            let text = format!(
                r#"{{"{kind}": {{"client_id": "id", "client_secret": "s", "project_id": "p",
                    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                    "token_uri": "https://oauth2.googleapis.com/token",
                    "redirect_uris": ["http://localhost"]}}}}"#
            );
            let secrets = parse_client_secrets(&text).unwrap();
            assert_eq!(secrets.kind, kind);
            assert_eq!(secrets.client_id, "id");
            assert_eq!(secrets.client_secret.expose_secret(), "s");
            assert_eq!(
                secrets.token_uri.unwrap().as_str(),
                "https://oauth2.googleapis.com/token"
            );
            assert_eq!(secrets.redirect_uris, ["http://localhost"]);
        }
    }

    #[test]
    fn names_wrong_kinds_of_file() {
        let cases = [
            (
                r#"{"type": "service_account", "client_id": "1"}"#,
                "service-account key",
            ),
            (
                r#"{"token": "t", "refresh_token": "r"}"#,
                "authorized-user token file",
            ),
            (r#"{"other": {}}"#, "no \"installed\" or \"web\" section"),
            (r#"{"installed": {"client_id": "id"}}"#, "no client_secret"),
            ("nope", "not valid JSON"),
        ];
        for (text, expected) in cases {
            let error = parse_client_secrets(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
