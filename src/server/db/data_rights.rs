//! Data rights: what deleting an account changes (anonymisation) and what a
//! patient's export reads. Every query runs in the acting user's own
//! transaction (`db::begin`), so row-level security applies as well as the
//! explicit WHERE clauses.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::Role;

// --- deletion ------------------------------------------------------------------------

/// The account being deleted, locked for the rest of the transaction.
#[derive(Debug, Clone)]
pub struct AccountToDelete {
    pub email: String,
    pub role: Role,
    pub password_hash: String,
}

pub async fn lock_account(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<AccountToDelete>, sqlx::Error> {
    sqlx::query_as!(
        AccountToDelete,
        r#"SELECT email, role AS "role: Role", password_hash
           FROM users WHERE id = $1 AND deleted_at IS NULL AND is_active FOR UPDATE"#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

/// Consultations of this person (as patient or as doctor) that still lie
/// ahead: scheduled, under way, or held for payment with a hold still running.
pub async fn upcoming_consultations(conn: &mut PgConnection, user_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM consultations c
           WHERE (c.patient_id = $1 OR c.doctor_id IN (SELECT d.id FROM doctors d WHERE d.user_id = $1))
             AND (c.status IN ('scheduled', 'in_progress')
                  OR (c.status = 'pending_payment' AND (c.hold_expires_at IS NULL OR c.hold_expires_at > now())))"#,
        user_id
    )
    .fetch_one(conn)
    .await
}

/// Active administrators other than `user_id`, their rows locked (two
/// administrators deleting themselves at once cannot both succeed).
pub async fn other_active_admins(conn: &mut PgConnection, user_id: Uuid) -> Result<usize, sqlx::Error> {
    let admins = sqlx::query_scalar!(
        "SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL ORDER BY id FOR UPDATE"
    )
    .fetch_all(conn)
    .await?;
    Ok(admins.into_iter().filter(|id| *id != user_id).count())
}

/// A stored "hash" no password can match: not in PHC format at all.
pub const UNUSABLE_PASSWORD_HASH: &str = "!account-deleted";

/// The non-routable address a deleted account keeps (`.invalid` is reserved
/// by RFC 2606 and never resolves): unique, as it is made of the account's id.
pub fn placeholder_email(user_id: Uuid) -> String {
    format!("deleted-{}@deleted.invalid", user_id.simple())
}

/// Anonymises the account row: placeholder address, unusable password, no
/// second factor, inactive and deleted.
pub async fn anonymise_user(conn: &mut PgConnection, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE users SET email = $2, password_hash = $3, is_active = false, is_email_verified = false,
                  mfa_enabled = false, mfa_secret = NULL, mfa_last_step = NULL, last_login = NULL,
                  deleted_at = now()
           WHERE id = $1 AND deleted_at IS NULL"#,
        user_id,
        placeholder_email(user_id),
        UNUSABLE_PASSWORD_HASH,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces every personal detail of the profile.
pub async fn anonymise_profile(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE profiles SET first_name = 'Deleted', last_name = 'user', phone = NULL, date_of_birth = NULL,
                  gender = NULL, address = NULL, city = NULL, state = NULL, country = NULL, pincode = NULL,
                  timezone = 'UTC', preferred_language = 'en', deleted_at = now()
           WHERE user_id = $1"#,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A doctor's practice closes: no longer listed or bookable, windows and
/// time off gone, the free-text biography removed. The licence number and
/// specialisation stay: they identify the prescriber on kept records.
/// Answers whether the person had a practice.
pub async fn close_practice(conn: &mut PgConnection, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let doctor = sqlx::query_scalar!(
        "UPDATE doctors SET deleted_at = now(), is_available = false, bio = NULL
         WHERE user_id = $1 AND deleted_at IS NULL RETURNING id",
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(doctor_id) = doctor else { return Ok(false) };
    sqlx::query!(
        "UPDATE availability_slots SET deleted_at = now() WHERE doctor_id = $1 AND deleted_at IS NULL",
        doctor_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM doctor_time_off WHERE doctor_id = $1", doctor_id).execute(conn).await?;
    Ok(true)
}

/// Forgets where the person signed in from (their sessions are revoked separately).
pub async fn forget_session_origins(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE sessions SET ip_address = NULL, user_agent = NULL WHERE user_id = $1", user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes the secrets and traces that only served the account: recovery
/// codes, email links, sign-in counters, development mail to the old address.
pub async fn remove_account_traces(conn: &mut PgConnection, user_id: Uuid, old_email: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM mfa_recovery_codes WHERE user_id = $1", user_id).execute(&mut *conn).await?;
    sqlx::query!("DELETE FROM email_tokens WHERE user_id = $1", user_id).execute(&mut *conn).await?;
    sqlx::query!(
        "DELETE FROM auth_throttle WHERE (scope = 'account' AND key = lower($1)) OR (scope = 'mfa' AND key = $2)",
        old_email,
        user_id.to_string()
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM dev_mailbox WHERE lower(to_address) = lower($1)", old_email).execute(conn).await?;
    Ok(())
}

/// Removes the text of the person's reviews (the ratings stay: the doctors'
/// ratings are kept exact from them). Answers how many had text.
pub async fn redact_review_comments(conn: &mut PgConnection, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!("UPDATE reviews SET comment = NULL WHERE patient_id = $1 AND comment IS NOT NULL", user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

// --- export -----------------------------------------------------------------------------

/// The account as stored (never the password hash or the second-factor secret).
#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub is_email_verified: bool,
    pub mfa_enabled: bool,
    pub last_login: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub async fn account(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        r#"SELECT id, email, role AS "role: Role", is_email_verified, mfa_enabled, last_login, created_at
           FROM users WHERE id = $1 AND deleted_at IS NULL"#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

/// A consultation as its patient may see it: never the doctor's notes, and
/// the diagnosis only once the visit is completed.
#[derive(Debug, Clone)]
pub struct ConsultationRow {
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub specialization: String,
    pub license_number: String,
    pub scheduled_at: DateTime<Utc>,
    pub scheduled_end_at: DateTime<Utc>,
    pub status: String,
    pub consultation_type: String,
    pub symptoms: Option<String>,
    pub diagnosis: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Live and archived alike: the export holds every record.
pub async fn consultations_of_patient(
    conn: &mut PgConnection,
    patient_id: Uuid,
) -> Result<Vec<ConsultationRow>, sqlx::Error> {
    sqlx::query_as!(
        ConsultationRow,
        r#"SELECT c.id AS "id!", c.doctor_id AS "doctor_id!", dp.first_name AS doctor_first_name,
                  dp.last_name AS doctor_last_name, d.specialization, d.license_number,
                  c.scheduled_at AS "scheduled_at!", c.scheduled_end_at AS "scheduled_end_at!", c.status AS "status!",
                  c.consultation_type AS "consultation_type!", c.symptoms,
                  CASE WHEN c.status = 'completed' THEN c.diagnosis END AS diagnosis,
                  c.started_at, c.ended_at, c.duration_minutes, c.cancelled_at, c.cancellation_reason,
                  c.created_at AS "created_at!"
           FROM all_consultations c
           JOIN doctors d ON d.id = c.doctor_id
           JOIN profiles dp ON dp.user_id = d.user_id
           WHERE c.patient_id = $1
           ORDER BY c.scheduled_at, c.id"#,
        patient_id
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct AddendumRow {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub author_first_name: String,
    pub author_last_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn addenda_of_patient(conn: &mut PgConnection, patient_id: Uuid) -> Result<Vec<AddendumRow>, sqlx::Error> {
    sqlx::query_as!(
        AddendumRow,
        r#"SELECT a.id, a.consultation_id, p.first_name AS author_first_name, p.last_name AS author_last_name,
                  a.body, a.created_at
           FROM consultation_addenda a
           JOIN consultation_keys c ON c.id = a.consultation_id
           JOIN profiles p ON p.user_id = a.author_id
           WHERE c.patient_id = $1
           ORDER BY a.created_at, a.id"#,
        patient_id
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PaymentRow {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub amount: Decimal,
    pub currency: String,
    pub status: String,
    pub refunded_amount: Decimal,
    #[serde(rename = "method")]
    pub payment_method: Option<String>,
    #[serde(rename = "gateway")]
    pub payment_gateway: Option<String>,
    pub transaction_id: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub async fn payments_of_patient(conn: &mut PgConnection, patient_id: Uuid) -> Result<Vec<PaymentRow>, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        r#"SELECT id, consultation_id, amount, currency AS "currency!", status AS "status!", refunded_amount,
                  payment_method, payment_gateway, transaction_id, paid_at, created_at
           FROM payments WHERE patient_id = $1
           ORDER BY created_at, id"#,
        patient_id
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct ReviewRow {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub doctor_id: Uuid,
    pub rating: i16,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn reviews_of_patient(conn: &mut PgConnection, patient_id: Uuid) -> Result<Vec<ReviewRow>, sqlx::Error> {
    sqlx::query_as!(
        ReviewRow,
        "SELECT id, consultation_id, doctor_id, rating, comment, created_at FROM reviews
         WHERE patient_id = $1 ORDER BY created_at, id",
        patient_id
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct ChatRow {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub from_patient: bool,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// The chat of the patient's consultations (both sides: the patient reads it in the room).
pub async fn chat_of_patient(conn: &mut PgConnection, patient_id: Uuid) -> Result<Vec<ChatRow>, sqlx::Error> {
    sqlx::query_as!(
        ChatRow,
        r#"SELECT m.id, m.consultation_id, (m.sender_id = c.patient_id) AS "from_patient!", m.body, m.created_at
           FROM chat_messages m JOIN consultation_keys c ON c.id = m.consultation_id
           WHERE c.patient_id = $1
           ORDER BY m.created_at, m.id"#,
        patient_id
    )
    .fetch_all(conn)
    .await
}

/// One signed-in device (a session family), as last seen.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub family_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
}

pub async fn sessions_of(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<SessionRow>, sqlx::Error> {
    sqlx::query_as!(
        SessionRow,
        r#"SELECT family_id, started_at AS "started_at!", last_seen_at, expires_at, ip_address, user_agent,
                  revoked_at, revoked_reason
           FROM (SELECT DISTINCT ON (s.family_id) s.family_id,
                        (SELECT min(f.created_at) FROM sessions f WHERE f.family_id = s.family_id) AS started_at,
                        s.last_seen_at, s.expires_at, host(s.ip_address) AS ip_address, s.user_agent, s.revoked_at,
                        s.revoked_reason
                 FROM sessions s WHERE s.user_id = $1
                 ORDER BY s.family_id, s.created_at DESC) AS families
           ORDER BY started_at, family_id"#,
        user_id
    )
    .fetch_all(conn)
    .await
}

/// An audit row about the patient's record. Rows written by someone else
/// (their doctor, an administrator, the system) carry who acted and what
/// they did, never that person's address, browser or the row's details.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    /// The acting doctor's doctors.id, when a doctor acted.
    pub actor_doctor_id: Option<Uuid>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

/// The audit trail of the patient's record: what they did, and every act on
/// their account, their profile, their consultations, prescriptions and payments.
pub async fn audit_trail(
    conn: &mut PgConnection,
    patient_id: Uuid,
    consultations: &[Uuid],
    prescriptions: &[Uuid],
    payments: &[Uuid],
) -> Result<Vec<AuditRow>, sqlx::Error> {
    // One disjunct per index-friendly (resource_type, resource_id) look-up.
    sqlx::query_as!(
        AuditRow,
        r#"SELECT a.id, a.created_at, a.action, a.resource_type, a.resource_id, a.user_id AS actor_id,
                  u.role::text AS actor_role, d.id AS "actor_doctor_id?",
                  CASE WHEN a.user_id = $1 THEN host(a.ip_address) END AS ip_address,
                  CASE WHEN a.user_id = $1 THEN a.user_agent END AS user_agent,
                  CASE WHEN a.user_id = $1 THEN a.details ELSE '{}'::jsonb END AS "details!"
           FROM audit_logs a
           LEFT JOIN users u ON u.id = a.user_id
           LEFT JOIN doctors d ON d.user_id = a.user_id
           WHERE a.user_id = $1
              OR (a.resource_type IN ('user', 'profile') AND a.resource_id = $1)
              OR (a.resource_type = 'consultation' AND a.resource_id = ANY($2))
              OR (a.resource_type = 'prescription' AND a.resource_id = ANY($3))
              OR (a.resource_type = 'payment' AND a.resource_id = ANY($4))
           ORDER BY a.created_at, a.id"#,
        patient_id,
        consultations,
        prescriptions,
        payments
    )
    .fetch_all(conn)
    .await
}
