//! MLflow 3 logged models. Only search exists so far, answering "none": the 3.x client calls it from
//! `download_artifacts(run_id=…)` and `register_model("runs:/…")` even for classic runs. The full
//! family (create, finalize, tags, params) comes with the model registry (issue 4).

use super::AppState;
use axum::routing::post;
use axum::{Json, Router};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/logged-models/search", post(search))
}

async fn search() -> Json<serde_json::Value> {
    super::empty()
}
