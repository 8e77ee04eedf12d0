//! Row-level security: the database itself keeps each person's health and
//! money records to them, whatever query the application sends. These
//! tests connect the way the application does (`SET ROLE telehealth_app`,
//! the actor in transaction-local settings) and ask without any WHERE clause.

use crate::helpers::*;
use chrono::Datelike;
use sqlx::{Connection, Executor, PgConnection, Row};
use uuid::Uuid;

/// A connection working as the application's role.
async fn as_app(app: &TestApp) -> PgConnection {
    let mut conn = PgConnection::connect(&app.db.url).await.expect("connect");
    conn.execute("SET ROLE telehealth_app").await.expect("the application's role exists");
    conn
}

/// Names the actor of this transaction, as `db::begin` does.
async fn act_as(tx: &mut PgConnection, user: Option<Uuid>, role: &str) {
    sqlx::query("SELECT set_config('app.user_id', $1, true), set_config('app.role', $2, true)")
        .bind(user.map(|u| u.to_string()).unwrap_or_default())
        .bind(role)
        .execute(tx)
        .await
        .unwrap();
}

/// Counts every row of `table` as `user` in `role` would see it, in one transaction.
async fn visible(conn: &mut PgConnection, user: Option<Uuid>, role: &str, table: &str) -> i64 {
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, user, role).await;
    // No WHERE clause: only the policies decide.
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    n
}

struct World {
    ana: Uuid,
    ben: Uuid,
    doctor_user: Uuid,
    doctor: Uuid,
    other_doctor_user: Uuid,
}

/// Two patients with one completed consultation each (payment, prescription,
/// chat message) with the same doctor, and a second doctor with nobody.
async fn world(app: &TestApp) -> World {
    let pool = &app.pool;
    let (ana, ben) = (insert_user(pool, "patient").await, insert_user(pool, "patient").await);
    let doctor = insert_doctor(pool).await;
    let doctor_user: Uuid =
        sqlx::query_scalar("SELECT user_id FROM doctors WHERE id = $1").bind(doctor).fetch_one(pool).await.unwrap();
    let other = insert_doctor(pool).await;
    let other_doctor_user: Uuid =
        sqlx::query_scalar("SELECT user_id FROM doctors WHERE id = $1").bind(other).fetch_one(pool).await.unwrap();
    for (patient, day) in [(ana, "2030-01-07"), (ben, "2030-01-08")] {
        let id =
            insert_consultation(pool, patient, doctor, &format!("{day}T10:00:00Z"), 30, "scheduled").await.unwrap();
        sqlx::query(
            "INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency) VALUES ($1, $2, $3, 80, 'EUR')",
        )
        .bind(id)
        .bind(patient)
        .bind(doctor)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO prescriptions (consultation_id, patient_id, doctor_id, medications) VALUES ($1, $2, $3, '[]')",
        )
        .bind(id)
        .bind(patient)
        .bind(doctor)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO chat_messages (consultation_id, sender_id, client_id, body) VALUES ($1, $2, gen_random_uuid(), 'Hello')",
        )
        .bind(id)
        .bind(patient)
        .execute(pool)
        .await
        .unwrap();
    }
    World { ana, ben, doctor_user, doctor, other_doctor_user }
}

#[tokio::test]
async fn a_patient_querying_without_a_where_clause_sees_only_their_own_rows() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut conn = as_app(&app).await;
    for table in ["consultations", "payments", "prescriptions", "chat_messages"] {
        assert_eq!(visible(&mut conn, Some(w.ana), "patient", table).await, 1, "{table} as Ana");
        assert_eq!(visible(&mut conn, Some(w.ben), "patient", table).await, 1, "{table} as Ben");
    }
    // Ana's consultation is the one she sees.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.ana), "patient").await;
    let patients: Vec<Uuid> =
        sqlx::query_scalar("SELECT patient_id FROM consultations").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(patients, vec![w.ana]);
    // Profiles: her own and the two doctors', never Ben's.
    let people: Vec<Uuid> = sqlx::query("SELECT user_id FROM profiles")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(people.contains(&w.ana) && people.contains(&w.doctor_user) && people.contains(&w.other_doctor_user));
    assert!(!people.contains(&w.ben), "Ben's profile leaked to Ana");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn a_doctor_sees_their_own_patients_and_another_doctor_sees_none_of_them() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut conn = as_app(&app).await;
    for table in ["consultations", "payments", "prescriptions", "chat_messages"] {
        assert_eq!(visible(&mut conn, Some(w.doctor_user), "doctor", table).await, 2, "{table} as their doctor");
        assert_eq!(
            visible(&mut conn, Some(w.other_doctor_user), "doctor", table).await,
            0,
            "{table} as another doctor"
        );
    }
    // The doctor sees both patients' profiles; the other doctor neither.
    let patient_profiles = "profiles p JOIN users u ON u.id = p.user_id WHERE u.role = 'patient'";
    assert_eq!(visible(&mut conn, Some(w.doctor_user), "doctor", patient_profiles).await, 2);
    assert_eq!(visible(&mut conn, Some(w.other_doctor_user), "doctor", patient_profiles).await, 0);
    let _ = w.doctor;
}

#[tokio::test]
async fn anonymous_requests_see_no_records_only_doctors_profiles_and_their_busy_times() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut conn = as_app(&app).await;
    for table in ["consultations", "payments", "prescriptions", "chat_messages"] {
        assert_eq!(visible(&mut conn, None, "", table).await, 0, "{table} anonymously");
    }
    let patient_profiles = "profiles p JOIN users u ON u.id = p.user_id WHERE u.role = 'patient'";
    assert_eq!(visible(&mut conn, None, "", patient_profiles).await, 0);
    assert_eq!(visible(&mut conn, None, "", "profiles").await, 2, "the two doctors' profiles");
    // When a doctor is busy is public; with whom is not.
    let busy: i64 =
        sqlx::query_scalar("SELECT count(*) FROM doctor_busy_times(ARRAY[$1]::uuid[], '2030-01-01', '2030-02-01')")
            .bind(w.doctor)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(busy, 2);
}

#[tokio::test]
async fn the_application_role_owns_nothing_bypasses_nothing_and_cannot_rewrite_the_audit_trail() {
    let app = spawn_app().await;
    let role = sqlx::query("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'telehealth_app'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!role.get::<bool, _>(0) && !role.get::<bool, _>(1));
    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = 'telehealth_app'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(owned, 0);
    sqlx::query("INSERT INTO audit_logs (action, resource_type) VALUES ('test.row', 'test')")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut conn = as_app(&app).await;
    let update = conn.execute("UPDATE audit_logs SET action = 'edited'").await.unwrap_err();
    assert!(update.to_string().contains("permission denied"), "{update}");
    let delete = conn.execute("DELETE FROM audit_logs").await.unwrap_err();
    assert!(delete.to_string().contains("permission denied"), "{delete}");
    // Appending is allowed.
    conn.execute("INSERT INTO audit_logs (action, resource_type) VALUES ('test.appended', 'test')").await.unwrap();
}

#[tokio::test]
async fn a_patient_cannot_write_a_record_in_someone_elses_name() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut conn = as_app(&app).await;
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.ana), "patient").await;
    let refused = sqlx::query(
        "INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, consultation_type)
         VALUES ($1, $2, '2030-03-01T10:00Z', '2030-03-01T10:30Z', 'video')",
    )
    .bind(w.ben)
    .bind(w.doctor)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("row-level security"), "{refused}");
    tx.rollback().await.unwrap();
    // Updating Ben's consultation as Ana touches nothing.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.ana), "patient").await;
    let done = sqlx::query("UPDATE consultations SET symptoms = 'changed' WHERE patient_id = $1")
        .bind(w.ben)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 0);
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn not_even_the_owner_can_edit_or_delete_an_audit_row() {
    let app = spawn_app().await;
    sqlx::query("INSERT INTO audit_logs (action, resource_type) VALUES ('test.kept', 'test')")
        .execute(&app.pool)
        .await
        .unwrap();
    let edit = sqlx::query("UPDATE audit_logs SET action = 'test.edited' WHERE action = 'test.kept'")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert_eq!(constraint_of(&edit), "audit_logs_append_only");
    let delete = sqlx::query("DELETE FROM audit_logs WHERE action = 'test.kept'").execute(&app.pool).await.unwrap_err();
    assert_eq!(constraint_of(&delete), "audit_logs_append_only");
    // The maintenance flag stays down after a partition move.
    let _: bool =
        sqlx::query_scalar("SELECT ensure_audit_log_partition('2032-02-01')").fetch_one(&app.pool).await.unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE action = 'test.kept'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, 1);
}

#[tokio::test]
async fn the_application_creates_audit_partitions_ahead_through_the_owners_function_only() {
    let app = spawn_app().await;
    // Drop next-but-two month's partition as the owner, then let the job (as the app) recreate it.
    let ahead = chrono::Utc::now().date_naive().with_day(1).unwrap() + chrono::Months::new(3);
    let name = ahead.format("audit_logs_y%Ym%m").to_string();
    app.pool.execute(sqlx::AssertSqlSafe(format!("DROP TABLE {name}"))).await.unwrap();
    let created = telehealth::server::services::audit::create_partitions_ahead(&app.app_pool).await.unwrap();
    assert_eq!(created, 1);
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(&name).fetch_one(&app.pool).await.unwrap();
    assert!(exists, "{name}");
    // Directly, the application's role cannot create tables.
    let mut conn = as_app(&app).await;
    let refused =
        sqlx::query("SELECT ensure_audit_log_partition('2033-01-01')").fetch_one(&mut conn).await.unwrap_err();
    assert!(refused.to_string().contains("permission denied"), "{refused}");
}

/// The consultation of this patient in the world.
async fn consultation_of(app: &TestApp, patient: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT id FROM consultations WHERE patient_id = $1")
        .bind(patient)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// An addendum by `author` (inserted as the owner: the policies are what is tested).
async fn addendum(app: &TestApp, consultation: Uuid, author: Uuid, body: &str) {
    sqlx::query("INSERT INTO consultation_addenda (consultation_id, author_id, body) VALUES ($1, $2, $3)")
        .bind(consultation)
        .bind(author)
        .bind(body)
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn addenda_are_their_patients_and_doctors_only_even_once_the_visit_is_archived() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let carl = insert_user(&app.pool, "patient").await;
    let admin = insert_user(&app.pool, "admin").await;
    addendum(&app, consultation_of(&app, w.ana).await, w.doctor_user, "Ana: the ECG was on the 3rd").await;
    addendum(&app, consultation_of(&app, w.ben).await, w.doctor_user, "Ben: allergy to penicillin noted").await;
    // A visit of Ana's from 2020, with its addendum, moves to the archive.
    let old = insert_consultation(&app.pool, w.ana, w.doctor, "2020-01-06T10:00:00Z", 30, "scheduled").await.unwrap();
    sqlx::query(
        "UPDATE consultations SET status = 'cancelled', cancelled_at = scheduled_at - interval '1 day' WHERE id = $1",
    )
    .bind(old)
    .execute(&app.pool)
    .await
    .unwrap();
    addendum(&app, old, w.doctor_user, "Ana, 2020: cancelled by phone").await;
    let moved: i32 = sqlx::query_scalar("SELECT consultations FROM archive_old_records(now() - interval '24 months')")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(moved, 1);

    let mut conn = as_app(&app).await;
    let table = "consultation_addenda";
    assert_eq!(visible(&mut conn, Some(w.ana), "patient", table).await, 2, "Ana's two, the archived one too");
    assert_eq!(visible(&mut conn, Some(w.ben), "patient", table).await, 1, "Ben's one");
    assert_eq!(visible(&mut conn, Some(carl), "patient", table).await, 0, "a stranger patient sees none");
    assert_eq!(visible(&mut conn, Some(w.doctor_user), "doctor", table).await, 3, "their doctor sees all three");
    assert_eq!(visible(&mut conn, Some(w.other_doctor_user), "doctor", table).await, 0, "another doctor none");
    assert_eq!(visible(&mut conn, Some(admin), "admin", table).await, 0, "the record is not the admins'");
    assert_eq!(visible(&mut conn, None, "", table).await, 0, "anonymous: none");
    assert_eq!(visible(&mut conn, None, "system", table).await, 3, "the system sees all");

    // With no WHERE clause, Ana gets exactly her own, by their text.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.ana), "patient").await;
    let mut bodies: Vec<String> =
        sqlx::query_scalar("SELECT body FROM consultation_addenda").fetch_all(&mut *tx).await.unwrap();
    bodies.sort();
    assert_eq!(bodies, vec!["Ana, 2020: cancelled by phone", "Ana: the ECG was on the 3rd"]);
    // She cannot write one, not even on her own record.
    refuse_addendum(&mut tx, consultation_of(&app, w.ana).await, w.ana).await;
    tx.rollback().await.unwrap();
    // Another doctor cannot add one to a consultation that is not theirs.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.other_doctor_user), "doctor").await;
    refuse_addendum(&mut tx, consultation_of(&app, w.ben).await, w.other_doctor_user).await;
    tx.rollback().await.unwrap();
}

/// Row security refuses this author's addendum on this consultation.
async fn refuse_addendum(tx: &mut PgConnection, consultation: Uuid, author: Uuid) {
    let insert =
        sqlx::query("INSERT INTO consultation_addenda (consultation_id, author_id, body) VALUES ($1, $2, 'x')")
            .bind(consultation)
            .bind(author);
    refused_by_row_security(tx, insert).await;
}

/// The statement fails, and row security is why.
async fn refused_by_row_security(
    tx: &mut PgConnection,
    statement: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) {
    let refused = statement.execute(&mut *tx).await.unwrap_err();
    assert!(refused.to_string().contains("row-level security"), "{refused}");
}

#[tokio::test]
async fn parked_room_payloads_are_their_rooms_parties_and_the_systems_only() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (anas, bens) = (consultation_of(&app, w.ana).await, consultation_of(&app, w.ben).await);
    let payload = |room: Uuid| serde_json::json!({ "room": room, "event": { "type": "pong" } }).to_string();
    let mut conn = as_app(&app).await;

    // Ana parks a payload for her own room; not for Ben's, and nobody anonymously.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.ana), "patient").await;
    sqlx::query("INSERT INTO room_relay (payload) VALUES ($1)").bind(payload(anas)).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.ana), "patient").await;
    refused_by_row_security(&mut tx, sqlx::query("INSERT INTO room_relay (payload) VALUES ($1)").bind(payload(bens)))
        .await;
    tx.rollback().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, None, "").await;
    refused_by_row_security(&mut tx, sqlx::query("INSERT INTO room_relay (payload) VALUES ($1)").bind(payload(anas)))
        .await;
    tx.rollback().await.unwrap();
    // The server parks for any room.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, None, "system").await;
    sqlx::query("INSERT INTO room_relay (payload) VALUES ($1)").bind(payload(bens)).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(visible(&mut conn, Some(w.ana), "patient", "room_relay").await, 1, "Ana: her room's");
    assert_eq!(visible(&mut conn, Some(w.ben), "patient", "room_relay").await, 1, "Ben: his room's");
    assert_eq!(visible(&mut conn, Some(w.doctor_user), "doctor", "room_relay").await, 2, "their doctor: both");
    assert_eq!(visible(&mut conn, Some(w.other_doctor_user), "doctor", "room_relay").await, 0);
    assert_eq!(visible(&mut conn, None, "", "room_relay").await, 0, "anonymous: none");
    assert_eq!(visible(&mut conn, None, "system", "room_relay").await, 2, "the hub reads every room's");
    // The room a row belongs to is read from the payload itself.
    let rooms: Vec<Option<Uuid>> =
        sqlx::query_scalar("SELECT consultation_id FROM room_relay ORDER BY id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(rooms, vec![Some(anas), Some(bens)]);
}

/// The booking's two owner-rights functions (migration 18) stand in for row
/// security on the booking path: they act for the transaction's patient only.
#[tokio::test]
async fn the_booking_functions_act_for_the_signed_in_patient_and_nobody_else() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut conn = as_app(&app).await;
    let book = "SELECT book_hold($1, '2031-03-03T10:00:00Z', '2031-03-03T10:30:00Z', 'video', 'Cough.',
                now() + interval '10 minutes', gen_random_uuid(), 80, 'EUR', '{}', NULL, NULL)";

    // A doctor (or anyone not a patient) cannot book, not even in their own name.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.doctor_user), "doctor").await;
    let refused = sqlx::query(book).bind(w.doctor).execute(&mut *tx).await.unwrap_err();
    assert_eq!(refused.as_database_error().and_then(|e| e.code()).as_deref(), Some("42501"));
    tx.rollback().await.unwrap();

    // Anonymous neither.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, None, "").await;
    assert!(sqlx::query(book).bind(w.doctor).execute(&mut *tx).await.is_err());
    tx.rollback().await.unwrap();

    // A patient books in their own name, whatever else they might wish.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.ben), "patient").await;
    let id: Uuid = sqlx::query_scalar(book).bind(w.doctor).fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let (patient, payer, audited): (Uuid, Uuid, Option<Uuid>) = sqlx::query_as(
        "SELECT c.patient_id, p.patient_id, a.user_id FROM consultations c JOIN payments p ON p.consultation_id = c.id
         JOIN audit_logs a ON a.resource_id = c.id AND a.action = 'consultation.booked' WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((patient, payer, audited), (w.ben, w.ben, Some(w.ben)));

    // The booking context is the acting patient's own account and nobody else's.
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, Some(w.ana), "patient").await;
    let rows = sqlx::query(
        "SELECT existing, timezone FROM booking_context(gen_random_uuid(), $1, '2031-03-03T09:00:00Z', '2031-03-03T12:00:00Z')",
    )
    .bind(w.doctor)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1, "exactly one account: the actor's");
    tx.rollback().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    act_as(&mut tx, None, "").await;
    let rows = sqlx::query(
        "SELECT existing FROM booking_context(gen_random_uuid(), $1, '2031-03-03T09:00:00Z', '2031-03-03T12:00:00Z')",
    )
    .bind(w.doctor)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert!(rows.is_empty(), "no actor, no account");
    tx.rollback().await.unwrap();
}
