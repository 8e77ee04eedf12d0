//! The consultation room and the clinical record: the lifecycle the database
//! enforces, who may enter, starting and completing the visit, notes with
//! versions, addenda, prescriptions with versions and PDFs, reviews with an
//! exact rating, the chat across two server instances, and no-shows.
//!
//! Consultations are booked and paid through the API a few hours ahead (so
//! the payment and the audit are real); then their times are moved in SQL
//! to open the room, to close it, or to put it in the past. The lifecycle
//! trigger only looks at changes of status, so moving times is allowed.

use crate::helpers::*;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use telehealth::domain::lifecycle::may_change;
use telehealth::domain::ConsultationStatus;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};
use uuid::Uuid;

const SUCCESS_CARD: &str = "4242 4242 4242 4242";
const SYMPTOMS: &str = "Palpitations and shortness of breath when climbing stairs.";
/// Every wait for a WebSocket event gives up after this long.
const WS_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

// --- time -----------------------------------------------------------------------

/// The first slot (slots start on the half hour) at least `hours` from now.
fn slot_in(hours: i64) -> DateTime<Utc> {
    let t = Utc::now() + Duration::hours(hours);
    DateTime::from_timestamp((t.timestamp().div_euclid(1800) + 1) * 1800, 0).unwrap()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn good_expiry() -> String {
    use chrono::Datelike;
    format!("12/{:02}", (Utc::now().year() + 3) % 100)
}

// --- people -----------------------------------------------------------------------

/// Someone signed in on a browser of their own, whose cookies the tests can
/// read (for the WebSocket handshake).
struct Person {
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    user_id: Uuid,
}

impl Person {
    /// The `Cookie` header this browser would send to `address`.
    fn cookie_header(&self, address: &str) -> String {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = address.parse().unwrap();
        self.jar.cookies(&url).map(|h| h.to_str().unwrap().to_owned()).unwrap_or_default()
    }
}

/// A listed doctor: the person, and their doctors.id.
struct Doctor {
    id: Uuid,
    person: Person,
}

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
    sqlx::query("UPDATE users SET is_email_verified = true WHERE lower(email) = lower($1)")
        .bind(email)
        .execute(&app.pool)
        .await
        .unwrap();
}

async fn signed_in(app: &TestApp, email: &str) -> Person {
    signed_in_at(app, &app.address, email).await
}

/// Signs in through `address` (an instance, or a proxy in front of them).
async fn signed_in_at(app: &TestApp, address: &str, email: &str) -> Person {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let res = client
        .post(format!("{address}/api/sign_in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("email", email), ("password", PASSWORD)]))
        .send()
        .await
        .expect("request sent");
    assert_eq!(res.status(), 200, "{email}: {}", res.text().await.unwrap());
    Person { client, jar, user_id: user_id(app, email).await }
}

/// A patient (email confirmed), signed in.
async fn patient(app: &TestApp, email: &str, name: (&str, &str)) -> Person {
    sign_up(app, email, name, "Europe/Lisbon", "patient").await;
    signed_in(app, email).await
}

/// An approved doctor with windows all day, every day (UTC), 30-minute
/// slots and an hour's notice, signed in.
async fn doctor(app: &TestApp, email: &str, name: (&str, &str)) -> Doctor {
    sign_up(app, email, name, "Europe/London", "doctor").await;
    let user_id = user_id(app, email).await;
    let id = approved_doctor(&app.pool, user_id).await;
    for day in 0..7i16 {
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
    Doctor { id, person: signed_in(app, email).await }
}

async fn dr_hart(app: &TestApp) -> Doctor {
    doctor(app, "hart@example.com", ("Gregory", "Hart")).await
}

async fn ana(app: &TestApp) -> Person {
    patient(app, "ana@example.com", ("Ana", "Silva")).await
}

// --- requests ---------------------------------------------------------------------

/// Books a video consultation at `start` and pays it with the sandbox's
/// success card; returns the consultation's id.
async fn booked_and_paid(app: &TestApp, patient: &Person, doctor: &Doctor, start: DateTime<Utc>) -> Uuid {
    booked_and_paid_as(app, patient, doctor, start, "video").await
}

/// Books a consultation of this type (video, audio or chat) at `start` and pays it.
async fn booked_and_paid_as(
    app: &TestApp,
    patient: &Person,
    doctor: &Doctor,
    start: DateTime<Utc>,
    kind: &str,
) -> Uuid {
    let body = form(&[
        ("doctor_id", &doctor.id.to_string()),
        ("starts_at", &rfc(start)),
        ("consultation_type", kind),
        ("symptoms", SYMPTOMS),
        ("booking_key", &Uuid::new_v4().to_string()),
    ]);
    let (status, booked) = post_answer(app, &patient.client, "/api/book_consultation", &body).await;
    assert_eq!(status, 200, "{booked}");
    let id: Uuid = booked.as_str().expect("the consultation's id").parse().unwrap();
    let body = form(&[
        ("consultation_id", &id.to_string()),
        ("card_number", SUCCESS_CARD),
        ("expiry", &good_expiry()),
        ("cvc", "123"),
    ]);
    let (status, paid) = post_answer(app, &patient.client, "/api/pay_consultation", &body).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(consultation_status(app, id).await, "scheduled");
    id
}

/// Books and pays a consultation, then moves it to start in 5 minutes (the
/// room is open).
async fn open_consultation(app: &TestApp, patient: &Person, doctor: &Doctor) -> Uuid {
    let id = booked_and_paid(app, patient, doctor, slot_in(3)).await;
    move_consultation(app, id, 5).await;
    id
}

fn with_id(id: Uuid) -> String {
    form(&[("consultation_id", &id.to_string())])
}

async fn room(app: &TestApp, who: &Person, id: Uuid) -> (u16, Value) {
    get_answer(app, &who.client, &format!("/api/room?consultation_id={id}")).await
}

/// The room as one of its two parties sees it (must be a 200).
async fn room_ok(app: &TestApp, who: &Person, id: Uuid) -> Value {
    let (status, view) = room(app, who, id).await;
    assert_eq!(status, 200, "{view}");
    view
}

async fn start_visit(app: &TestApp, who: &Person, id: Uuid) -> (u16, Value) {
    post_answer(app, &who.client, "/api/start_visit", &with_id(id)).await
}

/// Starts the visit (must be accepted).
async fn started(app: &TestApp, doctor: &Doctor, id: Uuid) {
    let (status, body) = start_visit(app, &doctor.person, id).await;
    assert_eq!(status, 200, "{body}");
}

fn notes_body(id: Uuid, notes: &str, diagnosis: &str, base_version: i32) -> String {
    form(&[
        ("consultation_id", &id.to_string()),
        ("notes", notes),
        ("diagnosis", diagnosis),
        ("base_version", &base_version.to_string()),
    ])
}

async fn save_notes(app: &TestApp, who: &Person, id: Uuid, notes: &str, diagnosis: &str, base: i32) -> (u16, Value) {
    post_answer(app, &who.client, "/api/save_notes", &notes_body(id, notes, diagnosis, base)).await
}

async fn complete_visit(
    app: &TestApp,
    who: &Person,
    id: Uuid,
    notes: &str,
    diagnosis: &str,
    base: i32,
) -> (u16, Value) {
    post_answer(app, &who.client, "/api/complete_visit", &notes_body(id, notes, diagnosis, base)).await
}

async fn review(app: &TestApp, who: &Person, id: Uuid, rating: &str, comment: &str) -> (u16, Value) {
    let body = form(&[("consultation_id", &id.to_string()), ("rating", rating), ("comment", comment)]);
    post_answer(app, &who.client, "/api/review_consultation", &body).await
}

/// A JSON POST: the status and the JSON body (or the text).
async fn post_json(app: &TestApp, who: &Person, path: &str, body: &Value) -> (u16, Value) {
    let res = who.client.post(format!("{}{}", app.address, path)).json(body).send().await.expect("request sent");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The message of a 409 (panics, showing the body, for anything else).
fn conflict(status: u16, body: &Value) -> String {
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["kind"], "conflict", "{body}");
    let message = body["detail"].as_str().unwrap_or_else(|| panic!("a message: {body}")).to_owned();
    assert!(!message.trim().is_empty(), "{body}");
    message
}

// --- the database ----------------------------------------------------------------

async fn total_consultations(app: &TestApp, doctor: Uuid) -> i32 {
    sqlx::query_scalar("SELECT total_consultations FROM doctors WHERE id = $1")
        .bind(doctor)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// (notes, diagnosis, notes_version) as stored.
async fn stored_notes(app: &TestApp, id: Uuid) -> (Option<String>, Option<String>, i32) {
    sqlx::query_as("SELECT notes, diagnosis, notes_version FROM consultations WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Fixture: a consultation of this patient with this doctor that was
/// completed `days_ago` days ago.
async fn completed_in_the_past(app: &TestApp, patient: &Person, doctor: &Doctor, days_ago: i32) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, status, consultation_type,
                                    started_at, ended_at, duration_minutes)
         VALUES ($1, $2, date_trunc('hour', now()) - make_interval(days => $3),
                 date_trunc('hour', now()) - make_interval(days => $3) + interval '30 minutes', 'completed', 'video',
                 date_trunc('hour', now()) - make_interval(days => $3),
                 date_trunc('hour', now()) - make_interval(days => $3) + interval '20 minutes', 20)
         RETURNING id",
    )
    .bind(patient.user_id)
    .bind(doctor.id)
    .bind(days_ago)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

// --- the room's WebSocket ------------------------------------------------------------

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the room's WebSocket on the instance at `address` with this
/// person's cookies; the handshake's error as it came (a refusal is an HTTP answer).
async fn connect(address: &str, who: &Person, id: Uuid) -> Result<Socket, tungstenite::Error> {
    let url = format!("{}/ws/consultations/{id}", address.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("cookie", who.cookie_header(address).parse().unwrap());
    let handshake = tokio::time::timeout(WS_WAIT, tokio_tungstenite::connect_async(request));
    handshake.await.expect("the handshake is answered within 10 s").map(|(socket, _)| socket)
}

/// The HTTP status a refused handshake was answered with.
async fn refused_with(address: &str, who: &Person, id: Uuid) -> u16 {
    match connect(address, who, id).await {
        Ok(_) => panic!("the room's WebSocket was opened"),
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("the handshake failed without an HTTP answer: {e}"),
    }
}

/// The next event on the socket (panics after 10 s or when it closes).
async fn next_event(socket: &mut Socket, waiting_for: &str) -> Value {
    loop {
        let frame = tokio::time::timeout(WS_WAIT, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no event within 10 s while waiting for {waiting_for}"))
            .unwrap_or_else(|| panic!("the socket closed while waiting for {waiting_for}"))
            .unwrap_or_else(|e| panic!("the socket failed while waiting for {waiting_for}: {e}"));
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).expect("events are JSON"),
            Message::Close(frame) => panic!("the server closed the socket ({frame:?}) while waiting for {waiting_for}"),
            _ => continue,
        }
    }
}

/// Reads events until one matches (within 10 s in all); returns it and the
/// ones skipped on the way.
async fn wait_for(socket: &mut Socket, what: &str, wanted: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
    let deadline = tokio::time::Instant::now() + WS_WAIT;
    let mut skipped = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = tokio::time::timeout(left, next_event(socket, what))
            .await
            .unwrap_or_else(|_| panic!("no {what} within 10 s; got {skipped:?}"));
        if wanted(&event) {
            return (event, skipped);
        }
        skipped.push(event);
    }
}

async fn send_event(socket: &mut Socket, event: Value) {
    socket.send(Message::text(event.to_string())).await.expect("sent");
}

fn chat(client_id: Uuid, body: &str) -> Value {
    json!({ "type": "chat", "client_id": client_id, "body": body })
}

fn is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["type"] == kind
}

/// Both instances must sign and check sessions with the same secrets, as
/// instances behind one load balancer do.
fn shared_secrets(env: &mut HashMap<String, String>) {
    env.insert("TELEHEALTH__SECURITY__JWT_SECRET".into(), "room-tests-jwt-secret-0123456789abcdefghij".into());
    env.insert(
        "TELEHEALTH__SECURITY__DATA_ENCRYPTION_KEY".into(),
        "room-tests-data-key-0123456789abcdefghijklmn".into(),
    );
}

// =====================================================================================
// The lifecycle, as the database enforces it
// =====================================================================================

#[tokio::test]
async fn the_database_allows_exactly_the_lifecycle_transitions_of_the_domain() {
    let app = spawn_app().await;
    let patient = insert_user(&app.pool, "patient").await;
    let doctor = insert_doctor(&app.pool).await;
    let all = ConsultationStatus::ALL;
    let mut mismatches = Vec::new();
    let mut changed = 0;
    for (i, &from) in all.iter().enumerate() {
        for (j, &to) in all.iter().enumerate() {
            // A fresh row in `from`, an hour of its own (no overlaps), with
            // what the CHECK constraints ask of that state.
            let hour = (i * all.len() + j) as i32;
            let id: Uuid = sqlx::query_scalar(
                "INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, status,
                                            consultation_type, started_at, ended_at, duration_minutes)
                 SELECT $1, $2, t, t + interval '30 minutes', $4::text, 'video',
                        CASE WHEN $4::text IN ('in_progress', 'completed') THEN t END,
                        CASE WHEN $4::text = 'completed' THEN t + interval '25 minutes' END,
                        CASE WHEN $4::text = 'completed' THEN 25 END
                 FROM (SELECT timestamptz '2031-01-06 09:00:00Z' + make_interval(hours => $3) AS t) AS s
                 RETURNING id",
            )
            .bind(patient)
            .bind(doctor)
            .bind(hour)
            .bind(from.as_str())
            .fetch_one(&app.pool)
            .await
            .unwrap_or_else(|e| panic!("insert a {from} consultation: {e}"));

            // Only the status changes (plus what the target state needs, so
            // that no other constraint than the lifecycle can refuse it).
            let update = sqlx::query(
                "UPDATE consultations
                 SET status = $2::text,
                     started_at = CASE WHEN $2::text IN ('in_progress', 'completed')
                                       THEN coalesce(started_at, scheduled_at) ELSE started_at END,
                     ended_at = CASE WHEN $2::text = 'completed'
                                     THEN coalesce(ended_at, scheduled_at + interval '25 minutes') ELSE ended_at END,
                     duration_minutes = CASE WHEN $2::text = 'completed'
                                             THEN coalesce(duration_minutes, 25) ELSE duration_minutes END
                 WHERE id = $1",
            )
            .bind(id)
            .bind(to.as_str())
            .execute(&app.pool)
            .await;
            let allowed = may_change(from, to);
            match &update {
                Ok(done) => {
                    assert_eq!(done.rows_affected(), 1);
                    if from != to {
                        changed += 1;
                    }
                    assert_eq!(consultation_status(&app, id).await, to.as_str());
                }
                Err(e) => {
                    assert_eq!(constraint_of(e), "consultations_lifecycle", "{from} -> {to}: {e}");
                    assert_eq!(consultation_status(&app, id).await, from.as_str(), "a refused change changed nothing");
                }
            }
            if update.is_ok() != allowed {
                mismatches.push(format!("{from} -> {to}: domain {allowed}, database {}", update.is_ok()));
            }
        }
    }
    assert!(mismatches.is_empty(), "the database and the domain disagree: {mismatches:#?}");
    assert_eq!(changed, 6, "exactly six changes of status exist");
}

// =====================================================================================
// Who may enter
// =====================================================================================

#[tokio::test]
async fn a_stranger_gets_404_for_the_room_and_is_audited() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let bea = patient(&app, "bea@example.com", ("Bea", "Costa")).await;
    let cole = doctor(&app, "cole@example.com", ("Miriam", "Cole")).await;
    let id = booked_and_paid(&app, &ana, &hart, slot_in(3)).await;

    // The two parties see the room (not yet open)…
    let view = room_ok(&app, &ana, id).await;
    assert_eq!(view["my_role"], "patient", "{view}");
    assert!(view["phase"]["NotYetOpen"]["opens"].is_string(), "{view}");
    assert_eq!(room_ok(&app, &hart.person, id).await["my_role"], "doctor");

    // …nobody else does, not even that it exists.
    let denied = audit_count(&app, "consultation.access_denied").await;
    for stranger in [&bea, &cole.person] {
        let (status, body) = room(&app, stranger, id).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["kind"], "not_found", "{body}");
    }
    assert_eq!(audit_count(&app, "consultation.access_denied").await, denied + 2);
    let who: Vec<Option<Uuid>> = sqlx::query_scalar(
        "SELECT user_id FROM audit_logs WHERE action = 'consultation.access_denied' AND resource_id = $1
         ORDER BY created_at",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(who, vec![Some(bea.user_id), Some(cole.person.user_id)]);
    // A consultation that does not exist answers the same.
    assert_eq!(room(&app, &bea, Uuid::new_v4()).await.0, 404);

    // The room's WebSocket: 404 for the stranger (audited), even once it is open.
    move_consultation(&app, id, 5).await;
    let denied = audit_count(&app, "consultation.access_denied").await;
    assert_eq!(refused_with(&app.address, &bea, id).await, 404);
    assert_eq!(refused_with(&app.address, &cole.person, id).await, 404);
    assert_eq!(audit_count(&app, "consultation.access_denied").await, denied + 2);
    assert_eq!(audit_count(&app, "consultation.room_entered").await, 0);
    // The patient gets in.
    let mut socket = connect(&app.address, &ana, id).await.expect("the patient enters the open room");
    let welcome = next_event(&mut socket, "the welcome").await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["role"], "patient", "{welcome}");
    assert_eq!(audit_count(&app, "consultation.room_entered").await, 1);
}

/// How many audit rows name this person as the one who acted (background
/// jobs write rows in nobody's name, so they do not disturb the count).
async fn audit_rows_by(app: &TestApp, who: &Person) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE user_id = $1")
        .bind(who.user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn one_view_of_the_room_writes_one_audit_row_and_a_stranger_only_the_refusal() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let bea = patient(&app, "bea@example.com", ("Bea", "Costa")).await;
    let id = open_consultation(&app, &ana, &hart).await;

    // Ana opens her room twice: each view is one row, whatever the number of
    // queries behind it.
    for view in 1..=2 {
        let before = audit_rows_by(&app, &ana).await;
        room_ok(&app, &ana, id).await;
        assert_eq!(audit_rows_by(&app, &ana).await, before + 1, "view {view}");
        let (action, resource): (String, Option<Uuid>) = sqlx::query_as(
            "SELECT action, resource_id FROM audit_logs WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(ana.user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!((action.as_str(), resource), ("consultation.viewed", Some(id)), "view {view}");
    }

    // Bea is refused: 404, and the refusal is all that is written.
    let viewed = audit_count(&app, "consultation.viewed").await;
    let before = audit_rows_by(&app, &bea).await;
    let (status, body) = room(&app, &bea, id).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("Palpitations"), "nothing of the record leaks: {body}");
    assert_eq!(audit_rows_by(&app, &bea).await, before + 1);
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_logs WHERE user_id = $1 AND resource_id = $2")
            .bind(bea.user_id)
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(actions, vec!["consultation.access_denied".to_owned()]);
    assert_eq!(audit_count(&app, "consultation.viewed").await, viewed, "a refused view is no view");
}

#[tokio::test]
async fn the_doctor_starts_the_visit_only_when_the_room_is_open() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let id = booked_and_paid(&app, &ana, &hart, slot_in(3)).await;

    // An hour ahead: too early, for the visit and for the room's WebSocket.
    move_consultation(&app, id, 60).await;
    let (status, body) = start_visit(&app, &hart.person, id).await;
    let message = conflict(status, &body);
    assert!(message.contains("too early"), "{message}");
    assert_eq!(room_ok(&app, &hart.person, id).await["can_start"], false);
    assert_eq!(refused_with(&app.address, &ana, id).await, 409);
    assert_eq!(consultation_status(&app, id).await, "scheduled");

    // Five minutes ahead: the room is open.
    move_consultation(&app, id, 5).await;
    let view = room_ok(&app, &hart.person, id).await;
    assert_eq!(view["phase"], "Waiting", "{view}");
    assert_eq!(view["can_start"], true, "{view}");
    assert_eq!(room_ok(&app, &ana, id).await["can_start"], false, "only the doctor starts");

    // The patient cannot start it.
    let (status, body) = start_visit(&app, &ana, id).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(consultation_status(&app, id).await, "scheduled");

    // The doctor can.
    let before = Utc::now() - Duration::seconds(5);
    started(&app, &hart, id).await;
    let (status, started_at): (String, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT status::text, started_at FROM consultations WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "in_progress");
    let started_at = started_at.expect("started_at is set");
    assert!(started_at >= before && started_at <= Utc::now() + Duration::seconds(5), "{started_at}");
    assert_eq!(audit_count(&app, "consultation.started").await, 1);
    let view = room_ok(&app, &ana, id).await;
    assert_eq!(view["phase"], "InProgress", "{view}");
    assert_eq!(view["status"], "in_progress", "{view}");

    // Once: a second start is a conflict and changes nothing.
    let (status, body) = start_visit(&app, &hart.person, id).await;
    conflict(status, &body);
    assert_eq!(audit_count(&app, "consultation.started").await, 1);
}

// =====================================================================================
// Notes and the record
// =====================================================================================

#[tokio::test]
async fn notes_autosave_with_versions_and_a_stale_tab_gets_a_conflict_not_an_overwrite() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let id = open_consultation(&app, &ana, &hart).await;
    started(&app, &hart, id).await;

    let notes = "BP 150/95, regular pulse 88. No oedema.";
    let diagnosis = "Essential hypertension";
    let (status, saved) = save_notes(&app, &hart.person, id, notes, diagnosis, 0).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["Saved"]["version"], 1, "{saved}");
    assert!(saved["Saved"]["at"].is_string(), "{saved}");
    assert_eq!(stored_notes(&app, id).await, (Some(notes.into()), Some(diagnosis.into()), 1));

    // A second tab, still on version 0, saves: nothing is overwritten and
    // it gets what is stored now.
    let (status, outcome) = save_notes(&app, &hart.person, id, "Stale text from the other tab", "", 0).await;
    assert_eq!(status, 200, "{outcome}");
    assert!(outcome.get("Saved").is_none(), "{outcome}");
    assert_eq!(outcome["Conflict"]["version"], 1, "{outcome}");
    assert_eq!(outcome["Conflict"]["notes"], notes, "{outcome}");
    assert_eq!(outcome["Conflict"]["diagnosis"], diagnosis, "{outcome}");
    assert_eq!(stored_notes(&app, id).await, (Some(notes.into()), Some(diagnosis.into()), 1));

    // From the version it was given, the next save goes through.
    let notes2 = format!("{notes} Started on ramipril 2.5 mg.");
    let (status, saved) = save_notes(&app, &hart.person, id, &notes2, diagnosis, 1).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["Saved"]["version"], 2, "{saved}");
    assert_eq!(stored_notes(&app, id).await, (Some(notes2.clone()), Some(diagnosis.into()), 2));

    // Too long a diagnosis: 422 on the field, nothing stored.
    let (status, body) = save_notes(&app, &hart.person, id, "x", &"d".repeat(4001), 2).await;
    assert_eq!(status, 422, "{body}");
    assert!(!field_messages(&body, "diagnosis").is_empty());
    assert_eq!(stored_notes(&app, id).await, (Some(notes2.clone()), Some(diagnosis.into()), 2));

    // The patient writes no notes.
    let (status, body) = save_notes(&app, &ana, id, "mine", "", 2).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(stored_notes(&app, id).await.2, 2);

    let view = room_ok(&app, &hart.person, id).await;
    assert_eq!(view["notes"], notes2.as_str(), "{view}");
    assert_eq!(view["notes_version"], 2, "{view}");
    let saves: Vec<Value> = sqlx::query_scalar(
        "SELECT details FROM audit_logs WHERE action = 'consultation.notes_saved' ORDER BY created_at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let saved_flags: Vec<&Value> = saves.iter().map(|d| &d["saved"]).collect();
    assert_eq!(saved_flags, vec![&json!(true), &json!(false), &json!(true)], "{saves:?}");
    assert!(saves.iter().all(|d| !d.to_string().contains("BP 150")), "the audit never holds the text: {saves:?}");
}

#[tokio::test]
async fn completing_locks_the_record_and_corrections_are_addenda() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let id = open_consultation(&app, &ana, &hart).await;
    started(&app, &hart, id).await;
    let before = total_consultations(&app, hart.id).await;

    // Before completion, addenda are refused (the notes are still editable).
    let (status, body) = post_answer(
        &app,
        &hart.person.client,
        "/api/add_addendum",
        &form(&[("consultation_id", &id.to_string()), ("body", "Early")]),
    )
    .await;
    conflict(status, &body);

    let notes = "Private working notes: anxious, family history of MI.";
    let diagnosis = "Benign palpitations";
    let (status, outcome) = complete_visit(&app, &hart.person, id, notes, diagnosis, 0).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["Saved"]["version"], 1, "{outcome}");
    let (status, ended_at, minutes): (String, Option<DateTime<Utc>>, Option<i32>) =
        sqlx::query_as("SELECT status::text, ended_at, duration_minutes FROM consultations WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "completed");
    assert!(ended_at.is_some());
    assert!(minutes.expect("a duration") >= 1);
    assert_eq!(total_consultations(&app, hart.id).await, before + 1, "the visit counts for the doctor");
    assert_eq!(audit_count(&app, "consultation.completed").await, 1);

    // The record is locked: through the API…
    let (status, body) = save_notes(&app, &hart.person, id, "Changed afterwards", diagnosis, 1).await;
    let message = conflict(status, &body);
    assert!(message.contains("addendum"), "{message}");
    let (status, body) = complete_visit(&app, &hart.person, id, notes, diagnosis, 1).await;
    conflict(status, &body);
    assert_eq!(total_consultations(&app, hart.id).await, before + 1, "counted once");
    // …and in the database itself.
    let err = sqlx::query("UPDATE consultations SET notes = 'rewritten history' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .expect_err("a completed record cannot be edited");
    assert_eq!(constraint_of(&err), "consultations_record_locked", "{err}");
    let err = sqlx::query("UPDATE consultations SET diagnosis = NULL WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .expect_err("a completed record cannot be edited");
    assert_eq!(constraint_of(&err), "consultations_record_locked", "{err}");
    assert_eq!(stored_notes(&app, id).await, (Some(notes.into()), Some(diagnosis.into()), 1));

    // Corrections are addenda; an empty one is refused and nothing is stored.
    let addendum = |body: &str| form(&[("consultation_id", &id.to_string()), ("body", body)]);
    let (status, body) = post_answer(&app, &hart.person.client, "/api/add_addendum", &addendum("   ")).await;
    assert_eq!(status, 422, "{body}");
    field_messages(&body, "body");
    assert_eq!(count_rows(&app, "consultation_addenda").await, 0);
    // The patient adds none.
    let (status, body) = post_answer(&app, &ana.client, "/api/add_addendum", &addendum("My own addendum")).await;
    assert_eq!(status, 403, "{body}");
    let text = "Correction: the ECG was done on the 3rd, not the 2nd.";
    let (status, body) = post_answer(&app, &hart.person.client, "/api/add_addendum", &addendum(text)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(count_rows(&app, "consultation_addenda").await, 1);
    assert_eq!(audit_count(&app, "consultation.addendum_added").await, 1);

    // The patient sees the diagnosis and the addendum, never the notes.
    let view = room_ok(&app, &ana, id).await;
    assert_eq!(view["status"], "completed", "{view}");
    assert_eq!(view["phase"], "Closed", "{view}");
    assert_eq!(view["diagnosis"], diagnosis, "{view}");
    assert!(view["notes"].is_null(), "the patient never sees the notes: {view}");
    assert!(!view.to_string().contains("family history"), "{view}");
    let addenda = view["addenda"].as_array().unwrap();
    assert_eq!(addenda.len(), 1, "{view}");
    assert_eq!(addenda[0]["body"], text);
    assert_eq!(addenda[0]["author"], "Dr Gregory Hart");
    assert!(view["duration_minutes"].as_i64().unwrap() >= 1, "{view}");
    // The doctor sees the notes too.
    let view = room_ok(&app, &hart.person, id).await;
    assert_eq!(view["notes"], notes, "{view}");
    assert_eq!(view["diagnosis"], diagnosis, "{view}");
    assert_eq!(view["can_add_addendum"], true, "{view}");
    assert_eq!(view["can_complete"], false, "{view}");
    let views: Vec<Value> = sqlx::query_scalar(
        "SELECT details FROM audit_logs WHERE action = 'consultation.viewed' AND resource_id = $1 ORDER BY created_at",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let last_two: Vec<(&Value, &Value)> =
        views.iter().rev().take(2).rev().map(|d| (&d["side"], &d["notes_included"])).collect();
    assert_eq!(last_two, vec![(&json!("patient"), &json!(false)), (&json!("doctor"), &json!(true))]);
}

// =====================================================================================
// Prescriptions
// =====================================================================================

fn amoxicillin() -> Value {
    json!({
        "name": "Amoxicillin",
        "strength": "500 mg",
        "form": "capsule",
        "dose": "1 capsule",
        "route": "oral",
        "frequency": "three times a day",
        "duration": "7 days",
        "quantity": "21",
        "refills": "",
        "notes": ""
    })
}

fn prescription_request(id: Uuid, medications: Vec<Value>, follow_up: &str, supersedes: Option<Uuid>) -> Value {
    json!({
        "consultation_id": id,
        "prescription": {
            "medications": medications,
            "instructions": "Finish the whole course.",
            "follow_up_date": follow_up,
        },
        "supersedes": supersedes,
    })
}

#[tokio::test]
async fn prescriptions_are_validated_versioned_and_downloadable() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let bea = patient(&app, "bea@example.com", ("Bea", "Costa")).await;
    let id = open_consultation(&app, &ana, &hart).await;

    // Before the visit: no prescriptions.
    let req = prescription_request(id, vec![amoxicillin()], "", None);
    let (status, body) = post_json(&app, &hart.person, "/api/issue_prescription", &req).await;
    conflict(status, &body);
    started(&app, &hart, id).await;

    // Bad input: every problem is named, nothing is stored.
    let mut nameless = amoxicillin();
    nameless["name"] = json!("  ");
    nameless["quantity"] = json!("-5");
    let req = prescription_request(id, vec![nameless], "2020-01-01", None);
    let (status, body) = post_json(&app, &hart.person, "/api/issue_prescription", &req).await;
    assert_eq!(status, 422, "{body}");
    assert!(!field_messages(&body, "medications.0.name").is_empty());
    let quantity = field_messages(&body, "medications.0.quantity");
    assert!(quantity[0].contains("negative"), "{quantity:?}");
    assert!(!field_messages(&body, "follow_up_date").is_empty());
    let req = prescription_request(id, vec![], "", None);
    let (status, body) = post_json(&app, &hart.person, "/api/issue_prescription", &req).await;
    assert_eq!(status, 422, "{body}");
    field_messages(&body, "medications");
    assert_eq!(count_rows(&app, "prescriptions").await, 0);
    assert_eq!(audit_count(&app, "prescription.issued").await, 0);

    // A valid one.
    let follow_up = (Utc::now() + Duration::days(14)).date_naive().to_string();
    let req = prescription_request(id, vec![amoxicillin()], &follow_up, None);
    let (status, body) = post_json(&app, &hart.person, "/api/issue_prescription", &req).await;
    assert_eq!(status, 200, "{body}");
    let v1: Uuid = body.as_str().expect("the prescription's id").parse().unwrap();
    // Only the doctor prescribes.
    let (status, body) = post_json(&app, &ana, "/api/issue_prescription", &req).await;
    assert_eq!(status, 403, "{body}");

    // A correction supersedes it.
    let mut corrected = amoxicillin();
    corrected["quantity"] = json!("15");
    corrected["duration"] = json!("5 days");
    let req = prescription_request(id, vec![corrected.clone()], &follow_up, Some(v1));
    let (status, body) = post_json(&app, &hart.person, "/api/issue_prescription", &req).await;
    assert_eq!(status, 200, "{body}");
    let v2: Uuid = body.as_str().expect("the prescription's id").parse().unwrap();
    assert_ne!(v1, v2);
    let rows: Vec<(Uuid, i32, bool, Option<Uuid>)> = sqlx::query_as(
        "SELECT id, version, is_active, supersedes_id FROM prescriptions WHERE consultation_id = $1 ORDER BY version",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows, vec![(v1, 1, false, None), (v2, 2, true, Some(v1))]);
    // The old version cannot be corrected a second time.
    let req = prescription_request(id, vec![corrected], &follow_up, Some(v1));
    let (status, body) = post_json(&app, &hart.person, "/api/issue_prescription", &req).await;
    conflict(status, &body);
    assert_eq!(count_rows(&app, "prescriptions").await, 2);
    assert_eq!(audit_count(&app, "prescription.issued").await, 2);

    // The patient's list: the current version, and the history.
    let (status, mine) = get_answer(&app, &ana.client, "/api/my_prescriptions").await;
    assert_eq!(status, 200, "{mine}");
    let ids = |list: &Value| -> Vec<(String, i64)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_owned(), p["version"].as_i64().unwrap()))
            .collect()
    };
    assert_eq!(ids(&mine["current"]), vec![(v2.to_string(), 2)], "{mine}");
    assert_eq!(ids(&mine["history"]), vec![(v1.to_string(), 1)], "{mine}");
    assert_eq!(mine["current"][0]["medications"][0]["quantity"], 15, "{mine}");
    assert_eq!(mine["current"][0]["supersedes_id"], v1.to_string(), "{mine}");
    assert_eq!(mine["current"][0]["is_active"], true);
    assert_eq!(mine["history"][0]["is_active"], false);
    assert_eq!(audit_count(&app, "prescription.list_viewed").await, 1);
    // Another patient's list is empty.
    let (status, theirs) = get_answer(&app, &bea.client, "/api/my_prescriptions").await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["current"], json!([]));
    assert_eq!(theirs["history"], json!([]));

    // The PDF: for the patient and the doctor…
    for (who, person) in [("patient", &ana), ("doctor", &hart.person)] {
        let res = person.client.get(format!("{}/prescriptions/{v2}/pdf", app.address)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{who}");
        assert_eq!(res.headers()["content-type"], "application/pdf", "{who}");
        let bytes = res.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF"), "{who}: {:?}", &bytes[..bytes.len().min(16)]);
    }
    assert_eq!(audit_count(&app, "prescription.downloaded").await, 2);
    // …for nobody else (audited), and not for someone signed out.
    let denied = audit_count(&app, "consultation.access_denied").await;
    let res = bea.client.get(format!("{}/prescriptions/{v2}/pdf", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(audit_count(&app, "consultation.access_denied").await, denied + 1);
    let res = browser(None).get(format!("{}/prescriptions/{v2}/pdf", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(audit_count(&app, "prescription.downloaded").await, 2);
}

// =====================================================================================
// Reviews
// =====================================================================================

#[tokio::test]
async fn a_review_is_allowed_once_after_completion_and_the_rating_is_exact() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let bea = patient(&app, "bea@example.com", ("Bea", "Costa")).await;
    let id = open_consultation(&app, &ana, &hart).await;

    // Out of range: the field says so, nothing is stored.
    for bad in ["6", "0", "five", ""] {
        let (status, body) = review(&app, &ana, id, bad, "Great").await;
        assert_eq!(status, 422, "{bad:?}: {body}");
        field_messages(&body, "rating");
    }
    // Before the visit is completed (scheduled, then under way): 409.
    let (status, body) = review(&app, &ana, id, "5", "").await;
    conflict(status, &body);
    started(&app, &hart, id).await;
    let (status, body) = review(&app, &ana, id, "5", "").await;
    conflict(status, &body);
    assert_eq!(count_rows(&app, "reviews").await, 0);

    let (status, body) = complete_visit(&app, &hart.person, id, "", "Benign palpitations", 0).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(room_ok(&app, &ana, id).await["can_review"], true);

    // Only its own patient reviews it.
    let (status, body) = review(&app, &bea, id, "1", "Never met him").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = review(&app, &hart.person, id, "5", "").await;
    assert_eq!(status, 403, "{body}");

    let (status, body) = review(&app, &ana, id, "5", "Clear and kind.").await;
    assert_eq!(status, 200, "{body}");
    // Once.
    let (status, body) = review(&app, &ana, id, "1", "Changed my mind").await;
    let message = conflict(status, &body);
    assert!(message.contains("already"), "{message}");
    let stored: (i16, Option<String>) =
        sqlx::query_as("SELECT rating, comment FROM reviews WHERE consultation_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, (5, Some("Clear and kind.".into())));
    let view = room_ok(&app, &ana, id).await;
    assert_eq!(view["can_review"], false, "{view}");
    assert_eq!(view["review"]["rating"], 5, "{view}");

    // Two earlier visits, rated 4 and 4: 13 / 3 = 4.33 exactly as kept.
    for days_ago in [10, 20] {
        let earlier = completed_in_the_past(&app, &ana, &hart, days_ago).await;
        let (status, body) = review(&app, &ana, earlier, "4", "").await;
        assert_eq!(status, 200, "{body}");
    }
    let (rating, review_count, rating_total): (Option<String>, i32, i32) =
        sqlx::query_as("SELECT rating::text, review_count, rating_total FROM doctors WHERE id = $1")
            .bind(hart.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((rating.as_deref(), review_count, rating_total), (Some("4.33"), 3, 13));
    assert_eq!(count_rows(&app, "reviews").await, 3);
    assert_eq!(audit_count(&app, "consultation.reviewed").await, 3);
}

// =====================================================================================
// The live room: two server instances, one chat
// =====================================================================================

#[tokio::test]
async fn chat_goes_through_two_server_instances_and_is_kept() {
    let app = spawn_app_with(shared_secrets).await;
    let second = spawn_second_instance(&app, shared_secrets).await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let id = open_consultation(&app, &ana, &hart).await;

    // The patient waits on instance A.
    let mut patient_ws = connect(&app.address, &ana, id).await.expect("the patient enters on A");
    let welcome = next_event(&mut patient_ws, "the patient's welcome").await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["role"], "patient");
    assert_eq!(welcome["status"], "scheduled");

    // Before the visit starts, chat is refused and nothing is stored.
    send_event(&mut patient_ws, chat(Uuid::new_v4(), "Hello, is anyone there?")).await;
    let (refused, _) = wait_for(&mut patient_ws, "a refusal before the start", is("refused")).await;
    assert!(refused["message"].as_str().unwrap().contains("under way"), "{refused}");
    assert_eq!(count_rows(&app, "chat_messages").await, 0);

    // The doctor joins on instance B: each sees the other arrive.
    let mut doctor_ws = connect(&second, &hart.person, id).await.expect("the doctor enters on B");
    let welcome = next_event(&mut doctor_ws, "the doctor's welcome").await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["role"], "doctor");
    let (presence, _) = wait_for(&mut patient_ws, "the doctor's presence", |e| {
        e["type"] == "presence" && e["role"] == "doctor" && e["present"] == true
    })
    .await;
    assert_eq!(presence["name"], "Dr Gregory Hart", "{presence}");
    let (presence, _) = wait_for(&mut doctor_ws, "the patient's presence", |e| {
        e["type"] == "presence" && e["role"] == "patient" && e["present"] == true
    })
    .await;
    assert_eq!(presence["name"], "Ana Silva", "{presence}");
    assert_eq!(audit_count(&app, "consultation.room_entered").await, 2);

    // The doctor starts the visit (through A); both sides hear it.
    started(&app, &hart, id).await;
    for socket in [&mut patient_ws, &mut doctor_ws] {
        let (state, _) = wait_for(socket, "the new status", is("state")).await;
        assert_eq!(state["status"], "in_progress", "{state}");
    }

    // The patient writes on A; the doctor reads it on B.
    let client_id = Uuid::new_v4();
    let text = "The palpitations started again this morning.";
    send_event(&mut patient_ws, chat(client_id, text)).await;
    let (event, _) = wait_for(&mut doctor_ws, "the patient's message", is("chat")).await;
    let message = &event["message"];
    assert_eq!(message["body"], text, "{event}");
    assert_eq!(message["client_id"], client_id.to_string(), "{event}");
    assert_eq!(message["sender_role"], "patient", "{event}");
    assert_eq!(message["sender_name"], "Ana Silva", "{event}");
    let message_id = message["id"].as_str().unwrap().to_owned();
    // The sender sees it come back as stored.
    let (echo, _) = wait_for(&mut patient_ws, "the patient's own message", is("chat")).await;
    assert_eq!(echo["message"]["id"], message_id.as_str(), "{echo}");
    let stored: Vec<(Uuid, Uuid, String)> =
        sqlx::query_as("SELECT sender_id, client_id, body FROM chat_messages WHERE consultation_id = $1")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, vec![(ana.user_id, client_id, text.to_owned())]);

    // The same message again (a resend after a reconnect): stored once.
    send_event(&mut patient_ws, chat(client_id, text)).await;
    let (again, _) = wait_for(&mut doctor_ws, "the resent message", is("chat")).await;
    assert_eq!(again["message"]["id"], message_id.as_str(), "the same stored message: {again}");
    assert_eq!(count_rows(&app, "chat_messages").await, 1);

    // Too long: refused, not stored, not relayed.
    send_event(&mut patient_ws, chat(Uuid::new_v4(), &"x".repeat(2001))).await;
    let (refused, skipped) = wait_for(&mut patient_ws, "a refusal of a long message", is("refused")).await;
    assert!(refused["message"].as_str().unwrap().contains("2000"), "{refused}");
    assert!(skipped.iter().all(|e| e["type"] != "chat" || e["message"]["id"] == message_id.as_str()), "{skipped:?}");
    assert_eq!(count_rows(&app, "chat_messages").await, 1);

    // The doctor answers on B; the patient reads it on A.
    let answer = "Please keep a diary of when they happen.";
    send_event(&mut doctor_ws, chat(Uuid::new_v4(), answer)).await;
    let (event, skipped) = wait_for(&mut patient_ws, "the doctor's answer", |e| {
        e["type"] == "chat" && e["message"]["sender_role"] == "doctor"
    })
    .await;
    assert_eq!(event["message"]["body"], answer, "{event}");
    assert!(
        skipped.iter().all(|e| e["type"] != "chat" || e["message"]["id"] == message_id.as_str()),
        "the long message was never relayed: {skipped:?}"
    );
    assert_eq!(count_rows(&app, "chat_messages").await, 2);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT details->>'message_id') FROM audit_logs WHERE action = 'chat.message_sent'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2, "each stored message is audited");

    // The chat is kept with the record.
    for who in [&ana, &hart.person] {
        let view = room_ok(&app, who, id).await;
        let bodies: Vec<&str> =
            view["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, vec![text, answer], "{view}");
    }

    // The patient leaves; the doctor on the other instance sees it.
    patient_ws.close(None).await.unwrap();
    let (gone, _) = wait_for(&mut doctor_ws, "the patient leaving", |e| {
        e["type"] == "presence" && e["role"] == "patient" && e["present"] == false
    })
    .await;
    assert_eq!(gone["name"], "Ana Silva");
}

fn signal(data: Value) -> Value {
    json!({ "type": "signal", "data": data })
}

fn typing() -> Value {
    json!({ "type": "typing" })
}

/// Connects and reads the welcome; answers the socket and this connection's id.
async fn entered(app: &TestApp, who: &Person, id: Uuid) -> (Socket, String) {
    let mut socket = connect(&app.address, who, id).await.expect("a party enters the open room");
    let welcome = next_event(&mut socket, "the welcome").await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    (socket, welcome["conn"].as_str().unwrap().to_owned())
}

/// Waits until the other side is present (so that what follows is sent to someone).
async fn sees_arrival(socket: &mut Socket, role: &str) {
    wait_for(socket, "the other side's presence", |e| {
        e["type"] == "presence" && e["role"] == role && e["present"] == true
    })
    .await;
}

#[tokio::test]
async fn before_the_doctor_starts_the_visit_signalling_and_typing_reach_nobody() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let id = open_consultation(&app, &ana, &hart).await;
    let (mut patient_ws, patient_conn) = entered(&app, &ana, id).await;
    let (mut doctor_ws, _) = entered(&app, &hart.person, id).await;
    // Presence travels before the start.
    sees_arrival(&mut patient_ws, "doctor").await;
    sees_arrival(&mut doctor_ws, "patient").await;

    // In the waiting room, both try to set up the call and type: the
    // signals are refused to their senders, the typing goes nowhere.
    for socket in [&mut patient_ws, &mut doctor_ws] {
        send_event(socket, typing()).await;
        send_event(socket, signal(json!({ "sdp": "v=0 an offer before the start" }))).await;
        let (refused, skipped) = wait_for(socket, "the refusal of an early signal", is("refused")).await;
        assert!(refused["message"].as_str().unwrap().contains("starts the visit"), "{refused}");
        assert!(skipped.iter().all(|e| e["type"] != "signal" && e["type"] != "typing"), "{skipped:?}");
    }

    // The doctor starts the visit: the state change is the next thing each
    // side hears, with nothing from the waiting room before it.
    started(&app, &hart, id).await;
    for (who, socket) in [("patient", &mut patient_ws), ("doctor", &mut doctor_ws)] {
        let (state, skipped) = wait_for(socket, "the new status", is("state")).await;
        assert_eq!(state["status"], "in_progress", "{state}");
        assert!(skipped.iter().all(|e| e["type"] != "signal" && e["type"] != "typing"), "{who} got {skipped:?}");
    }

    // Under way, typing and signalling go through; an offer too big for a
    // NOTIFY is parked in the relay table, which the hub reads as the system.
    send_event(&mut patient_ws, typing()).await;
    let (typed, skipped) = wait_for(&mut doctor_ws, "the patient typing", is("typing")).await;
    assert_eq!(typed["role"], "patient", "{typed}");
    assert!(skipped.iter().all(|e| e["type"] != "signal"), "{skipped:?}");
    let offer = format!("v=0 {}", "a=candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host\r\n".repeat(400));
    assert!(offer.len() > 8000, "bigger than a NOTIFY payload");
    send_event(&mut patient_ws, signal(json!({ "sdp": offer }))).await;
    let (relayed, _) = wait_for(&mut doctor_ws, "the patient's offer", is("signal")).await;
    assert_eq!(relayed["from"], patient_conn.as_str(), "{}", &relayed.to_string()[..200]);
    assert_eq!(relayed["data"]["sdp"], offer.as_str(), "the offer arrives whole");
    assert!(count_rows(&app, "room_relay").await >= 1, "the offer went through the relay table");
}

#[tokio::test]
async fn a_chat_consultation_has_no_call_and_its_signals_never_reach_the_other_side() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    sqlx::query("UPDATE doctors SET consultation_types = '{video,audio,chat}' WHERE id = $1")
        .bind(hart.id)
        .execute(&app.pool)
        .await
        .unwrap();
    let ana = ana(&app).await;
    let id = booked_and_paid_as(&app, &ana, &hart, slot_in(3), "chat").await;
    move_consultation(&app, id, 5).await;
    let (mut patient_ws, _) = entered(&app, &ana, id).await;
    let (mut doctor_ws, _) = entered(&app, &hart.person, id).await;
    sees_arrival(&mut patient_ws, "doctor").await;
    sees_arrival(&mut doctor_ws, "patient").await;
    started(&app, &hart, id).await;
    for socket in [&mut patient_ws, &mut doctor_ws] {
        let (state, _) = wait_for(socket, "the new status", is("state")).await;
        assert_eq!(state["status"], "in_progress", "{state}");
    }

    // The visit is under way, and still: no call. Each sender is told why.
    for socket in [&mut patient_ws, &mut doctor_ws] {
        send_event(socket, signal(json!({ "sdp": "v=0 an offer in a chat consultation" }))).await;
        let (refused, _) = wait_for(socket, "the refusal of a signal", is("refused")).await;
        assert!(refused["message"].as_str().unwrap().contains("chat consultation"), "{refused}");
    }

    // The chat works, and it is the first thing the doctor receives: the
    // patient's offer never arrived.
    send_event(&mut patient_ws, chat(Uuid::new_v4(), "Can you read me?")).await;
    let (message, skipped) = wait_for(&mut doctor_ws, "the patient's message", is("chat")).await;
    assert_eq!(message["message"]["body"], "Can you read me?", "{message}");
    assert!(skipped.iter().all(|e| e["type"] != "signal"), "a signal reached the doctor: {skipped:?}");
    send_event(&mut doctor_ws, chat(Uuid::new_v4(), "Yes, go ahead.")).await;
    let (answer, skipped) = wait_for(&mut patient_ws, "the doctor's answer", |e| {
        e["type"] == "chat" && e["message"]["sender_role"] == "doctor"
    })
    .await;
    assert_eq!(answer["message"]["body"], "Yes, go ahead.", "{answer}");
    assert!(skipped.iter().all(|e| e["type"] != "signal"), "a signal reached the patient: {skipped:?}");
    assert_eq!(count_rows(&app, "room_relay").await, 0, "nothing was parked either");
}

// =====================================================================================
// No-shows
// =====================================================================================

#[tokio::test]
async fn a_scheduled_visit_nobody_started_becomes_a_no_show_after_the_grace_period() {
    let app = spawn_app().await;
    let hart = dr_hart(&app).await;
    let ana = ana(&app).await;
    let long_over = booked_and_paid(&app, &ana, &hart, slot_in(3)).await;
    let in_grace = booked_and_paid(&app, &ana, &hart, slot_in(4)).await;
    let waiting = booked_and_paid(&app, &ana, &hart, slot_in(5)).await;

    // Ended an hour ago (past the 15 minutes' grace), and 12 minutes ago (within it).
    move_consultation(&app, long_over, -90).await;
    move_consultation(&app, in_grace, -42).await;
    let state = app_state(&app);
    let swept = telehealth::server::services::room::sweep_no_shows(&state).await.expect("the sweep runs");
    assert!(swept <= 1, "{swept}");
    assert_eq!(consultation_status(&app, long_over).await, "no_show");
    assert_eq!(consultation_status(&app, in_grace).await, "scheduled", "still within the grace period");
    assert_eq!(consultation_status(&app, waiting).await, "scheduled");
    let marked: Vec<(Option<Uuid>, Option<Uuid>, Value)> = sqlx::query_as(
        "SELECT user_id, resource_id, details FROM audit_logs WHERE action = 'consultation.no_show' ORDER BY created_at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(marked, vec![(None, Some(long_over), json!({ "marked_by": "system" }))]);
    // Each visit once.
    assert_eq!(telehealth::server::services::room::sweep_no_shows(&state).await.unwrap(), 0);
    // A no-show's room is closed.
    let (status, body) = start_visit(&app, &hart.person, long_over).await;
    conflict(status, &body);
    assert_eq!(room_ok(&app, &ana, long_over).await["phase"], "Closed");

    // The doctor marks a no-show: not before 10 minutes past the start…
    move_consultation(&app, waiting, 5).await;
    let (status, body) = post_answer(&app, &hart.person.client, "/api/mark_no_show", &with_id(waiting)).await;
    let message = conflict(status, &body);
    assert!(message.contains("10 minutes"), "{message}");
    assert_eq!(consultation_status(&app, waiting).await, "scheduled");
    move_consultation(&app, waiting, -11).await;
    assert_eq!(room_ok(&app, &hart.person, waiting).await["can_mark_no_show"], true);
    // …and only the doctor.
    let (status, body) = post_answer(&app, &ana.client, "/api/mark_no_show", &with_id(waiting)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = post_answer(&app, &hart.person.client, "/api/mark_no_show", &with_id(waiting)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(consultation_status(&app, waiting).await, "no_show");
    let (status, body) = post_answer(&app, &hart.person.client, "/api/mark_no_show", &with_id(waiting)).await;
    conflict(status, &body);
    let by_doctor: Vec<(Option<Uuid>, Value)> = sqlx::query_as(
        "SELECT user_id, details FROM audit_logs WHERE action = 'consultation.no_show' AND resource_id = $1",
    )
    .bind(waiting)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(by_doctor, vec![(Some(hart.person.user_id), json!({ "marked_by": "doctor" }))]);
}

// =====================================================================================
// Behind nginx: two instances, one session, one room
// =====================================================================================

/// Debian's nginx on a free loopback port in front of the given instances
/// (round robin), logging which instance served each request. It stops,
/// and its directory goes, with the test.
struct Nginx {
    child: std::process::Child,
    dir: std::path::PathBuf,
    address: String,
}

impl Nginx {
    async fn start(instances: &[&str]) -> Nginx {
        let dir = std::env::temp_dir().join(format!("telehealth-nginx-{}", Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let servers: String =
            instances.iter().map(|a| format!("        server {};\n", a.trim_start_matches("http://"))).collect();
        let d = dir.display();
        // One process, no privilege drop, every file in the test's directory.
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n\
                 log_format upstream '$request_method $uri $status $upstream_addr';\n\
                 access_log {d}/access.log upstream;\n\
                 client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;\n\
                 uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
                 map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n\
                 upstream telehealth {{\n{servers}    }}\n\
                 server {{\n\
                     listen 127.0.0.1:{port};\n\
                     location / {{\n\
                         proxy_pass http://telehealth;\n\
                         proxy_http_version 1.1;\n\
                         proxy_set_header Host $http_host;\n\
                         proxy_set_header Upgrade $http_upgrade;\n\
                         proxy_set_header Connection $connection_upgrade;\n\
                         proxy_set_header X-Forwarded-For $remote_addr;\n\
                         proxy_read_timeout 1h;\n\
                     }}\n\
                 }}\n\
             }}\n"
        );
        std::fs::write(dir.join("nginx.conf"), config).unwrap();
        let binary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("nginx (Debian's nginx-light; .ci/bootstrap installs it)");
        let child = std::process::Command::new(binary)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx starts");
        let nginx = Nginx { child, dir, address: format!("http://127.0.0.1:{port}") };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return nginx;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("nginx did not listen: {}", std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default());
    }

    /// The instance (host:port) that served each logged request for `uri`.
    /// A WebSocket is logged when it closes.
    fn served(&self, uri: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                (fields.get(1) == Some(&uri)).then(|| fields.get(3).unwrap_or(&"").to_string())
            })
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn behind_nginx_two_instances_serve_one_session_and_one_room() {
    let app = spawn_app_with(shared_secrets).await;
    let second = spawn_second_instance(&app, shared_secrets).await;
    let nginx = Nginx::start(&[&app.address, &second]).await;
    let instances =
        [app.address.trim_start_matches("http://").to_owned(), second.trim_start_matches("http://").to_owned()];
    let hart = dr_hart(&app).await;
    ana(&app).await;

    // One session: signed in through nginx, then every request, whichever
    // instance serves it, knows who it is.
    let patient = signed_in_at(&app, &nginx.address, "ana@example.com").await;
    for _ in 0..4 {
        let me: Value =
            patient.client.get(format!("{}/api/me", nginx.address)).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["first_name"], "Ana", "{me}");
    }
    let served = nginx.served("/api/me");
    assert_eq!(served.len(), 4, "{served:?}");
    for instance in &instances {
        assert!(served.contains(instance), "{instance} served none of {served:?}");
    }

    // One room: the patient and the doctor each enter through nginx.
    let id = open_consultation(&app, &patient, &hart).await;
    let doctor = signed_in_at(&app, &nginx.address, "hart@example.com").await;
    let mut patient_ws = connect(&nginx.address, &patient, id).await.expect("the patient enters through nginx");
    assert_eq!(next_event(&mut patient_ws, "the patient's welcome").await["type"], "welcome");
    let mut doctor_ws = connect(&nginx.address, &doctor, id).await.expect("the doctor enters through nginx");
    assert_eq!(next_event(&mut doctor_ws, "the doctor's welcome").await["type"], "welcome");
    wait_for(&mut patient_ws, "the doctor's presence", |e| e["type"] == "presence" && e["role"] == "doctor").await;

    let (status, body) = {
        let res = doctor
            .client
            .post(format!("{}/api/start_visit", nginx.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(with_id(id))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    assert_eq!(status, 200, "{body}");
    for socket in [&mut patient_ws, &mut doctor_ws] {
        let (state, _) = wait_for(socket, "the visit's start", is("state")).await;
        assert_eq!(state["status"], "in_progress", "{state}");
    }
    let text = "The palpitations stopped after the new dose.";
    send_event(&mut patient_ws, chat(Uuid::new_v4(), text)).await;
    let (event, _) = wait_for(&mut doctor_ws, "the patient's message", is("chat")).await;
    assert_eq!(event["message"]["body"], text, "{event}");

    // nginx logs each socket as it closes: the two sides were on different instances.
    patient_ws.close(None).await.unwrap();
    doctor_ws.close(None).await.unwrap();
    let path = format!("/ws/consultations/{id}");
    let mut sockets = nginx.served(&path);
    for _ in 0..100 {
        if sockets.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        sockets = nginx.served(&path);
    }
    assert_eq!(sockets.len(), 2, "{sockets:?}");
    assert_ne!(sockets[0], sockets[1], "both sockets went to one instance: {sockets:?}");
    assert!(sockets.iter().all(|s| instances.contains(s)), "{sockets:?}");
}
