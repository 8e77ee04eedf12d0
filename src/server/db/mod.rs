//! All SQL lives under this module, one file per table group. Functions take
//! an executor (usually the request's transaction) so a use case composes them
//! inside one transaction.

pub mod admin;
pub mod audit;
pub mod audit_seals;
pub mod consultations;
pub mod data_rights;
pub mod demo;
pub mod doctors;
pub mod email_tokens;
pub mod mailbox;
pub mod mfa;
pub mod outage;
pub mod prescriptions;
pub mod room;
pub mod sessions;
pub mod stats;
pub mod throttle;
pub mod users;

use crate::domain::Role;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

use super::config::DatabaseSettings;

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Who is acting in a transaction: PostgreSQL sees it as the transaction-local
/// settings `app.user_id` and `app.role`, which row-level security policies read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
}

/// Why the database could not be used at start-up.
#[derive(Debug, thiserror::Error)]
pub enum DbStartError {
    #[error("the database URL is not valid: {0}")]
    BadUrl(String),
    #[error("cannot reach the database at {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("database migration failed: {0}")]
    Migration(String),
}

/// The connect options for a URL, with our session defaults.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, DbStartError> {
    let options = PgConnectOptions::from_str(url).map_err(|e| DbStartError::BadUrl(e.to_string()))?;
    Ok(options
        .application_name("telehealth")
        // A runaway query must not hold a connection (and a request) forever.
        .options([("statement_timeout", "15s"), ("idle_in_transaction_session_timeout", "30s")]))
}

/// Opens the pool and proves the database answers, within the connect timeout.
/// Every connection works as `settings.app_role` (row-level security applies).
pub async fn connect(url: &str, settings: &DatabaseSettings) -> Result<PgPool, DbStartError> {
    let options = connect_options(url)?;
    let target = format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or("?"));
    let role = settings.app_role.trim().to_owned();
    if !role.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(DbStartError::BadUrl(format!("database.app_role {role:?} is not a plain role name")));
    }
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .idle_timeout(Duration::from_secs(300))
        .after_connect(move |conn, _meta| {
            let role = role.clone();
            Box::pin(async move {
                use sqlx::Executor;
                if !role.is_empty() {
                    // Checked above to be a plain identifier.
                    conn.execute(sqlx::AssertSqlSafe(format!("SET ROLE {role}"))).await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(options);
    let probe = tokio::time::timeout(Duration::from_secs(settings.connect_timeout_secs), ping(&pool)).await;
    match probe {
        Ok(Ok(())) => Ok(pool),
        Ok(Err(e)) => Err(DbStartError::Unreachable { target, reason: one_line(&e) }),
        Err(_) => Err(DbStartError::Unreachable {
            target,
            reason: format!("no answer within {} s", settings.connect_timeout_secs),
        }),
    }
}

/// Applies pending migrations, as the role the URL signs in as (the owner),
/// on a connection of their own.
pub async fn migrate(url: &str, settings: &DatabaseSettings) -> Result<(), DbStartError> {
    use sqlx::Connection;
    let options = connect_options(url)?;
    let target = format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or("?"));
    let connecting = sqlx::PgConnection::connect_with(&options);
    let mut conn = match tokio::time::timeout(Duration::from_secs(settings.connect_timeout_secs), connecting).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(DbStartError::Unreachable { target, reason: one_line(&e) }),
        Err(_) => {
            return Err(DbStartError::Unreachable {
                target,
                reason: format!("no answer within {} s", settings.connect_timeout_secs),
            })
        }
    };
    let done = MIGRATOR.run(&mut conn).await.map_err(|e| DbStartError::Migration(one_line(&e)));
    let _ = conn.close().await;
    done
}

/// One round trip: is the database there and answering?
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("SELECT 1 AS \"one!\"").fetch_one(pool).await.map(|_| ())
}

/// Begins the one transaction a use case runs in, with the acting user set as
/// transaction-local settings (`app.user_id`, `app.role`; empty for anonymous).
/// Everything the request reads and writes, its audit row included, goes
/// through this transaction; dropping it uncommitted rolls everything back.
pub async fn begin(pool: &PgPool, actor: Option<Actor>) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    // One round trip: BEGIN and the acting user together. Only a UUID and a
    // role word are spliced in, both formatted by us, never user text.
    let user_id = actor.map(|a| a.user_id.to_string()).unwrap_or_default();
    let role = actor.map(|a| a.role.as_str()).unwrap_or_default();
    debug_assert!(user_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
    debug_assert!(role.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    let statement =
        format!("BEGIN; SELECT set_config('app.user_id', '{user_id}', true), set_config('app.role', '{role}', true)");
    outage::guard(pool, pool.begin_with(sqlx::AssertSqlSafe(statement))).await
}

/// A pooled connection outside any transaction (for reads that need no
/// acting user, such as the session check), failing fast while the database
/// is unreachable like [`begin`].
pub async fn acquire(pool: &PgPool) -> Result<sqlx::pool::PoolConnection<Postgres>, sqlx::Error> {
    outage::guard(pool, pool.acquire()).await
}

/// Begins a transaction of the server itself (background jobs, sign-up and
/// sign-in, payment webhooks, demo data): row-level security lets it see
/// every row. Never for work done on a user's behalf once they are known.
pub async fn begin_system(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    outage::guard(
        pool,
        pool.begin_with("BEGIN; SELECT set_config('app.user_id', '', true), set_config('app.role', 'system', true)"),
    )
    .await
}

/// An error's whole cause chain on one line.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}
