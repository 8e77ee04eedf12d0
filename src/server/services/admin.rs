//! Operator tasks run from the command line.

use serde_json::json;
use uuid::Uuid;

use crate::domain::{Email, NewPassword, PersonName, Role};
use crate::error::AppError;
use crate::server::db::{self, audit::AuditEntry, users};
use crate::server::error::violated_constraint;
use crate::server::password;

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

    let mut tx = db::begin(pool, None).await?;
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
