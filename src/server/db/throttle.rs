//! Failed sign-in counters per account and per IP address.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Until when this key is locked out, if it is.
pub async fn locked_until(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let until = sqlx::query_scalar!(
        "SELECT locked_until FROM auth_throttle WHERE scope = $1 AND key = $2 AND locked_until > now()",
        scope,
        key
    )
    .fetch_optional(conn)
    .await?;
    Ok(until.flatten())
}

/// Counts one more failure and returns the new total.
pub async fn record_failure(conn: &mut PgConnection, scope: &str, key: &str) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO auth_throttle (scope, key, failures, last_failure_at) VALUES ($1, $2, 1, now())
           ON CONFLICT (scope, key) DO UPDATE
             SET failures = auth_throttle.failures + 1, last_failure_at = now()
           RETURNING failures"#,
        scope,
        key
    )
    .fetch_one(conn)
    .await
}

pub async fn lock(conn: &mut PgConnection, scope: &str, key: &str, until: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE auth_throttle SET locked_until = $3 WHERE scope = $1 AND key = $2", scope, key, until)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn clear(conn: &mut PgConnection, scope: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM auth_throttle WHERE scope = $1 AND key = $2", scope, key).execute(conn).await?;
    Ok(())
}
