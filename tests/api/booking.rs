//! Booking and paying: holding a doctor's time, the race for one time,
//! repeated requests, holds that expire, paying by card in the sandbox,
//! cancelling with the refund the policy gives, and the lists of
//! consultations (the patient's own and the doctor's agenda).
//!
//! Doctors are written straight to the database (approved, email confirmed,
//! windows around the clock in UTC so that a time a few hours ahead is
//! always free); people sign in through the API on browsers of their own.

use crate::helpers::*;
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Utc, Weekday};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

const SUCCESS_CARD: &str = "4242 4242 4242 4242";
const DECLINED_CARD: &str = "4000 0000 0000 0002";
const NO_FUNDS_CARD: &str = "4000 0000 0000 9995";
const SYMPTOMS: &str = "Chest tightness when climbing stairs, for two weeks.";

// --- time -----------------------------------------------------------------------

/// The first half hour strictly after `t` (slots start on the half hour).
fn half_hour_after(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp((t.timestamp().div_euclid(1800) + 1) * 1800, 0).unwrap()
}

/// The first slot at least `minutes` from now.
fn slot_in_minutes(minutes: i64) -> DateTime<Utc> {
    half_hour_after(Utc::now() + Duration::minutes(minutes))
}

/// The first slot at least `hours` from now.
fn slot_in(hours: i64) -> DateTime<Utc> {
    slot_in_minutes(hours * 60)
}

/// As the API writes instants: RFC 3339 in UTC, whole seconds.
fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A card expiry three years ahead ("12/29").
fn good_expiry() -> String {
    format!("12/{:02}", (Utc::now().year() + 3) % 100)
}

/// The first `weekday` at least two days ahead (UTC).
fn next_utc(weekday: Weekday) -> NaiveDate {
    let mut date = Utc::now().date_naive() + Duration::days(2);
    while date.weekday() != weekday {
        date = date.succ_opt().unwrap();
    }
    date
}

// --- requests ---------------------------------------------------------------------

/// The message of a 409 (panics, showing the body, for anything else).
fn conflict(status: u16, body: &Value) -> String {
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["kind"], "conflict", "{body}");
    let message = body["detail"].as_str().unwrap_or_else(|| panic!("a message: {body}")).to_owned();
    assert!(!message.trim().is_empty(), "{body}");
    message
}

fn booking_body(doctor: Uuid, start: &str, kind: &str, symptoms: &str, key: Uuid) -> String {
    form(&[
        ("doctor_id", &doctor.to_string()),
        ("starts_at", start),
        ("consultation_type", kind),
        ("symptoms", symptoms),
        ("booking_key", &key.to_string()),
    ])
}

/// Books a video consultation at `start` with a fresh key.
async fn book(app: &TestApp, client: &reqwest::Client, doctor: Uuid, start: DateTime<Utc>) -> (u16, Value) {
    book_with_key(app, client, doctor, start, Uuid::new_v4()).await
}

async fn book_with_key(
    app: &TestApp,
    client: &reqwest::Client,
    doctor: Uuid,
    start: DateTime<Utc>,
    key: Uuid,
) -> (u16, Value) {
    post_answer(app, client, "/api/book_consultation", &booking_body(doctor, &rfc(start), "video", SYMPTOMS, key)).await
}

/// Books a time that must be accepted; returns the consultation's id.
async fn booked(app: &TestApp, client: &reqwest::Client, doctor: Uuid, start: DateTime<Utc>) -> Uuid {
    let (status, body) = book(app, client, doctor, start).await;
    assert_eq!(status, 200, "{body}");
    body.as_str().expect("the consultation's id").parse().unwrap()
}

async fn pay_with(
    app: &TestApp,
    client: &reqwest::Client,
    id: Uuid,
    number: &str,
    expiry: &str,
    cvc: &str,
) -> (u16, Value) {
    let body = form(&[("consultation_id", &id.to_string()), ("card_number", number), ("expiry", expiry), ("cvc", cvc)]);
    post_answer(app, client, "/api/pay_consultation", &body).await
}

async fn pay(app: &TestApp, client: &reqwest::Client, id: Uuid, number: &str) -> (u16, Value) {
    pay_with(app, client, id, number, &good_expiry(), "123").await
}

/// Books and pays with the success card; returns the consultation's id.
async fn booked_and_paid(app: &TestApp, client: &reqwest::Client, doctor: Uuid, start: DateTime<Utc>) -> Uuid {
    let id = booked(app, client, doctor, start).await;
    let (status, body) = pay(app, client, id, SUCCESS_CARD).await;
    assert_eq!(status, 200, "{body}");
    id
}

async fn cancel(app: &TestApp, client: &reqwest::Client, id: Uuid) -> (u16, Value) {
    post_answer(app, client, "/api/cancel_consultation", &form(&[("consultation_id", &id.to_string())])).await
}

/// Every `starts_at` on a doctor's public page (two weeks).
async fn public_times(app: &TestApp, doctor: Uuid) -> Vec<String> {
    let (status, page) = get_answer(app, &browser(None), &format!("/api/doctor_details?id={doctor}&tz=UTC")).await;
    assert_eq!(status, 200, "{page}");
    page["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["slots"].as_array().unwrap().iter().map(|s| s["starts_at"].as_str().unwrap().to_owned()))
        .collect()
}

// --- people -----------------------------------------------------------------------

async fn sign_up(app: &TestApp, email: &str, (first, last): (&str, &str), timezone: &str, role: &str) {
    let body = form(&[
        ("email", email),
        ("password", PASSWORD),
        ("first_name", first),
        ("last_name", last),
        ("timezone", timezone),
        ("role", role),
    ]);
    let res = app.post_form("/api/sign_up", &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// A browser of its own, signed in as `email`.
async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser(None);
    let res = app.post_form_as(&client, "/api/sign_in", &form(&[("email", email), ("password", PASSWORD)])).await;
    assert_eq!(res.status(), 200, "{email}: {}", res.text().await.unwrap());
    client
}

/// Fixture: the person confirmed their email address.
async fn confirm_email(app: &TestApp, email: &str) {
    sqlx::query("UPDATE users SET is_email_verified = true WHERE lower(email) = lower($1)")
        .bind(email)
        .execute(&app.pool)
        .await
        .unwrap();
}

/// A patient (email confirmed) signed in on their own browser.
async fn patient(app: &TestApp, email: &str, name: (&str, &str), timezone: &str) -> reqwest::Client {
    sign_up(app, email, name, timezone, "patient").await;
    confirm_email(app, email).await;
    signed_in(app, email).await
}

/// A doctor patients can book.
struct Doctor {
    /// doctors.id
    id: Uuid,
    user_id: Uuid,
    client: reqwest::Client,
}

/// Windows every day, all day (00:00–24:00 UTC).
const AROUND_THE_CLOCK: &[(i16, &str, &str)] = &[
    (0, "00:00", "24:00"),
    (1, "00:00", "24:00"),
    (2, "00:00", "24:00"),
    (3, "00:00", "24:00"),
    (4, "00:00", "24:00"),
    (5, "00:00", "24:00"),
    (6, "00:00", "24:00"),
];

/// A listed doctor: signed up (own timezone), email confirmed, approved,
/// Cardiology, GBP 60.00, video and audio, 30-minute slots, an hour's
/// notice, 60 days ahead, with weekly windows (day, start, end) in UTC.
async fn listed_doctor(
    app: &TestApp,
    email: &str,
    name: (&str, &str),
    timezone: &str,
    windows: &[(i16, &str, &str)],
) -> Doctor {
    sign_up(app, email, name, timezone, "doctor").await;
    confirm_email(app, email).await;
    let user_id = user_id(app, email).await;
    let id = approved_doctor(&app.pool, user_id).await;
    for (day, start, end) in windows {
        sqlx::query(
            "INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone)
             VALUES ($1, $2, $3::time, $4::time, 'UTC')",
        )
        .bind(id)
        .bind(*day)
        .bind(*start)
        .bind(*end)
        .execute(&app.pool)
        .await
        .expect("insert window");
    }
    let client = signed_in(app, email).await;
    Doctor { id, user_id, client }
}

/// Dr Gregory Hart, in London, around the clock.
async fn dr_hart(app: &TestApp) -> Doctor {
    listed_doctor(app, "hart@example.com", ("Gregory", "Hart"), "Europe/London", AROUND_THE_CLOCK).await
}

async fn set_fee(app: &TestApp, doctor: Uuid, fee: &str) {
    sqlx::query("UPDATE doctors SET consultation_fee = $2::numeric WHERE id = $1")
        .bind(doctor)
        .bind(fee)
        .execute(&app.pool)
        .await
        .unwrap();
}

// --- the database, read and (for fixtures) written directly ------------------------

#[derive(Debug)]
struct ConsultationRow {
    patient_id: Uuid,
    doctor_id: Uuid,
    scheduled_at: DateTime<Utc>,
    scheduled_end_at: DateTime<Utc>,
    status: String,
    consultation_type: String,
    symptoms: Option<String>,
    hold_expires_at: Option<DateTime<Utc>>,
    booking_key: Option<Uuid>,
    cancelled_by: Option<Uuid>,
    cancellation_reason: Option<String>,
}

async fn consultation(app: &TestApp, id: Uuid) -> ConsultationRow {
    let row: (
        Uuid,
        Uuid,
        DateTime<Utc>,
        DateTime<Utc>,
        String,
        String,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<Uuid>,
        Option<Uuid>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT patient_id, doctor_id, scheduled_at, scheduled_end_at, status::text, consultation_type::text, symptoms,
                hold_expires_at, booking_key, cancelled_by, cancellation_reason
         FROM consultations WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    ConsultationRow {
        patient_id: row.0,
        doctor_id: row.1,
        scheduled_at: row.2,
        scheduled_end_at: row.3,
        status: row.4,
        consultation_type: row.5,
        symptoms: row.6,
        hold_expires_at: row.7,
        booking_key: row.8,
        cancelled_by: row.9,
        cancellation_reason: row.10,
    }
}

/// A consultation's payment; amounts as PostgreSQL writes them ("59.99").
#[derive(Debug)]
struct PaymentRow {
    patient_id: Uuid,
    doctor_id: Uuid,
    amount: String,
    currency: String,
    status: String,
    refunded_amount: String,
    payment_method: Option<String>,
    transaction_id: Option<String>,
    payment_gateway: Option<String>,
    paid_at: Option<DateTime<Utc>>,
}

async fn payment(app: &TestApp, consultation_id: Uuid) -> PaymentRow {
    let row: (
        Uuid,
        Uuid,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
    ) = sqlx::query_as(
        "SELECT patient_id, doctor_id, amount::text, currency::text, status::text, refunded_amount::text,
                payment_method, transaction_id, payment_gateway, paid_at
         FROM payments WHERE consultation_id = $1",
    )
    .bind(consultation_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    PaymentRow {
        patient_id: row.0,
        doctor_id: row.1,
        amount: row.2,
        currency: row.3,
        status: row.4,
        refunded_amount: row.5,
        payment_method: row.6,
        transaction_id: row.7,
        payment_gateway: row.8,
        paid_at: row.9,
    }
}

/// Who did `action`, on what, with which details: every such row, oldest first.
async fn audit_rows(app: &TestApp, action: &str) -> Vec<(Option<Uuid>, Option<Uuid>, Value)> {
    sqlx::query_as("SELECT user_id, resource_id, details FROM audit_logs WHERE action = $1 ORDER BY created_at")
        .bind(action)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// Fixture: the hold ran out a minute ago.
async fn expire_hold(app: &TestApp, id: Uuid) {
    sqlx::query("UPDATE consultations SET hold_expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
}

async fn mails(app: &TestApp, to: &str, subject: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM dev_mailbox WHERE lower(to_address) = lower($1) AND subject = $2")
        .bind(to)
        .bind(subject)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

// =====================================================================================
// Holding a time
// =====================================================================================

#[tokio::test]
async fn booking_a_free_time_holds_it_for_ten_minutes_with_a_pending_payment_of_the_doctors_fee() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "Europe/Lisbon").await;
    let start = slot_in(3);
    assert!(public_times(&app, hart.id).await.contains(&rfc(start)), "free before");

    // The form for that time, with its own booking key.
    let query = format!("/api/booking_form?doctor_id={}&starts_at={}&tz=UTC", hart.id, urlencode(&rfc(start)));
    let (status, options) = get_answer(&app, &ana, &query).await;
    assert_eq!(status, 200, "{options}");
    assert_eq!(options["doctor_name"], "Dr Gregory Hart");
    assert_eq!(options["fee"], "GBP 60.00");
    assert_eq!(options["starts_at"], rfc(start));
    assert_eq!(options["hold_minutes"], 10);
    assert_eq!(options["still_free"], true);
    assert_eq!(options["consultation_types"], serde_json::json!(["video", "audio"]));
    let key: Uuid = options["booking_key"].as_str().unwrap().parse().unwrap();

    let before = Utc::now();
    let (status, body) = book_with_key(&app, &ana, hart.id, start, key).await;
    let after = Utc::now();
    assert_eq!(status, 200, "{body}");
    let id: Uuid = body.as_str().expect("the consultation's id").parse().unwrap();

    let ana_id = user_id(&app, "ana@example.com").await;
    let c = consultation(&app, id).await;
    assert_eq!(c.status, "pending_payment");
    assert_eq!((c.patient_id, c.doctor_id), (ana_id, hart.id));
    assert_eq!((c.scheduled_at, c.scheduled_end_at), (start, start + Duration::minutes(30)));
    assert_eq!(c.consultation_type, "video");
    assert_eq!(c.symptoms.as_deref(), Some(SYMPTOMS));
    assert_eq!(c.booking_key, Some(key));
    let hold = c.hold_expires_at.expect("held until a time");
    let slack = Duration::seconds(1);
    assert!(
        hold >= before + Duration::minutes(10) - slack && hold <= after + Duration::minutes(10) + slack,
        "held until {hold}, booked between {before} and {after}"
    );

    let p = payment(&app, id).await;
    assert_eq!(p.status, "pending");
    assert_eq!((p.amount.as_str(), p.currency.as_str()), ("60.00", "GBP"));
    assert_eq!(p.refunded_amount, "0.00");
    assert_eq!((p.patient_id, p.doctor_id), (ana_id, hart.id));
    assert_eq!((p.transaction_id, p.paid_at), (None, None));

    let audit = audit_rows(&app, "consultation.booked").await;
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].0, audit[0].1), (Some(ana_id), Some(id)));
    assert_eq!(audit[0].2["amount"], "60.00");
    assert_eq!(audit[0].2["currency"], "GBP");
    assert_eq!(audit[0].2["doctor_id"], hart.id.to_string());

    // The time is gone from the doctor's page; the next one is not.
    let times = public_times(&app, hart.id).await;
    assert!(!times.contains(&rfc(start)), "{} still offered", rfc(start));
    assert!(times.contains(&rfc(start + Duration::minutes(30))), "the next half hour stays free");
    // And the form for it says so, offering other times.
    let (status, options) = get_answer(&app, &ana, &query).await;
    assert_eq!(status, 200, "{options}");
    assert_eq!(options["still_free"], false);
    assert!(!options["alternatives"].as_array().unwrap().is_empty(), "{options}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_patients_racing_for_one_time_leave_exactly_one_booking_and_the_rest_hear_it_was_just_taken() {
    const RACERS: usize = 200;
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    // One patient signs up; the others are written with the same password hash.
    sign_up(&app, "racer0@example.com", ("Racer", "Zero"), "UTC", "patient").await;
    confirm_email(&app, "racer0@example.com").await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'racer0@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "WITH new AS (
             INSERT INTO users (email, password_hash, role, is_email_verified)
             SELECT 'racer' || n || '@example.com', $1, 'patient'::user_role, true FROM generate_series(1, $2) n
             RETURNING id)
         INSERT INTO profiles (user_id, first_name, last_name, timezone) SELECT id, 'Racer', 'Patient', 'UTC' FROM new",
    )
    .bind(&hash)
    .bind((RACERS - 1) as i32)
    .execute(&app.pool)
    .await
    .unwrap();

    // Everyone signs in on their own browser (a few at a time: each checks a password hash).
    let mut clients = Vec::with_capacity(RACERS);
    for chunk in (0..RACERS).collect::<Vec<_>>().chunks(8) {
        let handles: Vec<_> = chunk
            .iter()
            .map(|n| {
                let (address, email) = (app.address.clone(), format!("racer{n}@example.com"));
                tokio::spawn(async move {
                    let client = browser(None);
                    let res = client
                        .post(format!("{address}/api/sign_in"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form(&[("email", &email), ("password", PASSWORD)]))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 200, "{email}");
                    client
                })
            })
            .collect();
        for h in handles {
            clients.push(h.await.unwrap());
        }
    }

    // All at once, for the same time.
    let start = slot_in(3);
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let handles: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let (address, barrier) = (app.address.clone(), barrier.clone());
            let body = booking_body(hart.id, &rfc(start), "video", SYMPTOMS, Uuid::new_v4());
            tokio::spawn(async move {
                barrier.wait().await;
                let res = client
                    .post(format!("{address}/api/book_consultation"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let text = res.text().await.unwrap();
                (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)))
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(RACERS);
    for h in handles {
        answers.push(h.await.unwrap());
    }

    let winners: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    let unexpected: Vec<&(u16, Value)> = answers
        .iter()
        .filter(|(s, b)| {
            *s != 200
                && !(*s == 409 && b["kind"] == "conflict" && b["detail"].as_str().unwrap_or("").contains("just taken"))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} unexpected answers, e.g. {:?}",
        unexpected.len(),
        &unexpected[..unexpected.len().min(5)]
    );
    assert!(answers.iter().all(|(s, _)| *s < 500));
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(answers.iter().filter(|(s, _)| *s == 409).count(), RACERS - 1);

    let id: Uuid = winners[0].as_str().unwrap().parse().unwrap();
    let c = consultation(&app, id).await;
    assert_eq!((c.status.as_str(), c.scheduled_at), ("pending_payment", start));
    assert_eq!(count_rows(&app, "consultations").await, 1);
    assert_eq!(count_rows(&app, "payments").await, 1);
    assert_eq!(payment(&app, id).await.status, "pending");
    assert_eq!(audit_count(&app, "consultation.booked").await, 1);
}

#[tokio::test]
async fn the_same_booking_sent_again_with_its_key_books_once_and_answers_the_same_id() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let start = slot_in(3);
    let key = Uuid::new_v4();
    let (status, first) = book_with_key(&app, &ana, hart.id, start, key).await;
    assert_eq!(status, 200, "{first}");
    // A retry (double click, a lost answer): the same booking.
    let (status, again) = book_with_key(&app, &ana, hart.id, start, key).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, first);
    assert_eq!(count_rows(&app, "consultations").await, 1);
    assert_eq!(count_rows(&app, "payments").await, 1);
    assert_eq!(audit_count(&app, "consultation.booked").await, 1);
    // A new form (a new key) for the time she already holds is refused.
    let (status, body) = book(&app, &ana, hart.id, start).await;
    conflict(status, &body);
    assert_eq!(count_rows(&app, "consultations").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_booking_sent_several_times_at_once_books_once_and_answers_the_same_id() {
    const COPIES: usize = 10;
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let start = slot_in(3);
    let body = booking_body(hart.id, &rfc(start), "video", SYMPTOMS, Uuid::new_v4());
    let barrier = Arc::new(tokio::sync::Barrier::new(COPIES));
    let handles: Vec<_> = (0..COPIES)
        .map(|_| {
            let (client, address, body, barrier) = (ana.clone(), app.address.clone(), body.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let res = client
                    .post(format!("{address}/api/book_consultation"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.text().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap());
    }
    assert_eq!(count_rows(&app, "consultations").await, 1, "booked once");
    assert_eq!(count_rows(&app, "payments").await, 1);
    assert_eq!(audit_count(&app, "consultation.booked").await, 1);
    let id: Uuid = sqlx::query_scalar("SELECT id FROM consultations").fetch_one(&app.pool).await.unwrap();
    let expected = (200, format!("\"{id}\""));
    assert!(answers.iter().all(|a| *a == expected), "every copy answers {expected:?}: {answers:?}");
}

#[tokio::test]
async fn a_patient_cannot_hold_two_consultations_at_the_same_time_even_with_two_doctors() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let lee = listed_doctor(&app, "lee@example.com", ("Mina", "Lee"), "Asia/Seoul", AROUND_THE_CLOCK).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let start = slot_in(3);
    let first = booked(&app, &ana, hart.id, start).await;

    let (status, body) = book(&app, &ana, lee.id, start).await;
    let message = conflict(status, &body);
    assert!(message.contains("already have a consultation at that time"), "{message}");
    // Paid or not, the same.
    assert_eq!(pay(&app, &ana, first, SUCCESS_CARD).await.0, 200);
    let (status, body) = book(&app, &ana, lee.id, start).await;
    conflict(status, &body);
    assert_eq!(count_rows(&app, "consultations").await, 1);
    assert_eq!(count_rows(&app, "payments").await, 1);
    assert!(public_times(&app, lee.id).await.contains(&rfc(start)), "Dr Lee's time stays free");

    // Right after it is fine: the ranges are half-open.
    booked(&app, &ana, lee.id, start + Duration::minutes(30)).await;
    assert_eq!(count_rows(&app, "consultations").await, 2);
}

#[tokio::test]
async fn a_patient_whose_hold_expired_can_book_the_same_time_with_another_doctor() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let lee = listed_doctor(&app, "lee@example.com", ("Mina", "Lee"), "Asia/Seoul", AROUND_THE_CLOCK).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let start = slot_in(3);
    let held = booked(&app, &ana, hart.id, start).await;
    // She did not pay in time and chooses Dr Lee instead.
    expire_hold(&app, held).await;
    let (status, body) = book(&app, &ana, lee.id, start).await;
    assert_eq!(status, 200, "her hold with Dr Hart has expired: {body}");
    let c = consultation(&app, held).await;
    assert_eq!((c.status.as_str(), c.cancellation_reason.as_deref()), ("cancelled", Some("hold_expired")));
    assert_eq!(payment(&app, held).await.status, "failed");
}

#[tokio::test]
async fn bad_booking_requests_are_refused_by_field_or_as_a_conflict_and_write_nothing() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    // Mondays 09:00–12:00 UTC only.
    let mondays = listed_doctor(&app, "mon@example.com", ("Monday", "Only"), "UTC", &[(1, "09:00", "12:00")]).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let good = rfc(slot_in(3));
    let post_booking = |doctor: Uuid, start: String, kind: &'static str, symptoms: String| {
        let (app, ana) = (&app, &ana);
        async move {
            let body = booking_body(doctor, &start, kind, &symptoms, Uuid::new_v4());
            post_answer(app, ana, "/api/book_consultation", &body).await
        }
    };
    let symptoms = || SYMPTOMS.to_owned();

    // Refused on a field.
    let past = half_hour_after(Utc::now() - Duration::hours(2));
    for (start, kind, text, field) in [
        ("tomorrow at nine".to_owned(), "video", symptoms(), "starts_at"),
        (rfc(past), "video", symptoms(), "starts_at"),
        (good.clone(), "telepathy", symptoms(), "consultation_type"),
        (good.clone(), "chat", symptoms(), "consultation_type"),
        (good.clone(), "video", "   ".to_owned(), "symptoms"),
        (good.clone(), "video", "a".repeat(2001), "symptoms"),
    ] {
        let (status, body) = post_booking(hart.id, start.clone(), kind, text.clone()).await;
        assert_eq!(status, 422, "{start} {kind} {}: {body}", text.len());
        field_messages(&body, field);
    }
    let (_, body) = post_booking(hart.id, rfc(past), "video", symptoms()).await;
    assert!(field_messages(&body, "starts_at")[0].contains("passed"), "{body}");
    let (_, body) = post_booking(hart.id, good.clone(), "chat", symptoms()).await;
    assert!(field_messages(&body, "consultation_type")[0].contains("does not offer"), "{body}");

    // Refused as a conflict: not a time the doctor offers.
    let tuesday_nine = next_utc(Weekday::Tue).and_hms_opt(9, 0, 0).unwrap().and_utc();
    for (doctor, start, why) in [
        (hart.id, rfc(slot_in_minutes(1)), "within the hour's notice"),
        (hart.id, rfc(slot_in(3) + Duration::minutes(10)), "not on the half hour"),
        (hart.id, rfc(slot_in(61 * 24)), "beyond the 60-day horizon"),
        (mondays.id, rfc(tuesday_nine), "outside the doctor's windows"),
    ] {
        let (status, body) = post_booking(doctor, start.clone(), "video", symptoms()).await;
        assert_eq!(status, 409, "{why} ({start}): {body}");
        conflict(status, &body);
    }
    // A doctor nobody can book.
    let (status, body) = post_booking(Uuid::new_v4(), good.clone(), "video", symptoms()).await;
    assert!(conflict(status, &body).contains("not taking bookings"), "{body}");

    // An unconfirmed email address: confirm it first.
    sign_up(&app, "bruno@example.com", ("Bruno", "Costa"), "UTC", "patient").await;
    let bruno = signed_in(&app, "bruno@example.com").await;
    let (status, body) = post_answer(
        &app,
        &bruno,
        "/api/book_consultation",
        &booking_body(hart.id, &good, "video", SYMPTOMS, Uuid::new_v4()),
    )
    .await;
    assert!(conflict(status, &body).contains("Confirm your email"), "{body}");
    // Nobody signed in.
    let (status, body) = post_answer(
        &app,
        &browser(None),
        "/api/book_consultation",
        &booking_body(hart.id, &good, "video", SYMPTOMS, Uuid::new_v4()),
    )
    .await;
    assert_eq!(status, 401, "{body}");

    assert_eq!(count_rows(&app, "consultations").await, 0);
    assert_eq!(count_rows(&app, "payments").await, 0);
    assert_eq!(audit_count(&app, "consultation.booked").await, 0);
    // The good request goes through.
    let (status, body) = post_booking(hart.id, good, "video", symptoms()).await;
    assert_eq!(status, 200, "{body}");
}

// =====================================================================================
// Holds that expire
// =====================================================================================

#[tokio::test]
async fn an_expired_hold_gives_its_time_back_to_the_next_patient() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let bruno = patient(&app, "bruno@example.com", ("Bruno", "Costa"), "UTC").await;
    let start = slot_in(3);
    let held = booked(&app, &ana, hart.id, start).await;
    let (status, body) = book(&app, &bruno, hart.id, start).await;
    assert!(conflict(status, &body).contains("just taken"), "held: {body}");

    expire_hold(&app, held).await;
    let taken = booked(&app, &bruno, hart.id, start).await;
    assert_ne!(taken, held);

    let c = consultation(&app, held).await;
    assert_eq!(c.status, "cancelled");
    assert_eq!(c.cancellation_reason.as_deref(), Some("hold_expired"));
    assert_eq!(c.hold_expires_at, None);
    assert_eq!(payment(&app, held).await.status, "failed");
    assert_eq!(consultation(&app, taken).await.status, "pending_payment");
    assert_eq!(payment(&app, taken).await.status, "pending");
    let audit = audit_rows(&app, "consultation.hold_expired").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].1, Some(held));
    assert_eq!(audit[0].2["patient_id"], user_id(&app, "ana@example.com").await.to_string());

    // Ana's list leaves the released hold out.
    let (status, mine) = get_answer(&app, &ana, "/api/my_consultations").await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["upcoming"], serde_json::json!([]), "{mine}");
    assert_eq!(mine["past"], serde_json::json!([]), "{mine}");
}

#[tokio::test]
async fn releasing_expired_holds_cancels_each_once_and_a_second_run_finds_none() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let starts = [slot_in(3), slot_in(4), slot_in(5)];
    let mut ids = Vec::new();
    for start in starts {
        ids.push(booked(&app, &ana, hart.id, start).await);
    }
    expire_hold(&app, ids[0]).await;
    expire_hold(&app, ids[1]).await;

    let released = telehealth::server::services::booking::release_expired_holds(&app.pool).await.unwrap();
    assert_eq!(released, 2);
    let again = telehealth::server::services::booking::release_expired_holds(&app.pool).await.unwrap();
    assert_eq!(again, 0, "idempotent");

    for id in &ids[..2] {
        let c = consultation(&app, *id).await;
        assert_eq!((c.status.as_str(), c.cancellation_reason.as_deref()), ("cancelled", Some("hold_expired")));
        assert_eq!(payment(&app, *id).await.status, "failed");
    }
    assert_eq!(consultation(&app, ids[2]).await.status, "pending_payment", "a live hold is kept");
    assert_eq!(payment(&app, ids[2]).await.status, "pending");
    assert_eq!(audit_count(&app, "consultation.hold_expired").await, 2);
    let times = public_times(&app, hart.id).await;
    assert!(times.contains(&rfc(starts[0])) && times.contains(&rfc(starts[1])), "released times are free again");
    assert!(!times.contains(&rfc(starts[2])));
}

// =====================================================================================
// Paying
// =====================================================================================

#[tokio::test]
async fn paying_with_the_success_card_schedules_the_consultation_and_records_the_charge_once() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let id = booked(&app, &ana, hart.id, slot_in(3)).await;

    let (status, page) = get_answer(&app, &ana, &format!("/api/payment_details?consultation_id={id}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["gateway"], "sandbox");
    assert!(page["test_cards"].as_array().unwrap().contains(&serde_json::json!([SUCCESS_CARD, "succeeds"])), "{page}");
    assert_eq!(page["consultation"]["amount"], "GBP 60.00");
    assert_eq!(page["consultation"]["payment_status"], "pending");
    assert_eq!(page["consultation"]["can_pay"], true);

    let before = Utc::now();
    let (status, body) = pay(&app, &ana, id, SUCCESS_CARD).await;
    let after = Utc::now();
    assert_eq!(status, 200, "{body}");

    let c = consultation(&app, id).await;
    assert_eq!(c.status, "scheduled");
    assert_eq!(c.hold_expires_at, None);
    let p = payment(&app, id).await;
    assert_eq!(p.status, "succeeded");
    assert_eq!(p.amount, "60.00");
    assert_eq!(p.payment_gateway.as_deref(), Some("sandbox"));
    let transaction = p.transaction_id.clone().unwrap_or_default();
    assert!(transaction.starts_with("sbx_ch_"), "{p:?}");
    assert_eq!(p.payment_method.as_deref(), Some("Visa •••• 4242"));
    let paid_at = p.paid_at.expect("paid_at");
    assert!(paid_at >= before - Duration::seconds(1) && paid_at <= after + Duration::seconds(1), "{paid_at}");
    let audit = audit_rows(&app, "payment.succeeded").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, Some(user_id(&app, "ana@example.com").await));
    assert_eq!(audit[0].2["consultation_id"], id.to_string());
    assert_eq!(audit[0].2["amount"], "60.00");
    assert_eq!(mails(&app, "ana@example.com", "Your consultation is booked").await, 1);
    assert_eq!(mails(&app, "hart@example.com", "New consultation booked").await, 1);

    // Twice: refused, and nothing changes.
    let (status, body) = pay(&app, &ana, id, SUCCESS_CARD).await;
    assert!(conflict(status, &body).contains("already paid"), "{body}");
    assert_eq!(payment(&app, id).await.transaction_id, Some(transaction));
    assert_eq!(audit_count(&app, "payment.succeeded").await, 1);
}

#[tokio::test]
async fn a_declined_card_is_explained_on_the_card_number_and_the_hold_stays_payable() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let id = booked(&app, &ana, hart.id, slot_in(3)).await;

    for (card, words) in [(DECLINED_CARD, "declined"), (NO_FUNDS_CARD, "insufficient funds")] {
        let (status, body) = pay(&app, &ana, id, card).await;
        assert_eq!(status, 422, "{card}: {body}");
        let message = &field_messages(&body, "card_number")[0];
        assert!(message.contains(words), "{card}: {message}");
        assert_eq!(consultation(&app, id).await.status, "pending_payment");
        let p = payment(&app, id).await;
        assert_eq!((p.status.as_str(), p.transaction_id.as_deref(), p.paid_at), ("pending", None, None), "{card}");
    }
    let declined = audit_rows(&app, "payment.declined").await;
    assert_eq!(declined.len(), 2);
    assert_eq!(declined[0].2["reason"], "card_declined");
    assert_eq!(declined[1].2["reason"], "insufficient_funds");
    assert_eq!(audit_count(&app, "payment.succeeded").await, 0);

    // Another card goes through.
    assert_eq!(pay(&app, &ana, id, SUCCESS_CARD).await.0, 200);
    assert_eq!(consultation(&app, id).await.status, "scheduled");
    assert_eq!(payment(&app, id).await.status, "succeeded");
}

#[tokio::test]
async fn bad_card_details_are_refused_field_by_field_before_the_gateway_is_asked() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let id = booked(&app, &ana, hart.id, slot_in(3)).await;
    let good = good_expiry();
    let last_year = format!("12/{:02}", (Utc::now().year() - 1) % 100);
    for (number, expiry, cvc, fields) in [
        ("4242 4242 4242 4241", good.as_str(), "123", vec!["card_number"]),
        ("4242 4242", good.as_str(), "123", vec!["card_number"]),
        ("4242 abcd 4242 4242", good.as_str(), "123", vec!["card_number"]),
        (SUCCESS_CARD, "13/30", "123", vec!["expiry"]),
        (SUCCESS_CARD, "next year", "123", vec!["expiry"]),
        (SUCCESS_CARD, last_year.as_str(), "123", vec!["expiry"]),
        (SUCCESS_CARD, good.as_str(), "12", vec!["cvc"]),
        (SUCCESS_CARD, good.as_str(), "12a", vec!["cvc"]),
        ("1234", "", "", vec!["card_number", "expiry", "cvc"]),
    ] {
        let (status, body) = pay_with(&app, &ana, id, number, expiry, cvc).await;
        assert_eq!(status, 422, "{number} {expiry} {cvc}: {body}");
        let mut named: Vec<&str> = body["detail"].as_object().unwrap().keys().map(String::as_str).collect();
        named.sort();
        let mut expected = fields.clone();
        expected.sort();
        assert_eq!(named, expected, "{number} {expiry} {cvc}: {body}");
    }
    let (_, body) = pay_with(&app, &ana, id, SUCCESS_CARD, &last_year, "123").await;
    assert_eq!(field_messages(&body, "expiry"), ["This card has expired."]);

    assert_eq!(consultation(&app, id).await.status, "pending_payment");
    assert_eq!(payment(&app, id).await.status, "pending");
    assert_eq!(audit_count(&app, "payment.declined").await, 0, "the gateway was not asked");
}

#[tokio::test]
async fn paying_after_the_hold_expired_charges_nothing_and_frees_the_time() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let bruno = patient(&app, "bruno@example.com", ("Bruno", "Costa"), "UTC").await;
    let start = slot_in(3);
    let id = booked(&app, &ana, hart.id, start).await;
    expire_hold(&app, id).await;

    let (status, body) = pay(&app, &ana, id, SUCCESS_CARD).await;
    let message = conflict(status, &body);
    assert!(message.contains("expired") && message.contains("nothing was charged"), "{message}");
    let c = consultation(&app, id).await;
    assert_eq!((c.status.as_str(), c.cancellation_reason.as_deref()), ("cancelled", Some("hold_expired")));
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.transaction_id.as_deref(), p.paid_at), ("failed", None, None));
    assert_eq!(audit_count(&app, "payment.succeeded").await, 0);
    // Trying again does not charge either.
    let (status, body) = pay(&app, &ana, id, SUCCESS_CARD).await;
    conflict(status, &body);
    assert_eq!(payment(&app, id).await.status, "failed");

    booked(&app, &bruno, hart.id, start).await;
}

#[tokio::test]
async fn nobody_can_see_or_pay_for_someone_elses_consultation() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let bruno = patient(&app, "bruno@example.com", ("Bruno", "Costa"), "UTC").await;
    let id = booked(&app, &ana, hart.id, slot_in(3)).await;

    assert_eq!(pay(&app, &bruno, id, SUCCESS_CARD).await.0, 404);
    assert_eq!(get_answer(&app, &bruno, &format!("/api/payment_details?consultation_id={id}")).await.0, 404);
    assert_eq!(pay(&app, &ana, Uuid::new_v4(), SUCCESS_CARD).await.0, 404);
    assert_eq!(pay(&app, &hart.client, id, SUCCESS_CARD).await.0, 403, "the doctor does not pay");
    assert_eq!(pay(&app, &browser(None), id, SUCCESS_CARD).await.0, 401);

    assert_eq!(consultation(&app, id).await.status, "pending_payment");
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.transaction_id), ("pending", None));
    assert_eq!(audit_count(&app, "payment.succeeded").await, 0);
}

// =====================================================================================
// Cancelling
// =====================================================================================

#[tokio::test]
async fn a_patient_cancelling_a_day_or_more_ahead_gets_everything_back_and_the_time_is_free_again() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    set_fee(&app, hart.id, "59.99").await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    // Just over 24 hours ahead.
    let start = slot_in_minutes(24 * 60 + 2);
    let id = booked_and_paid(&app, &ana, hart.id, start).await;
    assert_eq!(payment(&app, id).await.amount, "59.99");

    let (status, body) = cancel(&app, &ana, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "GBP 59.99");
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.refunded_amount.as_str()), ("refunded", "59.99"));
    let c = consultation(&app, id).await;
    assert_eq!(c.status, "cancelled");
    assert_eq!(c.cancellation_reason.as_deref(), Some("patient"));
    assert_eq!(c.cancelled_by, Some(user_id(&app, "ana@example.com").await));

    let cancelled = audit_rows(&app, "consultation.cancelled").await;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].1, Some(id));
    assert_eq!(cancelled[0].2["by"], "patient");
    let refunded = audit_rows(&app, "payment.refunded").await;
    assert_eq!(refunded.len(), 1);
    assert_eq!(refunded[0].2["amount"], "59.99");
    assert_eq!(refunded[0].2["consultation_id"], id.to_string());
    assert!(refunded[0].2["refund_id"].as_str().unwrap_or("").starts_with("sbx_re_"), "{:?}", refunded[0]);
    assert_eq!(mails(&app, "ana@example.com", "Your consultation was cancelled").await, 1);
    assert_eq!(mails(&app, "hart@example.com", "A consultation was cancelled").await, 1);
    assert!(public_times(&app, hart.id).await.contains(&rfc(start)), "the time is offered again");

    // Once only.
    let (status, body) = cancel(&app, &ana, id).await;
    assert!(conflict(status, &body).contains("can no longer be cancelled"), "{body}");
    assert_eq!(payment(&app, id).await.refunded_amount, "59.99");
    assert_eq!(audit_count(&app, "payment.refunded").await, 1);
    // Nor paid again.
    let (status, body) = pay(&app, &ana, id, SUCCESS_CARD).await;
    conflict(status, &body);
    assert_eq!(payment(&app, id).await.status, "refunded");
}

#[tokio::test]
async fn a_patient_cancelling_less_than_a_day_ahead_gets_half_back_rounded_down() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    set_fee(&app, hart.id, "59.99").await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    // Just under 24 hours ahead.
    let start = half_hour_after(Utc::now() + Duration::hours(23));
    let id = booked_and_paid(&app, &ana, hart.id, start).await;

    let (status, body) = cancel(&app, &ana, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "GBP 29.99", "50 % of 59.99 is 29.995, rounded down");
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.refunded_amount.as_str()), ("partially_refunded", "29.99"));
    assert_eq!(consultation(&app, id).await.status, "cancelled");
    assert_eq!(audit_rows(&app, "payment.refunded").await[0].2["amount"], "29.99");
}

#[tokio::test]
async fn a_doctor_cancelling_even_at_the_last_minute_refunds_everything() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    set_fee(&app, hart.id, "59.99").await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let id = booked_and_paid(&app, &ana, hart.id, slot_in(2)).await;

    let (status, body) = cancel(&app, &hart.client, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "GBP 59.99");
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.refunded_amount.as_str()), ("refunded", "59.99"));
    let c = consultation(&app, id).await;
    assert_eq!((c.status.as_str(), c.cancellation_reason.as_deref()), ("cancelled", Some("doctor")));
    assert_eq!(c.cancelled_by, Some(hart.user_id));
    let cancelled = audit_rows(&app, "consultation.cancelled").await;
    assert_eq!((cancelled.len(), cancelled[0].0), (1, Some(hart.user_id)));
    assert_eq!(cancelled[0].2["by"], "doctor");
    assert_eq!(audit_count(&app, "payment.refunded").await, 1);
}

#[tokio::test]
async fn cancelling_an_unpaid_hold_refunds_nothing_and_fails_its_payment() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let start = slot_in(3);
    let id = booked(&app, &ana, hart.id, start).await;

    let (status, body) = cancel(&app, &ana, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, Value::Null, "nothing to refund");
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.refunded_amount.as_str()), ("failed", "0.00"));
    let c = consultation(&app, id).await;
    assert_eq!((c.status.as_str(), c.cancellation_reason.as_deref()), ("cancelled", Some("patient")));
    assert_eq!(audit_count(&app, "consultation.cancelled").await, 1);
    assert_eq!(audit_count(&app, "payment.refunded").await, 0);
    assert!(public_times(&app, hart.id).await.contains(&rfc(start)));
    // The hold cannot be paid any more.
    let (status, body) = pay(&app, &ana, id, SUCCESS_CARD).await;
    conflict(status, &body);
    assert_eq!(payment(&app, id).await.status, "failed");
}

#[tokio::test]
async fn only_the_patient_or_the_doctor_of_a_consultation_can_cancel_it() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let lee = listed_doctor(&app, "lee@example.com", ("Mina", "Lee"), "Asia/Seoul", AROUND_THE_CLOCK).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let bruno = patient(&app, "bruno@example.com", ("Bruno", "Costa"), "UTC").await;
    let id = booked_and_paid(&app, &ana, hart.id, slot_in(3)).await;

    assert_eq!(cancel(&app, &bruno, id).await.0, 404, "another patient");
    assert_eq!(cancel(&app, &lee.client, id).await.0, 404, "another doctor");
    assert_eq!(cancel(&app, &browser(None), id).await.0, 401);
    assert_eq!(cancel(&app, &ana, Uuid::new_v4()).await.0, 404);

    assert_eq!(consultation(&app, id).await.status, "scheduled");
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.refunded_amount.as_str()), ("succeeded", "0.00"));
    assert_eq!(audit_count(&app, "consultation.cancelled").await, 0);
    assert_eq!(audit_count(&app, "payment.refunded").await, 0);
}

/// Sends `body` to `path` from `client` `copies` times at once; the answers.
async fn all_at_once(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    body: String,
    copies: usize,
) -> Vec<(u16, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(copies));
    let handles: Vec<_> = (0..copies)
        .map(|_| {
            let (client, url, body, barrier) =
                (client.clone(), format!("{}{path}", app.address), body.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let res = client
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let text = res.text().await.unwrap();
                (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paying_twice_at_once_charges_once() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let id = booked(&app, &ana, hart.id, slot_in(3)).await;
    let body = form(&[
        ("consultation_id", &id.to_string()),
        ("card_number", SUCCESS_CARD),
        ("expiry", &good_expiry()),
        ("cvc", "123"),
    ]);
    let answers = all_at_once(&app, &ana, "/api/pay_consultation", body, 5).await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 200).count(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert!(conflict(*status, body).contains("already paid"), "{body}");
    }
    assert_eq!(audit_count(&app, "payment.succeeded").await, 1);
    assert_eq!(payment(&app, id).await.status, "succeeded");
    assert_eq!(mails(&app, "ana@example.com", "Your consultation is booked").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelling_twice_at_once_refunds_once() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    set_fee(&app, hart.id, "59.99").await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let id = booked_and_paid(&app, &ana, hart.id, slot_in(3)).await;
    let answers =
        all_at_once(&app, &ana, "/api/cancel_consultation", form(&[("consultation_id", &id.to_string())]), 5).await;
    let ok: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    assert_eq!(ok, [&Value::String("GBP 29.99".into())], "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert!(conflict(*status, body).contains("can no longer be cancelled"), "{body}");
    }
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.refunded_amount.as_str()), ("partially_refunded", "29.99"));
    assert_eq!(audit_count(&app, "payment.refunded").await, 1);
    assert_eq!(audit_count(&app, "consultation.cancelled").await, 1);
}

#[tokio::test]
async fn a_consultation_that_has_started_can_no_longer_be_cancelled() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let id = booked_and_paid(&app, &ana, hart.id, slot_in(3)).await;
    // Fixture: it began five minutes ago.
    sqlx::query(
        "UPDATE consultations SET scheduled_at = now() - interval '5 minutes',
                scheduled_end_at = now() + interval '25 minutes' WHERE id = $1",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    for who in [&ana, &hart.client] {
        let (status, body) = cancel(&app, who, id).await;
        assert!(conflict(status, &body).contains("can no longer be cancelled"), "{body}");
    }
    assert_eq!(consultation(&app, id).await.status, "scheduled");
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.refunded_amount.as_str()), ("succeeded", "0.00"));
    let (_, mine) = get_answer(&app, &ana, "/api/my_consultations").await;
    assert_eq!(mine["upcoming"][0]["id"], id.to_string(), "{mine}");
    assert_eq!(mine["upcoming"][0]["can_cancel"], false, "{mine}");
    assert_eq!(mine["upcoming"][0]["refund_if_cancelled"], Value::Null, "{mine}");
}

#[tokio::test]
async fn a_late_cancellation_in_yen_refunds_half_rounded_down_to_a_whole_yen() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    sqlx::query("UPDATE doctors SET consultation_fee = 3001, currency = 'JPY' WHERE id = $1")
        .bind(hart.id)
        .execute(&app.pool)
        .await
        .unwrap();
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let id = booked_and_paid(&app, &ana, hart.id, slot_in(3)).await;
    let p = payment(&app, id).await;
    assert_eq!((p.amount.as_str(), p.currency.as_str()), ("3001.00", "JPY"));
    let (status, body) = cancel(&app, &ana, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "JPY 1500", "half of 3001 yen is 1500.5, rounded down to a whole yen");
    let p = payment(&app, id).await;
    assert_eq!((p.status.as_str(), p.refunded_amount.as_str()), ("partially_refunded", "1500.00"));
}

// =====================================================================================
// The lists
// =====================================================================================

#[tokio::test]
async fn my_consultations_lists_upcoming_bookings_with_what_can_be_done_and_what_cancelling_would_refund() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    set_fee(&app, hart.id, "59.99").await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "America/New_York").await;
    let (soon, later, far) = (slot_in(3), slot_in(5), slot_in(48));
    let held = booked(&app, &ana, hart.id, soon).await;
    let late = booked_and_paid(&app, &ana, hart.id, later).await;
    let early = booked_and_paid(&app, &ana, hart.id, far).await;
    // A released hold is left out.
    let released = booked(&app, &ana, hart.id, slot_in(7)).await;
    expire_hold(&app, released).await;
    telehealth::server::services::booking::release_expired_holds(&app.pool).await.unwrap();

    let (status, mine) = get_answer(&app, &ana, "/api/my_consultations").await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["timezone"], "America/New_York");
    let upcoming = mine["upcoming"].as_array().unwrap();
    let ids: Vec<&str> = upcoming.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [held.to_string(), late.to_string(), early.to_string()], "soonest first: {mine}");
    assert_eq!(mine["past"], serde_json::json!([]));

    let new_york = chrono_tz::America::New_York;
    let h = &upcoming[0];
    assert_eq!(h["doctor_name"], "Dr Gregory Hart");
    assert_eq!(h["status"], "pending_payment");
    assert_eq!(h["payment_status"], "pending");
    assert_eq!(h["amount"], "GBP 59.99");
    assert_eq!((h["can_pay"].clone(), h["can_cancel"].clone()), (Value::Bool(true), Value::Bool(true)));
    assert_eq!(h["refund_if_cancelled"], Value::Null, "nothing paid, nothing to refund");
    let hold_until = consultation(&app, held).await.hold_expires_at.unwrap().with_timezone(&new_york);
    assert_eq!(h["hold_until"], hold_until.format("%H:%M").to_string());
    let local = soon.with_timezone(&new_york);
    let end = (soon + Duration::minutes(30)).with_timezone(&new_york);
    let when = format!("{}, {}–{}", local.format("%a %-d %b %Y"), local.format("%H:%M"), end.format("%H:%M"));
    assert_eq!(h["when"], when);
    assert_eq!(h["starts_at"], rfc(soon));

    let l = &upcoming[1];
    assert_eq!((l["status"].as_str(), l["payment_status"].as_str()), (Some("scheduled"), Some("succeeded")));
    assert_eq!((l["can_pay"].clone(), l["can_cancel"].clone()), (Value::Bool(false), Value::Bool(true)));
    assert_eq!(l["refund_if_cancelled"], "GBP 29.99");
    assert_eq!(l["hold_until"], Value::Null);
    let e = &upcoming[2];
    assert_eq!(e["refund_if_cancelled"], "GBP 59.99 (all of it)");

    // The doctor cancels the later one: it moves to the past, refunded.
    assert_eq!(cancel(&app, &hart.client, late).await.0, 200);
    let (_, mine) = get_answer(&app, &ana, "/api/my_consultations").await;
    let ids: Vec<&str> = mine["upcoming"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [held.to_string(), early.to_string()]);
    let past = mine["past"].as_array().unwrap();
    assert_eq!(past.len(), 1, "{mine}");
    assert_eq!(past[0]["id"], late.to_string());
    assert_eq!(past[0]["status"], "cancelled");
    assert_eq!(past[0]["payment_status"], "refunded");
    assert_eq!(past[0]["refunded"], "GBP 59.99");
    assert_eq!((past[0]["can_pay"].clone(), past[0]["can_cancel"].clone()), (Value::Bool(false), Value::Bool(false)));

    assert_eq!(get_answer(&app, &hart.client, "/api/my_consultations").await.0, 403, "a doctor has an agenda instead");
    assert_eq!(get_answer(&app, &browser(None), "/api/my_consultations").await.0, 401);
}

#[tokio::test]
async fn the_doctors_agenda_shows_each_patient_and_their_symptoms_in_the_doctors_timezone_and_reading_it_is_audited() {
    let app = spawn_app().await;
    let kolkata = chrono_tz::Asia::Kolkata;
    let rao = listed_doctor(&app, "rao@example.com", ("Priya", "Rao"), "Asia/Kolkata", AROUND_THE_CLOCK).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "America/New_York").await;
    let bruno = patient(&app, "bruno@example.com", ("Bruno", "Costa"), "UTC").await;
    let start = slot_in(3);
    let id = booked_and_paid(&app, &ana, rao.id, start).await;
    // Bruno's hold ran out: not on the agenda.
    let released = booked(&app, &bruno, rao.id, start + Duration::minutes(30)).await;
    expire_hold(&app, released).await;
    telehealth::server::services::booking::release_expired_holds(&app.pool).await.unwrap();

    let local = start.with_timezone(&kolkata);
    let date = local.date_naive();
    let monday = date - Duration::days(date.weekday().num_days_from_monday() as i64);
    let (status, agenda) = get_answer(&app, &rao.client, &format!("/api/doctor_agenda?view=week&date={date}")).await;
    assert_eq!(status, 200, "{agenda}");
    assert_eq!(agenda["timezone"], "Asia/Kolkata");
    assert_eq!(agenda["view"], "week");
    assert_eq!(agenda["date"], monday.to_string());
    assert_eq!(agenda["previous"], (monday - Duration::days(7)).to_string());
    assert_eq!(agenda["next"], (monday + Duration::days(7)).to_string());
    let days = agenda["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    for (offset, day) in days.iter().enumerate() {
        let d = monday + Duration::days(offset as i64);
        assert_eq!(day["date"], d.to_string());
        assert_eq!(day["day"], d.format("%A %-d %B").to_string());
        let items = day["items"].as_array().unwrap();
        if d == date {
            assert_eq!(items.len(), 1, "{day}");
            let item = &items[0];
            assert_eq!(item["id"], id.to_string());
            let end = (start + Duration::minutes(30)).with_timezone(&kolkata);
            assert_eq!(item["time"], format!("{}–{}", local.format("%H:%M"), end.format("%H:%M")));
            assert_eq!(item["patient_name"], "Ana Silva");
            assert_eq!(item["symptoms"], SYMPTOMS);
            assert_eq!(item["status"], "scheduled");
            assert_eq!(item["consultation_type"], "video");
        } else {
            assert!(items.is_empty(), "{day}");
        }
    }
    let audit = audit_rows(&app, "consultation.agenda_viewed").await;
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].0, audit[0].1), (Some(rao.user_id), Some(rao.id)));
    assert_eq!(audit[0].2["consultations"], 1);

    // One day.
    let (status, agenda) = get_answer(&app, &rao.client, &format!("/api/doctor_agenda?view=day&date={date}")).await;
    assert_eq!(status, 200, "{agenda}");
    assert_eq!(agenda["view"], "day");
    assert_eq!(agenda["days"].as_array().unwrap().len(), 1);
    assert_eq!(agenda["days"][0]["items"][0]["id"], id.to_string());
    assert_eq!(audit_count(&app, "consultation.agenda_viewed").await, 2);

    // Patients have no agenda, and doctors do not book.
    assert_eq!(get_answer(&app, &ana, "/api/doctor_agenda?view=week").await.0, 403);
    assert_eq!(get_answer(&app, &browser(None), "/api/doctor_agenda?view=week").await.0, 401);
    let (status, body) = book(&app, &rao.client, rao.id, slot_in(6)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(audit_count(&app, "consultation.agenda_viewed").await, 2, "refused reads are not audited as reads");
    assert_eq!(count_rows(&app, "consultations").await, 2);
}

// =====================================================================================
// Moving a consultation
// =====================================================================================

async fn reschedule(app: &TestApp, client: &reqwest::Client, id: Uuid, start: DateTime<Utc>) -> (u16, Value) {
    let body = form(&[("consultation_id", &id.to_string()), ("starts_at", &rfc(start))]);
    post_answer(app, client, "/api/reschedule_consultation", &body).await
}

#[tokio::test]
async fn moving_a_booked_consultation_keeps_its_payment_and_frees_the_old_time() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let (old, new) = (slot_in(48), slot_in(50));
    let id = booked_and_paid(&app, &ana, hart.id, old).await;
    let paid_before = payment(&app, id).await;

    let (status, body) = reschedule(&app, &ana, id, new).await;
    assert_eq!(status, 200, "{body}");
    let c = consultation(&app, id).await;
    assert_eq!((c.status.as_str(), c.scheduled_at), ("scheduled", new));
    let paid_after = payment(&app, id).await;
    assert_eq!(format!("{paid_before:?}"), format!("{paid_after:?}"), "the payment is untouched");
    let times = public_times(&app, hart.id).await;
    assert!(times.contains(&rfc(old)), "the old time is free again");
    assert!(!times.contains(&rfc(new)), "the new time is taken");
    assert_eq!(audit_rows(&app, "consultation.rescheduled").await.len(), 1);
    assert_eq!(mails(&app, "ana@example.com", "Your consultation was moved").await, 1);
    // The invitation moves the same calendar event (its UID) to the new time.
    let body: String = sqlx::query_scalar(
        "SELECT body_text FROM dev_mailbox WHERE to_address = 'ana@example.com' AND subject = 'Your consultation was moved'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(body.contains("attached: consultation.ics"), "{body}");
    assert!(body.contains(&format!("UID:{id}@telehealth")), "{body}");
    assert!(body.contains(&format!("DTSTART:{}", new.format("%Y%m%dT%H%M%SZ"))), "{body}");
}

#[tokio::test]
async fn moving_is_refused_within_the_notice_to_a_taken_time_or_for_someone_else() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva"), "UTC").await;
    let bruno = patient(&app, "bruno@example.com", ("Bruno", "Costa"), "UTC").await;
    let soon = booked_and_paid(&app, &ana, hart.id, slot_in(5)).await;
    let (status, body) = reschedule(&app, &ana, soon, slot_in(30)).await;
    assert!(conflict(status, &body).contains("no longer be moved"), "{body}");

    let later = booked_and_paid(&app, &ana, hart.id, slot_in(48)).await;
    let brunos_time = slot_in(60);
    booked_and_paid(&app, &bruno, hart.id, brunos_time).await;
    let (status, body) = reschedule(&app, &ana, later, brunos_time).await;
    assert!(conflict(status, &body).contains("not available"), "{body}");
    let (status, _) = reschedule(&app, &bruno, later, slot_in(70)).await;
    assert_eq!(status, 404, "not Bruno's to move");
    assert_eq!(consultation(&app, later).await.scheduled_at, slot_in(48), "nothing moved");
}
