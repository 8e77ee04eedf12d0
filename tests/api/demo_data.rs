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
    let counts = || async {
        let counts: (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM consultations), (SELECT count(*) FROM reviews)",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        counts
    };
    let before = counts().await;
    assert!(before.2 > 0, "the demo has reviews");
    assert!(!demo::seed(&app.pool, hash).await.unwrap().created);
    assert_eq!(counts().await, before);
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

/// Each doctor's (rating, review_count, rating_total) as stored, and as its reviews add up.
async fn ratings_and_their_reviews(app: &TestApp) -> Vec<(String, Option<String>, i32, i32, Option<String>, i64, i64)> {
    sqlx::query_as(
        "SELECT d.verification_status::text, d.rating::text, d.review_count, d.rating_total,
                round(avg(r.rating), 2)::text, count(r.id), coalesce(sum(r.rating), 0)
         FROM doctors d LEFT JOIN reviews r ON r.doctor_id = d.id
         GROUP BY d.id ORDER BY d.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn demo_ratings_are_what_their_reviews_add_up_to_and_a_new_review_continues_them() {
    let app = spawn_app().await;
    assert!(
        demo::seed(&app.pool, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
            .await
            .unwrap()
            .created
    );

    let doctors = ratings_and_their_reviews(&app).await;
    for (status, rating, count, total, average, reviews, sum) in &doctors {
        assert_eq!((rating, *count as i64, *total as i64), (average, *reviews, *sum), "a {status} doctor");
        if status == "approved" {
            assert!((1..=5).contains(count), "every verified doctor has reviews: {count}");
        } else {
            assert_eq!((rating.as_deref(), *count), (None, 0), "a doctor still in review has no rating");
        }
    }
    // Sorting by rating has something to sort.
    let distinct: std::collections::BTreeSet<&Option<String>> = doctors.iter().map(|d| &d.1).collect();
    assert!(distinct.len() >= 5, "{distinct:?}");
    // Every review is of a visit that took place: completed, paid, by its patient, in the past.
    let (reviews, proper): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE c.status = 'completed' AND c.ended_at < now() AND p.status = 'succeeded'
                                           AND u.role = 'patient' AND r.patient_id = c.patient_id)
         FROM reviews r JOIN consultations c ON c.id = r.consultation_id
              JOIN payments p ON p.consultation_id = c.id JOIN users u ON u.id = r.patient_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(proper, reviews);
    let visits: i64 =
        sqlx::query_scalar("SELECT sum(total_consultations) FROM doctors").fetch_one(&app.pool).await.unwrap();
    assert_eq!(visits, reviews, "each past visit counts for its doctor");

    // A demo patient's new visit, rated 1 star: the rating moves from the
    // demo's reviews, it does not start again from this one.
    let (doctor, patient, count, total): (uuid::Uuid, uuid::Uuid, i32, i32) = sqlx::query_as(
        "SELECT d.id, r.patient_id, d.review_count, d.rating_total FROM doctors d JOIN reviews r ON r.doctor_id = d.id
         WHERE d.review_count >= 2 ORDER BY d.id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let visit: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, status, consultation_type,
                                    started_at, ended_at, duration_minutes)
         VALUES ($1, $2, now() - interval '2 hours', now() - interval '90 minutes', 'completed', 'video',
                 now() - interval '2 hours', now() - interval '100 minutes', 20)
         RETURNING id",
    )
    .bind(patient)
    .bind(doctor)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let rating = telehealth::server::db::room::insert_review(&mut conn, visit, patient, doctor, 1, None)
        .await
        .unwrap()
        .expect("the review is new");
    let expected = rust_decimal::Decimal::from(total + 1) / rust_decimal::Decimal::from(count + 1);
    assert_eq!(rating, expected.round_dp(2));
    assert_ne!(rating.to_string(), "1.00", "the demo's reviews still count");
}
