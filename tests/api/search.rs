//! The doctor search at scale: the availability index (each doctor's next
//! free time, kept by a background job and marked stale by every change that
//! frees or takes a time) orders and pages the results in the database; the
//! times a result shows are worked out live.

use crate::helpers::*;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use telehealth::server::services::doctors::refresh_next_free;
use uuid::Uuid;

/// A listed doctor (email confirmed, approved, 30-minute slots) open every
/// day around the clock (UTC) with `notice_minutes` of notice, or with no
/// windows at all; rated `rating`.
async fn listed(app: &TestApp, notice_minutes: i32, open: bool, rating: Option<&str>) -> Uuid {
    let user_id = insert_confirmed_user(&app.pool, "doctor").await;
    let id = approved_doctor(&app.pool, user_id).await;
    sqlx::query("UPDATE doctors SET min_notice_minutes = $2, rating = $3::numeric WHERE id = $1")
        .bind(id)
        .bind(notice_minutes)
        .bind(rating)
        .execute(&app.pool)
        .await
        .unwrap();
    if open {
        sqlx::query(
            "INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone)
             SELECT $1, d, '00:00'::time, '24:00'::time, 'UTC' FROM generate_series(0, 6) AS d",
        )
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    id
}

/// The stored next free time and when it was worked out (None: stale).
async fn next_free(app: &TestApp, doctor: Uuid) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    sqlx::query_as("SELECT next_free_at, next_free_checked_at FROM doctors WHERE id = $1")
        .bind(doctor)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn search_page(app: &TestApp, query: &str) -> (Vec<Uuid>, Value) {
    let (status, page) = get_answer(app, &browser(None), &format!("/api/search_doctors?tz=UTC&{query}")).await;
    assert_eq!(status, 200, "{query}: {page}");
    let ids = page["doctors"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().parse().unwrap()).collect();
    (ids, page)
}

fn first_time(page: &Value, doctor: Uuid) -> Option<DateTime<Utc>> {
    let card = page["doctors"].as_array().unwrap().iter().find(|d| d["id"] == doctor.to_string())?;
    card["next_slots"][0]["starts_at"].as_str().map(|s| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

#[tokio::test]
async fn search_lists_the_soonest_available_doctors_first_across_pages() {
    let app = spawn_app().await;
    // Twelve doctors free at different hours (a longer notice: a later first time),
    // created in an order that is neither theirs nor their ids'.
    let mut by_notice = Vec::new();
    for hours in [7, 2, 11, 5, 1, 12, 9, 3, 8, 4, 10, 6] {
        by_notice.push((hours, listed(&app, hours * 60, true, Some("4.0")).await));
    }
    by_notice.sort();
    let soonest_first: Vec<Uuid> = by_notice.iter().map(|(_, id)| *id).collect();
    // (The job itself may have come round meanwhile: it runs every few seconds.)
    refresh_next_free(&app.pool).await.unwrap();

    let (first, page) = search_page(&app, "").await;
    assert_eq!(page["total"], 12, "{page}");
    assert_eq!((page["page"].as_u64(), page["pages"].as_u64()), (Some(1), Some(2)));
    assert_eq!(first, soonest_first[..10]);
    let (second, page) = search_page(&app, "page=2").await;
    assert_eq!(second, soonest_first[10..]);
    assert_eq!(page["page"], 2);
    // The shown times are the live ones, in the same order.
    let one_hour = first_time(&search_page(&app, "").await.1, soonest_first[0]).unwrap();
    assert!(one_hour >= Utc::now() + Duration::minutes(59), "{one_hour} keeps the hour's notice");
    let twelve_hours = first_time(&page, soonest_first[11]).unwrap();
    assert!(twelve_hours > one_hour + Duration::hours(10), "{twelve_hours}");
    // Another sort pages in the database too.
    sqlx::query("UPDATE doctors SET rating = 5.0 WHERE id = $1")
        .bind(soonest_first[11])
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(search_page(&app, "sort=rating").await.0[0], soonest_first[11]);
}

#[tokio::test]
async fn a_doctor_with_no_free_time_is_listed_after_those_with_one() {
    let app = spawn_app().await;
    let closed_well_rated = listed(&app, 60, false, Some("4.9")).await;
    let open = listed(&app, 60, true, Some("3.0")).await;
    let closed = listed(&app, 60, false, Some("4.1")).await;
    // Free only ten days from now: listed, but not this week.
    let later = listed(&app, 10 * 24 * 60, true, Some("2.0")).await;
    refresh_next_free(&app.pool).await.unwrap();
    assert_eq!(next_free(&app, closed).await.0, None);
    assert!(next_free(&app, closed).await.1.is_some(), "worked out: none");

    let (ids, page) = search_page(&app, "").await;
    assert_eq!(ids, [open, later, closed_well_rated, closed], "with a time first, then the best rated");
    assert_eq!(page["doctors"][3]["next_slots"], serde_json::json!([]), "shown without times");
    let (ids, page) = search_page(&app, "available=week").await;
    assert_eq!(ids, [open]);
    assert_eq!(page["total"], 1);
}

#[tokio::test]
async fn a_booking_marks_the_doctor_for_a_fresh_next_free_time() {
    let app = spawn_app().await;
    let (_, _, doctor) = bookable_doctor(&app, "hart@example.com", ("Gregory", "Hart")).await;
    let (patient, _) = signed_up_and_in(&app, "ana@example.com", ("Ana", "Silva"), "patient").await;
    refresh_next_free(&app.pool).await.unwrap();
    let (Some(soonest), Some(_)) = next_free(&app, doctor).await else { panic!("worked out") };

    let id = book_and_pay(&app, &patient, doctor, soonest, "A cough").await;
    assert_eq!(next_free(&app, doctor).await, (Some(soonest), None), "marked stale, in the booking's transaction");
    // Until the job comes round, the result still shows only free times.
    let (_, page) = search_page(&app, "").await;
    assert!(first_time(&page, doctor).unwrap() > soonest);
    refresh_next_free(&app.pool).await.unwrap();
    let (after, checked) = next_free(&app, doctor).await;
    assert_eq!(after, Some(soonest + Duration::minutes(30)), "the next half hour");
    assert!(checked.is_some());

    // Cancelling frees the time again: stale again, and then the time is back.
    let (status, body) =
        post_answer(&app, &patient, "/api/cancel_consultation", &form(&[("consultation_id", &id.to_string())])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(next_free(&app, doctor).await.1, None);
    refresh_next_free(&app.pool).await.unwrap();
    assert_eq!(next_free(&app, doctor).await.0, Some(soonest));
}

#[tokio::test]
async fn the_availability_job_recomputes_stale_doctors() {
    let app = spawn_app().await;
    let doctor = listed(&app, 60, true, None).await;
    let other = listed(&app, 60, true, None).await;
    refresh_next_free(&app.pool).await.unwrap();
    assert_eq!(refresh_next_free(&app.pool).await.unwrap(), 0, "nothing is due right after");
    let (Some(soonest), Some(checked)) = next_free(&app, doctor).await else { panic!("worked out") };
    assert!(soonest >= Utc::now() + Duration::minutes(59) && soonest <= Utc::now() + Duration::minutes(91));

    // Time off over the next two days: the trigger marks only that doctor.
    sqlx::query(
        "INSERT INTO doctor_time_off (doctor_id, starts_at, ends_at) VALUES ($1, now(), now() + interval '2 days')",
    )
    .bind(doctor)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(next_free(&app, doctor).await, (Some(soonest), None), "stale, still ordered by the old time");
    assert_eq!(next_free(&app, other).await.1, Some(checked), "the other doctor is untouched");
    assert_eq!(refresh_next_free(&app.pool).await.unwrap(), 1);
    let (after, _) = next_free(&app, doctor).await;
    assert!(after.unwrap() >= Utc::now() + Duration::days(2) - Duration::minutes(1), "{after:?}");

    // A change of the slot rules marks the doctor too; an unrelated edit does not.
    sqlx::query("UPDATE doctors SET bio = 'Hello' WHERE id = $1").bind(other).execute(&app.pool).await.unwrap();
    assert!(next_free(&app, other).await.1.is_some());
    sqlx::query("UPDATE doctors SET min_notice_minutes = 600 WHERE id = $1")
        .bind(other)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(next_free(&app, other).await.1, None);
    refresh_next_free(&app.pool).await.unwrap();
    assert!(next_free(&app, other).await.0.unwrap() >= Utc::now() + Duration::minutes(599));

    // A next free time whose moment has come (past the notice) is due again by itself.
    sqlx::query("UPDATE doctors SET next_free_at = now() WHERE id = $1").bind(doctor).execute(&app.pool).await.unwrap();
    assert_eq!(refresh_next_free(&app.pool).await.unwrap(), 1);
    assert_eq!(next_free(&app, doctor).await.0, after);
}
