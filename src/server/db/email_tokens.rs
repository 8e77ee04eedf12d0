//! One-time links sent by email, stored as digests.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub const VERIFY_EMAIL: &str = "verify_email";
pub const RESET_PASSWORD: &str = "reset_password";

pub async fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: &str,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO email_tokens (user_id, purpose, token_hash, expires_at) VALUES ($1, $2, $3, $4)",
        user_id,
        purpose,
        token_hash,
        expires_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// When the user was last sent a link for this purpose.
pub async fn last_sent_at(
    conn: &mut PgConnection,
    user_id: Uuid,
    purpose: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT max(created_at) AS "sent_at" FROM email_tokens WHERE user_id = $1 AND purpose = $2"#,
        user_id,
        purpose
    )
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// The link's row, locked until the transaction ends (single use under concurrency).
pub async fn lock_by_hash(
    conn: &mut PgConnection,
    purpose: &str,
    hash: &[u8],
) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as!(
        TokenRow,
        "SELECT id, user_id, expires_at, used_at FROM email_tokens WHERE purpose = $1 AND token_hash = $2 FOR UPDATE",
        purpose,
        hash
    )
    .fetch_optional(conn)
    .await
}

pub async fn mark_used(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE email_tokens SET used_at = now() WHERE id = $1", id).execute(conn).await?;
    Ok(())
}
