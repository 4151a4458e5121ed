//! Configuration from the environment and a `.env` file, validated into a [`Config`].
//!
//! The variable names are those of the Python server the hub replaces, so an existing
//! `.env` keeps working. Real environment variables win over the `.env` file, and values
//! set by the program itself (the sandbox's URLs, say) win over both.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::domain::models::AuthMode;

/// The default OMA API prefix.
pub const DEFAULT_OMA_API_PREFIX: &str = "/api/v1";
/// The default timeout for one OMA request.
pub const DEFAULT_OMA_TIMEOUT: Duration = Duration::from_secs(15);
/// The default client-secrets path in `local_file` mode.
pub const DEFAULT_CREDENTIALS_PATH: &str = "secrets/credentials.google.json";
/// The default token path in `local_file` mode.
pub const DEFAULT_TOKEN_PATH: &str = "data/token.google.json";
/// The services `auth login` asks scopes for when `HUB_SERVICES` is not set.
pub const DEFAULT_SERVICES: &str = "gmail,calendar";

/// Where configuration values come from, highest precedence first: values set by the
/// program, the process environment, then the `.env` file.
#[derive(Debug, Default, Clone)]
pub struct ConfigSources {
    overrides: HashMap<String, String>,
    environment: HashMap<String, String>,
    dotenv: HashMap<String, String>,
    dotenv_path: Option<PathBuf>,
}

impl ConfigSources {
    /// Reads the process environment and, when it exists, the `.env` file at `dotenv_path`
    /// (default `.env` in the working directory). Nothing is written to the environment.
    ///
    /// # Errors
    ///
    /// Returns a message naming the file and line when the `.env` file exists but cannot
    /// be parsed, or when an explicitly given file does not exist.
    pub fn load(dotenv_path: Option<&Path>) -> Result<Self, String> {
        let environment = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();

        let (path, required) = match dotenv_path {
            Some(path) => (path.to_path_buf(), true),
            None => (PathBuf::from(".env"), false),
        };
        let dotenv = if path.exists() {
            read_dotenv(&path)?
        } else if required {
            return Err(format!(
                "the env file {} does not exist; check the --env-file path",
                path.display()
            ));
        } else {
            HashMap::new()
        };

        let dotenv_path = path.exists().then_some(path);
        Ok(Self {
            overrides: HashMap::new(),
            environment,
            dotenv,
            dotenv_path,
        })
    }

    /// Builds sources from explicit maps, for tests and embedding.
    pub fn from_maps(
        environment: HashMap<String, String>,
        dotenv: HashMap<String, String>,
    ) -> Self {
        Self {
            overrides: HashMap::new(),
            environment,
            dotenv,
            dotenv_path: None,
        }
    }

    /// Sets a value that wins over the environment and the `.env` file.
    pub fn set_override(&mut self, name: &str, value: impl Into<String>) {
        self.overrides.insert(name.to_owned(), value.into());
    }

    /// Returns the value of a variable, empty values counting as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        [&self.overrides, &self.environment, &self.dotenv]
            .into_iter()
            .find_map(|source| source.get(name))
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// Returns the `.env` file that was read, if any.
    pub fn dotenv_path(&self) -> Option<&Path> {
        self.dotenv_path.as_deref()
    }
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, String> {
    let entries = dotenvy::from_path_iter(path)
        .map_err(|error| format!("cannot read the env file {}: {error}", path.display()))?;
    entries
        .map(|entry| {
            entry.map_err(|error| {
                format!("invalid line in the env file {}: {error}", path.display())
            })
        })
        .collect()
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where Google credentials come from.
    pub auth_mode: AuthMode,
    /// The OMA Backend settings; complete when `auth_mode` is `oma_backend`.
    pub oma: OmaConfig,
    /// The `local_file` settings.
    pub local_file: LocalFileConfig,
    /// Replaces Google's API roots, for the sandbox and tests (`GOOGLE_API_BASE_URL`).
    pub google_api_base_url: Option<Url>,
    /// Where `gmail_get_attachment` saves files (`HUB_ATTACHMENT_DIR`).
    pub attachment_dir: PathBuf,
    /// The hub's own OAuth client and endpoints.
    pub oauth: GoogleOAuthConfig,
    /// `HUB_SERVICES`: the Google services whose scopes `auth login` asks for.
    pub services: Vec<String>,
}

/// The hub's own OAuth client, used by `local_file` mode and by the fallback in
/// `oma_backend` mode.
#[derive(Debug, Clone, Default)]
pub struct GoogleOAuthConfig {
    /// `GOOGLE_CLIENT_ID`, which wins over the client-secrets file.
    pub client_id: Option<String>,
    /// `GOOGLE_CLIENT_SECRET`.
    pub client_secret: Option<SecretString>,
    /// `GOOGLE_OAUTH_BASE_URL`: replaces Google's OAuth endpoints with
    /// `{base}/o/oauth2/auth`, `{base}/token` and `{base}/revoke`, for the sandbox and tests.
    pub base_url: Option<Url>,
}

impl GoogleOAuthConfig {
    /// Returns the client ID and secret when both are set.
    pub fn client(&self) -> Option<(String, SecretString)> {
        Some((self.client_id.clone()?, self.client_secret.clone()?))
    }
}

/// OMA Backend settings.
#[derive(Debug, Clone)]
pub struct OmaConfig {
    /// `OMA_BACKEND_URL`.
    pub base_url: Option<Url>,
    /// `OMA_API_PREFIX`, default `/api/v1`.
    pub api_prefix: String,
    /// `OMA_ACCESS_TOKEN`, the user's OMA JWT.
    pub access_token: Option<SecretString>,
    /// `OMA_VERIFY_SSL`, default true.
    pub verify_tls: bool,
    /// `OMA_TIMEOUT_SECS`, default 15.
    pub timeout: Duration,
}

/// `local_file` settings.
#[derive(Debug, Clone)]
pub struct LocalFileConfig {
    /// `GOOGLE_CREDENTIALS_PATH`: Google's client-secrets file.
    pub credentials_path: PathBuf,
    /// `GOOGLE_TOKEN_PATH`: the authorized-user token file.
    pub token_path: PathBuf,
}

/// Every problem found in the configuration, reported together so one run shows them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_problems(.problems, *.auth_mode))]
pub struct ConfigError {
    /// The mode the configuration was read for.
    pub auth_mode: AuthMode,
    /// One line per problem, each naming the variable and the fix.
    pub problems: Vec<String>,
}

fn render_problems(problems: &[String], auth_mode: AuthMode) -> String {
    let mut out = format!("the hub's configuration is incomplete for AUTH_MODE={auth_mode}:");
    for problem in problems {
        out.push_str("\n  - ");
        out.push_str(problem);
    }
    out.push_str(
        "\nSet these in the environment or in a .env file in the working directory (or pass --env-file). \
         To try the hub without any account, run it with --sandbox.",
    );
    out
}

impl Config {
    /// Reads and validates the configuration.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] listing every missing or invalid value.
    pub fn from_sources(sources: &ConfigSources) -> Result<Self, ConfigError> {
        Self::read(sources, true)
    }

    /// Reads the configuration for the `auth` commands, which create or remove the token
    /// file: neither the token file nor the OMA settings need to exist.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] listing every invalid value.
    pub fn for_auth_commands(sources: &ConfigSources) -> Result<Self, ConfigError> {
        Self::read(sources, false)
    }

    fn read(sources: &ConfigSources, serving: bool) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();

        let auth_mode = match sources.get("AUTH_MODE").map(str::parse::<AuthMode>) {
            None => AuthMode::default(),
            Some(Ok(mode)) => mode,
            Some(Err(error)) => {
                problems.push(error.to_string());
                AuthMode::default()
            }
        };

        let oma = read_oma(
            sources,
            serving && auth_mode == AuthMode::OmaBackend,
            &mut problems,
        );
        let local_file = LocalFileConfig {
            credentials_path: PathBuf::from(
                sources
                    .get("GOOGLE_CREDENTIALS_PATH")
                    .unwrap_or(DEFAULT_CREDENTIALS_PATH),
            ),
            token_path: PathBuf::from(
                sources
                    .get("GOOGLE_TOKEN_PATH")
                    .unwrap_or(DEFAULT_TOKEN_PATH),
            ),
        };
        if serving && auth_mode == AuthMode::LocalFile && !local_file.token_path.exists() {
            problems.push(format!(
                "GOOGLE_TOKEN_PATH: the token file {} does not exist; run `mcp-google-hub auth login` to create it, or point GOOGLE_TOKEN_PATH at the token.json your current setup uses",
                local_file.token_path.display()
            ));
        }
        let oauth = GoogleOAuthConfig {
            client_id: sources.get("GOOGLE_CLIENT_ID").map(str::to_owned),
            client_secret: sources
                .get("GOOGLE_CLIENT_SECRET")
                .map(|secret| SecretString::from(secret.to_owned())),
            base_url: sources
                .get("GOOGLE_OAUTH_BASE_URL")
                .and_then(|value| parse_url("GOOGLE_OAUTH_BASE_URL", value, &mut problems)),
        };
        if oauth.client_id.is_some() != oauth.client_secret.is_some() {
            problems.push(
                "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together, or neither"
                    .to_owned(),
            );
        }
        let services: Vec<String> = sources
            .get("HUB_SERVICES")
            .unwrap_or(DEFAULT_SERVICES)
            .split(',')
            .map(|service| service.trim().to_ascii_lowercase())
            .filter(|service| !service.is_empty())
            .collect();
        for service in &services {
            if !matches!(service.as_str(), "gmail" | "calendar") {
                problems.push(format!(
                    "HUB_SERVICES names an unknown service {service:?}; use a comma-separated list of gmail and calendar"
                ));
            }
        }
        let google_api_base_url = sources
            .get("GOOGLE_API_BASE_URL")
            .and_then(|value| parse_url("GOOGLE_API_BASE_URL", value, &mut problems));
        let attachment_dir = sources
            .get("HUB_ATTACHMENT_DIR")
            .map_or_else(default_attachment_dir, PathBuf::from);

        if !problems.is_empty() {
            return Err(ConfigError {
                auth_mode,
                problems,
            });
        }
        Ok(Self {
            auth_mode,
            oma,
            local_file,
            google_api_base_url,
            attachment_dir,
            oauth,
            services,
        })
    }
}

fn read_oma(sources: &ConfigSources, required: bool, problems: &mut Vec<String>) -> OmaConfig {
    let base_url = match sources.get("OMA_BACKEND_URL") {
        Some(value) => parse_url("OMA_BACKEND_URL", value, problems),
        None if required => {
            problems.push("OMA_BACKEND_URL is not set: the OMA Backend's base URL, such as https://oma.example.com".to_owned());
            None
        }
        None => None,
    };

    let access_token = sources
        .get("OMA_ACCESS_TOKEN")
        .map(|token| SecretString::from(token.to_owned()));
    if required && access_token.is_none() {
        problems.push(
            "OMA_ACCESS_TOKEN is not set: the JWT you get by logging in to the OMA Backend"
                .to_owned(),
        );
    }

    let verify_tls = match sources.get("OMA_VERIFY_SSL") {
        None => true,
        Some(value) => parse_bool(value).unwrap_or_else(|| {
            problems.push(format!(
                "OMA_VERIFY_SSL={value:?} is not a boolean; use true or false"
            ));
            true
        }),
    };

    let timeout = match sources.get("OMA_TIMEOUT_SECS") {
        None => DEFAULT_OMA_TIMEOUT,
        Some(value) => match value.parse::<f64>() {
            Ok(seconds) if seconds > 0.0 && seconds <= 600.0 => Duration::from_secs_f64(seconds),
            _ => {
                problems.push(format!(
                    "OMA_TIMEOUT_SECS={value:?} is invalid; use a number of seconds from 0.1 to 600"
                ));
                DEFAULT_OMA_TIMEOUT
            }
        },
    };

    OmaConfig {
        base_url,
        api_prefix: sources
            .get("OMA_API_PREFIX")
            .unwrap_or(DEFAULT_OMA_API_PREFIX)
            .to_owned(),
        access_token,
        verify_tls,
        timeout,
    }
}

fn parse_url(name: &str, value: &str, problems: &mut Vec<String>) -> Option<Url> {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
        Ok(_) => {
            problems.push(format!("{name}={value:?} is not an http or https URL"));
            None
        }
        Err(error) => {
            problems.push(format!("{name}={value:?} is not a valid URL ({error}); use a form such as https://host.example.com"));
            None
        }
    }
}

/// Parses the boolean spellings the Python server accepted.
fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `$XDG_DATA_HOME/mcp-google-hub/attachments`, else `~/.local/share/...`, else the
/// temporary folder. An MCP client may start the hub in any working directory, so a
/// relative default would scatter files.
fn default_attachment_dir() -> PathBuf {
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local").join("share"))
        });
    data_home
        .unwrap_or_else(std::env::temp_dir)
        .join("mcp-google-hub")
        .join("attachments")
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    fn sources(environment: &[(&str, &str)], dotenv: &[(&str, &str)]) -> ConfigSources {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        ConfigSources::from_maps(map(environment), map(dotenv))
    }

    #[test]
    fn oma_mode_from_dotenv() {
        let config = Config::from_sources(&sources(
            &[],
            &[
                ("OMA_BACKEND_URL", "https://oma.example.com"),
                ("OMA_ACCESS_TOKEN", "jwt-value"),
            ],
        ))
        .unwrap();

        assert_eq!(config.auth_mode, AuthMode::OmaBackend);
        assert_eq!(
            config.oma.base_url.unwrap().as_str(),
            "https://oma.example.com/"
        );
        assert_eq!(
            config.oma.access_token.unwrap().expose_secret(),
            "jwt-value"
        );
        assert_eq!(config.oma.api_prefix, "/api/v1");
        assert!(config.oma.verify_tls);
        assert_eq!(config.oma.timeout, DEFAULT_OMA_TIMEOUT);
    }

    #[test]
    fn environment_wins_over_dotenv_and_overrides_win_over_both() {
        let mut sources = sources(
            &[
                ("OMA_BACKEND_URL", "https://env.example.com"),
                ("OMA_ACCESS_TOKEN", "env"),
            ],
            &[
                ("OMA_BACKEND_URL", "https://dotenv.example.com"),
                ("OMA_API_PREFIX", "/apib/v1"),
            ],
        );
        assert_eq!(
            sources.get("OMA_BACKEND_URL"),
            Some("https://env.example.com")
        );
        assert_eq!(sources.get("OMA_API_PREFIX"), Some("/apib/v1"));

        sources.set_override("OMA_BACKEND_URL", "http://127.0.0.1:9");
        assert_eq!(sources.get("OMA_BACKEND_URL"), Some("http://127.0.0.1:9"));
    }

    #[test]
    fn every_missing_value_named_once() {
        let error =
            Config::from_sources(&sources(&[("OMA_VERIFY_SSL", "maybe")], &[])).unwrap_err();

        assert_eq!(error.problems.len(), 3, "{error}");
        let message = error.to_string();
        assert!(message.contains("OMA_BACKEND_URL is not set"), "{message}");
        assert!(message.contains("OMA_ACCESS_TOKEN is not set"), "{message}");
        assert!(message.contains("OMA_VERIFY_SSL=\"maybe\""), "{message}");
        assert!(message.contains("--sandbox"), "{message}");
    }

    #[test]
    fn invalid_mode_and_url_rejected() {
        let error = Config::from_sources(&sources(
            &[("AUTH_MODE", "magic"), ("OMA_BACKEND_URL", "ftp://x")],
            &[],
        ))
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("expected one of oma_backend, local_file"),
            "{message}"
        );
        assert!(message.contains("not an http or https URL"), "{message}");
    }

    #[test]
    fn local_file_needs_existing_token_file() {
        let error = Config::from_sources(&sources(
            &[
                ("AUTH_MODE", "local_file"),
                ("GOOGLE_TOKEN_PATH", "/nonexistent/token.json"),
            ],
            &[],
        ))
        .unwrap_err();
        assert_eq!(error.auth_mode, AuthMode::LocalFile);
        assert!(
            error.to_string().contains("/nonexistent/token.json"),
            "{error}"
        );

        let folder = tempfile::tempdir().unwrap();
        let token = folder.path().join("token.json");
        std::fs::write(&token, "{}").unwrap();
        let config = Config::from_sources(&sources(
            &[
                ("AUTH_MODE", "local_file"),
                ("GOOGLE_TOKEN_PATH", token.to_str().unwrap()),
            ],
            &[],
        ))
        .unwrap();
        assert_eq!(config.local_file.token_path, token);
    }

    #[test]
    fn verify_ssl_and_timeout_parse() {
        let config = Config::from_sources(&sources(
            &[
                ("OMA_BACKEND_URL", "https://oma.example.com"),
                ("OMA_ACCESS_TOKEN", "t"),
                ("OMA_VERIFY_SSL", "False"),
                ("OMA_TIMEOUT_SECS", "2.5"),
            ],
            &[],
        ))
        .unwrap();
        assert!(!config.oma.verify_tls);
        assert_eq!(config.oma.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn dotenv_file_read_without_touching_environment() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(".env");
        std::fs::write(&path, "# comment\nOMA_BACKEND_URL=https://oma.example.com\nHUB_TEST_ONLY_VARIABLE=\"quoted value\"\n").unwrap();

        let sources = ConfigSources::load(Some(&path)).unwrap();

        assert_eq!(sources.get("HUB_TEST_ONLY_VARIABLE"), Some("quoted value"));
        assert!(std::env::var("HUB_TEST_ONLY_VARIABLE").is_err());
        assert_eq!(sources.dotenv_path(), Some(path.as_path()));
    }

    #[test]
    fn missing_explicit_env_file_is_an_error() {
        let error = ConfigSources::load(Some(Path::new("/nonexistent/.env"))).unwrap_err();
        assert!(error.contains("--env-file"), "{error}");
    }
}
