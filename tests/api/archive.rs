//! Archival: finished consultations older than `[archive] after_months` move,
//! with every version of their prescriptions, to the `archive` schema; what
//! stays live (payments, reviews, chat, addenda) still references them through
//! the `consultation_keys` registry; their people (and admins, for
//! consultations) still read them; nobody changes them.
//!
//! Old records are written straight to the database as its owner (a visit
//! three years ago cannot be booked through the API); reads and refused
//! writes go through the application's HTTP API or its own pool.

use crate::helpers::*;
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use telehealth::server::config::{ArchiveSettings, Settings};
use telehealth::server::services::archive::archive_old;
use uuid::Uuid;

const TWO_YEARS: ArchiveSettings = ArchiveSettings { after_months: 24 };

/// The app, with its own hourly archival set far out (a century), so that
/// only the tests' explicit runs move anything.
async fn archiving_app() -> TestApp {
    spawn_app_with(|env| {
        env.insert("TELEHEALTH__ARCHIVE__AFTER_MONTHS".into(), "1200".into());
    })
    .await
}

/// Someone signed in on a browser of their own.
struct Person {
    client: reqwest::Client,
    user_id: Uuid,
}

/// Signs up (email confirmed) and signs in a patient or a doctor.
async fn person(app: &TestApp, email: &str, role: &str) -> Person {
    let body = form(&[
        ("email", email),
        ("password", PASSWORD),
        ("first_name", "Test"),
        ("last_name", "Person"),
        ("timezone", "UTC"),
        ("role", role),
    ]);
    let res = app.post_form("/api/sign_up", &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    sqlx::query("UPDATE users SET is_email_verified = true WHERE lower(email) = lower($1)")
        .bind(email)
        .execute(&app.pool)
        .await
        .unwrap();
    let client = browser(None);
    let res = app.post_form_as(&client, "/api/sign_in", &form(&[("email", email), ("password", PASSWORD)])).await;
    assert_eq!(res.status(), 200, "{email}: {}", res.text().await.unwrap());
    Person { client, user_id: user_id(app, email).await }
}

/// A doctor signed in, and their doctors.id.
async fn doctor(app: &TestApp, email: &str) -> (Person, Uuid) {
    let who = person(app, email, "doctor").await;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO doctors (user_id, license_number, specialization, consultation_fee, currency, is_verified,
                              verification_status, license_expires_on, languages)
         VALUES ($1, $2, 'Cardiology', 80.00, 'EUR', true, 'approved', current_date + 365, '{en}') RETURNING id",
    )
    .bind(who.user_id)
    .bind(format!("LIC-{}", Uuid::new_v4().simple()))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    (who, id)
}

/// A consultation `months_ago` months ago (at 09:00 UTC), taken through the
/// lifecycle to `status` (completed: started, ended, with a diagnosis), with
/// a paid payment.
async fn visit(app: &TestApp, patient: Uuid, doctor: Uuid, months_ago: i32, status: &str) -> Uuid {
    let start: String = sqlx::query_scalar(
        "SELECT to_char(date_trunc('day', now() - make_interval(months => $1)) + interval '9 hours',
                        'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    )
    .bind(months_ago)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let initial = if status == "pending_payment" { "pending_payment" } else { "scheduled" };
    let id = insert_consultation(&app.pool, patient, doctor, &start, 30, initial).await.unwrap();
    sqlx::query(
        "INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency, status, paid_at,
                               payment_gateway, transaction_id)
         VALUES ($1, $2, $3, 80, 'EUR', 'succeeded', now(), 'sandbox', gen_random_uuid()::text)",
    )
    .bind(id)
    .bind(patient)
    .bind(doctor)
    .execute(&app.pool)
    .await
    .unwrap();
    let steps: &[&str] = match status {
        "completed" => &[
            "status = 'in_progress', started_at = scheduled_at",
            "status = 'completed', ended_at = scheduled_at + interval '20 minutes', duration_minutes = 20,
             diagnosis = 'Benign palpitations', notes = 'Private working notes'",
        ],
        "in_progress" => &["status = 'in_progress', started_at = scheduled_at"],
        "no_show" => &["status = 'no_show'"],
        "cancelled" => {
            &["status = 'cancelled', cancelled_at = scheduled_at - interval '1 day', cancellation_reason = 'patient'"]
        }
        _ => &[],
    };
    for step in steps {
        // Fixed statements of this file, never input.
        sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE consultations SET {step} WHERE id = $1")))
            .bind(id)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    id
}

/// Two versions of a prescription on the consultation (the first superseded): (v1, v2).
async fn prescriptions(app: &TestApp, consultation: Uuid, patient: Uuid, doctor: Uuid) -> (Uuid, Uuid) {
    // As stored (typed), not as typed in the form.
    let medication = json!([{ "name": "Bisoprolol", "strength": "2.5 mg", "form": "tablet", "dose": "1 tablet",
                              "route": "oral", "frequency": "once a day", "duration": "30 days", "quantity": 30,
                              "refills": 0, "notes": null }]);
    let v1: Uuid = sqlx::query_scalar(
        "INSERT INTO prescriptions (consultation_id, patient_id, doctor_id, medications, is_active)
         VALUES ($1, $2, $3, $4, false) RETURNING id",
    )
    .bind(consultation)
    .bind(patient)
    .bind(doctor)
    .bind(&medication)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let v2: Uuid = sqlx::query_scalar(
        "INSERT INTO prescriptions (consultation_id, patient_id, doctor_id, medications, version, supersedes_id)
         VALUES ($1, $2, $3, $4, 2, $5) RETURNING id",
    )
    .bind(consultation)
    .bind(patient)
    .bind(doctor)
    .bind(&medication)
    .bind(v1)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    (v1, v2)
}

/// What the people around one old, completed visit need.
struct World {
    ana: Person,
    ben: Person,
    hart: Person,
    hart_id: Uuid,
    rao: Person,
    /// Ana's visit with Dr Hart three years ago: completed, with two
    /// prescription versions, a chat message, an addendum and a review.
    old: Uuid,
    v1: Uuid,
    v2: Uuid,
}

async fn world(app: &TestApp) -> World {
    let ana = person(app, "ana@example.com", "patient").await;
    let ben = person(app, "ben@example.com", "patient").await;
    let (hart, hart_id) = doctor(app, "hart@example.com").await;
    let (rao, _) = doctor(app, "rao@example.com").await;
    let old = visit(app, ana.user_id, hart_id, 36, "completed").await;
    let (v1, v2) = prescriptions(app, old, ana.user_id, hart_id).await;
    sqlx::query(
        "INSERT INTO chat_messages (consultation_id, sender_id, client_id, body) VALUES ($1, $2, gen_random_uuid(), 'Hello')",
    )
    .bind(old)
    .bind(ana.user_id)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO consultation_addenda (consultation_id, author_id, body) VALUES ($1, $2, 'Later result: normal')",
    )
    .bind(old)
    .bind(hart.user_id)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO reviews (consultation_id, patient_id, doctor_id, rating) VALUES ($1, $2, $3, 5)")
        .bind(old)
        .bind(ana.user_id)
        .bind(hart_id)
        .execute(&app.pool)
        .await
        .unwrap();
    World { ana, ben, hart, hart_id, rao, old, v1, v2 }
}

async fn scalar_i64(app: &TestApp, sql: &'static str, id: Uuid) -> i64 {
    sqlx::query_scalar(sql).bind(id).fetch_one(&app.pool).await.unwrap()
}

async fn is_live(app: &TestApp, id: Uuid) -> bool {
    scalar_i64(app, "SELECT count(*) FROM consultations WHERE id = $1", id).await == 1
}

async fn is_archived(app: &TestApp, id: Uuid) -> bool {
    scalar_i64(app, "SELECT count(*) FROM archive.consultations WHERE id = $1", id).await == 1
}

/// A connection working as the application's role, acting as `user` in `role`
/// for the transaction it begins.
async fn as_app(app: &TestApp) -> PgConnection {
    let mut conn = PgConnection::connect(&app.db.url).await.unwrap();
    conn.execute("SET ROLE telehealth_app").await.unwrap();
    conn
}

async fn count_as(conn: &mut PgConnection, user: Option<Uuid>, role: &str, sql: &'static str, id: Uuid) -> i64 {
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.user_id', $1, true), set_config('app.role', $2, true)")
        .bind(user.map(|u| u.to_string()).unwrap_or_default())
        .bind(role)
        .execute(&mut *tx)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(sql).bind(id).fetch_one(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

#[tokio::test]
async fn old_finished_consultations_and_their_prescriptions_move_to_the_archive() {
    let app = archiving_app().await;
    let w = world(&app).await;
    let cancelled = visit(&app, w.ben.user_id, w.hart_id, 30, "cancelled").await;
    let no_show = visit(&app, w.ben.user_id, w.hart_id, 25, "no_show").await;

    // As the application runs it (its own role, through the owner's function).
    let moved = archive_old(&app.app_pool, &TWO_YEARS).await.unwrap();
    assert_eq!(moved, (3, 2));
    for id in [w.old, cancelled, no_show] {
        assert!(!is_live(&app, id).await && is_archived(&app, id).await, "{id}");
    }
    // Every version moved together: the chain of corrections is whole in the archive.
    let live_prescriptions = scalar_i64(&app, "SELECT count(*) FROM prescriptions WHERE consultation_id = $1", w.old);
    assert_eq!(live_prescriptions.await, 0);
    let supersedes: Option<Uuid> = sqlx::query_scalar("SELECT supersedes_id FROM archive.prescriptions WHERE id = $1")
        .bind(w.v2)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(supersedes, Some(w.v1));
    // The record itself moved intact.
    let (diagnosis, status): (Option<String>, String) =
        sqlx::query_as("SELECT diagnosis, status::text FROM archive.consultations WHERE id = $1")
            .bind(w.old)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((diagnosis.as_deref(), status.as_str()), (Some("Benign palpitations"), "completed"));

    // What stays live still references the consultation, through the registry.
    for table in ["payments", "reviews", "chat_messages", "consultation_addenda"] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} t JOIN consultation_keys k ON k.id = t.consultation_id WHERE t.consultation_id = $1"
        )))
        .bind(w.old)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(n, 1, "{table}");
    }
    // And the registry still refuses a payment in another patient's name.
    let wrong = sqlx::query(
        "INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency) VALUES ($1, $2, $3, 1, 'EUR')",
    )
    .bind(w.old)
    .bind(w.ben.user_id)
    .bind(w.hart_id)
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert!(
        ["payments_consultation_parties_fkey", "payments_consultation_id_key"]
            .contains(&constraint_of(&wrong).as_str()),
        "{wrong}"
    );
    // Audited, with counts only.
    let details: Value = sqlx::query_scalar("SELECT details FROM audit_logs WHERE action = 'records.archived'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(details["consultations"], 3);
    assert_eq!(details["prescriptions"], 2);
}

#[tokio::test]
async fn recent_or_unfinished_consultations_stay_live() {
    let app = archiving_app().await;
    let w = world(&app).await;
    let recent = visit(&app, w.ben.user_id, w.hart_id, 6, "completed").await;
    let scheduled = visit(&app, w.ben.user_id, w.hart_id, 40, "scheduled").await;
    let in_progress = visit(&app, w.ben.user_id, w.hart_id, 41, "in_progress").await;
    let held = visit(&app, w.ben.user_id, w.hart_id, 42, "pending_payment").await;
    let (_, recent_v2) = prescriptions(&app, recent, w.ben.user_id, w.hart_id).await;

    assert_eq!(archive_old(&app.app_pool, &TWO_YEARS).await.unwrap(), (1, 2), "only Ana's old, completed visit");
    for id in [recent, scheduled, in_progress, held] {
        assert!(is_live(&app, id).await && !is_archived(&app, id).await, "{id}");
    }
    let live = scalar_i64(&app, "SELECT count(*) FROM prescriptions WHERE id = $1", recent_v2).await;
    assert_eq!(live, 1);
    // A longer setting leaves even the three-year-old visit alone.
    let app2 = archiving_app().await;
    let w2 = world(&app2).await;
    let moved = archive_old(&app2.app_pool, &ArchiveSettings { after_months: 48 }).await.unwrap();
    assert_eq!(moved, (0, 0));
    assert!(is_live(&app2, w2.old).await);
}

#[tokio::test]
async fn an_archived_record_is_still_readable_by_its_patient_and_doctor_and_nobody_else() {
    let app = archiving_app().await;
    let w = world(&app).await;
    archive_old(&app.app_pool, &TWO_YEARS).await.unwrap();
    assert!(is_archived(&app, w.old).await);

    // The patient: in her past consultations, the record, her prescriptions and the PDF.
    let (status, mine) = get_answer(&app, &w.ana.client, "/api/my_consultations").await;
    assert_eq!(status, 200, "{mine}");
    let past: Vec<&str> = mine["past"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(past.contains(&w.old.to_string().as_str()), "{mine}");
    let room = format!("/api/room?consultation_id={}", w.old);
    let (status, view) = get_answer(&app, &w.ana.client, &room).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["diagnosis"], "Benign palpitations");
    assert_eq!(view["notes"], Value::Null, "the doctor's notes stay the doctor's");
    assert_eq!(view["prescriptions"].as_array().unwrap().len(), 2, "{view}");
    assert_eq!(view["messages"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["addenda"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["review"]["rating"], 5, "{view}");
    assert_eq!(view["can_review"], false);
    let (status, list) = get_answer(&app, &w.ana.client, "/api/my_prescriptions").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["current"].as_array().unwrap().len() + list["history"].as_array().unwrap().len(), 2, "{list}");
    let pdf = |who: &reqwest::Client, id: Uuid| {
        let url = format!("{}/prescriptions/{id}/pdf", app.address);
        let who = who.clone();
        async move { who.get(url).send().await.unwrap() }
    };
    let res = pdf(&w.ana.client, w.v2).await;
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF"));

    // The doctor: the record (with the notes), its prescriptions, the agenda of that week, the PDF.
    let (status, view) = get_answer(&app, &w.hart.client, &room).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["notes"], "Private working notes");
    assert_eq!(view["can_prescribe"], false);
    assert_eq!(view["can_add_addendum"], false);
    assert_eq!(view["can_start"], false);
    let path = format!("/api/consultation_prescriptions?consultation_id={}", w.old);
    let (status, list) = get_answer(&app, &w.hart.client, &path).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(2)), "{list}");
    let date: String = sqlx::query_scalar(
        "SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM archive.consultations WHERE id = $1",
    )
    .bind(w.old)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (status, agenda) = get_answer(&app, &w.hart.client, &format!("/api/doctor_agenda?view=day&date={date}")).await;
    assert_eq!(status, 200, "{agenda}");
    assert_eq!(agenda["days"][0]["items"][0]["id"], w.old.to_string(), "{agenda}");
    assert_eq!(pdf(&w.hart.client, w.v1).await.status(), 200);

    // Anyone else: 404, as for a live record.
    for stranger in [&w.ben.client, &w.rao.client] {
        assert_eq!(get_answer(&app, stranger, &room).await.0, 404);
        assert_eq!(get_answer(&app, stranger, &path).await.0, 404);
        assert_eq!(pdf(stranger, w.v2).await.status(), 404);
    }

    // In the database, as the application's role: the parties see it, the
    // admin sees the consultation but not the prescriptions, others nothing.
    let mut conn = as_app(&app).await;
    let c = "SELECT count(*) FROM all_consultations WHERE id = $1";
    let p = "SELECT count(*) FROM all_prescriptions WHERE consultation_id = $1";
    assert_eq!(count_as(&mut conn, Some(w.ana.user_id), "patient", c, w.old).await, 1);
    assert_eq!(count_as(&mut conn, Some(w.ana.user_id), "patient", p, w.old).await, 2);
    assert_eq!(count_as(&mut conn, Some(w.hart.user_id), "doctor", c, w.old).await, 1);
    assert_eq!(count_as(&mut conn, Some(w.hart.user_id), "doctor", p, w.old).await, 2);
    assert_eq!(count_as(&mut conn, Some(w.ben.user_id), "patient", c, w.old).await, 0);
    assert_eq!(count_as(&mut conn, Some(w.ben.user_id), "patient", p, w.old).await, 0);
    assert_eq!(count_as(&mut conn, Some(w.rao.user_id), "doctor", c, w.old).await, 0);
    assert_eq!(count_as(&mut conn, Some(w.rao.user_id), "doctor", p, w.old).await, 0);
    assert_eq!(count_as(&mut conn, None, "", c, w.old).await, 0);
    assert_eq!(count_as(&mut conn, Some(Uuid::new_v4()), "admin", c, w.old).await, 1);
    assert_eq!(count_as(&mut conn, Some(Uuid::new_v4()), "admin", p, w.old).await, 0);
    // The chat stays the two parties' too.
    let chat = "SELECT count(*) FROM chat_messages WHERE consultation_id = $1";
    assert_eq!(count_as(&mut conn, Some(w.ana.user_id), "patient", chat, w.old).await, 1);
    assert_eq!(count_as(&mut conn, Some(w.ben.user_id), "patient", chat, w.old).await, 0);
}

#[tokio::test]
async fn an_admin_still_lists_archived_consultations() {
    let app = archiving_app().await;
    let w = world(&app).await;
    archive_old(&app.app_pool, &TWO_YEARS).await.unwrap();
    let admin = admin_with_mfa(&app, "ops@example.com").await;
    let day: String = sqlx::query_scalar(
        "SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM archive.consultations WHERE id = $1",
    )
    .bind(w.old)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let query = format!("?query={}", urlencode(&format!("from={day}&to={day}")));
    let (status, list) = get_answer(&app, &admin, &format!("/api/admin_consultations{query}")).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list.as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, vec![w.old.to_string().as_str()], "{list}");
    assert_eq!(list[0]["status"], "Completed", "{list}");
}

#[tokio::test]
async fn an_archived_record_cannot_be_changed() {
    let app = archiving_app().await;
    let w = world(&app).await;
    // A second old visit of Ana's, without a review yet.
    let unrated = visit(&app, w.ana.user_id, w.hart_id, 30, "completed").await;
    archive_old(&app.app_pool, &TWO_YEARS).await.unwrap();
    let read_only = |status: u16, body: &Value| {
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["detail"], "This record is archived and read-only.", "{body}");
    };

    let body = form(&[("consultation_id", &w.old.to_string()), ("body", "A late correction")]);
    let (status, answer) = post_answer(&app, &w.hart.client, "/api/add_addendum", &body).await;
    read_only(status, &answer);
    let req = json!({
        "consultation_id": w.old,
        "prescription": {
            "medications": [{ "name": "Amoxicillin", "strength": "500 mg", "form": "capsule", "dose": "1 capsule",
                              "route": "oral", "frequency": "three times a day", "duration": "7 days",
                              "quantity": "21", "refills": "", "notes": "" }],
            "instructions": "", "follow_up_date": "",
        },
        "supersedes": w.v2,
    });
    let res = w.hart.client.post(format!("{}/api/issue_prescription", app.address)).json(&req).send().await.unwrap();
    let status = res.status().as_u16();
    read_only(status, &res.json().await.unwrap());
    let body = form(&[("consultation_id", &unrated.to_string()), ("rating", "4"), ("comment", "")]);
    let (status, answer) = post_answer(&app, &w.ana.client, "/api/review_consultation", &body).await;
    read_only(status, &answer);
    // Someone else still learns nothing (404, not 409).
    let body = form(&[("consultation_id", &w.old.to_string()), ("body", "Not mine")]);
    assert_eq!(post_answer(&app, &w.rao.client, "/api/add_addendum", &body).await.0, 404);
    // Nothing was written.
    let addenda = scalar_i64(&app, "SELECT count(*) FROM consultation_addenda WHERE consultation_id = $1", w.old);
    assert_eq!(addenda.await, 1);
    let reviews = scalar_i64(&app, "SELECT count(*) FROM reviews WHERE consultation_id = $1", unrated);
    assert_eq!(reviews.await, 0);

    // The database refuses too: nothing new attached, even by its owner…
    let refused =
        sqlx::query("INSERT INTO consultation_addenda (consultation_id, author_id, body) VALUES ($1, $2, 'x')")
            .bind(w.old)
            .bind(w.hart.user_id)
            .execute(&app.pool)
            .await
            .unwrap_err();
    assert_eq!(constraint_of(&refused), "consultation_archived");
    // …and the application's role may only read the archive.
    let mut conn = as_app(&app).await;
    for statement in [
        "UPDATE archive.consultations SET diagnosis = 'changed'",
        "DELETE FROM archive.prescriptions",
        "INSERT INTO archive.consultations SELECT * FROM archive.consultations",
        "DELETE FROM consultation_keys",
    ] {
        let err = conn.execute(statement).await.unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{statement}: {err}");
    }
}

#[tokio::test]
async fn archiving_twice_moves_nothing_more() {
    let app = archiving_app().await;
    let w = world(&app).await;
    assert_eq!(archive_old(&app.app_pool, &TWO_YEARS).await.unwrap(), (1, 2));
    assert_eq!(archive_old(&app.app_pool, &TWO_YEARS).await.unwrap(), (0, 0));
    assert!(is_archived(&app, w.old).await);
    let archived: i64 =
        sqlx::query_scalar("SELECT count(*) FROM archive.prescriptions").fetch_one(&app.pool).await.unwrap();
    assert_eq!(archived, 2);
    assert_eq!(audit_count(&app, "records.archived").await, 1, "an empty run is not audited");
}

#[tokio::test]
async fn an_archive_age_of_zero_months_is_refused() {
    let db = TestDatabase::create().await;
    let mut env = test_env(&db);
    env.insert("TELEHEALTH__ARCHIVE__AFTER_MONTHS".into(), "0".into());
    let err = Settings::load_from(&env).unwrap_err();
    assert!(err.to_string().contains("archive.after_months must be at least 1"), "{err}");
    env.insert("TELEHEALTH__ARCHIVE__AFTER_MONTHS".into(), "1".into());
    assert_eq!(Settings::load_from(&env).unwrap().archive.after_months, 1);

    // The database's function refuses anything younger than a month as well.
    let app = archiving_app().await;
    let mut conn = as_app(&app).await;
    let refused = sqlx::query("SELECT * FROM archive_old_records(now())").fetch_all(&mut conn).await.unwrap_err();
    assert!(refused.to_string().contains("older than a month"), "{refused}");
}

#[tokio::test]
async fn the_archive_tables_have_the_live_columns_and_checks() {
    let app = archiving_app().await;
    let columns = |schema: &'static str, table: &'static str| {
        let pool = app.pool.clone();
        async move {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            )
            .bind(schema)
            .bind(table)
            .fetch_all(&pool)
            .await
            .unwrap();
            rows
        }
    };
    for table in ["consultations", "prescriptions"] {
        let mut live = columns("public", table).await;
        live.push(("archived_at".into(), "timestamp with time zone".into()));
        assert_eq!(columns("archive", table).await, live, "archive.{table} must have the live columns, in order");
    }
    // The CHECKs came along (a completed visit still needs its end).
    let checks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_constraint WHERE conrelid = 'archive.consultations'::regclass AND contype = 'c'
           AND conname = 'consultations_completed_check'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(checks, 1);
}
