//! Which registry writes are events, and their payloads.
//!
//! A middleware on the registry routes watches the requests that MLflow's handlers follow with
//! `deliver_webhook`; when one succeeds, it builds the payload from the request's own values (as
//! MLflow does from `request_message`, e.g. `description` is `""` when a registered model was created
//! without one) and queues a delivery per subscribed webhook before the answer leaves, so a client
//! that saw its write succeed knows the event is in the queue. The handlers stay unaware of webhooks.
//!
//! Prompts are registered models tagged `mlflow.prompt.is_prompt`: their writes are `prompt*`
//! events instead of model events, decided exactly as MLflow decides (by the request's tags on
//! creation, by the stored model's tag afterwards).

use crate::error::ApiError;
use crate::state::AppState;
use crate::webhooks::events::{Action, Entity, Event};
use crate::webhooks::payload::PyJson;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
const PROMPT_TYPE_TAG: &str = "_mlflow_prompt_type";
const PROMPT_TEXT_TAG: &str = "mlflow.prompt.text";
/// Registry requests are small; the handlers themselves refuse bodies over 64 MiB.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Registry writes that are (or may be) events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    CreateModel,
    CreateVersion,
    SetVersionTag,
    DeleteVersionTag,
    SetAlias,
    DeleteAlias,
    SetModelTag,
    DeleteModelTag,
    TransitionStage,
}

const WRITES: &[(Method, &str, Write)] = &[
    (
        Method::POST,
        "/registered-models/create",
        Write::CreateModel,
    ),
    (Method::POST, "/model-versions/create", Write::CreateVersion),
    (
        Method::POST,
        "/model-versions/set-tag",
        Write::SetVersionTag,
    ),
    (
        Method::DELETE,
        "/model-versions/delete-tag",
        Write::DeleteVersionTag,
    ),
    (Method::POST, "/registered-models/alias", Write::SetAlias),
    (
        Method::DELETE,
        "/registered-models/alias",
        Write::DeleteAlias,
    ),
    (
        Method::POST,
        "/registered-models/set-tag",
        Write::SetModelTag,
    ),
    (
        Method::DELETE,
        "/registered-models/delete-tag",
        Write::DeleteModelTag,
    ),
    (
        Method::POST,
        "/model-versions/transition-stage",
        Write::TransitionStage,
    ),
];

impl Write {
    fn of(method: &Method, path: &str) -> Option<Self> {
        WRITES
            .iter()
            .find(|(m, suffix, _)| m == method && path.ends_with(suffix))
            .map(|(_, _, w)| *w)
    }

    /// The events this write can be: the model one and the prompt one.
    fn candidates(self) -> &'static [Event] {
        use Action::{Created, Deleted, Set, Transitioned};
        use Entity::{
            ModelVersion, ModelVersionAlias, ModelVersionStage, ModelVersionTag, Prompt,
            PromptAlias, PromptTag, PromptVersion, PromptVersionTag, RegisteredModel,
        };
        const fn e(entity: Entity, action: Action) -> Event {
            Event::new(entity, action)
        }
        const CREATE_MODEL: [Event; 2] = [e(RegisteredModel, Created), e(Prompt, Created)];
        const CREATE_VERSION: [Event; 2] = [e(ModelVersion, Created), e(PromptVersion, Created)];
        const SET_VERSION_TAG: [Event; 2] = [e(ModelVersionTag, Set), e(PromptVersionTag, Set)];
        const DELETE_VERSION_TAG: [Event; 2] =
            [e(ModelVersionTag, Deleted), e(PromptVersionTag, Deleted)];
        const SET_ALIAS: [Event; 2] = [e(ModelVersionAlias, Created), e(PromptAlias, Created)];
        const DELETE_ALIAS: [Event; 2] = [e(ModelVersionAlias, Deleted), e(PromptAlias, Deleted)];
        const SET_MODEL_TAG: [Event; 1] = [e(PromptTag, Set)];
        const DELETE_MODEL_TAG: [Event; 1] = [e(PromptTag, Deleted)];
        const TRANSITION: [Event; 1] = [e(ModelVersionStage, Transitioned)];
        match self {
            Self::CreateModel => &CREATE_MODEL,
            Self::CreateVersion => &CREATE_VERSION,
            Self::SetVersionTag => &SET_VERSION_TAG,
            Self::DeleteVersionTag => &DELETE_VERSION_TAG,
            Self::SetAlias => &SET_ALIAS,
            Self::DeleteAlias => &DELETE_ALIAS,
            Self::SetModelTag => &SET_MODEL_TAG,
            Self::DeleteModelTag => &DELETE_MODEL_TAG,
            Self::TransitionStage => &TRANSITION,
        }
    }

    /// Whether the payload needs the handler's answer (the new version number, the new stage).
    fn reads_answer(self) -> bool {
        matches!(self, Self::CreateVersion | Self::TransitionStage)
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`) for the registry routes.
pub(super) async fn watch(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(write) = Write::of(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::bad_request(format!("Could not read request body: {e}"))
                .into_response()
        }
    };
    let args = request_args(parts.uri.query(), &bytes);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (response, answer) = if write.reads_answer() {
        let (head, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
            return ApiError::internal("could not read the registry's answer").into_response();
        };
        let answer = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (Response::from_parts(head, Body::from(bytes)), answer)
    } else {
        (response, Value::Null)
    };
    emit(&state, write, &args, &answer).await;
    response
}

/// The request's fields as the handler read them: the JSON body, or the query string of a DELETE
/// without one.
fn request_args(query: Option<&str>, body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return crate::extract::query_to_json(query.unwrap_or(""));
    }
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// A proto string field: absent or null is `""`, a number is its text.
fn text(v: &Value, field: &str) -> String {
    match v.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// `field or None`.
fn text_or_none(v: &Value, field: &str) -> Option<String> {
    Some(text(v, field)).filter(|s| !s.is_empty())
}

/// A request's `tags` as (key, value) pairs, in order.
fn tags(v: &Value) -> Vec<(String, String)> {
    let items = match v.get("tags") {
        Some(Value::Array(items)) => items.as_slice(),
        _ => &[],
    };
    items
        .iter()
        .map(|t| (text(t, "key"), text(t, "value")))
        .collect()
}

fn tags_json(tags: &[(String, String)], skip: &[&str]) -> PyJson {
    PyJson::tags(
        tags.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

async fn is_prompt_model(state: &AppState, name: &str) -> bool {
    state.store.get_registered_model(name).await.is_ok_and(|m| {
        m.tags
            .iter()
            .any(|t| t.key == IS_PROMPT_TAG && t.value.eq_ignore_ascii_case("true"))
    })
}

async fn emit(state: &AppState, write: Write, args: &Value, answer: &Value) {
    let webhooks = &state.webhooks;
    let subscribers = match webhooks.store().subscribers(write.candidates()).await {
        Ok(s) if s.is_empty() => return,
        Ok(s) => s,
        Err(e) => {
            tracing::error!(
                error = %ApiError::from(e).message,
                "could not look up webhooks for a registry event"
            );
            return;
        }
    };
    let name = text(args, "name");
    let request_tags = tags(args);
    let tagged_prompt = || request_tags.iter().any(|(k, _)| k == IS_PROMPT_TAG);
    let prompt = match write {
        Write::CreateModel | Write::CreateVersion => tagged_prompt(),
        Write::TransitionStage => false,
        _ => is_prompt_model(state, &name).await,
    };
    let candidates = write.candidates();
    let event = match (write, prompt) {
        // A registered model's tags are an event only for prompts (as in MLflow).
        (Write::SetModelTag | Write::DeleteModelTag, false) => return,
        (_, true) if candidates.len() == 2 => candidates[1],
        _ => candidates[0],
    };
    let data = payload(write, prompt, args, answer, &request_tags);
    let ids: Vec<String> = subscribers
        .into_iter()
        .filter(|(_, e)| *e == event)
        .map(|(id, _)| id)
        .collect();
    webhooks.enqueue(event, &data, &ids).await;
}

/// The payload `TypedDict` of the event, field for field as MLflow's handler fills it.
fn payload(
    write: Write,
    prompt: bool,
    args: &Value,
    answer: &Value,
    request_tags: &[(String, String)],
) -> PyJson {
    let name = PyJson::from(text(args, "name"));
    let field = |f: &str| PyJson::from(text(args, f));
    match write {
        Write::CreateModel if prompt => PyJson::object([
            ("name", name),
            (
                "tags",
                tags_json(request_tags, &[IS_PROMPT_TAG, PROMPT_TYPE_TAG]),
            ),
            ("description", field("description")),
        ]),
        Write::CreateModel => PyJson::object([
            ("name", name),
            ("tags", tags_json(request_tags, &[])),
            ("description", field("description")),
        ]),
        Write::CreateVersion => {
            let version = PyJson::from(text(&answer["model_version"], "version"));
            if prompt {
                let template = request_tags
                    .iter()
                    .rev()
                    .find(|(k, _)| k == PROMPT_TEXT_TAG)
                    .map(|(_, v)| v.clone());
                PyJson::object([
                    ("name", name),
                    ("version", version),
                    ("template", template.into()),
                    (
                        "tags",
                        tags_json(
                            request_tags,
                            &[PROMPT_TEXT_TAG, IS_PROMPT_TAG, PROMPT_TYPE_TAG],
                        ),
                    ),
                    ("description", text_or_none(args, "description").into()),
                ])
            } else {
                PyJson::object([
                    ("name", name),
                    ("version", version),
                    ("source", field("source")),
                    ("run_id", text_or_none(args, "run_id").into()),
                    ("tags", tags_json(request_tags, &[])),
                    ("description", text_or_none(args, "description").into()),
                ])
            }
        }
        Write::SetVersionTag => PyJson::object([
            ("name", name),
            ("version", field("version")),
            ("key", field("key")),
            ("value", field("value")),
        ]),
        Write::DeleteVersionTag => PyJson::object([
            ("name", name),
            ("version", field("version")),
            ("key", field("key")),
        ]),
        Write::SetAlias => PyJson::object([
            ("name", name),
            ("alias", field("alias")),
            ("version", field("version")),
        ]),
        Write::DeleteAlias => PyJson::object([("name", name), ("alias", field("alias"))]),
        Write::SetModelTag => PyJson::object([
            ("name", name),
            ("key", field("key")),
            ("value", field("value")),
        ]),
        Write::DeleteModelTag => PyJson::object([("name", name), ("key", field("key"))]),
        Write::TransitionStage => {
            let archive = match args.get("archive_existing_versions") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                _ => false,
            };
            PyJson::object([
                ("name", name),
                ("version", field("version")),
                (
                    "stage",
                    PyJson::from(text(&answer["model_version"], "current_stage")),
                ),
                ("archive_existing_versions", PyJson::Bool(archive)),
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_are_found_under_both_prefixes() {
        let w = Write::of(&Method::POST, "/api/2.0/mlflow/model-versions/create");
        assert_eq!(w, Some(Write::CreateVersion));
        let w = Write::of(
            &Method::DELETE,
            "/ajax-api/2.0/mlflow/registered-models/alias",
        );
        assert_eq!(w, Some(Write::DeleteAlias));
        assert_eq!(Write::of(&Method::GET, "/registered-models/alias"), None);
        assert_eq!(Write::of(&Method::POST, "/registered-models/search"), None);
    }

    #[test]
    fn payloads_follow_mlflows_handlers() {
        let args = json!({"name": "m", "tags": [{"key": "k", "value": "v"}]});
        let p = payload(Write::CreateModel, false, &args, &Value::Null, &tags(&args));
        assert_eq!(
            p.dumps(),
            "{\"name\": \"m\", \"tags\": {\"k\": \"v\"}, \"description\": \"\"}"
        );
        let args = json!({"name": "m", "source": "s3://b/m", "run_id": ""});
        let answer = json!({"model_version": {"version": "3"}});
        let p = payload(Write::CreateVersion, false, &args, &answer, &[]);
        assert_eq!(
            p.dumps(),
            "{\"name\": \"m\", \"version\": \"3\", \"source\": \"s3://b/m\", \"run_id\": null, \
             \"tags\": {}, \"description\": null}"
        );
        let q = request_args(Some("name=m&alias=champion"), b"");
        let p = payload(Write::DeleteAlias, false, &q, &Value::Null, &[]);
        assert_eq!(p.dumps(), "{\"name\": \"m\", \"alias\": \"champion\"}");
    }
}
