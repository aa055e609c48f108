//! The file store's `meta.yaml` files, read leniently: MLflow wrote different fields over the
//! years, numbers sometimes as strings (`experiment_id: '1'`), and `null` for unset ones.

use anyhow::{Context, Result};
use serde_yaml::{Mapping, Value};
use std::path::Path;

pub(super) struct Meta {
    map: Mapping,
}

impl Meta {
    pub(super) fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let value: Value = serde_yaml::from_str(&text)
            .with_context(|| format!("{} is not valid YAML", path.display()))?;
        match value {
            Value::Mapping(map) => Ok(Self { map }),
            _ => anyhow::bail!("{} is not a YAML mapping", path.display()),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A text field; numbers and booleans are given as YAML wrote them.
    pub(super) fn str(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub(super) fn int(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A nested mapping of text (the aliases of a registered model, an input's tags).
    pub(super) fn pairs(&self, key: &str) -> Vec<(String, String)> {
        let Some(Value::Mapping(map)) = self.get(key) else {
            return Vec::new();
        };
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let mut out: Vec<(String, String)> = map
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect();
        out.sort();
        out
    }
}
