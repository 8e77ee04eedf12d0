//! The consultation as a clinical record: the visit's lifecycle, notes with
//! versions, addenda, chat messages and reviews.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A consultation with both parties and its record.
#[derive(Debug, Clone)]
pub struct RecordRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub doctor_user_id: Uuid,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub specialization: String,
    pub license_number: String,
    pub patient_first_name: String,
    pub patient_last_name: String,
    pub patient_email: String,
    pub patient_born: Option<chrono::NaiveDate>,
    pub scheduled_at: DateTime<Utc>,
    pub scheduled_end_at: DateTime<Utc>,
    pub status: String,
    pub consultation_type: String,
    pub symptoms: Option<String>,
    pub diagnosis: Option<String>,
    pub notes: Option<String>,
    pub notes_version: i32,
    pub notes_updated_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    /// Moved to the archive: readable, never changed.
    pub archived: bool,
}

/// `$from` is `consultations` (live: use cases lock and change it) or
/// `all_consultations` (live and archived, read only); `$archived` says which.
macro_rules! record_query {
    ($from:literal, $archived:literal, $tail:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            RecordRow,
            r#"SELECT c.id AS "id!", c.patient_id AS "patient_id!", c.doctor_id AS "doctor_id!",
                      d.user_id AS doctor_user_id,
                      dp.first_name AS doctor_first_name, dp.last_name AS doctor_last_name, d.specialization,
                      d.license_number, pp.first_name AS patient_first_name, pp.last_name AS patient_last_name,
                      pu.email AS patient_email, pp.date_of_birth AS patient_born,
                      c.scheduled_at AS "scheduled_at!", c.scheduled_end_at AS "scheduled_end_at!",
                      c.status AS "status!", c.consultation_type AS "consultation_type!", c.symptoms, c.diagnosis,
                      c.notes, c.notes_version AS "notes_version!", c.notes_updated_at, c.started_at, c.ended_at,
                      c.duration_minutes, "# + $archived + r#" AS "archived!"
               FROM "# + $from + r#" c
               JOIN doctors d ON d.id = c.doctor_id
               JOIN profiles dp ON dp.user_id = d.user_id
               JOIN profiles pp ON pp.user_id = c.patient_id
               JOIN users pu ON pu.id = c.patient_id
               WHERE c.id = $1 "# + $tail,
            $($arg),*
        )
    };
}

/// The record to read, live or archived (`archived` says which).
pub async fn record(conn: &mut PgConnection, id: Uuid) -> Result<Option<RecordRow>, sqlx::Error> {
    record_query!("all_consultations", "c.archived", "", id).fetch_optional(conn).await
}

/// The live record, locked for the use case that changes it (None when
/// archived: [`record`] reads it).
pub async fn lock_record(conn: &mut PgConnection, id: Uuid) -> Result<Option<RecordRow>, sqlx::Error> {
    record_query!("consultations", "false", "FOR UPDATE OF c", id).fetch_optional(conn).await
}

pub async fn start(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE consultations SET status = 'in_progress', started_at = $2 WHERE id = $1", id, at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends the visit and counts it for the doctor.
pub async fn complete(
    conn: &mut PgConnection,
    id: Uuid,
    doctor_id: Uuid,
    ended_at: DateTime<Utc>,
    duration_minutes: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE consultations SET status = 'completed', ended_at = $2, duration_minutes = $3 WHERE id = $1",
        id,
        ended_at,
        duration_minutes
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("UPDATE doctors SET total_consultations = total_consultations + 1 WHERE id = $1", doctor_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_no_show(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE consultations SET status = 'no_show' WHERE id = $1", id).execute(conn).await?;
    Ok(())
}

/// Scheduled visits nobody started before `before` (their end plus the
/// grace period), marked as no-shows; each row once, whatever the number of
/// server instances running this.
pub async fn sweep_no_shows(conn: &mut PgConnection, ended_before: DateTime<Utc>) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE consultations SET status = 'no_show'
         WHERE status = 'scheduled' AND scheduled_end_at < $1
         RETURNING id",
        ended_before
    )
    .fetch_all(conn)
    .await
}

/// The saved notes' new version and time.
#[derive(Debug, Clone, Copy)]
pub struct NotesSaved {
    pub version: i32,
    pub saved_at: DateTime<Utc>,
}

/// Saves notes and diagnosis if nobody saved since `base_version`.
pub async fn save_notes(
    conn: &mut PgConnection,
    id: Uuid,
    notes: &str,
    diagnosis: &str,
    base_version: i32,
) -> Result<Option<NotesSaved>, sqlx::Error> {
    let row = sqlx::query!(
        r#"UPDATE consultations
           SET notes = NULLIF($2, ''), diagnosis = NULLIF($3, ''), notes_version = notes_version + 1,
               notes_updated_at = now()
           WHERE id = $1 AND notes_version = $4
           RETURNING notes_version, notes_updated_at AS "saved_at!""#,
        id,
        notes,
        diagnosis,
        base_version
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| NotesSaved { version: r.notes_version, saved_at: r.saved_at }))
}

#[derive(Debug, Clone)]
pub struct AddendumRow {
    pub id: Uuid,
    pub author_first_name: String,
    pub author_last_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn addenda(conn: &mut PgConnection, consultation_id: Uuid) -> Result<Vec<AddendumRow>, sqlx::Error> {
    sqlx::query_as!(
        AddendumRow,
        r#"SELECT a.id, p.first_name AS author_first_name, p.last_name AS author_last_name, a.body, a.created_at
           FROM consultation_addenda a JOIN profiles p ON p.user_id = a.author_id
           WHERE a.consultation_id = $1 ORDER BY a.created_at"#,
        consultation_id
    )
    .fetch_all(conn)
    .await
}

pub async fn add_addendum(
    conn: &mut PgConnection,
    consultation_id: Uuid,
    author_id: Uuid,
    body: &str,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO consultation_addenda (consultation_id, author_id, body) VALUES ($1, $2, $3) RETURNING id",
        consultation_id,
        author_id,
        body
    )
    .fetch_one(conn)
    .await
}

/// A chat message as stored.
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: Uuid,
    pub sender_id: Uuid,
    pub client_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Stores a message; the same `client_id` again (a resend after a
/// reconnect) answers the message already stored.
pub async fn insert_message(
    conn: &mut PgConnection,
    consultation_id: Uuid,
    sender_id: Uuid,
    client_id: Uuid,
    body: &str,
) -> Result<MessageRow, sqlx::Error> {
    sqlx::query_as!(
        MessageRow,
        r#"INSERT INTO chat_messages (consultation_id, sender_id, client_id, body) VALUES ($1, $2, $3, $4)
           ON CONFLICT (consultation_id, sender_id, client_id) DO UPDATE SET body = chat_messages.body
           RETURNING id, sender_id, client_id, body, created_at"#,
        consultation_id,
        sender_id,
        client_id,
        body
    )
    .fetch_one(conn)
    .await
}

pub async fn messages(conn: &mut PgConnection, consultation_id: Uuid) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as!(
        MessageRow,
        "SELECT id, sender_id, client_id, body, created_at FROM chat_messages
         WHERE consultation_id = $1 ORDER BY created_at, id",
        consultation_id
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct ReviewRow {
    pub rating: i16,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub patient_first_name: String,
}

pub async fn review_of(conn: &mut PgConnection, consultation_id: Uuid) -> Result<Option<ReviewRow>, sqlx::Error> {
    sqlx::query_as!(
        ReviewRow,
        r#"SELECT r.rating, r.comment, r.created_at, p.first_name AS patient_first_name
           FROM reviews r JOIN profiles p ON p.user_id = r.patient_id WHERE r.consultation_id = $1"#,
        consultation_id
    )
    .fetch_optional(conn)
    .await
}

/// The latest reviews of a doctor.
pub async fn reviews_of_doctor(
    conn: &mut PgConnection,
    doctor_id: Uuid,
    limit: i64,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    sqlx::query_as!(
        ReviewRow,
        r#"SELECT r.rating, r.comment, r.created_at, p.first_name AS patient_first_name
           FROM reviews r JOIN profiles p ON p.user_id = r.patient_id
           WHERE r.doctor_id = $1 ORDER BY r.created_at DESC LIMIT $2"#,
        doctor_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Stores the review and keeps the doctor's rating exact: the sum and the
/// count of ratings, and their quotient rounded to 2 places. None when this
/// consultation already has a review.
pub async fn insert_review(
    conn: &mut PgConnection,
    consultation_id: Uuid,
    patient_id: Uuid,
    doctor_id: Uuid,
    rating: i16,
    comment: Option<&str>,
) -> Result<Option<rust_decimal::Decimal>, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        "INSERT INTO reviews (consultation_id, patient_id, doctor_id, rating, comment) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (consultation_id) DO NOTHING RETURNING id",
        consultation_id,
        patient_id,
        doctor_id,
        rating,
        comment
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        return Ok(None);
    }
    let rating = sqlx::query_scalar!(
        r#"UPDATE doctors SET review_count = review_count + 1, rating_total = rating_total + $2,
                  rating = round((rating_total + $2)::numeric / (review_count + 1), 2)
           WHERE id = $1 RETURNING rating AS "rating!""#,
        doctor_id,
        rating as i32
    )
    .fetch_one(conn)
    .await?;
    Ok(Some(rating))
}
