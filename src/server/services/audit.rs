//! The audit trail's upkeep: monthly partitions created ahead of time, so
//! rows never pile up in the default partition.

use crate::server::db;

/// How many months ahead partitions exist.
pub const MONTHS_AHEAD: i32 = 3;

/// Creates the partitions of this month and the next [`MONTHS_AHEAD`] that
/// are missing (as the owner, through `create_audit_partitions_ahead`);
/// answers how many were created. Safe with several instances at once.
pub async fn create_partitions_ahead(pool: &sqlx::PgPool) -> Result<i32, sqlx::Error> {
    let mut tx = db::begin_system(pool).await?;
    let created = sqlx::query_scalar!(r#"SELECT create_audit_partitions_ahead($1) AS "created!""#, MONTHS_AHEAD)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(created)
}
