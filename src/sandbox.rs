//! The embedded sandbox (feature `sandbox`).
