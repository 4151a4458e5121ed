//! Gmail v1 and Calendar v3 REST clients, always built.
