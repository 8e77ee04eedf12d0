//! Session families and their rotating refresh tokens.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct NewSession<'a> {
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub token_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(conn: &mut PgConnection, s: &NewSession<'_>) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO sessions (user_id, family_id, token_hash, expires_at, ip_address, user_agent)
           VALUES ($1, $2, $3, $4, $5::text::inet, $6) RETURNING id"#,
        s.user_id,
        s.family_id,
        s.token_hash,
        s.expires_at,
        s.ip_address,
        s.user_agent,
    )
    .fetch_one(conn)
    .await
}

/// A refresh token's row, locked for the rest of the transaction.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

pub async fn lock_by_token_hash(conn: &mut PgConnection, hash: &[u8]) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as!(
        TokenRow,
        r#"SELECT id, user_id, family_id, rotated_at, revoked_at, expires_at, last_seen_at
           FROM sessions WHERE token_hash = $1 FOR UPDATE"#,
        hash
    )
    .fetch_optional(conn)
    .await
}

pub async fn mark_rotated(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE sessions SET rotated_at = now() WHERE id = $1", id).execute(conn).await?;
    Ok(())
}

/// Revokes every token of a family; returns how many were still open.
pub async fn revoke_family(conn: &mut PgConnection, family_id: Uuid, reason: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        family_id,
        reason
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes all of a user's sessions, except one family (the caller's) if given.
pub async fn revoke_all_for_user(
    conn: &mut PgConnection,
    user_id: Uuid,
    reason: &str,
    except_family: Option<Uuid>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE sessions SET revoked_at = now(), revoked_reason = $2
           WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR family_id <> $3)"#,
        user_id,
        reason,
        except_family
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The live state of a family: its newest token's row.
#[derive(Debug, Clone)]
pub struct FamilyState {
    pub user_id: Uuid,
    /// The account may act: active and not deleted.
    pub user_active: bool,
    pub revoked: bool,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

pub async fn family_state(conn: &mut PgConnection, family_id: Uuid) -> Result<Option<FamilyState>, sqlx::Error> {
    sqlx::query_as!(
        FamilyState,
        r#"SELECT s.user_id, (u.is_active AND u.deleted_at IS NULL) AS "user_active!",
                  s.revoked_at IS NOT NULL AS "revoked!", s.expires_at, s.last_seen_at
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.family_id = $1 ORDER BY s.created_at DESC LIMIT 1"#,
        family_id
    )
    .fetch_optional(conn)
    .await
}

/// Notes activity on a family (at most once a minute, to spare writes).
pub async fn touch(conn: &mut PgConnection, family_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE sessions SET last_seen_at = now()
           WHERE family_id = $1 AND revoked_at IS NULL AND rotated_at IS NULL
             AND last_seen_at < now() - interval '1 minute'"#,
        family_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One signed-in device, as the sessions page lists it.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub family_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn list_active(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<ActiveSession>, sqlx::Error> {
    sqlx::query_as!(
        ActiveSession,
        r#"SELECT s.family_id,
                  (SELECT min(f.created_at) FROM sessions f WHERE f.family_id = s.family_id) AS "started_at!",
                  s.last_seen_at, host(s.ip_address) AS ip_address, s.user_agent
           FROM sessions s
           WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.rotated_at IS NULL AND s.expires_at > now()
           ORDER BY s.last_seen_at DESC"#,
        user_id
    )
    .fetch_all(conn)
    .await
}
