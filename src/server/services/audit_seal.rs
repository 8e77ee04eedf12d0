//! The sealed audit trail: every closed UTC day of `audit_logs` is hashed
//! into a chain of seals, and [`verify`] recomputes the chain from the rows
//! and names the first row that was altered, deleted or inserted since.
//!
//! Periods are UTC days. A day is closed (sealable) once it ended at least
//! [`GRACE`] ago, so that transactions still in flight at midnight (whose
//! rows carry their start time) have committed. Days are sealed in order,
//! oldest first from the day of the oldest audit row, and none is skipped:
//! a day without rows gets a seal with row count 0. The seals are thus
//! contiguous, and [`verify`] refuses a chain with a gap.
//!
//! Encodings (all integers big-endian):
//! - row: `id` (16 bytes) · `user_id` (opt uuid) · `action` (text) ·
//!   `resource_type` (text) · `resource_id` (opt uuid) · `details` (text:
//!   PostgreSQL's `jsonb::text`) · `ip_address` (opt text: `inet::text`) ·
//!   `user_agent` (opt text) · `created_at` (i64 µs since 1970-01-01 UTC),
//!   where text = u32 byte length · UTF-8 bytes, opt uuid = 0x00 | 0x01 ·
//!   16 bytes, opt text = 0x00 | 0x01 · text. Every field is fixed-size or
//!   length-prefixed, so no two different rows encode the same.
//! - entry (56 bytes): `created_at` µs (i64) · `id` (16) · sha256(row) (32).
//!   A sealed day's entries, in (created_at, id) order, are kept in
//!   `audit_seal_digests` in blocks of up to [`BLOCK_ROWS`].
//! - rows_hash: h₀ = 32 zero bytes, hₖ = sha256(hₖ₋₁ · entryₖ); the last one.
//! - seal_hash: sha256(previous_hash · period_start µs · period_end µs ·
//!   row_count (i64) · rows_hash), previous_hash being the previous day's
//!   seal_hash (32 zero bytes for the first day).
//!
//! Retention: monthly partitions older than `[audit] retention_months`
//! (at least 72) and fully sealed move to `audit_archive` ([`archive_expired`]);
//! verification reads them there.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use std::fmt;
use uuid::Uuid;

use crate::server::db::{self, audit_seals, audit_seals::Seal, audit_seals::TrailRow};

/// How long after its end a day is sealed.
pub const GRACE: chrono::Duration = chrono::Duration::hours(1);
/// Entries per stored block.
pub const BLOCK_ROWS: usize = 10_000;
/// Bytes per entry.
pub const ENTRY_LEN: usize = 56;
/// The least retention the law allows (six years), in months.
pub const MIN_RETENTION_MONTHS: u32 = 72;
/// At most this many empty days are sealed in one transaction.
const EMPTY_DAYS_PER_BATCH: u64 = 400;
const ZERO_HASH: [u8; 32] = [0; 32];

/// What [`verify`] found: the trail intact, or its first problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyReport {
    /// Every sealed period checked matches its seal. `last_seal` is the
    /// latest seal's hash (hex), to be kept outside the database.
    Intact { periods: u64, rows: u64, last_seal: Option<String> },
    /// A sealed row reads differently now.
    Altered { id: Uuid, created_at: DateTime<Utc> },
    /// A sealed row is gone.
    Deleted { id: Uuid, created_at: DateTime<Utc> },
    /// A row lies in a sealed period (or before the first one) but was not sealed.
    Inserted { id: Uuid, created_at: DateTime<Utc> },
    /// The seals themselves (or a period's stored entries) were changed:
    /// the chain breaks at this period.
    SealChainBroken { period: NaiveDate },
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        matches!(self, VerifyReport::Intact { .. })
    }
}

impl fmt::Display for VerifyReport {
    /// The one-line verdict of `telehealth audit verify`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = |f: &mut fmt::Formatter<'_>, id: &Uuid, at: &DateTime<Utc>, what: &str| {
            write!(
                f,
                "audit trail ALTERED: row {id} at {} was {what} (period {})",
                at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                at.date_naive()
            )
        };
        match self {
            VerifyReport::Intact { periods, rows, last_seal: Some(hash) } => {
                write!(f, "audit trail intact: {periods} periods, {rows} rows sealed; last seal {hash}")
            }
            VerifyReport::Intact { periods, rows, last_seal: None } => {
                write!(f, "audit trail intact: {periods} periods, {rows} rows sealed; no seals yet")
            }
            VerifyReport::Altered { id, created_at } => row(f, id, created_at, "altered"),
            VerifyReport::Deleted { id, created_at } => row(f, id, created_at, "deleted"),
            VerifyReport::Inserted { id, created_at } => row(f, id, created_at, "inserted"),
            VerifyReport::SealChainBroken { period } => {
                write!(f, "audit trail ALTERED: the seal chain is broken at period {period}")
            }
        }
    }
}

// --- hashing -----------------------------------------------------------------------

fn put_text(buf: &mut Vec<u8>, text: &str) {
    // PostgreSQL values are below 1 GB: the length fits.
    buf.extend_from_slice(&(text.len() as u32).to_be_bytes());
    buf.extend_from_slice(text.as_bytes());
}

fn put_opt_uuid(buf: &mut Vec<u8>, id: Option<Uuid>) {
    match id {
        None => buf.push(0),
        Some(id) => {
            buf.push(1);
            buf.extend_from_slice(id.as_bytes());
        }
    }
}

fn put_opt_text(buf: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => buf.push(0),
        Some(text) => {
            buf.push(1);
            put_text(buf, text);
        }
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The canonical byte encoding of a row (see the module documentation).
pub fn canonical_row(row: &TrailRow) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128 + row.details.len() + row.user_agent.as_ref().map_or(0, |u| u.len()));
    buf.extend_from_slice(row.id.as_bytes());
    put_opt_uuid(&mut buf, row.user_id);
    put_text(&mut buf, &row.action);
    put_text(&mut buf, &row.resource_type);
    put_opt_uuid(&mut buf, row.resource_id);
    put_text(&mut buf, &row.details);
    put_opt_text(&mut buf, row.ip_address.as_deref());
    put_opt_text(&mut buf, row.user_agent.as_deref());
    buf.extend_from_slice(&micros(row.created_at).to_be_bytes());
    buf
}

/// A row's entry: when, which, and the hash of all of it.
pub fn entry(row: &TrailRow) -> [u8; ENTRY_LEN] {
    let mut out = [0u8; ENTRY_LEN];
    out[..8].copy_from_slice(&micros(row.created_at).to_be_bytes());
    out[8..24].copy_from_slice(row.id.as_bytes());
    out[24..].copy_from_slice(&Sha256::digest(canonical_row(row)));
    out
}

/// One link of a period's rows chain.
fn chain(previous: &[u8; 32], entry: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(entry);
    h.finalize().into()
}

/// The rows hash of a period's entries (concatenated, in order).
pub fn rows_hash(entries: &[u8]) -> [u8; 32] {
    entries.chunks(ENTRY_LEN).fold(ZERO_HASH, |h, e| chain(&h, e))
}

/// A seal's own hash.
pub fn seal_hash(
    previous: &[u8],
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    row_count: i64,
    rows_hash: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(micros(period_start).to_be_bytes());
    h.update(micros(period_end).to_be_bytes());
    h.update(row_count.to_be_bytes());
    h.update(rows_hash);
    h.finalize().into()
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// Before any audit row (PostgreSQL's timestamps reach back to 4713 BC, chrono's further).
fn beginning() -> DateTime<Utc> {
    day_start(NaiveDate::from_ymd_opt(1, 1, 1).expect("a valid date"))
}

fn next_day(at: DateTime<Utc>) -> DateTime<Utc> {
    at + Days::new(1)
}

/// A stored entry, read back.
struct Entry<'a> {
    at: i64,
    id: &'a [u8],
    hash: &'a [u8],
}

impl Entry<'_> {
    fn parse(bytes: &[u8]) -> Entry<'_> {
        Entry { at: i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")), id: &bytes[8..24], hash: &bytes[24..] }
    }

    fn id(&self) -> Uuid {
        Uuid::from_slice(self.id).expect("16 bytes")
    }

    fn created_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.at).unwrap_or_default()
    }
}

// --- sealing -----------------------------------------------------------------------

/// Seals every closed day not sealed yet, oldest first; answers how many
/// days it sealed. Safe to run again (and on several instances at once: one
/// seals, the others find the lock taken and answer 0).
pub async fn seal_closed_periods(pool: &PgPool) -> Result<u32, sqlx::Error> {
    let mut total = 0;
    loop {
        match seal_batch(pool).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

/// One transaction: the empty days up to the next day with rows, then that day.
async fn seal_batch(pool: &PgPool) -> Result<u32, sqlx::Error> {
    let mut tx = db::begin_system(pool).await?;
    audit_seals::allow_long_statements(&mut tx).await?;
    if !audit_seals::try_lock_sealing(&mut tx).await? {
        return Ok(0);
    }
    let now = audit_seals::now(&mut tx).await?;
    // Days ending at or before this are closed.
    let horizon = day_start((now - GRACE).date_naive());
    let (mut start, mut previous) = match audit_seals::last_seal(&mut tx).await? {
        Some(last) => (last.period_end, last.seal_hash),
        None => match audit_seals::first_row_between(&mut tx, beginning(), horizon).await? {
            Some((_, first)) => (day_start(first.date_naive()), ZERO_HASH.to_vec()),
            None => return Ok(0),
        },
    };
    if next_day(start) > horizon {
        return Ok(0);
    }
    let busy_day =
        audit_seals::first_row_between(&mut tx, start, horizon).await?.map(|(_, at)| day_start(at.date_naive()));
    let empty_until = busy_day.unwrap_or(horizon).min(start + Days::new(EMPTY_DAYS_PER_BATCH));

    let mut seals = Vec::new();
    while start < empty_until {
        let end = next_day(start);
        let hash = seal_hash(&previous, start, end, 0, &ZERO_HASH);
        seals.push(Seal {
            period_start: start,
            period_end: end,
            row_count: 0,
            rows_hash: ZERO_HASH.to_vec(),
            previous_hash: previous,
            seal_hash: hash.to_vec(),
        });
        previous = hash.to_vec();
        start = end;
    }
    let mut blocks = Vec::new();
    if busy_day == Some(start) {
        let end = next_day(start);
        let (count, hash, day_blocks) = hash_period(&mut tx, start, end).await?;
        let sealed = seal_hash(&previous, start, end, count, &hash);
        seals.push(Seal {
            period_start: start,
            period_end: end,
            row_count: count,
            rows_hash: hash.to_vec(),
            previous_hash: previous,
            seal_hash: sealed.to_vec(),
        });
        blocks = day_blocks;
    }
    audit_seals::insert_seals(&mut tx, &seals).await?;
    if let Some(busy) = busy_day.filter(|_| !blocks.is_empty()) {
        audit_seals::insert_digests(&mut tx, busy, &blocks).await?;
    }
    tx.commit().await?;
    Ok(seals.len() as u32)
}

/// A period's rows: their count, rows hash and entry blocks.
async fn hash_period(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(i64, [u8; 32], Vec<Vec<u8>>), sqlx::Error> {
    let mut rows = audit_seals::rows_between(conn, from, to);
    let (mut count, mut hash, mut blocks) = (0i64, ZERO_HASH, Vec::<Vec<u8>>::new());
    while let Some(row) = rows.try_next().await? {
        let e = entry(&row);
        hash = chain(&hash, &e);
        match blocks.last_mut() {
            Some(block) if block.len() < BLOCK_ROWS * ENTRY_LEN => block.extend_from_slice(&e),
            _ => {
                let mut block = Vec::with_capacity(BLOCK_ROWS.min(1024) * ENTRY_LEN);
                block.extend_from_slice(&e);
                blocks.push(block);
            }
        }
        count += 1;
    }
    Ok((count, hash, blocks))
}

// --- verification ------------------------------------------------------------------

/// Recomputes the seal chain (always from the first seal) and the rows of
/// the sealed periods from `from` through `to` (UTC days, inclusive; all
/// when `None`) and answers the first problem, or that all is intact.
/// Rows after the last sealed day are not sealed yet and not looked at.
pub async fn verify(
    pool: &PgPool,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<VerifyReport, sqlx::Error> {
    let mut tx = db::begin_system(pool).await?;
    audit_seals::allow_long_statements(&mut tx).await?;
    let until = to.map(|d| day_start(d) + Days::new(1));
    let seals = audit_seals::seals_until(&mut tx, until).await?;

    // The chain first: if the seals were changed, nothing else can be trusted.
    let mut expected_previous: &[u8] = &ZERO_HASH;
    let mut expected_start = None;
    for seal in &seals {
        let hash = seal_hash(&seal.previous_hash, seal.period_start, seal.period_end, seal.row_count, &seal.rows_hash);
        let linked = seal.previous_hash == expected_previous && expected_start.is_none_or(|s| s == seal.period_start);
        let one_day = seal.period_end == next_day(seal.period_start) && seal.period_start.time() == NaiveTime::MIN;
        if !linked || !one_day || seal.row_count < 0 || hash[..] != seal.seal_hash[..] {
            return Ok(VerifyReport::SealChainBroken { period: seal.period_start.date_naive() });
        }
        expected_previous = &seal.seal_hash;
        expected_start = Some(seal.period_end);
    }
    let Some(first) = seals.first() else {
        return Ok(VerifyReport::Intact { periods: 0, rows: 0, last_seal: None });
    };

    // Nothing may precede the trail's first sealed day.
    if from.is_none() {
        if let Some((id, created_at)) = audit_seals::first_row_between(&mut tx, beginning(), first.period_start).await?
        {
            return Ok(VerifyReport::Inserted { id, created_at });
        }
    }

    let from = from.map(day_start);
    let (mut periods, mut rows) = (0u64, 0u64);
    // A run of empty sealed days is checked with one query.
    let mut empty_run: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for seal in seals.iter().filter(|s| from.is_none_or(|f| s.period_start >= f)) {
        periods += 1;
        if seal.row_count == 0 {
            empty_run = Some((empty_run.map_or(seal.period_start, |(s, _)| s), seal.period_end));
            continue;
        }
        if let Some(report) = check_empty(&mut tx, empty_run.take()).await? {
            return Ok(report);
        }
        if let Some(report) = check_period(&mut tx, seal).await? {
            return Ok(report);
        }
        rows += seal.row_count as u64;
    }
    if let Some(report) = check_empty(&mut tx, empty_run).await? {
        return Ok(report);
    }
    tx.commit().await?;
    let last_seal = seals.last().map(|s| hex::encode(&s.seal_hash));
    Ok(VerifyReport::Intact { periods, rows, last_seal })
}

/// Sealed days without rows must still have none.
async fn check_empty(
    conn: &mut PgConnection,
    run: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Option<VerifyReport>, sqlx::Error> {
    let Some((from, to)) = run else { return Ok(None) };
    let found = audit_seals::first_row_between(conn, from, to).await?;
    Ok(found.map(|(id, created_at)| VerifyReport::Inserted { id, created_at }))
}

/// A sealed day with rows: its stored entries against its seal, then its
/// rows, streamed, against its entries.
async fn check_period(conn: &mut PgConnection, seal: &Seal) -> Result<Option<VerifyReport>, sqlx::Error> {
    let broken = Some(VerifyReport::SealChainBroken { period: seal.period_start.date_naive() });
    let blocks = audit_seals::digests(conn, seal.period_start).await?;
    if blocks.iter().enumerate().any(|(i, (number, _))| *number != i as i32) {
        return Ok(broken);
    }
    let entries: Vec<u8> = blocks.into_iter().flat_map(|(_, bytes)| bytes).collect();
    if entries.len() as u64 != seal.row_count as u64 * ENTRY_LEN as u64 || rows_hash(&entries)[..] != seal.rows_hash[..]
    {
        return Ok(broken);
    }

    let mut stored = entries.chunks(ENTRY_LEN).map(Entry::parse).peekable();
    let mut live = audit_seals::rows_between(conn, seal.period_start, seal.period_end);
    while let Some(row) = live.try_next().await? {
        let key = (micros(row.created_at), *row.id.as_bytes());
        let Some(expected) = stored.peek() else {
            return Ok(Some(VerifyReport::Inserted { id: row.id, created_at: row.created_at }));
        };
        let expected_key = (expected.at, expected.id);
        if expected_key == (key.0, &key.1[..]) {
            if expected.hash != &entry(&row)[24..] {
                return Ok(Some(VerifyReport::Altered { id: expected.id(), created_at: expected.created_at() }));
            }
            stored.next();
        } else if expected.id == &key.1[..] {
            // The same row, moved in time.
            return Ok(Some(VerifyReport::Altered { id: expected.id(), created_at: expected.created_at() }));
        } else if expected_key < (key.0, &key.1[..]) {
            return Ok(Some(VerifyReport::Deleted { id: expected.id(), created_at: expected.created_at() }));
        } else {
            return Ok(Some(VerifyReport::Inserted { id: row.id, created_at: row.created_at }));
        }
    }
    Ok(stored.next().map(|missing| VerifyReport::Deleted { id: missing.id(), created_at: missing.created_at() }))
}

// --- retention ---------------------------------------------------------------------

/// Moves the monthly partitions older than `retention_months` (counted from
/// this UTC month's first day) that are fully sealed to `audit_archive`;
/// answers their names. Nothing is deleted. The database refuses less than
/// [`MIN_RETENTION_MONTHS`], and partitions not fully sealed.
pub async fn archive_expired(pool: &PgPool, retention_months: u32) -> Result<Vec<String>, sqlx::Error> {
    let months = i32::try_from(retention_months).unwrap_or(i32::MAX);
    let mut tx = db::begin_system(pool).await?;
    let archived = audit_seals::archive_older_than(&mut tx, months).await?;
    tx.commit().await?;
    Ok(archived)
}

/// The first day [`archive_expired`] keeps live.
pub async fn retention_boundary(pool: &PgPool, retention_months: u32) -> Result<NaiveDate, sqlx::Error> {
    let months = i32::try_from(retention_months).unwrap_or(i32::MAX);
    let mut conn = crate::server::db::acquire(pool).await?;
    audit_seals::retention_boundary(&mut conn, months).await
}

/// The hourly upkeep: seal the closed days, then archive what retention
/// lets go. Failures are logged and retried at the next run.
pub async fn upkeep(pool: PgPool, retention_months: u32) {
    match seal_closed_periods(&pool).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(periods = n, "audit periods sealed"),
        Err(e) => {
            tracing::warn!(error = %e, "sealing the audit trail failed");
            return;
        }
    }
    match archive_expired(&pool, retention_months).await {
        Ok(names) if names.is_empty() => {}
        Ok(names) => tracing::info!(partitions = ?names, "audit partitions archived"),
        Err(e) => tracing::warn!(error = %e, "archiving audit partitions failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> TrailRow {
        TrailRow {
            id: Uuid::from_u128(1),
            user_id: None,
            action: "a".into(),
            resource_type: "bc".into(),
            resource_id: None,
            details: "{}".into(),
            ip_address: None,
            user_agent: None,
            created_at: DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap(),
        }
    }

    #[test]
    fn field_boundaries_and_nulls_are_part_of_the_encoding() {
        let base = canonical_row(&row());
        // Moving a character from one field to the next changes the encoding.
        let shifted = TrailRow { action: "ab".into(), resource_type: "c".into(), ..row() };
        assert_ne!(canonical_row(&shifted), base);
        // NULL and empty text differ.
        let empty_agent = TrailRow { user_agent: Some(String::new()), ..row() };
        assert_ne!(canonical_row(&empty_agent), base);
        // Every microsecond counts.
        let later = TrailRow { created_at: row().created_at + chrono::Duration::microseconds(1), ..row() };
        assert_ne!(entry(&later), entry(&row()));
    }

    #[test]
    fn an_empty_period_hashes_to_zero_and_seals_chain() {
        assert_eq!(rows_hash(&[]), ZERO_HASH);
        let start = day_start(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        let first = seal_hash(&ZERO_HASH, start, next_day(start), 0, &ZERO_HASH);
        let second = seal_hash(&first, next_day(start), next_day(next_day(start)), 0, &ZERO_HASH);
        assert_ne!(first, second);
        let e = entry(&row());
        assert_eq!(rows_hash(&e), chain(&ZERO_HASH, &e));
    }

    /// Existing seals depend on these bytes: a change here breaks every one.
    #[test]
    fn the_row_encoding_is_pinned() {
        let full = TrailRow {
            user_id: Some(Uuid::from_u128(2)),
            resource_id: Some(Uuid::from_u128(3)),
            details: r#"{"a": 1}"#.into(),
            ip_address: Some("203.0.113.7/32".into()),
            user_agent: Some("Mozilla/5.0".into()),
            ..row()
        };
        assert_eq!(
            hex::encode(entry(&full)),
            "00060a24181e400100000000000000000000000000000001534356180b1f01ed2cb075e3e075f4e816e643cd82e7b31dbbfc91824746cf62"
        );
    }

    #[test]
    fn the_verdict_is_one_line() {
        let at = row().created_at;
        let altered = VerifyReport::Altered { id: row().id, created_at: at };
        assert_eq!(
            altered.to_string(),
            "audit trail ALTERED: row 00000000-0000-0000-0000-000000000001 at 2023-11-14T22:13:20.000001Z \
             was altered (period 2023-11-14)"
        );
        let intact = VerifyReport::Intact { periods: 3, rows: 7, last_seal: Some("ab".into()) };
        assert_eq!(intact.to_string(), "audit trail intact: 3 periods, 7 rows sealed; last seal ab");
    }
}
