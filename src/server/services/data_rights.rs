//! Data rights: deleting one's account (anonymisation) and a patient's
//! export of everything held about them (JSON here, FHIR R4 in
//! [`crate::server::fhir`]).
//!
//! What deleting an account does, in one transaction:
//!
//! * **Anonymised**: the email becomes `deleted-<id>@deleted.invalid`, the
//!   password an unusable value, two-step verification (secret, recovery
//!   codes) is removed; the profile's names become "Deleted user" and phone,
//!   date of birth, gender, address, city, state, country and postal code are
//!   emptied (timezone and language reset to UTC / en). Sessions are revoked
//!   and their IP addresses and browsers forgotten; pending email links,
//!   sign-in counters and development mail to the old address are removed.
//!   Review *comments* are removed (free text shown publicly, not a record
//!   anyone must keep); the star ratings stay, so doctors' ratings stay exact.
//! * **Kept, as the law requires**: consultations (symptoms, notes,
//!   diagnosis), addenda, prescriptions (all versions) and the chat of the
//!   visits are the clinical record, which medical-records law obliges us to
//!   retain; chat text is part of it and is **not** redacted (on either
//!   side). Payments are financial records kept for tax and accounting. The
//!   audit trail is append-only security evidence and stays as written. All
//!   of these now point at an account that identifies nobody.
//! * **Doctors**: the practice is closed (not listed, not bookable, windows
//!   and time off removed, biography emptied); the licence number and
//!   specialisation stay, as they identify the prescriber on kept records.
//! * **Refused** while a consultation lies ahead (as patient or doctor): 409;
//!   and for the last active administrator: 409.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::domain::prescription::{self, Medication};
use crate::domain::Role;
use crate::error::{AppError, FieldErrors};
use crate::server::auth::session::CurrentUser;
use crate::server::db::{self, data_rights as queries, prescriptions, sessions, users};
use crate::server::password::{self, PasswordHashString};
use crate::server::services::auth::RequestMeta;
use crate::server::state::AppState;

/// The word a person types to confirm the deletion of their account.
pub const CONFIRMATION_WORD: &str = "DELETE";

/// Why an export was refused: the account is not a patient's.
pub const NOT_A_PATIENT: &str = "Downloading your records is for patients: this account is not a patient's account.";
/// Why an export was refused: it named another person.
pub const NOT_YOURS: &str = "You can download only your own records.";

/// Deletes the signed-in person's account: checks the password and the
/// confirmation word, then anonymises (see the module's documentation).
pub async fn delete_account(
    state: &AppState,
    user: CurrentUser,
    password_input: &str,
    confirmation: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if confirmation.trim() != CONFIRMATION_WORD {
        errors.insert("confirm".into(), vec![format!("Type {CONFIRMATION_WORD} in capital letters to confirm.")]);
    }
    if password_input.is_empty() {
        errors.insert("password".into(), vec!["Enter your password.".into()]);
    }
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let account = queries::lock_account(&mut tx, user.user_id).await?.ok_or(AppError::Unauthorized)?;
    if !password_input.is_empty()
        && !password::verify(password_input.to_owned(), PasswordHashString::from_stored(account.password_hash)).await?
    {
        errors.insert("password".into(), vec!["This is not your password.".into()]);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if queries::upcoming_consultations(&mut tx, user.user_id).await? > 0 {
        return Err(AppError::Conflict(
            "You have consultations that are still to come. Cancel them, or wait until they are over, \
             before you delete your account."
                .into(),
        ));
    }
    if account.role == Role::Admin && queries::other_active_admins(&mut tx, user.user_id).await? == 0 {
        return Err(AppError::Conflict(
            "You are the last active administrator: make someone else an administrator before you delete \
             your account."
                .into(),
        ));
    }

    if !queries::anonymise_user(&mut tx, user.user_id).await? {
        return Err(AppError::Unauthorized);
    }
    queries::anonymise_profile(&mut tx, user.user_id).await?;
    let practice_closed = queries::close_practice(&mut tx, user.user_id).await?;
    let sessions_ended = sessions::revoke_all_for_user(&mut tx, user.user_id, "account_deleted", None).await?;
    queries::forget_session_origins(&mut tx, user.user_id).await?;
    queries::remove_account_traces(&mut tx, user.user_id, &account.email).await?;
    let comments_removed = queries::redact_review_comments(&mut tx, user.user_id).await?;
    // Counts and the role only: no name, address or any other personal data.
    let entry = meta.audit("account.deleted", "user").by(user.user_id).on(user.user_id).details(json!({
        "role": account.role.as_str(),
        "sessions_ended": sessions_ended,
        "practice_closed": practice_closed,
        "review_comments_removed": comments_removed,
    }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

// --- export -------------------------------------------------------------------------------

/// The two shapes of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Fhir,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Fhir => "fhir",
        }
    }
}

/// Everything held about a patient, as they may see it.
#[derive(Debug, Clone, Serialize)]
pub struct PatientExport {
    pub generated_at: DateTime<Utc>,
    pub account: ExportAccount,
    pub profile: ExportProfile,
    /// Oldest first, each with its addenda and chat.
    pub consultations: Vec<ExportConsultation>,
    /// Every version, oldest first.
    pub prescriptions: Vec<ExportPrescription>,
    pub payments: Vec<ExportPayment>,
    pub reviews: Vec<ExportReview>,
    /// The devices the account signed in on.
    pub sessions: Vec<ExportSession>,
    /// Who did what with the record (reads included).
    pub audit_trail: Vec<ExportAuditEvent>,
    /// What is held but not part of the export, and why.
    pub not_included: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportAccount {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub email_verified: bool,
    pub two_step_verification: bool,
    pub last_sign_in: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The profile as stored: names, contact details, birth date, timezone, language.
pub type ExportProfile = users::ProfileDetails;

#[derive(Debug, Clone, Serialize)]
pub struct ExportDoctor {
    /// The doctor's record id (the same for every visit with them).
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub specialization: String,
    pub licence_number: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportConsultation {
    pub id: Uuid,
    pub doctor: ExportDoctor,
    pub status: String,
    pub consultation_type: String,
    pub scheduled_start: DateTime<Utc>,
    pub scheduled_end: DateTime<Utc>,
    pub booked_at: DateTime<Utc>,
    /// What the patient wrote when booking.
    pub symptoms: Option<String>,
    /// Only once the visit is completed.
    pub diagnosis: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
    pub addenda: Vec<ExportAddendum>,
    pub chat: Vec<ExportChatMessage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportAddendum {
    pub id: Uuid,
    pub author: String,
    pub body: String,
    pub written_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportChatMessage {
    pub id: Uuid,
    /// "patient" (you) or "doctor".
    pub sender: &'static str,
    pub body: String,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportPrescription {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub doctor_id: Uuid,
    pub version: i32,
    /// False once a corrected version superseded it.
    pub is_active: bool,
    pub supersedes_id: Option<Uuid>,
    pub issued_at: DateTime<Utc>,
    pub medications: Vec<Medication>,
    /// One readable line per medication.
    pub lines: Vec<String>,
    pub instructions: Option<String>,
    pub follow_up_date: Option<chrono::NaiveDate>,
}

/// A payment as stored.
pub type ExportPayment = queries::PaymentRow;

#[derive(Debug, Clone, Serialize)]
pub struct ExportReview {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub doctor_id: Uuid,
    pub rating: i16,
    pub comment: Option<String>,
    pub written_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportSession {
    pub id: Uuid,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportAuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    /// "you", "doctor", "admin", "patient" (someone else) or "system".
    pub actor: String,
    /// The acting doctor's record id, when a doctor acted.
    pub actor_doctor_id: Option<Uuid>,
    /// Your own acts only: where from, with what, and the details.
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

/// The signed-in patient's export. `requested`, when given, must be their
/// own id: anyone else's is refused (403, audited, nothing exported).
pub async fn export(
    state: &AppState,
    user: CurrentUser,
    requested: Option<Uuid>,
    format: ExportFormat,
    meta: &RequestMeta,
) -> Result<PatientExport, AppError> {
    if user.role != Role::Patient || requested.is_some_and(|id| id != user.user_id) {
        let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
        let entry = meta.audit("patient.export_refused", "user").by(user.user_id).on(requested.unwrap_or(user.user_id));
        let entry = entry.details(json!({ "format": format.as_str(), "role": user.role.as_str() }));
        db::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Err(AppError::Forbidden);
    }
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let account = queries::account(&mut tx, user.user_id).await?.ok_or(AppError::Unauthorized)?;
    let profile = users::profile(&mut tx, user.user_id).await?.ok_or(AppError::Unauthorized)?;
    let consultations = queries::consultations_of_patient(&mut tx, user.user_id).await?;
    let addenda = queries::addenda_of_patient(&mut tx, user.user_id).await?;
    let chat = queries::chat_of_patient(&mut tx, user.user_id).await?;
    let mut prescription_rows = prescriptions::of_patient(&mut tx, user.user_id).await?;
    prescription_rows.sort_by_key(|p| (p.created_at, p.version, p.id));
    let payments = queries::payments_of_patient(&mut tx, user.user_id).await?;
    let reviews = queries::reviews_of_patient(&mut tx, user.user_id).await?;
    let session_rows = queries::sessions_of(&mut tx, user.user_id).await?;
    let consultation_ids: Vec<Uuid> = consultations.iter().map(|c| c.id).collect();
    let prescription_ids: Vec<Uuid> = prescription_rows.iter().map(|p| p.id).collect();
    let payment_ids: Vec<Uuid> = payments.iter().map(|p| p.id).collect();
    let audit_rows =
        queries::audit_trail(&mut tx, user.user_id, &consultation_ids, &prescription_ids, &payment_ids).await?;
    let entry = meta.audit("patient.exported", "user").by(user.user_id).on(user.user_id).details(json!({
        "format": format.as_str(),
        "consultations": consultations.len(),
        "prescriptions": prescription_rows.len(),
        "payments": payments.len(),
        "audit_events": audit_rows.len(),
    }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;

    let consultations = consultations
        .into_iter()
        .map(|c| ExportConsultation {
            id: c.id,
            doctor: ExportDoctor {
                id: c.doctor_id,
                first_name: c.doctor_first_name,
                last_name: c.doctor_last_name,
                specialization: c.specialization,
                licence_number: c.license_number,
            },
            status: c.status,
            consultation_type: c.consultation_type,
            scheduled_start: c.scheduled_at,
            scheduled_end: c.scheduled_end_at,
            booked_at: c.created_at,
            symptoms: c.symptoms,
            diagnosis: c.diagnosis,
            started_at: c.started_at,
            ended_at: c.ended_at,
            duration_minutes: c.duration_minutes,
            cancelled_at: c.cancelled_at,
            cancellation_reason: c.cancellation_reason,
            addenda: addenda
                .iter()
                .filter(|a| a.consultation_id == c.id)
                .map(|a| ExportAddendum {
                    id: a.id,
                    author: format!("Dr {} {}", a.author_first_name, a.author_last_name),
                    body: a.body.clone(),
                    written_at: a.created_at,
                })
                .collect(),
            chat: chat
                .iter()
                .filter(|m| m.consultation_id == c.id)
                .map(|m| ExportChatMessage {
                    id: m.id,
                    sender: if m.from_patient { "patient" } else { "doctor" },
                    body: m.body.clone(),
                    sent_at: m.created_at,
                })
                .collect(),
        })
        .collect();
    Ok(PatientExport {
        generated_at: Utc::now(),
        account: ExportAccount {
            id: account.id,
            email: account.email,
            role: account.role,
            email_verified: account.is_email_verified,
            two_step_verification: account.mfa_enabled,
            last_sign_in: account.last_login,
            created_at: account.created_at,
        },
        profile,
        consultations,
        prescriptions: prescription_rows
            .into_iter()
            .map(|p| ExportPrescription {
                id: p.id,
                consultation_id: p.consultation_id,
                doctor_id: p.doctor_id,
                version: p.version,
                is_active: p.is_active,
                supersedes_id: p.supersedes_id,
                issued_at: p.created_at,
                lines: p.medications.iter().map(prescription::summary).collect(),
                medications: p.medications.0,
                instructions: p.instructions,
                follow_up_date: p.follow_up_date,
            })
            .collect(),
        payments,
        reviews: reviews
            .into_iter()
            .map(|r| ExportReview {
                id: r.id,
                consultation_id: r.consultation_id,
                doctor_id: r.doctor_id,
                rating: r.rating,
                comment: r.comment,
                written_at: r.created_at,
            })
            .collect(),
        sessions: session_rows
            .into_iter()
            .map(|s| ExportSession {
                id: s.family_id,
                started_at: s.started_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                ip_address: s.ip_address,
                user_agent: s.user_agent,
                ended_at: s.revoked_at,
                end_reason: s.revoked_reason,
            })
            .collect(),
        audit_trail: audit_rows
            .into_iter()
            .map(|a| ExportAuditEvent {
                id: a.id,
                at: a.created_at,
                action: a.action,
                resource_type: a.resource_type,
                resource_id: a.resource_id,
                actor: match (a.actor_id, a.actor_role) {
                    (Some(id), _) if id == user.user_id => "you".into(),
                    (Some(_), Some(role)) => role,
                    _ => "system".into(),
                },
                actor_doctor_id: a.actor_doctor_id,
                ip_address: a.ip_address,
                user_agent: a.user_agent,
                details: a.details,
            })
            .collect(),
        not_included: vec![
            "Your doctors' private working notes: they are kept in your record but are the doctor's own notes, \
             not shared with patients.",
            "Your password and two-step verification secrets: stored only as one-way hashes or encrypted.",
            "Other people's addresses and browsers in the audit trail: only your own are included.",
        ],
    })
}
