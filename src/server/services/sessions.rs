//! Session families: opening one, refreshing (rotating) its tokens, checking
//! it on every request, and ending it. Each use case is one transaction.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppError;
use crate::server::auth::tokens::{digest, random_token};
use crate::server::db::{self, sessions, users};
use crate::server::services::auth::RequestMeta;
use crate::server::state::AppState;

/// A session family stays usable this long after sign-in (refreshing inside it).
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// Tokens for the cookies of a new or refreshed session.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub role: Role,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Inserts a token row for a family and issues the matching access token.
pub(crate) async fn open_session(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    user_id: Uuid,
    role: Role,
    family_id: Uuid,
    family_expires_at: Option<DateTime<Utc>>,
    meta: &RequestMeta,
) -> Result<IssuedSession, AppError> {
    let now = Utc::now();
    let refresh_token = random_token();
    let expires_at =
        family_expires_at.unwrap_or_else(|| now + chrono::Duration::from_std(SESSION_LIFETIME).unwrap_or_default());
    sessions::insert(
        conn,
        &sessions::NewSession {
            user_id,
            family_id,
            token_hash: &digest(&refresh_token),
            expires_at,
            ip_address: meta.ip.map(|ip| ip.to_string()),
            user_agent: meta.user_agent.as_deref(),
        },
    )
    .await?;
    let access_token = state.access_tokens.issue(user_id, family_id, role, now);
    Ok(IssuedSession { user_id, family_id, role, access_token, refresh_token, expires_at })
}

/// Two requests sent together with the same expired access token both try to
/// refresh; the second within this window is a race, not a replay.
const ROTATION_GRACE: chrono::Duration = chrono::Duration::seconds(20);

/// Why a refresh token was not exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRefused {
    Unknown,
    /// A token that was already exchanged came back: the family is revoked.
    Reused,
    /// Exchanged a moment ago by a parallel request of the same browser
    /// (within [`ROTATION_GRACE`]): not an attack, nothing is revoked.
    Superseded,
    Revoked,
    Expired,
    Idle,
}

fn idle_limit(state: &AppState) -> chrono::Duration {
    chrono::Duration::minutes(state.settings.security.idle_timeout_minutes as i64)
}

/// Exchanges a refresh token for a new pair (rotation). Reuse of an already
/// rotated token revokes its whole family.
pub async fn refresh(
    state: &AppState,
    refresh_token: &str,
    meta: &RequestMeta,
) -> Result<Result<IssuedSession, RefreshRefused>, AppError> {
    let mut tx = db::begin_system(&state.pool).await?;
    let Some(row) = sessions::lock_by_token_hash(&mut tx, &digest(refresh_token)).await? else {
        return Ok(Err(RefreshRefused::Unknown));
    };
    let refused = if row.revoked_at.is_some() {
        Some(RefreshRefused::Revoked)
    } else if let Some(rotated_at) = row.rotated_at {
        if Utc::now() - rotated_at < ROTATION_GRACE {
            Some(RefreshRefused::Superseded)
        } else {
            Some(RefreshRefused::Reused)
        }
    } else if row.expires_at <= Utc::now() {
        Some(RefreshRefused::Expired)
    } else if row.last_seen_at + idle_limit(state) <= Utc::now() {
        Some(RefreshRefused::Idle)
    } else {
        None
    };
    if let Some(reason) = refused {
        if matches!(reason, RefreshRefused::Reused | RefreshRefused::Idle) {
            let why = if reason == RefreshRefused::Reused { "refresh_token_reused" } else { "idle" };
            sessions::revoke_family(&mut tx, row.family_id, why).await?;
            let action = if reason == RefreshRefused::Reused { "auth.token_reuse" } else { "auth.idle_logoff" };
            let entry = meta.audit(action, "session").by(row.user_id).on(row.family_id);
            db::audit::record(&mut tx, &entry).await?;
            tx.commit().await?;
        }
        return Ok(Err(reason));
    }
    let Some(account) = users::summary(&mut tx, row.user_id).await? else {
        sessions::revoke_family(&mut tx, row.family_id, "account_inactive").await?;
        tx.commit().await?;
        return Ok(Err(RefreshRefused::Revoked));
    };
    sessions::mark_rotated(&mut tx, row.id).await?;
    let issued =
        open_session(&mut tx, state, row.user_id, account.role, row.family_id, Some(row.expires_at), meta).await?;
    tx.commit().await?;
    Ok(Ok(issued))
}

/// Ends one session family (sign out on this device).
pub async fn sign_out(state: &AppState, user_id: Uuid, family_id: Uuid, meta: &RequestMeta) -> Result<(), AppError> {
    let mut tx = db::begin_system(&state.pool).await?;
    if sessions::family_state(&mut tx, family_id).await?.is_some_and(|f| f.user_id == user_id) {
        sessions::revoke_family(&mut tx, family_id, "sign_out").await?;
    }
    let entry = meta.audit("auth.sign_out", "session").by(user_id).on(family_id);
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of the user ("sign out everywhere").
pub async fn sign_out_everywhere(state: &AppState, user_id: Uuid, meta: &RequestMeta) -> Result<u64, AppError> {
    let mut tx = db::begin_system(&state.pool).await?;
    let revoked = sessions::revoke_all_for_user(&mut tx, user_id, "sign_out_everywhere", None).await?;
    let entry =
        meta.audit("auth.sign_out_everywhere", "user").by(user_id).on(user_id).details(json!({ "sessions": revoked }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(revoked)
}

/// Whether a family may still act: its account active, not revoked, not
/// expired, not idle. (Deactivating an account therefore ends its sessions
/// at their next request, not when their access token runs out.)
/// Notes the activity when it may.
pub async fn check_family(state: &AppState, user_id: Uuid, family_id: Uuid) -> Result<bool, AppError> {
    let mut conn = crate::server::db::acquire(&state.pool).await?;
    let Some(family) = sessions::family_state(&mut conn, family_id).await? else { return Ok(false) };
    let now = Utc::now();
    let alive = family.user_id == user_id
        && family.user_active
        && !family.revoked
        && family.expires_at > now
        && family.last_seen_at + idle_limit(state) > now;
    // Activity is noted at most once a minute: most requests need no write.
    if alive && family.last_seen_at < now - chrono::Duration::minutes(1) {
        sessions::touch(&mut conn, family_id).await?;
    }
    Ok(alive)
}
