//! Archival: finished consultations (completed, cancelled, no-show) scheduled
//! more than `[archive] after_months` ago move, with every version of their
//! prescriptions, to the `archive` schema, through the owner's function
//! `archive_old_records` (the application may read the archive, never write
//! it). They stay readable by their people (and consultations by admins)
//! through the views `all_consultations` and `all_prescriptions`, and are
//! read-only. The server runs this hourly; `telehealth archive` runs it once.

use serde_json::json;

use crate::server::config::ArchiveSettings;
use crate::server::db::{self, audit::AuditEntry};

/// This record was archived: it can be read, never changed.
pub const READ_ONLY: &str = "This record is archived and read-only.";

/// Moves what is due, in batches of at most 1000 consultations, each batch
/// one transaction with its audit row (counts only); answers how many
/// consultations and prescriptions moved. Safe with several server instances
/// at once, and when run again (nothing more moves).
pub async fn archive_old(pool: &sqlx::PgPool, settings: &ArchiveSettings) -> Result<(i32, i32), sqlx::Error> {
    // Settings refuse 0 at load; the function refuses anything under a month too.
    let months = settings.after_months.clamp(1, i32::MAX as u32) as i32;
    let (mut consultations, mut prescriptions) = (0, 0);
    loop {
        let mut tx = db::begin_system(pool).await?;
        let moved = sqlx::query!(
            r#"SELECT consultations AS "consultations!", prescriptions AS "prescriptions!"
               FROM archive_old_records(now() - make_interval(months => $1))"#,
            months
        )
        .fetch_one(&mut *tx)
        .await?;
        if moved.consultations == 0 {
            tx.rollback().await?;
            break;
        }
        let entry = AuditEntry::new("records.archived", "consultation").details(json!({
            "consultations": moved.consultations,
            "prescriptions": moved.prescriptions,
            "after_months": months,
        }));
        db::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        consultations += moved.consultations;
        prescriptions += moved.prescriptions;
    }
    Ok((consultations, prescriptions))
}
