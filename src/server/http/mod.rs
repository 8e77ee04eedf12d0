//! HTTP plumbing around the app: request ids and tracing, metrics, security
//! headers, server-function error statuses, timeouts, compression.

pub mod audit_export;
pub mod documents;
pub mod export;
pub mod health;
pub mod metrics;
pub mod room_ws;
pub mod security;
pub mod server_fn_status;
pub mod webhooks;

use axum::{middleware, Router};
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

/// Wraps the router in the layers every response goes through.
pub fn with_layers(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let request_id = http::HeaderName::from_static(REQUEST_ID);
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs);
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::extract::Request| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: a query string may carry personal data.
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id))
        // Outside the layers below: they read and rewrite plain bodies.
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(middleware::from_fn_with_state(state.clone(), security::headers))
        .layer(middleware::from_fn_with_state(state.clone(), crate::server::auth::session::resolve))
        .layer(middleware::from_fn(server_fn_status::map_status))
        .layer(TimeoutLayer::with_status_code(http::StatusCode::SERVICE_UNAVAILABLE, timeout));
    router.layer(layers)
}
