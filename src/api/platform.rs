//! Public facts about the platform.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Figures shown on the home page: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformFigures {
    /// Doctors that can be booked: verified, available, active.
    pub verified_doctors: i64,
    pub specialties: i64,
}

/// `GET /api/platform_stats`: anyone may ask.
#[server(prefix = "/api", endpoint = "platform_stats", input = GetUrl)]
pub async fn platform_stats() -> Result<PlatformFigures, AppError> {
    use crate::server::{db, state::AppState};
    let state = AppState::current()?;
    let mut tx = db::begin(&state.pool, None).await?;
    let stats = db::stats::platform_stats(&mut tx).await?;
    tx.commit().await?;
    Ok(stats)
}
