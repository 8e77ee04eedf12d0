//! Changing a password (knowing the current one) and resetting a forgotten
//! one by a 30-minute single-use email link. Both end other sessions.

use chrono::Utc;

use crate::domain::NewPassword;
use crate::error::AppError;
use crate::server::auth::session::CurrentUser;
use crate::server::auth::tokens::{digest, random_token};
use crate::server::db::{self, email_tokens, sessions, throttle, users};
use crate::server::integrations::mail::Email;
use crate::server::password::{self, PasswordHashString};
use crate::server::services::auth::RequestMeta;
use crate::server::state::AppState;

const RESET_LINK_LIFETIME: chrono::Duration = chrono::Duration::minutes(30);

/// Changes the signed-in user's password and signs out their other devices.
pub async fn change(
    state: &AppState,
    user: CurrentUser,
    current_password: &str,
    new_password: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let account = users::summary(&mut tx, user.user_id).await?.ok_or(AppError::Unauthorized)?;
    let stored = users::password_hash(&mut tx, user.user_id).await?.ok_or(AppError::Unauthorized)?;
    if !password::verify(current_password.to_owned(), PasswordHashString::from_stored(stored)).await? {
        return Err(AppError::field("current_password", "This is not your current password."));
    }
    let new_password = NewPassword::parse(new_password, Some(&account.email))
        .map_err(|e| AppError::field("new_password", e.to_string()))?;
    if new_password.expose() == current_password {
        return Err(AppError::field("new_password", "Choose a password different from the current one."));
    }
    let hash = password::hash(new_password.expose().to_owned()).await?;
    users::set_password(&mut tx, user.user_id, hash.as_str()).await?;
    let others = sessions::revoke_all_for_user(&mut tx, user.user_id, "password_changed", Some(user.family_id)).await?;
    let entry = meta
        .audit("auth.password_changed", "user")
        .by(user.user_id)
        .on(user.user_id)
        .details(serde_json::json!({ "other_sessions_ended": others }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a reset link if the address has an account. Answers the same way,
/// in the same time, whether or not it does: the email goes out afterwards.
pub async fn request_reset(state: &AppState, email: &str, meta: &RequestMeta) -> Result<(), AppError> {
    let email = email.trim();
    if crate::domain::Email::parse(email).is_err() {
        return Err(AppError::field("email", "Enter an email address like name@example.com."));
    }
    let mut tx = db::begin_system(&state.pool).await?;
    let Some(account) = users::credentials_by_email(&mut tx, email).await?.filter(|a| a.is_active) else {
        tx.commit().await?;
        return Ok(());
    };
    let summary = users::summary(&mut tx, account.id).await?;
    let token = random_token();
    email_tokens::insert(
        &mut tx,
        account.id,
        email_tokens::RESET_PASSWORD,
        &digest(&token),
        Utc::now() + RESET_LINK_LIFETIME,
    )
    .await?;
    db::audit::record(&mut tx, &meta.audit("auth.password_reset_requested", "user").by(account.id).on(account.id))
        .await?;
    tx.commit().await?;

    let (to, first_name) =
        summary.map(|s| (s.email, s.first_name)).unwrap_or_else(|| (email.to_owned(), String::new()));
    let link = format!("{}/reset-password?token={token}", state.settings.app.public_url.trim_end_matches('/'));
    let message = Email {
        to,
        subject: "Reset your Telehealth password".into(),
        body: format!(
            "Hello {first_name},\n\nSomeone (we hope you) asked to reset your password. Choose a new one within 30 minutes here:\n\n{link}\n\n\
             If it was not you, ignore this message: your password stays as it is.\n\n— Telehealth\n"
        ),
        attachment: None,
    };
    let mailer = state.mailer.clone();
    tokio::spawn(async move {
        if let Err(e) = mailer.send(&message).await {
            tracing::warn!(error = %e, "password reset email not sent");
        }
    });
    Ok(())
}

/// Sets a new password from a reset link; ends every session of the account.
pub async fn reset(state: &AppState, token: &str, new_password: &str, meta: &RequestMeta) -> Result<(), AppError> {
    let mut tx = db::begin_system(&state.pool).await?;
    let Some(row) = email_tokens::lock_by_hash(&mut tx, email_tokens::RESET_PASSWORD, &digest(token.trim())).await?
    else {
        return Err(AppError::field("token", "This reset link is not valid. Ask for a new one."));
    };
    if row.used_at.is_some() {
        return Err(AppError::field(
            "token",
            "This reset link has already been used. Ask for a new one if you need to.",
        ));
    }
    if row.expires_at <= Utc::now() {
        return Err(AppError::field(
            "token",
            "This reset link has expired (links last 30 minutes). Ask for a new one.",
        ));
    }
    let account = users::summary(&mut tx, row.user_id).await?.ok_or(AppError::NotFound)?;
    let new_password = NewPassword::parse(new_password, Some(&account.email))
        .map_err(|e| AppError::field("new_password", e.to_string()))?;
    let hash = password::hash(new_password.expose().to_owned()).await?;
    users::set_password(&mut tx, row.user_id, hash.as_str()).await?;
    email_tokens::mark_used(&mut tx, row.id).await?;
    let ended = sessions::revoke_all_for_user(&mut tx, row.user_id, "password_reset", None).await?;
    throttle::clear(&mut tx, "account", &account.email.to_lowercase()).await?;
    let entry = meta
        .audit("auth.password_reset", "user")
        .by(row.user_id)
        .on(row.user_id)
        .details(serde_json::json!({ "sessions_ended": ended }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}
