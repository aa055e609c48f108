//! MLflow's offset page token: base64 of the JSON `{"offset": N}`.
//!
//! Tokens are opaque to clients, but using MLflow's exact encoding (including the space that
//! Python's `json.dumps` puts after the colon) keeps tokens interchangeable with the reference,
//! and decoding reports failures with its messages.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::Value;

use super::error::SearchError;
use super::pyrepr::{py_bytes, py_json};

/// Python's `b64decode` also takes input whose padding was stripped in transit.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// MLflow's token: base64 of JSON {"offset": N}.
pub fn encode_page_token(offset: u64) -> String {
    STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// None or "" -> 0. Garbage -> "Invalid page token, could not base64-decode" or one of
/// MLflow's "Invalid page token, ..." messages for a token that decodes to the wrong shape.
pub fn decode_page_token(token: Option<&str>) -> Result<u64, SearchError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    // Like Python's non-validating b64decode, ignore characters outside the alphabet (such as
    // a newline); a token made only of such characters decodes to nothing and fails below.
    let cleaned: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    let bytes = LENIENT
        .decode(cleaned)
        .map_err(|_| SearchError::new("Invalid page token, could not base64-decode"))?;
    let parsed: Value = serde_json::from_slice(&bytes).map_err(|_| {
        SearchError(format!(
            "Invalid page token, decoded value={}",
            py_bytes(&bytes)
        ))
    })?;
    let shape_error = || {
        SearchError(format!(
            "Invalid page token, parsed value={}",
            py_json(&parsed)
        ))
    };
    let offset = parsed.get("offset").ok_or_else(shape_error)?;
    let not_stringable = || {
        SearchError(format!(
            "Invalid page token, not stringable {}",
            match offset {
                Value::String(s) => s.clone(),
                other => py_json(other),
            }
        ))
    };
    match offset {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(u)
            } else if n.as_i64().is_some() {
                // A negative offset would make MLflow slice from the end; refuse it instead.
                Err(shape_error())
            } else {
                // Python's int() truncates a float offset.
                match n.as_f64() {
                    Some(f) if f.is_finite() && f >= 0.0 && f < u64::MAX as f64 => {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        let offset = f.trunc() as u64; // in range: checked just above
                        Ok(offset)
                    }
                    _ => Err(shape_error()),
                }
            }
        }
        Value::String(s) => {
            let t = s.trim();
            t.strip_prefix('+')
                .unwrap_or(t)
                .parse::<u64>()
                .map_err(|_| not_stringable())
        }
        Value::Null => Err(shape_error()),
        _ => Err(not_stringable()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_for(json: &str) -> String {
        STANDARD.encode(json)
    }

    fn err(token: &str) -> String {
        decode_page_token(Some(token)).expect_err(token).0
    }

    #[test]
    fn encoding_matches_mlflow_byte_for_byte() {
        // base64.b64encode(json.dumps({"offset": 10}).encode("utf-8"))
        assert_eq!(encode_page_token(10), "eyJvZmZzZXQiOiAxMH0=");
    }

    #[test]
    fn tokens_round_trip() {
        for offset in [0, 1, 10, 1000, 50_000, u64::MAX] {
            assert_eq!(
                decode_page_token(Some(&encode_page_token(offset))).unwrap(),
                offset
            );
        }
    }

    #[test]
    fn missing_or_empty_token_means_the_first_page() {
        assert_eq!(decode_page_token(None).unwrap(), 0);
        assert_eq!(decode_page_token(Some("")).unwrap(), 0);
    }

    #[test]
    fn undecodable_base64_is_rejected() {
        assert_eq!(err("abcde"), "Invalid page token, could not base64-decode");
        assert_eq!(err("ab=cd"), "Invalid page token, could not base64-decode");
    }

    #[test]
    fn non_json_payload_reports_the_decoded_bytes() {
        assert_eq!(
            err(&token_for("hello")),
            "Invalid page token, decoded value=b'hello'"
        );
        assert_eq!(err("!!!"), "Invalid page token, decoded value=b''");
        assert_eq!(
            err(&STANDARD.encode([0xff, 0x00])),
            "Invalid page token, decoded value=b'\\xff\\x00'"
        );
    }

    #[test]
    fn json_without_an_offset_reports_the_parsed_value() {
        assert_eq!(
            err(&token_for(r#"{"foo": 1}"#)),
            "Invalid page token, parsed value={'foo': 1}"
        );
        assert_eq!(
            err(&token_for(r#"{"offset": null}"#)),
            "Invalid page token, parsed value={'offset': None}"
        );
        assert_eq!(
            err(&token_for("[1]")),
            "Invalid page token, parsed value=[1]"
        );
        assert_eq!(
            err(&token_for(r#"{"offset": -5}"#)),
            "Invalid page token, parsed value={'offset': -5}"
        );
    }

    #[test]
    fn non_numeric_offsets_are_not_stringable() {
        assert_eq!(
            err(&token_for(r#"{"offset": "abc"}"#)),
            "Invalid page token, not stringable abc"
        );
        assert_eq!(
            err(&token_for(r#"{"offset": [1]}"#)),
            "Invalid page token, not stringable [1]"
        );
        assert_eq!(
            err(&token_for(r#"{"offset": true}"#)),
            "Invalid page token, not stringable True"
        );
    }

    #[test]
    fn offsets_python_would_accept_are_accepted() {
        let ok = |json: &str| decode_page_token(Some(&token_for(json))).unwrap();
        assert_eq!(ok(r#"{"offset": "25"}"#), 25);
        assert_eq!(ok(r#"{"offset": " 7 "}"#), 7);
        assert_eq!(ok(r#"{"offset": 12.9}"#), 12);
        assert_eq!(ok(r#"{"offset":3}"#), 3);
    }

    #[test]
    fn unpadded_and_line_wrapped_tokens_decode() {
        assert_eq!(decode_page_token(Some("eyJvZmZzZXQiOiAxMH0")).unwrap(), 10);
        assert_eq!(
            decode_page_token(Some("eyJvZmZz\nZXQiOiAxMH0=")).unwrap(),
            10
        );
    }
}
