//! The tool catalog.
