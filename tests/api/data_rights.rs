//! Data rights: deleting an account anonymises the person and keeps the
//! records the law requires; a patient downloads everything held about them,
//! as JSON and as a FHIR R4 Bundle, and only their own.
//!
//! Histories are made through the real flows: sign-up, booking and payment,
//! the doctor starting and completing the visit, prescriptions (corrected
//! once), an addendum, a review; chat messages go through the room's service
//! (the WebSocket's own path). Consultations are booked hours ahead and then
//! moved in SQL to open the room, as in `room.rs`.

use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use telehealth::domain::Role;
use telehealth::server::auth::session::CurrentUser;
use telehealth::server::services::auth::RequestMeta;
use uuid::Uuid;

const NOTES: &str = "PRIVATE: patient seemed anxious; consider holter next time.";

struct Person {
    client: reqwest::Client,
    id: Uuid,
}

struct Doctor {
    client: reqwest::Client,
    user_id: Uuid,
    id: Uuid,
}

async fn patient(app: &TestApp, email: &str, name: (&str, &str)) -> Person {
    let (client, id) = signed_up_and_in(app, email, name, "patient").await;
    Person { client, id }
}

async fn doctor(app: &TestApp, email: &str, name: (&str, &str)) -> Doctor {
    let (client, user_id, id) = bookable_doctor(app, email, name).await;
    Doctor { client, user_id, id }
}

/// Fills in every personal detail of the profile (through the profile form).
async fn full_profile(app: &TestApp, who: &Person, first: &str, last: &str, city: &str) {
    let fields = [
        ("first_name", first),
        ("last_name", last),
        ("phone", "+351 912 345 678"),
        ("date_of_birth", "1990-04-02"),
        ("gender", "female"),
        ("address", "Rua das Flores 12"),
        ("city", city),
        ("state", "Lisboa"),
        ("country", "PT"),
        ("pincode", "1000-001"),
        ("timezone", "Europe/Lisbon"),
        ("preferred_language", "pt-PT"),
    ];
    let body = fields.iter().map(|(k, v)| format!("profile%5B{k}%5D={}", urlencode(v))).collect::<Vec<_>>().join("&");
    let (status, answer) = post_answer(app, &who.client, "/api/update_profile", &body).await;
    assert_eq!(status, 200, "{answer}");
}

fn medication(name: &str, quantity: &str) -> Value {
    json!({
        "name": name, "strength": "500 mg", "form": "capsule", "dose": "1 capsule", "route": "oral",
        "frequency": "three times a day", "duration": "7 days", "quantity": quantity, "refills": "", "notes": ""
    })
}

/// What a completed visit left behind.
struct Visit {
    id: Uuid,
    /// Version 1 (two medications, superseded) and version 2 (one medication).
    prescriptions: [Uuid; 2],
    chat: [String; 2],
}

/// The service's view of a signed-in person (for sending chat the way the
/// room's WebSocket does).
fn acting(user_id: Uuid, role: Role) -> CurrentUser {
    CurrentUser { user_id, role, family_id: Uuid::new_v4() }
}

/// A whole visit: booked and paid, started, chat both ways, completed with
/// private notes and a diagnosis, a prescription corrected once, an
/// addendum, a review; then each party opens the record once.
async fn completed_visit(app: &TestApp, who: &Person, dr: &Doctor, tag: &str) -> Visit {
    let state = app_state(app);
    let id = book_and_pay(app, &who.client, dr.id, half_hour_slot_in(3), &format!("{tag}: chest pain on stairs")).await;
    move_consultation(app, id, 5).await;
    let with_id = form(&[("consultation_id", &id.to_string())]);
    let (status, body) = post_answer(app, &dr.client, "/api/start_visit", &with_id).await;
    assert_eq!(status, 200, "{body}");

    let chat = [format!("{tag}: it hurts when I climb"), format!("{tag}: how long has it lasted?")];
    let room = telehealth::server::services::room::send_chat;
    let meta = RequestMeta::default();
    room(&state, acting(who.id, Role::Patient), id, Uuid::new_v4(), &chat[0], &meta).await.unwrap();
    room(&state, acting(dr.user_id, Role::Doctor), id, Uuid::new_v4(), &chat[1], &meta).await.unwrap();

    let body = form(&[
        ("consultation_id", &id.to_string()),
        ("notes", NOTES),
        ("diagnosis", &format!("{tag}: benign palpitations")),
        ("base_version", "0"),
    ]);
    let (status, answer) = post_answer(app, &dr.client, "/api/complete_visit", &body).await;
    assert_eq!(status, 200, "{answer}");

    let request = |medications: Vec<Value>, supersedes: Option<Uuid>| {
        json!({
            "consultation_id": id,
            "prescription": { "medications": medications, "instructions": "Finish the course.", "follow_up_date": "" },
            "supersedes": supersedes,
        })
    };
    let first = request(vec![medication("Amoxicillin", "21"), medication("Ibuprofen", "10")], None);
    let (status, v1) = post_json_answer(app, &dr.client, "/api/issue_prescription", &first).await;
    assert_eq!(status, 200, "{v1}");
    let v1: Uuid = v1.as_str().unwrap().parse().unwrap();
    let second = request(vec![medication("Amoxicillin", "15")], Some(v1));
    let (status, v2) = post_json_answer(app, &dr.client, "/api/issue_prescription", &second).await;
    assert_eq!(status, 200, "{v2}");
    let v2: Uuid = v2.as_str().unwrap().parse().unwrap();

    let body = form(&[("consultation_id", &id.to_string()), ("body", &format!("{tag}: ECG normal."))]);
    let (status, answer) = post_answer(app, &dr.client, "/api/add_addendum", &body).await;
    assert_eq!(status, 200, "{answer}");
    let body = form(&[("consultation_id", &id.to_string()), ("rating", "5"), ("comment", &format!("{tag}: kind"))]);
    let (status, answer) = post_answer(app, &who.client, "/api/review_consultation", &body).await;
    assert_eq!(status, 200, "{answer}");

    for client in [&who.client, &dr.client] {
        let (status, view) = get_answer(app, client, &format!("/api/room?consultation_id={id}")).await;
        assert_eq!(status, 200, "{view}");
    }
    Visit { id, prescriptions: [v1, v2], chat }
}

async fn delete_account(app: &TestApp, client: &reqwest::Client, password: &str, confirm: &str) -> (u16, Value) {
    post_answer(app, client, "/api/delete_account", &form(&[("password", password), ("confirm", confirm)])).await
}

/// The users and profiles rows of a person, as JSON text.
async fn identity_rows(app: &TestApp, id: Uuid) -> String {
    sqlx::query_scalar(
        "SELECT (SELECT to_jsonb(u)::text FROM users u WHERE u.id = $1) || ' ' ||
                (SELECT to_jsonb(p)::text FROM profiles p WHERE p.user_id = $1)",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn count_where(app: &TestApp, sql: &str, id: Uuid) -> i64 {
    // Statements come from the tests, never from input.
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).bind(id).fetch_one(&app.pool).await.unwrap()
}

async fn export(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let res = client.get(format!("{}{}", app.address, path)).send().await.expect("request sent");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

async fn sql_ids(app: &TestApp, sql: &str, patient: Uuid) -> BTreeSet<String> {
    let rows: Vec<Uuid> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).bind(patient).fetch_all(&app.pool).await.unwrap();
    rows.into_iter().map(|u| u.to_string()).collect()
}

// =====================================================================================
// Deleting an account
// =====================================================================================

#[tokio::test]
async fn a_deleted_patient_is_anonymised_and_their_records_are_kept() {
    let app = spawn_app().await;
    let hart = doctor(&app, "hart@example.com", ("Gregory", "Hart")).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva")).await;
    full_profile(&app, &ana, "Ana", "Silva", "Lisbon").await;
    let visit = completed_visit(&app, &ana, &hart, "ana").await;
    // A second device, signed in too.
    let phone = browser(Some("Phone"));
    let res =
        app.post_form_as(&phone, "/api/sign_in", &form(&[("email", "ana@example.com"), ("password", PASSWORD)])).await;
    assert_eq!(res.status(), 200);

    let before = identity_rows(&app, ana.id).await;
    let stored_phone: String = sqlx::query_scalar("SELECT phone FROM profiles WHERE user_id = $1")
        .bind(ana.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let personal = [
        "ana@example.com",
        "Ana",
        "Silva",
        stored_phone.as_str(),
        "1990-04-02",
        "female",
        "Rua das Flores",
        "Lisbon",
        "1000-001",
    ];
    for value in personal {
        assert!(before.contains(value), "the fixture holds {value}: {before}");
    }
    let rating_before: (Option<String>, i32, i32) =
        sqlx::query_as("SELECT rating::text, review_count, rating_total FROM doctors WHERE id = $1")
            .bind(hart.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();

    let res = app
        .post_form_as(&ana.client, "/api/delete_account", &form(&[("password", PASSWORD), ("confirm", "DELETE")]))
        .await;
    assert_eq!(res.status(), 200);
    let cleared: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|c| c.starts_with("th_access=;") || c.starts_with("th_refresh=;"))
        .collect();
    assert_eq!(cleared.len(), 2, "the session cookies are cleared");

    // No personal data is left in the account or the profile.
    let after = identity_rows(&app, ana.id).await;
    for value in personal {
        assert!(!after.contains(value), "{value} is still there: {after}");
    }
    let (email, hash, active, deleted, mfa): (String, String, bool, bool, Option<String>) = sqlx::query_as(
        "SELECT email, password_hash, is_active, deleted_at IS NOT NULL, mfa_secret FROM users WHERE id = $1",
    )
    .bind(ana.id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(email, format!("deleted-{}@deleted.invalid", ana.id.simple()));
    assert!(!hash.starts_with("$argon2"), "the password hash is unusable");
    assert!(!active && deleted && mfa.is_none());
    let profile: (String, String, bool) =
        sqlx::query_as("SELECT first_name, last_name, deleted_at IS NOT NULL FROM profiles WHERE user_id = $1")
            .bind(ana.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(profile, ("Deleted".into(), "user".into(), true));
    // Every session revoked, where from forgotten.
    let open = "SELECT count(*) FROM sessions WHERE user_id = $1 AND (revoked_at IS NULL OR ip_address IS NOT NULL
                                                                     OR user_agent IS NOT NULL)";
    assert_eq!(count_where(&app, open, ana.id).await, 0);
    assert!(count_where(&app, "SELECT count(*) FROM sessions WHERE user_id = $1", ana.id).await >= 2);
    let (status, _) = get_answer(&app, &phone, "/api/my_profile").await;
    assert_eq!(status, 401, "the other device is signed out too");

    // The records are kept: the visit, its payment, both prescription
    // versions, the chat (unredacted), the addendum; the review's rating.
    let c = "SELECT count(*) FROM consultations WHERE patient_id = $1";
    assert_eq!(count_where(&app, c, ana.id).await, 1);
    let p = "SELECT count(*) FROM payments WHERE patient_id = $1 AND status = 'succeeded'";
    assert_eq!(count_where(&app, p, ana.id).await, 1);
    let r = "SELECT count(*) FROM prescriptions WHERE patient_id = $1";
    assert_eq!(count_where(&app, r, ana.id).await, 2);
    let bodies: Vec<String> =
        sqlx::query_scalar("SELECT body FROM chat_messages WHERE consultation_id = $1 ORDER BY created_at")
            .bind(visit.id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(bodies, visit.chat.to_vec());
    let a = "SELECT count(*) FROM consultation_addenda WHERE consultation_id = $1";
    assert_eq!(count_where(&app, a, visit.id).await, 1);
    let review: (i16, Option<String>) = sqlx::query_as("SELECT rating, comment FROM reviews WHERE patient_id = $1")
        .bind(ana.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(review, (5, None), "the rating stays, the comment goes");
    let rating_after: (Option<String>, i32, i32) =
        sqlx::query_as("SELECT rating::text, review_count, rating_total FROM doctors WHERE id = $1")
            .bind(hart.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(rating_after, rating_before);
    // The doctor still has the record, now of nobody in particular.
    let (status, room) = get_answer(&app, &hart.client, &format!("/api/room?consultation_id={}", visit.id)).await;
    assert_eq!(status, 200, "{room}");
    assert_eq!(room["patient_name"], "Deleted user");
    assert_eq!(room["prescriptions"].as_array().unwrap().len(), 2);

    // Follow-up reminders no longer go out to the deleted person.
    sqlx::query("UPDATE prescriptions SET follow_up_date = (now() AT TIME ZONE 'UTC')::date + 1 WHERE id = $1")
        .bind(visit.prescriptions[1])
        .execute(&app.pool)
        .await
        .unwrap();
    let reminded = telehealth::server::services::room::send_follow_up_reminders(&app_state(&app)).await.unwrap();
    assert_eq!(reminded, 0);

    // One audit row, without personal data.
    assert_eq!(audit_count(&app, "account.deleted").await, 1);
    let details: String =
        sqlx::query_scalar("SELECT details::text FROM audit_logs WHERE action = 'account.deleted' AND user_id = $1")
            .bind(ana.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for value in personal {
        assert!(!details.contains(value), "{details}");
    }
}

#[tokio::test]
async fn a_deleted_account_cannot_sign_in() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva")).await;
    let (status, body) = delete_account(&app, &ana.client, PASSWORD, "DELETE").await;
    assert_eq!(status, 200, "{body}");
    // This browser is signed out.
    let (status, me) = get_answer(&app, &ana.client, "/api/me").await;
    assert_eq!((status, me), (200, Value::Null));

    // The old address and password: the same answer as a wrong password.
    let fresh = browser(None);
    let sign_in = form(&[("email", "ana@example.com"), ("password", PASSWORD)]);
    let (status, deleted) = post_answer(&app, &fresh, "/api/sign_in", &sign_in).await;
    assert_eq!(status, 422, "{deleted}");
    let wrong = form(&[("email", "nobody@example.com"), ("password", "not the password at all")]);
    let (_, unknown) = post_answer(&app, &fresh, "/api/sign_in", &wrong).await;
    assert_eq!(field_messages(&deleted, "password"), field_messages(&unknown, "password"));
    // The placeholder address cannot sign in either.
    let placeholder = format!("deleted-{}@deleted.invalid", ana.id.simple());
    let (status, _) =
        post_answer(&app, &fresh, "/api/sign_in", &form(&[("email", &placeholder), ("password", PASSWORD)])).await;
    assert_eq!(status, 422);

    // A password reset for the old address sends nothing and issues no link.
    let mail_before: i64 = sqlx::query_scalar("SELECT count(*) FROM dev_mailbox").fetch_one(&app.pool).await.unwrap();
    let (status, body) =
        post_answer(&app, &fresh, "/api/request_password_reset", &form(&[("email", "ana@example.com")])).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mail_after: i64 = sqlx::query_scalar("SELECT count(*) FROM dev_mailbox").fetch_one(&app.pool).await.unwrap();
    assert_eq!(mail_after, mail_before);
    assert_eq!(count_where(&app, "SELECT count(*) FROM email_tokens WHERE user_id = $1", ana.id).await, 0);

    // The address is free again: the person may come back as someone new.
    let (client, new_id) = signed_up_and_in(&app, "ana@example.com", ("Ana", "Silva"), "patient").await;
    assert_ne!(new_id, ana.id);
    let (status, _) = get_answer(&app, &client, "/api/my_profile").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn deletion_needs_the_password_and_the_word_delete() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva")).await;
    let before = identity_rows(&app, ana.id).await;

    let (status, body) = delete_account(&app, &ana.client, PASSWORD, "delete").await;
    assert_eq!(status, 422, "{body}");
    assert!(field_messages(&body, "confirm")[0].contains("DELETE"), "{body}");
    assert!(body["detail"].get("password").is_none(), "{body}");

    let (status, body) = delete_account(&app, &ana.client, "not my password at all", "DELETE").await;
    assert_eq!(status, 422, "{body}");
    assert!(field_messages(&body, "password")[0].contains("not your password"), "{body}");
    assert!(body["detail"].get("confirm").is_none(), "{body}");

    let (status, body) = delete_account(&app, &ana.client, "", "").await;
    assert_eq!(status, 422, "{body}");
    field_messages(&body, "password");
    field_messages(&body, "confirm");

    // Signed out: 401.
    let (status, _) = delete_account(&app, &browser(None), PASSWORD, "DELETE").await;
    assert_eq!(status, 401);

    // Nothing changed, and the person is still signed in.
    assert_eq!(identity_rows(&app, ana.id).await, before);
    assert_eq!(audit_count(&app, "account.deleted").await, 0);
    let (status, profile) = get_answer(&app, &ana.client, "/api/my_profile").await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["first_name"], "Ana");
}

#[tokio::test]
async fn a_patient_with_an_upcoming_visit_cannot_delete_yet() {
    let app = spawn_app().await;
    let hart = doctor(&app, "hart@example.com", ("Gregory", "Hart")).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva")).await;
    let id = book_and_pay(&app, &ana.client, hart.id, half_hour_slot_in(48), "Checkup").await;
    let before = identity_rows(&app, ana.id).await;
    let doctor_before = identity_rows(&app, hart.user_id).await;

    // Neither the patient nor the doctor of the visit to come.
    for (who, client) in [("patient", &ana.client), ("doctor", &hart.client)] {
        let (status, body) = delete_account(&app, client, PASSWORD, "DELETE").await;
        assert_eq!(status, 409, "{who}: {body}");
        assert_eq!(body["kind"], "conflict");
        assert!(body["detail"].as_str().unwrap().contains("still to come"), "{body}");
    }
    assert_eq!(identity_rows(&app, ana.id).await, before);
    assert_eq!(identity_rows(&app, hart.user_id).await, doctor_before);
    assert_eq!(audit_count(&app, "account.deleted").await, 0);

    // Once it is cancelled, the patient may go.
    let (status, body) =
        post_answer(&app, &ana.client, "/api/cancel_consultation", &form(&[("consultation_id", &id.to_string())]))
            .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = delete_account(&app, &ana.client, PASSWORD, "DELETE").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_deleted_doctor_is_no_longer_listed_or_bookable() {
    let app = spawn_app().await;
    let hart = doctor(&app, "hart@example.com", ("Gregory", "Hart")).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva")).await;
    let visit = completed_visit(&app, &ana, &hart, "ana").await;
    let anonymous = browser(None);
    let (status, page) = get_answer(&app, &anonymous, "/api/search_doctors?tz=UTC").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1, "{page}");

    let (status, body) = delete_account(&app, &hart.client, PASSWORD, "DELETE").await;
    assert_eq!(status, 200, "{body}");

    let (status, page) = get_answer(&app, &anonymous, "/api/search_doctors?tz=UTC").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 0, "{page}");
    let (status, _) = get_answer(&app, &anonymous, &format!("/api/doctor_details?id={}", hart.id)).await;
    assert_eq!(status, 404);
    let body = form(&[
        ("doctor_id", &hart.id.to_string()),
        ("starts_at", &half_hour_slot_in(5).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        ("consultation_type", "video"),
        ("symptoms", "Checkup"),
        ("booking_key", &Uuid::new_v4().to_string()),
    ]);
    let (status, answer) = post_answer(&app, &ana.client, "/api/book_consultation", &body).await;
    assert!((400..500).contains(&status), "{status}: {answer}");
    assert_eq!(count_where(&app, "SELECT count(*) FROM consultations WHERE patient_id = $1", ana.id).await, 1);

    // The practice is closed; the licence stays on the kept prescriptions.
    let (deleted, available, licence): (bool, bool, String) =
        sqlx::query_as("SELECT deleted_at IS NOT NULL, is_available, license_number FROM doctors WHERE id = $1")
            .bind(hart.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(deleted && !available && licence.starts_with("GMC-"));
    let (status, list) = get_answer(&app, &ana.client, "/api/my_prescriptions").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["current"][0]["id"], visit.prescriptions[1].to_string());
    assert_eq!(list["current"][0]["doctor_name"], "Dr Deleted user");
}

#[tokio::test]
async fn the_last_administrator_cannot_delete_their_account() {
    let app = spawn_app().await;
    let olga = admin_without_mfa(&app, "olga@example.com").await;
    let (status, body) = delete_account(&app, &olga, PASSWORD, "DELETE").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("last active administrator"), "{body}");
    // With a second administrator, the first may go.
    admin_without_mfa(&app, "otto@example.com").await;
    let (status, body) = delete_account(&app, &olga, PASSWORD, "DELETE").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(audit_count(&app, "account.deleted").await, 1);
}

// =====================================================================================
// The export
// =====================================================================================

#[tokio::test]
async fn the_export_holds_every_record_of_the_patient_and_none_of_another() {
    let app = spawn_app().await;
    let hart = doctor(&app, "hart@example.com", ("Gregory", "Hart")).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva")).await;
    let bea = patient(&app, "bea@example.com", ("Beatriz", "Costa")).await;
    full_profile(&app, &ana, "Ana", "Silva", "Lisbon").await;
    full_profile(&app, &bea, "Beatriz", "Costa", "Porto").await;
    let ana_visit = completed_visit(&app, &ana, &hart, "ana").await;
    let bea_visit = completed_visit(&app, &bea, &hart, "bea").await;
    let upcoming = book_and_pay(&app, &ana.client, hart.id, half_hour_slot_in(48), "ana: follow-up").await;

    let (status, headers, text) = export(&app, &ana.client, "/account/export.json").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["content-type"], "application/json");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;") && disposition.contains(".json"), "{disposition}");
    assert!(headers["cache-control"].to_str().unwrap().contains("no-store"));
    let data: Value = serde_json::from_str(&text).unwrap();

    // The account and the profile.
    assert_eq!(data["account"]["id"], ana.id.to_string());
    assert_eq!(data["account"]["email"], "ana@example.com");
    assert_eq!(data["account"]["role"], "patient");
    assert_eq!(data["profile"]["city"], "Lisbon");
    assert_eq!(data["profile"]["date_of_birth"], "1990-04-02");
    assert!(!text.contains("password_hash") && !text.contains("$argon2"));

    // Every record of hers, as the database holds them.
    let consultations = "SELECT id FROM consultations WHERE patient_id = $1";
    assert_eq!(ids(&data["consultations"]), sql_ids(&app, consultations, ana.id).await);
    assert!(ids(&data["consultations"]).contains(&upcoming.to_string()));
    let prescriptions = "SELECT id FROM prescriptions WHERE patient_id = $1";
    assert_eq!(ids(&data["prescriptions"]), sql_ids(&app, prescriptions, ana.id).await);
    assert_eq!(ids(&data["prescriptions"]).len(), 2);
    let payments = "SELECT id FROM payments WHERE patient_id = $1";
    assert_eq!(ids(&data["payments"]), sql_ids(&app, payments, ana.id).await);
    assert_eq!(ids(&data["payments"]).len(), 2);
    assert_eq!(ids(&data["reviews"]), sql_ids(&app, "SELECT id FROM reviews WHERE patient_id = $1", ana.id).await);
    assert!(!data["sessions"].as_array().unwrap().is_empty());
    let visit = data["consultations"].as_array().unwrap().iter().find(|c| c["id"] == ana_visit.id.to_string()).unwrap();
    assert_eq!(visit["doctor"]["last_name"], "Hart");
    assert_eq!(visit["status"], "completed");
    assert_eq!(visit["symptoms"], "ana: chest pain on stairs");
    assert_eq!(visit["diagnosis"], "ana: benign palpitations");
    assert_eq!(visit["addenda"][0]["body"], "ana: ECG normal.");
    let chat: Vec<&str> = visit["chat"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(chat, ana_visit.chat.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(data["prescriptions"][0]["medications"].as_array().unwrap().len(), 2);
    assert_eq!(data["prescriptions"][1]["supersedes_id"], ana_visit.prescriptions[0].to_string());
    // The doctor's private notes are not the patient's to read.
    assert!(!text.contains(NOTES) && !text.contains("PRIVATE"), "the doctor's notes leaked");
    // The audit trail: her doctor opening her record is there, with no
    // address or browser of the doctor's.
    let trail = data["audit_trail"].as_array().unwrap();
    let doctor_view = trail
        .iter()
        .find(|e| e["action"] == "consultation.viewed" && e["actor"] == "doctor")
        .unwrap_or_else(|| panic!("the doctor's view is in the trail: {trail:?}"));
    assert_eq!(doctor_view["resource_id"], ana_visit.id.to_string());
    assert!(doctor_view["ip_address"].is_null() && doctor_view["user_agent"].is_null());
    assert!(trail.iter().any(|e| e["action"] == "prescription.issued"));

    // Nothing of Beatriz: no id of her records, no name, address or words of hers.
    let bea_ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM consultations WHERE patient_id = $1 UNION ALL SELECT id FROM prescriptions WHERE patient_id = $1
         UNION ALL SELECT id FROM payments WHERE patient_id = $1 UNION ALL SELECT id FROM reviews WHERE patient_id = $1
         UNION ALL SELECT m.id FROM chat_messages m JOIN consultations c ON c.id = m.consultation_id WHERE c.patient_id = $1
         UNION ALL SELECT $1",
    )
    .bind(bea.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(bea_ids.len() > 6);
    for id in bea_ids.iter().chain(bea_visit.prescriptions.iter()) {
        assert!(!text.contains(&id.to_string()), "{id} of Beatriz is in Ana's export");
    }
    for word in ["Beatriz", "Costa", "bea@example.com", "Porto", "bea:"] {
        assert!(!text.contains(word), "{word} is in Ana's export");
    }

    // The export is audited, once per download.
    assert_eq!(audit_count(&app, "patient.exported").await, 1);
}

#[tokio::test]
async fn the_fhir_bundle_has_the_resource_types_and_references() {
    let app = spawn_app().await;
    let hart = doctor(&app, "hart@example.com", ("Gregory", "Hart")).await;
    let lee = doctor(&app, "lee@example.com", ("Mei", "Lee")).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva")).await;
    full_profile(&app, &ana, "Ana", "Silva", "Lisbon").await;
    let visit = completed_visit(&app, &ana, &hart, "ana").await;
    let upcoming = book_and_pay(&app, &ana.client, lee.id, half_hour_slot_in(48), "ana: follow-up").await;

    let (status, headers, text) = export(&app, &ana.client, "/account/export.fhir.json").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["content-type"], "application/fhir+json");
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert!(headers["cache-control"].to_str().unwrap().contains("no-store"));
    let bundle: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let entries = bundle["entry"].as_array().unwrap();
    let of_type = |kind: &str| -> Vec<&Value> {
        entries.iter().map(|e| &e["resource"]).filter(|r| r["resourceType"] == kind).collect()
    };

    let patients = of_type("Patient");
    assert_eq!(patients.len(), 1);
    assert_eq!(patients[0]["id"], ana.id.to_string());
    assert_eq!(patients[0]["name"][0]["family"], "Silva");
    assert_eq!(patients[0]["birthDate"], "1990-04-02");
    let practitioners: BTreeSet<String> =
        of_type("Practitioner").iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(practitioners, BTreeSet::from([hart.id.to_string(), lee.id.to_string()]));
    let appointments = of_type("Appointment");
    assert_eq!(appointments.len(), 2);
    let status_of = |id: Uuid| appointments.iter().find(|a| a["id"] == id.to_string()).unwrap()["status"].clone();
    assert_eq!(status_of(visit.id), "fulfilled");
    assert_eq!(status_of(upcoming), "booked");
    let encounters = of_type("Encounter");
    assert_eq!(encounters.len(), 1, "only the visit that took place");
    assert_eq!(encounters[0]["status"], "finished");
    assert_eq!(encounters[0]["appointment"][0]["reference"], format!("urn:uuid:{}", visit.id));
    assert_eq!(encounters[0]["subject"]["reference"], format!("urn:uuid:{}", ana.id));
    // One per medication: two in the first version, one in the correction.
    let requests = of_type("MedicationRequest");
    assert_eq!(requests.len(), 3);
    let mut statuses: Vec<&str> = requests.iter().map(|r| r["status"].as_str().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, ["active", "stopped", "stopped"]);
    let encounter_url = format!("urn:uuid:{}", encounters[0]["id"].as_str().unwrap());
    for r in &requests {
        assert_eq!(r["intent"], "order");
        assert_eq!(r["subject"]["reference"], format!("urn:uuid:{}", ana.id));
        assert_eq!(r["requester"]["reference"], format!("urn:uuid:{}", hart.id));
        assert_eq!(r["encounter"]["reference"], encounter_url);
        assert!(r["dosageInstruction"][0]["text"].as_str().unwrap().contains("three times a day"));
    }
    let audit_events = of_type("AuditEvent");
    assert!(!audit_events.is_empty());
    assert!(
        audit_events.iter().any(|e| e["agent"][0]["who"]["reference"] == format!("urn:uuid:{}", hart.id)),
        "the doctor's accesses name the Practitioner"
    );

    // Full URLs are urn:uuid, unique, and every reference resolves to one.
    let urls: BTreeSet<String> = entries.iter().map(|e| e["fullUrl"].as_str().unwrap().to_owned()).collect();
    assert_eq!(urls.len(), entries.len());
    for e in entries {
        assert_eq!(e["fullUrl"], format!("urn:uuid:{}", e["resource"]["id"].as_str().unwrap()));
    }
    fn references(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("reference", Value::String(s)) => out.push(s.clone()),
                        _ => references(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, out)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    references(&bundle, &mut refs);
    assert!(refs.len() >= 15, "{refs:?}");
    for r in &refs {
        assert!(urls.contains(r), "dangling reference {r}");
    }
    assert!(!text.contains(NOTES));
    let exported = "SELECT count(*) FROM audit_logs WHERE action = 'patient.exported' AND details->>'format' = 'fhir'
                    AND user_id = $1";
    assert_eq!(count_where(&app, exported, ana.id).await, 1);
}

#[tokio::test]
async fn an_export_for_someone_else_is_refused() {
    let app = spawn_app().await;
    let hart = doctor(&app, "hart@example.com", ("Gregory", "Hart")).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva")).await;
    let bea = patient(&app, "bea@example.com", ("Beatriz", "Costa")).await;
    book_and_pay(&app, &bea.client, hart.id, half_hour_slot_in(48), "bea: checkup").await;
    let bea_before = identity_rows(&app, bea.id).await;

    for path in
        [format!("/account/export.json?patient={}", bea.id), format!("/account/export.fhir.json?patient={}", bea.id)]
    {
        let (status, _, text) = export(&app, &ana.client, &path).await;
        assert_eq!(status, 403, "{path}: {text}");
        assert_eq!(text, "You can download only your own records.");
        assert!(!text.contains("Beatriz") && !text.contains(&bea.id.to_string()));
    }
    // Not an id at all: 400; signed out: 401.
    let (status, _, _) = export(&app, &ana.client, "/account/export.json?patient=bea").await;
    assert_eq!(status, 400);
    let (status, _, text) = export(&app, &browser(None), "/account/export.json").await;
    assert_eq!(status, 401, "{text}");

    // Nothing exported, nothing changed; the attempts are on record.
    assert_eq!(audit_count(&app, "patient.exported").await, 0);
    assert_eq!(audit_count(&app, "patient.export_refused").await, 2);
    assert_eq!(identity_rows(&app, bea.id).await, bea_before);
    assert_eq!(count_where(&app, "SELECT count(*) FROM consultations WHERE patient_id = $1", bea.id).await, 1);

    // Her own id is simply her own export.
    let (status, _, text) = export(&app, &ana.client, &format!("/account/export.json?patient={}", ana.id)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(audit_count(&app, "patient.exported").await, 1);
}

#[tokio::test]
async fn a_doctor_cannot_export_as_a_patient() {
    let app = spawn_app().await;
    let hart = doctor(&app, "hart@example.com", ("Gregory", "Hart")).await;
    let ana = patient(&app, "ana@example.com", ("Ana", "Silva")).await;
    book_and_pay(&app, &ana.client, hart.id, half_hour_slot_in(48), "ana: checkup").await;

    for path in ["/account/export.json", "/account/export.fhir.json"] {
        let (status, _, text) = export(&app, &hart.client, path).await;
        assert_eq!(status, 403, "{path}: {text}");
        assert!(text.contains("for patients"), "{text}");
        assert!(!text.contains("Ana"));
    }
    let (status, _, _) = export(&app, &hart.client, &format!("/account/export.json?patient={}", ana.id)).await;
    assert_eq!(status, 403);
    assert_eq!(audit_count(&app, "patient.exported").await, 0);

    // The page offers the downloads to patients only; deletion to everyone.
    let page = |client: &reqwest::Client| {
        let client = client.clone();
        let url = format!("{}/account/data", app.address);
        async move {
            let res = client.get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, html) = page(&ana.client).await;
    assert_eq!(status, 200);
    assert!(html.contains("/account/export.fhir.json") && html.contains("Delete my account"), "{html}");
    let (status, html) = page(&hart.client).await;
    assert_eq!(status, 200);
    assert!(!html.contains("/account/export.json") && html.contains("Delete my account"));
    let (status, _) = page(&browser(None)).await;
    assert_eq!(status, 401);
}
