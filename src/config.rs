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

use crate::domain::access::{AccessLevels, CalendarAccess, GmailAccess, RecipientAllowlist};
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

/// The sources of configuration values, highest precedence first: values set by the
/// program, the process environment, then the `.env` file.
#[derive(Debug, Default, Clone)]
pub struct ConfigSources {
    overrides: HashMap<String, String>,
    environment: HashMap<String, String>,
    dotenv: HashMap<String, String>,
    dotenv_path: Option<PathBuf>,
    sandbox: bool,
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
            sandbox: false,
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
            sandbox: false,
        }
    }

    /// Records that the overrides point at the embedded sandbox, so errors stop suggesting
    /// `--sandbox`.
    pub fn mark_sandbox(&mut self) {
        self.sandbox = true;
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

    /// Returns the value of a variable, an empty value included, for the few settings where
    /// "set but empty" means something of its own.
    pub fn get_even_if_empty(&self, name: &str) -> Option<&str> {
        [&self.overrides, &self.environment, &self.dotenv]
            .into_iter()
            .find_map(|source| source.get(name))
            .map(|value| value.trim())
    }

    /// Returns the `.env` file that was read, if any.
    pub fn dotenv_path(&self) -> Option<&Path> {
        self.dotenv_path.as_deref()
    }
}

/// Reads a `.env` file the way python-dotenv does for the files the Python server used: a
/// UTF-8 byte-order mark is skipped and a bare `NAME` line (no `=`) leaves `NAME` unset.
///
/// A line that does not parse is reported by number and variable name only, because its
/// value may be a secret.
fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the env file {}: {error}", path.display()))?;
    parse_dotenv(&text, path)
}

/// Parses the text of a `.env` file as [`read_dotenv`] describes. `path` only names the
/// file in error messages.
pub(crate) fn parse_dotenv(text: &str, path: &Path) -> Result<HashMap<String, String>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let cleaned: String = text
        .lines()
        .filter(|line| !is_bare_name(line))
        .flat_map(|line| [line, "\n"])
        .collect();

    let mut values = HashMap::new();
    for entry in dotenvy::from_read_iter(cleaned.as_bytes()) {
        match entry {
            Ok((name, value)) => {
                values.insert(name, value);
            }
            Err(dotenvy::Error::LineParse(line, _)) => {
                let number = cleaned
                    .find(&line)
                    .map_or(0, |start| cleaned[..start].matches('\n').count() + 1);
                let name = line
                    .trim_start()
                    .trim_start_matches("export ")
                    .split('=')
                    .next()
                    .unwrap_or_default()
                    .trim();
                return Err(format!(
                    "the env file {} has an invalid line {number} (setting {name}); check its quotes and spaces (the value is not shown because it may be secret)",
                    path.display()
                ));
            }
            Err(error) => {
                return Err(format!(
                    "cannot read the env file {}: {error}",
                    path.display()
                ));
            }
        }
    }
    Ok(values)
}

fn is_bare_name(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty() && line.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The source of Google credentials.
    pub auth_mode: AuthMode,
    /// The OMA Backend settings; complete when `auth_mode` is `oma_backend`.
    pub oma: OmaConfig,
    /// The `local_file` settings.
    pub local_file: LocalFileConfig,
    /// Replaces Google's API roots, for the sandbox and tests (`GOOGLE_API_BASE_URL`).
    pub google_api_base_url: Option<Url>,
    /// The folder `gmail_get_attachment` saves files in (`HUB_ATTACHMENT_DIR`).
    pub attachment_dir: PathBuf,
    /// The hub's own OAuth client and endpoints.
    pub oauth: GoogleOAuthConfig,
    /// `HUB_SERVICES`: the Google services whose scopes `auth login` asks for.
    pub services: Vec<String>,
    /// The access levels from `HUB_GMAIL_ACCESS`, `HUB_CALENDAR_ACCESS` and `HUB_READ_ONLY`.
    pub access: AccessLevels,
    /// The recipient allowlist from `HUB_ALLOWED_RECIPIENTS`.
    pub recipients: RecipientAllowlist,
    /// The folder the mail tools read attachments from (`HUB_UPLOAD_DIR`).
    pub upload_dir: PathBuf,
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
    /// `OMA_CA_CERT`: extra CA certificates, from a PEM bundle, that the OMA client trusts.
    pub ca_certificates: Vec<reqwest::Certificate>,
    /// `OMA_USERNAME` and `OMA_PASSWORD` (or the first line of `OMA_PASSWORD_FILE`): where
    /// set, the hub logs in again when the OMA JWT expires or is rejected.
    pub login: Option<OmaLoginConfig>,
}

/// The OMA account the hub logs in with to renew an expired JWT.
#[derive(Clone)]
pub struct OmaLoginConfig {
    /// `OMA_USERNAME`.
    pub username: String,
    /// `OMA_PASSWORD`, or the first line of the file `OMA_PASSWORD_FILE` names.
    pub password: SecretString,
}

impl std::fmt::Debug for OmaLoginConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmaLoginConfig")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
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
#[error("{}", render_problems(.problems, *.auth_mode, *.sandbox))]
pub struct ConfigError {
    /// The mode the configuration was read for.
    pub auth_mode: AuthMode,
    /// One line per problem, each naming the variable and the fix.
    pub problems: Vec<String>,
    /// Whether the hub runs on the sandbox already.
    pub sandbox: bool,
}

fn render_problems(problems: &[String], auth_mode: AuthMode, sandbox: bool) -> String {
    let mut out = format!("the hub's configuration has problems (AUTH_MODE={auth_mode}):");
    for problem in problems {
        out.push_str("\n  - ");
        out.push_str(problem);
    }
    out.push_str(
        "\nSet these in the environment or in a .env file in the working directory (or pass --env-file).",
    );
    if !sandbox {
        out.push_str(" To try the hub without any account, run it with --sandbox.");
    }
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

        // With an invalid AUTH_MODE the mode's own requirements are unknown; listing the
        // OMA variables as missing would send the user after the wrong fix.
        let mode_known = problems.is_empty();
        let oma = read_oma(
            sources,
            mode_known && serving && auth_mode == AuthMode::OmaBackend,
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
        if mode_known
            && serving
            && auth_mode == AuthMode::LocalFile
            && !local_file.token_path.exists()
        {
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

        let upload_dir = sources
            .get("HUB_UPLOAD_DIR")
            .map_or_else(default_upload_dir, PathBuf::from);

        let access = read_access(sources, &mut problems);
        // Set but empty is an allowlist with no entries, which lets nothing be sent.
        let recipients = match sources.get_even_if_empty("HUB_ALLOWED_RECIPIENTS") {
            None => RecipientAllowlist::unrestricted(),
            Some(value) => RecipientAllowlist::parse(value).unwrap_or_else(|problem| {
                problems.push(problem);
                RecipientAllowlist::unrestricted()
            }),
        };

        if !problems.is_empty() {
            return Err(ConfigError {
                auth_mode,
                problems,
                sandbox: sources.sandbox,
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
            access,
            recipients,
            upload_dir,
        })
    }
}

/// Reads the access levels alone, for commands that need no other setting, such as listing
/// the tools.
///
/// # Errors
///
/// One line per invalid access setting, each naming the variable and the fix.
pub fn read_access_levels(sources: &ConfigSources) -> Result<AccessLevels, Vec<String>> {
    let mut problems = Vec::new();
    let access = read_access(sources, &mut problems);
    if problems.is_empty() {
        Ok(access)
    } else {
        Err(problems)
    }
}

/// Reads the access levels. `HUB_READ_ONLY=true` is the short form of both levels at
/// `read`, and contradicting it with a higher level is an error rather than a silent choice.
fn read_access(sources: &ConfigSources, problems: &mut Vec<String>) -> AccessLevels {
    let mut access = AccessLevels::READ_ONLY;
    if let Some(value) = sources.get("HUB_GMAIL_ACCESS") {
        match value.parse::<GmailAccess>() {
            Ok(level) => access.gmail = level,
            Err(error) => problems.push(format!("HUB_GMAIL_ACCESS (or --gmail-access): {error}")),
        }
    }
    if let Some(value) = sources.get("HUB_CALENDAR_ACCESS") {
        match value.parse::<CalendarAccess>() {
            Ok(level) => access.calendar = level,
            Err(error) => problems.push(format!(
                "HUB_CALENDAR_ACCESS (or --calendar-access): {error}"
            )),
        }
    }

    let read_only = match sources
        .get("HUB_READ_ONLY")
        .map(|value| (value, parse_bool(value)))
    {
        None => false,
        Some((_, Some(read_only))) => read_only,
        Some((value, None)) => {
            problems.push(format!(
                "HUB_READ_ONLY={value:?} is not a boolean; use true or false"
            ));
            false
        }
    };
    if read_only && access != AccessLevels::READ_ONLY {
        problems.push(format!(
            "HUB_READ_ONLY=true contradicts the access levels Gmail {} and Calendar {} (from HUB_GMAIL_ACCESS, HUB_CALENDAR_ACCESS or --gmail-access/--calendar-access); unset HUB_READ_ONLY or the levels",
            access.gmail, access.calendar
        ));
    }

    if access.gmail == GmailAccess::Send && !cfg!(feature = "gmail-send") {
        problems.push(
            "HUB_GMAIL_ACCESS=send needs a build with the gmail-send cargo feature, and this build has none; use draft, or install a build with that feature"
                .to_owned(),
        );
    }
    access
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

    if let Some(url) = &base_url {
        check_oma_url_security(url, problems);
    }
    let ca_certificates = read_ca_certificates(sources, problems);
    let login = read_oma_login(sources, problems);

    let access_token = sources
        .get("OMA_ACCESS_TOKEN")
        .map(|token| SecretString::from(token.to_owned()));
    if required && access_token.is_none() && login.is_none() {
        problems.push(
            "OMA_ACCESS_TOKEN is not set: the JWT you get by logging in to the OMA Backend"
                .to_owned(),
        );
    }
    // The token goes into an HTTP header, which cannot carry spaces or control characters.
    let header_safe = |token: &str| token.chars().all(|c| c.is_ascii_graphic());
    if sources
        .get("OMA_ACCESS_TOKEN")
        .is_some_and(|token| !header_safe(token))
    {
        problems.push(
            "OMA_ACCESS_TOKEN contains a space, a line break or a non-ASCII character; copy the JWT again without them"
                .to_owned(),
        );
    }

    let api_prefix = sources
        .get("OMA_API_PREFIX")
        .unwrap_or(DEFAULT_OMA_API_PREFIX)
        .to_owned();
    let prefix_is_path = api_prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
        && !api_prefix.split('/').any(|segment| segment == "..");
    if !prefix_is_path {
        problems.push(format!(
            "OMA_API_PREFIX={api_prefix:?} is not a URL path; use a form such as /api/v1 (letters, digits, -, _, . and /)"
        ));
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
        api_prefix,
        access_token,
        verify_tls,
        timeout,
        ca_certificates,
        login,
    }
}

/// Requires HTTPS for the OMA Backend, because the OMA JWT and the Google tokens cross that
/// connection. Plain HTTP is allowed on loopback only (127.0.0.0/8, ::1, localhost), where
/// the traffic never leaves the machine.
fn check_oma_url_security(url: &Url, problems: &mut Vec<String>) {
    if url.scheme() == "https" || is_loopback(url) {
        return;
    }
    problems.push(format!(
        "OMA_BACKEND_URL uses plain http for {}, which would send the OMA JWT and Google tokens \
         unencrypted; use an https:// URL (plain http is allowed only for 127.0.0.1, ::1 and localhost)",
        url.host_str().unwrap_or("its host")
    ));
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Reads `OMA_CA_CERT`, a PEM file of one or more CA certificates.
fn read_ca_certificates(
    sources: &ConfigSources,
    problems: &mut Vec<String>,
) -> Vec<reqwest::Certificate> {
    let Some(path) = sources.get("OMA_CA_CERT") else {
        return Vec::new();
    };
    let pem = match std::fs::read(path) {
        Ok(pem) => pem,
        Err(error) => {
            problems.push(format!(
                "OMA_CA_CERT: the CA file {path} cannot be read ({error}); point OMA_CA_CERT at a PEM bundle"
            ));
            return Vec::new();
        }
    };
    // reqwest with rustls skips text outside PEM blocks, so a file without any certificate
    // parses as an empty bundle and is rejected here.
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certificates) if !certificates.is_empty() => certificates,
        Ok(_) | Err(_) => {
            problems.push(format!(
                "OMA_CA_CERT: the CA file {path} contains no PEM certificate; it must contain \
                 -----BEGIN CERTIFICATE----- blocks"
            ));
            Vec::new()
        }
    }
}

/// Reads `OMA_USERNAME` with `OMA_PASSWORD` or `OMA_PASSWORD_FILE`. Both or neither must be
/// set.
fn read_oma_login(sources: &ConfigSources, problems: &mut Vec<String>) -> Option<OmaLoginConfig> {
    let username = sources.get("OMA_USERNAME");
    let password = match (
        sources.get("OMA_PASSWORD"),
        sources.get("OMA_PASSWORD_FILE"),
    ) {
        (Some(password), _) => Some(password.to_owned()),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(text) => text
                .lines()
                .next()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .or_else(|| {
                    problems.push(format!("OMA_PASSWORD_FILE: the file {path} is empty"));
                    None
                }),
            Err(error) => {
                problems.push(format!(
                    "OMA_PASSWORD_FILE: the file {path} cannot be read ({error})"
                ));
                None
            }
        },
        (None, None) => None,
    };

    match (username, password) {
        (Some(username), Some(password)) => Some(OmaLoginConfig {
            username: username.to_owned(),
            password: SecretString::from(password),
        }),
        (Some(_), None) if sources.get("OMA_PASSWORD_FILE").is_none() => {
            problems.push(
                "OMA_USERNAME is set without OMA_PASSWORD or OMA_PASSWORD_FILE; set one of them, or unset OMA_USERNAME"
                    .to_owned(),
            );
            None
        }
        (None, Some(_)) => {
            problems.push(
                "OMA_PASSWORD (or OMA_PASSWORD_FILE) is set without OMA_USERNAME; set OMA_USERNAME to the OMA account's user name"
                    .to_owned(),
            );
            None
        }
        _ => None,
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

/// `$XDG_DATA_HOME/mcp-google-hub/uploads`, the attachment folder's sibling: the mail
/// tools attach only files the user put there.
fn default_upload_dir() -> PathBuf {
    default_attachment_dir().with_file_name("uploads")
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

    const OMA: [(&str, &str); 2] = [
        ("OMA_BACKEND_URL", "https://oma.example.com"),
        ("OMA_ACCESS_TOKEN", "t"),
    ];

    fn with_oma(extra: &[(&'static str, &'static str)]) -> ConfigSources {
        let mut environment = OMA.to_vec();
        environment.extend_from_slice(extra);
        sources(&environment, &[])
    }

    #[test]
    fn access_defaults_to_read_only() {
        let config = Config::from_sources(&with_oma(&[])).unwrap();

        assert_eq!(config.access, AccessLevels::READ_ONLY);
        assert!(!config.recipients.is_restricted());
    }

    #[test]
    fn access_levels_parse() {
        let config = Config::from_sources(&with_oma(&[
            ("HUB_GMAIL_ACCESS", "Draft"),
            ("HUB_CALENDAR_ACCESS", "write"),
            ("HUB_ALLOWED_RECIPIENTS", "ana@example.com, @example.org"),
        ]))
        .unwrap();

        assert_eq!(config.access.gmail, GmailAccess::Draft);
        assert_eq!(config.access.calendar, CalendarAccess::Write);
        assert!(config.recipients.check("to", "bo@example.org").is_ok());
        assert!(config.recipients.check("to", "bo@example.com").is_err());
    }

    #[test]
    fn empty_allowlist_allows_nobody() {
        let config = Config::from_sources(&with_oma(&[("HUB_ALLOWED_RECIPIENTS", "")])).unwrap();

        assert!(config.recipients.is_restricted());
        assert!(config.recipients.check("to", "ana@example.com").is_err());
    }

    #[test]
    fn invalid_access_values_named() {
        let error = Config::from_sources(&with_oma(&[
            ("HUB_GMAIL_ACCESS", "everything"),
            ("HUB_CALENDAR_ACCESS", "send"),
            ("HUB_READ_ONLY", "perhaps"),
            ("HUB_ALLOWED_RECIPIENTS", "not an address"),
        ]))
        .unwrap_err();

        let message = error.to_string();
        assert_eq!(error.problems.len(), 4, "{message}");
        assert!(
            message.contains(
                "HUB_GMAIL_ACCESS (or --gmail-access): unknown Gmail access level \"everything\""
            ),
            "{message}"
        );
        assert!(
            message.contains(
                "HUB_CALENDAR_ACCESS (or --calendar-access): unknown Calendar access level \"send\""
            ),
            "{message}"
        );
        assert!(message.contains("HUB_READ_ONLY=\"perhaps\""), "{message}");
        assert!(
            message.contains("HUB_ALLOWED_RECIPIENTS has an invalid entry"),
            "{message}"
        );
    }

    #[test]
    fn read_only_contradiction_rejected() {
        let agreeing = Config::from_sources(&with_oma(&[("HUB_READ_ONLY", "true")])).unwrap();
        assert_eq!(agreeing.access, AccessLevels::READ_ONLY);

        let error = Config::from_sources(&with_oma(&[
            ("HUB_READ_ONLY", "true"),
            ("HUB_CALENDAR_ACCESS", "write"),
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("HUB_READ_ONLY=true contradicts"),
            "{error}"
        );
    }

    #[test]
    fn send_level_follows_build() {
        let result = Config::from_sources(&with_oma(&[("HUB_GMAIL_ACCESS", "send")]));

        if cfg!(feature = "gmail-send") {
            assert_eq!(result.unwrap().access.gmail, GmailAccess::Send);
        } else {
            let error = result.unwrap_err();
            assert!(
                error.to_string().contains("gmail-send cargo feature"),
                "{error}"
            );
        }
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
    fn dotenv_parse_error_hides_value() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(".env");
        std::fs::write(&path, "OMA_BACKEND_URL=https://oma.example.com\nOMA_ACCESS_TOKEN=eyJhbGc.eyJzdWIi.SECRETSIG\"\n").unwrap();

        let error = ConfigSources::load(Some(&path)).unwrap_err();

        assert!(!error.contains("SECRETSIG"), "{error}");
        assert!(error.contains("invalid line 2"), "{error}");
        assert!(error.contains("OMA_ACCESS_TOKEN"), "{error}");
    }

    #[test]
    fn dotenv_accepts_bom_and_bare_names() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(".env");
        std::fs::write(
            &path,
            "\u{feff}OMA_API_PREFIX=/apib/v1\nDEBUG\nexport AUTH_MODE=local_file\n",
        )
        .unwrap();

        let sources = ConfigSources::load(Some(&path)).unwrap();

        assert_eq!(sources.get("OMA_API_PREFIX"), Some("/apib/v1"));
        assert_eq!(sources.get("AUTH_MODE"), Some("local_file"));
        assert_eq!(sources.get("DEBUG"), None);
    }

    #[test]
    fn token_and_prefix_validated() {
        let error = Config::from_sources(&sources(
            &[
                ("OMA_BACKEND_URL", "https://oma.example.com"),
                ("OMA_ACCESS_TOKEN", "abc\ndef"),
                ("OMA_API_PREFIX", "../../x y"),
            ],
            &[],
        ))
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("OMA_ACCESS_TOKEN contains"), "{message}");
        assert!(!message.contains("abc"), "{message}");
        assert!(message.contains("OMA_API_PREFIX"), "{message}");
    }

    #[test]
    fn invalid_mode_reported_alone() {
        let error = Config::from_sources(&sources(&[("AUTH_MODE", "bogus")], &[])).unwrap_err();
        assert_eq!(error.problems.len(), 1, "{error}");
    }

    #[test]
    fn missing_explicit_env_file_is_an_error() {
        let error = ConfigSources::load(Some(Path::new("/nonexistent/.env"))).unwrap_err();
        assert!(error.contains("--env-file"), "{error}");
    }

    fn oma_problems(environment: &[(&str, &str)]) -> Vec<String> {
        let mut pairs = vec![("OMA_ACCESS_TOKEN", "jwt")];
        pairs.extend_from_slice(environment);
        match Config::from_sources(&sources(&pairs, &[])) {
            Ok(_) => Vec::new(),
            Err(error) => error.problems,
        }
    }

    #[test]
    fn oma_url_https_rule_table() {
        let cases = [
            ("https://oma.example.com", true),
            ("https://10.0.0.5:8443", true),
            ("http://127.0.0.1:8000", true),
            ("http://127.1.2.3", true),
            ("http://[::1]:8000", true),
            ("http://localhost:8000", true),
            ("http://LOCALHOST", true),
            ("http://oma.example.com", false),
            ("http://10.0.0.5:8000", false),
            ("http://192.168.1.10", false),
            ("http://[::2]", false),
            ("http://localhost.example.com", false),
        ];
        for (url, allowed) in cases {
            let problems = oma_problems(&[("OMA_BACKEND_URL", url)]);
            assert_eq!(problems.is_empty(), allowed, "{url}: {problems:?}");
            if !allowed {
                assert!(problems[0].contains("OMA_BACKEND_URL"), "{problems:?}");
                assert!(problems[0].contains("https://"), "{problems:?}");
            }
        }
    }

    #[test]
    fn ca_file_must_be_pem() {
        let folder = tempfile::tempdir().unwrap();
        let not_pem = folder.path().join("ca.der");
        std::fs::write(&not_pem, [0x30_u8, 0x82, 0x01, 0x0a, 0x02]).unwrap();
        let garbage = folder.path().join("ca.txt");
        std::fs::write(&garbage, "hello, not a certificate\n").unwrap();
        let broken = folder.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let missing = folder.path().join("missing.pem");

        for path in [&not_pem, &garbage, &broken, &missing] {
            let problems = oma_problems(&[
                ("OMA_BACKEND_URL", "https://oma.example.com"),
                ("OMA_CA_CERT", path.to_str().unwrap()),
            ]);
            assert_eq!(problems.len(), 1, "{path:?}: {problems:?}");
            assert!(problems[0].contains("OMA_CA_CERT"), "{problems:?}");
            assert!(problems[0].contains(path.to_str().unwrap()), "{problems:?}");
        }
    }

    #[test]
    fn login_needs_both_parts() {
        let base = ("OMA_BACKEND_URL", "https://oma.example.com");
        assert!(oma_problems(&[base, ("OMA_USERNAME", "ada")])[0].contains("OMA_PASSWORD"));
        assert!(oma_problems(&[base, ("OMA_PASSWORD", "pw")])[0].contains("OMA_USERNAME"));

        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("password");
        std::fs::write(&file, "from-file\n").unwrap();
        let config = Config::from_sources(&sources(
            &[
                base,
                ("OMA_USERNAME", "ada"),
                ("OMA_PASSWORD_FILE", file.to_str().unwrap()),
            ],
            &[],
        ))
        .unwrap();
        let login = config.oma.login.expect("login configured");
        assert_eq!(login.password.expose_secret(), "from-file");
        assert!(!format!("{login:?}").contains("from-file"));
        assert!(
            config.oma.access_token.is_none(),
            "a login replaces the token"
        );
    }
}
