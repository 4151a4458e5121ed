//! The embedded sandbox (feature `sandbox`).

mod calendar;
mod google_error;
