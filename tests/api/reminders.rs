//! Reminders before a consultation: due ones are claimed exactly once, even
//! by two server instances running the job at the same moment.

use crate::helpers::*;
use telehealth::server::db::consultations::claim_reminders;

async fn scheduled_in(app: &TestApp, minutes: i64) -> uuid::Uuid {
    let patient = insert_user(&app.pool, "patient").await;
    let doctor = insert_doctor(&app.pool).await;
    let start = (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339();
    insert_consultation(&app.pool, patient, doctor, &start, 30, "scheduled").await.unwrap()
}

#[tokio::test]
async fn a_due_reminder_is_claimed_once_even_by_two_instances_at_the_same_moment() {
    let app = spawn_app().await;
    let soon = scheduled_in(&app, 40).await;
    let tomorrow = scheduled_in(&app, 20 * 60).await;
    let next_week = scheduled_in(&app, 7 * 24 * 60).await;

    // Two "instances": two connections claiming concurrently, many times.
    let mut claimed = Vec::new();
    for _ in 0..5 {
        let (a, b) = tokio::join!(
            async {
                let mut conn = app.pool.acquire().await.unwrap();
                claim_reminders(&mut conn, "24h", chrono::Duration::hours(24)).await.unwrap()
            },
            async {
                let mut conn = app.pool.acquire().await.unwrap();
                claim_reminders(&mut conn, "24h", chrono::Duration::hours(24)).await.unwrap()
            }
        );
        claimed.extend(a);
        claimed.extend(b);
    }
    claimed.sort();
    let mut expected = vec![soon, tomorrow];
    expected.sort();
    assert_eq!(claimed, expected, "each due consultation once");
    assert!(!claimed.contains(&next_week), "next week's is not due yet");

    let mut conn = app.pool.acquire().await.unwrap();
    let hour = claim_reminders(&mut conn, "1h", chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(hour, vec![soon], "the one-hour reminder is its own");
    assert!(claim_reminders(&mut conn, "1h", chrono::Duration::hours(1)).await.unwrap().is_empty());
}

#[tokio::test]
async fn cancelled_and_unpaid_consultations_get_no_reminder() {
    let app = spawn_app().await;
    let patient = insert_user(&app.pool, "patient").await;
    let doctor = insert_doctor(&app.pool).await;
    let start = (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339();
    insert_consultation(&app.pool, patient, doctor, &start, 30, "cancelled").await.unwrap();
    let later = (chrono::Utc::now() + chrono::Duration::minutes(90)).to_rfc3339();
    insert_consultation(&app.pool, patient, doctor, &later, 30, "pending_payment").await.unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    assert!(claim_reminders(&mut conn, "24h", chrono::Duration::hours(24)).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_follow_up_is_reminded_by_email_the_day_before_and_only_once() {
    let app = spawn_app().await;
    let patient = insert_user(&app.pool, "patient").await;
    let doctor = insert_doctor(&app.pool).await;
    let id = insert_consultation(&app.pool, patient, doctor, "2030-01-07T10:00:00Z", 30, "scheduled").await.unwrap();
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let in_a_week = chrono::Utc::now().date_naive() + chrono::Duration::days(7);
    for (date, active) in [(tomorrow, true), (in_a_week, true), (tomorrow, false)] {
        sqlx::query(
            "INSERT INTO prescriptions (consultation_id, patient_id, doctor_id, medications, follow_up_date, is_active)
             VALUES ($1, $2, $3, '[]', $4, $5)",
        )
        .bind(id)
        .bind(patient)
        .bind(doctor)
        .bind(date)
        .bind(active)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let state = app_state(&app);
    let email = format!("{patient}@example.com");
    let sent = telehealth::server::services::room::send_follow_up_reminders(&state).await.unwrap();
    assert_eq!(sent, 1, "only the active prescription due tomorrow");
    let again = telehealth::server::services::room::send_follow_up_reminders(&state).await.unwrap();
    assert_eq!(again, 0, "reminded once");
    let mails: Vec<(String, String)> =
        sqlx::query_as("SELECT subject, body_text FROM dev_mailbox WHERE to_address = $1")
            .bind(&email)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].0, "Your follow-up is due tomorrow");
    assert!(mails[0].1.contains(&format!("/doctors/{doctor}")), "{}", mails[0].1);
    assert_eq!(audit_count(&app, "prescription.follow_up_reminded").await, 1);
}
