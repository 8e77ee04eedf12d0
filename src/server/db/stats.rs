//! Public figures about the platform (no personal data).

use sqlx::PgConnection;

use crate::api::platform::PlatformFigures;

/// Doctors a patient could book today: verified, available, active, not deleted.
pub async fn platform_stats(conn: &mut PgConnection) -> Result<PlatformFigures, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "verified_doctors!",
                  count(DISTINCT d.specialization) AS "specialties!"
           FROM doctors d
           JOIN users u ON u.id = d.user_id
           WHERE d.is_verified AND d.is_available AND d.deleted_at IS NULL
             AND u.is_active AND u.deleted_at IS NULL"#
    )
    .fetch_one(conn)
    .await?;
    Ok(PlatformFigures { verified_doctors: row.verified_doctors, specialties: row.specialties })
}
