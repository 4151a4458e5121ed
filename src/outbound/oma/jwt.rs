//! Reading the expiry of the user's OMA JWT, so the hub can warn before it runs out.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Utc};

/// base64url as JWTs use it (RFC 7515 section 2), also accepting padded input because
/// some issuers pad anyway.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads the `exp` claim (seconds since the Unix epoch) of a JWT without verifying it.
///
/// The signature is not checked because the token belongs to the OMA Backend, not to the
/// hub. The result is only a hint for warning the user before the token expires. Returns
/// `None` when the token does not have three dot-separated segments, its payload is not
/// base64url-encoded JSON, or the payload has no numeric `exp`.
pub fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    let mut segments = token.trim().split('.');
    let (Some(_header), Some(payload), Some(_signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return None;
    };

    let decoded = BASE64URL.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&decoded).ok()?;
    let exp = claims.as_object()?.get("exp")?;

    match exp.as_i64() {
        Some(seconds) => DateTime::from_timestamp(seconds, 0),
        // Some issuers write `exp` as a float. Fractions of a second do not matter here.
        None => exp
            .as_f64()
            .filter(|seconds| seconds.is_finite())
            .and_then(|seconds| DateTime::from_timestamp(seconds.floor() as i64, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with_payload(payload: &str) -> String {
        let header = BASE64URL.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = BASE64URL.encode(payload);
        format!("{header}.{payload}.c2lnbmF0dXJl")
    }

    #[test]
    fn valid_token_gives_exp() {
        let token = token_with_payload(r#"{"sub":"user@example.com","exp":1735725600}"#);
        let expected =
            DateTime::parse_from_rfc3339("2025-01-01T10:00:00Z").expect("valid timestamp");
        assert_eq!(jwt_expiry(&token), Some(expected.with_timezone(&Utc)));
    }

    #[test]
    fn float_exp_is_floored() {
        let token = token_with_payload(r#"{"exp":1735725600.9}"#);
        assert_eq!(
            jwt_expiry(&token).map(|exp| exp.timestamp()),
            Some(1_735_725_600)
        );
    }

    #[test]
    fn padded_payload_is_accepted() {
        let header = BASE64URL.encode("{}");
        let payload = base64::engine::general_purpose::URL_SAFE.encode(r#"{"exp": 1735725600}"#);
        assert!(
            payload.ends_with('='),
            "the test needs a padded payload: {payload}"
        );
        assert_eq!(
            jwt_expiry(&format!("{header}.{payload}.sig")).map(|exp| exp.timestamp()),
            Some(1_735_725_600)
        );
    }

    #[test]
    fn missing_exp_gives_none() {
        assert_eq!(jwt_expiry(&token_with_payload(r#"{"sub":"user"}"#)), None);
    }

    #[test]
    fn non_numeric_exp_gives_none() {
        assert_eq!(
            jwt_expiry(&token_with_payload(r#"{"exp":"tomorrow"}"#)),
            None
        );
        assert_eq!(jwt_expiry(&token_with_payload(r#"{"exp":1e300}"#)), None);
    }

    #[test]
    fn garbage_gives_none() {
        assert_eq!(jwt_expiry("not a token"), None);
        assert_eq!(jwt_expiry("a.%%%.c"), None);
        assert_eq!(
            jwt_expiry(&format!("a.{}.c", BASE64URL.encode("not json"))),
            None
        );
        assert_eq!(jwt_expiry(&token_with_payload("[1, 2, 3]")), None);
        assert_eq!(jwt_expiry(""), None);
    }

    #[test]
    fn wrong_segment_count_gives_none() {
        let token = token_with_payload(r#"{"exp":1735725600}"#);
        let (two_segments, _) = token.rsplit_once('.').expect("three segments");
        assert_eq!(jwt_expiry(two_segments), None);
        assert_eq!(jwt_expiry(&format!("{token}.extra")), None);
    }
}
