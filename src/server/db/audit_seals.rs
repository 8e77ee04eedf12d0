//! The audit trail's seals (`audit_seals`, `audit_seal_digests`) and the
//! trail's rows as sealing reads them: live (`audit_logs`) and archived
//! (`audit_archive.audit_logs`) together, in (created_at, id) order. The
//! hashing itself is in `services::audit_seal`.

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::BoxStream;
use sqlx::PgConnection;
use uuid::Uuid;

/// One audit row, every column as sealing encodes it: `details` as the
/// text of the jsonb value, `ip_address` as the text of the inet value.
#[derive(Debug, Clone)]
pub struct TrailRow {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub details: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A stored seal.
#[derive(Debug, Clone)]
pub struct Seal {
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub row_count: i64,
    pub rows_hash: Vec<u8>,
    pub previous_hash: Vec<u8>,
    pub seal_hash: Vec<u8>,
}

/// The rows of `[from, to)`, live and archived, in (created_at, id) order, streamed.
pub fn rows_between(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BoxStream<'_, Result<TrailRow, sqlx::Error>> {
    sqlx::query_as!(
        TrailRow,
        r#"SELECT r.id AS "id!", r.user_id, r.action AS "action!", r.resource_type AS "resource_type!",
                  r.resource_id, r.details AS "details!", r.ip_address, r.user_agent,
                  r.created_at AS "created_at!"
           FROM (SELECT l.id, l.user_id, l.action::text, l.resource_type::text, l.resource_id,
                        l.details::text, l.ip_address::text, l.user_agent, l.created_at
                 FROM audit_logs l WHERE l.created_at >= $1 AND l.created_at < $2
                 UNION ALL
                 SELECT a.id, a.user_id, a.action::text, a.resource_type::text, a.resource_id,
                        a.details::text, a.ip_address::text, a.user_agent, a.created_at
                 FROM audit_archive.audit_logs a WHERE a.created_at >= $1 AND a.created_at < $2) r
           ORDER BY r.created_at, r.id"#,
        from,
        to,
    )
    .fetch(conn)
}

/// The first row of `[from, to)`, live or archived, in (created_at, id) order.
pub async fn first_row_between(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<(Uuid, DateTime<Utc>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT r.id AS "id!", r.created_at AS "created_at!"
           FROM (SELECT l.id, l.created_at FROM audit_logs l WHERE l.created_at >= $1 AND l.created_at < $2
                 UNION ALL
                 SELECT a.id, a.created_at FROM audit_archive.audit_logs a
                 WHERE a.created_at >= $1 AND a.created_at < $2) r
           ORDER BY r.created_at, r.id
           LIMIT 1"#,
        from,
        to,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.id, r.created_at)))
}

/// The database's clock (the one `created_at` defaults to).
pub async fn now(conn: &mut PgConnection) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT now() AS "now!""#).fetch_one(conn).await
}

/// Lifts this transaction's statement and idle timeouts (the pool's are
/// meant for requests): a busy day's rows take a while to stream.
pub async fn allow_long_statements(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"SELECT set_config('statement_timeout', '30min', true) AS "statement_timeout",
                  set_config('idle_in_transaction_session_timeout', '5min', true) AS "idle_timeout""#
    )
    .fetch_one(conn)
    .await
    .map(|_| ())
}

/// Takes the sealing lock for this transaction, unless another transaction
/// (another instance) holds it: then answers false at once.
pub async fn try_lock_sealing(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    // An arbitrary constant, the sealing's own.
    sqlx::query_scalar!(r#"SELECT pg_try_advisory_xact_lock(7415092683301) AS "locked!""#).fetch_one(conn).await
}

/// The latest seal.
pub async fn last_seal(conn: &mut PgConnection) -> Result<Option<Seal>, sqlx::Error> {
    sqlx::query_as!(
        Seal,
        "SELECT period_start, period_end, row_count, rows_hash, previous_hash, seal_hash
         FROM audit_seals ORDER BY period_start DESC LIMIT 1"
    )
    .fetch_optional(conn)
    .await
}

/// Every seal whose period starts before `until` (all when `None`), oldest first.
pub async fn seals_until(conn: &mut PgConnection, until: Option<DateTime<Utc>>) -> Result<Vec<Seal>, sqlx::Error> {
    sqlx::query_as!(
        Seal,
        "SELECT period_start, period_end, row_count, rows_hash, previous_hash, seal_hash
         FROM audit_seals WHERE $1::timestamptz IS NULL OR period_start < $1
         ORDER BY period_start",
        until,
    )
    .fetch_all(conn)
    .await
}

/// Appends seals (already chained, oldest first).
pub async fn insert_seals(conn: &mut PgConnection, seals: &[Seal]) -> Result<(), sqlx::Error> {
    let starts: Vec<DateTime<Utc>> = seals.iter().map(|s| s.period_start).collect();
    let ends: Vec<DateTime<Utc>> = seals.iter().map(|s| s.period_end).collect();
    let counts: Vec<i64> = seals.iter().map(|s| s.row_count).collect();
    let rows_hashes: Vec<Vec<u8>> = seals.iter().map(|s| s.rows_hash.clone()).collect();
    let previous: Vec<Vec<u8>> = seals.iter().map(|s| s.previous_hash.clone()).collect();
    let seal_hashes: Vec<Vec<u8>> = seals.iter().map(|s| s.seal_hash.clone()).collect();
    sqlx::query!(
        "INSERT INTO audit_seals (period_start, period_end, row_count, rows_hash, previous_hash, seal_hash)
         SELECT * FROM UNNEST($1::timestamptz[], $2::timestamptz[], $3::int8[], $4::bytea[], $5::bytea[], $6::bytea[])",
        &starts,
        &ends,
        &counts,
        &rows_hashes,
        &previous,
        &seal_hashes,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Appends a sealed period's entry blocks (numbered 0, 1, ... in order).
pub async fn insert_digests(
    conn: &mut PgConnection,
    period_start: DateTime<Utc>,
    blocks: &[Vec<u8>],
) -> Result<(), sqlx::Error> {
    let numbers: Vec<i32> = (0..blocks.len() as i32).collect();
    sqlx::query!(
        "INSERT INTO audit_seal_digests (period_start, block, entries)
         SELECT $1, b.block, b.entries FROM UNNEST($2::int4[], $3::bytea[]) AS b (block, entries)",
        period_start,
        &numbers,
        blocks,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// A sealed period's entry blocks: (number, entries), in order.
pub async fn digests(conn: &mut PgConnection, period_start: DateTime<Utc>) -> Result<Vec<(i32, Vec<u8>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT block, entries FROM audit_seal_digests WHERE period_start = $1 ORDER BY block",
        period_start,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.block, r.entries)).collect())
}

/// Moves the fully sealed monthly partitions older than `retention_months`
/// (counted back from this UTC month's first day) to `audit_archive`, as
/// the owner, through `archive_audit_partitions`; answers their names.
pub async fn archive_older_than(conn: &mut PgConnection, retention_months: i32) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT archive_audit_partitions(
               (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => $1))::date) AS "name!""#,
        retention_months,
    )
    .fetch_all(conn)
    .await
}

/// The first day `archive_older_than` keeps live.
pub async fn retention_boundary(conn: &mut PgConnection, retention_months: i32) -> Result<NaiveDate, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => $1))::date AS "day!""#,
        retention_months,
    )
    .fetch_one(conn)
    .await
}
