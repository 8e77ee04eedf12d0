//! Liveness and readiness for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use std::time::Duration;

use crate::server::{db, state::AppState};

/// The process is up and serving HTTP. Never touches the database.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The app can do useful work: the database answers within a second.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match tokio::time::timeout(Duration::from_secs(1), db::ping(&state.pool)).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "status": "ready", "database": "ok" }))),
        Ok(Err(e)) => {
            tracing::warn!(error = %db::one_line(&e), "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": "error" })))
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": "timeout" }))),
    }
}
