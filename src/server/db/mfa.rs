//! TOTP secrets (encrypted before they get here) and recovery codes.

use sqlx::PgConnection;
use uuid::Uuid;

/// A user's second-factor state, as stored.
#[derive(Debug, Clone)]
pub struct MfaState {
    pub email: String,
    pub role: crate::domain::Role,
    pub is_active: bool,
    pub mfa_enabled: bool,
    /// Encrypted; present when enabled or while an enrolment is pending.
    pub mfa_secret: Option<String>,
    pub mfa_last_step: Option<i64>,
}

/// Reads and locks the row: enrolment, confirmation and sign-in steps of
/// one user never interleave.
pub async fn lock_state(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<MfaState>, sqlx::Error> {
    sqlx::query_as!(
        MfaState,
        r#"SELECT email, role AS "role: crate::domain::Role", is_active, mfa_enabled, mfa_secret, mfa_last_step FROM users
           WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

/// Stores a new secret awaiting confirmation (MFA stays off until then).
pub async fn set_pending_secret(conn: &mut PgConnection, user_id: Uuid, encrypted: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET mfa_secret = $2, mfa_enabled = false, mfa_last_step = NULL WHERE id = $1",
        user_id,
        encrypted
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn enable(conn: &mut PgConnection, user_id: Uuid, step: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE users SET mfa_enabled = true, mfa_last_step = $2 WHERE id = $1", user_id, step)
        .execute(conn)
        .await?;
    Ok(())
}

/// Remembers the step a code matched; false when that step (or a later
/// one) was already used, by this request's rival for instance.
pub async fn use_step(conn: &mut PgConnection, user_id: Uuid, step: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE users SET mfa_last_step = $2 WHERE id = $1 AND (mfa_last_step IS NULL OR mfa_last_step < $2)",
        user_id,
        step
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns MFA off and forgets the secret and the recovery codes.
pub async fn disable(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET mfa_enabled = false, mfa_secret = NULL, mfa_last_step = NULL WHERE id = $1",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM mfa_recovery_codes WHERE user_id = $1", user_id).execute(conn).await?;
    Ok(())
}

/// Replaces every recovery code of the user with these digests.
pub async fn replace_recovery_codes(
    conn: &mut PgConnection,
    user_id: Uuid,
    digests: &[Vec<u8>],
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM mfa_recovery_codes WHERE user_id = $1", user_id).execute(&mut *conn).await?;
    sqlx::query!(
        "INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])",
        user_id,
        digests
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses up one recovery code; false when it is unknown or already used.
pub async fn use_recovery_code(conn: &mut PgConnection, user_id: Uuid, digest: &[u8]) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE mfa_recovery_codes SET used_at = now()
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        user_id,
        digest
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn recovery_codes_left(conn: &mut PgConnection, user_id: Uuid) -> Result<i64, sqlx::Error> {
    let left = sqlx::query_scalar!(
        r#"SELECT count(*) AS "left!" FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL"#,
        user_id
    )
    .fetch_one(conn)
    .await?;
    Ok(left)
}
