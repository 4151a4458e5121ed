//! The `mcp-google-hub` binary: parses the command line, builds the hub from the
//! configuration and runs one command. It holds no logic of its own beyond that.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use mcp_google_hub::ToolDispatcher;
use mcp_google_hub::app;
use mcp_google_hub::config::{Config, ConfigSources, read_access_levels};
use mcp_google_hub::domain::models::AuthMode;

/// Gmail and Google Calendar for LLM agents, as MCP tools.
///
/// Without a command, serves MCP on stdin/stdout. Configuration comes from the
/// environment and a .env file (AUTH_MODE, OMA_BACKEND_URL, OMA_ACCESS_TOKEN, ...); see the
/// README. Try it with no account: `mcp-google-hub --sandbox call gmail_search_messages '{}'`.
#[derive(Debug, Parser)]
#[command(name = "mcp-google-hub", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Start the embedded sandbox, a loopback server with sample mail and calendars, and
    /// use it in place of the OMA Backend and Google.
    #[arg(long, global = true)]
    sandbox: bool,

    /// Load the sandbox mailbox from the .eml files in DIR (recursively); implies --sandbox.
    #[arg(long, global = true, value_name = "DIR")]
    sandbox_mail: Option<PathBuf>,

    /// Load the sandbox calendar from the .ics files in DIR (recursively); implies --sandbox.
    #[arg(long, global = true, value_name = "DIR")]
    sandbox_calendar: Option<PathBuf>,

    /// Read configuration from FILE instead of ./.env.
    #[arg(long, global = true, value_name = "FILE")]
    env_file: Option<PathBuf>,

    /// The Gmail access level: read, organize (labels, archive, trash), draft or send.
    /// Overrides HUB_GMAIL_ACCESS; the default is read.
    #[arg(long, global = true, value_name = "LEVEL")]
    gmail_access: Option<String>,

    /// The Calendar access level: read or write. Overrides HUB_CALENDAR_ACCESS; the
    /// default is read.
    #[arg(long, global = true, value_name = "LEVEL")]
    calendar_access: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve MCP on stdin/stdout (the default).
    Serve,
    /// List the tools with one-line descriptions.
    Tools {
        /// Print the full definitions (schemas, annotations) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one tool and print its result.
    Call {
        /// The tool's name, such as gmail_search_messages.
        tool: String,
        /// The arguments as a JSON object; `{}` when omitted.
        arguments: Option<String>,
        /// Print the structured result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the auth mode, the credential source and the Google account.
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Authorize a Google account for local_file mode, or show or remove the authorization.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuthCommand {
    /// Authorize in the browser and write the token file (GOOGLE_TOKEN_PATH).
    ///
    /// Asks for the scopes that the services in HUB_SERVICES (default gmail,calendar) need
    /// at the configured access levels (read-only by default), with the OAuth client from GOOGLE_CREDENTIALS_PATH (or GOOGLE_CLIENT_ID and
    /// GOOGLE_CLIENT_SECRET). Google redirects the browser to a listener on 127.0.0.1 with a
    /// free port; pasting the redirected URL on stdin works too.
    Login {
        /// Do not open a browser: print the URL, open it anywhere, and paste the address
        /// the browser ends on (http://127.0.0.1:PORT/?state=...&code=...) here.
        #[arg(long)]
        no_browser: bool,
        /// How long to wait for the authorization, in seconds.
        #[arg(long, default_value_t = 300, value_name = "SECONDS")]
        timeout: u64,
        /// Overwrite a token file that belongs to another OAuth client.
        #[arg(long)]
        replace: bool,
    },
    /// Show the account, scopes and expiry the token file holds, never the tokens.
    Status {
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke the authorization at Google and delete the token file.
    Logout,
}

/// The most tokio worker threads the hub starts. Tool calls wait on the network, so a few
/// workers keep up with any MCP client, and on a many-core host tokio's default of one
/// worker per core would add a thread stack and a spawn per core to start-up and memory.
const MAX_WORKER_THREADS: usize = 4;

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let command = cli.command.take().unwrap_or(Command::Serve);
    init_logging(matches!(command, Command::Serve));

    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_WORKER_THREADS);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            report_error(&format!("the async runtime could not start: {error}"));
            return ExitCode::FAILURE;
        }
    };

    match runtime.block_on(run(command, &cli)) {
        Ok(code) => code,
        Err(message) => {
            report_error(&message);
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, options: &Cli) -> Result<ExitCode, String> {
    if let Command::Tools { json } = command {
        let sources = read_sources(options)?;
        let access = read_access_levels(&sources).map_err(|problems| problems.join("\n"))?;
        let dispatcher = app::unconfigured_dispatcher(Default::default(), String::new(), access);
        print_tools(&dispatcher, json)?;
        return Ok(ExitCode::SUCCESS);
    }

    let loaded = load_sources(options).await;
    // When the configuration is invalid, the tools listed still follow the access levels
    // wherever those are valid, so the client sees the catalog the user chose.
    let access = loaded
        .as_ref()
        .ok()
        .and_then(|(sources, _)| read_access_levels(sources).ok())
        .unwrap_or_default();
    if let Command::Auth { command } = command {
        let (sources, _sandbox) = loaded?;
        let config = Config::for_auth_commands(&sources).map_err(|error| error.to_string())?;
        return auth::run(command, &config).await;
    }
    let (dispatcher, _sandbox) = match loaded {
        Ok((sources, sandbox)) => (build_dispatcher(&sources), sandbox),
        Err(problem) => (Err((AuthMode::default(), problem)), None),
    };

    match command {
        Command::Serve => {
            let dispatcher = dispatcher.unwrap_or_else(|(mode, problem)| {
                tracing::error!("{problem}");
                app::unconfigured_dispatcher(mode, problem, access)
            });
            serve(Arc::new(dispatcher)).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Call {
            tool,
            arguments,
            json,
        } => {
            let dispatcher = dispatcher.map_err(|(_, problem)| problem)?;
            let arguments = parse_arguments(arguments.as_deref())?;
            call(&dispatcher, &tool, arguments, json).await
        }
        Command::Status { json } => {
            // An unconfigured hub still reports its status, so scripts get the problem as
            // JSON; the exit status says whether the hub can work.
            let dispatcher = dispatcher.unwrap_or_else(|(mode, problem)| {
                app::unconfigured_dispatcher(mode, problem, access)
            });
            status(&dispatcher, json).await
        }
        Command::Tools { .. } | Command::Auth { .. } => {
            unreachable!("handled before the dispatcher is built")
        }
    }
}

#[cfg(feature = "local-file")]
mod auth {
    use std::process::ExitCode;
    use std::time::Duration;

    use mcp_google_hub::app;
    use mcp_google_hub::config::Config;
    use mcp_google_hub::outbound::google_oauth::TokenEndpoint;
    use mcp_google_hub::outbound::http::{HttpSettings, build_client};
    use mcp_google_hub::outbound::local_file::login::{
        self, LoginOptions, LoginPrompt, TokenSummary, scopes_for_services,
    };

    use super::{AuthCommand, print_output};

    pub(super) async fn run(command: AuthCommand, config: &Config) -> Result<ExitCode, String> {
        let settings = app::local_file_settings(config);
        let http = build_client(&HttpSettings::default()).map_err(|error| error.to_string())?;

        match command {
            AuthCommand::Login {
                no_browser,
                timeout,
                replace,
            } => {
                let gmail_root = config.google_api_base_url.clone().unwrap_or_else(|| {
                    url::Url::parse("https://gmail.googleapis.com/").expect("constant URL")
                });
                let options = LoginOptions {
                    scopes: scopes_for_services(&config.services, &config.access)?,
                    gmail_root,
                    open_browser: !no_browser,
                    timeout: Duration::from_secs(timeout),
                    replace_other_client: replace,
                };
                let endpoint = TokenEndpoint::new(http.clone());
                let summary = login::login(
                    &http,
                    &endpoint,
                    &settings,
                    &options,
                    show_prompt,
                    Some(stdin_lines()),
                )
                .await
                .map_err(|error| error.to_string())?;
                print_output(&format!("Authorized. Wrote {}", summary.path.display()));
                print_output(&render_summary(&summary));
            }
            AuthCommand::Status { json } => {
                let summary = login::token_summary(&settings.token_path)
                    .map_err(|error| error.to_string())?;
                if json {
                    let value = serde_json::json!({
                        "path": summary.path,
                        "account": summary.account,
                        "scopes": summary.scopes,
                        "expires_at": summary.expires_at.map(|at| at.to_rfc3339()),
                        "has_refresh_token": summary.has_refresh_token,
                        "client_id": summary.client_id,
                    });
                    let text =
                        serde_json::to_string_pretty(&value).map_err(|error| error.to_string())?;
                    print_output(&text);
                } else {
                    print_output(&format!("Token file: {}", summary.path.display()));
                    print_output(&render_summary(&summary));
                }
            }
            AuthCommand::Logout => {
                let outcome = login::logout(&http, &settings)
                    .await
                    .map_err(|error| error.to_string())?;
                match &outcome.revoked {
                    Ok(()) => print_output("Revoked the authorization at Google."),
                    Err(reason) => print_output(&format!("Not revoked: {reason}.")),
                }
                if outcome.deleted {
                    print_output(&format!("Deleted {}", settings.token_path.display()));
                } else {
                    print_output(&format!(
                        "No token file at {}",
                        settings.token_path.display()
                    ));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Reads stdin lines on a plain thread, which the process does not wait for at exit,
    /// unlike a read pending on tokio's stdin.
    fn stdin_lines() -> tokio::sync::mpsc::Receiver<String> {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if sender.blocking_send(line).is_err() {
                    break;
                }
            }
        });
        receiver
    }

    fn show_prompt(prompt: &LoginPrompt) {
        print_output(&format!(
            "Asking Google for these scopes:\n  {}",
            prompt.scopes.join("\n  ")
        ));
        print_output(&format!(
            "Open this URL in a browser and allow access (the hub listens on {} for the answer):\n{}",
            prompt.redirect_uri, prompt.url
        ));
        print_output(
            "If the browser runs on another machine, paste the address it ends on here and press Enter.",
        );
    }

    fn render_summary(summary: &TokenSummary) -> String {
        let expiry = summary
            .expires_at
            .map_or_else(|| "unknown".to_owned(), |at| at.to_rfc3339());
        format!(
            "Account: {}\nScopes: {}\nAccess token expires: {expiry}\nRefresh token: {}",
            summary.account.as_deref().unwrap_or("unknown"),
            if summary.scopes.is_empty() {
                "unknown".to_owned()
            } else {
                summary.scopes.join(" ")
            },
            if summary.has_refresh_token {
                "present, so the hub renews the access token itself"
            } else {
                "missing; run `mcp-google-hub auth login`"
            },
        )
    }
}

#[cfg(not(feature = "local-file"))]
mod auth {
    use std::process::ExitCode;

    use mcp_google_hub::config::Config;

    use super::AuthCommand;

    pub(super) async fn run(_command: AuthCommand, _config: &Config) -> Result<ExitCode, String> {
        Err("the auth commands need the local-file feature, which this build lacks; rebuild with --features local-file".to_owned())
    }
}

/// Reads the configuration sources and starts the sandbox when asked. A failure is a
/// configuration problem, which `serve` reports per tool call instead of exiting.
async fn load_sources(options: &Cli) -> Result<(ConfigSources, Option<SandboxHandle>), String> {
    let mut sources = read_sources(options)?;
    let sandbox = start_sandbox(options, &mut sources).await?;
    Ok((sources, sandbox))
}

/// Reads the environment and the `.env` file, with the command line's overrides applied.
fn read_sources(options: &Cli) -> Result<ConfigSources, String> {
    let mut sources = ConfigSources::load(options.env_file.as_deref())?;
    if let Some(level) = &options.gmail_access {
        sources.set_override("HUB_GMAIL_ACCESS", level.clone());
    }
    if let Some(level) = &options.calendar_access {
        sources.set_override("HUB_CALENDAR_ACCESS", level.clone());
    }
    Ok(sources)
}

fn build_dispatcher(sources: &ConfigSources) -> Result<ToolDispatcher, (AuthMode, String)> {
    match Config::from_sources(sources) {
        Ok(config) => app::build_dispatcher(&config).map_err(|problem| (config.auth_mode, problem)),
        Err(error) => Err((error.auth_mode, error.to_string())),
    }
}

async fn status(dispatcher: &ToolDispatcher, json: bool) -> Result<ExitCode, String> {
    let output = dispatcher
        .call("hub_status", serde_json::Value::Null)
        .await
        .map_err(|error| error.to_string())?;
    if json {
        let text =
            serde_json::to_string_pretty(&output.structured).map_err(|error| error.to_string())?;
        print_output(&text);
    } else {
        print_output(&output.text);
    }

    let status = &output.structured;
    let healthy = status["configuration_error"].is_null()
        && status["source_reachable"] == true
        && status["google_connected"] == true
        && status["token_expires_in_seconds"]
            .as_i64()
            .is_none_or(|seconds| seconds > 0);
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn parse_arguments(arguments: Option<&str>) -> Result<serde_json::Value, String> {
    let Some(text) = arguments else {
        return Ok(serde_json::Value::Null);
    };
    serde_json::from_str(text).map_err(|error| {
        format!("the tool arguments are not valid JSON ({error}); pass an object such as '{{\"query\": \"is:unread\"}}'")
    })
}

async fn call(
    dispatcher: &ToolDispatcher,
    tool: &str,
    arguments: serde_json::Value,
    json: bool,
) -> Result<ExitCode, String> {
    let output = dispatcher
        .call(tool, arguments)
        .await
        .map_err(|error| format!("[{}] {error}", error.category()))?;

    if json {
        let text =
            serde_json::to_string_pretty(&output.structured).map_err(|error| error.to_string())?;
        print_output(&text);
    } else {
        print_output(&output.text);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_tools(dispatcher: &ToolDispatcher, json: bool) -> Result<(), String> {
    if json {
        let tools: Vec<_> = dispatcher
            .definitions()
            .map(|definition| {
                serde_json::json!({
                    "name": definition.name,
                    "title": definition.title,
                    "description": definition.description,
                    "inputSchema": definition.input_schema,
                    "outputSchema": definition.output_schema,
                    "annotations": {
                        "readOnlyHint": definition.annotations.read_only,
                        "destructiveHint": definition.annotations.destructive,
                        "idempotentHint": definition.annotations.idempotent,
                        "openWorldHint": definition.annotations.open_world,
                    },
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&tools).map_err(|error| error.to_string())?;
        print_output(&text);
        return Ok(());
    }

    let width = dispatcher
        .definitions()
        .map(|definition| definition.name.len())
        .max()
        .unwrap_or(0);
    let lines: Vec<String> = dispatcher
        .definitions()
        .map(|definition| {
            let first_sentence = definition
                .description
                .split(". ")
                .next()
                .unwrap_or_default()
                .trim_end_matches('.');
            format!("{:width$}  {first_sentence}.", definition.name)
        })
        .collect();
    print_output(&lines.join("\n"));
    Ok(())
}

/// Writes a command's result to stdout, the CLI's one output path. `serve` never calls
/// it: there stdout carries the MCP protocol. A closed pipe (`| head`) ends the output
/// quietly instead of panicking.
fn print_output(text: &str) {
    use std::io::Write as _;

    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

#[allow(clippy::print_stderr)]
fn report_error(message: &str) {
    eprintln!("error: {message}");
}

/// Sends logs to stderr. `RUST_LOG` overrides the level: `info` while serving, so the
/// client's log shows start and stop, and `warn` for one-shot commands, whose stdout is the
/// result.
///
/// `RUST_LOG` is a comma-separated list of `target=level` pairs and a bare default level,
/// such as `warn,mcp_google_hub=debug`. Span and field filters are not supported: they need
/// tracing-subscriber's regex-based `EnvFilter`, which would add about a megabyte to the
/// binary. A value that does not parse falls back to the default.
fn init_logging(serving: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;

    let default = if serving {
        LevelFilter::INFO
    } else {
        LevelFilter::WARN
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .and_then(|value| value.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(default));
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    tracing_subscriber::registry()
        .with(output)
        .with(filter)
        .init();
}

#[cfg(feature = "mcp-stdio")]
async fn serve(dispatcher: Arc<ToolDispatcher>) -> Result<(), String> {
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "serving MCP on stdio");
    mcp_google_hub::inbound::mcp::McpServer::new(dispatcher)
        .serve_stdio()
        .await
        .map_err(|error| format!("the MCP session failed: {error}"))
}

#[cfg(not(feature = "mcp-stdio"))]
async fn serve(_dispatcher: Arc<ToolDispatcher>) -> Result<(), String> {
    Err("this build has no mcp-stdio feature, so it cannot serve MCP; rebuild with --features mcp-stdio, or use the call command".to_owned())
}

#[cfg(feature = "sandbox")]
type SandboxHandle = mcp_google_hub::sandbox::Sandbox;
#[cfg(not(feature = "sandbox"))]
type SandboxHandle = ();

#[cfg(feature = "sandbox")]
async fn start_sandbox(
    options: &Cli,
    sources: &mut ConfigSources,
) -> Result<Option<SandboxHandle>, String> {
    use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};

    if !(options.sandbox || options.sandbox_mail.is_some() || options.sandbox_calendar.is_some()) {
        return Ok(None);
    }
    let sandbox = Sandbox::start(SandboxOptions {
        mail_dir: options.sandbox_mail.clone(),
        calendar_dir: options.sandbox_calendar.clone(),
        user_email: None,
        token_lifetime: None,
    })
    .await
    .map_err(|error| format!("the sandbox could not start: {error}"))?;

    app::point_at_sandbox(sources, &sandbox);
    Ok(Some(sandbox))
}

#[cfg(not(feature = "sandbox"))]
async fn start_sandbox(
    options: &Cli,
    _sources: &mut ConfigSources,
) -> Result<Option<SandboxHandle>, String> {
    if options.sandbox || options.sandbox_mail.is_some() || options.sandbox_calendar.is_some() {
        return Err(
            "this build has no sandbox feature; rebuild with --features sandbox".to_owned(),
        );
    }
    Ok(None)
}
