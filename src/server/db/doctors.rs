//! Doctors: professional profiles, verification, availability windows,
//! time off, and what keeps a doctor busy.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::doctor::DoctorProfile;

/// A doctor's own profile, as stored.
#[derive(Debug, Clone)]
pub struct DoctorRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub license_number: String,
    pub license_expires_on: Option<NaiveDate>,
    pub specialization: String,
    pub experience_years: Option<i32>,
    pub qualification: Option<String>,
    pub bio: Option<String>,
    pub languages: Vec<String>,
    pub consultation_fee: Decimal,
    pub currency: String,
    pub consultation_types: Vec<String>,
    pub slot_minutes: i16,
    pub buffer_minutes: i16,
    pub min_notice_minutes: i32,
    pub booking_horizon_days: i16,
    pub verification_status: String,
    pub rejection_reason: Option<String>,
    pub is_available: bool,
    pub rating: Option<Decimal>,
    pub total_consultations: i32,
}

pub async fn by_user(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<DoctorRow>, sqlx::Error> {
    sqlx::query_as!(
        DoctorRow,
        r#"SELECT id, user_id, license_number, license_expires_on, specialization, experience_years, qualification,
                  bio, languages, consultation_fee, currency AS "currency!", consultation_types, slot_minutes,
                  buffer_minutes, min_notice_minutes, booking_horizon_days, verification_status, rejection_reason,
                  is_available, rating, total_consultations
           FROM doctors WHERE user_id = $1 AND deleted_at IS NULL"#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

/// What saving a profile changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    pub doctor_id: Uuid,
    pub created: bool,
    /// The profile (back) in the verification queue.
    pub pending: bool,
}

/// Creates the profile (pending verification), or updates it. A change of
/// licence number or expiry, or any change while rejected, sends it back to
/// the queue; other edits keep an approval.
pub async fn save_profile(conn: &mut PgConnection, user_id: Uuid, p: &DoctorProfile) -> Result<Saved, sqlx::Error> {
    let types: Vec<String> = p.consultation_types.iter().map(|t| t.as_str().to_owned()).collect();
    let row = sqlx::query!(
        r#"INSERT INTO doctors AS d (user_id, license_number, license_expires_on, specialization, experience_years,
                              qualification, bio, languages, consultation_fee, currency, consultation_types,
                              slot_minutes, buffer_minutes, min_notice_minutes, booking_horizon_days)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::currency_code, $11, $12, $13, $14, $15)
           ON CONFLICT (user_id) DO UPDATE SET
               license_number = EXCLUDED.license_number,
               license_expires_on = EXCLUDED.license_expires_on,
               specialization = EXCLUDED.specialization,
               experience_years = EXCLUDED.experience_years,
               qualification = EXCLUDED.qualification,
               bio = EXCLUDED.bio,
               languages = EXCLUDED.languages,
               consultation_fee = EXCLUDED.consultation_fee,
               currency = EXCLUDED.currency,
               consultation_types = EXCLUDED.consultation_types,
               slot_minutes = EXCLUDED.slot_minutes,
               buffer_minutes = EXCLUDED.buffer_minutes,
               min_notice_minutes = EXCLUDED.min_notice_minutes,
               booking_horizon_days = EXCLUDED.booking_horizon_days,
               verification_status = CASE
                   WHEN d.verification_status = 'rejected'
                     OR d.license_number IS DISTINCT FROM EXCLUDED.license_number
                     OR d.license_expires_on IS DISTINCT FROM EXCLUDED.license_expires_on
                   THEN 'pending' ELSE d.verification_status END,
               is_verified = CASE
                   WHEN d.verification_status = 'rejected'
                     OR d.license_number IS DISTINCT FROM EXCLUDED.license_number
                     OR d.license_expires_on IS DISTINCT FROM EXCLUDED.license_expires_on
                   THEN false ELSE d.is_verified END,
               submitted_at = CASE
                   WHEN d.verification_status = 'rejected'
                     OR d.license_number IS DISTINCT FROM EXCLUDED.license_number
                     OR d.license_expires_on IS DISTINCT FROM EXCLUDED.license_expires_on
                   THEN now() ELSE d.submitted_at END,
               rejection_reason = CASE WHEN d.verification_status = 'rejected' THEN NULL ELSE d.rejection_reason END
           RETURNING id, (xmax = 0) AS "created!", verification_status"#,
        user_id,
        p.license_number,
        p.license_expires_on,
        p.specialization,
        p.experience_years,
        p.qualification,
        p.bio,
        &p.languages,
        p.consultation_fee,
        p.currency,
        &types,
        p.slot_minutes,
        p.buffer_minutes,
        p.min_notice_minutes,
        p.booking_horizon_days,
    )
    .fetch_one(conn)
    .await?;
    Ok(Saved { doctor_id: row.id, created: row.created, pending: row.verification_status == "pending" })
}

pub async fn set_available(conn: &mut PgConnection, doctor_id: Uuid, available: bool) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE doctors SET is_available = $2 WHERE id = $1", doctor_id, available).execute(conn).await?;
    Ok(())
}

/// A doctor waiting for verification, as the queue shows them.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_email_verified: bool,
    pub license_number: String,
    pub license_expires_on: Option<NaiveDate>,
    pub specialization: String,
    pub experience_years: Option<i32>,
    pub qualification: Option<String>,
    pub bio: Option<String>,
    pub languages: Vec<String>,
    pub consultation_fee: Decimal,
    pub currency: String,
    pub consultation_types: Vec<String>,
    pub submitted_at: DateTime<Utc>,
}

pub async fn pending_queue(conn: &mut PgConnection) -> Result<Vec<QueueRow>, sqlx::Error> {
    sqlx::query_as!(
        QueueRow,
        r#"SELECT d.id, p.first_name, p.last_name, u.email, u.is_email_verified, d.license_number,
                  d.license_expires_on, d.specialization, d.experience_years, d.qualification, d.bio, d.languages,
                  d.consultation_fee, d.currency AS "currency!", d.consultation_types, d.submitted_at
           FROM doctors d JOIN users u ON u.id = d.user_id JOIN profiles p ON p.user_id = u.id
           WHERE d.verification_status = 'pending' AND d.deleted_at IS NULL AND u.deleted_at IS NULL
           ORDER BY d.submitted_at, d.id"#
    )
    .fetch_all(conn)
    .await
}

/// Who was reviewed, for the email.
#[derive(Debug, Clone)]
pub struct Reviewed {
    pub user_id: Uuid,
    pub email: String,
    pub first_name: String,
}

/// Approves or rejects a pending doctor; None when it is not pending (any more).
pub async fn review(
    conn: &mut PgConnection,
    doctor_id: Uuid,
    approve: bool,
    reason: Option<&str>,
    admin_id: Uuid,
) -> Result<Option<Reviewed>, sqlx::Error> {
    sqlx::query_as!(
        Reviewed,
        r#"WITH done AS (
               UPDATE doctors SET verification_status = CASE WHEN $2 THEN 'approved' ELSE 'rejected' END,
                                  is_verified = $2, rejection_reason = $3, reviewed_at = now(), reviewed_by = $4
               WHERE id = $1 AND verification_status = 'pending' AND deleted_at IS NULL
               RETURNING user_id)
           SELECT u.id AS "user_id!", u.email, p.first_name
           FROM done JOIN users u ON u.id = done.user_id JOIN profiles p ON p.user_id = u.id"#,
        doctor_id,
        approve,
        reason,
        admin_id
    )
    .fetch_optional(conn)
    .await
}

/// One availability window, as stored.
#[derive(Debug, Clone)]
pub struct WindowRow {
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub day_of_week: i16,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub timezone: String,
    pub is_recurring: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// The live windows of these doctors.
pub async fn windows(conn: &mut PgConnection, doctor_ids: &[Uuid]) -> Result<Vec<WindowRow>, sqlx::Error> {
    sqlx::query_as!(
        WindowRow,
        r#"SELECT id, doctor_id, day_of_week, start_time, end_time, timezone, is_recurring, valid_from, valid_until
           FROM availability_slots
           WHERE doctor_id = ANY($1) AND deleted_at IS NULL
           ORDER BY doctor_id, is_recurring DESC, day_of_week, valid_from, start_time"#,
        doctor_ids
    )
    .fetch_all(conn)
    .await
}

/// `end_time` 00:00 means the midnight that ends the day: stored as 24:00.
pub struct NewWindow<'a> {
    pub day_of_week: i16,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub timezone: &'a str,
    pub is_recurring: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

pub async fn insert_window(conn: &mut PgConnection, doctor_id: Uuid, w: &NewWindow<'_>) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone, is_recurring,
                                          valid_from, valid_until)
           VALUES ($1, $2, $3, CASE WHEN $4::time = '00:00' THEN '24:00'::time ELSE $4::time END,
                   $5, $6, $7, $8)
           RETURNING id"#,
        doctor_id,
        w.day_of_week,
        w.start_time,
        w.end_time,
        w.timezone,
        w.is_recurring,
        w.valid_from,
        w.valid_until
    )
    .fetch_one(conn)
    .await
}

/// Soft-deletes a window of this doctor; false when there is none.
pub async fn delete_window(conn: &mut PgConnection, doctor_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE availability_slots SET deleted_at = now() WHERE id = $1 AND doctor_id = $2 AND deleted_at IS NULL",
        id,
        doctor_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A span of time off, as stored.
#[derive(Debug, Clone)]
pub struct TimeOffRow {
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub note: Option<String>,
}

/// Time off of these doctors that has not ended by `after`.
pub async fn time_off(
    conn: &mut PgConnection,
    doctor_ids: &[Uuid],
    after: DateTime<Utc>,
) -> Result<Vec<TimeOffRow>, sqlx::Error> {
    sqlx::query_as!(
        TimeOffRow,
        r#"SELECT id, doctor_id, starts_at, ends_at, note FROM doctor_time_off
           WHERE doctor_id = ANY($1) AND ends_at > $2 ORDER BY doctor_id, starts_at"#,
        doctor_ids,
        after
    )
    .fetch_all(conn)
    .await
}

pub async fn insert_time_off(
    conn: &mut PgConnection,
    doctor_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    note: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO doctor_time_off (doctor_id, starts_at, ends_at, note) VALUES ($1, $2, $3, $4) RETURNING id",
        doctor_id,
        starts_at,
        ends_at,
        note
    )
    .fetch_one(conn)
    .await
}

pub async fn delete_time_off(conn: &mut PgConnection, doctor_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("DELETE FROM doctor_time_off WHERE id = $1 AND doctor_id = $2", id, doctor_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Consultations holding a doctor's time (booked, held for payment and not
/// expired, under way). An expired hold no longer counts, swept or not.
#[derive(Debug, Clone)]
pub struct BusyRow {
    /// The consultation holding the time.
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub scheduled_at: DateTime<Utc>,
    pub scheduled_end_at: DateTime<Utc>,
}

pub async fn busy(
    conn: &mut PgConnection,
    doctor_ids: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<BusyRow>, sqlx::Error> {
    sqlx::query_as!(
        BusyRow,
        // Through the function that shows anyone when a doctor is busy and
        // nothing else (row-level security hides other people's consultations).
        r#"SELECT id AS "id!", doctor_id AS "doctor_id!", scheduled_at AS "scheduled_at!",
                  scheduled_end_at AS "scheduled_end_at!"
           FROM doctor_busy_times($1, $2, $3)"#,
        doctor_ids,
        from,
        to
    )
    .fetch_all(conn)
    .await
}

/// What the slot engine needs of a doctor besides their windows.
#[derive(Debug, Clone, Copy)]
pub struct SlotTerms {
    pub id: Uuid,
    pub slot_minutes: i16,
    pub buffer_minutes: i16,
    pub min_notice_minutes: i32,
    pub booking_horizon_days: i16,
}

/// The filters of a doctor search that the database applies.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter<'a> {
    pub specialization: Option<&'a str>,
    pub name: Option<&'a str>,
    pub language: Option<&'a str>,
    pub currency: Option<&'a str>,
    pub fee_min: Option<Decimal>,
    pub fee_max: Option<Decimal>,
    pub min_rating: Option<Decimal>,
    pub consultation_type: Option<&'a str>,
    /// Bookable (verified, available, licence valid) on this date.
    pub today: NaiveDate,
    /// Only this doctor (a doctor's own page).
    pub doctor_id: Option<Uuid>,
}

/// A listed doctor, with what a search result shows and the slot rules.
#[derive(Debug, Clone)]
pub struct ListedDoctor {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub specialization: String,
    pub experience_years: Option<i32>,
    pub qualification: Option<String>,
    pub bio: Option<String>,
    pub languages: Vec<String>,
    pub consultation_fee: Decimal,
    pub currency: String,
    pub consultation_types: Vec<String>,
    pub rating: Option<Decimal>,
    pub total_consultations: i32,
    pub slot_minutes: i16,
    pub buffer_minutes: i16,
    pub min_notice_minutes: i32,
    pub booking_horizon_days: i16,
    /// How well the name matched (1 without a name filter).
    pub name_score: f32,
}

impl ListedDoctor {
    pub fn terms(&self) -> SlotTerms {
        SlotTerms {
            id: self.id,
            slot_minutes: self.slot_minutes,
            buffer_minutes: self.buffer_minutes,
            min_notice_minutes: self.min_notice_minutes,
            booking_horizon_days: self.booking_horizon_days,
        }
    }
}

/// Doctors a patient may see: approved, available, licence not expired,
/// email confirmed, account active, not deleted; and matching the filters.
/// At most `limit`, best name match first.
pub async fn listed(
    conn: &mut PgConnection,
    f: &SearchFilter<'_>,
    limit: i64,
) -> Result<Vec<ListedDoctor>, sqlx::Error> {
    // Typo-tolerant: "Smtih" finds "Smith" (word similarity, through the trigram index).
    // Only a name search needs the threshold (and the round trip that sets it).
    if f.name.is_some() {
        sqlx::query("SELECT set_config('pg_trgm.word_similarity_threshold', '0.3', true)").execute(&mut *conn).await?;
    }
    sqlx::query_as!(
        ListedDoctor,
        r#"SELECT d.id, p.first_name, p.last_name, d.specialization, d.experience_years, d.qualification, d.bio,
                  d.languages, d.consultation_fee, d.currency AS "currency!", d.consultation_types, d.rating,
                  d.total_consultations, d.slot_minutes, d.buffer_minutes, d.min_notice_minutes,
                  d.booking_horizon_days,
                  CASE WHEN $2::text IS NULL THEN 1
                       ELSE word_similarity($2, p.first_name || ' ' || p.last_name) END AS "name_score!"
           FROM doctors d JOIN users u ON u.id = d.user_id JOIN profiles p ON p.user_id = u.id
           WHERE d.is_verified AND d.is_available AND d.deleted_at IS NULL
             AND d.license_expires_on >= $9
             AND u.is_active AND u.is_email_verified AND u.deleted_at IS NULL
             AND ($1::text IS NULL OR d.specialization = $1)
             AND ($2::text IS NULL OR $2 <% (p.first_name || ' ' || p.last_name)
                  OR (p.first_name || ' ' || p.last_name) ILIKE '%' || $2 || '%')
             AND ($3::text IS NULL OR $3 = ANY(d.languages))
             AND ($4::text IS NULL OR d.currency = $4::text::currency_code)
             AND ($5::numeric IS NULL OR d.consultation_fee >= $5)
             AND ($6::numeric IS NULL OR d.consultation_fee <= $6)
             AND ($7::numeric IS NULL OR d.rating >= $7)
             AND ($8::text IS NULL OR $8 = ANY(d.consultation_types))
             AND ($11::uuid IS NULL OR d.id = $11)
           ORDER BY "name_score!" DESC, d.rating DESC NULLS LAST, d.id
           LIMIT $10"#,
        f.specialization,
        f.name,
        f.language,
        f.currency,
        f.fee_min,
        f.fee_max,
        f.min_rating,
        f.consultation_type,
        f.today,
        limit,
        f.doctor_id
    )
    .fetch_all(conn)
    .await
}

/// How a page of search results is ordered (the database pages them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOrder {
    /// The soonest next free time first (the precomputed `next_free_at`), then the best rated.
    Soonest,
    /// The best rated first (unrated last).
    Rating,
    FeeLow,
    FeeHigh,
    /// The best name match first.
    Name,
}

impl SearchOrder {
    fn as_str(self) -> &'static str {
        match self {
            SearchOrder::Soonest => "soonest",
            SearchOrder::Rating => "rating",
            SearchOrder::FeeLow => "fee_low",
            SearchOrder::FeeHigh => "fee_high",
            SearchOrder::Name => "name",
        }
    }
}

/// Sets the threshold of the typo-tolerant name match for this transaction.
async fn name_threshold(conn: &mut PgConnection, f: &SearchFilter<'_>) -> Result<(), sqlx::Error> {
    if f.name.is_some() {
        sqlx::query("SELECT set_config('pg_trgm.word_similarity_threshold', '0.3', true)").execute(&mut *conn).await?;
    }
    Ok(())
}

/// One page of the doctors `listed` would list, in `order`, skipping
/// `offset`; with `free_before`, only those whose next free time (as last
/// worked out) starts before it. The account's part of "listed" is read from
/// its copy on the doctor (`account_listed`, kept by triggers), so neither
/// this nor the count reads users. The default order reads the
/// `doctors_next_free_idx` index and stops after the page.
pub async fn listed_page(
    conn: &mut PgConnection,
    f: &SearchFilter<'_>,
    order: SearchOrder,
    free_before: Option<DateTime<Utc>>,
    limit: i64,
    offset: i64,
) -> Result<Vec<ListedDoctor>, sqlx::Error> {
    name_threshold(conn, f).await?;
    if order == SearchOrder::Soonest {
        return sqlx::query_as!(
            ListedDoctor,
            r#"SELECT d.id, p.first_name, p.last_name, d.specialization, d.experience_years, d.qualification, d.bio,
                      d.languages, d.consultation_fee, d.currency AS "currency!", d.consultation_types, d.rating,
                      d.total_consultations, d.slot_minutes, d.buffer_minutes, d.min_notice_minutes,
                      d.booking_horizon_days,
                      CASE WHEN $2::text IS NULL THEN 1
                           ELSE word_similarity($2, p.first_name || ' ' || p.last_name) END AS "name_score!"
               FROM doctors d JOIN profiles p ON p.user_id = d.user_id
               WHERE d.is_verified AND d.is_available AND d.account_listed AND d.deleted_at IS NULL
                 AND d.license_expires_on >= $9
                 AND ($1::text IS NULL OR d.specialization = $1)
                 AND ($2::text IS NULL OR $2 <% (p.first_name || ' ' || p.last_name)
                      OR (p.first_name || ' ' || p.last_name) ILIKE '%' || $2 || '%')
                 AND ($3::text IS NULL OR $3 = ANY(d.languages))
                 AND ($4::text IS NULL OR d.currency = $4::text::currency_code)
                 AND ($5::numeric IS NULL OR d.consultation_fee >= $5)
                 AND ($6::numeric IS NULL OR d.consultation_fee <= $6)
                 AND ($7::numeric IS NULL OR d.rating >= $7)
                 AND ($8::text IS NULL OR $8 = ANY(d.consultation_types))
                 AND ($10::timestamptz IS NULL OR d.next_free_at < $10)
               ORDER BY d.next_free_at, d.rating DESC NULLS LAST, d.id
               LIMIT $11 OFFSET $12"#,
            f.specialization,
            f.name,
            f.language,
            f.currency,
            f.fee_min,
            f.fee_max,
            f.min_rating,
            f.consultation_type,
            f.today,
            free_before,
            limit,
            offset
        )
        .fetch_all(conn)
        .await;
    }
    sqlx::query_as!(
        ListedDoctor,
        r#"SELECT d.id, p.first_name, p.last_name, d.specialization, d.experience_years, d.qualification, d.bio,
                  d.languages, d.consultation_fee, d.currency AS "currency!", d.consultation_types, d.rating,
                  d.total_consultations, d.slot_minutes, d.buffer_minutes, d.min_notice_minutes,
                  d.booking_horizon_days,
                  CASE WHEN $2::text IS NULL THEN 1
                       ELSE word_similarity($2, p.first_name || ' ' || p.last_name) END AS "name_score!"
           FROM doctors d JOIN profiles p ON p.user_id = d.user_id
           WHERE d.is_verified AND d.is_available AND d.account_listed AND d.deleted_at IS NULL
             AND d.license_expires_on >= $9
             AND ($1::text IS NULL OR d.specialization = $1)
             AND ($2::text IS NULL OR $2 <% (p.first_name || ' ' || p.last_name)
                  OR (p.first_name || ' ' || p.last_name) ILIKE '%' || $2 || '%')
             AND ($3::text IS NULL OR $3 = ANY(d.languages))
             AND ($4::text IS NULL OR d.currency = $4::text::currency_code)
             AND ($5::numeric IS NULL OR d.consultation_fee >= $5)
             AND ($6::numeric IS NULL OR d.consultation_fee <= $6)
             AND ($7::numeric IS NULL OR d.rating >= $7)
             AND ($8::text IS NULL OR $8 = ANY(d.consultation_types))
             AND ($10::timestamptz IS NULL OR d.next_free_at < $10)
           ORDER BY CASE WHEN $13 = 'rating' THEN d.rating END DESC NULLS LAST,
                    CASE WHEN $13 = 'fee_low' THEN d.consultation_fee END,
                    CASE WHEN $13 = 'fee_high' THEN d.consultation_fee END DESC,
                    "name_score!" DESC, d.rating DESC NULLS LAST, d.id
           LIMIT $11 OFFSET $12"#,
        f.specialization,
        f.name,
        f.language,
        f.currency,
        f.fee_min,
        f.fee_max,
        f.min_rating,
        f.consultation_type,
        f.today,
        free_before,
        limit,
        offset,
        order.as_str()
    )
    .fetch_all(conn)
    .await
}

/// How many doctors `listed_page` pages through (the same conditions).
pub async fn listed_count(
    conn: &mut PgConnection,
    f: &SearchFilter<'_>,
    free_before: Option<DateTime<Utc>>,
) -> Result<i64, sqlx::Error> {
    name_threshold(conn, f).await?;
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!"
           FROM doctors d
           WHERE d.is_verified AND d.is_available AND d.account_listed AND d.deleted_at IS NULL
             AND d.license_expires_on >= $9
             AND ($1::text IS NULL OR d.specialization = $1)
             AND ($2::text IS NULL OR EXISTS (
                     SELECT 1 FROM profiles p
                     WHERE p.user_id = d.user_id
                       AND ($2 <% (p.first_name || ' ' || p.last_name)
                            OR (p.first_name || ' ' || p.last_name) ILIKE '%' || $2 || '%')))
             AND ($3::text IS NULL OR $3 = ANY(d.languages))
             AND ($4::text IS NULL OR d.currency = $4::text::currency_code)
             AND ($5::numeric IS NULL OR d.consultation_fee >= $5)
             AND ($6::numeric IS NULL OR d.consultation_fee <= $6)
             AND ($7::numeric IS NULL OR d.rating >= $7)
             AND ($8::text IS NULL OR $8 = ANY(d.consultation_types))
             AND ($10::timestamptz IS NULL OR d.next_free_at < $10)"#,
        f.specialization,
        f.name,
        f.language,
        f.currency,
        f.fee_min,
        f.fee_max,
        f.min_rating,
        f.consultation_type,
        f.today,
        free_before
    )
    .fetch_one(conn)
    .await
}

/// A listed doctor whose next free time is due to be worked out again.
#[derive(Debug, Clone)]
pub struct NextFreeDue {
    pub id: Uuid,
    pub slot_minutes: i16,
    pub buffer_minutes: i16,
    pub min_notice_minutes: i32,
    pub booking_horizon_days: i16,
    /// As read: the write-back only lands if nobody marked the row stale since.
    pub next_free_checked_at: Option<DateTime<Utc>>,
}

/// Up to `limit` listed doctors whose next free time is due at `now`: marked
/// stale; or its time has come within the notice (it is no longer bookable);
/// or there was none a minute ago (the window moves on); or it is ten minutes
/// old (whatever else may have slipped by). Never worked out first.
pub async fn next_free_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<NextFreeDue>, sqlx::Error> {
    sqlx::query_as!(
        NextFreeDue,
        r#"SELECT id, slot_minutes, buffer_minutes, min_notice_minutes, booking_horizon_days, next_free_checked_at
           FROM doctors
           WHERE is_verified AND is_available AND account_listed AND deleted_at IS NULL
             AND (next_free_checked_at IS NULL
                  OR next_free_checked_at < $1::timestamptz - interval '10 minutes'
                  OR next_free_at < $1 + make_interval(mins => min_notice_minutes)
                  OR (next_free_at IS NULL AND next_free_checked_at < $1 - interval '60 seconds'))
           ORDER BY next_free_checked_at NULLS FIRST, id
           LIMIT $2"#,
        now,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Stores the doctors' next free times (None: none) as worked out at
/// `checked_at`, except where the row was marked stale since it was read
/// (`seen`): that one is due again. How many were stored.
pub async fn store_next_free(
    conn: &mut PgConnection,
    ids: &[Uuid],
    next_free: &[Option<DateTime<Utc>>],
    seen: &[Option<DateTime<Utc>>],
    checked_at: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE doctors d SET next_free_at = n.next_free_at, next_free_checked_at = $4
           FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS n(id, next_free_at, seen)
           WHERE d.id = n.id AND d.next_free_checked_at IS NOT DISTINCT FROM n.seen"#,
        ids,
        next_free as &[Option<DateTime<Utc>>],
        seen as &[Option<DateTime<Utc>>],
        checked_at
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// How many reviews the doctor has (kept with the rating, see `room::insert_review`).
pub async fn review_count(conn: &mut PgConnection, doctor_id: Uuid) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!("SELECT review_count FROM doctors WHERE id = $1", doctor_id).fetch_one(conn).await
}
