//! Where the hub's Google credentials come from.

use std::fmt;
use std::str::FromStr;

/// The source of Google credentials, set by `AUTH_MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthMode {
    /// Fetch fresh Google tokens from the OMA Backend with the user's OMA JWT.
    #[default]
    OmaBackend,
    /// Read Google's client-secrets and authorized-user token files and refresh them locally.
    LocalFile,
}

impl AuthMode {
    /// Every mode with the spelling `AUTH_MODE` takes.
    pub const ALL: [Self; 2] = [Self::OmaBackend, Self::LocalFile];

    /// The spelling used by `AUTH_MODE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OmaBackend => "oma_backend",
            Self::LocalFile => "local_file",
        }
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `AUTH_MODE` value that names no known mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid AUTH_MODE {value:?}: expected one of oma_backend, local_file")]
pub struct ParseAuthModeError {
    /// The rejected value, as given.
    pub value: String,
}

impl FromStr for AuthMode {
    type Err = ParseAuthModeError;

    /// Parses a mode name. Case and a `-` in place of `_` are accepted, because shells and
    /// `.env` files written by hand vary in both.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let normalized = value.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == normalized)
            .ok_or_else(|| ParseAuthModeError {
                value: value.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_modes() {
        assert_eq!("oma_backend".parse(), Ok(AuthMode::OmaBackend));
        assert_eq!("local_file".parse(), Ok(AuthMode::LocalFile));
        assert_eq!(" Local-File ".parse(), Ok(AuthMode::LocalFile));
    }

    #[test]
    fn unknown_mode_lists_valid_ones() {
        let error = "oauth".parse::<AuthMode>().unwrap_err();
        let message = error.to_string();
        assert!(message.contains("\"oauth\""), "{message}");
        assert!(message.contains("oma_backend, local_file"), "{message}");
    }

    #[test]
    fn default_is_oma_backend() {
        assert_eq!(AuthMode::default(), AuthMode::OmaBackend);
    }
}
