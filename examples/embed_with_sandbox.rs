//! Embeds the hub in a Rust program: starts the sandbox in-process, builds the dispatcher
//! from a configuration pointed at it, and calls tools by name, as an agent would.
//!
//! Run with `cargo run --example embed_with_sandbox`.

#![allow(clippy::print_stdout)] // An example program prints its results.

use mcp_google_hub::app;
use mcp_google_hub::config::{Config, ConfigSources};
use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;

    // A real agent would read its configuration with `ConfigSources::load(None)`.
    let mut sources = ConfigSources::default();
    app::point_at_sandbox(&mut sources, &sandbox);
    let config = Config::from_sources(&sources)?;
    let dispatcher = app::build_dispatcher(&config)?;

    let unread = dispatcher
        .call(
            "gmail_search_messages",
            json!({"query": "is:unread", "max_results": 5}),
        )
        .await?;
    println!("{}\n", unread.text);

    let labels = dispatcher.call("gmail_list_labels", json!({})).await?;
    println!("{}", labels.text);

    sandbox.shutdown().await;
    Ok(())
}
