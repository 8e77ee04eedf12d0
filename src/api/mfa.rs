//! Two-step verification of the signed-in person's own account.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Where my two-step verification stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaOverview {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// Administrators must have it on.
    pub required: bool,
}

/// What an authenticator app needs to be set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaSetup {
    /// An SVG document, made on the server from the otpauth URI.
    pub qr_svg: String,
    /// The secret in base32, in groups of four, for typing in by hand.
    pub manual_key: String,
    pub otpauth_uri: String,
}

/// `GET /api/mfa_status`
#[server(prefix = "/api", endpoint = "mfa_status", input = leptos::server_fn::codec::GetUrl)]
pub async fn mfa_status() -> Result<MfaOverview, AppError> {
    use crate::server::auth::session::require_user;
    use crate::server::services::mfa;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let status = mfa::status(&state, require_user()?).await?;
    Ok(MfaOverview {
        enabled: status.enabled,
        recovery_codes_left: status.recovery_codes_left,
        required: status.required,
    })
}

/// `POST /api/mfa_begin`: a new secret to scan (pending until confirmed).
#[server(prefix = "/api", endpoint = "mfa_begin")]
pub async fn mfa_begin() -> Result<MfaSetup, AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::mfa;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let setup = mfa::begin_enrolment(&state, require_user()?, &current_request_meta()).await?;
    Ok(MfaSetup { qr_svg: setup.qr_svg, manual_key: setup.manual_key, otpauth_uri: setup.otpauth_uri })
}

/// `POST /api/mfa_confirm`: turns it on with a first code; answers the
/// recovery codes (shown once).
#[server(prefix = "/api", endpoint = "mfa_confirm")]
pub async fn mfa_confirm(code: String) -> Result<Vec<String>, AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::mfa;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    mfa::confirm_enrolment(&state, require_user()?, &code, &current_request_meta()).await
}

/// `POST /api/mfa_renew_codes`: ten new recovery codes, after a valid code.
#[server(prefix = "/api", endpoint = "mfa_renew_codes")]
pub async fn mfa_renew_codes(code: String) -> Result<Vec<String>, AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::mfa;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    mfa::renew_recovery_codes(&state, require_user()?, &code, &current_request_meta()).await
}

/// `POST /api/mfa_disable`: turns it off, with the password and a code.
#[server(prefix = "/api", endpoint = "mfa_disable")]
pub async fn mfa_disable(password: String, code: String) -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::mfa;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    mfa::disable(&state, require_user()?, &password, &code, &current_request_meta()).await
}
