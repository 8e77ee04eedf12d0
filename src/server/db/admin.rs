//! The administrators' reads (dashboard figures, consultation and payment
//! lists, the audit trail) and the admin refund's lock. Every caller runs
//! inside a transaction acting as an administrator (row-level security lets
//! admins see consultations and payments, never prescriptions or chats).
//! Consultations are read live and archived alike (`all_consultations`).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::admin_filter::{AuditCursor, AuditFilter, ConsultationFilter, PaymentFilter};

/// How many consultations of one UTC day had one status.
pub struct DayCount {
    pub day: NaiveDate,
    pub key: String,
    pub n: i64,
}

pub async fn consultations_per_day(
    conn: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<DayCount>, sqlx::Error> {
    sqlx::query_as!(
        DayCount,
        r#"SELECT (scheduled_at AT TIME ZONE 'UTC')::date AS "day!", status::text AS "key!", count(*) AS "n!"
           FROM all_consultations
           WHERE scheduled_at >= $1 AND scheduled_at < $2
           GROUP BY 1, 2 ORDER BY 1, 2"#,
        start,
        end
    )
    .fetch_all(conn)
    .await
}

/// New patient and doctor accounts per UTC day.
pub async fn sign_ups_per_day(
    conn: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<DayCount>, sqlx::Error> {
    sqlx::query_as!(
        DayCount,
        r#"SELECT (created_at AT TIME ZONE 'UTC')::date AS "day!", role::text AS "key!", count(*) AS "n!"
           FROM users
           WHERE created_at >= $1 AND created_at < $2 AND role IN ('patient', 'doctor')
           GROUP BY 1, 2 ORDER BY 1, 2"#,
        start,
        end
    )
    .fetch_all(conn)
    .await
}

/// What was taken in one currency in one week (weeks start on Monday, UTC).
pub struct WeekRevenue {
    pub week: NaiveDate,
    pub currency: String,
    pub paid: Decimal,
    pub refunded: Decimal,
}

pub async fn revenue_per_week(
    conn: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<WeekRevenue>, sqlx::Error> {
    sqlx::query_as!(
        WeekRevenue,
        r#"SELECT date_trunc('week', paid_at AT TIME ZONE 'UTC')::date AS "week!", currency::text AS "currency!",
                  sum(amount) AS "paid!", sum(refunded_amount) AS "refunded!"
           FROM payments
           WHERE paid_at >= $1 AND paid_at < $2 AND status IN ('succeeded', 'partially_refunded', 'refunded')
           GROUP BY 1, 2 ORDER BY 1, 2"#,
        start,
        end
    )
    .fetch_all(conn)
    .await
}

/// One doctor's offered and booked minutes over the range.
pub struct Utilisation {
    pub doctor_id: Uuid,
    pub name: String,
    pub offered_minutes: f64,
    pub booked_minutes: f64,
}

/// Offered time is the doctor's availability on each day of the range (the
/// weekday taken as the UTC date's, an approximation of at most a day at the
/// range's ends); booked time is every consultation that kept its slot
/// (scheduled, in progress, completed, no-show).
pub async fn utilisation(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Utilisation>, sqlx::Error> {
    sqlx::query_as!(
        Utilisation,
        r#"WITH days AS (SELECT d::date AS day FROM generate_series($1::date, $2::date, interval '1 day') AS d),
                offered AS (
                    SELECT a.doctor_id, sum(EXTRACT(EPOCH FROM (a.end_time - a.start_time)) / 60)::float8 AS minutes
                    FROM availability_slots a
                    JOIN days ON EXTRACT(DOW FROM days.day) = a.day_of_week
                    WHERE a.deleted_at IS NULL
                      AND (a.valid_from IS NULL OR days.day >= a.valid_from)
                      AND (a.valid_until IS NULL OR days.day <= a.valid_until)
                    GROUP BY a.doctor_id),
                booked AS (
                    SELECT doctor_id, sum(EXTRACT(EPOCH FROM (scheduled_end_at - scheduled_at)) / 60)::float8 AS minutes
                    FROM all_consultations
                    WHERE scheduled_at >= $3 AND scheduled_at < $4
                      AND status IN ('scheduled', 'in_progress', 'completed', 'no_show')
                    GROUP BY doctor_id)
           SELECT d.id AS doctor_id, p.first_name || ' ' || p.last_name AS "name!",
                  o.minutes AS "offered_minutes!", coalesce(b.minutes, 0) AS "booked_minutes!"
           FROM doctors d
           JOIN profiles p ON p.user_id = d.user_id
           JOIN offered o ON o.doctor_id = d.id
           LEFT JOIN booked b ON b.doctor_id = d.id
           WHERE d.deleted_at IS NULL AND d.is_verified AND o.minutes > 0
           ORDER BY coalesce(b.minutes, 0) / o.minutes DESC, p.last_name, d.id"#,
        from,
        to,
        start,
        end
    )
    .fetch_all(conn)
    .await
}

/// One consultation in the administrators' list.
pub struct AdminConsultation {
    pub id: Uuid,
    pub scheduled_at: DateTime<Utc>,
    pub status: String,
    pub consultation_type: String,
    pub patient: String,
    pub patient_email: String,
    pub doctor: String,
    pub payment_id: Option<Uuid>,
    pub amount: Option<Decimal>,
    pub refunded_amount: Option<Decimal>,
    pub currency: Option<String>,
    pub payment_status: Option<String>,
}

/// `%text%` for ILIKE, with the pattern characters of `text` taken literally.
pub fn contains_pattern(text: &str) -> String {
    format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// Live and archived consultations alike.
pub async fn consultations(
    conn: &mut PgConnection,
    filter: &ConsultationFilter,
    limit: i64,
) -> Result<Vec<AdminConsultation>, sqlx::Error> {
    let (start, end) = filter.range.bounds();
    sqlx::query_as!(
        AdminConsultation,
        r#"SELECT c.id AS "id!", c.scheduled_at AS "scheduled_at!", c.status::text AS "status!",
                  c.consultation_type::text AS "consultation_type!",
                  pp.first_name || ' ' || pp.last_name AS "patient!", pu.email AS patient_email,
                  dp.first_name || ' ' || dp.last_name AS "doctor!",
                  p.id AS "payment_id?", p.amount AS "amount?", p.refunded_amount AS "refunded_amount?",
                  p.currency::text AS "currency?", p.status::text AS "payment_status?"
           FROM all_consultations c
           JOIN users pu ON pu.id = c.patient_id
           JOIN profiles pp ON pp.user_id = c.patient_id
           JOIN doctors d ON d.id = c.doctor_id
           JOIN profiles dp ON dp.user_id = d.user_id
           JOIN users du ON du.id = d.user_id
           LEFT JOIN payments p ON p.consultation_id = c.id
           WHERE c.scheduled_at >= $1 AND c.scheduled_at < $2
             AND ($3::text IS NULL OR c.status = $3)
             AND ($4::text IS NULL OR pp.first_name || ' ' || pp.last_name ILIKE $4 OR pu.email ILIKE $4
                  OR dp.first_name || ' ' || dp.last_name ILIKE $4 OR du.email ILIKE $4)
           ORDER BY c.scheduled_at DESC, c.id
           LIMIT $5"#,
        start,
        end,
        filter.status.map(|s| s.as_str()),
        filter.q.as_deref().map(contains_pattern),
        limit
    )
    .fetch_all(conn)
    .await
}

/// One payment in the administrators' list.
pub struct AdminPayment {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub amount: Decimal,
    pub refunded_amount: Decimal,
    pub currency: String,
    pub status: String,
    pub payment_method: Option<String>,
    pub payment_gateway: Option<String>,
    pub patient: String,
    pub patient_email: String,
    pub doctor: String,
}

pub async fn payments(
    conn: &mut PgConnection,
    filter: &PaymentFilter,
    limit: i64,
) -> Result<Vec<AdminPayment>, sqlx::Error> {
    let (start, end) = filter.range.bounds();
    sqlx::query_as!(
        AdminPayment,
        r#"SELECT p.id, p.consultation_id, p.created_at, p.paid_at, p.amount, p.refunded_amount,
                  p.currency::text AS "currency!", p.status::text AS "status!", p.payment_method, p.payment_gateway,
                  pp.first_name || ' ' || pp.last_name AS "patient!", pu.email AS patient_email,
                  dp.first_name || ' ' || dp.last_name AS "doctor!"
           FROM payments p
           JOIN users pu ON pu.id = p.patient_id
           JOIN profiles pp ON pp.user_id = p.patient_id
           JOIN doctors d ON d.id = p.doctor_id
           JOIN profiles dp ON dp.user_id = d.user_id
           WHERE p.created_at >= $1 AND p.created_at < $2
             AND ($3::text IS NULL OR p.status = $3)
             AND ($4::text IS NULL OR p.currency = $4)
             AND ($5::text IS NULL OR pp.first_name || ' ' || pp.last_name ILIKE $5 OR pu.email ILIKE $5
                  OR dp.first_name || ' ' || dp.last_name ILIKE $5)
           ORDER BY p.created_at DESC, p.id
           LIMIT $6"#,
        start,
        end,
        filter.status.map(|s| s.as_str()),
        filter.currency.as_deref(),
        filter.q.as_deref().map(contains_pattern),
        limit
    )
    .fetch_all(conn)
    .await
}

/// A payment locked for an admin refund.
pub struct RefundablePayment {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub amount: Decimal,
    pub refunded_amount: Decimal,
    pub currency: String,
    pub status: String,
    pub transaction_id: Option<String>,
    pub patient_email: String,
    pub patient_first_name: String,
}

pub async fn lock_payment(conn: &mut PgConnection, id: Uuid) -> Result<Option<RefundablePayment>, sqlx::Error> {
    sqlx::query_as!(
        RefundablePayment,
        r#"SELECT p.id, p.consultation_id, p.amount, p.refunded_amount, p.currency::text AS "currency!",
                  p.status::text AS "status!", p.transaction_id, u.email AS patient_email,
                  pr.first_name AS patient_first_name
           FROM payments p
           JOIN users u ON u.id = p.patient_id
           JOIN profiles pr ON pr.user_id = p.patient_id
           WHERE p.id = $1
           FOR UPDATE OF p"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// One audit row as the viewer shows it.
#[derive(sqlx::FromRow)]
pub struct AuditRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub user_id: Option<Uuid>,
    pub user_email: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub details: serde_json::Value,
    pub ip_address: Option<String>,
}

/// The rows matching `filter`, newest first, from `filter.before` on.
///
/// Built statement by statement (not one query with `$n IS NULL OR …`) so the
/// planner sees only the conditions in use and walks the matching
/// `(…, created_at)` index of each monthly partition backwards, stopping after
/// `limit` rows: the page costs the same at ten million rows as at ten.
pub fn audit_query(filter: &AuditFilter, user_id: Option<Uuid>, limit: Option<i64>) -> QueryBuilder<Postgres> {
    let mut q = QueryBuilder::new(
        "SELECT a.id, a.created_at, a.user_id, u.email AS user_email, a.action::text AS action, \
                a.resource_type::text AS resource_type, a.resource_id, a.details, host(a.ip_address) AS ip_address \
         FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id WHERE true",
    );
    if let Some(user) = user_id {
        q.push(" AND a.user_id = ").push_bind(user);
    }
    if let Some(action) = &filter.action {
        q.push(" AND a.action = ").push_bind(action.clone());
    }
    if let Some(kind) = &filter.resource_type {
        q.push(" AND a.resource_type = ").push_bind(kind.clone());
    }
    if let Some(id) = filter.resource_id {
        q.push(" AND a.resource_id = ").push_bind(id);
    }
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    if let Some(from) = filter.from {
        q.push(" AND a.created_at >= ").push_bind(day(from));
    }
    if let Some(to) = filter.to {
        q.push(" AND a.created_at < ").push_bind(day(to + chrono::Duration::days(1)));
    }
    if let Some(AuditCursor { created_at, id }) = filter.before {
        // Equivalent to (created_at, id) < (…), written so the created_at index bounds the scan.
        q.push(" AND a.created_at <= ").push_bind(created_at);
        q.push(" AND (a.created_at < ").push_bind(created_at).push(" OR a.id < ").push_bind(id).push(")");
    }
    q.push(" ORDER BY a.created_at DESC, a.id DESC");
    if let Some(limit) = limit {
        q.push(" LIMIT ").push_bind(limit);
    }
    q
}

/// The account id of an email (deleted accounts included: their history stays).
pub async fn user_by_email(conn: &mut PgConnection, email: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM users WHERE lower(email) = lower($1)", email).fetch_optional(conn).await
}
