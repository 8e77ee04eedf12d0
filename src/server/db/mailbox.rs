//! The development mailbox (never used in production).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub async fn store(pool: &PgPool, to: &str, subject: &str, body: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("INSERT INTO dev_mailbox (to_address, subject, body_text) VALUES ($1, $2, $3)", to, subject, body)
        .execute(pool)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct StoredMail {
    pub id: Uuid,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub created_at: DateTime<Utc>,
}

/// The latest messages, newest first (to one address when given).
pub async fn latest(pool: &PgPool, to: Option<&str>, limit: i64) -> Result<Vec<StoredMail>, sqlx::Error> {
    sqlx::query_as!(
        StoredMail,
        r#"SELECT id, to_address, subject, body_text, created_at FROM dev_mailbox
           WHERE $1::text IS NULL OR lower(to_address) = lower($1)
           ORDER BY created_at DESC LIMIT $2"#,
        to,
        limit
    )
    .fetch_all(pool)
    .await
}
