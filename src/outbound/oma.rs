//! The OMA Backend client (feature `oma-backend`).
