//! What every handler and server function can reach.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;

use super::auth::tokens::AccessTokens;
use super::config::Settings;
use super::crypto::FieldCipher;
use super::http::metrics::Metrics;
use super::integrations::mail::Mailer;
use super::integrations::payments::Gateway;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub access_tokens: Arc<AccessTokens>,
    /// Encrypts secrets stored in the database (TOTP secrets).
    pub cipher: Arc<FieldCipher>,
    pub mailer: Mailer,
    pub payments: Gateway,
    /// The room connections this instance serves.
    pub rooms: crate::server::room_hub::RoomHub,
}

impl AppState {
    /// The state, from inside a server function or component rendered on the server.
    pub fn current() -> Result<Self, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the Leptos context");
            crate::error::AppError::Internal
        })
    }
}
