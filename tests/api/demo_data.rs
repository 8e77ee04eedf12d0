//! The demo a newcomer sees on first start.

use crate::helpers::*;
use telehealth::server::db::demo;

#[tokio::test]
async fn demo_data_has_verified_doctors_in_many_zones_each_with_weekly_availability() {
    let app = spawn_app().await;
    let outcome =
        demo::seed(&app.pool, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA").await.unwrap();
    assert!(outcome.created);

    let doctors: i64 = sqlx::query_scalar("SELECT count(*) FROM doctors WHERE is_verified AND is_available")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(doctors >= 30, "{doctors} verified doctors");
    let zones: i64 = sqlx::query_scalar("SELECT count(DISTINCT timezone) FROM availability_slots")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(zones >= 4, "{zones} timezones");
    let specialties: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT specialization) FROM doctors").fetch_one(&app.pool).await.unwrap();
    assert!(specialties >= 10);
    let without_availability: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM doctors d WHERE NOT EXISTS (SELECT 1 FROM availability_slots a WHERE a.doctor_id = d.id)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(without_availability, 0);
    let admins: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(admins, 1);
    let patients: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'patient'").fetch_one(&app.pool).await.unwrap();
    assert!(patients >= 3);
}

#[tokio::test]
async fn seeding_twice_creates_the_demo_once() {
    let app = spawn_app().await;
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    assert!(demo::seed(&app.pool, hash).await.unwrap().created);
    let users_before: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.pool).await.unwrap();
    assert!(!demo::seed(&app.pool, hash).await.unwrap().created);
    let users_after: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.pool).await.unwrap();
    assert_eq!(users_before, users_after);
}

#[tokio::test]
async fn starting_with_demo_seeding_on_leaves_a_bookable_demo_and_its_audit_row() {
    let app = spawn_app_with(|env| {
        env.insert("TELEHEALTH__DEMO__SEED".into(), "true".into());
    })
    .await;
    let body = app.get("/api/platform_stats").await.text().await.unwrap();
    let figures: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(figures["verified_doctors"].as_i64().unwrap() >= 30, "{body}");
    let seeded: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE action = 'demo.seeded'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(seeded, 1);
}
