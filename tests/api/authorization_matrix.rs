//! The authorization matrix: every server function and every HTTP route,
//! called by six people (nobody, patient Ana, patient Ben, doctor Xavier,
//! doctor Yara, an administrator) against what belongs to Ana and her doctor
//! Xavier. The table below says what each of them must get; the test calls
//! everything and lists every difference at once.
//!
//! Reading a row: `[anonymous, A, B, X, Y, admin]`. A is the patient and X
//! the doctor of every consultation a row points at; B and Y are a patient
//! and a doctor with a consultation of their own, strangers to A's. Refused
//! callers go first, and a refusal must leave the data as it was; the
//! callers who are allowed go last (so a refused cancel runs before the
//! real one).
//!
//! A new `#[server]` function without a row, or a new route in
//! `src/server/startup.rs` without one, fails the test.

use crate::helpers::*;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

// --- who calls, and what they get ---------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    PatientA,
    PatientB,
    DoctorX,
    DoctorY,
    Admin,
}

use Caller::*;

/// The order of the six columns of every row.
const CALLERS: [Caller; 6] = [Anonymous, PatientA, PatientB, DoctorX, DoctorY, Admin];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 2xx (101 for the WebSocket).
    Allowed,
    Status(u16),
}

const OK: Outcome = Outcome::Allowed;
const E401: Outcome = Outcome::Status(401);
const E403: Outcome = Outcome::Status(403);
const E404: Outcome = Outcome::Status(404);
const E409: Outcome = Outcome::Status(409);
const E422: Outcome = Outcome::Status(422);

/// Nobody needs to be signed in.
const PUBLIC: [Outcome; 6] = [OK; 6];
/// Anyone signed in, about themselves.
const SIGNED_IN: [Outcome; 6] = [E401, OK, OK, OK, OK, OK];
/// Patients, about themselves.
const PATIENTS: [Outcome; 6] = [E401, OK, OK, E403, E403, E403];
/// Doctors, about themselves.
const DOCTORS: [Outcome; 6] = [E401, E403, E403, OK, OK, E403];
/// Administrators with two-step verification.
const ADMINS: [Outcome; 6] = [E401, E403, E403, E403, E403, OK];
/// A's consultation, as its patient.
const A_AS_PATIENT: [Outcome; 6] = [E401, OK, E404, E403, E403, E403];
/// A's consultation, as its doctor.
const X_AS_DOCTOR: [Outcome; 6] = [E401, E403, E403, OK, E404, E403];
/// A's record: its patient and its doctor only.
const A_AND_X: [Outcome; 6] = [E401, OK, E404, OK, E404, E404];

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Allowed => write!(f, "allowed"),
            Outcome::Status(s) => write!(f, "{s}"),
        }
    }
}

/// What only A, X and the administrators may see of A's: her email and
/// surname, her symptoms, the diagnosis, the prescription, the chat.
const A_PRIVATE: [&str; 6] = ["ana@example.com", "Silva", "A cough", "Post-viral", "Amoxicillin", "Hello, doctor"];

/// One request as a caller would send it.
enum Req {
    Get(String),
    Form(String, String),
    Json(String, Value),
    /// A WebSocket handshake (the upgrade request only).
    Upgrade(String),
}

fn get(path: impl Into<String>) -> Req {
    Req::Get(path.into())
}

fn post(path: impl Into<String>, pairs: &[(&str, &str)]) -> Req {
    Req::Form(path.into(), form(pairs))
}

/// `prefix[key]=value&…`, as the forms send a struct argument.
fn nested(prefix: &str, pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{prefix}%5B{k}%5D={}", urlencode(v))).collect::<Vec<_>>().join("&")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A server function: `what` is its endpoint.
    Api,
    /// A plain route of `startup::router`: `what` is its template.
    Route,
    /// A page rendered on the server.
    Page,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The caller's own browser, signed in since the world was made.
    Browser,
    /// A new browser with no cookies (signing in).
    Blank,
    /// A new browser the caller has just signed in on (for calls that end
    /// sessions: the caller's other browsers are not what is tested).
    Fresh,
}

struct Row {
    kind: Kind,
    what: &'static str,
    via: Via,
    request: fn(&World, Caller) -> Req,
    expect: [Outcome; 6],
}

fn row(kind: Kind, what: &'static str, expect: [Outcome; 6], request: fn(&World, Caller) -> Req) -> Row {
    Row { kind, what, via: Via::Browser, request, expect }
}

fn api(what: &'static str, expect: [Outcome; 6], request: fn(&World, Caller) -> Req) -> Row {
    row(Kind::Api, what, expect, request)
}

fn route(what: &'static str, expect: [Outcome; 6], request: fn(&World, Caller) -> Req) -> Row {
    row(Kind::Route, what, expect, request)
}

fn page(what: &'static str, expect: [Outcome; 6], request: fn(&World, Caller) -> Req) -> Row {
    row(Kind::Page, what, expect, request)
}

impl Row {
    fn via(mut self, via: Via) -> Row {
        self.via = via;
        self
    }
}

// --- the world ------------------------------------------------------------------------

struct Person {
    email: &'static str,
    client: reqwest::Client,
    user_id: Uuid,
}

struct World {
    patient_a: Person,
    patient_b: Person,
    doctor_x: Person,
    doctor_y: Person,
    admin: Person,
    /// The doctors.id of X.
    x: Uuid,
    /// Unused recovery codes of the administrator (one per fresh sign-in).
    admin_codes: Vec<String>,
    /// A's booking, not paid yet.
    pending: Uuid,
    /// A's paid booking two days ahead (A moves it, then cancels it).
    upcoming: Uuid,
    /// Another paid booking of A's (X cancels it).
    upcoming_for_x: Uuid,
    /// Paid, starting in a few minutes: the room is open.
    live: Uuid,
    /// Paid, started 25 minutes ago and nobody came.
    no_show: Uuid,
    /// Completed, with a prescription and a chat message.
    done: Uuid,
    prescription: Uuid,
    /// The payment of `upcoming`.
    payment: Uuid,
    /// The session of A's second device.
    a_other_device: Uuid,
    /// X's own availability window and time off.
    x_window: Uuid,
    x_time_off: Uuid,
    /// A patient of no consultation here, for the administrators' actions.
    zoe: Uuid,
    /// The live consultation's notes version as stored now.
    live_version: i32,
}

impl World {
    fn person(&self, caller: Caller) -> Option<&Person> {
        match caller {
            Anonymous => None,
            PatientA => Some(&self.patient_a),
            PatientB => Some(&self.patient_b),
            DoctorX => Some(&self.doctor_x),
            DoctorY => Some(&self.doctor_y),
            Admin => Some(&self.admin),
        }
    }

    /// The caller's email (a walk-in stranger's for nobody).
    fn email(&self, caller: Caller) -> &'static str {
        self.person(caller).map(|p| p.email).unwrap_or("walk.in@example.com")
    }

    fn user_id(&self, caller: Caller) -> Uuid {
        self.person(caller).map(|p| p.user_id).unwrap_or_default()
    }
}

/// `days` from today, at `hour`:00 UTC.
fn at(days: i64, hour: u32) -> DateTime<Utc> {
    let day = (Utc::now() + chrono::Duration::days(days)).date_naive();
    day.and_hms_opt(hour, 0, 0).unwrap().and_utc()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ymd(days: i64) -> String {
    (Utc::now() + chrono::Duration::days(days)).date_naive().to_string()
}

/// An approved doctor open 00:00–20:00 UTC every day (the evenings stay
/// free for windows added by the table), signed in.
async fn open_doctor(app: &TestApp, email: &'static str, name: (&str, &str)) -> (Person, Uuid) {
    let (client, user_id, doctor_id) = bookable_doctor_until(app, email, name, "20:00").await;
    (Person { email, client, user_id }, doctor_id)
}

async fn patient(app: &TestApp, email: &'static str, name: (&str, &str)) -> Person {
    let (client, user_id) = signed_up_and_in(app, email, name, "patient").await;
    Person { email, client, user_id }
}

/// Books (without paying) a video consultation; returns its id.
async fn booked(app: &TestApp, patient: &Person, doctor_id: Uuid, start: DateTime<Utc>) -> Uuid {
    let (status, body) = post_answer(
        app,
        &patient.client,
        "/api/book_consultation",
        &booking_body(doctor_id, start, "A cough that will not go away."),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body.as_str().unwrap().parse().unwrap()
}

fn booking_body(doctor_id: Uuid, start: DateTime<Utc>, symptoms: &str) -> String {
    form(&[
        ("doctor_id", &doctor_id.to_string()),
        ("starts_at", &rfc(start)),
        ("consultation_type", "video"),
        ("symptoms", symptoms),
        ("booking_key", &Uuid::new_v4().to_string()),
    ])
}

fn notes_form(id: Uuid, version: i32) -> String {
    form(&[
        ("consultation_id", &id.to_string()),
        ("notes", "Dry cough for three weeks, chest clear."),
        ("diagnosis", "Post-viral cough"),
        ("base_version", &version.to_string()),
    ])
}

fn prescription_json(id: Uuid) -> Value {
    json!({
        "consultation_id": id,
        "prescription": {
            "medications": [{
                "name": "Amoxicillin", "strength": "500 mg", "form": "capsule", "dose": "1 capsule", "route": "oral",
                "frequency": "three times a day", "duration": "7 days", "quantity": "21", "refills": "", "notes": ""
            }],
            "instructions": "Rest and drink plenty of fluids.",
            "follow_up_date": "",
        },
        "supersedes": null,
    })
}

async fn notes_version(app: &TestApp, id: Uuid) -> i32 {
    sqlx::query_scalar("SELECT notes_version FROM consultations WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn build_world(app: &TestApp) -> World {
    let patient_a = patient(app, "ana@example.com", ("Ana", "Silva")).await;
    let patient_b = patient(app, "ben@example.com", ("Ben", "Okoro")).await;
    let (doctor_x, x) = open_doctor(app, "xavier@example.com", ("Xavier", "Mendes")).await;
    let (doctor_y, y) = open_doctor(app, "yara@example.com", ("Yara", "Haddad")).await;
    let admin_client = admin_without_mfa(app, "olga@example.com").await;
    let (_, admin_codes) = enrol_mfa(app, &admin_client).await;
    let admin =
        Person { email: "olga@example.com", client: admin_client, user_id: user_id(app, "olga@example.com").await };
    signed_up_and_in(app, "walk.in@example.com", ("Walk", "In"), "patient").await;
    let zoe = insert_user(&app.pool, "patient").await;
    sqlx::query("UPDATE users SET mfa_enabled = true, mfa_secret = 'sealed' WHERE id = $1")
        .bind(zoe)
        .execute(&app.pool)
        .await
        .unwrap();

    // A's second device, whose session A may end.
    let other = browser(None);
    let res =
        app.post_form_as(&other, "/api/sign_in", &form(&[("email", patient_a.email), ("password", PASSWORD)])).await;
    assert_eq!(res.status(), 200);
    let a_other_device: Uuid =
        sqlx::query_scalar("SELECT family_id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 1")
            .bind(patient_a.user_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();

    // X's own window and time off.
    let window = nested(
        "window",
        &[
            ("kind", "weekly"),
            ("day_of_week", "1"),
            ("start_time", "22:00"),
            ("end_time", "23:00"),
            ("timezone", "UTC"),
        ],
    );
    let (status, body) = post_answer(app, &doctor_x.client, "/api/add_availability_window", &window).await;
    assert_eq!(status, 200, "{body}");
    let x_window = body.as_str().unwrap().parse().unwrap();
    let time_off = nested("time_off", &[("first_date", &ymd(40))]);
    let (status, body) = post_answer(app, &doctor_x.client, "/api/add_time_off", &time_off).await;
    assert_eq!(status, 200, "{body}");
    let x_time_off = body.as_str().unwrap().parse().unwrap();

    // A's consultations with X, and B's with Y.
    let pending = booked(app, &patient_a, x, at(2, 9)).await;
    let upcoming = book_and_pay(app, &patient_a.client, x, at(2, 10), "A cough.").await;
    let upcoming_for_x = book_and_pay(app, &patient_a.client, x, at(2, 11), "A cough.").await;
    let live = book_and_pay(app, &patient_a.client, x, at(3, 9), "A cough.").await;
    let no_show = book_and_pay(app, &patient_a.client, x, at(3, 10), "A cough.").await;
    let done = book_and_pay(app, &patient_a.client, x, at(3, 11), "A cough.").await;
    book_and_pay(app, &patient_b.client, y, at(2, 9), "A sore knee.").await;

    // The completed visit: started, prescribed, a word in the chat, completed.
    move_consultation(app, done, 5).await;
    let (status, body) =
        post_answer(app, &doctor_x.client, "/api/start_visit", &form(&[("consultation_id", &done.to_string())])).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        post_json_answer(app, &doctor_x.client, "/api/issue_prescription", &prescription_json(done)).await;
    assert_eq!(status, 200, "{body}");
    let prescription = body.as_str().unwrap().parse().unwrap();
    sqlx::query(
        "INSERT INTO chat_messages (consultation_id, sender_id, client_id, body) VALUES ($1, $2, $3, 'Hello, doctor')",
    )
    .bind(done)
    .bind(patient_a.user_id)
    .bind(Uuid::new_v4())
    .execute(&app.pool)
    .await
    .unwrap();
    let version = notes_version(app, done).await;
    let (status, body) = post_answer(app, &doctor_x.client, "/api/complete_visit", &notes_form(done, version)).await;
    assert_eq!(status, 200, "{body}");
    move_consultation(app, done, -120).await;
    move_consultation(app, live, 8).await;
    move_consultation(app, no_show, -25).await;

    let payment = sqlx::query_scalar("SELECT id FROM payments WHERE consultation_id = $1")
        .bind(upcoming)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    World {
        patient_a,
        patient_b,
        doctor_x,
        doctor_y,
        admin,
        x,
        admin_codes,
        pending,
        upcoming,
        upcoming_for_x,
        live,
        no_show,
        done,
        prescription,
        payment,
        a_other_device,
        x_window,
        x_time_off,
        zoe,
        live_version: 0,
    }
}

// --- the table ----------------------------------------------------------------------------

/// Every server function and route, in the order they are called (the
/// calls that end sessions or accounts come last).
fn table() -> Vec<Row> {
    vec![
        // Public: anyone, signed in or not.
        api("platform_stats", PUBLIC, |_, _| get("/api/platform_stats")),
        api("search_doctors", PUBLIC, |_, _| get("/api/search_doctors?specialization=Cardiology")),
        api("doctor_details", PUBLIC, |w, _| get(format!("/api/doctor_details?id={}", w.x))),
        api("booking_form", PUBLIC, |w, _| {
            get(format!("/api/booking_form?doctor_id={}&starts_at={}", w.x, urlencode(&rfc(at(4, 12)))))
        }),
        api("me", PUBLIC, |_, _| get("/api/me")),
        // Development only (the test app runs in development with the dev mailbox).
        api("dev_mailbox", PUBLIC, |_, _| get("/api/dev_mailbox")),
        api("sign_up", PUBLIC, |_, c| {
            let email = format!("new.{c:?}@example.com").to_lowercase();
            let pairs = [
                ("email", email.as_str()),
                ("password", PASSWORD),
                ("first_name", "New"),
                ("last_name", "Person"),
                ("timezone", "Europe/Lisbon"),
                ("role", "patient"),
            ];
            post("/api/sign_up", &pairs)
        }),
        // Each signs in as themselves (nobody, as a walk-in stranger) on a new browser.
        api("sign_in", PUBLIC, |w, c| post("/api/sign_in", &[("email", w.email(c)), ("password", PASSWORD)]))
            .via(Via::Blank),
        // No challenge cookie: nobody is half-way through signing in.
        api("sign_in_code", [E409; 6], |_, _| post("/api/sign_in_code", &[("code", "000000")])),
        api("verify_email", [E422; 6], |_, _| post("/api/verify_email", &[("token", "not-a-real-token")])),
        api("request_password_reset", PUBLIC, |w, c| post("/api/request_password_reset", &[("email", w.email(c))])),
        api("reset_password", [E422; 6], |_, _| {
            post(
                "/api/reset_password",
                &[("token", "not-a-real-token"), ("new_password", "a brand new long passphrase")],
            )
        }),
        // Pages guarded by role, and pages about A's consultations.
        page("/admin", ADMINS, |_, _| get("/admin")),
        page("/admin/users", ADMINS, |_, _| get("/admin/users")),
        page("/admin/payments", ADMINS, |_, _| get("/admin/payments")),
        page("/admin/audit", ADMINS, |_, _| get("/admin/audit")),
        page("/doctor/schedule", DOCTORS, |_, _| get("/doctor/schedule")),
        page("/doctor/availability", DOCTORS, |_, _| get("/doctor/availability")),
        page("/doctor/profile", DOCTORS, |_, _| get("/doctor/profile")),
        page("/consultations", PATIENTS, |_, _| get("/consultations")),
        page("/prescriptions", PATIENTS, |_, _| get("/prescriptions")),
        page("/account/sessions", SIGNED_IN, |_, _| get("/account/sessions")),
        page("/account/data", SIGNED_IN, |_, _| get("/account/data")),
        page("/consultations/{id}/pay", A_AS_PATIENT, |w, _| get(format!("/consultations/{}/pay", w.pending))),
        page("/consultations/{id}/move", A_AS_PATIENT, |w, _| get(format!("/consultations/{}/move", w.upcoming))),
        page("/consultations/{id}/room", A_AND_X, |w, _| get(format!("/consultations/{}/room", w.done))),
        // Operational routes.
        route("/healthz", PUBLIC, |_, _| get("/healthz")),
        route("/readyz", PUBLIC, |_, _| get("/readyz")),
        route("/metrics", PUBLIC, |_, _| get("/metrics")),
        // The sandbox gateway takes no webhooks (Stripe's are checked in stripe.rs).
        route("/webhooks/stripe", [E404; 6], |_, _| Req::Form("/webhooks/stripe".into(), "{}".into())),
        // The signed-in person's own account.
        api("my_sessions", SIGNED_IN, |_, _| get("/api/my_sessions")),
        api("revoke_session", [E401, OK, E404, E404, E404, E404], |w, _| {
            post("/api/revoke_session", &[("id", &w.a_other_device.to_string())])
        }),
        api("my_profile", SIGNED_IN, |_, _| get("/api/my_profile")),
        api("update_profile", SIGNED_IN, |_, _| {
            let body = profile_form(&[("first_name", "Same"), ("last_name", "Person"), ("timezone", "Europe/Lisbon")]);
            Req::Form("/api/update_profile".into(), body)
        }),
        // Everyone's address is confirmed already.
        api("resend_verification", [E401, E409, E409, E409, E409, E409], |_, _| post("/api/resend_verification", &[])),
        api("mfa_status", SIGNED_IN, |_, _| get("/api/mfa_status")),
        // The administrator has it on already.
        api("mfa_begin", [E401, OK, OK, OK, OK, E409], |_, _| post("/api/mfa_begin", &[])),
        api("mfa_confirm", [E401, E422, E422, E422, E422, E409], |_, _| {
            post("/api/mfa_confirm", &[("code", "000000")])
        }),
        // Only the administrator has it on.
        api("mfa_renew_codes", [E401, E409, E409, E409, E409, E422], |_, _| {
            post("/api/mfa_renew_codes", &[("code", "000000")])
        }),
        // Off already; administrators must keep it on.
        api("mfa_disable", [E401, E409, E409, E409, E409, E409], |_, _| {
            post("/api/mfa_disable", &[("password", PASSWORD), ("code", "000000")])
        }),
        // A doctor's own practice.
        api("my_doctor_profile", DOCTORS, |_, _| get("/api/my_doctor_profile")),
        // An empty form: doctors get the form's messages, nobody else gets that far.
        api("save_doctor_profile", [E401, E403, E403, E422, E422, E403], |_, _| {
            let fields = [
                ("license_number", ""),
                ("license_expires_on", ""),
                ("specialization", ""),
                ("experience_years", ""),
                ("qualification", ""),
                ("consultation_fee", ""),
                ("currency", ""),
                ("slot_minutes", ""),
                ("buffer_minutes", ""),
                ("min_notice_hours", ""),
                ("booking_horizon_days", ""),
            ];
            Req::Form("/api/save_doctor_profile".into(), nested("profile", &fields))
        }),
        api("set_doctor_available", DOCTORS, |_, _| post("/api/set_doctor_available", &[("available", "true")])),
        api("my_availability", DOCTORS, |_, _| get("/api/my_availability")),
        api("add_availability_window", DOCTORS, |_, _| {
            let pairs = [
                ("kind", "weekly"),
                ("day_of_week", "2"),
                ("start_time", "22:00"),
                ("end_time", "23:00"),
                ("timezone", "UTC"),
            ];
            Req::Form("/api/add_availability_window".into(), nested("window", &pairs))
        }),
        api("remove_availability_window", X_AS_DOCTOR, |w, _| {
            post("/api/remove_availability_window", &[("id", &w.x_window.to_string())])
        }),
        api("add_time_off", DOCTORS, |_, _| {
            Req::Form("/api/add_time_off".into(), nested("time_off", &[("first_date", &ymd(41))]))
        }),
        api("remove_time_off", X_AS_DOCTOR, |w, _| post("/api/remove_time_off", &[("id", &w.x_time_off.to_string())])),
        api("doctor_agenda", DOCTORS, |_, _| get("/api/doctor_agenda")),
        // Administration.
        api("admin_doctor_queue", ADMINS, |_, _| get("/api/admin_doctor_queue")),
        // X is approved already.
        api("admin_review_doctor", [E401, E403, E403, E403, E403, E409], |w, _| {
            post("/api/admin_review_doctor", &[("doctor_id", &w.x.to_string()), ("approve", "true"), ("reason", "")])
        }),
        api("admin_users", ADMINS, |_, _| get("/api/admin_users?query=")),
        // On Zoe, a patient of no consultation here (both sign her out everywhere).
        api("admin_reset_mfa", ADMINS, |w, _| {
            post("/api/admin_reset_mfa", &[("user_id", &w.zoe.to_string()), ("reason", "Lost phone")])
        }),
        api("admin_set_active", ADMINS, |w, _| {
            let id = w.zoe.to_string();
            post("/api/admin_set_active", &[("user_id", &id), ("active", "false"), ("reason", "Asked to close it")])
        }),
        api("admin_dashboard", ADMINS, |_, _| get("/api/admin_dashboard?query=")),
        api("admin_consultations", ADMINS, |_, _| get("/api/admin_consultations?query=")),
        api("admin_payments", ADMINS, |_, _| get("/api/admin_payments?query=")),
        api("admin_audit", ADMINS, |_, _| get("/api/admin_audit?query=")),
        api("admin_refund", ADMINS, |w, _| {
            post(
                "/api/admin_refund",
                &[("payment_id", &w.payment.to_string()), ("amount", "1.00"), ("reason", "Goodwill")],
            )
        }),
        route("/admin/audit.csv", ADMINS, |_, _| get("/admin/audit.csv")),
        // Booking and paying: patients, for themselves.
        api("book_consultation", PATIENTS, |w, c| {
            let start = if c == PatientB { at(4, 10) } else { at(4, 9) };
            Req::Form("/api/book_consultation".into(), booking_body(w.x, start, "Booked from the matrix."))
        }),
        api("my_consultations", PATIENTS, |_, _| get("/api/my_consultations")),
        api("payment_details", A_AS_PATIENT, |w, _| get(format!("/api/payment_details?consultation_id={}", w.pending))),
        api("pay_consultation", A_AS_PATIENT, |w, _| {
            let expiry = format!("12/{:02}", (chrono::Datelike::year(&Utc::now()) + 3) % 100);
            let id = w.pending.to_string();
            let pairs = [
                ("consultation_id", id.as_str()),
                ("card_number", "4242 4242 4242 4242"),
                ("expiry", &expiry),
                ("cvc", "123"),
            ];
            post("/api/pay_consultation", &pairs)
        }),
        api("reschedule_consultation", A_AS_PATIENT, |w, _| {
            post(
                "/api/reschedule_consultation",
                &[("consultation_id", &w.upcoming.to_string()), ("starts_at", &rfc(at(5, 9)))],
            )
        }),
        // Its patient and its doctor may cancel (X cancels another of A's bookings).
        api("cancel_consultation", [E401, OK, E404, OK, E404, E404], |w, c| {
            let id = if c == DoctorX { w.upcoming_for_x } else { w.upcoming };
            post("/api/cancel_consultation", &[("consultation_id", &id.to_string())])
        }),
        // The room and the record.
        api("room", A_AND_X, |w, _| get(format!("/api/room?consultation_id={}", w.done))),
        route("/ws/consultations/{id}", A_AND_X, |w, _| Req::Upgrade(format!("/ws/consultations/{}", w.live))),
        api("start_visit", X_AS_DOCTOR, |w, _| post("/api/start_visit", &[("consultation_id", &w.live.to_string())])),
        api("save_notes", X_AS_DOCTOR, |w, _| Req::Form("/api/save_notes".into(), notes_form(w.live, w.live_version))),
        api("issue_prescription", X_AS_DOCTOR, |w, _| {
            Req::Json("/api/issue_prescription".into(), prescription_json(w.live))
        }),
        api("complete_visit", X_AS_DOCTOR, |w, _| {
            Req::Form("/api/complete_visit".into(), notes_form(w.live, w.live_version))
        }),
        api("mark_no_show", X_AS_DOCTOR, |w, _| {
            post("/api/mark_no_show", &[("consultation_id", &w.no_show.to_string())])
        }),
        api("add_addendum", X_AS_DOCTOR, |w, _| {
            post(
                "/api/add_addendum",
                &[("consultation_id", &w.done.to_string()), ("body", "Also advised a humidifier.")],
            )
        }),
        api("consultation_prescriptions", A_AND_X, |w, _| {
            get(format!("/api/consultation_prescriptions?consultation_id={}", w.done))
        }),
        api("my_prescriptions", PATIENTS, |_, _| get("/api/my_prescriptions")),
        api("review_consultation", A_AS_PATIENT, |w, _| {
            let id = w.done.to_string();
            post(
                "/api/review_consultation",
                &[("consultation_id", &id), ("rating", "5"), ("comment", "Very thorough.")],
            )
        }),
        route("/prescriptions/{id}/pdf", A_AND_X, |w, _| get(format!("/prescriptions/{}/pdf", w.prescription))),
        // Exports: one's own records only, whoever is named.
        route("/account/export.json", PATIENTS, |_, _| get("/account/export.json")),
        route("/account/export.json", [E401, OK, E403, E403, E403, E403], |w, _| {
            get(format!("/account/export.json?patient={}", w.user_id(PatientA)))
        }),
        route("/account/export.fhir.json", [E401, OK, E403, E403, E403, E403], |w, _| {
            get(format!("/account/export.fhir.json?patient={}", w.user_id(PatientA)))
        }),
        // Last: the calls that end sessions and accounts, each from a browser just signed in.
        api("sign_out", PUBLIC, |_, _| post("/api/sign_out", &[])).via(Via::Fresh),
        api("change_password", [E401, E422, E422, E422, E422, E422], |_, _| {
            post("/api/change_password", &[("current_password", "not the password at all"), ("new_password", PASSWORD)])
        })
        .via(Via::Fresh),
        api("sign_out_everywhere", SIGNED_IN, |_, _| post("/api/sign_out_everywhere", &[])).via(Via::Fresh),
        // Refused while consultations are to come, and for the last administrator.
        api("delete_account", [E401, E409, E409, E409, E409, E409], |_, _| {
            post("/api/delete_account", &[("password", PASSWORD), ("confirm", "DELETE")])
        })
        .via(Via::Fresh),
    ]
}

// --- calling -----------------------------------------------------------------------------

fn no_cookies() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A new browser the caller signs in on (the administrator with a recovery code).
async fn fresh_browser(app: &TestApp, world: &mut World, caller: Caller) -> reqwest::Client {
    let Some(person) = world.person(caller) else { return no_cookies() };
    let email = person.email;
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let (status, body) =
        post_answer(app, &client, "/api/sign_in", &form(&[("email", email), ("password", PASSWORD)])).await;
    assert_eq!(status, 200, "{email} signs in again: {body}");
    if body["step"] == "code_needed" {
        let code = world.admin_codes.pop().expect("a recovery code left");
        let (status, body) = post_answer(app, &client, "/api/sign_in_code", &form(&[("code", &code)])).await;
        assert_eq!(status, 200, "{email} second step: {body}");
    }
    client
}

/// How long a call may take before it counts as unanswered (status 0).
const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends the request; the status and the body. A page or GET that got no
/// answer at all (a dropped connection, or none within WAIT) is asked once
/// more: it changes nothing, and a CI machine busy linking a release build
/// once stalled one page past 30 s. A second silence still fails.
async fn send(app: &TestApp, client: &reqwest::Client, req: &Req) -> (u16, String) {
    let first = send_once(app, client, req).await;
    match req {
        Req::Get(_) if first.0 == 0 => send_once(app, client, req).await,
        _ => first,
    }
}

async fn send_once(app: &TestApp, client: &reqwest::Client, req: &Req) -> (u16, String) {
    let url = |path: &str| format!("{}{}", app.address, path);
    let res = match req {
        Req::Get(path) => client.get(url(path)).timeout(WAIT).send().await,
        Req::Form(path, body) => {
            client
                .post(url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .timeout(WAIT)
                .send()
                .await
        }
        Req::Json(path, body) => client.post(url(path)).json(body).timeout(WAIT).send().await,
        Req::Upgrade(path) => {
            client
                .get(url(path))
                .header("connection", "Upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .timeout(WAIT)
                .send()
                .await
        }
    };
    let res = match res {
        Ok(res) => res,
        Err(e) => {
            let mut why = format!("no answer: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                why.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            if e.is_timeout() {
                why.push_str(" (timed out)");
            }
            return (0, why);
        }
    };
    let status = res.status().as_u16();
    if status == 101 {
        // Take the socket over and close it: the room must not wait on a silent participant.
        drop(res.upgrade().await);
        return (status, String::new());
    }
    (status, tokio::time::timeout(WAIT, res.text()).await.ok().and_then(Result::ok).unwrap_or_default())
}

fn outcome_of(status: u16) -> Outcome {
    if (200..300).contains(&status) || status == 101 {
        Outcome::Allowed
    } else {
        Outcome::Status(status)
    }
}

/// What a refused call must not touch: each table's rows as text (the
/// audit trail, throttles and mail excepted: refusals are recorded there).
async fn fingerprint(app: &TestApp) -> BTreeMap<String, String> {
    let tables = [
        "consultations",
        "payments",
        "prescriptions",
        "reviews",
        "consultation_addenda",
        "chat_messages",
        "availability_slots",
        "doctor_time_off",
        "doctors",
        "profiles",
        "mfa_recovery_codes",
    ];
    let mut out = BTreeMap::new();
    for table in tables {
        // Table names come from the list above, never from input.
        let sql = format!("SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM {table} t");
        let digest: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&app.pool).await.unwrap();
        out.insert(table.to_owned(), digest);
    }
    let users: String = sqlx::query_scalar(
        "SELECT coalesce(md5(string_agg(concat_ws(':', id, email, password_hash, role, is_active, is_email_verified,
                                                  mfa_enabled, mfa_secret, deleted_at), ',' ORDER BY id)), '')
         FROM users",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    out.insert("users".into(), users);
    let revoked: String = sqlx::query_scalar(
        "SELECT coalesce(md5(string_agg(id::text, ',' ORDER BY id)), '') FROM sessions WHERE revoked_at IS NOT NULL",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    out.insert("sessions (revoked)".into(), revoked);
    out
}

#[tokio::test]
async fn every_server_function_and_route_answers_each_caller_as_the_matrix_says() {
    let app = spawn_app().await;
    let mut world = build_world(&app).await;
    let table = table();
    let mut mismatches = Vec::new();
    // Each private marker must show up for A or X somewhere, or the leak check proves nothing.
    let mut seen_by_owners: BTreeSet<&str> = BTreeSet::new();

    for row in &table {
        world.live_version = notes_version(&app, world.live).await;
        // Refused callers first, then the allowed ones.
        let mut order: Vec<usize> = (0..CALLERS.len()).filter(|&i| row.expect[i] != OK).collect();
        order.extend((0..CALLERS.len()).filter(|&i| row.expect[i] == OK));
        for i in order {
            let caller = CALLERS[i];
            let client = match (row.via, world.person(caller)) {
                (_, None) | (Via::Blank, _) => no_cookies(),
                (Via::Fresh, Some(_)) => fresh_browser(&app, &mut world, caller).await,
                (Via::Browser, Some(person)) => person.client.clone(),
            };
            let req = (row.request)(&world, caller);
            let before = if row.expect[i] == OK { None } else { Some(fingerprint(&app).await) };
            let (status, body) = send(&app, &client, &req).await;
            let got = outcome_of(status);
            let label = format!("{:?} {}", row.kind, row.what);
            if got != row.expect[i] {
                let leak = if got == OK { "  <-- LEAK? a refusal was expected" } else { "" };
                mismatches.push(format!(
                    "{label:<42} {caller:<10} expected {:<8} got {status}{leak}  {}",
                    row.expect[i].to_string(),
                    body.chars().take(160).collect::<String>(),
                    caller = format!("{caller:?}"),
                ));
            }
            if matches!(caller, PatientA | DoctorX) {
                seen_by_owners.extend(A_PRIVATE.iter().copied().filter(|m| body.contains(*m)));
            }
            // The development mailbox shows everyone's mail by design (404 in production).
            if matches!(caller, Anonymous | PatientB | DoctorY) && row.what != "dev_mailbox" {
                for marker in A_PRIVATE.iter().filter(|m| body.contains(**m)) {
                    mismatches.push(format!("{label:<42} {caller:?}: LEAK: the answer holds {marker:?} of A's"));
                }
            }
            if let Some(before) = before {
                let after = fingerprint(&app).await;
                let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
                if !changed.is_empty() {
                    mismatches.push(format!("{label:<42} {caller:?}: refused with {status} but changed {changed:?}"));
                }
            }
        }
    }

    for marker in A_PRIVATE.iter().filter(|m| !seen_by_owners.contains(*m)) {
        mismatches.push(format!("{marker:?} never reached A or X: the leak check cannot see it"));
    }
    // What the allowed callers did took effect.
    let statuses = [
        (world.pending, "scheduled", "A paid the pending booking"),
        (world.upcoming, "cancelled", "A moved, then cancelled, the upcoming booking"),
        (world.upcoming_for_x, "cancelled", "X cancelled the other booking"),
        (world.live, "completed", "X started and completed the live visit"),
        (world.no_show, "no_show", "X marked the no-show"),
        (world.done, "completed", "the completed visit stayed completed"),
    ];
    for (id, expected, what) in statuses {
        let status = consultation_status(&app, id).await;
        if status != expected {
            mismatches.push(format!("after the table: {what}: status {status}, expected {expected}"));
        }
    }
    let reviews: i64 = sqlx::query_scalar("SELECT count(*) FROM reviews WHERE consultation_id = $1")
        .bind(world.done)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    if reviews != 1 {
        mismatches.push(format!("after the table: {reviews} reviews of the completed visit, expected A's one"));
    }

    assert!(mismatches.is_empty(), "{} differences from the matrix:\n{}", mismatches.len(), mismatches.join("\n"));
}

// --- the table covers everything ------------------------------------------------------------

/// The quoted value after each `marker` in `text`.
fn quoted_after(text: &str, marker: &str) -> Vec<String> {
    text.split(marker).skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect()
}

#[test]
fn the_matrix_has_a_row_for_every_server_function_and_every_route() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut endpoints = BTreeSet::new();
    for entry in std::fs::read_dir(root.join("src/api")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            endpoints.extend(quoted_after(&std::fs::read_to_string(&path).unwrap(), "endpoint = \""));
        }
    }
    assert!(endpoints.len() > 50, "the scan found the server functions: {endpoints:?}");
    let startup = std::fs::read_to_string(root.join("src/server/startup.rs")).unwrap();
    let routes: BTreeSet<String> = quoted_after(&startup, ".route(\"").into_iter().collect();
    assert!(routes.contains("/prescriptions/{id}/pdf"), "the scan found the routes: {routes:?}");

    let table = table();
    let rows_of =
        |kind: Kind| table.iter().filter(|r| r.kind == kind).map(|r| r.what.to_owned()).collect::<BTreeSet<_>>();
    let (api_rows, route_rows) = (rows_of(Kind::Api), rows_of(Kind::Route));
    let missing: Vec<_> = endpoints.difference(&api_rows).chain(routes.difference(&route_rows)).collect();
    let stale: Vec<_> = api_rows.difference(&endpoints).chain(route_rows.difference(&routes)).collect();
    assert!(missing.is_empty(), "no row in the authorization matrix for: {missing:?}");
    assert!(stale.is_empty(), "rows for server functions or routes that no longer exist: {stale:?}");
}
