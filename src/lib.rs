//! mcp-google-hub gives LLM agents fast, safe access to one person's Gmail and Google
//! Calendar as MCP tools, as a binary for MCP clients and as a library for Rust agents.
//!
//! Google credentials come from a port, [`domain::ports::CredentialProvider`]:
//!
//! - `oma_backend` (the default): an auth server, the OMA Backend, holds the user's Google
//!   tokens and hands out fresh ones for the user's OMA JWT. No Google secret is stored by
//!   the hub.
//! - `local_file`: Google's authorized-user token file, in the format Python's google-auth
//!   writes.
//!
//! # Layout
//!
//! - [`domain`]: models, ports, the credential cache and the tool catalog and dispatcher.
//!   It performs no I/O and depends on no optional feature.
//! - [`outbound`]: the HTTP clients behind the ports (Google always; OMA and token files by
//!   feature).
//! - [`inbound`]: the MCP server over stdio.
//! - [`sandbox`]: an embedded loopback server that speaks the OMA and Google APIs.
//! - [`config`] and [`app`]: configuration and the composition root.
//!
//! # Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `oma-backend` | yes | the OMA Backend credential provider |
//! | `local-file` | yes | the token-file credential provider and `auth login` |
//! | `mcp-stdio` | yes | the MCP server over stdio (rmcp) |
//! | `sandbox` | yes | the embedded sandbox (axum, mail-parser, icalendar) |
//! | `test-util` | no | mockall mocks of the ports for embedders' tests |
//!
//! # Embedding
//!
//! An agent builds a [`ToolDispatcher`] over any credential provider and calls tools by
//! name with JSON arguments; `examples/` has complete programs.
//!
//! ```no_run
//! # async fn demo(provider: std::sync::Arc<dyn mcp_google_hub::domain::ports::CredentialProvider>) {
//! use std::sync::Arc;
//! use mcp_google_hub::domain::tools::{ToolContext, ToolSettings};
//! use mcp_google_hub::outbound::google::{CalendarClient, GmailClient, GoogleEndpoints};
//! use mcp_google_hub::outbound::http::{HttpSettings, build_client};
//! use mcp_google_hub::{CredentialCache, ToolDispatcher};
//!
//! let http = build_client(&HttpSettings::default()).unwrap();
//! let endpoints = GoogleEndpoints::google();
//! let context = ToolContext::new(
//!     Arc::new(CredentialCache::new(provider)),
//!     Arc::new(GmailClient::new(http.clone(), &endpoints)),
//!     Arc::new(CalendarClient::new(http, &endpoints)),
//!     ToolSettings::default(),
//! );
//! let dispatcher = ToolDispatcher::new(context);
//! let unread = dispatcher.call("gmail_search_messages", serde_json::json!({"query": "is:unread"})).await;
//! # }
//! ```

pub mod app;
pub mod config;
pub mod domain;
pub mod inbound;
pub mod outbound;
#[cfg(feature = "sandbox")]
pub mod sandbox;

#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod fuzzing;

pub use domain::service::{CredentialCache, ToolDispatcher};
pub use domain::tools::{ToolDefinition, ToolError, ToolOutput};

/// Checks at compile time that the shared types can cross tasks and threads.
#[allow(dead_code)]
fn assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<ToolDispatcher>();
    check::<CredentialCache>();
    check::<domain::tools::ToolContext>();
}
