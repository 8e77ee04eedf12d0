//! Accounts and profiles.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::Role;

/// What sign-in needs to know about an account. The hash stays on the server.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
    pub role: Role,
    pub is_active: bool,
    pub is_email_verified: bool,
    pub mfa_enabled: bool,
}

pub struct NewAccount<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub timezone: &'a str,
}

/// Creates the user and their profile; `users_email_key` is violated when
/// the address is taken (in any letter case).
pub async fn create_account(conn: &mut PgConnection, account: &NewAccount<'_>) -> Result<Uuid, sqlx::Error> {
    let id = sqlx::query_scalar!(
        r#"INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3::text::user_role) RETURNING id"#,
        account.email,
        account.password_hash,
        account.role.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO profiles (user_id, first_name, last_name, timezone) VALUES ($1, $2, $3, $4)",
        id,
        account.first_name,
        account.last_name,
        account.timezone,
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// The account signing in with this address (any letter case), unless deleted.
pub async fn credentials_by_email(conn: &mut PgConnection, email: &str) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as!(
        Credentials,
        r#"SELECT id, password_hash, role AS "role: Role", is_active, is_email_verified, mfa_enabled
           FROM users WHERE lower(email) = lower($1) AND deleted_at IS NULL"#,
        email
    )
    .fetch_optional(conn)
    .await
}

pub async fn record_sign_in(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE users SET last_login = now() WHERE id = $1", user_id).execute(conn).await?;
    Ok(())
}

/// Who is signed in, as pages show it.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub timezone: String,
    pub is_email_verified: bool,
    pub mfa_enabled: bool,
}

pub async fn summary(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<AccountSummary>, sqlx::Error> {
    sqlx::query_as!(
        AccountSummary,
        r#"SELECT u.id, u.email, u.role AS "role: Role", p.first_name, p.last_name, p.timezone,
                  u.is_email_verified, u.mfa_enabled
           FROM users u JOIN profiles p ON p.user_id = u.id
           WHERE u.id = $1 AND u.deleted_at IS NULL AND u.is_active"#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn mfa_enabled(conn: &mut PgConnection, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let enabled =
        sqlx::query_scalar!("SELECT mfa_enabled FROM users WHERE id = $1", user_id).fetch_optional(conn).await?;
    Ok(enabled.unwrap_or(false))
}

pub async fn mark_email_verified(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE users SET is_email_verified = true WHERE id = $1", user_id).execute(conn).await?;
    Ok(())
}

pub async fn set_password(conn: &mut PgConnection, user_id: Uuid, password_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash).execute(conn).await?;
    Ok(())
}

pub async fn password_hash(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT password_hash FROM users WHERE id = $1 AND deleted_at IS NULL", user_id)
        .fetch_optional(conn)
        .await
}

/// The personal details of a profile, as stored (and as a patient's export shows them).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ProfileDetails {
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<chrono::NaiveDate>,
    pub gender: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    #[serde(rename = "postal_code")]
    pub pincode: Option<String>,
    pub timezone: String,
    pub preferred_language: String,
}

pub async fn profile(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<ProfileDetails>, sqlx::Error> {
    sqlx::query_as!(
        ProfileDetails,
        r#"SELECT first_name, last_name, phone, date_of_birth, gender, address, city, state, country, pincode,
                  timezone, preferred_language
           FROM profiles WHERE user_id = $1 AND deleted_at IS NULL"#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn update_profile(conn: &mut PgConnection, user_id: Uuid, p: &ProfileDetails) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE profiles SET first_name = $2, last_name = $3, phone = $4, date_of_birth = $5, gender = $6,
                  address = $7, city = $8, state = $9, country = $10, pincode = $11, timezone = $12,
                  preferred_language = $13
           WHERE user_id = $1 AND deleted_at IS NULL"#,
        user_id,
        p.first_name,
        p.last_name,
        p.phone,
        p.date_of_birth,
        p.gender,
        p.address,
        p.city,
        p.state,
        p.country,
        p.pincode,
        p.timezone,
        p.preferred_language
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One account, as the administrators' user list shows it.
#[derive(Debug, Clone)]
pub struct AdminUserRow {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_email_verified: bool,
    pub mfa_enabled: bool,
    pub last_login: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Which accounts the administrators' search keeps, beyond the text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub role: Option<Role>,
    /// Some(true): active only; Some(false): deactivated only.
    pub active: Option<bool>,
    /// Some(false): email not confirmed yet.
    pub email_verified: Option<bool>,
}

/// Accounts whose email or name contains `query` (any case), newest first.
pub async fn search(
    conn: &mut PgConnection,
    query: &str,
    filter: UserFilter,
    limit: i64,
) -> Result<Vec<AdminUserRow>, sqlx::Error> {
    let pattern = super::admin::contains_pattern(query);
    sqlx::query_as!(
        AdminUserRow,
        r#"SELECT u.id, u.email, u.role AS "role: Role", p.first_name, p.last_name, u.is_active,
                  u.is_email_verified, u.mfa_enabled, u.last_login, u.created_at
           FROM users u JOIN profiles p ON p.user_id = u.id
           WHERE u.deleted_at IS NULL
             AND (u.email ILIKE $1 OR (p.first_name || ' ' || p.last_name) ILIKE $1)
             AND ($3::text IS NULL OR u.role = $3)
             AND ($4::bool IS NULL OR u.is_active = $4)
             AND ($5::bool IS NULL OR u.is_email_verified = $5)
           ORDER BY u.created_at DESC, u.id
           LIMIT $2"#,
        pattern,
        limit,
        filter.role.map(|r| r.as_str()),
        filter.active,
        filter.email_verified
    )
    .fetch_all(conn)
    .await
}

/// Sets whether the account may sign in; false when there is no such account.
pub async fn set_active(conn: &mut PgConnection, user_id: Uuid, active: bool) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE users SET is_active = $2 WHERE id = $1 AND deleted_at IS NULL AND is_active <> $2",
        user_id,
        active
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The timezone of a user's profile (UTC when unknown or not a zone).
pub async fn timezone(conn: &mut PgConnection, user_id: Uuid) -> Result<chrono_tz::Tz, sqlx::Error> {
    let zone =
        sqlx::query_scalar!("SELECT timezone FROM profiles WHERE user_id = $1", user_id).fetch_optional(conn).await?;
    Ok(zone.and_then(|z| crate::domain::timezone::parse_timezone(&z)).unwrap_or(chrono_tz::UTC))
}
