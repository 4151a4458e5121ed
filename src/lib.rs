//! placeholder
pub mod domain;
pub mod outbound;
#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use domain::service::{CredentialCache, ToolDispatcher};
