//! The core: value types, ports and the services built on them.
//!
//! Nothing here performs I/O or depends on an optional cargo feature. Adapters in
//! [`crate::outbound`] and [`crate::inbound`] plug into the ports defined in [`ports`].

pub mod access;
pub mod errors;
pub mod mail_compose;
pub mod mail_content;
pub mod models;
pub mod ports;
pub mod service;
pub mod tools;
pub mod zone;
