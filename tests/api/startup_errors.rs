//! Bad start-up conditions end with one clear line and a failing exit code,
//! never a panic or a backtrace.

use crate::helpers::*;
use std::process::Output;
use tokio::process::Command;

/// Runs the real binary with exactly these variables (nothing inherited but PATH).
async fn run_binary(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_telehealth"));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("TELEHEALTH_CONFIG", "/nonexistent/Leptos.toml");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.kill_on_drop(true);
    tokio::time::timeout(std::time::Duration::from_secs(30), cmd.output())
        .await
        .expect("the binary exits on its own")
        .expect("the binary runs")
}

/// Asserts a failing exit whose stderr is one line starting with `error: ` and containing `needle`.
fn assert_one_clear_line(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "must exit non-zero; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "no backtrace: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(needle), "mentions '{needle}': {stderr}");
}

#[tokio::test]
async fn an_unreachable_database_is_one_clear_line() {
    let out = run_binary(
        &[],
        &[
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing"),
            ("TELEHEALTH__DATABASE__CONNECT_TIMEOUT_SECS", "2"),
        ],
    )
    .await;
    assert_one_clear_line(&out, "cannot reach the database at 127.0.0.1:1/nothing");
}

#[tokio::test]
async fn a_missing_database_url_is_one_clear_line() {
    let out = run_binary(&[], &[]).await;
    assert_one_clear_line(&out, "DATABASE_URL");
}

#[tokio::test]
async fn production_without_secrets_refuses_to_start() {
    let db = TestDatabase::create().await;
    let out = run_binary(&[], &[("DATABASE_URL", &db.url), ("TELEHEALTH__APP__ENVIRONMENT", "production")]).await;
    assert_one_clear_line(&out, "TELEHEALTH__SECURITY__JWT_SECRET");
}

#[tokio::test]
async fn a_taken_port_is_one_clear_line() {
    let db = TestDatabase::create().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_binary(&[], &[("DATABASE_URL", &db.url), ("TELEHEALTH__SERVER__ADDR", &addr)]).await;
    assert_one_clear_line(&out, &format!("cannot listen on {addr}"));
}

#[tokio::test]
async fn a_failed_migration_is_one_clear_line_and_changes_nothing() {
    let db = TestDatabase::create().await;
    // A table in the way of the second migration.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::query("CREATE TABLE users (id int)").execute(&pool).await.unwrap();
    let out = run_binary(&["migrate"], &[("DATABASE_URL", &db.url)]).await;
    assert_one_clear_line(&out, "database migration failed");
    let doctors_exist: bool =
        sqlx::query_scalar("SELECT to_regclass('doctors') IS NOT NULL").fetch_one(&pool).await.unwrap();
    assert!(!doctors_exist, "the failed migration rolled back");
}

#[tokio::test]
async fn a_bad_setting_is_one_clear_line() {
    let out =
        run_binary(&[], &[("DATABASE_URL", "postgres://x@127.0.0.1/db"), ("TELEHEALTH__APP__ENVIRONMENT", "staging")])
            .await;
    assert_one_clear_line(&out, "invalid settings");
}

#[tokio::test]
async fn migrate_applies_the_schema_and_is_idempotent() {
    let db = TestDatabase::create().await;
    let out = run_binary(&["migrate"], &[("DATABASE_URL", &db.url)]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = run_binary(&["migrate"], &[("DATABASE_URL", &db.url)]).await;
    assert!(again.status.success());
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest(ARRAY['users','profiles','doctors','availability_slots','consultations',
                                           'payments','prescriptions','audit_logs']) AS t(name)
         WHERE to_regclass(name) IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 8, "every table of the seed schema");
}

/// Runs `telehealth create-admin` with the password on stdin.
async fn create_admin(db: &TestDatabase, email: &str, password: &str) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_telehealth"));
    cmd.args(["create-admin", "--email", email])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TELEHEALTH_CONFIG", "/nonexistent/Leptos.toml")
        .env("DATABASE_URL", &db.url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{password}\n").as_bytes()).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

#[tokio::test]
async fn create_admin_makes_a_verified_admin_from_the_command_line() {
    let db = TestDatabase::create().await;
    let out = create_admin(&db, "ops@example.com", "violet kettle harbour sings").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let (role, verified, hash): (String, bool, String) = sqlx::query_as(
        "SELECT role::text, is_email_verified, password_hash FROM users WHERE email = 'ops@example.com'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(role, "admin");
    assert!(verified);
    assert!(hash.starts_with("$argon2id$"));
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE action = 'admin.created'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn create_admin_refuses_a_weak_password_or_a_taken_email_in_one_line() {
    let db = TestDatabase::create().await;
    let weak = create_admin(&db, "ops@example.com", "password1234").await;
    assert_one_clear_line(&weak, "password: This password is too common");
    assert!(create_admin(&db, "ops@example.com", "violet kettle harbour sings").await.status.success());
    let again = create_admin(&db, "OPS@example.com", "another long passphrase here").await;
    assert_one_clear_line(&again, "already exists");
}
