//! What a webhook can subscribe to: MLflow's `entity.action` events, plus mltrack's stage transition.
//!
//! On the wire an event is `{"entity": "MODEL_VERSION", "action": "CREATED"}` (proto enum names, or
//! their numbers); in the store, in payloads and in docs it is `model_version.created`, as MLflow
//! writes it. The entity/action pairs MLflow allows are exactly `VALID_ENTITY_ACTIONS` of
//! `mlflow/entities/webhook.py`; anything else is refused with MLflow's message.

use crate::search::pyrepr::py_list;
use protocol::names::Invalid;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    RegisteredModel,
    ModelVersion,
    ModelVersionTag,
    ModelVersionAlias,
    Prompt,
    PromptVersion,
    PromptTag,
    PromptVersionTag,
    PromptAlias,
    /// mltrack's own: a model version moved to another stage.
    ModelVersionStage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Created,
    Updated,
    Deleted,
    Set,
    /// mltrack's own, for `model_version_stage`.
    Transitioned,
}

/// (entity, lowercase name, proto enum number). mltrack's entity has no number: MLflow's protos
/// do not know it, so it travels by name only.
const ENTITIES: &[(Entity, &str, Option<i64>)] = &[
    (Entity::RegisteredModel, "registered_model", Some(1)),
    (Entity::ModelVersion, "model_version", Some(2)),
    (Entity::ModelVersionTag, "model_version_tag", Some(3)),
    (Entity::ModelVersionAlias, "model_version_alias", Some(4)),
    (Entity::Prompt, "prompt", Some(5)),
    (Entity::PromptVersion, "prompt_version", Some(6)),
    (Entity::PromptTag, "prompt_tag", Some(7)),
    (Entity::PromptVersionTag, "prompt_version_tag", Some(8)),
    (Entity::PromptAlias, "prompt_alias", Some(9)),
    (Entity::ModelVersionStage, "model_version_stage", None),
];

const ACTIONS: &[(Action, &str, Option<i64>)] = &[
    (Action::Created, "created", Some(1)),
    (Action::Updated, "updated", Some(2)),
    (Action::Deleted, "deleted", Some(3)),
    (Action::Set, "set", Some(4)),
    (Action::Transitioned, "transitioned", None),
];

impl Entity {
    pub fn as_str(self) -> &'static str {
        ENTITIES.iter().find(|e| e.0 == self).map_or("", |e| e.1)
    }

    fn parse(name: &str) -> Option<Self> {
        ENTITIES.iter().find(|e| e.1 == name).map(|e| e.0)
    }

    /// The actions MLflow allows for this entity (sorted, as MLflow lists them in its message).
    fn valid_actions(self) -> &'static [Action] {
        match self {
            Self::RegisteredModel | Self::ModelVersion | Self::Prompt | Self::PromptVersion => {
                &[Action::Created]
            }
            Self::ModelVersionTag | Self::PromptTag | Self::PromptVersionTag => {
                &[Action::Deleted, Action::Set]
            }
            Self::ModelVersionAlias | Self::PromptAlias => &[Action::Created, Action::Deleted],
            Self::ModelVersionStage => &[Action::Transitioned],
        }
    }
}

impl Action {
    pub fn as_str(self) -> &'static str {
        ACTIONS.iter().find(|a| a.0 == self).map_or("", |a| a.1)
    }

    fn parse(name: &str) -> Option<Self> {
        ACTIONS.iter().find(|a| a.1 == name).map(|a| a.0)
    }
}

/// A valid (entity, action) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    pub entity: Entity,
    pub action: Action,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.entity.as_str(), self.action.as_str())
    }
}

impl Event {
    pub const fn new(entity: Entity, action: Action) -> Self {
        Self { entity, action }
    }

    /// MLflow's check of the pair, with its message.
    pub fn checked(entity: Entity, action: Action) -> Result<Self, Invalid> {
        if entity.valid_actions().contains(&action) {
            return Ok(Self { entity, action });
        }
        let valid: Vec<String> = entity
            .valid_actions()
            .iter()
            .map(|a| a.as_str().to_string())
            .collect();
        Err(Invalid(format!(
            "Invalid action '{}' for entity '{}'. Valid actions are: {}",
            action.as_str(),
            entity.as_str(),
            py_list(&valid)
        )))
    }

    /// Events MLflow's clients know. The others are mltrack's and travel in `mltrack_events`, since
    /// MLflow's client refuses to read a webhook that lists an event it does not know.
    pub fn is_mlflow(self) -> bool {
        self.entity != Entity::ModelVersionStage
    }

    /// From the stored names (`model_version`, `created`); `None` for names a newer server wrote.
    pub fn from_names(entity: &str, action: &str) -> Option<Self> {
        let (entity, action) = (Entity::parse(entity)?, Action::parse(action)?);
        entity
            .valid_actions()
            .contains(&action)
            .then_some(Self { entity, action })
    }

    /// `{"entity": "MODEL_VERSION", "action": "CREATED"}`, as MLflow's proto JSON writes it.
    pub fn to_wire(self) -> Value {
        json!({
            "entity": self.entity.as_str().to_ascii_uppercase(),
            "action": self.action.as_str().to_ascii_uppercase(),
        })
    }

    /// One event of a request: the proto JSON object (enum names or numbers), or, for hand-written
    /// requests, the `"model_version.created"` string form MLflow's docs use.
    pub fn from_wire(value: &Value, field: &str) -> Result<Self, Invalid> {
        let (entity, action) = match value {
            Value::String(s) => match s.split_once('.') {
                Some((e, a)) => (
                    Entity::parse(e).ok_or_else(|| unknown(field, "entity", e))?,
                    Action::parse(a).ok_or_else(|| unknown(field, "action", a))?,
                ),
                None => {
                    return Err(Invalid(format!(
                        "Invalid event string format: {s}. Expected format: 'entity.action' (e.g., \
                         'registered_model.created')"
                    )))
                }
            },
            Value::Object(map) => {
                let entity = wire_enum(map.get("entity"), field, "entity", ENTITIES)?;
                let action = wire_enum(map.get("action"), field, "action", ACTIONS)?;
                (entity, action)
            }
            other => {
                return Err(Invalid(format!(
                    "Invalid value {} for parameter '{field}' supplied: an event is an object \
                     {{\"entity\": …, \"action\": …}}. See the API docs for more information about \
                     request parameters.",
                    compact(other)
                )))
            }
        };
        Self::checked(entity, action)
    }
}

fn unknown(field: &str, part: &str, value: &str) -> Invalid {
    Invalid(format!(
        "Invalid value {} for parameter '{field}.{part}' supplied: unknown webhook {part}. See the \
         API docs for more information about request parameters.",
        compact(&Value::String(value.to_string()))
    ))
}

/// An enum field of an event: `"MODEL_VERSION"` (any case) or its proto number.
fn wire_enum<T: Copy>(
    value: Option<&Value>,
    field: &str,
    part: &str,
    table: &[(T, &str, Option<i64>)],
) -> Result<T, Invalid> {
    let found = match value {
        None | Some(Value::Null) => {
            return Err(Invalid::missing(&format!("{field}.{part}")));
        }
        Some(Value::String(s)) => table
            .iter()
            .find(|row| row.1.eq_ignore_ascii_case(s))
            .map(|row| row.0),
        Some(Value::Number(n)) => table
            .iter()
            .find(|row| row.2.is_some() && row.2 == n.as_i64())
            .map(|row| row.0),
        Some(_) => None,
    };
    found.ok_or_else(|| {
        Invalid(format!(
            "Invalid value {} for parameter '{field}.{part}' supplied: unknown webhook {part}. See \
             the API docs for more information about request parameters.",
            compact(value.unwrap_or(&Value::Null))
        ))
    })
}

/// `json.dumps(value, sort_keys=True, separators=(",", ":"))`, as MLflow's `invalid_value` shows it.
pub(crate) fn compact(value: &Value) -> String {
    crate::search::pyrepr::json_dumps_compact(value)
}

/// Every event a webhook can subscribe to, MLflow's first, in MLflow's documented order.
pub const ALL: &[Event] = &[
    Event::new(Entity::RegisteredModel, Action::Created),
    Event::new(Entity::ModelVersion, Action::Created),
    Event::new(Entity::ModelVersionTag, Action::Set),
    Event::new(Entity::ModelVersionTag, Action::Deleted),
    Event::new(Entity::ModelVersionAlias, Action::Created),
    Event::new(Entity::ModelVersionAlias, Action::Deleted),
    Event::new(Entity::Prompt, Action::Created),
    Event::new(Entity::PromptVersion, Action::Created),
    Event::new(Entity::PromptTag, Action::Set),
    Event::new(Entity::PromptTag, Action::Deleted),
    Event::new(Entity::PromptVersionTag, Action::Set),
    Event::new(Entity::PromptVersionTag, Action::Deleted),
    Event::new(Entity::PromptAlias, Action::Created),
    Event::new(Entity::PromptAlias, Action::Deleted),
    Event::new(Entity::ModelVersionStage, Action::Transitioned),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_round_trip() {
        for e in ALL {
            assert_eq!(Event::from_wire(&e.to_wire(), "events").unwrap(), *e);
            let text = Value::String(e.to_string());
            assert_eq!(Event::from_wire(&text, "events").unwrap(), *e);
            assert_eq!(
                Event::from_names(e.entity.as_str(), e.action.as_str()),
                Some(*e)
            );
        }
        let numeric = json!({"entity": 2, "action": 1});
        assert_eq!(
            Event::from_wire(&numeric, "events").unwrap().to_string(),
            "model_version.created"
        );
    }

    #[test]
    fn invalid_pairs_get_mlflows_message() {
        let err = Event::from_wire(
            &json!({"entity": "MODEL_VERSION", "action": "SET"}),
            "events",
        )
        .unwrap_err();
        assert_eq!(
            err.0,
            "Invalid action 'set' for entity 'model_version'. Valid actions are: ['created']"
        );
        let err = Event::from_wire(
            &json!({"entity": "MODEL_VERSION_TAG", "action": "CREATED"}),
            "events",
        )
        .unwrap_err();
        assert!(err.0.ends_with("Valid actions are: ['deleted', 'set']"));
        assert!(
            Event::from_wire(&json!({"entity": "NOPE", "action": "CREATED"}), "events").is_err()
        );
        assert!(Event::from_wire(&json!({"action": "CREATED"}), "events").is_err());
        assert!(Event::from_wire(&json!(7), "events").is_err());
    }
}
