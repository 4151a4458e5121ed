//! Validated identifiers for Gmail and Calendar resources.
//!
//! Ids reach the hub from the model, so they are checked before they are put into a URL:
//! non-empty, at most [`MAX_ID_LEN`] bytes, no whitespace or control characters. Adapters
//! still percent-encode them as path segments, because calendar ids contain `@` and `#`.

use std::fmt;

/// The longest id accepted, in bytes. Gmail attachment ids run to several hundred bytes;
/// nothing Google issues comes near this.
pub const MAX_ID_LEN: usize = 2048;

/// An id rejected by validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct InvalidId {
    /// Which kind of id, such as `message id`.
    pub kind: &'static str,
    /// Why it was rejected.
    pub reason: String,
}

macro_rules! resource_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id.
            ///
            /// # Errors
            ///
            /// Returns [`InvalidId`] when the id is empty, longer than [`MAX_ID_LEN`] bytes,
            /// or contains whitespace or a control character.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                validate(&value, $kind)?;
                Ok(Self(value))
            }

            /// Returns the id as sent to Google.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::new(value)
            }
        }
    };
}

resource_id!(
    /// A Gmail message id, as `users.messages.list` returns it.
    MessageId,
    "message id"
);
resource_id!(
    /// A Gmail thread id.
    ThreadId,
    "thread id"
);
resource_id!(
    /// A Gmail attachment id from a message part's `body.attachmentId`.
    AttachmentId,
    "attachment id"
);
resource_id!(
    /// A Gmail draft id, as `users.drafts.list` returns it.
    DraftId,
    "draft id"
);
resource_id!(
    /// A calendar id: an email address, a group calendar address, or `primary`.
    CalendarId,
    "calendar id"
);
resource_id!(
    /// A Calendar event id, including the instance suffix of a recurring event's occurrence.
    EventId,
    "event id"
);

impl CalendarId {
    /// The signed-in user's main calendar.
    pub fn primary() -> Self {
        Self("primary".to_owned())
    }
}

fn validate(value: &str, kind: &'static str) -> Result<(), InvalidId> {
    let reject = |reason: String| Err(InvalidId { kind, reason });

    if value.is_empty() {
        return reject("it is empty".to_owned());
    }
    if value.len() > MAX_ID_LEN {
        return reject(format!(
            "it is {} bytes long, the limit is {MAX_ID_LEN}",
            value.len()
        ));
    }
    // `.` and `..` would be resolved away as URL path segments and reach another resource.
    if value == "." || value == ".." {
        return reject(format!("{value:?} is not an id"));
    }
    if let Some(bad) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return reject(format!("it contains the character {bad:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_google_ids() {
        assert!(MessageId::new("18c2f4e5a1b2c3d4").is_ok());
        assert!(CalendarId::new("en.usa#holiday@group.v.calendar.google.com").is_ok());
        assert!(EventId::new("abc123_20240101T100000Z").is_ok());
    }

    #[test]
    fn rejects_empty_and_spaces() {
        let error = MessageId::new("").unwrap_err();
        assert_eq!(error.to_string(), "invalid message id: it is empty");
        let error = EventId::new("a b").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid event id: it contains the character ' '"
        );
        assert!(ThreadId::new("a\nb").is_err());
        assert!(MessageId::new("..").is_err());
        assert!(MessageId::new(".").is_err());
    }

    #[test]
    fn rejects_overlong() {
        let error = AttachmentId::new("a".repeat(MAX_ID_LEN + 1)).unwrap_err();
        assert!(error.reason.contains("the limit is 2048"), "{error}");
    }
}
