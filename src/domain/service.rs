//! The services: the credential cache every tool call goes through, and the tool
//! dispatcher that turns a tool name and JSON arguments into port calls.

mod credential_cache;
mod dispatcher;

pub use credential_cache::{CredentialCache, REFRESH_AHEAD};
pub use dispatcher::ToolDispatcher;
