//! Administration: looking after accounts. Every function requires an
//! administrator with two-step verification on.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppError;

/// One account in the administrators' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub is_active: bool,
    pub is_email_verified: bool,
    pub mfa_enabled: bool,
    /// "never", or a UTC date and time.
    pub last_login: String,
}

/// `GET /api/admin_users?query=q=…&role=…&status=…`: accounts whose email or
/// name contains `q`, of one role (patient, doctor, admin) and one status
/// (active, deactivated, unconfirmed) when given. The page hands over its
/// query string, so an unknown filter is refused like everywhere else.
#[server(prefix = "/api", endpoint = "admin_users", input = leptos::server_fn::codec::GetUrl)]
pub async fn admin_users(query: String) -> Result<Vec<UserRow>, AppError> {
    use crate::server::auth::session::require_admin;
    use crate::server::services::admin;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    let rows = admin::find_users(&state, admin, &query).await?;
    Ok(rows
        .into_iter()
        .map(|r| UserRow {
            id: r.id,
            email: r.email,
            name: format!("{} {}", r.first_name, r.last_name),
            role: r.role,
            is_active: r.is_active,
            is_email_verified: r.is_email_verified,
            mfa_enabled: r.mfa_enabled,
            last_login: r
                .last_login
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "never".into()),
        })
        .collect())
}

/// `POST /api/admin_reset_mfa`: turns off another user's two-step
/// verification (they are signed out everywhere and emailed).
#[server(prefix = "/api", endpoint = "admin_reset_mfa")]
pub async fn admin_reset_mfa(user_id: Uuid, reason: String) -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_admin};
    use crate::server::services::mfa;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    mfa::admin_reset(&state, admin, user_id, &reason, &current_request_meta()).await
}

/// `POST /api/admin_set_active`: deactivates (ending its sessions) or
/// reactivates an account.
#[server(prefix = "/api", endpoint = "admin_set_active")]
pub async fn admin_set_active(user_id: Uuid, active: bool, reason: String) -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_admin};
    use crate::server::services::admin;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    admin::set_active(&state, admin, user_id, active, &reason, &current_request_meta()).await
}

/// One key figure of the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub label: String,
    pub value: String,
    pub note: Option<String>,
}

/// The dashboard over a date range (UTC days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub from: String,
    pub to: String,
    pub figures: Vec<Figure>,
    pub charts: Vec<crate::components::chart::ChartData>,
}

/// `GET /api/admin_dashboard?query=from=…&to=…`: figures and charts.
#[server(prefix = "/api", endpoint = "admin_dashboard", input = leptos::server_fn::codec::GetUrl)]
pub async fn admin_dashboard(query: String) -> Result<Dashboard, AppError> {
    use crate::server::auth::session::require_admin;
    use crate::server::services::admin_reports;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    admin_reports::dashboard(&state, admin, &query).await
}

/// One consultation in the administrators' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsultationLine {
    pub id: Uuid,
    pub when: String,
    pub status: String,
    pub kind: String,
    pub patient: String,
    pub patient_email: String,
    pub doctor: String,
    pub payment: Option<String>,
    pub payment_id: Option<Uuid>,
}

/// `GET /api/admin_consultations?query=status=…&q=…&from=…&to=…`.
#[server(prefix = "/api", endpoint = "admin_consultations", input = leptos::server_fn::codec::GetUrl)]
pub async fn admin_consultations(query: String) -> Result<Vec<ConsultationLine>, AppError> {
    use crate::server::auth::session::require_admin;
    use crate::server::services::admin_reports;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    admin_reports::consultations(&state, admin, &query).await
}

/// One payment in the administrators' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLine {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub created: String,
    pub paid: String,
    pub amount: String,
    pub refunded: String,
    /// What may still be refunded, as a plain decimal ("0.00" when nothing).
    pub refundable: String,
    pub currency: String,
    pub status: String,
    pub method: String,
    pub patient: String,
    pub patient_email: String,
    pub doctor: String,
}

/// `GET /api/admin_payments?query=status=…&currency=…&q=…&from=…&to=…`.
#[server(prefix = "/api", endpoint = "admin_payments", input = leptos::server_fn::codec::GetUrl)]
pub async fn admin_payments(query: String) -> Result<Vec<PaymentLine>, AppError> {
    use crate::server::auth::session::require_admin;
    use crate::server::services::admin_reports;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    admin_reports::payments(&state, admin, &query).await
}

/// `POST /api/admin_refund`: refunds part or all of a payment through its
/// gateway; the reason goes into the audit trail. Answers what was refunded.
#[server(prefix = "/api", endpoint = "admin_refund")]
pub async fn admin_refund(payment_id: Uuid, amount: String, reason: String) -> Result<String, AppError> {
    use crate::server::auth::session::{current_request_meta, require_admin};
    use crate::server::services::payments;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    payments::admin_refund(&state, admin, payment_id, &amount, &reason, &current_request_meta()).await
}

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub id: Uuid,
    pub at: String,
    pub user_id: Option<Uuid>,
    pub user: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub details: String,
    pub ip: String,
}

/// A page of the audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub rows: Vec<AuditLine>,
    /// The `before` value of the next (older) page, if there is one.
    pub next: Option<String>,
    /// The filter as a query string, for the next page and the CSV export.
    pub query: String,
}

/// `GET /api/admin_audit?query=user=…&action=…&resource_type=…&resource_id=…&from=…&to=…&before=…`.
#[server(prefix = "/api", endpoint = "admin_audit", input = leptos::server_fn::codec::GetUrl)]
pub async fn admin_audit(query: String) -> Result<AuditPage, AppError> {
    use crate::server::auth::session::require_admin;
    use crate::server::services::admin_reports;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    admin_reports::audit_page(&state, admin, &query).await
}
