//! Email verification: a single-use link, valid for 48 hours, sent at
//! sign-up and again on request (at most once a minute).

use chrono::Utc;
use uuid::Uuid;

use crate::error::AppError;
use crate::server::auth::session::CurrentUser;
use crate::server::auth::tokens::{digest, random_token};
use crate::server::db::{self, email_tokens, users};
use crate::server::integrations::mail::Email;
use crate::server::services::auth::RequestMeta;
use crate::server::state::AppState;

const LINK_LIFETIME: chrono::Duration = chrono::Duration::hours(48);

/// Creates a verification link for the user inside the caller's transaction;
/// returns the token to put in the email (sent after commit).
pub async fn issue(conn: &mut sqlx::PgConnection, user_id: Uuid) -> Result<String, sqlx::Error> {
    let token = random_token();
    email_tokens::insert(conn, user_id, email_tokens::VERIFY_EMAIL, &digest(&token), Utc::now() + LINK_LIFETIME)
        .await?;
    Ok(token)
}

/// Sends the link. A mail failure is logged, not fatal: the user can ask again.
pub async fn send(state: &AppState, to: &str, first_name: &str, token: &str) {
    let link = format!("{}/verify-email?token={token}", state.settings.app.public_url.trim_end_matches('/'));
    let email = Email {
        to: to.to_owned(),
        subject: "Confirm your email address for Telehealth".into(),
        body: format!(
            "Hello {first_name},\n\nPlease confirm your email address by opening this link within 48 hours:\n\n{link}\n\n\
             If you did not create a Telehealth account, you can ignore this message.\n\n— Telehealth\n"
        ),
        attachment: None,
    };
    if let Err(e) = state.mailer.send(&email).await {
        tracing::warn!(error = %e, "verification email not sent");
    }
}

/// Marks the address of the link's user as verified. The link works once.
pub async fn verify(state: &AppState, token: &str, meta: &RequestMeta) -> Result<(), AppError> {
    let mut tx = db::begin_system(&state.pool).await?;
    let Some(row) = email_tokens::lock_by_hash(&mut tx, email_tokens::VERIFY_EMAIL, &digest(token.trim())).await?
    else {
        return Err(AppError::field(
            "token",
            "This link is not valid. Check that you copied all of it, or ask for a new one.",
        ));
    };
    if row.used_at.is_some() {
        return Err(AppError::field(
            "token",
            "This link has already been used. Your address may already be confirmed: try signing in.",
        ));
    }
    if row.expires_at <= Utc::now() {
        return Err(AppError::field("token", "This link has expired. Sign in and ask for a new one."));
    }
    email_tokens::mark_used(&mut tx, row.id).await?;
    users::mark_email_verified(&mut tx, row.user_id).await?;
    let entry = meta.audit("auth.email_verified", "user").by(row.user_id).on(row.user_id);
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a fresh link to a signed-in, unverified user, at most once per cooldown.
pub async fn resend(state: &AppState, user: CurrentUser, meta: &RequestMeta) -> Result<(), AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let account = users::summary(&mut tx, user.user_id).await?.ok_or(AppError::Unauthorized)?;
    if account.is_email_verified {
        return Err(AppError::Conflict("Your email address is already confirmed.".into()));
    }
    let cooldown = chrono::Duration::seconds(state.settings.mail.resend_cooldown_secs as i64);
    if let Some(sent) = email_tokens::last_sent_at(&mut tx, user.user_id, email_tokens::VERIFY_EMAIL).await? {
        let wait = (sent + cooldown - Utc::now()).num_seconds();
        if wait > 0 {
            return Err(AppError::RateLimited { retry_after_secs: wait as u64 });
        }
    }
    let token = issue(&mut tx, user.user_id).await?;
    let entry = meta.audit("auth.verification_resent", "user").by(user.user_id).on(user.user_id);
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    send(state, &account.email, &account.first_name, &token).await;
    Ok(())
}
