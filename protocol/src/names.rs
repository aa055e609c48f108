//! What makes a run id, an entity key or an experiment name acceptable, as MLflow's server decides
//! (`mlflow/utils/validation.py`), with its wording: MLflow's tests match these messages.
//!
//! Each rule comes as a newtype that can only be built by parsing, so a function that takes a
//! [`RunId`] or an [`EntityKey`] knows the value was checked. The server parses at its edge; the
//! client uses the same rules to make keys the server will accept (`mltrack score` turns column
//! names into metric keys).

use crate::limits::{MAX_EXPERIMENT_NAME_LENGTH, MAX_KEY_LENGTH};
use std::fmt;

/// A value that breaks one of MLflow's rules; the message is MLflow's (`INVALID_PARAMETER_VALUE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    /// MLflow's wording for a required field that is absent or empty.
    pub fn missing(field: &str) -> Self {
        Self(format!(
            "Missing value for required parameter '{field}'. See the API docs for more information \
             about request parameters."
        ))
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

/// A run id: `_validate_run_id`'s `^[a-zA-Z0-9][\w\-]{0,255}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunId(String);
string_newtype!(RunId);

impl RunId {
    pub fn parse(id: impl Into<String>) -> Result<Self, Invalid> {
        let id = id.into();
        let mut chars = id.chars();
        let ok = id.len() <= 256
            && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(Self(id))
        } else {
            Err(Invalid(format!("Invalid run ID: '{id}'")))
        }
    }
}

/// Which entity a key names; it only changes the wording of the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Metric,
    Param,
    Tag,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Metric => "metric",
            Self::Param => "param",
            Self::Tag => "tag",
        }
    }
}

/// A metric name, param key or tag key: `_validate_metric_name` / `_validate_param_name` /
/// `_validate_tag_name` — allowed characters, length, and path safety (a key may become a file
/// name, so it must not resolve to another name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityKey(String);
string_newtype!(EntityKey);

impl EntityKey {
    pub fn parse(kind: KeyKind, key: impl Into<String>) -> Result<Self, Invalid> {
        let key = key.into();
        let kind = kind.as_str();
        let allowed = key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/' | ':'));
        if !allowed {
            return Err(Invalid(format!(
                "Invalid {kind} name: '{key}'. Names may only contain alphanumerics, underscores (_), \
                 dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
            )));
        }
        if let Some(resolved) = unsafe_path_resolution(&key) {
            return Err(Invalid(format!(
                "Invalid {kind} name: '{key}'. Names may be treated as files in certain cases, and must \
                 not resolve to other names when treated as such. This name would resolve to \
                 '{resolved}'"
            )));
        }
        check_length(&format!("{kind} name"), &key, MAX_KEY_LENGTH)?;
        Ok(Self(key))
    }
}

/// An experiment name: present, not blank, at most 500 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExperimentName(String);
string_newtype!(ExperimentName);

impl ExperimentName {
    pub fn parse(name: impl Into<String>) -> Result<Self, Invalid> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Invalid(format!("Invalid experiment name: '{name}'")));
        }
        check_length("Experiment name", &name, MAX_EXPERIMENT_NAME_LENGTH)?;
        Ok(Self(name))
    }
}

/// An experiment id. The SQL stores number experiments; anything else names no experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExperimentId(i64);

impl ExperimentId {
    pub fn parse(id: &str) -> Result<Self, Invalid> {
        id.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Self)
            .ok_or_else(|| Invalid(format!("Invalid experiment ID: '{id}'")))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ExperimentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `_validate_length_limit`'s message.
pub fn check_length(what: &str, value: &str, max: usize) -> Result<(), Invalid> {
    let len = value.chars().count();
    if len > max {
        let shown = if len > 80 {
            format!("{}...", value.chars().take(80).collect::<String>())
        } else {
            value.to_string()
        };
        return Err(Invalid(format!(
            "{what} '{shown}' had length {len}, which exceeded length limit of {max}"
        )));
    }
    Ok(())
}

/// What `posixpath.normpath` makes of `name` when that differs from `name`.
fn unsafe_path_resolution(name: &str) -> Option<String> {
    let absolute = name.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let mut normalized = parts.join("/");
    if absolute {
        normalized.insert(0, '/');
    }
    if normalized.is_empty() {
        normalized.push('.');
    }
    let unsafe_name = normalized != name
        || normalized == "."
        || normalized.starts_with("..")
        || normalized.starts_with('/');
    unsafe_name.then_some(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_err(key: &str) -> String {
        EntityKey::parse(KeyKind::Metric, key).unwrap_err().0
    }

    #[test]
    fn path_unsafe_keys_are_rejected_with_their_resolution() {
        for (key, resolved) in [
            ("../x", "../x"),
            ("a//b", "a/b"),
            ("/abs", "/abs"),
            ("a/", "a"),
            (".", "."),
        ] {
            let msg = key_err(key);
            assert!(
                msg.contains(&format!("would resolve to '{resolved}'")),
                "{key}: {msg}"
            );
        }
        assert!(EntityKey::parse(KeyKind::Metric, "a/b.c d:e-f_g").is_ok());
        assert!(EntityKey::parse(KeyKind::Metric, "a/../b").is_err());
    }

    #[test]
    fn keys_with_forbidden_characters_or_too_long_are_rejected() {
        assert!(key_err("a$b").starts_with("Invalid metric name: 'a$b'"));
        assert!(EntityKey::parse(KeyKind::Param, "k".repeat(250)).is_ok());
        let msg = EntityKey::parse(KeyKind::Param, "k".repeat(251))
            .unwrap_err()
            .0;
        assert!(msg.contains("param name 'kkkk"), "{msg}");
        assert!(msg.contains("exceeded length limit of 250"), "{msg}");
        assert!(
            msg.contains("..."),
            "long values are shortened in the message: {msg}"
        );
    }

    #[test]
    fn run_ids_follow_mlflow_pattern() {
        assert!(RunId::parse("0123abcd").is_ok());
        assert!(RunId::parse("a-b_c").is_ok());
        assert!(RunId::parse("_abc").is_err());
        assert!(RunId::parse("a/b").is_err());
        assert!(RunId::parse("a".repeat(257)).is_err());
    }

    #[test]
    fn experiment_names_and_ids() {
        assert!(ExperimentName::parse("  ").is_err());
        assert!(ExperimentName::parse("x".repeat(501)).is_err());
        assert_eq!(ExperimentName::parse("demo").unwrap().as_str(), "demo");
        assert_eq!(ExperimentId::parse(" 7 ").unwrap().get(), 7);
        assert_eq!(
            ExperimentId::parse("-1").unwrap_err().0,
            "Invalid experiment ID: '-1'"
        );
        assert!(ExperimentId::parse("abc").is_err());
    }
}
