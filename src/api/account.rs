//! The signed-in person's own account: their sessions.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// One signed-in device, as the sessions page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: Uuid,
    pub device: String,
    pub ip_address: Option<String>,
    /// Formatted in the person's own timezone.
    pub started: String,
    pub last_active: String,
    /// The session this page is being looked at from.
    pub current: bool,
}

/// `GET /api/my_sessions`: the signed-in person's active sessions.
#[server(prefix = "/api", endpoint = "my_sessions", input = leptos::server_fn::codec::GetUrl)]
pub async fn my_sessions() -> Result<Vec<SessionView>, AppError> {
    use crate::domain::{device::device_label, timezone::parse_timezone};
    use crate::server::auth::session::require_user;
    use crate::server::db::{self, sessions, users};
    use crate::server::state::AppState;
    let user = require_user()?;
    let state = AppState::current()?;
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let zone = users::summary(&mut tx, user.user_id)
        .await?
        .and_then(|a| parse_timezone(&a.timezone))
        .unwrap_or(chrono_tz::UTC);
    let list = sessions::list_active(&mut tx, user.user_id).await?;
    tx.commit().await?;
    let format = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&zone).format("%-d %b %Y, %H:%M %Z").to_string();
    Ok(list
        .into_iter()
        .map(|s| SessionView {
            id: s.family_id,
            device: device_label(s.user_agent.as_deref().unwrap_or("")),
            ip_address: s.ip_address,
            started: format(s.started_at),
            last_active: format(s.last_seen_at),
            current: s.family_id == user.family_id,
        })
        .collect())
}

/// `POST /api/revoke_session`: signs one of my devices out. Another person's
/// session id answers 404, exactly like one that does not exist.
#[server(prefix = "/api", endpoint = "revoke_session")]
pub async fn revoke_session(id: Uuid) -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::db::{self, sessions};
    use crate::server::state::AppState;
    let user = require_user()?;
    let state = AppState::current()?;
    let meta = current_request_meta();
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    match sessions::family_state(&mut tx, id).await? {
        Some(family) if family.user_id == user.user_id => {}
        _ => return Err(AppError::NotFound),
    }
    sessions::revoke_family(&mut tx, id, "revoked_by_user").await?;
    db::audit::record(&mut tx, &meta.audit("auth.session_revoked", "session").by(user.user_id).on(id)).await?;
    tx.commit().await?;
    Ok(())
}

/// `POST /api/change_password`: needs the current password; other devices are signed out.
#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::passwords;
    use crate::server::state::AppState;
    let user = require_user()?;
    let state = AppState::current()?;
    passwords::change(&state, user, &current_password, &new_password, &current_request_meta()).await
}

/// `POST /api/request_password_reset`: always answers the same, known email or not.
#[server(prefix = "/api", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use crate::server::auth::session::current_request_meta;
    use crate::server::services::passwords;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    passwords::request_reset(&state, &email, &current_request_meta()).await
}

/// `POST /api/reset_password`: a new password from a reset link's token.
#[server(prefix = "/api", endpoint = "reset_password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use crate::server::auth::session::current_request_meta;
    use crate::server::services::passwords;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    passwords::reset(&state, &token, &new_password, &current_request_meta()).await
}

/// My profile as the edit form shows it (empty strings for unset fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileForm {
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub date_of_birth: String,
    pub gender: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub country: String,
    pub pincode: String,
    pub timezone: String,
    pub preferred_language: String,
}

/// `GET /api/my_profile`
#[server(prefix = "/api", endpoint = "my_profile", input = leptos::server_fn::codec::GetUrl)]
pub async fn my_profile() -> Result<ProfileForm, AppError> {
    use crate::server::auth::session::require_user;
    use crate::server::services::profile;
    use crate::server::state::AppState;
    let user = require_user()?;
    let state = AppState::current()?;
    let p = profile::load(&state, user).await?;
    Ok(ProfileForm {
        first_name: p.first_name,
        last_name: p.last_name,
        phone: p.phone.unwrap_or_default(),
        date_of_birth: p.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
        gender: p.gender.unwrap_or_default(),
        address: p.address.unwrap_or_default(),
        city: p.city.unwrap_or_default(),
        state: p.state.unwrap_or_default(),
        country: p.country.unwrap_or_default(),
        pincode: p.pincode.unwrap_or_default(),
        timezone: p.timezone,
        preferred_language: p.preferred_language,
    })
}

/// `POST /api/update_profile`: every field checked; all messages at once.
#[server(prefix = "/api", endpoint = "update_profile")]
pub async fn update_profile(profile: ProfileForm) -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::profile as service;
    use crate::server::state::AppState;
    let user = require_user()?;
    let state = AppState::current()?;
    service::save(&state, user, &profile, &current_request_meta()).await
}

/// `POST /api/delete_account`: deletes (anonymises) my account after I give
/// my password again and type DELETE in `confirm`; signs this browser out.
/// Health and payment records are kept, no longer tied to anyone.
#[server(prefix = "/api", endpoint = "delete_account")]
pub async fn delete_account(password: String, confirm: String) -> Result<(), AppError> {
    use crate::server::auth::session::{clearing_cookies, current_request_meta, require_user, respond_with_cookies};
    use crate::server::services::data_rights;
    use crate::server::state::AppState;
    let user = require_user()?;
    let state = AppState::current()?;
    data_rights::delete_account(&state, user, &password, &confirm, &current_request_meta()).await?;
    respond_with_cookies(clearing_cookies(&state));
    Ok(())
}
