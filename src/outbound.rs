//! Driven adapters: the HTTP clients behind the ports.

pub mod circuit_breaker;
pub mod fallback;
pub mod google;
pub mod google_oauth;
pub mod http;
#[cfg(feature = "local-file")]
pub mod local_file;
#[cfg(feature = "oma-backend")]
pub mod oma;
pub mod retry;
