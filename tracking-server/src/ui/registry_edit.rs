//! The registry pages' writes: a model's description and tags (model page); a version's
//! description, aliases and tags, and deleting the version (version page). Each is a plain form
//! POST through the same rules (`service::registry`) and store calls as the REST endpoints; a
//! refused write re-renders the page with the API's message and status code, the typed text kept.
//! Read-only users never get here: the auth layer refuses every UI POST for them.

use super::registry::{model_page, version_page, Edit};
use super::{model_url, same_origin, see_other, version_url, Fields, Typed, UiResult};
use crate::error::{ApiError, ApiResult};
use crate::extract::Actor;
use crate::service::registry as rules;
use crate::state::AppState;
use crate::validation::required;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

/// Where a write was made from, so its answer goes back there.
#[derive(Clone, Copy)]
enum On<'a> {
    Model(&'a str),
    Version(&'a str, &'a str),
}

/// Checks the origin, runs `write`, and answers with a 303 to `done` (or back to the page); a
/// client error re-renders the page with the message and `typed` put back in its form.
async fn edit(
    s: &AppState,
    headers: &HeaderMap,
    on: On<'_>,
    typed: Typed,
    done: Option<String>,
    write: impl std::future::Future<Output = ApiResult<()>>,
) -> UiResult {
    same_origin(headers)?;
    let back = match on {
        On::Model(name) => model_url(name),
        On::Version(name, version) => version_url(name, version),
    };
    match write.await {
        Ok(()) => Ok(see_other(&done.unwrap_or(back))),
        Err(e) if e.code.status().is_client_error() => {
            let edit = Some(Edit {
                error: e.into(),
                typed,
            });
            match on {
                On::Model(name) => model_page(s, name, edit).await,
                On::Version(name, version) => version_page(s, name, version, None, edit).await,
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn typed(form: &Fields, which: &'static str, key: &str, value: &str) -> Typed {
    Typed::new(
        which,
        form.raw(key).unwrap_or_default(),
        form.raw(value).unwrap_or_default(),
    )
}

/// `registered-models/update`: the description; an empty one clears it, as in MLflow.
pub(super) async fn model_description(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let text = form.raw("description").unwrap_or_default();
    let write = async {
        s.store.update_registered_model(&name, Some(&text)).await?;
        Ok(())
    };
    let t = typed(&form, "description", "", "description");
    edit(&s, &headers, On::Model(&name), t, None, write).await
}

pub(super) async fn model_tag(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let write = async {
        let tag = rules::tag(form.raw("key"), form.raw("value"))?;
        Ok(s.store.set_registered_model_tag(&name, &tag).await?)
    };
    let t = typed(&form, "tag", "key", "value");
    edit(&s, &headers, On::Model(&name), t, None, write).await
}

pub(super) async fn model_tag_delete(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let write = async {
        let key = required(form.raw("key"), "key")?;
        Ok::<_, ApiError>(s.store.delete_registered_model_tag(&name, &key).await?)
    };
    edit(
        &s,
        &headers,
        On::Model(&name),
        Typed::default(),
        None,
        write,
    )
    .await
}

/// `model-versions/update`: the version's description.
pub(super) async fn version_description(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let text = form.raw("description").unwrap_or_default();
    let write = async {
        let number = rules::version(Some(&version))?;
        s.store
            .update_model_version(&name, number, Some(&text))
            .await?;
        Ok(())
    };
    let t = typed(&form, "description", "", "description");
    edit(&s, &headers, On::Version(&name, &version), t, None, write).await
}

/// `registered-models/alias` (POST): points the alias at this version, moving it if another
/// version had it; MLflow's alias rules refuse `latest`, `v1` and names with other characters.
pub(super) async fn set_alias(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    actor: Actor,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let write = async {
        let number = rules::version(Some(&version))?;
        let alias = rules::alias(form.raw("alias"))?;
        Ok(s.store.set_alias(&name, &alias, number, &actor.0).await?)
    };
    let t = typed(&form, "alias", "", "alias");
    edit(&s, &headers, On::Version(&name, &version), t, None, write).await
}

/// `registered-models/alias` (DELETE).
pub(super) async fn delete_alias(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    actor: Actor,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let write = async {
        let alias = required(form.raw("alias"), "alias")?;
        Ok::<_, ApiError>(s.store.delete_alias(&name, &alias, &actor.0).await?)
    };
    let on = On::Version(&name, &version);
    edit(&s, &headers, on, Typed::default(), None, write).await
}

pub(super) async fn version_tag(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let write = async {
        let number = rules::version(Some(&version))?;
        let tag = rules::tag(form.raw("key"), form.raw("value"))?;
        Ok(s.store.set_model_version_tag(&name, number, &tag).await?)
    };
    let t = typed(&form, "tag", "key", "value");
    edit(&s, &headers, On::Version(&name, &version), t, None, write).await
}

pub(super) async fn version_tag_delete(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let write = async {
        let number = rules::version(Some(&version))?;
        let key = required(form.raw("key"), "key")?;
        Ok::<_, ApiError>(
            s.store
                .delete_model_version_tag(&name, number, &key)
                .await?,
        )
    };
    let on = On::Version(&name, &version);
    edit(&s, &headers, on, Typed::default(), None, write).await
}

/// `model-versions/delete`; afterwards the model's page, where the version is gone.
pub(super) async fn delete_version(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> UiResult {
    let write = async {
        let number = rules::version(Some(&version))?;
        Ok(s.store.delete_model_version(&name, number).await?)
    };
    let on = On::Version(&name, &version);
    let done = Some(model_url(&name));
    edit(&s, &headers, on, Typed::default(), done, write).await
}
