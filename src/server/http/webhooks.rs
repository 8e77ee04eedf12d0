//! `POST /webhooks/stripe`: payment events from a Stripe-compatible gateway.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::server::services::payments::{handle_webhook, WebhookRefusal};
use crate::server::state::AppState;

pub async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match handle_webhook(&state, &body, signature).await {
        Ok(outcome) => (StatusCode::OK, outcome.to_owned()),
        Err(WebhookRefusal::NotConfigured) => (StatusCode::NOT_FOUND, "not found".into()),
        Err(WebhookRefusal::Failed(e)) => {
            (StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE), e.to_string())
        }
        Err(refusal) => {
            tracing::warn!(reason = %refusal, "webhook refused");
            (StatusCode::BAD_REQUEST, refusal.to_string())
        }
    }
}
