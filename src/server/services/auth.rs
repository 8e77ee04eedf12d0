//! Sign-up, sign-in, session refresh and sign-out: each one transaction, with
//! its audit row in it.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

use crate::domain::{Email, NewPassword, PersonName, Role};
use crate::error::AppError;
use crate::server::auth::throttle::lockout_after;
use crate::server::auth::tokens::{digest, random_token};
use crate::server::db::{self, audit::AuditEntry, sessions, throttle, users};
use crate::server::error::violated_constraint;
use crate::server::password::{self, PasswordHashString};
use crate::server::state::AppState;

/// A session family stays usable this long after sign-in (refreshing inside it).
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
const WRONG_CREDENTIALS: &str = "The email or password is not right.";

/// Where a request came from, for sessions and audit rows.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    pub(crate) fn audit<'a>(&'a self, action: &'a str, resource_type: &'a str) -> AuditEntry<'a> {
        let mut entry = AuditEntry::new(action, resource_type);
        entry.ip_address = self.ip;
        entry.user_agent = self.user_agent.as_deref();
        entry
    }
}

pub struct SignUp {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub timezone: String,
    /// As chosen in the form: patient or doctor (admins are made on the command line).
    pub role: String,
}

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

/// Validates every field at once, so the form can show all its messages.
#[allow(clippy::type_complexity)]
fn validate_sign_up(
    input: &SignUp,
) -> Result<(Email, NewPassword, PersonName, PersonName, &'static str, Role), AppError> {
    let mut errors = crate::error::FieldErrors::new();
    let mut fail = |field: &str, message: String| errors.entry(field.to_owned()).or_default().push(message);
    let email = Email::parse(&input.email).map_err(|e| fail("email", e.to_string())).ok();
    let password = NewPassword::parse(&input.password, email.as_ref().map(Email::as_str))
        .map_err(|e| fail("password", e.to_string()))
        .ok();
    let first = PersonName::parse(&input.first_name).map_err(|e| fail("first_name", e.to_string())).ok();
    let last = PersonName::parse(&input.last_name).map_err(|e| fail("last_name", e.to_string())).ok();
    let zone = crate::domain::timezone::canonical_timezone(&input.timezone);
    if zone.is_none() {
        fail("timezone", "Choose your timezone from the list.".into());
    }
    let role = match input.role.parse::<Role>() {
        Ok(role @ (Role::Patient | Role::Doctor)) => Some(role),
        _ => {
            fail("role", "Choose patient or doctor.".into());
            None
        }
    };
    match (email, password, first, last, zone, role) {
        (Some(e), Some(p), Some(f), Some(l), Some(z), Some(r)) if errors.is_empty() => Ok((e, p, f, l, z, r)),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Creates an unverified account. Returns the new user's id.
pub async fn sign_up(state: &AppState, input: SignUp, meta: &RequestMeta) -> Result<Uuid, AppError> {
    let (email, new_password, first, last, zone, role) = validate_sign_up(&input)?;
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let mut tx = db::begin(&state.pool, None).await?;
    let created = users::create_account(
        &mut tx,
        &users::NewAccount {
            email: email.as_str(),
            password_hash: hash.as_str(),
            role,
            first_name: first.as_str(),
            last_name: last.as_str(),
            timezone: zone,
        },
    )
    .await;
    let user_id = match created {
        Ok(id) => id,
        Err(e) if violated_constraint(&e) == Some("users_email_key") => {
            return Err(AppError::field("email", "An account with this email already exists. Sign in instead."));
        }
        Err(e) => return Err(e.into()),
    };
    let entry = meta.audit("auth.sign_up", "user").by(user_id).on(user_id).details(json!({ "role": role }));
    db::audit::record(&mut tx, &entry).await?;
    let token = super::verification::issue(&mut tx, user_id).await?;
    tx.commit().await?;
    super::verification::send(state, email.as_str(), first.as_str(), &token).await;
    Ok(user_id)
}

/// A hash of a password nobody has, checked when the email is unknown so that
/// an unknown address costs the same time as a known one.
async fn dummy_hash() -> PasswordHashString {
    static DUMMY: tokio::sync::OnceCell<PasswordHashString> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async { password::hash(random_token()).await.expect("hashing a random string succeeds") })
        .await
        .clone()
}

fn throttle_keys(email: &str, meta: &RequestMeta) -> Vec<(&'static str, String)> {
    let mut keys = vec![("account", email.trim().to_lowercase())];
    if let Some(ip) = meta.ip {
        keys.push(("ip", ip.to_string()));
    }
    keys
}

/// Checks the password and opens a session. Wrong credentials, unknown
/// emails and locked-out keys all take the same path and the same time.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password_input: &str,
    meta: &RequestMeta,
) -> Result<IssuedSession, AppError> {
    if email.trim().is_empty() {
        return Err(AppError::field("email", "Enter your email address."));
    }
    if password_input.is_empty() {
        return Err(AppError::field("password", "Enter your password."));
    }
    let keys = throttle_keys(email, meta);
    let mut tx = db::begin(&state.pool, None).await?;
    let mut locked: Option<DateTime<Utc>> = None;
    for (scope, key) in &keys {
        if let Some(until) = throttle::locked_until(&mut tx, scope, key).await? {
            locked = locked.max(Some(until));
        }
    }
    let account = users::credentials_by_email(&mut tx, email.trim()).await?;
    let stored = match &account {
        Some(a) => PasswordHashString::from_stored(a.password_hash.clone()),
        None => dummy_hash().await,
    };
    // Always verify (even when locked or unknown): the answer takes one hash's time.
    let matches = password::verify(password_input.to_owned(), stored).await?;

    if let Some(until) = locked {
        let wait = (until - Utc::now()).num_seconds().max(1) as u64;
        let mut entry = meta.audit("auth.sign_in_locked", "user").by_maybe(account.as_ref().map(|a| a.id));
        entry.resource_id = entry.user_id;
        db::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Err(AppError::RateLimited { retry_after_secs: wait });
    }

    let account = match account {
        Some(a) if matches => a,
        other => {
            for (scope, key) in &keys {
                let failures = throttle::record_failure(&mut tx, scope, key).await?;
                if let Some(lock) = lockout_after(failures) {
                    let until = Utc::now() + chrono::Duration::from_std(lock).unwrap_or_default();
                    throttle::lock(&mut tx, scope, key, until).await?;
                }
            }
            let reason = if other.is_some() { "wrong_password" } else { "unknown_email" };
            let mut entry = meta
                .audit("auth.sign_in_failed", "user")
                .by_maybe(other.as_ref().map(|a| a.id))
                .details(json!({ "reason": reason }));
            entry.resource_id = entry.user_id;
            db::audit::record(&mut tx, &entry).await?;
            tx.commit().await?;
            return Err(AppError::field("password", WRONG_CREDENTIALS));
        }
    };
    if !account.is_active {
        let entry = meta
            .audit("auth.sign_in_refused", "user")
            .by(account.id)
            .on(account.id)
            .details(json!({ "reason": "inactive" }));
        db::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Err(AppError::field("email", "This account has been deactivated. Please contact support."));
    }
    for (scope, key) in &keys {
        throttle::clear(&mut tx, scope, key).await?;
    }
    users::record_sign_in(&mut tx, account.id).await?;
    let issued = open_session(&mut tx, state, account.id, account.role, Uuid::new_v4(), None, meta).await?;
    let entry = meta.audit("auth.sign_in", "session").by(account.id).on(issued.family_id);
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(issued)
}

/// Inserts a token row for a family and issues the matching access token.
async fn open_session(
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
    let mut tx = db::begin(&state.pool, None).await?;
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
    let mut tx = db::begin(&state.pool, None).await?;
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
    let mut tx = db::begin(&state.pool, None).await?;
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
    let mut conn = state.pool.acquire().await?;
    let Some(family) = sessions::family_state(&mut conn, family_id).await? else { return Ok(false) };
    let now = Utc::now();
    let alive = family.user_id == user_id
        && family.user_active
        && !family.revoked
        && family.expires_at > now
        && family.last_seen_at + idle_limit(state) > now;
    if alive {
        sessions::touch(&mut conn, family_id).await?;
    }
    Ok(alive)
}
