//! Consultations and their payments: holds, payment, cancellation, lists.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::AuditEntry;
use super::doctors;

pub struct NewHold<'a> {
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub consultation_type: &'a str,
    pub symptoms: &'a str,
    pub hold_expires_at: DateTime<Utc>,
    pub booking_key: Uuid,
}

/// What booking one time needs, read in one round trip: the patient's
/// account, what this booking key already made, the doctor if listed (the
/// same rule as the search: approved, available, licence valid, email
/// confirmed, active), the doctor's windows, time off and busy times in
/// [from, to), and whether an expired hold of either side in [from, to) waits
/// for release (it would stand in the way of the exclusion constraints).
#[derive(Debug, Clone)]
pub struct BookingContext {
    pub existing: Option<Uuid>,
    pub patient_active: bool,
    pub patient_verified: bool,
    pub patient_timezone: String,
    pub doctor: Option<BookingDoctor>,
    pub windows: Vec<doctors::WindowRow>,
    pub time_off: Vec<doctors::TimeOffRow>,
    pub busy: Vec<doctors::BusyRow>,
    pub expired_holds: bool,
}

/// A listed doctor as booking needs them.
#[derive(Debug, Clone)]
pub struct BookingDoctor {
    pub terms: doctors::SlotTerms,
    pub first_name: String,
    pub last_name: String,
    pub consultation_fee: Decimal,
    pub currency: String,
    pub consultation_types: Vec<String>,
}

pub async fn booking_context(
    conn: &mut PgConnection,
    key: Uuid,
    doctor_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<BookingContext, sqlx::Error> {
    // One call of a function with one cached plan (migration 18); the
    // patient is the transaction's acting user, never an argument.
    let r = sqlx::query!(
        r#"SELECT existing, patient_active AS "patient_active!", verified AS "verified!", timezone AS "timezone!",
                  doctor_id, first_name, last_name, fee, currency, types,
                  slot_minutes, buffer_minutes, min_notice_minutes, horizon,
                  w_ids AS "w_ids!: Vec<Uuid>", w_days AS "w_days!: Vec<i16>",
                  w_starts AS "w_starts!: Vec<chrono::NaiveTime>", w_ends AS "w_ends!: Vec<chrono::NaiveTime>",
                  w_zones AS "w_zones!: Vec<String>", w_recurring AS "w_recurring!: Vec<bool>",
                  w_from AS "w_from!: Vec<Option<chrono::NaiveDate>>",
                  w_until AS "w_until!: Vec<Option<chrono::NaiveDate>>",
                  o_ids AS "o_ids!: Vec<Uuid>", o_starts AS "o_starts!: Vec<DateTime<Utc>>",
                  o_ends AS "o_ends!: Vec<DateTime<Utc>>",
                  b_ids AS "b_ids!: Vec<Uuid>", b_starts AS "b_starts!: Vec<DateTime<Utc>>",
                  b_ends AS "b_ends!: Vec<DateTime<Utc>>", expired_holds AS "expired_holds!"
           FROM booking_context($1, $2, $3, $4)"#,
        key,
        doctor_id,
        from,
        to
    )
    .fetch_one(conn)
    .await?;
    let doctor = match (r.doctor_id, r.first_name, r.last_name, r.fee, r.currency, r.types) {
        (Some(id), Some(first_name), Some(last_name), Some(fee), Some(currency), Some(types)) => Some(BookingDoctor {
            terms: doctors::SlotTerms {
                id,
                slot_minutes: r.slot_minutes.unwrap_or(30),
                buffer_minutes: r.buffer_minutes.unwrap_or(0),
                min_notice_minutes: r.min_notice_minutes.unwrap_or(0),
                booking_horizon_days: r.horizon.unwrap_or(0),
            },
            first_name,
            last_name,
            consultation_fee: fee,
            currency,
            consultation_types: types,
        }),
        _ => None,
    };
    let windows = (0..r.w_ids.len())
        .map(|i| doctors::WindowRow {
            id: r.w_ids[i],
            doctor_id,
            day_of_week: r.w_days[i],
            start_time: r.w_starts[i],
            end_time: r.w_ends[i],
            timezone: r.w_zones[i].clone(),
            is_recurring: r.w_recurring[i],
            valid_from: r.w_from[i],
            valid_until: r.w_until[i],
        })
        .collect();
    let time_off = (0..r.o_ids.len())
        .map(|i| doctors::TimeOffRow {
            id: r.o_ids[i],
            doctor_id,
            starts_at: r.o_starts[i],
            ends_at: r.o_ends[i],
            note: None,
        })
        .collect();
    let busy = (0..r.b_ids.len())
        .map(|i| doctors::BusyRow {
            id: r.b_ids[i],
            doctor_id,
            scheduled_at: r.b_starts[i],
            scheduled_end_at: r.b_ends[i],
        })
        .collect();
    Ok(BookingContext {
        existing: r.existing,
        patient_active: r.patient_active,
        patient_verified: r.verified,
        patient_timezone: r.timezone,
        doctor,
        windows,
        time_off,
        busy,
        expired_holds: r.expired_holds,
    })
}

/// Inserts the held consultation, its pending payment and the booking's
/// audit row in one call (`book_hold`, migration 18), for the transaction's
/// acting patient; the exclusion constraints refuse a time the doctor or the
/// patient already has.
pub async fn insert_booking(
    conn: &mut PgConnection,
    h: &NewHold<'_>,
    amount: Decimal,
    currency: &str,
    audit: &AuditEntry<'_>,
) -> Result<Uuid, sqlx::Error> {
    debug_assert_eq!(audit.user_id, Some(h.patient_id));
    debug_assert_eq!(audit.action, "consultation.booked");
    sqlx::query_scalar!(
        r#"SELECT book_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS "id!""#,
        h.doctor_id,
        h.starts_at,
        h.ends_at,
        h.consultation_type,
        h.symptoms,
        h.hold_expires_at,
        h.booking_key,
        amount,
        currency,
        audit.details,
        audit.ip_address.map(|ip| ip.to_string()),
        audit.user_agent,
    )
    .fetch_one(conn)
    .await
}

/// The consultation a booking key already made, if any.
pub async fn by_booking_key(conn: &mut PgConnection, patient_id: Uuid, key: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM consultations WHERE patient_id = $1 AND booking_key = $2", patient_id, key)
        .fetch_optional(conn)
        .await
}

/// An expired hold, released.
#[derive(Debug, Clone)]
pub struct Released {
    pub id: Uuid,
    pub patient_id: Uuid,
}

/// Releases expired holds (of one doctor or patient, or all): the consultation is
/// cancelled (`hold_expired`) and its pending payment marked failed. Safe to
/// run from several server instances at once: a row is released once.
pub async fn release_expired_holds(
    conn: &mut PgConnection,
    doctor_id: Option<Uuid>,
    patient_id: Option<Uuid>,
) -> Result<Vec<Released>, sqlx::Error> {
    // The function runs with the owner's rights: a patient's booking may
    // release another patient's expired hold that it cannot see.
    sqlx::query_as!(
        Released,
        r#"SELECT id AS "id!", patient_id AS "patient_id!" FROM release_expired_holds($1, $2)"#,
        doctor_id,
        patient_id
    )
    .fetch_all(&mut *conn)
    .await
}

/// A consultation with its payment and both parties, as lists and use cases need it.
#[derive(Debug, Clone)]
pub struct ConsultationRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub doctor_user_id: Uuid,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub specialization: String,
    pub patient_first_name: String,
    pub patient_last_name: String,
    pub patient_email: String,
    pub doctor_email: String,
    pub scheduled_at: DateTime<Utc>,
    pub scheduled_end_at: DateTime<Utc>,
    pub status: String,
    pub consultation_type: String,
    pub symptoms: Option<String>,
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub payment_id: Uuid,
    pub amount: Decimal,
    pub currency: String,
    pub payment_status: String,
    pub refunded_amount: Decimal,
    pub transaction_id: Option<String>,
}

/// `$from` is `consultations` (live rows, which use cases lock and change)
/// or `all_consultations` (live and archived: the lists of what was).
macro_rules! consultation_query {
    ($from:literal, $where:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            ConsultationRow,
            r#"SELECT c.id AS "id!", c.patient_id AS "patient_id!", c.doctor_id AS "doctor_id!",
                      d.user_id AS doctor_user_id,
                      dp.first_name AS doctor_first_name, dp.last_name AS doctor_last_name, d.specialization,
                      pp.first_name AS patient_first_name, pp.last_name AS patient_last_name,
                      pu.email AS patient_email, du.email AS doctor_email,
                      c.scheduled_at AS "scheduled_at!", c.scheduled_end_at AS "scheduled_end_at!",
                      c.status AS "status!", c.consultation_type AS "consultation_type!",
                      c.symptoms, c.hold_expires_at,
                      p.id AS payment_id, p.amount, p.currency AS "currency!", p.status AS "payment_status!",
                      p.refunded_amount, p.transaction_id
               FROM "# + $from + r#" c
               JOIN payments p ON p.consultation_id = c.id
               JOIN doctors d ON d.id = c.doctor_id
               JOIN profiles dp ON dp.user_id = d.user_id
               JOIN users du ON du.id = d.user_id
               JOIN profiles pp ON pp.user_id = c.patient_id
               JOIN users pu ON pu.id = c.patient_id
               "# + $where,
            $($arg),*
        )
    };
}

/// One consultation, locked for the use case that changes it.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<ConsultationRow>, sqlx::Error> {
    consultation_query!("consultations", "WHERE c.id = $1 FOR UPDATE OF c, p", id).fetch_optional(conn).await
}

/// A patient's consultations, soonest first (archived ones included).
pub async fn of_patient(conn: &mut PgConnection, patient_id: Uuid) -> Result<Vec<ConsultationRow>, sqlx::Error> {
    consultation_query!("all_consultations", "WHERE c.patient_id = $1 ORDER BY c.scheduled_at", patient_id)
        .fetch_all(conn)
        .await
}

/// A doctor's consultations starting in [from, to), not released holds
/// (archived ones included).
pub async fn of_doctor(
    conn: &mut PgConnection,
    doctor_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ConsultationRow>, sqlx::Error> {
    consultation_query!(
        "all_consultations",
        "WHERE c.doctor_id = $1 AND c.scheduled_at >= $2 AND c.scheduled_at < $3
           AND coalesce(c.cancellation_reason, '') <> 'hold_expired'
         ORDER BY c.scheduled_at",
        doctor_id,
        from,
        to
    )
    .fetch_all(conn)
    .await
}

pub async fn mark_paid(
    conn: &mut PgConnection,
    id: Uuid,
    payment_id: Uuid,
    gateway: &str,
    transaction_id: &str,
    method: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payments SET status = 'succeeded', paid_at = now(), payment_gateway = $2, transaction_id = $3,
                payment_method = $4
         WHERE id = $1",
        payment_id,
        gateway,
        transaction_id,
        method
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("UPDATE consultations SET status = 'scheduled', hold_expires_at = NULL WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn cancel(conn: &mut PgConnection, id: Uuid, by: Uuid, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE consultations SET status = 'cancelled', cancelled_at = now(), cancelled_by = $2,
                cancellation_reason = $3, hold_expires_at = NULL
         WHERE id = $1",
        id,
        by,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a refund; the payment becomes refunded or partially refunded.
pub async fn record_refund(conn: &mut PgConnection, payment_id: Uuid, amount: Decimal) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payments SET refunded_amount = refunded_amount + $2,
                status = CASE WHEN refunded_amount + $2 >= amount THEN 'refunded' ELSE 'partially_refunded' END
         WHERE id = $1",
        payment_id,
        amount
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A payment that never went through (a held booking cancelled before paying).
pub async fn mark_payment_failed(conn: &mut PgConnection, payment_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE payments SET status = 'failed' WHERE id = $1 AND status = 'pending'", payment_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Claims the reminders due now (`kind` before a start within `within`):
/// each is claimed by exactly one caller, whichever server instance runs.
pub async fn claim_reminders(
    conn: &mut PgConnection,
    kind: &str,
    within: chrono::Duration,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let until = Utc::now() + within;
    sqlx::query_scalar!(
        r#"INSERT INTO consultation_reminders (consultation_id, kind)
           SELECT id, $1 FROM consultations
           WHERE status = 'scheduled' AND scheduled_at > now() AND scheduled_at <= $2
           ON CONFLICT DO NOTHING
           RETURNING consultation_id"#,
        kind,
        until
    )
    .fetch_all(conn)
    .await
}

/// Consultations by id (for reminders), with both parties.
pub async fn by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<ConsultationRow>, sqlx::Error> {
    consultation_query!("consultations", "WHERE c.id = ANY($1) ORDER BY c.scheduled_at", ids).fetch_all(conn).await
}

/// Records a gateway event; false when it was already processed (a replay).
pub async fn first_time_event(
    conn: &mut PgConnection,
    gateway: &str,
    id: &str,
    kind: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO payment_events (gateway, event_id, event_type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        gateway,
        id,
        kind
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// A payment paid at the gateway after its hold was released: recorded as
/// paid and refunded in full.
pub async fn mark_paid_and_refunded(
    conn: &mut PgConnection,
    payment_id: Uuid,
    gateway: &str,
    transaction_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payments SET status = 'refunded', paid_at = now(), payment_gateway = $2, transaction_id = $3,
                refunded_amount = amount, payment_method = coalesce(payment_method, 'card')
         WHERE id = $1",
        payment_id,
        gateway,
        transaction_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a consultation to another time (the exclusion constraints still
/// apply); its reminders will go out again for the new time.
pub async fn move_to(
    conn: &mut PgConnection,
    id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE consultations SET scheduled_at = $2, scheduled_end_at = $3 WHERE id = $1",
        id,
        starts_at,
        ends_at
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM consultation_reminders WHERE consultation_id = $1", id).execute(conn).await?;
    Ok(())
}
