//! Paying through the Stripe-compatible gateway, against a fake Stripe on
//! loopback that records every request and answers as Stripe does: intents
//! created in minor units, cards confirmed or declined, refunds, a bearer key
//! checked on every call. Webhooks are signed here as Stripe signs them
//! (`t=<unix>,v1=<hex HMAC-SHA256>`), and processed once.
//!
//! Doctors are written straight to the database (approved, windows around the
//! clock in UTC); patients sign up and sign in through the API.

use crate::helpers::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use chrono::{DateTime, Datelike, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const SECRET_KEY: &str = "sk_test_fake_4eC39HqLyjWDarjtT1zdp7dc";
const WEBHOOK_SECRET: &str = "whsec_fake_8f2a6c1d9e3b4a7f";
const SUCCESS_CARD: &str = "4242 4242 4242 4242";
const DECLINED_CARD: &str = "4000 0000 0000 0002";
const NO_FUNDS_CARD: &str = "4000 0000 0000 9995";
const SYMPTOMS: &str = "Chest tightness when climbing stairs, for two weeks.";

// --- the fake Stripe ------------------------------------------------------------------

/// One request the fake Stripe received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    form: Vec<(String, String)>,
    headers: HeaderMap,
}

impl Seen {
    fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone, Default)]
struct FakeState {
    seen: Arc<Mutex<Vec<Seen>>>,
    next: Arc<AtomicU64>,
    /// Intents created: id → (amount, currency).
    intents: Arc<Mutex<HashMap<String, (String, String)>>>,
    /// Answers already given, by path and Idempotency-Key (Stripe replays them).
    replies: Arc<Mutex<HashMap<(String, String), (StatusCode, Value)>>>,
}

struct FakeStripe {
    base: String,
    state: FakeState,
}

impl FakeStripe {
    async fn start() -> FakeStripe {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = FakeState::default();
        let router = axum::Router::new().fallback(answer).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        FakeStripe { base, state }
    }

    /// Every request so far, oldest first.
    fn requests(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    fn refunds(&self) -> Vec<Seen> {
        self.requests().into_iter().filter(|r| r.path == "/v1/refunds").collect()
    }
}

/// `application/x-www-form-urlencoded`, decoded.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    let text = std::str::from_utf8(body).unwrap();
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn stripe_error(status: StatusCode, error: Value) -> (StatusCode, Value) {
    (status, json!({ "error": error }))
}

/// Answers as Stripe's Payment Intents and Refunds APIs do.
async fn answer(
    State(s): State<FakeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, axum::Json<Value>) {
    let seen = Seen { path: uri.path().to_owned(), form: parse_form(&body), headers: headers.clone() };
    s.seen.lock().unwrap().push(seen.clone());
    let bearer = format!("Bearer {SECRET_KEY}");
    if seen.header("authorization") != Some(bearer.as_str()) {
        let error = json!({ "type": "invalid_request_error", "message": "Invalid API Key provided" });
        let (status, body) = stripe_error(StatusCode::UNAUTHORIZED, error);
        return (status, axum::Json(body));
    }
    if method != Method::POST {
        let (status, body) = stripe_error(StatusCode::METHOD_NOT_ALLOWED, json!({ "message": "POST only here" }));
        return (status, axum::Json(body));
    }
    let key = seen.header("idempotency-key").map(|k| (seen.path.clone(), k.to_owned()));
    if let Some(reply) = key.as_ref().and_then(|k| s.replies.lock().unwrap().get(k).cloned()) {
        return (reply.0, axum::Json(reply.1));
    }
    let n = s.next.fetch_add(1, Ordering::SeqCst) + 1;
    let segments: Vec<&str> = seen.path.trim_start_matches('/').split('/').collect();
    let (status, reply) = match segments.as_slice() {
        ["v1", "payment_intents"] => {
            let id = format!("pi_{n}");
            let amount = seen.field("amount").unwrap_or_default().to_owned();
            let currency = seen.field("currency").unwrap_or_default().to_owned();
            s.intents.lock().unwrap().insert(id.clone(), (amount.clone(), currency.clone()));
            let object = json!({ "id": id, "object": "payment_intent", "amount": amount.parse::<i64>().ok(),
                                 "currency": currency, "status": "requires_payment_method" });
            (StatusCode::OK, object)
        }
        ["v1", "payment_intents", id, "confirm"] => {
            if !s.intents.lock().unwrap().contains_key(*id) {
                stripe_error(StatusCode::NOT_FOUND, json!({ "code": "resource_missing", "message": "No such intent" }))
            } else {
                match seen.field("payment_method_data[card][number]") {
                    Some("4242424242424242") => (StatusCode::OK, json!({ "id": id, "status": "succeeded" })),
                    Some("4000000000009995") => stripe_error(
                        StatusCode::PAYMENT_REQUIRED,
                        json!({ "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                                "message": "Your card has insufficient funds." }),
                    ),
                    _ => stripe_error(
                        StatusCode::PAYMENT_REQUIRED,
                        json!({ "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                                "message": "Your card was declined." }),
                    ),
                }
            }
        }
        ["v1", "refunds"] => (
            StatusCode::OK,
            json!({ "id": format!("re_{n}"), "object": "refund", "status": "succeeded",
                    "payment_intent": seen.field("payment_intent"), "amount": seen.field("amount") }),
        ),
        _ => stripe_error(StatusCode::NOT_FOUND, json!({ "message": "Unrecognized request URL" })),
    };
    if let Some(key) = key {
        s.replies.lock().unwrap().insert(key, (status, reply.clone()));
    }
    (status, axum::Json(reply))
}

// --- the application ------------------------------------------------------------------

/// The application with the Stripe gateway at the fake's address, using `secret_key`.
async fn app_with_key(stripe: &FakeStripe, secret_key: &str) -> TestApp {
    let base = stripe.base.clone();
    let secret_key = secret_key.to_owned();
    spawn_app_with(move |env| {
        env.insert("TELEHEALTH__PAYMENTS__GATEWAY".into(), "stripe".into());
        env.insert("TELEHEALTH__PAYMENTS__STRIPE_API_BASE".into(), base);
        env.insert("TELEHEALTH__PAYMENTS__STRIPE_SECRET_KEY".into(), secret_key);
        env.insert("TELEHEALTH__PAYMENTS__STRIPE_WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    })
    .await
}

async fn stripe_app(stripe: &FakeStripe) -> TestApp {
    app_with_key(stripe, SECRET_KEY).await
}

// --- time ---------------------------------------------------------------------------------

/// The first half hour at least `hours` from now (slots start on the half hour).
fn slot_in(hours: i64) -> DateTime<Utc> {
    let t = Utc::now() + Duration::hours(hours);
    DateTime::from_timestamp((t.timestamp().div_euclid(1800) + 1) * 1800, 0).unwrap()
}

fn good_expiry() -> String {
    format!("12/{:02}", (Utc::now().year() + 3) % 100)
}

// --- people and requests ----------------------------------------------------------------

/// An approved doctor (GBP, `fee`), bookable around the clock in UTC; returns doctors.id.
async fn doctor(app: &TestApp, fee: &str) -> Uuid {
    let user_id = insert_confirmed_user(&app.pool, "doctor").await;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO doctors (user_id, license_number, specialization, consultation_fee, currency, is_verified,
                              verification_status, reviewed_at, license_expires_on, languages, consultation_types,
                              slot_minutes, buffer_minutes, min_notice_minutes, booking_horizon_days)
         VALUES ($1, $2, 'Cardiology', $3::numeric, 'GBP', true, 'approved', now(), current_date + 365, '{en}',
                 '{video,audio}', 30, 0, 60, 60)
         RETURNING id",
    )
    .bind(user_id)
    .bind(format!("GMC-{}", Uuid::new_v4().simple()))
    .bind(fee)
    .fetch_one(&app.pool)
    .await
    .expect("insert doctor");
    for day in 0i16..7 {
        sqlx::query(
            "INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone)
             VALUES ($1, $2, '00:00'::time, '24:00'::time, 'UTC')",
        )
        .bind(id)
        .bind(day)
        .execute(&app.pool)
        .await
        .expect("insert window");
    }
    id
}

/// A patient (email confirmed) signed in on a browser of their own.
async fn patient(app: &TestApp, email: &str) -> reqwest::Client {
    let res = sign_up_patient(app, email, PASSWORD, "UTC").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    sqlx::query("UPDATE users SET is_email_verified = true WHERE lower(email) = lower($1)")
        .bind(email)
        .execute(&app.pool)
        .await
        .unwrap();
    let client = browser(None);
    let res = app.post_form_as(&client, "/api/sign_in", &form(&[("email", email), ("password", PASSWORD)])).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    client
}

/// Holds a video consultation at `start`; returns its id.
async fn booked(app: &TestApp, client: &reqwest::Client, doctor: Uuid, start: DateTime<Utc>) -> Uuid {
    let body = form(&[
        ("doctor_id", &doctor.to_string()),
        ("starts_at", &start.to_rfc3339_opts(SecondsFormat::Secs, true)),
        ("consultation_type", "video"),
        ("symptoms", SYMPTOMS),
        ("booking_key", &Uuid::new_v4().to_string()),
    ]);
    let (status, body) = post_answer(app, client, "/api/book_consultation", &body).await;
    assert_eq!(status, 200, "{body}");
    body.as_str().expect("the consultation's id").parse().unwrap()
}

async fn pay(app: &TestApp, client: &reqwest::Client, id: Uuid, number: &str) -> (u16, Value) {
    let expiry = good_expiry();
    let body =
        form(&[("consultation_id", &id.to_string()), ("card_number", number), ("expiry", &expiry), ("cvc", "123")]);
    post_answer(app, client, "/api/pay_consultation", &body).await
}

async fn cancel(app: &TestApp, client: &reqwest::Client, id: Uuid) -> (u16, Value) {
    post_answer(app, client, "/api/cancel_consultation", &form(&[("consultation_id", &id.to_string())])).await
}

// --- webhooks -----------------------------------------------------------------------------

/// `Stripe-Signature` for `payload` at unix time `t`, signed with `secret`.
fn signature(payload: &str, t: i64, secret: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{payload}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn signed_now(payload: &str) -> String {
    signature(payload, Utc::now().timestamp(), WEBHOOK_SECRET)
}

/// A `payment_intent.succeeded` event as Stripe sends it.
fn succeeded_event(event_id: &str, intent: &str, consultation: Uuid, amount: i64, currency: &str) -> String {
    json!({
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": Utc::now().timestamp(),
        "livemode": false,
        "data": { "object": {
            "id": intent,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount,
            "currency": currency,
            "status": "succeeded",
            "metadata": { "consultation_id": consultation.to_string() },
        }},
    })
    .to_string()
}

/// POSTs a webhook: the status and the text answered.
async fn deliver(app: &TestApp, payload: &str, signature: Option<&str>) -> (u16, String) {
    let mut req = app
        .client
        .post(format!("{}/webhooks/stripe", app.address))
        .header("content-type", "application/json")
        .body(payload.to_owned());
    if let Some(sig) = signature {
        req = req.header("Stripe-Signature", sig);
    }
    let res = req.send().await.expect("request sent");
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn deliver_signed(app: &TestApp, payload: &str) -> (u16, String) {
    deliver(app, payload, Some(&signed_now(payload))).await
}

// --- the database -------------------------------------------------------------------------

/// What a payment story can change, in one comparable value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    consultation: String,
    hold_expires_at: Option<DateTime<Utc>>,
    payment: String,
    amount: String,
    refunded: String,
    transaction: Option<String>,
    gateway: Option<String>,
    paid_at: Option<DateTime<Utc>>,
    /// payment_events rows.
    events: i64,
    /// payment.* audit rows.
    audits: i64,
}

async fn snapshot(app: &TestApp, id: Uuid) -> Snapshot {
    let row: (
        String,
        Option<DateTime<Utc>>,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
    ) = sqlx::query_as(
        "SELECT c.status::text, c.hold_expires_at, p.status::text, p.amount::text, p.refunded_amount::text,
                    p.transaction_id, p.payment_gateway, p.paid_at
             FROM consultations c JOIN payments p ON p.consultation_id = c.id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let events = sqlx::query_scalar("SELECT count(*) FROM payment_events").fetch_one(&app.pool).await.unwrap();
    let audits =
        sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE action LIKE 'payment.%'").fetch_one(&app.pool).await;
    Snapshot {
        consultation: row.0,
        hold_expires_at: row.1,
        payment: row.2,
        amount: row.3,
        refunded: row.4,
        transaction: row.5,
        gateway: row.6,
        paid_at: row.7,
        events,
        audits: audits.unwrap(),
    }
}

async fn audit_details(app: &TestApp, action: &str) -> Vec<Value> {
    sqlx::query_scalar("SELECT details FROM audit_logs WHERE action = $1 ORDER BY created_at")
        .bind(action)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

async fn processed_events(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT event_id FROM payment_events ORDER BY event_id").fetch_all(&app.pool).await.unwrap()
}

// =====================================================================================
// Paying and refunding through the gateway
// =====================================================================================

#[tokio::test]
async fn paying_through_stripe_creates_an_intent_in_minor_units_confirms_it_and_schedules_the_consultation() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "59.99").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;

    let (status, body) = pay(&app, &ana, id, SUCCESS_CARD).await;
    assert_eq!(status, 200, "{body}");

    let requests = stripe.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let create = &requests[0];
    assert_eq!(create.path, "/v1/payment_intents");
    assert_eq!(create.field("amount"), Some("5999"), "{create:?}");
    assert_eq!(create.field("currency"), Some("gbp"), "{create:?}");
    assert_eq!(create.field("payment_method_types[]"), Some("card"), "{create:?}");
    assert_eq!(create.field("metadata[consultation_id]"), Some(id.to_string().as_str()), "{create:?}");
    let confirm = &requests[1];
    assert_eq!(confirm.path, "/v1/payment_intents/pi_1/confirm");
    assert_eq!(confirm.field("payment_method_data[card][number]"), Some("4242424242424242"), "{confirm:?}");
    for r in &requests {
        assert_eq!(r.header("authorization"), Some(format!("Bearer {SECRET_KEY}").as_str()), "{}", r.path);
        assert!(!r.header("idempotency-key").unwrap_or("").trim().is_empty(), "no Idempotency-Key on {}", r.path);
    }
    assert_ne!(create.header("idempotency-key"), confirm.header("idempotency-key"), "one key per kind of request");

    let s = snapshot(&app, id).await;
    assert_eq!((s.consultation.as_str(), s.hold_expires_at), ("scheduled", None));
    assert_eq!((s.payment.as_str(), s.amount.as_str()), ("succeeded", "59.99"));
    assert_eq!(s.gateway.as_deref(), Some("stripe"));
    assert_eq!(s.transaction.as_deref(), Some("pi_1"), "the intent's id");
    assert!(s.paid_at.is_some());
    let audit = audit_details(&app, "payment.succeeded").await;
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0]["gateway"].as_str(), audit[0]["amount"].as_str()), (Some("stripe"), Some("59.99")));
}

#[tokio::test]
async fn a_card_declined_by_stripe_is_explained_on_the_card_number_and_nothing_is_paid() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;

    for (card, words, digits) in
        [(NO_FUNDS_CARD, "insufficient funds", "4000000000009995"), (DECLINED_CARD, "declined", "4000000000000002")]
    {
        let (status, body) = pay(&app, &ana, id, card).await;
        assert_eq!(status, 422, "{card}: {body}");
        assert_eq!(body["kind"], "validation", "{body}");
        let message = body["detail"]["card_number"][0].as_str().unwrap_or_else(|| panic!("{card}: {body}"));
        assert!(message.contains(words), "{card}: {message}");
        let last = stripe.requests().pop().unwrap();
        assert_eq!(last.field("payment_method_data[card][number]"), Some(digits), "the gateway was asked: {last:?}");

        let s = snapshot(&app, id).await;
        assert_eq!((s.consultation.as_str(), s.payment.as_str()), ("pending_payment", "pending"), "{card}");
        assert_eq!((s.transaction, s.gateway, s.paid_at), (None, None, None), "{card}");
    }
    let declined = audit_details(&app, "payment.declined").await;
    let reasons: Vec<&str> = declined.iter().filter_map(|d| d["reason"].as_str()).collect();
    assert_eq!(reasons, ["insufficient_funds", "card_declined"]);
    assert_eq!(audit_count(&app, "payment.succeeded").await, 0);
    assert!(stripe.refunds().is_empty());
}

#[tokio::test]
async fn cancelling_a_stripe_payment_a_day_ahead_refunds_the_full_amount_of_that_intent() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "59.99").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(26)).await;
    assert_eq!(pay(&app, &ana, id, SUCCESS_CARD).await.0, 200);
    let intent = snapshot(&app, id).await.transaction.expect("an intent id");
    assert!(stripe.refunds().is_empty());

    let (status, body) = cancel(&app, &ana, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "GBP 59.99");

    let refunds = stripe.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:#?}");
    let refund = &refunds[0];
    assert_eq!(refund.field("payment_intent"), Some(intent.as_str()), "{refund:?}");
    assert_eq!(refund.field("amount"), Some("5999"), "{refund:?}");
    assert_eq!(refund.header("authorization"), Some(format!("Bearer {SECRET_KEY}").as_str()));
    assert!(!refund.header("idempotency-key").unwrap_or("").is_empty(), "{refund:?}");

    let s = snapshot(&app, id).await;
    assert_eq!((s.consultation.as_str(), s.payment.as_str(), s.refunded.as_str()), ("cancelled", "refunded", "59.99"));
    let audit = audit_details(&app, "payment.refunded").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["amount"], "59.99");
    assert!(audit[0]["refund_id"].as_str().unwrap_or("").starts_with("re_"), "{}", audit[0]);
}

#[tokio::test]
async fn a_gateway_refusing_the_api_key_leaves_the_consultation_unpaid() {
    let stripe = FakeStripe::start().await;
    let app = app_with_key(&stripe, "sk_test_someone_elses_key").await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;
    let before = snapshot(&app, id).await;

    let (status, body) = pay(&app, &ana, id, SUCCESS_CARD).await;
    assert_eq!(status, 503, "{body}");
    let requests = stripe.requests();
    assert_eq!(requests.len(), 1, "nothing is confirmed without an intent: {requests:#?}");
    assert_eq!(requests[0].header("authorization"), Some("Bearer sk_test_someone_elses_key"));
    assert_eq!(snapshot(&app, id).await, before);
    assert_eq!(before.payment, "pending");
}

// =====================================================================================
// Webhooks
// =====================================================================================

#[tokio::test]
async fn a_signed_payment_succeeded_webhook_pays_a_held_consultation_once_and_replays_change_nothing() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;

    let event = succeeded_event("evt_held_1", "pi_checkout_1", id, 6000, "gbp");
    let signed = signed_now(&event);
    let (status, text) = deliver(&app, &event, Some(&signed)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, "paid");

    let after = snapshot(&app, id).await;
    assert_eq!((after.consultation.as_str(), after.hold_expires_at), ("scheduled", None));
    assert_eq!(after.payment, "succeeded");
    assert_eq!(after.transaction.as_deref(), Some("pi_checkout_1"));
    assert_eq!(after.gateway.as_deref(), Some("stripe"));
    assert!(after.paid_at.is_some());
    assert_eq!(after.events, 1);
    let audit = audit_details(&app, "payment.succeeded").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["consultation_id"], id.to_string());

    // The same delivery again, and Stripe's retry signed anew: nothing changes.
    for sig in [signed, signature(&event, Utc::now().timestamp() + 1, WEBHOOK_SECRET)] {
        let (status, text) = deliver(&app, &event, Some(&sig)).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(snapshot(&app, id).await, after);
    }
    assert_eq!(audit_count(&app, "payment.succeeded").await, 1);
    assert_eq!(processed_events(&app).await, ["evt_held_1"]);
    assert!(stripe.requests().is_empty(), "a webhook asks the gateway nothing");
}

#[tokio::test]
async fn webhooks_with_a_forged_altered_stale_or_missing_signature_are_refused_and_change_nothing() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;
    let before = snapshot(&app, id).await;

    let event = succeeded_event("evt_sig_1", "pi_sig_1", id, 6000, "gbp");
    let now = Utc::now().timestamp();
    let tampered = event.replace("pi_sig_1", "pi_evil_1");
    assert_ne!(tampered, event);
    let cases: Vec<(&str, &str, Option<String>)> = vec![
        ("forged with another secret", &event, Some(signature(&event, now, "whsec_someone_else"))),
        ("body altered after signing", &tampered, Some(signature(&event, now, WEBHOOK_SECRET))),
        ("signed 301 s ago", &event, Some(signature(&event, now - 301, WEBHOOK_SECRET))),
        ("signed an hour ago", &event, Some(signature(&event, now - 3600, WEBHOOK_SECRET))),
        ("signed an hour ahead", &event, Some(signature(&event, now + 3600, WEBHOOK_SECRET))),
        ("no timestamp", &event, Some(signature(&event, now, WEBHOOK_SECRET).split_once(',').unwrap().1.to_owned())),
        ("no header", &event, None),
    ];
    for (case, payload, sig) in cases {
        let (status, text) = deliver(&app, payload, sig.as_deref()).await;
        assert_eq!(status, 400, "{case}: {text}");
        assert_eq!(snapshot(&app, id).await, before, "{case}");
    }
    assert!(processed_events(&app).await.is_empty());

    // The genuine event was not used up by the refused ones.
    let (status, text) = deliver_signed(&app, &event).await;
    assert_eq!((status, text.as_str()), (200, "paid"));
    assert_eq!(snapshot(&app, id).await.transaction.as_deref(), Some("pi_sig_1"));
}

#[tokio::test]
async fn a_webhook_whose_amount_or_currency_does_not_match_is_refused_and_not_recorded_as_processed() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;
    let before = snapshot(&app, id).await;

    for (event_id, amount, currency) in
        [("evt_less", 5999, "gbp"), ("evt_more", 6001, "gbp"), ("evt_major_units", 60, "gbp"), ("evt_eur", 6000, "eur")]
    {
        let event = succeeded_event(event_id, "pi_mismatch", id, amount, currency);
        let (status, text) = deliver_signed(&app, &event).await;
        assert_eq!(status, 400, "{event_id}: {text}");
        assert_eq!(snapshot(&app, id).await, before, "{event_id}");
    }
    assert!(processed_events(&app).await.is_empty(), "refused events are not marked as processed");

    let corrected = succeeded_event("evt_right", "pi_mismatch", id, 6000, "gbp");
    let (status, text) = deliver_signed(&app, &corrected).await;
    assert_eq!((status, text.as_str()), (200, "paid"));
    let s = snapshot(&app, id).await;
    assert_eq!((s.consultation.as_str(), s.payment.as_str()), ("scheduled", "succeeded"));
    assert_eq!(processed_events(&app).await, ["evt_right"]);
}

#[tokio::test]
async fn a_payment_succeeding_after_the_hold_was_released_is_refunded_in_full_automatically() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;
    sqlx::query("UPDATE consultations SET hold_expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let released = telehealth::server::services::booking::release_expired_holds(&app.pool).await.unwrap();
    assert_eq!(released, 1);
    let s = snapshot(&app, id).await;
    assert_eq!((s.consultation.as_str(), s.payment.as_str()), ("cancelled", "failed"));

    let event = succeeded_event("evt_late", "pi_late", id, 6000, "gbp");
    let (status, text) = deliver_signed(&app, &event).await;
    assert_eq!((status, text.as_str()), (200, "refunded"));

    let refunds = stripe.refunds();
    assert_eq!(refunds.len(), 1, "{:#?}", stripe.requests());
    assert_eq!(refunds[0].field("payment_intent"), Some("pi_late"));
    assert_eq!(refunds[0].field("amount"), Some("6000"));
    assert_eq!(refunds[0].header("authorization"), Some(format!("Bearer {SECRET_KEY}").as_str()));
    let after = snapshot(&app, id).await;
    assert_eq!(after.consultation, "cancelled", "the time stays free");
    assert_eq!(after.payment, "refunded");
    assert_eq!(after.refunded, after.amount);
    assert_eq!(after.refunded, "60.00");
    assert_eq!(after.transaction.as_deref(), Some("pi_late"));
    let audit = audit_details(&app, "payment.refunded").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["reason"], "hold_released");
    assert_eq!(audit[0]["amount"], "60.00");
    assert_eq!(audit[0]["consultation_id"], id.to_string());
    assert!(audit[0]["refund_id"].as_str().unwrap_or("").starts_with("re_"), "{}", audit[0]);
    assert_eq!(audit_count(&app, "payment.succeeded").await, 0);

    // Replayed: no second refund.
    let (status, _) = deliver_signed(&app, &event).await;
    assert_eq!(status, 200);
    assert_eq!(stripe.refunds().len(), 1);
    assert_eq!(snapshot(&app, id).await, after);
}

#[tokio::test]
async fn a_payment_succeeding_after_the_hold_ran_out_but_before_it_was_released_is_refunded_too() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;
    sqlx::query("UPDATE consultations SET hold_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();

    let (status, text) = deliver_signed(&app, &succeeded_event("evt_late_2", "pi_late_2", id, 6000, "gbp")).await;
    assert_eq!((status, text.as_str()), (200, "refunded"));
    let refunds = stripe.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!((refunds[0].field("payment_intent"), refunds[0].field("amount")), (Some("pi_late_2"), Some("6000")));
    let s = snapshot(&app, id).await;
    assert_ne!(s.consultation, "scheduled");
    assert_eq!((s.payment.as_str(), s.refunded.as_str()), ("refunded", "60.00"));
}

#[tokio::test]
async fn stripes_own_webhook_for_a_payment_made_on_the_page_changes_nothing() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;
    assert_eq!(pay(&app, &ana, id, SUCCESS_CARD).await.0, 200);
    let paid = snapshot(&app, id).await;
    let intent = paid.transaction.clone().expect("the intent");

    let (status, text) = deliver_signed(&app, &succeeded_event("evt_page", &intent, id, 6000, "gbp")).await;
    assert_eq!(status, 200, "{text}");
    assert!(stripe.refunds().is_empty(), "a paid consultation is not refunded");
    let after = snapshot(&app, id).await;
    assert_eq!(Snapshot { events: paid.events, ..after.clone() }, paid);
    assert_eq!(after.events, 1);
    assert_eq!(audit_count(&app, "payment.succeeded").await, 1);
}

#[tokio::test]
async fn a_delayed_webhook_for_a_consultation_already_cancelled_and_partly_refunded_refunds_nothing_more() {
    let stripe = FakeStripe::start().await;
    let app = stripe_app(&stripe).await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;
    assert_eq!(pay(&app, &ana, id, SUCCESS_CARD).await.0, 200);
    let intent = snapshot(&app, id).await.transaction.expect("the intent");
    // Less than a day ahead: half back.
    let (status, body) = cancel(&app, &ana, id).await;
    assert_eq!((status, body), (200, json!("GBP 30.00")));
    assert_eq!(stripe.refunds().len(), 1);
    let cancelled = snapshot(&app, id).await;
    assert_eq!((cancelled.payment.as_str(), cancelled.refunded.as_str()), ("partially_refunded", "30.00"));

    // Stripe's delivery of the payment's own event arrives only now (it retries for days).
    let (status, text) = deliver_signed(&app, &succeeded_event("evt_delayed", &intent, id, 6000, "gbp")).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(stripe.refunds().len(), 1, "no second refund: {:#?}", stripe.refunds());
    let after = snapshot(&app, id).await;
    assert_eq!((after.payment.as_str(), after.refunded.as_str()), ("partially_refunded", "30.00"));
    assert_eq!(audit_count(&app, "payment.refunded").await, 1);
}

#[tokio::test]
async fn with_the_sandbox_gateway_the_stripe_webhook_is_not_found() {
    let app = spawn_app().await;
    let doctor = doctor(&app, "60.00").await;
    let ana = patient(&app, "ana@example.com").await;
    let id = booked(&app, &ana, doctor, slot_in(3)).await;
    let before = snapshot(&app, id).await;

    let event = succeeded_event("evt_sandbox", "pi_sandbox", id, 6000, "gbp");
    for sig in [Some(signed_now(&event)), None] {
        let (status, text) = deliver(&app, &event, sig.as_deref()).await;
        assert_eq!(status, 404, "{text}");
    }
    assert_eq!(snapshot(&app, id).await, before);
    assert!(processed_events(&app).await.is_empty());
}
