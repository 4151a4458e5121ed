//! Property tests of the parsers and codecs that read outside input: round trips where a
//! writer exists, and "never panics" where only a reader does.

use std::collections::HashMap;

use base64::Engine as _;
use mcp_google_hub::config::{Config, ConfigSources};
use mcp_google_hub::domain::mail_content::{decode_base64url, decode_header, encode_base64url};
use mcp_google_hub::domain::models::AuthMode;
use mcp_google_hub::domain::tools::cut_chars;
use proptest::prelude::*;

/// The variables the configuration reads, so that generated maps hit them often.
const KNOWN_VARIABLES: [&str; 9] = [
    "AUTH_MODE",
    "OMA_BACKEND_URL",
    "OMA_API_PREFIX",
    "OMA_ACCESS_TOKEN",
    "OMA_VERIFY_SSL",
    "OMA_TIMEOUT_SECS",
    "GOOGLE_CREDENTIALS_PATH",
    "GOOGLE_TOKEN_PATH",
    "GOOGLE_API_BASE_URL",
];

fn variable_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KNOWN_VARIABLES.to_vec()).prop_map(str::to_owned),
        1 => "[A-Z_]{1,16}",
    ]
}

fn variable_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("oma_backend".to_owned()),
        Just("local_file".to_owned()),
        Just("http://127.0.0.1:8000".to_owned()),
        "[0-9]{0,25}",
        any::<String>(),
    ]
}

fn variables() -> impl Strategy<Value = HashMap<String, String>> {
    proptest::collection::hash_map(variable_name(), variable_value(), 0..8)
}

proptest! {
    #[test]
    fn base64url_round_trip(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let encoded = encode_base64url(&data);

        prop_assert!(!encoded.contains('='));
        prop_assert_eq!(decode_base64url(&encoded).ok(), Some(data));
    }

    #[test]
    fn base64url_accepts_padding_and_standard(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let padded = base64::engine::general_purpose::URL_SAFE.encode(&data);
        let standard = base64::engine::general_purpose::STANDARD.encode(&data);
        let standard_no_pad = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&data);

        prop_assert_eq!(decode_base64url(&padded).ok(), Some(data.clone()));
        prop_assert_eq!(decode_base64url(&standard).ok(), Some(data.clone()));
        prop_assert_eq!(decode_base64url(&standard_no_pad).ok(), Some(data));
    }

    #[test]
    fn base64url_ignores_mime_line_breaks(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let standard = base64::engine::general_purpose::STANDARD.encode(&data);
        let wrapped: Vec<&str> = standard
            .as_bytes()
            .chunks(76)
            .map(|line| std::str::from_utf8(line).unwrap_or_default())
            .collect();

        prop_assert_eq!(decode_base64url(&wrapped.join("\r\n")).ok(), Some(data));
    }

    #[test]
    fn decode_header_never_panics(value in any::<String>()) {
        let _ = decode_header(&value);
    }

    #[test]
    fn decode_header_never_panics_on_encoded_words(
        charset in prop_oneof![
            Just("UTF-8".to_owned()),
            Just("iso-8859-1".to_owned()),
            Just("x-unknown".to_owned()),
            "[a-z0-9-]{0,10}",
        ],
        encoding in prop_oneof![Just("B"), Just("Q"), Just("b"), Just("q"), Just("X")],
        text in "[ -~]{0,40}",
        prefix in any::<String>(),
    ) {
        let value = format!("{prefix}=?{charset}?{encoding}?{text}?= tail");
        let _ = decode_header(&value);
    }

    #[test]
    fn decode_header_keeps_plain_text(value in any::<String>().prop_filter("no encoded word", |v| !v.contains("=?"))) {
        let decoded = decode_header(&value);

        prop_assert_eq!(decoded.as_ref(), value.as_str());
    }

    #[test]
    fn config_never_panics(
        environment in variables(),
        dotenv in variables(),
        overrides in variables(),
    ) {
        let mut sources = ConfigSources::from_maps(environment, dotenv);
        for (name, value) in &overrides {
            sources.set_override(name, value.clone());
        }

        let _ = Config::from_sources(&sources);
    }

    #[test]
    fn auth_mode_parse_never_panics(value in any::<String>()) {
        if let Ok(mode) = value.parse::<AuthMode>() {
            prop_assert_eq!(mode.as_str().parse::<AuthMode>().ok(), Some(mode));
        }
    }

    #[test]
    fn cut_chars_windows_rebuild_text(text in any::<String>(), window in 1_usize..64) {
        let total = text.chars().count();
        let mut rebuilt = String::new();
        let mut offset = 0;

        loop {
            let cut = cut_chars(&text, offset, window);
            prop_assert_eq!(cut.total_chars, total);
            prop_assert!(cut.text.chars().count() <= window);
            rebuilt.push_str(&cut.text);
            match cut.next_offset {
                Some(next) => {
                    prop_assert_eq!(next, offset + window);
                    offset = next;
                }
                None => break,
            }
        }

        prop_assert_eq!(rebuilt, text);
    }

    #[test]
    fn cut_chars_past_end_is_empty(text in any::<String>(), extra in 0_usize..10, window in 0_usize..10) {
        let cut = cut_chars(&text, text.chars().count() + extra, window);

        prop_assert_eq!(cut.text, "");
        prop_assert_eq!(cut.next_offset, None);
    }
}

#[test]
fn auth_mode_round_trips() {
    for mode in AuthMode::ALL {
        assert_eq!(mode.as_str().parse::<AuthMode>(), Ok(mode));
        assert_eq!(mode.to_string().parse::<AuthMode>(), Ok(mode));
        assert_eq!(
            mode.as_str()
                .to_uppercase()
                .replace('_', "-")
                .parse::<AuthMode>(),
            Ok(mode)
        );
    }
}

#[cfg(all(feature = "__fuzz", feature = "local-file"))]
mod token_file {
    use chrono::{DateTime, SecondsFormat, Utc};
    use mcp_google_hub::fuzzing;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    /// The generated content of a token file.
    #[derive(Debug, Clone)]
    struct Written {
        token: String,
        refresh_token: Option<String>,
        token_type: Option<String>,
        expiry: Option<DateTime<Utc>>,
        scopes: Vec<String>,
        account: Option<String>,
    }

    /// How the expiry is spelt, as the tools that write token files spell it.
    #[derive(Debug, Clone, Copy)]
    enum ExpiryForm {
        /// google-auth: naive UTC with microseconds, under `expiry`.
        GoogleAuthNaive,
        /// RFC 3339 with `Z`, under `expiry`.
        Rfc3339,
        /// Seconds since the epoch, under `expires_at`.
        EpochSeconds,
        /// Milliseconds since the epoch, under `expiry_date` (Node's googleapis).
        EpochMillis,
    }

    fn instant(form: ExpiryForm) -> impl Strategy<Value = DateTime<Utc>> {
        // Years 1970 to 2100; epoch forms carry only whole milliseconds or seconds.
        (0_i64..4_102_444_800, 0_u32..1_000_000).prop_map(move |(seconds, micros)| {
            let nanos = match form {
                ExpiryForm::GoogleAuthNaive | ExpiryForm::Rfc3339 => micros * 1000,
                ExpiryForm::EpochSeconds => 0,
                ExpiryForm::EpochMillis => micros / 1000 * 1_000_000,
            };
            DateTime::from_timestamp(seconds, nanos).unwrap_or_default()
        })
    }

    fn written() -> impl Strategy<Value = (Written, ExpiryForm)> {
        let form = prop_oneof![
            Just(ExpiryForm::GoogleAuthNaive),
            Just(ExpiryForm::Rfc3339),
            Just(ExpiryForm::EpochSeconds),
            Just(ExpiryForm::EpochMillis),
        ];
        form.prop_flat_map(|form| {
            // OAuth tokens are printable ASCII without spaces (RFC 6749 appendix A).
            (
                "[!-~]{1,60}",
                proptest::option::of("[!-~]{1,60}"),
                proptest::option::of("[A-Za-z]{1,10}"),
                proptest::option::of(instant(form)),
                proptest::collection::vec("[!-~]{1,30}", 0..4),
                proptest::option::of("[a-z]{1,8}@[a-z]{1,8}\\.com"),
            )
                .prop_map(
                    move |(token, refresh_token, token_type, expiry, scopes, account)| {
                        let written = Written {
                            token,
                            refresh_token,
                            token_type,
                            expiry,
                            scopes,
                            account,
                        };
                        (written, form)
                    },
                )
        })
    }

    /// Writes the token file as JSON in one of the formats other tools write; the entry
    /// point then rewrites it with the hub's own writer before the credentials are compared.
    fn write(written: &Written, form: ExpiryForm, use_google_auth_names: bool) -> String {
        let mut object = Map::new();
        let token_field = if use_google_auth_names {
            "token"
        } else {
            "access_token"
        };
        object.insert(token_field.into(), json!(written.token));
        if let Some(refresh) = &written.refresh_token {
            object.insert("refresh_token".into(), json!(refresh));
        }
        if let Some(token_type) = &written.token_type {
            object.insert("token_type".into(), json!(token_type));
        }
        if let Some(expiry) = written.expiry {
            let (field, value) = match form {
                ExpiryForm::GoogleAuthNaive => (
                    "expiry",
                    json!(
                        expiry
                            .naive_utc()
                            .format("%Y-%m-%dT%H:%M:%S%.6f")
                            .to_string()
                    ),
                ),
                ExpiryForm::Rfc3339 => (
                    "expiry",
                    json!(expiry.to_rfc3339_opts(SecondsFormat::Micros, true)),
                ),
                ExpiryForm::EpochSeconds => ("expires_at", json!(expiry.timestamp())),
                ExpiryForm::EpochMillis => ("expiry_date", json!(expiry.timestamp_millis())),
            };
            object.insert(field.into(), value);
        }
        if use_google_auth_names {
            object.insert("scopes".into(), json!(written.scopes));
        } else {
            object.insert("scope".into(), json!(written.scopes.join(" ")));
        }
        if let Some(account) = &written.account {
            let field = if use_google_auth_names {
                "account"
            } else {
                "email"
            };
            object.insert(field.into(), json!(account));
        }
        serde_json::to_string_pretty(&Value::Object(object)).unwrap_or_default()
    }

    proptest! {
        #[test]
        fn token_file_round_trip((written, form) in written(), google_auth_names in any::<bool>()) {
            let text = write(&written, form, google_auth_names);

            let parsed = fuzzing::token_file(text.as_bytes());
            prop_assert!(parsed.is_some(), "rejected {}", text);
            let parsed = parsed.unwrap_or_else(|| unreachable!());

            prop_assert_eq!(parsed.access_token.expose_secret(), written.token.as_str());
            prop_assert_eq!(
                parsed.refresh_token.as_ref().map(|token| token.expose_secret().to_owned()),
                written.refresh_token
            );
            prop_assert_eq!(
                parsed.token_type,
                written.token_type.clone().unwrap_or_else(|| "Bearer".to_owned())
            );
            prop_assert_eq!(parsed.expires_at, written.expiry);
            prop_assert_eq!(parsed.scopes, written.scopes);
            prop_assert_eq!(parsed.account_email, written.account);
        }

        #[test]
        fn token_file_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = fuzzing::token_file(&bytes);
        }
    }
}
