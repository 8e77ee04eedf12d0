//! Administration: looking after accounts. Every function requires an
//! administrator with two-step verification on.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppError;

/// One account in the administrators' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub is_active: bool,
    pub is_email_verified: bool,
    pub mfa_enabled: bool,
    /// "never", or a UTC date and time.
    pub last_login: String,
}

/// `GET /api/admin_users?q=`: accounts whose email or name contains `q`.
#[server(prefix = "/api", endpoint = "admin_users", input = leptos::server_fn::codec::GetUrl)]
pub async fn admin_users(q: String) -> Result<Vec<UserRow>, AppError> {
    use crate::server::auth::session::require_admin;
    use crate::server::services::admin;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    let rows = admin::find_users(&state, admin, &q).await?;
    Ok(rows
        .into_iter()
        .map(|r| UserRow {
            id: r.id,
            email: r.email,
            name: format!("{} {}", r.first_name, r.last_name),
            role: r.role,
            is_active: r.is_active,
            is_email_verified: r.is_email_verified,
            mfa_enabled: r.mfa_enabled,
            last_login: r
                .last_login
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "never".into()),
        })
        .collect())
}

/// `POST /api/admin_reset_mfa`: turns off another user's two-step
/// verification (they are signed out everywhere and emailed).
#[server(prefix = "/api", endpoint = "admin_reset_mfa")]
pub async fn admin_reset_mfa(user_id: Uuid, reason: String) -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_admin};
    use crate::server::services::mfa;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    mfa::admin_reset(&state, admin, user_id, &reason, &current_request_meta()).await
}

/// `POST /api/admin_set_active`: deactivates (ending its sessions) or
/// reactivates an account.
#[server(prefix = "/api", endpoint = "admin_set_active")]
pub async fn admin_set_active(user_id: Uuid, active: bool, reason: String) -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_admin};
    use crate::server::services::admin;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    admin::set_active(&state, admin, user_id, active, &reason, &current_request_meta()).await
}
