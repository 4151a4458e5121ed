//! Google token files (feature `local-file`).
