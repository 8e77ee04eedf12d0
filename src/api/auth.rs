//! Sign-up, sign-in and sign-out.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::Role;
use crate::error::AppError;

/// The signed-in user, as the browser may know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub timezone: String,
    pub is_email_verified: bool,
    pub mfa_enabled: bool,
    /// After this long without activity the server ends the session.
    pub idle_timeout_secs: u32,
}

/// `POST /api/sign_up`: a new patient or doctor account (unverified).
#[server(prefix = "/api", endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    first_name: String,
    last_name: String,
    timezone: String,
    role: String,
) -> Result<(), AppError> {
    use crate::server::auth::session::current_request_meta;
    use crate::server::services::auth::{self, SignUp};
    use crate::server::state::AppState;
    let state = AppState::current()?;
    auth::sign_up(&state, SignUp { email, password, first_name, last_name, timezone, role }, &current_request_meta())
        .await?;
    Ok(())
}

/// Where signing in stands after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum SignInOutcome {
    SignedIn {
        role: Role,
    },
    /// The password was right; now a code from the authenticator app (or a
    /// recovery code), within five minutes.
    CodeNeeded,
}

/// `POST /api/sign_in`: checks the password; opens a session and sets its
/// cookies, or (with two-step verification on) sets the challenge cookie.
#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<SignInOutcome, AppError> {
    use crate::server::auth::session::{challenge_cookie, current_request_meta, respond_with_cookies, session_cookies};
    use crate::server::services::auth::{self, SignInStep};
    use crate::server::state::AppState;
    let state = AppState::current()?;
    match auth::sign_in(&state, &email, &password, &current_request_meta()).await? {
        SignInStep::Session(issued) => {
            respond_with_cookies(session_cookies(&state, &issued));
            Ok(SignInOutcome::SignedIn { role: issued.role })
        }
        SignInStep::SecondFactor { challenge } => {
            respond_with_cookies([challenge_cookie(&state, Some(&challenge))]);
            Ok(SignInOutcome::CodeNeeded)
        }
    }
}

/// `POST /api/sign_in_code`: the second step, with a TOTP or recovery code.
#[server(prefix = "/api", endpoint = "sign_in_code")]
pub async fn sign_in_code(code: String) -> Result<SignInOutcome, AppError> {
    use crate::server::auth::session::{
        challenge_cookie, current_request_meta, request_cookie, respond_with_cookies, session_cookies, CHALLENGE_COOKIE,
    };
    use crate::server::services::mfa;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let challenge = request_cookie(CHALLENGE_COOKIE);
    let issued = mfa::complete_sign_in(&state, challenge.as_deref(), &code, &current_request_meta()).await?;
    let [access, refresh] = session_cookies(&state, &issued);
    respond_with_cookies([access, refresh, challenge_cookie(&state, None)]);
    Ok(SignInOutcome::SignedIn { role: issued.role })
}

/// `POST /api/sign_out`: ends this device's session.
#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::server::auth::session::{clearing_cookies, current_request_meta, current_user, respond_with_cookies};
    use crate::server::services::sessions;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    if let Some(user) = current_user() {
        sessions::sign_out(&state, user.user_id, user.family_id, &current_request_meta()).await?;
    }
    respond_with_cookies(clearing_cookies(&state));
    Ok(())
}

/// `POST /api/sign_out_everywhere`: ends every session of the signed-in user.
#[server(prefix = "/api", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<u64, AppError> {
    use crate::server::auth::session::{clearing_cookies, current_request_meta, require_user, respond_with_cookies};
    use crate::server::services::sessions;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let user = require_user()?;
    let revoked = sessions::sign_out_everywhere(&state, user.user_id, &current_request_meta()).await?;
    respond_with_cookies(clearing_cookies(&state));
    Ok(revoked)
}

/// `GET /api/me`: who is signed in (None when nobody is).
#[server(prefix = "/api", endpoint = "me", input = leptos::server_fn::codec::GetUrl)]
pub async fn me() -> Result<Option<SignedInUser>, AppError> {
    use crate::server::auth::session::{current_user, session_unchecked};
    use crate::server::db::{self, users};
    use crate::server::state::AppState;
    let Some(user) = current_user() else {
        // Cookies that could not be checked (database down) are not "nobody".
        return if session_unchecked() { Err(AppError::Unavailable) } else { Ok(None) };
    };
    let state = AppState::current()?;
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let summary = users::summary(&mut tx, user.user_id).await?;
    tx.commit().await?;
    Ok(summary.map(|s| SignedInUser {
        first_name: s.first_name,
        last_name: s.last_name,
        email: s.email,
        role: s.role,
        timezone: s.timezone,
        is_email_verified: s.is_email_verified,
        mfa_enabled: s.mfa_enabled,
        idle_timeout_secs: state.settings.security.idle_timeout_minutes * 60,
    }))
}

/// `POST /api/verify_email`: confirms the address behind a link's token.
/// (A POST, from a button: mail scanners that open links must not use it up.)
#[server(prefix = "/api", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    use crate::server::auth::session::current_request_meta;
    use crate::server::services::verification;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    verification::verify(&state, &token, &current_request_meta()).await
}

/// `POST /api/resend_verification`: a new link for the signed-in user.
#[server(prefix = "/api", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::verification;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    verification::resend(&state, require_user()?, &current_request_meta()).await
}

/// One message of the development mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevMail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub sent_at: String,
}

/// `GET /api/dev_mailbox`: the development mailbox (404 unless the app runs
/// in development with the dev mail transport).
#[server(prefix = "/api", endpoint = "dev_mailbox", input = leptos::server_fn::codec::GetUrl)]
pub async fn dev_mailbox(to: Option<String>) -> Result<Vec<DevMail>, AppError> {
    use crate::server::config::MailTransport;
    use crate::server::db::mailbox;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    if state.settings.is_production() || state.settings.mail.transport != MailTransport::Dev {
        return Err(AppError::NotFound);
    }
    let to = to.filter(|t| !t.trim().is_empty());
    let mails = mailbox::latest(&state.pool, to.as_deref().map(str::trim), 50).await?;
    Ok(mails
        .into_iter()
        .map(|m| DevMail {
            to: m.to_address,
            subject: m.subject,
            body: m.body_text,
            sent_at: m.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        })
        .collect())
}
