//! `/metrics`: Prometheus text. Behind authentication like every route but `/health`: the series
//! name routes and users' traffic. Scrape it with a read-only user's token
//! (`authorization: { credentials: mlt_… }` in the scrape config).

use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(prometheus))
}

async fn prometheus(State(s): State<AppState>) -> impl IntoResponse {
    let pools = s.store.pool_stats();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(&pools),
    )
}
