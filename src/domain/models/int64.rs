//! Serde helpers for Google's int64 fields, which its JSON carries as decimal strings.
//!
//! Deserialization also takes plain numbers, because some clients and older responses send
//! them unquoted.

use serde::{Deserialize, Deserializer, Serializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Number(i64),
}

pub(crate) fn serialize<S: Serializer>(
    value: &Option<i64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(number) => serializer.serialize_str(&number.to_string()),
        None => serializer.serialize_none(),
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    let value = Option::<StringOrNumber>::deserialize(deserializer)?;
    match value {
        None => Ok(None),
        Some(StringOrNumber::Number(number)) => Ok(Some(number)),
        Some(StringOrNumber::String(text)) => text.trim().parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("expected an int64 string, got {text:?}"))
        }),
    }
}
