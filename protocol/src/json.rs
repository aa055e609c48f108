//! The JSON dialect of MLflow's proto3 JSON mapping, as the Python client speaks it.
//!
//! int64s may arrive as numbers or strings, doubles may be the strings `"NaN"`/`"Infinity"`, booleans
//! arrive from query strings as Python's `True`/`False`, and a repeated query key may appear once. These
//! deserializers accept all of that and nothing looser: a boolean is never a number, and an object is
//! never a string.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serializer};
use std::fmt;

/// Optional int64: a JSON number, or a string holding an integer (proto3 JSON's int64 form).
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom(format!("integer {v} out of range")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // proto3 JSON accepts 5.0 for an int64 but not 5.5.
            if v.fract() == 0.0 && v.abs() < 9.2e18 {
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(v as i64))
            } else {
                Err(E::invalid_type(de::Unexpected::Float(v), &self))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
    d.deserialize_option(V)
}

/// Optional double: a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"`, or a numeric string.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
        #[allow(clippy::cast_precision_loss)]
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        #[allow(clippy::cast_precision_loss)]
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_f64(v)
                .map(Some)
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
    d.deserialize_option(V)
}

fn parse_f64(v: &str) -> Option<f64> {
    match v.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        "Infinity" | "inf" | "Inf" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" | "-inf" | "-Inf" => Some(f64::NEG_INFINITY),
        s => s.parse::<f64>().ok().filter(|x| x.is_finite()),
    }
}

/// Optional bool: JSON true/false, or the strings `true`/`True`/`false`/`False` from a query string.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }
    d.deserialize_option(V)
}

/// A repeated string field: a JSON array (a query string's repeated key arrives as one, see
/// `extract::query_to_json`). A bare string is refused, as proto3 JSON does.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// A list that a query string may carry as a single value (`run_id=a` or `run_id=a&run_id=b`).
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(
        match Option::<OneOrMany>::deserialize(d)
            .map_err(|_| de::Error::custom("expected a list of strings"))?
        {
            None => Vec::new(),
            Some(OneOrMany::One(s)) => vec![s],
            Some(OneOrMany::Many(v)) => v,
        },
    )
}

/// A repeated message field; `null` is an empty list.
pub fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Doubles go out as numbers, except NaN/±Inf which proto3 JSON spells as strings.
pub fn ser_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if v.is_infinite() {
        s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        s.serialize_f64(*v)
    }
}

/// [`ser_f64`] as a JSON value, for requests built with `json!`.
pub fn f64_value(v: f64) -> serde_json::Value {
    ser_f64(&v, serde_json::value::Serializer).unwrap_or(serde_json::Value::Null)
}

/// Reads back what `ser_f64` wrote (used by the Rust client).
pub fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    opt_f64(d)?.ok_or_else(|| de::Error::custom("expected a number"))
}

/// Reads an int64 that may be a string (used by the Rust client).
pub fn de_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(opt_i64(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct T {
        #[serde(default, deserialize_with = "opt_i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "opt_f64")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "string_list")]
        l: Vec<String>,
    }

    fn parse(s: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(s)
    }

    #[test]
    fn int64_accepts_numbers_and_numeric_strings_only() {
        assert_eq!(parse(r#"{"i": 5}"#).unwrap().i, Some(5));
        assert_eq!(parse(r#"{"i": "5"}"#).unwrap().i, Some(5));
        assert_eq!(parse(r#"{"i": 5.0}"#).unwrap().i, Some(5));
        assert!(parse(r#"{"i": 5.5}"#).is_err());
        assert!(parse(r#"{"i": "x"}"#).is_err());
        assert!(parse(r#"{"i": true}"#).is_err());
        assert_eq!(parse(r#"{"i": null}"#).unwrap().i, None);
    }

    #[test]
    fn doubles_accept_the_proto_json_special_strings() {
        assert!(parse(r#"{"f": "NaN"}"#).unwrap().f.unwrap().is_nan());
        assert_eq!(
            parse(r#"{"f": "-Infinity"}"#).unwrap().f,
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(parse(r#"{"f": "1.5"}"#).unwrap().f, Some(1.5));
        assert!(parse(r#"{"f": false}"#).is_err());
        assert!(parse(r#"{"f": "abc"}"#).is_err());
    }

    #[test]
    fn booleans_accept_python_spelling_but_not_numbers() {
        assert_eq!(parse(r#"{"b": "True"}"#).unwrap().b, Some(true));
        assert_eq!(parse(r#"{"b": false}"#).unwrap().b, Some(false));
        assert!(parse(r#"{"b": 1}"#).is_err());
    }

    #[test]
    fn repeated_strings_must_be_a_list() {
        assert!(parse(r#"{"l": "a"}"#).is_err());
        assert_eq!(parse(r#"{"l": ["a", "b"]}"#).unwrap().l, vec!["a", "b"]);
        assert_eq!(parse(r#"{"l": null}"#).unwrap().l, Vec::<String>::new());
        assert!(parse(r#"{"l": [1]}"#).is_err());
    }

    #[test]
    fn special_doubles_serialize_as_strings() {
        #[derive(serde::Serialize)]
        struct S(#[serde(serialize_with = "ser_f64")] f64);
        assert_eq!(serde_json::to_string(&S(f64::NAN)).unwrap(), r#""NaN""#);
        assert_eq!(
            serde_json::to_string(&S(f64::INFINITY)).unwrap(),
            r#""Infinity""#
        );
        assert_eq!(serde_json::to_string(&S(1.5)).unwrap(), "1.5");
    }
}
