//! Prescriptions: issued during or after a visit; a correction supersedes
//! the previous version, which stays as history.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::prescription::Medication;

#[derive(Debug, Clone)]
pub struct PrescriptionRow {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub medications: Json<Vec<Medication>>,
    pub instructions: Option<String>,
    pub follow_up_date: Option<NaiveDate>,
    pub is_active: bool,
    pub version: i32,
    pub supersedes_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub specialization: String,
    pub license_number: String,
    pub patient_first_name: String,
    pub patient_last_name: String,
    pub patient_born: Option<NaiveDate>,
    pub patient_email: String,
    pub consultation_at: DateTime<Utc>,
}

/// Reads live and archived prescriptions alike (every read here is of what
/// was issued; `issue` and `claim_follow_ups` write the live table only).
macro_rules! prescription_query {
    ($tail:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            PrescriptionRow,
            r#"SELECT r.id AS "id!", r.consultation_id AS "consultation_id!", r.patient_id AS "patient_id!",
                      r.doctor_id AS "doctor_id!", r.medications AS "medications!: Json<Vec<Medication>>",
                      r.instructions, r.follow_up_date, r.is_active AS "is_active!", r.version AS "version!",
                      r.supersedes_id, r.created_at AS "created_at!",
                      dp.first_name AS doctor_first_name, dp.last_name AS doctor_last_name, d.specialization,
                      d.license_number, pp.first_name AS patient_first_name, pp.last_name AS patient_last_name,
                      pp.date_of_birth AS patient_born, pu.email AS patient_email,
                      c.scheduled_at AS "consultation_at!"
               FROM all_prescriptions r
               JOIN all_consultations c ON c.id = r.consultation_id
               JOIN doctors d ON d.id = r.doctor_id
               JOIN profiles dp ON dp.user_id = d.user_id
               JOIN profiles pp ON pp.user_id = r.patient_id
               JOIN users pu ON pu.id = r.patient_id
               "# + $tail,
            $($arg),*
        )
    };
}

pub async fn by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<PrescriptionRow>, sqlx::Error> {
    prescription_query!("WHERE r.id = $1", id).fetch_optional(conn).await
}

/// A consultation's prescriptions, newest first (history included).
pub async fn of_consultation(
    conn: &mut PgConnection,
    consultation_id: Uuid,
) -> Result<Vec<PrescriptionRow>, sqlx::Error> {
    prescription_query!("WHERE r.consultation_id = $1 ORDER BY r.created_at DESC", consultation_id)
        .fetch_all(conn)
        .await
}

/// A patient's prescriptions, newest first (history included).
pub async fn of_patient(conn: &mut PgConnection, patient_id: Uuid) -> Result<Vec<PrescriptionRow>, sqlx::Error> {
    prescription_query!("WHERE r.patient_id = $1 ORDER BY r.created_at DESC", patient_id).fetch_all(conn).await
}

pub struct NewPrescription<'a> {
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub medications: &'a [Medication],
    pub instructions: Option<&'a str>,
    pub follow_up_date: Option<NaiveDate>,
}

/// Issues a prescription; with `supersedes`, as the next version of that
/// one, which stops being active. None when `supersedes` is not an active
/// prescription of the same consultation (or was corrected meanwhile).
pub async fn issue(
    conn: &mut PgConnection,
    p: &NewPrescription<'_>,
    supersedes: Option<Uuid>,
) -> Result<Option<(Uuid, i32)>, sqlx::Error> {
    let mut version = 1;
    if let Some(previous) = supersedes {
        let old = sqlx::query_scalar!(
            "UPDATE prescriptions SET is_active = false
             WHERE id = $1 AND consultation_id = $2 AND is_active RETURNING version",
            previous,
            p.consultation_id
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(old) = old else { return Ok(None) };
        version = old + 1;
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO prescriptions (consultation_id, patient_id, doctor_id, medications, instructions, follow_up_date,
                                    version, supersedes_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        p.consultation_id,
        p.patient_id,
        p.doctor_id,
        Json(p.medications) as _,
        p.instructions,
        p.follow_up_date,
        version,
        supersedes
    )
    .fetch_one(conn)
    .await?;
    Ok(Some((id, version)))
}

/// Active prescriptions whose follow-up is on `date` and not yet reminded,
/// claimed (each once, whatever the number of server instances).
pub async fn claim_follow_ups(conn: &mut PgConnection, date: NaiveDate) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE prescriptions SET follow_up_reminded_at = now()
         WHERE is_active AND follow_up_reminded_at IS NULL AND follow_up_date <= $1 AND follow_up_date >= $1 - 1
           AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = prescriptions.patient_id AND u.deleted_at IS NOT NULL)
         RETURNING id",
        date
    )
    .fetch_all(conn)
    .await
}
