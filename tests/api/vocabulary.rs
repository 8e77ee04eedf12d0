//! The Rust enums and the SQL domains list the same words.

use crate::helpers::*;
use telehealth::domain::{ConsultationStatus, ConsultationType, PaymentStatus, Role};

/// The words a domain's CHECK accepts, read from the catalog.
async fn domain_values(pool: &sqlx::PgPool, domain: &str) -> Vec<String> {
    let def: String = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_type t ON t.oid = c.contypid WHERE t.typname = $1",
    )
    .bind(domain)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("domain {domain}: {e}"));
    let mut words: Vec<String> = def.split('\'').skip(1).step_by(2).map(str::to_owned).collect();
    words.sort();
    words
}

fn sorted(values: impl Iterator<Item = &'static str>) -> Vec<String> {
    let mut v: Vec<String> = values.map(str::to_owned).collect();
    v.sort();
    v
}

#[tokio::test]
async fn each_rust_vocabulary_matches_its_sql_domain_exactly() {
    let app = spawn_app().await;
    assert_eq!(domain_values(&app.pool, Role::SQL_DOMAIN).await, sorted(Role::ALL.iter().map(|v| v.as_str())));
    assert_eq!(
        domain_values(&app.pool, ConsultationStatus::SQL_DOMAIN).await,
        sorted(ConsultationStatus::ALL.iter().map(|v| v.as_str()))
    );
    assert_eq!(
        domain_values(&app.pool, ConsultationType::SQL_DOMAIN).await,
        sorted(ConsultationType::ALL.iter().map(|v| v.as_str()))
    );
    assert_eq!(
        domain_values(&app.pool, PaymentStatus::SQL_DOMAIN).await,
        sorted(PaymentStatus::ALL.iter().map(|v| v.as_str()))
    );
}

#[tokio::test]
async fn a_vocabulary_value_round_trips_through_the_database() {
    let app = spawn_app().await;
    for status in ConsultationStatus::ALL {
        let back: ConsultationStatus = sqlx::query_scalar("SELECT $1::text::consultation_status")
            .bind(*status)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(back, *status);
    }
    let role: Role = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(insert_user(&app.pool, "doctor").await)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(role, Role::Doctor);
}
