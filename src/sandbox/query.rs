//! Query-string parameters with repeats kept, such as Gmail's `labelIds=A&labelIds=B`.
//!
//! axum's `Query` extractor deserializes through `serde_urlencoded`, which keeps only one
//! value of a repeated key, so the handlers parse the raw query here instead.

use super::google_error::GoogleErrorBody;

/// The decoded `name=value` pairs of one query string, in their original order.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Decodes a raw query string (without the `?`); `None` gives an empty set.
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|raw| {
                url::form_urlencoded::parse(raw.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// Returns the first value of `name`.
    pub(crate) fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the first value of `name` as an owned string.
    pub(crate) fn first_owned(&self, name: &str) -> Option<String> {
        self.first(name).map(str::to_owned)
    }

    /// Returns every value of `name`, in order. Google also accepts comma-separated lists in
    /// one value for repeated string parameters, so those are split too.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Parses a boolean parameter the way Google does: `true` or `false`, absent is `default`.
    ///
    /// # Errors
    ///
    /// Google's 400 for any other value.
    pub(crate) fn boolean(&self, name: &str, default: bool) -> Result<bool, GoogleErrorBody> {
        match self.first(name) {
            None => Ok(default),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(value) => Err(GoogleErrorBody::bad_request(format!(
                "Invalid value for boolean parameter {name}: {value:?}. Use true or false."
            ))),
        }
    }

    /// Parses an unsigned integer parameter, absent is `default`.
    ///
    /// # Errors
    ///
    /// Google's 400 for a value that is not a non-negative integer.
    pub(crate) fn unsigned(&self, name: &str, default: u32) -> Result<u32, GoogleErrorBody> {
        match self.first(name) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|_| {
                GoogleErrorBody::bad_request(format!(
                    "Invalid value for unsigned integer parameter {name}: {value:?}."
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_kept() {
        let params = QueryParams::parse(Some("labelIds=INBOX&labelIds=UNREAD&q=a+b%40c"));
        assert_eq!(params.all("labelIds"), ["INBOX", "UNREAD"]);
        assert_eq!(params.first("q"), Some("a b@c"));
        assert_eq!(params.first("missing"), None);
    }

    #[test]
    fn comma_lists_are_split() {
        let params = QueryParams::parse(Some("metadataHeaders=From,Subject&metadataHeaders=To"));
        assert_eq!(params.all("metadataHeaders"), ["From", "Subject", "To"]);
    }

    #[test]
    fn booleans_and_numbers_are_checked() {
        let params = QueryParams::parse(Some("a=true&b=FALSE&c=yes&n=12&m=-1"));
        assert_eq!(params.boolean("a", false), Ok(true));
        assert_eq!(params.boolean("b", true), Ok(false));
        assert_eq!(params.boolean("z", true), Ok(true));
        assert_eq!(
            params.boolean("c", false).map_err(|error| error.code),
            Err(400)
        );
        assert_eq!(params.unsigned("n", 5), Ok(12));
        assert_eq!(params.unsigned("z", 5), Ok(5));
        assert_eq!(
            params.unsigned("m", 5).map_err(|error| error.code),
            Err(400)
        );
    }
}
