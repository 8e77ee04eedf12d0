//! Two-step verification (TOTP) for one's own account: enrolment with a QR
//! code, confirmation, recovery codes, the second step of signing in, and
//! turning it off; and an administrator's reset of someone else's.
//!
//! Every act is one transaction with its audit row. Wrong codes count
//! towards the same lockout as wrong passwords, per account and per IP.

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppError;
use crate::server::auth::mfa;
use crate::server::auth::session::CurrentUser;
use crate::server::auth::throttle::lockout_after;
use crate::server::db::{self, mfa::MfaState, sessions, throttle, users};
use crate::server::password::{self, PasswordHashString};
use crate::server::services::auth::RequestMeta;
use crate::server::services::sessions::{open_session, IssuedSession};
use crate::server::state::AppState;

const WRONG_CODE: &str = "This code is not right. Enter the newest code from your app, or an unused recovery code.";
const ENTER_CODE: &str = "Enter the 6-digit code from your authenticator app.";
const EXPIRED_CHALLENGE: &str = "Your sign-in took too long. Please enter your email and password again.";

/// What the enrolment page shows: scan the QR code, or type the key.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub qr_svg: String,
    pub manual_key: String,
    pub otpauth_uri: String,
}

/// Where a user's two-step verification stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// Administrators may not be without it.
    pub required: bool,
}

/// Which second factor was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Factor {
    Totp,
    RecoveryCode,
}

impl Factor {
    fn as_str(self) -> &'static str {
        match self {
            Factor::Totp => "totp",
            Factor::RecoveryCode => "recovery_code",
        }
    }
}

fn secret_of(state: &AppState, user_id: Uuid, st: &MfaState) -> Result<Vec<u8>, AppError> {
    let stored = st.mfa_secret.as_deref().ok_or(AppError::Internal)?;
    state.cipher.decrypt(stored, user_id.as_bytes()).map_err(|e| {
        tracing::error!(%user_id, error = %e, "an MFA secret does not decrypt");
        AppError::Internal
    })
}

fn unix_now() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

/// Accepts a TOTP code (each time step once) or an unused recovery code.
async fn check_factor(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    user_id: Uuid,
    st: &MfaState,
    code: &str,
) -> Result<Option<Factor>, AppError> {
    let secret = secret_of(state, user_id, st)?;
    if mfa::looks_like_totp(code) {
        let Some(step) = mfa::matching_step(&secret, code, unix_now(), st.mfa_last_step) else { return Ok(None) };
        return Ok(db::mfa::use_step(conn, user_id, step).await?.then_some(Factor::Totp));
    }
    let used = db::mfa::use_recovery_code(conn, user_id, &mfa::recovery_code_digest(code)).await?;
    Ok(used.then_some(Factor::RecoveryCode))
}

fn throttle_keys(user_id: Uuid, meta: &RequestMeta) -> Vec<(&'static str, String)> {
    let mut keys = vec![("mfa", user_id.to_string())];
    if let Some(ip) = meta.ip {
        keys.push(("ip", ip.to_string()));
    }
    keys
}

async fn ensure_not_locked(conn: &mut sqlx::PgConnection, keys: &[(&str, String)]) -> Result<(), AppError> {
    let mut locked = None;
    for (scope, key) in keys {
        locked = locked.max(throttle::locked_until(conn, scope, key).await?);
    }
    match locked {
        Some(until) => {
            Err(AppError::RateLimited { retry_after_secs: (until - Utc::now()).num_seconds().max(1) as u64 })
        }
        None => Ok(()),
    }
}

async fn count_failure(conn: &mut sqlx::PgConnection, keys: &[(&str, String)]) -> Result<(), AppError> {
    for (scope, key) in keys {
        let failures = throttle::record_failure(conn, scope, key).await?;
        if let Some(lock) = lockout_after(failures) {
            let until = Utc::now() + chrono::Duration::from_std(lock).unwrap_or_default();
            throttle::lock(conn, scope, key, until).await?;
        }
    }
    Ok(())
}

fn locked_state(st: Option<MfaState>) -> Result<MfaState, AppError> {
    st.filter(|s| s.is_active).ok_or(AppError::Unauthorized)
}

pub async fn status(state: &AppState, user: CurrentUser) -> Result<Status, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let account = users::summary(&mut tx, user.user_id).await?.ok_or(AppError::Unauthorized)?;
    let left = db::mfa::recovery_codes_left(&mut tx, user.user_id).await?;
    tx.commit().await?;
    Ok(Status {
        enabled: account.mfa_enabled,
        recovery_codes_left: if account.mfa_enabled { left } else { 0 },
        required: account.role == Role::Admin,
    })
}

/// A new secret, pending until a code from it is confirmed. Starting again
/// replaces a pending secret; an enabled one must be turned off first.
pub async fn begin_enrolment(state: &AppState, user: CurrentUser, meta: &RequestMeta) -> Result<Enrolment, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let st = locked_state(db::mfa::lock_state(&mut tx, user.user_id).await?)?;
    if st.mfa_enabled {
        return Err(AppError::Conflict("Two-step verification is already on.".into()));
    }
    let secret = mfa::new_secret();
    db::mfa::set_pending_secret(&mut tx, user.user_id, &state.cipher.encrypt(&secret, user.user_id.as_bytes())).await?;
    let entry = meta.audit("mfa.enrolment_started", "user").by(user.user_id).on(user.user_id);
    db::audit::record(&mut tx, &entry).await?;
    let (otpauth_uri, manual_key) = mfa::provisioning(&secret, &st.email).ok_or(AppError::Internal)?;
    let qr_svg = mfa::qr_svg(&otpauth_uri).ok_or(AppError::Internal)?;
    tx.commit().await?;
    Ok(Enrolment { qr_svg, manual_key, otpauth_uri })
}

async fn issue_recovery_codes(conn: &mut sqlx::PgConnection, user_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    let codes = mfa::new_recovery_codes();
    let digests: Vec<Vec<u8>> = codes.iter().map(|c| mfa::recovery_code_digest(c)).collect();
    db::mfa::replace_recovery_codes(conn, user_id, &digests).await?;
    Ok(codes)
}

/// Turns MFA on once a code from the pending secret checks out; returns the
/// recovery codes, which are never shown again.
pub async fn confirm_enrolment(
    state: &AppState,
    user: CurrentUser,
    code: &str,
    meta: &RequestMeta,
) -> Result<Vec<String>, AppError> {
    if !mfa::looks_like_totp(code) {
        return Err(AppError::field("code", ENTER_CODE));
    }
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let st = locked_state(db::mfa::lock_state(&mut tx, user.user_id).await?)?;
    if st.mfa_enabled {
        return Err(AppError::Conflict("Two-step verification is already on.".into()));
    }
    if st.mfa_secret.is_none() {
        return Err(AppError::Conflict("Start the set-up again: there is no QR code waiting for a code.".into()));
    }
    let secret = secret_of(state, user.user_id, &st)?;
    let Some(step) = mfa::matching_step(&secret, code, unix_now(), None) else {
        return Err(AppError::field(
            "code",
            "This code is not right. Check that your phone's clock is set automatically and enter the newest code.",
        ));
    };
    db::mfa::enable(&mut tx, user.user_id, step).await?;
    let codes = issue_recovery_codes(&mut tx, user.user_id).await?;
    let entry = meta.audit("mfa.enabled", "user").by(user.user_id).on(user.user_id);
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    state
        .mailer
        .notify_text(
            &st.email,
            "Two-step verification is on",
            "Hello,\n\nTwo-step verification is now on for your Telehealth account. Signing in will ask for a code \
         from your authenticator app.\n\nIf this was not you, reset your password at once and contact support.\n\n\
         — Telehealth\n"
                .into(),
        )
        .await;
    Ok(codes)
}

/// Ten new recovery codes (the old ones stop working), after a valid code.
pub async fn renew_recovery_codes(
    state: &AppState,
    user: CurrentUser,
    code: &str,
    meta: &RequestMeta,
) -> Result<Vec<String>, AppError> {
    if mfa::normalize_code(code).is_empty() {
        return Err(AppError::field("code", ENTER_CODE));
    }
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let st = locked_state(db::mfa::lock_state(&mut tx, user.user_id).await?)?;
    if !st.mfa_enabled {
        return Err(AppError::Conflict("Two-step verification is off.".into()));
    }
    let keys = throttle_keys(user.user_id, meta);
    ensure_not_locked(&mut tx, &keys).await?;
    if check_factor(&mut tx, state, user.user_id, &st, code).await?.is_none() {
        return refuse_code(tx, &keys, meta.audit("mfa.code_failed", "user").by(user.user_id).on(user.user_id)).await;
    }
    let codes = issue_recovery_codes(&mut tx, user.user_id).await?;
    let entry = meta.audit("mfa.recovery_codes_renewed", "user").by(user.user_id).on(user.user_id);
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Counts the failure and records it, commits that, and answers "wrong code".
async fn refuse_code<T>(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    keys: &[(&str, String)],
    entry: db::audit::AuditEntry<'_>,
) -> Result<T, AppError> {
    count_failure(&mut tx, keys).await?;
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Err(AppError::field("code", WRONG_CODE))
}

/// Turns MFA off, with the password and a code. Administrators cannot.
pub async fn disable(
    state: &AppState,
    user: CurrentUser,
    password_input: &str,
    code: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    if user.role == Role::Admin {
        return Err(AppError::Conflict(
            "Administrators must keep two-step verification on. Another administrator can reset it.".into(),
        ));
    }
    let mut errors = crate::error::FieldErrors::new();
    if password_input.is_empty() {
        errors.insert("password".into(), vec!["Enter your password.".into()]);
    }
    if mfa::normalize_code(code).is_empty() {
        errors.insert("code".into(), vec![ENTER_CODE.into()]);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let st = locked_state(db::mfa::lock_state(&mut tx, user.user_id).await?)?;
    if !st.mfa_enabled {
        return Err(AppError::Conflict("Two-step verification is already off.".into()));
    }
    let keys = throttle_keys(user.user_id, meta);
    ensure_not_locked(&mut tx, &keys).await?;
    let stored = users::password_hash(&mut tx, user.user_id).await?.ok_or(AppError::Unauthorized)?;
    if !password::verify(password_input.to_owned(), PasswordHashString::from_stored(stored)).await? {
        count_failure(&mut tx, &keys).await?;
        let entry = meta.audit("mfa.disable_refused", "user").by(user.user_id).on(user.user_id);
        db::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Err(AppError::field("password", "This is not your current password."));
    }
    if check_factor(&mut tx, state, user.user_id, &st, code).await?.is_none() {
        return refuse_code(tx, &keys, meta.audit("mfa.code_failed", "user").by(user.user_id).on(user.user_id)).await;
    }
    db::mfa::disable(&mut tx, user.user_id).await?;
    let entry = meta.audit("mfa.disabled", "user").by(user.user_id).on(user.user_id);
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    state
        .mailer
        .notify_text(
            &st.email,
            "Two-step verification is off",
            "Hello,\n\nTwo-step verification was turned off for your Telehealth account. Signing in now needs only \
         your password.\n\nIf this was not you, reset your password at once and contact support.\n\n— Telehealth\n"
                .into(),
        )
        .await;
    Ok(())
}

/// The second step of signing in: the challenge from the password step and
/// a TOTP or recovery code. Opens the session.
pub async fn complete_sign_in(
    state: &AppState,
    challenge: Option<&str>,
    code: &str,
    meta: &RequestMeta,
) -> Result<IssuedSession, AppError> {
    let claims = challenge
        .and_then(|c| state.access_tokens.verify_challenge(c).ok())
        .ok_or_else(|| AppError::Conflict(EXPIRED_CHALLENGE.into()))?;
    if mfa::normalize_code(code).is_empty() {
        return Err(AppError::field("code", "Enter the code from your authenticator app, or a recovery code."));
    }
    let user_id = claims.sub;
    let mut tx = db::begin_system(&state.pool).await?;
    let st =
        db::mfa::lock_state(&mut tx, user_id).await?.ok_or_else(|| AppError::Conflict(EXPIRED_CHALLENGE.into()))?;
    if !st.is_active {
        return Err(AppError::field("code", "This account has been deactivated. Please contact support."));
    }
    if !st.mfa_enabled {
        // Reset by an administrator between the two steps: start again.
        return Err(AppError::Conflict(EXPIRED_CHALLENGE.into()));
    }
    let keys = throttle_keys(user_id, meta);
    ensure_not_locked(&mut tx, &keys).await?;
    let Some(factor) = check_factor(&mut tx, state, user_id, &st, code).await? else {
        let mut entry =
            meta.audit("auth.sign_in_failed", "user").by(user_id).details(json!({ "reason": "wrong_second_factor" }));
        entry.resource_id = Some(user_id);
        return refuse_code(tx, &keys, entry).await;
    };
    for (scope, key) in keys.iter().map(|(s, k)| (*s, k.clone())).chain([("account", st.email.to_lowercase())]) {
        throttle::clear(&mut tx, scope, &key).await?;
    }
    users::record_sign_in(&mut tx, user_id).await?;
    let issued = open_session(&mut tx, state, user_id, st.role, Uuid::new_v4(), None, meta).await?;
    let left = db::mfa::recovery_codes_left(&mut tx, user_id).await?;
    let entry = meta
        .audit("auth.sign_in", "session")
        .by(user_id)
        .on(issued.family_id)
        .details(json!({ "second_factor": factor.as_str() }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    if factor == Factor::RecoveryCode {
        state
            .mailer
            .notify_text(
                &st.email,
                "A recovery code was used to sign in",
                format!(
                    "Hello,\n\nSomeone signed in to your Telehealth account with one of your recovery codes. \
                 You have {left} left; you can make new ones under Account, Two-step verification.\n\n\
                 If this was not you, reset your password at once and contact support.\n\n— Telehealth\n"
                ),
            )
            .await;
    }
    Ok(issued)
}

/// An administrator turns off someone else's MFA (a lost phone, no codes
/// left): their sessions end, and they are told by email.
pub async fn admin_reset(
    state: &AppState,
    admin: CurrentUser,
    target: Uuid,
    reason: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    if admin.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::field("reason", "Say why, in at most 500 characters (for the audit trail)."));
    }
    if target == admin.user_id {
        return Err(AppError::Conflict(
            "You cannot reset your own two-step verification. Ask another administrator.".into(),
        ));
    }
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    let st = db::mfa::lock_state(&mut tx, target).await?.ok_or(AppError::NotFound)?;
    if !st.mfa_enabled && st.mfa_secret.is_none() {
        return Err(AppError::Conflict("This account has no two-step verification to reset.".into()));
    }
    db::mfa::disable(&mut tx, target).await?;
    let ended = sessions::revoke_all_for_user(&mut tx, target, "mfa_reset", None).await?;
    let entry = meta
        .audit("admin.mfa_reset", "user")
        .by(admin.user_id)
        .on(target)
        .details(json!({ "reason": reason, "sessions_ended": ended }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    state
        .mailer
        .notify_text(
            &st.email,
            "Your two-step verification was reset",
            "Hello,\n\nAn administrator reset two-step verification on your Telehealth account, as you asked. \
         You have been signed out everywhere. Sign in with your password and set it up again under Account, \
         Two-step verification.\n\nIf you did not ask for this, contact support at once.\n\n— Telehealth\n"
                .into(),
        )
        .await;
    Ok(())
}
