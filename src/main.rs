//! The `mcp-google-hub` binary: parses the command line, builds the hub from the
//! configuration and runs one command. It holds no logic of its own beyond that.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use mcp_google_hub::ToolDispatcher;
use mcp_google_hub::app;
use mcp_google_hub::config::{Config, ConfigSources};

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
        let dispatcher = app::unconfigured_dispatcher(Default::default(), String::new());
        print_tools(&dispatcher, json)?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut sources = ConfigSources::load(options.env_file.as_deref())?;
    let _sandbox = start_sandbox(options, &mut sources).await?;
    let dispatcher = match Config::from_sources(&sources) {
        Ok(config) => app::build_dispatcher(&config).map_err(|problem| (config.auth_mode, problem)),
        Err(error) => Err((error.auth_mode, error.to_string())),
    };

    match command {
        Command::Serve => {
            let dispatcher = dispatcher.unwrap_or_else(|(mode, problem)| {
                tracing::error!("{problem}");
                app::unconfigured_dispatcher(mode, problem)
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
            let dispatcher = dispatcher.map_err(|(_, problem)| problem)?;
            call(&dispatcher, "hub_status", serde_json::Value::Null, json).await
        }
        Command::Tools { .. } => unreachable!("handled before configuration is read"),
    }
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
        .map_err(|error| error.to_string())?;

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
/// it: there stdout carries the MCP protocol.
#[allow(clippy::print_stdout)]
fn print_output(text: &str) {
    println!("{text}");
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
async fn start_sandbox(
    options: &Cli,
    sources: &mut ConfigSources,
) -> Result<Option<mcp_google_hub::sandbox::Sandbox>, String> {
    use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};

    if !(options.sandbox || options.sandbox_mail.is_some() || options.sandbox_calendar.is_some()) {
        return Ok(None);
    }
    let sandbox = Sandbox::start(SandboxOptions {
        mail_dir: options.sandbox_mail.clone(),
        calendar_dir: options.sandbox_calendar.clone(),
        user_email: None,
    })
    .await
    .map_err(|error| format!("the sandbox could not start: {error}"))?;

    app::point_at_sandbox(sources, &sandbox);
    tracing::info!(
        url = %sandbox.base_url(),
        messages = sandbox.message_count(),
        events = sandbox.event_count(),
        "sandbox started"
    );
    Ok(Some(sandbox))
}

#[cfg(not(feature = "sandbox"))]
async fn start_sandbox(options: &Cli, _sources: &mut ConfigSources) -> Result<Option<()>, String> {
    if options.sandbox || options.sandbox_mail.is_some() || options.sandbox_calendar.is_some() {
        return Err(
            "this build has no sandbox feature; rebuild with --features sandbox".to_owned(),
        );
    }
    Ok(None)
}
