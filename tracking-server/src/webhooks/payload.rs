//! The bodies mltrack POSTs, byte for byte in MLflow's format.
//!
//! MLflow sends `json.dumps({"entity", "action", "timestamp", "data"})`: keys in that order, `", "`
//! and `": "` separators, non-ASCII escaped as `\uXXXX`, and `data` keys in the order of the payload
//! `TypedDict` (`mlflow/webhooks/types.py`). Receivers verify the signature over the raw bytes, so
//! any JSON would verify; matching the bytes means a receiver that was tested against MLflow sees
//! nothing new. `serde_json` sorts object keys, hence the small ordered value type here.

use super::events::{Action, Entity, Event};
use std::fmt::Write as _;

/// A JSON value whose objects keep their insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum PyJson {
    Null,
    Bool(bool),
    Str(String),
    Object(Vec<(String, PyJson)>),
}

impl From<&str> for PyJson {
    fn from(s: &str) -> Self {
        Self::Str(s.to_string())
    }
}

impl From<String> for PyJson {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<Option<String>> for PyJson {
    fn from(s: Option<String>) -> Self {
        s.map_or(Self::Null, Self::Str)
    }
}

impl PyJson {
    /// An object from (key, value) pairs in order.
    pub fn object<const N: usize>(pairs: [(&str, PyJson); N]) -> Self {
        Self::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// `{t.key: t.value for t in tags}`: a repeated key keeps its first place and its last value.
    pub fn tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut out: Vec<(String, PyJson)> = Vec::new();
        for (k, v) in tags {
            match out.iter_mut().find(|(key, _)| key == k) {
                Some(slot) => slot.1 = PyJson::from(v),
                None => out.push((k.to_string(), PyJson::from(v))),
            }
        }
        Self::Object(out)
    }

    /// `json.dumps(value)` with Python's defaults.
    pub fn dumps(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Str(s) => write_str(out, s),
            Self::Object(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_str(out, k);
                    out.push_str(": ");
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A string as `json.dumps(..., ensure_ascii=True)` writes it.
fn write_str(out: &mut String, s: &str) {
    out.push_str(&crate::search::pyrepr::json_str(s));
}

/// The whole request body: MLflow's envelope around one event's data.
pub fn envelope(event: Event, data: &PyJson, now_micros: i64) -> String {
    PyJson::object([
        ("entity", event.entity.as_str().into()),
        ("action", event.action.as_str().into()),
        ("timestamp", iso_timestamp(now_micros).into()),
        ("data", data.clone()),
    ])
    .dumps()
}

/// `datetime.now(timezone.utc).isoformat()`: `2025-07-31T08:27:32.080217+00:00` (Python leaves the
/// fraction out when it is exactly zero).
pub fn iso_timestamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = crate::calendar::civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if frac != 0 {
        let _ = write!(out, ".{frac:06}");
    }
    out.push_str("+00:00");
    out
}

/// The example payload `test_webhook` sends for an event (`get_example_payload_for_event`).
pub fn example(event: Event) -> PyJson {
    let tags = || PyJson::tags([("example_key", "example_value")]);
    match (event.entity, event.action) {
        (Entity::RegisteredModel, _) => PyJson::object([
            ("name", "example_model".into()),
            ("tags", tags()),
            ("description", "An example registered model".into()),
        ]),
        (Entity::ModelVersion, _) => PyJson::object([
            ("name", "example_model".into()),
            ("version", "1".into()),
            ("source", "models:/123".into()),
            ("run_id", "abcd1234abcd5678".into()),
            ("tags", tags()),
            ("description", "An example model version".into()),
        ]),
        (Entity::ModelVersionTag | Entity::PromptVersionTag, action) => {
            let name = if event.entity == Entity::ModelVersionTag {
                "example_model"
            } else {
                "example_prompt"
            };
            let mut pairs = vec![
                ("name".to_string(), PyJson::from(name)),
                ("version".to_string(), "1".into()),
                ("key".to_string(), "example_key".into()),
            ];
            if action == Action::Set {
                pairs.push(("value".to_string(), "example_value".into()));
            }
            PyJson::Object(pairs)
        }
        (Entity::ModelVersionAlias | Entity::PromptAlias, action) => {
            let name = if event.entity == Entity::ModelVersionAlias {
                "example_model"
            } else {
                "example_prompt"
            };
            let mut pairs = vec![
                ("name".to_string(), PyJson::from(name)),
                ("alias".to_string(), "example_alias".into()),
            ];
            if action == Action::Created {
                pairs.push(("version".to_string(), "1".into()));
            }
            PyJson::Object(pairs)
        }
        (Entity::Prompt, _) => PyJson::object([
            ("name", "example_prompt".into()),
            ("tags", tags()),
            ("description", "An example prompt".into()),
        ]),
        (Entity::PromptVersion, _) => PyJson::object([
            ("name", "example_prompt".into()),
            ("version", "1".into()),
            ("template", "Hello {{name}}!".into()),
            ("tags", tags()),
            ("description", "An example prompt version".into()),
        ]),
        (Entity::PromptTag, action) => {
            let mut pairs = vec![
                ("name".to_string(), PyJson::from("example_prompt")),
                ("key".to_string(), "example_key".into()),
            ];
            if action == Action::Set {
                pairs.push(("value".to_string(), "example_value".into()));
            }
            PyJson::Object(pairs)
        }
        (Entity::ModelVersionStage, _) => PyJson::object([
            ("name", "example_model".into()),
            ("version", "1".into()),
            ("stage", "Production".into()),
            ("archive_existing_versions", PyJson::Bool(false)),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_pythons_json_dumps() {
        let data = PyJson::object([
            ("name", "m\u{e9}\u{1f600}\"x\n".into()),
            ("tags", PyJson::tags([("a", "1"), ("b", "2"), ("a", "3")])),
            ("description", PyJson::Null),
        ]);
        let event = Event::new(Entity::RegisteredModel, Action::Created);
        let body = envelope(event, &data, 1_753_950_452_080_217);
        assert_eq!(
            body,
            "{\"entity\": \"registered_model\", \"action\": \"created\", \"timestamp\": \
             \"2025-07-31T08:27:32.080217+00:00\", \"data\": {\"name\": \
             \"m\\u00e9\\ud83d\\ude00\\\"x\\n\", \"tags\": {\"a\": \"3\", \"b\": \"2\"}, \
             \"description\": null}}"
        );
        assert_eq!(iso_timestamp(0), "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn examples_match_mlflows() {
        let e = Event::new(Entity::ModelVersion, Action::Created);
        assert_eq!(
            example(e).dumps(),
            "{\"name\": \"example_model\", \"version\": \"1\", \"source\": \"models:/123\", \
             \"run_id\": \"abcd1234abcd5678\", \"tags\": {\"example_key\": \"example_value\"}, \
             \"description\": \"An example model version\"}"
        );
        let e = Event::new(Entity::ModelVersionAlias, Action::Deleted);
        assert_eq!(
            example(e).dumps(),
            "{\"name\": \"example_model\", \"alias\": \"example_alias\"}"
        );
    }
}
