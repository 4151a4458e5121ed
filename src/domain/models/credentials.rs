//! Google OAuth credentials as the hub holds them: secret tokens, expiry and scopes.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

/// How long before its stated expiry a token stops counting as usable.
///
/// A token that expires while a request is in flight fails with a 401 at Google, so the
/// hub treats the last minute of a token's life as already gone. The margin also covers
/// modest clock skew between the hub and whoever stated the expiry.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

macro_rules! secret_token {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// `Debug` and `Display` print `<redacted>`; only [`Self::expose_secret`] gives the
        /// value, so a token cannot reach a log through formatting by accident.
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a token value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            /// Returns the token value, for an `Authorization` header or a token file.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.expose_secret() == other.expose_secret()
            }
        }

        impl Eq for $name {}
    };
}

secret_token!(
    /// A Google OAuth access token, sent as `Authorization: Bearer` to Google's APIs.
    AccessToken
);
secret_token!(
    /// A Google OAuth refresh token, exchanged at the token endpoint for new access tokens.
    RefreshToken
);

/// A set of Google credentials for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The bearer token for API calls.
    pub access_token: AccessToken,
    /// The refresh token, where the source shares one. The OMA Backend may withhold it.
    pub refresh_token: Option<RefreshToken>,
    /// The token type, `Bearer` in every response Google sends.
    pub token_type: String,
    /// When the access token expires. `None` means unknown: the token is used until Google
    /// rejects it, never assumed to last forever.
    pub expires_at: Option<DateTime<Utc>>,
    /// The OAuth scopes granted to the token.
    pub scopes: Vec<String>,
    /// The Google account the token belongs to, where the source states it.
    pub account_email: Option<String>,
}

impl Credentials {
    /// Creates credentials with a `Bearer` access token and nothing else known.
    pub fn bearer(access_token: AccessToken) -> Self {
        Self {
            access_token,
            refresh_token: None,
            token_type: "Bearer".to_owned(),
            expires_at: None,
            scopes: Vec::new(),
            account_email: None,
        }
    }

    /// Returns whether the access token can still be sent at `now`, keeping
    /// [`EXPIRY_MARGIN`] in reserve. A token with an unknown expiry counts as usable.
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.remaining_at(now)
            .is_none_or(|remaining| remaining > EXPIRY_MARGIN)
    }

    /// Returns the time left before the stated expiry, zero once it has passed, or `None`
    /// when the expiry is unknown.
    pub fn remaining_at(&self, now: DateTime<Utc>) -> Option<Duration> {
        let expires_at = self.expires_at?;
        Some((expires_at - now).to_std().unwrap_or(Duration::ZERO))
    }
}

/// What a credential source reports about the connection to Google, for `hub_status`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderStatus {
    /// Whether the source holds Google credentials for this user.
    pub connected: bool,
    /// The Google account, where known.
    pub account_email: Option<String>,
    /// The granted scopes, where known.
    pub scopes: Vec<String>,
    /// The expiry of the current access token, where known.
    pub expires_at: Option<DateTime<Utc>>,
    /// One line on where the credentials come from, such as the OMA Backend's URL or the
    /// token file's path. Never a token.
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn expiring_in(seconds: i64, now: DateTime<Utc>) -> Credentials {
        Credentials {
            expires_at: Some(now + TimeDelta::seconds(seconds)),
            ..Credentials::bearer(AccessToken::new("ya29.secret-value"))
        }
    }

    #[test]
    fn debug_and_display_hide_tokens() {
        let credentials = Credentials {
            refresh_token: Some(RefreshToken::new("1//refresh-secret")),
            ..Credentials::bearer(AccessToken::new("ya29.secret-value"))
        };
        let debug = format!("{credentials:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("AccessToken(<redacted>)"), "{debug}");
        assert_eq!(credentials.access_token.to_string(), "<redacted>");
    }

    #[test]
    fn usable_until_margin() {
        let now = Utc::now();
        assert!(expiring_in(3600, now).is_usable_at(now));
        assert!(expiring_in(61, now).is_usable_at(now));
        assert!(!expiring_in(60, now).is_usable_at(now));
        assert!(!expiring_in(-10, now).is_usable_at(now));
    }

    #[test]
    fn unknown_expiry_is_usable() {
        let credentials = Credentials::bearer(AccessToken::new("token"));
        assert!(credentials.is_usable_at(Utc::now()));
        assert_eq!(credentials.remaining_at(Utc::now()), None);
    }

    #[test]
    fn remaining_is_zero_after_expiry() {
        let now = Utc::now();
        assert_eq!(expiring_in(-5, now).remaining_at(now), Some(Duration::ZERO));
    }
}
