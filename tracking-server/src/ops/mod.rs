//! Operations: the middleware every request passes through (request id, trace span, metrics,
//! panic guard, authentication), Prometheus metrics, and garbage collection of deleted runs.

pub mod gc;
pub mod metrics;

use crate::auth::Authenticator;
use crate::error::ApiError;
use crate::ops::metrics::Metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, Method};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::field::Empty;

/// Routes answered by the fallback share one label, so unknown paths cannot grow the series.
const UNMATCHED: &str = "unmatched";

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps the whole router, fallback included. Outermost first: a request id (kept if the client
/// sent one, echoed in the answer), a span carrying it with method, route, user, status and latency,
/// the metrics, a guard turning a panic into MLflow's `INTERNAL_ERROR`, and authentication.
///
/// `Router::layer` runs these after routing, which is what makes the matched route template
/// available to the span and the metrics.
pub fn layers(router: Router, auth: Option<Arc<Authenticator>>, metrics: Arc<Metrics>) -> Router {
    router
        .layer(from_fn_with_state(auth, crate::auth::require_auth))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::internal("the server failed while answering this request").into_response()
            },
        ))
        .layer(from_fn_with_state(metrics, track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %req.method(),
                        route = route_of(req),
                        path = %req.uri().path(),
                        user = Empty,
                        status = Empty,
                        latency_ms = Empty,
                    )
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, span: &tracing::Span| {
                    span.record("status", res.status().as_u16());
                    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
                    if res.status().is_server_error() {
                        tracing::warn!("answered with a server error");
                    } else {
                        tracing::debug!("answered");
                    }
                })
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}

fn route_of(req: &Request) -> &str {
    req.extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
}

/// Counts and times every answer under its route template.
async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = route_of(&req).to_string();
    // Clients may send any token as a method; only the standard ones get their own label.
    let method = match *req.method() {
        Method::GET
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::HEAD
        | Method::OPTIONS => req.method().as_str().to_string(),
        _ => "OTHER".to_string(),
    };
    let _in_flight = metrics.start();
    let started = Instant::now();
    let response = next.run(req).await;
    metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
