//! Operator tasks: creating administrators (command line) and looking
//! after accounts (the administration pages). Every act is audited.

use serde_json::json;
use uuid::Uuid;

use crate::domain::admin_filter::UserSearch;
use crate::domain::{Email, NewPassword, PersonName, Role};
use crate::error::AppError;
use crate::server::auth::session::CurrentUser;
use crate::server::db::{self, audit::AuditEntry, sessions, users};
use crate::server::error::violated_constraint;
use crate::server::password;
use crate::server::services::auth::RequestMeta;
use crate::server::state::AppState;

/// At most this many accounts in one answer of the user search.
pub const SEARCH_LIMIT: i64 = 50;

/// Creates an administrator (email already trusted: the operator typed it).
/// They will be asked to set up MFA at their first sign-in.
pub async fn create_admin(
    pool: &sqlx::PgPool,
    email: &str,
    password_input: &str,
    first_name: &str,
    last_name: &str,
) -> Result<Uuid, AppError> {
    let email = Email::parse(email).map_err(|e| AppError::field("email", e.to_string()))?;
    let new_password = NewPassword::parse(password_input, Some(email.as_str()))
        .map_err(|e| AppError::field("password", e.to_string()))?;
    let first = PersonName::parse(first_name).map_err(|e| AppError::field("first_name", e.to_string()))?;
    let last = PersonName::parse(last_name).map_err(|e| AppError::field("last_name", e.to_string()))?;
    let hash = password::hash(new_password.expose().to_owned()).await?;

    let mut tx = db::begin_system(pool).await?;
    let created = users::create_account(
        &mut tx,
        &users::NewAccount {
            email: email.as_str(),
            password_hash: hash.as_str(),
            role: Role::Admin,
            first_name: first.as_str(),
            last_name: last.as_str(),
            timezone: "UTC",
        },
    )
    .await;
    let user_id = match created {
        Ok(id) => id,
        Err(e) if violated_constraint(&e) == Some("users_email_key") => {
            return Err(AppError::field("email", "An account with this email already exists."));
        }
        Err(e) => return Err(e.into()),
    };
    users::mark_email_verified(&mut tx, user_id).await?;
    let entry = AuditEntry::new("admin.created", "user").on(user_id).details(json!({ "via": "command_line" }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Accounts matching a search (the page's query string: `q`, `role`,
/// `status`), for an administrator.
pub async fn find_users(
    state: &AppState,
    admin: CurrentUser,
    query: &str,
) -> Result<Vec<users::AdminUserRow>, AppError> {
    let search =
        UserSearch::parse(&crate::server::services::admin_reports::pairs(query)?).map_err(AppError::Validation)?;
    let filter = users::UserFilter {
        role: search.role,
        active: match search.status {
            Some("active") => Some(true),
            Some("deactivated") => Some(false),
            _ => None,
        },
        email_verified: (search.status == Some("unconfirmed")).then_some(false),
    };
    let query = search.q.as_str();
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    let rows = users::search(&mut tx, query, filter, SEARCH_LIMIT).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Deactivates (ending every session at once) or reactivates an account.
pub async fn set_active(
    state: &AppState,
    admin: CurrentUser,
    target: Uuid,
    active: bool,
    reason: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::field("reason", "Say why, in at most 500 characters (for the audit trail)."));
    }
    if target == admin.user_id {
        return Err(AppError::Conflict("You cannot deactivate your own account.".into()));
    }
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    if !users::set_active(&mut tx, target, active).await? {
        let exists = users::password_hash(&mut tx, target).await?.is_some();
        return Err(if exists {
            AppError::Conflict(
                if active { "This account is already active." } else { "This account is already deactivated." }.into(),
            )
        } else {
            AppError::NotFound
        });
    }
    let ended = if active { 0 } else { sessions::revoke_all_for_user(&mut tx, target, "deactivated", None).await? };
    let action = if active { "admin.user_reactivated" } else { "admin.user_deactivated" };
    let entry = meta
        .audit(action, "user")
        .by(admin.user_id)
        .on(target)
        .details(json!({ "reason": reason, "sessions_ended": ended }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}
