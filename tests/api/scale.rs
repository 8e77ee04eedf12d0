//! Scale data (`telehealth scale`), generated small on a fresh database.

use crate::helpers::*;
use sqlx::{Connection, PgConnection};
use telehealth::server::scale::{self, ScaleError, ScaleOptions};

fn small() -> ScaleOptions {
    ScaleOptions { doctors: 20, patients: 100, consultations: 2_000, audit_rows: 5_000, seed: 7, force: false }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn scale_data_passes_every_constraint_and_fills_the_monthly_partitions() {
    let app = spawn_app().await;
    let mut conn = PgConnection::connect(&app.db.url).await.unwrap();
    let mut lines = Vec::new();
    // Any constraint or trigger refusing a row would fail the COPY and the run.
    let report = scale::generate(&mut conn, &small(), |line| lines.push(line.to_owned())).await.unwrap();

    assert_eq!(report.rows("users"), 120);
    assert_eq!(report.rows("audit_logs"), 5_000);
    assert!(lines.iter().any(|l| l.starts_with("consultations")), "{lines:?}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM doctors WHERE is_verified AND verification_status = 'approved'").await,
        20
    );
    assert_eq!(count(&app, "SELECT count(*) FROM users WHERE role = 'patient'").await, 100);
    assert_eq!(count(&app, "SELECT count(*) FROM profiles").await, 120);
    assert_eq!(count(&app, "SELECT count(*) FROM availability_slots").await, 200);
    assert_eq!(count(&app, "SELECT count(*) FROM consultations").await, 2_000);
    // The registry trigger saw every consultation.
    assert_eq!(count(&app, "SELECT count(*) FROM consultation_keys").await, 2_000);
    assert_eq!(count(&app, "SELECT count(*) FROM audit_logs").await, 5_000);

    // Every consultation has its payment and every payment its consultation;
    // a paid one (succeeded or refunded) was really paid.
    assert_eq!(
        count(&app, "SELECT count(*) FROM consultations c WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.consultation_id = c.id)").await,
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM payments p WHERE NOT EXISTS (SELECT 1 FROM consultations c WHERE c.id = p.consultation_id AND c.patient_id = p.patient_id AND c.doctor_id = p.doctor_id)").await,
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM payments WHERE status IN ('succeeded', 'refunded') AND paid_at IS NULL")
            .await,
        0
    );
    // A mix of outcomes, and a prescription for most completed visits.
    let (completed, prescribed): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'completed'),
                (SELECT count(DISTINCT consultation_id) FROM prescriptions)
         FROM consultations",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(completed > 1_000, "{completed} completed");
    assert!((0.5..0.7).contains(&(prescribed as f64 / completed as f64)), "{prescribed} of {completed} prescribed");
    for status in ["scheduled", "cancelled", "no_show"] {
        let n = count(&app, &format!("SELECT count(*) FROM consultations WHERE status = '{status}'")).await;
        assert!(n > 0, "no {status} consultation");
    }
    assert!(count(&app, "SELECT count(*) FROM payments WHERE status = 'refunded'").await > 0);
    // No two consultations of a doctor or of a patient overlap, whatever their status.
    assert_eq!(
        count(&app, "SELECT count(*) FROM consultations a JOIN consultations b ON a.id < b.id
                     AND (a.doctor_id = b.doctor_id OR a.patient_id = b.patient_id)
                     AND tstzrange(a.scheduled_at, a.scheduled_end_at) && tstzrange(b.scheduled_at, b.scheduled_end_at)").await,
        0
    );

    // The audit rows sit in their months' partitions, none in the default one.
    assert_eq!(count(&app, "SELECT count(*) FROM audit_logs_default").await, 0);
    let partitions = count(&app, "SELECT count(DISTINCT tableoid) FROM audit_logs").await;
    assert!(partitions >= 36, "audit rows in {partitions} partitions");
    assert_eq!(
        count(&app, "SELECT count(*) FROM audit_logs a WHERE to_char(a.created_at AT TIME ZONE 'UTC', '\"audit_logs_y\"YYYY\"m\"MM') <> a.tableoid::regclass::text").await,
        0
    );
}

#[tokio::test]
async fn scale_data_refuses_a_database_that_already_holds_it_unless_forced() {
    let app = spawn_app().await;
    let mut conn = PgConnection::connect(&app.db.url).await.unwrap();
    let tiny = ScaleOptions { doctors: 5, patients: 120, consultations: 50, audit_rows: 10, ..small() };
    scale::generate(&mut conn, &tiny, |_| {}).await.unwrap();

    let again = scale::generate(&mut conn, &tiny, |_| {}).await;
    assert!(matches!(again, Err(ScaleError::NotEmpty { users: 125, consultations: 50 })), "{again:?}");
    assert_eq!(count(&app, "SELECT count(*) FROM consultations").await, 50);

    scale::generate(&mut conn, &ScaleOptions { force: true, ..tiny }, |_| {}).await.unwrap();
    assert_eq!(count(&app, "SELECT count(*) FROM consultations").await, 100);
}
