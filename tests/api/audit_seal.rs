//! The sealed audit trail: closed days are sealed into a hash chain, and
//! verification names the first row altered, deleted or inserted since;
//! old months move to the archive and still verify. Rows are written in
//! past days through the owner's pool; tampering is done as the superuser
//! with triggers off (`session_replication_role = replica`), as an intruder
//! with the database's keys could.

use crate::helpers::*;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, Utc};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use std::process::Output;
use telehealth::server::services::audit_seal::{self, VerifyReport};
use uuid::Uuid;

/// `n` days ago (UTC) at hh:mm.
fn days_ago(n: u64, hh: u32, mm: u32) -> DateTime<Utc> {
    (Utc::now().date_naive() - Days::new(n)).and_time(NaiveTime::from_hms_opt(hh, mm, 0).unwrap()).and_utc()
}

/// An audit row written at `at` (the owner may choose created_at).
async fn write_row(pool: &PgPool, at: DateTime<Utc>, action: &str) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO audit_logs (action, resource_type, resource_id, details, ip_address, user_agent, created_at)
         VALUES ($1, 'consultation', gen_random_uuid(), '{\"status\": \"scheduled\", \"n\": 1}', '203.0.113.7',
                 'Mozilla/5.0 (test)', $2)
         RETURNING id",
    )
    .bind(action)
    .bind(at)
    .fetch_one(pool)
    .await
    .expect("insert audit row")
}

/// A superuser connection with triggers off: what an intruder would use.
async fn intruder(app: &TestApp) -> PgConnection {
    let mut conn = PgConnection::connect(&app.db.url).await.unwrap();
    conn.execute("SET session_replication_role = replica").await.unwrap();
    conn
}

/// How many closed days lie from `first` (a UTC day) up to now.
fn closed_days_since(first: NaiveDate) -> u32 {
    let horizon = (Utc::now() - audit_seal::GRACE).date_naive();
    (horizon - first).num_days() as u32
}

/// Three rows on two days (five and three days ago), a row today (not
/// sealable yet), all sealed by the application; answers the sealed rows.
async fn sealed_trail(app: &TestApp) -> Vec<(Uuid, DateTime<Utc>)> {
    let mut rows = Vec::new();
    for at in [days_ago(5, 9, 0), days_ago(5, 17, 30), days_ago(3, 12, 0)] {
        rows.push((write_row(&app.pool, at, "record.viewed").await, at));
    }
    write_row(&app.pool, Utc::now(), "record.viewed").await;
    let sealed = audit_seal::seal_closed_periods(&app.app_pool).await.unwrap();
    assert_eq!(sealed, closed_days_since(days_ago(5, 0, 0).date_naive()), "every closed day since the first row");
    rows
}

async fn verify(app: &TestApp) -> VerifyReport {
    audit_seal::verify(&app.app_pool, None, None).await.unwrap()
}

#[tokio::test]
async fn an_untouched_trail_verifies_intact() {
    let app = spawn_app().await;
    sealed_trail(&app).await;
    let latest: Vec<u8> = sqlx::query_scalar("SELECT seal_hash FROM audit_seals ORDER BY period_start DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let periods = closed_days_since(days_ago(5, 0, 0).date_naive()) as u64;
    let report = verify(&app).await;
    assert_eq!(report, VerifyReport::Intact { periods, rows: 3, last_seal: Some(hex::encode(&latest)) });
    assert!(report
        .to_string()
        .starts_with(&format!("audit trail intact: {periods} periods, 3 rows sealed; last seal ")));
    // Days with no rows are sealed too: the chain has no gap.
    let empty: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_seals WHERE row_count = 0").fetch_one(&app.pool).await.unwrap();
    assert_eq!(empty as u64, periods - 2);
    // A range checks only its days' rows.
    let one_day =
        audit_seal::verify(&app.app_pool, Some(days_ago(3, 0, 0).date_naive()), Some(days_ago(3, 0, 0).date_naive()))
            .await
            .unwrap();
    assert!(matches!(one_day, VerifyReport::Intact { periods: 1, rows: 1, .. }), "{one_day:?}");
}

#[tokio::test]
async fn verify_names_an_edited_row() {
    let app = spawn_app().await;
    let rows = sealed_trail(&app).await;
    let (id, at) = rows[1];
    sqlx::query("UPDATE audit_logs SET details = '{\"status\": \"cancelled\", \"n\": 1}' WHERE id = $1")
        .bind(id)
        .execute(&mut intruder(&app).await)
        .await
        .unwrap();
    assert_eq!(verify(&app).await, VerifyReport::Altered { id, created_at: at });

    // Moving a row in time is an alteration too (of the row as sealed).
    let app = spawn_app().await;
    let rows = sealed_trail(&app).await;
    let (id, at) = rows[0];
    sqlx::query("UPDATE audit_logs SET created_at = created_at + interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&mut intruder(&app).await)
        .await
        .unwrap();
    assert_eq!(verify(&app).await, VerifyReport::Altered { id, created_at: at });
}

#[tokio::test]
async fn verify_names_a_deleted_row() {
    let app = spawn_app().await;
    let rows = sealed_trail(&app).await;
    let (id, at) = rows[2];
    sqlx::query("DELETE FROM audit_logs WHERE id = $1").bind(id).execute(&mut intruder(&app).await).await.unwrap();
    let report = verify(&app).await;
    assert_eq!(report, VerifyReport::Deleted { id, created_at: at });
    assert_eq!(
        report.to_string(),
        format!(
            "audit trail ALTERED: row {id} at {} was deleted (period {})",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            at.date_naive()
        )
    );
}

#[tokio::test]
async fn verify_names_a_row_inserted_into_a_sealed_day() {
    let app = spawn_app().await;
    sealed_trail(&app).await;
    let mut intruder = intruder(&app).await;
    // Into a sealed day that had no rows, into one that had, and before the first.
    for at in [days_ago(4, 8, 0), days_ago(5, 12, 0), days_ago(30, 12, 0)] {
        let id = write_row(&app.pool, at, "record.viewed").await;
        assert_eq!(verify(&app).await, VerifyReport::Inserted { id, created_at: at });
        sqlx::query("DELETE FROM audit_logs WHERE id = $1").bind(id).execute(&mut intruder).await.unwrap();
        assert!(verify(&app).await.is_intact());
    }
    // Rows of days not sealed yet are not questioned.
    write_row(&app.pool, Utc::now(), "record.viewed").await;
    assert!(verify(&app).await.is_intact());
}

#[tokio::test]
async fn a_broken_seal_chain_is_reported() {
    // A seal rewritten: its own hash no longer matches.
    let app = spawn_app().await;
    sealed_trail(&app).await;
    let day = days_ago(4, 0, 0).date_naive();
    sqlx::query("UPDATE audit_seals SET row_count = 1 WHERE period_start = $1")
        .bind(days_ago(4, 0, 0))
        .execute(&mut intruder(&app).await)
        .await
        .unwrap();
    assert_eq!(verify(&app).await, VerifyReport::SealChainBroken { period: day });

    // A seal removed: the next one no longer links.
    let app = spawn_app().await;
    sealed_trail(&app).await;
    sqlx::query("DELETE FROM audit_seals WHERE period_start = $1")
        .bind(days_ago(4, 0, 0))
        .execute(&mut intruder(&app).await)
        .await
        .unwrap();
    assert_eq!(verify(&app).await, VerifyReport::SealChainBroken { period: days_ago(3, 0, 0).date_naive() });

    // A row edited together with its stored entry: the entries no longer
    // match their seal.
    let app = spawn_app().await;
    let rows = sealed_trail(&app).await;
    let mut intruder = intruder(&app).await;
    sqlx::query("UPDATE audit_logs SET action = 'record.edited' WHERE id = $1")
        .bind(rows[2].0)
        .execute(&mut intruder)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE audit_seal_digests SET entries = set_byte(entries, 30, get_byte(entries, 30) # 255)
         WHERE period_start = $1",
    )
    .bind(days_ago(3, 0, 0))
    .execute(&mut intruder)
    .await
    .unwrap();
    assert_eq!(verify(&app).await, VerifyReport::SealChainBroken { period: days_ago(3, 0, 0).date_naive() });
    let cli = run_audit(&app, &["verify"]).await;
    assert!(!cli.status.success());
    assert_eq!(
        verdict(&cli),
        format!("audit trail ALTERED: the seal chain is broken at period {}", days_ago(3, 0, 0).date_naive())
    );
}

#[tokio::test]
async fn sealing_twice_seals_each_day_once() {
    let app = spawn_app().await;
    sealed_trail(&app).await;
    assert_eq!(audit_seal::seal_closed_periods(&app.app_pool).await.unwrap(), 0);
    let (seals, days): (i64, i64) = sqlx::query_as("SELECT count(*), count(DISTINCT period_start) FROM audit_seals")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(seals, days);
    assert_eq!(seals as u32, closed_days_since(days_ago(5, 0, 0).date_naive()));

    // Two instances at once: together they seal each day once.
    let app = spawn_app().await;
    for n in [40, 20, 3] {
        write_row(&app.pool, days_ago(n, 11, 0), "record.viewed").await;
    }
    let (a, b) =
        tokio::join!(audit_seal::seal_closed_periods(&app.app_pool), audit_seal::seal_closed_periods(&app.app_pool));
    let (a, b) = (a.unwrap(), b.unwrap());
    let expected = closed_days_since(days_ago(40, 0, 0).date_naive());
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_seals").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored as u32, expected);
    assert_eq!(a + b, expected, "each day sealed by one of them");
    assert_eq!(audit_seal::seal_closed_periods(&app.app_pool).await.unwrap(), 0);
    assert!(matches!(verify(&app).await, VerifyReport::Intact { rows: 3, .. }));
}

#[tokio::test]
async fn retention_below_six_years_is_refused() {
    let app = spawn_app().await;
    let mut env = test_env(&app.db);
    env.insert("TELEHEALTH__AUDIT__RETENTION_MONTHS".into(), "71".into());
    let err = telehealth::server::config::Settings::load_from(&env).unwrap_err();
    assert!(err.to_string().contains("audit.retention_months must be at least 72"), "{err}");
    let out = run_binary(&app, &["audit", "archive"], &[("TELEHEALTH__AUDIT__RETENTION_MONTHS", "60")]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "error: invalid settings: audit.retention_months must be at least 72 (six years), got 60"
    );
    // The database refuses too, whoever asks.
    let refused = audit_seal::archive_expired(&app.app_pool, 60).await.unwrap_err();
    assert!(refused.to_string().contains("at least 72 months"), "{refused}");
    // The default keeps seven years.
    let s = telehealth::server::config::Settings::load_from(&test_env(&app.db)).unwrap();
    assert_eq!(s.audit.retention_months, 84);
}

#[tokio::test]
async fn archived_partitions_leave_the_live_table_and_still_verify() {
    let app = spawn_app().await;
    // Eight years ago (in the default partition), and recent days.
    let this_month = Utc::now().date_naive().with_day(1).unwrap();
    let old_month = this_month - Months::new(96);
    let old_at = |day: u32, hh: u32| old_month.with_day(day).unwrap().and_hms_opt(hh, 0, 0).unwrap().and_utc();
    let mut old = Vec::new();
    for (day, hh) in [(3, 9), (3, 15), (20, 11)] {
        old.push((write_row(&app.pool, old_at(day, hh), "record.viewed").await, old_at(day, hh)));
    }
    // The month after: archived with it.
    let next_month = old_month + Months::new(1);
    write_row(&app.pool, next_month.with_day(5).unwrap().and_hms_opt(8, 0, 0).unwrap().and_utc(), "record.viewed")
        .await;
    write_row(&app.pool, days_ago(2, 10, 0), "record.viewed").await;
    let name = old_month.format("audit_logs_y%Ym%m").to_string();
    let next_name = next_month.format("audit_logs_y%Ym%m").to_string();

    // Not sealed yet: nothing moves.
    let refused = audit_seal::archive_expired(&app.app_pool, 84).await.unwrap_err();
    assert!(refused.to_string().contains(&format!("{name} is not fully sealed")), "{refused}");

    let sealed = audit_seal::seal_closed_periods(&app.app_pool).await.unwrap();
    assert_eq!(sealed, closed_days_since(old_month.with_day(3).unwrap()));
    assert_eq!(audit_seal::archive_expired(&app.app_pool, 84).await.unwrap(), vec![name.clone(), next_name]);
    assert!(audit_seal::archive_expired(&app.app_pool, 84).await.unwrap().is_empty(), "nothing left to archive");

    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE created_at < $1")
        .bind((next_month + Months::new(1)).and_hms_opt(0, 0, 0).unwrap().and_utc())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(live, 0, "the old months left the live table");
    let archived: Vec<Uuid> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT id FROM audit_archive.{name} ORDER BY created_at")))
            .fetch_all(&app.app_pool)
            .await
            .unwrap();
    assert_eq!(archived, old.iter().map(|(id, _)| *id).collect::<Vec<_>>());
    assert!(matches!(verify(&app).await, VerifyReport::Intact { rows: 5, .. }));

    // Archived rows are read-only for the application and the owner alike.
    let mut conn = PgConnection::connect(&app.db.url).await.unwrap();
    conn.execute("SET ROLE telehealth_app").await.unwrap();
    let update = conn.execute("UPDATE audit_archive.audit_logs SET action = 'x'").await.unwrap_err();
    assert!(update.to_string().contains("permission denied"), "{update}");
    let owner = sqlx::query("DELETE FROM audit_archive.audit_logs").execute(&app.pool).await.unwrap_err();
    assert_eq!(constraint_of(&owner), "audit_archive_append_only");

    // Verification reads the archive: an edit there is named.
    let (id, at) = old[2];
    sqlx::query("UPDATE audit_archive.audit_logs SET user_agent = 'curl' WHERE id = $1")
        .bind(id)
        .execute(&mut intruder(&app).await)
        .await
        .unwrap();
    assert_eq!(verify(&app).await, VerifyReport::Altered { id, created_at: at });
}

#[tokio::test]
async fn the_application_role_cannot_delete_audit_rows_or_seals_by_any_door() {
    let app = spawn_app().await;
    sealed_trail(&app).await;
    let mut conn = PgConnection::connect(&app.db.url).await.unwrap();
    conn.execute("SET ROLE telehealth_app").await.unwrap();
    // The maintenance flag is anyone's to raise, but partitions refuse the app's DELETE.
    conn.execute("SELECT set_config('telehealth.audit_maintenance', 'on', false)").await.unwrap();
    let month = Utc::now().date_naive().format("audit_logs_y%Ym%m").to_string();
    for table in ["audit_logs_default", month.as_str(), "audit_seals", "audit_seal_digests"] {
        let delete = conn.execute(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).await.unwrap_err();
        assert!(delete.to_string().contains("permission denied"), "{table}: {delete}");
    }
    let update = conn.execute("UPDATE audit_seals SET row_count = 0").await.unwrap_err();
    assert!(update.to_string().contains("permission denied"), "{update}");
    // Partitions made later are locked down as well.
    audit_seal_partition_ahead(&app).await;
    let later = (Utc::now().date_naive().with_day(1).unwrap() + Months::new(3)).format("audit_logs_y%Ym%m").to_string();
    let delete = conn.execute(sqlx::AssertSqlSafe(format!("DELETE FROM {later}"))).await.unwrap_err();
    assert!(delete.to_string().contains("permission denied"), "{later}: {delete}");
    // Not even the owner may rewrite seals.
    for table in ["audit_seals", "audit_seal_digests"] {
        let owner =
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&app.pool).await.unwrap_err();
        assert_eq!(constraint_of(&owner), format!("{table}_append_only"));
    }
    assert!(verify(&app).await.is_intact());
}

/// Drops next-but-two month's partition and lets the application's job recreate it.
async fn audit_seal_partition_ahead(app: &TestApp) {
    let ahead = Utc::now().date_naive().with_day(1).unwrap() + Months::new(3);
    let name = ahead.format("audit_logs_y%Ym%m").to_string();
    app.pool.execute(sqlx::AssertSqlSafe(format!("DROP TABLE {name}"))).await.unwrap();
    assert_eq!(telehealth::server::services::audit::create_partitions_ahead(&app.app_pool).await.unwrap(), 1);
}

// --- the command line ----------------------------------------------------------------

/// Runs the real binary against the test's database (nothing inherited but PATH).
async fn run_binary(app: &TestApp, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_telehealth"));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("TELEHEALTH_CONFIG", "/nonexistent/Leptos.toml").env("DATABASE_URL", &app.db.url).env("RUST_LOG", "warn");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.kill_on_drop(true);
    tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the binary exits on its own")
        .expect("the binary runs")
}

async fn run_audit(app: &TestApp, args: &[&str]) -> Output {
    let args: Vec<&str> = std::iter::once("audit").chain(args.iter().copied()).collect();
    run_binary(app, &args, &[]).await
}

/// The one line the binary printed on stdout.
fn verdict(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line; stdout: {stdout}; stderr: {}", String::from_utf8_lossy(&out.stderr));
    lines[0].to_owned()
}

#[tokio::test]
async fn the_command_line_seals_verifies_and_names_an_altered_row() {
    let app = spawn_app().await;
    let (id, at) = (write_row(&app.pool, days_ago(6, 8, 15), "record.viewed").await, days_ago(6, 8, 15));
    write_row(&app.pool, days_ago(2, 14, 0), "prescription.viewed").await;

    let sealed = run_audit(&app, &["seal"]).await;
    assert!(sealed.status.success(), "{}", String::from_utf8_lossy(&sealed.stderr));
    let periods = closed_days_since(days_ago(6, 0, 0).date_naive());
    assert_eq!(verdict(&sealed), format!("{periods} periods sealed"));

    let intact = run_audit(&app, &["verify"]).await;
    assert_eq!(intact.status.code(), Some(0), "{}", String::from_utf8_lossy(&intact.stderr));
    let latest: Vec<u8> = sqlx::query_scalar("SELECT seal_hash FROM audit_seals ORDER BY period_start DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        verdict(&intact),
        format!("audit trail intact: {periods} periods, 2 rows sealed; last seal {}", hex::encode(latest))
    );

    sqlx::query("UPDATE audit_logs SET ip_address = '198.51.100.1' WHERE id = $1")
        .bind(id)
        .execute(&mut intruder(&app).await)
        .await
        .unwrap();
    let altered = run_audit(&app, &["verify"]).await;
    assert_eq!(altered.status.code(), Some(1));
    assert_eq!(
        verdict(&altered),
        format!(
            "audit trail ALTERED: row {id} at {} was altered (period {})",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            at.date_naive()
        )
    );
    // A range after the altered day is intact (the chain is still whole).
    let from = days_ago(5, 0, 0).date_naive().to_string();
    let later = run_audit(&app, &["verify", "--from", &from]).await;
    assert_eq!(later.status.code(), Some(0));
    assert!(verdict(&later).starts_with(&format!("audit trail intact: {} periods, 1 rows sealed", periods - 1)));

    let backwards = run_audit(&app, &["verify", "--from", "2026-02-01", "--to", "2026-01-01"]).await;
    assert!(!backwards.status.success());
    assert_eq!(String::from_utf8_lossy(&backwards.stderr).trim(), "error: --from 2026-02-01 is after --to 2026-01-01");

    let archive = run_audit(&app, &["archive"]).await;
    assert!(archive.status.success(), "{}", String::from_utf8_lossy(&archive.stderr));
    assert!(verdict(&archive).starts_with("no partitions to archive (retention 84 months"), "{}", verdict(&archive));
}
