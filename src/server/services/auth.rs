//! Sign-up, sign-in, session refresh and sign-out: each one transaction, with
//! its audit row in it.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::domain::{Email, NewPassword, PersonName, Role};
use crate::error::AppError;
use crate::server::auth::throttle::lockout_after;
use crate::server::auth::tokens::random_token;
use crate::server::db::{self, audit::AuditEntry, throttle, users};
use crate::server::error::violated_constraint;
use crate::server::password::{self, PasswordHashString};
use crate::server::services::sessions::{open_session, IssuedSession};
use crate::server::state::AppState;

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
    let mut tx = db::begin_system(&state.pool).await?;
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

/// What a correct password leads to.
#[derive(Debug, Clone)]
pub enum SignInStep {
    /// Signed in.
    Session(IssuedSession),
    /// Two-step verification is on: a code is needed, within the challenge's
    /// lifetime (see [`crate::server::services::mfa::complete_sign_in`]).
    SecondFactor { challenge: String },
}

/// Checks the password and opens a session, or asks for the second factor.
/// Wrong credentials, unknown emails and locked-out keys all take the same
/// path and the same time.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password_input: &str,
    meta: &RequestMeta,
) -> Result<SignInStep, AppError> {
    if email.trim().is_empty() {
        return Err(AppError::field("email", "Enter your email address."));
    }
    if password_input.is_empty() {
        return Err(AppError::field("password", "Enter your password."));
    }
    let keys = throttle_keys(email, meta);
    // Reads first, on a connection given back before the (slow) hash check:
    // a sign-in must not hold a pooled connection while Argon2 runs.
    let (locked, account) = {
        let mut conn = crate::server::db::acquire(&state.pool).await?;
        let mut locked: Option<DateTime<Utc>> = None;
        for (scope, key) in &keys {
            if let Some(until) = throttle::locked_until(&mut conn, scope, key).await? {
                locked = locked.max(Some(until));
            }
        }
        (locked, users::credentials_by_email(&mut conn, email.trim()).await?)
    };
    let stored = match &account {
        Some(a) => PasswordHashString::from_stored(a.password_hash.clone()),
        None => dummy_hash().await,
    };
    // Always verify (even when locked or unknown): the answer takes one hash's time.
    let matches = password::verify(password_input.to_owned(), stored).await?;
    // The writes of this sign-in (throttle, session, audit) in one transaction.
    let mut tx = db::begin_system(&state.pool).await?;

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
    if account.mfa_enabled {
        // The failure counters stay until the second factor is right too.
        let entry = meta.audit("auth.password_accepted", "user").by(account.id).on(account.id);
        db::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Ok(SignInStep::SecondFactor { challenge: state.access_tokens.issue_challenge(account.id, Utc::now()) });
    }
    for (scope, key) in &keys {
        throttle::clear(&mut tx, scope, key).await?;
    }
    users::record_sign_in(&mut tx, account.id).await?;
    let issued = open_session(&mut tx, state, account.id, account.role, Uuid::new_v4(), None, meta).await?;
    let entry = meta.audit("auth.sign_in", "session").by(account.id).on(issued.family_id);
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(SignInStep::Session(issued))
}
