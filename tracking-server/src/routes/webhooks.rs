//! `/webhooks`: MLflow's `WebhookService` (create, list, get, update, delete, test), checked in
//! the order and with the messages of MLflow's handlers and SQL store, plus mltrack's
//! `GET /webhooks/{id}/deliveries`.
//!
//! Answers never carry the secret. Fields are read from the JSON by hand rather than through serde
//! so that a mistyped `secret` is reported without echoing its value.

use crate::error::{ApiError, ApiResult};
use crate::extract::{MlflowJson, MlflowPath};
use crate::search::{decode_page_token, encode_page_token};
use crate::state::AppState;
use crate::store::webhooks::{NewWebhook, WebhookRecord, WebhookStatus, WebhookUpdate};
use crate::webhooks::events::{compact, Event};
use crate::webhooks::url;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", post(create).get(list))
        .route(
            "/webhooks/{webhook_id}",
            get(get_one).patch(update).delete(delete),
        )
        .route("/webhooks/{webhook_id}/test", post(test))
        .route("/webhooks/{webhook_id}/deliveries", get(deliveries))
}

fn wrong_type(field: &str, v: &Value, show_value: bool) -> ApiError {
    let shown = if show_value {
        format!(" {}", compact(v))
    } else {
        String::new()
    };
    ApiError::invalid(format!(
        "Invalid value{shown} for parameter '{field}' supplied:  Hint: Value was of type '{}'. See \
         the API docs for more information about request parameters.",
        crate::search::pyrepr::py_type(v)
    ))
}

/// An optional string field; `""` counts as absent, as MLflow's `field or None` does.
fn opt_str(body: &Value, field: &str) -> ApiResult<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
        // The secret is never repeated back, not even when it is of the wrong type.
        Some(v) => Err(wrong_type(field, v, field != "secret")),
    }
}

/// `_assert_string, _assert_required`.
fn required_str(body: &Value, field: &str) -> ApiResult<String> {
    match body.get(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(Value::String(s)) if s.is_empty() => Err(missing(field)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(wrong_type(field, v, true)),
    }
}

/// MLflow's schema check for a required field: `missing_value` plus the usual suffix.
fn missing(field: &str) -> ApiError {
    ApiError::missing(field)
}

/// `WebhookStatus.from_proto`: the enum name, or its proto number.
fn opt_status(body: &Value) -> ApiResult<Option<WebhookStatus>> {
    let invalid = |v: &Value| {
        ApiError::invalid(format!(
            "Invalid value {} for parameter 'status' supplied: expected 'ACTIVE' or 'DISABLED'. See \
             the API docs for more information about request parameters.",
            compact(v)
        ))
    };
    match body.get("status") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => WebhookStatus::parse(&s.to_ascii_uppercase())
            .map(Some)
            .ok_or_else(|| invalid(&Value::String(s.clone()))),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(1) => Ok(Some(WebhookStatus::Active)),
            Some(2) => Ok(Some(WebhookStatus::Disabled)),
            _ => Err(invalid(&Value::Number(n.clone()))),
        },
        Some(v) => Err(invalid(v)),
    }
}

/// `events` and mltrack's `mltrack_events`, validated pair by pair; duplicates keep their first
/// place. `None` when neither field is given (or both are empty lists).
fn events(body: &Value) -> ApiResult<Option<Vec<Event>>> {
    let mut out: Vec<Event> = Vec::new();
    let mut given = false;
    for field in ["events", "mltrack_events"] {
        match body.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                given |= !items.is_empty();
                for item in items {
                    let event = Event::from_wire(item, field)?;
                    if !out.contains(&event) {
                        out.push(event);
                    }
                }
            }
            Some(v) => return Err(wrong_type(field, v, true)),
        }
    }
    Ok(given.then_some(out))
}

/// `_validate_webhook_name`: 1–63 letters, digits, `.`, `_`, `-`, starting and ending with a letter
/// or digit.
fn validate_name(name: &str) -> ApiResult<()> {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let ok = (1..=63).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| alnum(c) || matches!(c, '.' | '_' | '-'))
        && name.starts_with(alnum)
        && name.ends_with(alnum);
    if ok {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "Webhook name {} is invalid. It must start and end with a letter or digit, be less than 63 \
         characters long, and contain only letters, digits, dots (.), underscores (_), and hyphens \
         (-).",
        crate::search::pyrepr::py_str(name)
    )))
}

/// `_validate_webhook_events`, and mltrack's rule that MLflow's clients can read every webhook.
fn validate_events(events: &[Event]) -> ApiResult<()> {
    if events.is_empty() {
        return Err(ApiError::invalid(
            "Webhook events must be a non-empty list of WebhookEvent objects: [].",
        ));
    }
    if !events.iter().any(|e| e.is_mlflow()) {
        return Err(ApiError::invalid(
            "A webhook needs at least one of MLflow's events (such as 'model_version.created') \
             beside mltrack's own: MLflow's clients cannot read a webhook without one.",
        ));
    }
    Ok(())
}

async fn validate_url(s: &AppState, target: &str) -> ApiResult<()> {
    url::validate(target, s.webhooks.url_policy())
        .await
        .map_err(url::UrlError::into_api)
}

/// `Webhook.to_proto()` as proto JSON, without the secret. mltrack's own events go in
/// `mltrack_events`: MLflow's client refuses a webhook whose `events` it does not know.
fn wire(w: &WebhookRecord) -> Value {
    let mut out = Map::new();
    out.insert("webhook_id".into(), json!(w.webhook_id));
    out.insert("name".into(), json!(w.name));
    if let Some(d) = w.description.as_deref().filter(|d| !d.is_empty()) {
        out.insert("description".into(), json!(d));
    }
    out.insert("url".into(), json!(w.url));
    let (mlflow, own): (Vec<Event>, Vec<Event>) = w.events.iter().partition(|e| e.is_mlflow());
    out.insert(
        "events".into(),
        Value::Array(mlflow.iter().map(|e| e.to_wire()).collect()),
    );
    out.insert("status".into(), json!(w.status.as_str()));
    out.insert("creation_timestamp".into(), json!(w.creation_timestamp));
    out.insert(
        "last_updated_timestamp".into(),
        json!(w.last_updated_timestamp),
    );
    if !own.is_empty() {
        out.insert(
            "mltrack_events".into(),
            Value::Array(own.iter().map(|e| e.to_wire()).collect()),
        );
    }
    Value::Object(out)
}

async fn create(
    State(s): State<AppState>,
    MlflowJson(body): MlflowJson<Value>,
) -> ApiResult<Json<Value>> {
    let name = required_str(&body, "name")?;
    let target = required_str(&body, "url")?;
    match body.get("events") {
        None | Some(Value::Null) => return Err(missing("events")),
        Some(Value::Array(_)) => {}
        Some(v) => return Err(wrong_type("events", v, true)),
    }
    let events = events(&body)?.unwrap_or_default();
    let description = opt_str(&body, "description")?;
    let secret = opt_str(&body, "secret")?;
    let status = opt_status(&body)?;
    validate_name(&name)?;
    validate_url(&s, &target).await?;
    validate_events(&events)?;
    let secret_token = secret.map(|x| s.webhooks.seal_secret(&x)).transpose()?;
    let webhook = s
        .webhooks
        .store()
        .create_webhook(NewWebhook {
            name,
            description,
            url: target,
            events,
            status: status.unwrap_or(WebhookStatus::Active),
            secret_token,
        })
        .await?;
    Ok(Json(json!({ "webhook": wire(&webhook) })))
}

/// `max_results`: an integer (a string in a query) between 1 and 1000; absent or 0 means 100.
fn max_results(body: &Value, default: i64) -> ApiResult<u64> {
    let v = body.get("max_results");
    let n = match v {
        None | Some(Value::Null) => default,
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| wrong_type("max_results", &json!(n), true))?,
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| wrong_type("max_results", &json!(s), true))?,
        Some(other) => return Err(wrong_type("max_results", other, true)),
    };
    let n = if n == 0 { default } else { n };
    if !(1..=1000).contains(&n) {
        return Err(ApiError::invalid("max_results must be between 1 and 1000."));
    }
    Ok(n.unsigned_abs())
}

async fn list(
    State(s): State<AppState>,
    MlflowJson(body): MlflowJson<Value>,
) -> ApiResult<Json<Value>> {
    let max = max_results(&body, 100)?;
    let token = opt_str(&body, "page_token")?;
    let offset = decode_page_token(token.as_deref())?;
    let page = s.webhooks.store().list_webhooks(max, offset).await?;
    let mut out = Map::new();
    if !page.items.is_empty() {
        out.insert(
            "webhooks".into(),
            Value::Array(page.items.iter().map(wire).collect()),
        );
    }
    if let Some(next) = page.next_offset {
        out.insert("next_page_token".into(), json!(encode_page_token(next)));
    }
    Ok(Json(Value::Object(out)))
}

async fn get_one(
    State(s): State<AppState>,
    MlflowPath(webhook_id): MlflowPath<String>,
) -> ApiResult<Json<Value>> {
    let webhook = s.webhooks.store().get_webhook(&webhook_id).await?;
    Ok(Json(json!({ "webhook": wire(&webhook) })))
}

async fn update(
    State(s): State<AppState>,
    MlflowPath(webhook_id): MlflowPath<String>,
    MlflowJson(body): MlflowJson<Value>,
) -> ApiResult<Json<Value>> {
    let name = opt_str(&body, "name")?;
    let description = opt_str(&body, "description")?;
    let target = opt_str(&body, "url")?;
    let events = events(&body)?;
    let secret = opt_str(&body, "secret")?;
    let status = opt_status(&body)?;
    let store = s.webhooks.store();
    store.get_webhook(&webhook_id).await?;
    if let Some(name) = &name {
        validate_name(name)?;
    }
    if let Some(target) = &target {
        validate_url(&s, target).await?;
    }
    if let Some(events) = &events {
        validate_events(events)?;
    }
    let secret_token = secret.map(|x| s.webhooks.seal_secret(&x)).transpose()?;
    let webhook = store
        .update_webhook(
            &webhook_id,
            WebhookUpdate {
                name,
                description,
                url: target,
                events,
                status,
                secret_token,
            },
        )
        .await?;
    Ok(Json(json!({ "webhook": wire(&webhook) })))
}

async fn delete(
    State(s): State<AppState>,
    MlflowPath(webhook_id): MlflowPath<String>,
) -> ApiResult<Json<Value>> {
    s.webhooks.store().delete_webhook(&webhook_id).await?;
    Ok(super::reply::empty())
}

async fn test(
    State(s): State<AppState>,
    MlflowPath(webhook_id): MlflowPath<String>,
    MlflowJson(body): MlflowJson<Value>,
) -> ApiResult<Json<Value>> {
    let event = match body.get("event") {
        None | Some(Value::Null) => None,
        Some(v) => Some(Event::from_wire(v, "event")?),
    };
    let webhook = s.webhooks.store().get_webhook(&webhook_id).await?;
    let result = s.webhooks.test(&webhook, event).await;
    let mut out = Map::new();
    out.insert("success".into(), json!(result.success));
    if let Some(status) = result.response_status {
        out.insert("response_status".into(), json!(status));
    }
    if let Some(body) = result.response_body {
        out.insert("response_body".into(), json!(body));
    }
    if let Some(message) = result.error_message {
        out.insert("error_message".into(), json!(message));
    }
    Ok(Json(json!({ "result": Value::Object(out) })))
}

/// mltrack's own: the delivery queue of one webhook, newest first (finished deliveries are kept for
/// seven days).
async fn deliveries(
    State(s): State<AppState>,
    MlflowPath(webhook_id): MlflowPath<String>,
    MlflowJson(body): MlflowJson<Value>,
) -> ApiResult<Json<Value>> {
    let max = max_results(&body, 100)?;
    let token = opt_str(&body, "page_token")?;
    let offset = decode_page_token(token.as_deref())?;
    let page = s
        .webhooks
        .store()
        .list_deliveries(&webhook_id, max, offset)
        .await?;
    let mut out = Map::new();
    out.insert("deliveries".into(), json!(page.items));
    if let Some(next) = page.next_offset {
        out.insert("next_page_token".into(), json!(encode_page_token(next)));
    }
    Ok(Json(Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_mlflows_pattern() {
        for ok in ["a", "test_webhook", "a.b-c_9", &"x".repeat(63)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "é", &"x".repeat(64)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_mistyped_secret_is_not_echoed() {
        let err = opt_str(&json!({"secret": 123_456_789}), "secret").unwrap_err();
        assert!(!err.message.contains("123456789"), "{}", err.message);
        let err = opt_str(&json!({"name": 5}), "name").unwrap_err();
        assert!(err
            .message
            .starts_with("Invalid value 5 for parameter 'name' supplied:  Hint"));
    }
}
