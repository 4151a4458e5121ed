//! Driving adapters: the ways clients reach the tool dispatcher.

#[cfg(feature = "mcp-stdio")]
pub mod mcp;
