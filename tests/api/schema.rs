//! The database itself refuses what must never be stored.

use crate::helpers::*;

#[tokio::test]
async fn an_unknown_role_is_rejected() {
    let app = spawn_app().await;
    let err = sqlx::query("INSERT INTO users (email, password_hash, role) VALUES ('a@example.com', 'x', 'superuser')")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert_eq!(constraint_of(&err), "user_role_check");
}

#[tokio::test]
async fn a_second_account_with_the_same_email_in_other_case_is_rejected() {
    let app = spawn_app().await;
    sqlx::query("INSERT INTO users (email, password_hash, role) VALUES ('Ana@Example.com', 'x', 'patient')")
        .execute(&app.pool)
        .await
        .unwrap();
    let err = sqlx::query("INSERT INTO users (email, password_hash, role) VALUES ('ana@example.com', 'x', 'doctor')")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert_eq!(constraint_of(&err), "users_email_key");
}

#[tokio::test]
async fn a_day_of_week_of_seven_is_rejected() {
    let app = spawn_app().await;
    let doctor = insert_doctor(&app.pool).await;
    let err = sqlx::query(
        "INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone)
         VALUES ($1, 7, '09:00', '12:00', 'Europe/London')",
    )
    .bind(doctor)
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert_eq!(constraint_of(&err), "availability_slots_day_of_week_check");
}

#[tokio::test]
async fn an_availability_window_ending_before_it_starts_is_rejected() {
    let app = spawn_app().await;
    let doctor = insert_doctor(&app.pool).await;
    let err = sqlx::query(
        "INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone)
         VALUES ($1, 1, '12:00', '09:00', 'Europe/London')",
    )
    .bind(doctor)
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert_eq!(constraint_of(&err), "availability_slots_end_after_start");
}

#[tokio::test]
async fn booking_a_doctor_for_an_overlapping_active_time_is_rejected() {
    let app = spawn_app().await;
    let doctor = insert_doctor(&app.pool).await;
    let (ana, ben) = (insert_user(&app.pool, "patient").await, insert_user(&app.pool, "patient").await);
    insert_consultation(&app.pool, ana, doctor, "2030-03-04 10:00Z", 30, "scheduled").await.unwrap();

    let err =
        insert_consultation(&app.pool, ben, doctor, "2030-03-04 10:15Z", 30, "pending_payment").await.unwrap_err();
    assert_eq!(constraint_of(&err), "consultations_no_doctor_overlap");
}

#[tokio::test]
async fn cancelled_and_back_to_back_consultations_do_not_clash() {
    let app = spawn_app().await;
    let doctor = insert_doctor(&app.pool).await;
    let (ana, ben, cai) = (
        insert_user(&app.pool, "patient").await,
        insert_user(&app.pool, "patient").await,
        insert_user(&app.pool, "patient").await,
    );
    insert_consultation(&app.pool, ana, doctor, "2030-03-04 10:00Z", 30, "cancelled").await.unwrap();
    insert_consultation(&app.pool, ben, doctor, "2030-03-04 10:00Z", 30, "scheduled").await.unwrap();
    insert_consultation(&app.pool, cai, doctor, "2030-03-04 10:30Z", 30, "scheduled").await.unwrap();

    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM consultations").fetch_one(&app.pool).await.unwrap();
    assert_eq!(count, 3);
}

#[tokio::test]
async fn a_patient_cannot_hold_two_overlapping_consultations() {
    let app = spawn_app().await;
    let (dr_a, dr_b) = (insert_doctor(&app.pool).await, insert_doctor(&app.pool).await);
    let ana = insert_user(&app.pool, "patient").await;
    insert_consultation(&app.pool, ana, dr_a, "2030-03-04 10:00Z", 30, "pending_payment").await.unwrap();
    let err = insert_consultation(&app.pool, ana, dr_b, "2030-03-04 10:20Z", 20, "scheduled").await.unwrap_err();
    assert_eq!(constraint_of(&err), "consultations_no_patient_overlap");
}

#[tokio::test]
async fn reviving_a_cancelled_consultation_is_refused_by_the_lifecycle_even_into_a_taken_time() {
    let app = spawn_app().await;
    let doctor = insert_doctor(&app.pool).await;
    let (ana, ben) = (insert_user(&app.pool, "patient").await, insert_user(&app.pool, "patient").await);
    let cancelled = insert_consultation(&app.pool, ana, doctor, "2030-03-04 10:00Z", 30, "cancelled").await.unwrap();
    insert_consultation(&app.pool, ben, doctor, "2030-03-04 10:00Z", 30, "scheduled").await.unwrap();
    let err = sqlx::query("UPDATE consultations SET status = 'scheduled' WHERE id = $1")
        .bind(cancelled)
        .execute(&app.pool)
        .await
        .unwrap_err();
    // A cancellation is final (and the time is taken anyway).
    assert_eq!(constraint_of(&err), "consultations_lifecycle");
}

#[tokio::test]
async fn an_unknown_consultation_status_or_type_is_rejected() {
    let app = spawn_app().await;
    let doctor = insert_doctor(&app.pool).await;
    let ana = insert_user(&app.pool, "patient").await;
    let err = insert_consultation(&app.pool, ana, doctor, "2030-03-04 10:00Z", 30, "postponed").await.unwrap_err();
    assert_eq!(constraint_of(&err), "consultation_status_check");
    let err = sqlx::query(
        "INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, consultation_type)
         VALUES ($1, $2, '2030-03-04 11:00Z', '2030-03-04 11:30Z', 'telepathy')",
    )
    .bind(ana)
    .bind(doctor)
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert_eq!(constraint_of(&err), "consultation_type_check");
}

#[tokio::test]
async fn updated_at_moves_on_update() {
    let app = spawn_app().await;
    let user = insert_user(&app.pool, "patient").await;
    let before: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM users WHERE id = $1").bind(user).fetch_one(&app.pool).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    sqlx::query("UPDATE users SET is_email_verified = true WHERE id = $1").bind(user).execute(&app.pool).await.unwrap();
    let after: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM users WHERE id = $1").bind(user).fetch_one(&app.pool).await.unwrap();
    assert!(after > before, "updated_at {after} should be later than {before}");
}

#[tokio::test]
async fn every_table_with_updated_at_has_the_trigger() {
    let app = spawn_app().await;
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT c.table_name::text FROM information_schema.columns c
         WHERE c.table_schema = 'public' AND c.column_name = 'updated_at'
           AND EXISTS (SELECT 1 FROM information_schema.tables tb
                       WHERE tb.table_schema = c.table_schema AND tb.table_name = c.table_name
                         AND tb.table_type = 'BASE TABLE')
           AND NOT EXISTS (SELECT 1 FROM information_schema.triggers t
                           WHERE t.event_object_table = c.table_name AND t.action_statement LIKE '%set_updated_at%')
           AND c.table_name NOT LIKE '\\_%'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(missing.is_empty(), "tables without the set_updated_at trigger: {missing:?}");
    let with_trigger: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT event_object_table) FROM information_schema.triggers WHERE action_statement LIKE '%set_updated_at%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(with_trigger >= 7, "users, profiles, doctors, availability_slots, consultations, payments, prescriptions");
}

#[tokio::test]
async fn an_audit_row_for_a_month_without_a_partition_still_lands() {
    let app = spawn_app().await;
    sqlx::query("INSERT INTO audit_logs (action, resource_type, created_at) VALUES ('test.far_future', 'system', '2031-07-15Z')")
        .execute(&app.pool)
        .await
        .unwrap();
    let partition: String =
        sqlx::query_scalar("SELECT tableoid::regclass::text FROM audit_logs WHERE action = 'test.far_future'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(partition, "audit_logs_default");

    // Creating that month's partition later moves the row into it.
    let created: bool =
        sqlx::query_scalar("SELECT ensure_audit_log_partition('2031-07-01')").fetch_one(&app.pool).await.unwrap();
    assert!(created);
    let partition: String =
        sqlx::query_scalar("SELECT tableoid::regclass::text FROM audit_logs WHERE action = 'test.far_future'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(partition, "audit_logs_y2031m07");
}

#[tokio::test]
async fn this_months_and_the_next_months_audit_partitions_exist() {
    let app = spawn_app().await;
    let partitions: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'audit_logs'::regclass ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let this_month = chrono::Utc::now().format("audit_logs_y%Ym%m").to_string();
    assert!(partitions.contains(&this_month), "{partitions:?}");
    assert!(partitions.contains(&"audit_logs_default".to_string()));
    assert!(partitions.len() >= 5, "default + current + 3 ahead: {partitions:?}");
    let again: i32 = sqlx::query_scalar("SELECT ensure_audit_log_partitions(3)").fetch_one(&app.pool).await.unwrap();
    assert_eq!(again, 0, "creating partitions is idempotent");
}

#[tokio::test]
async fn the_indexes_the_seed_schema_lists_exist() {
    let app = spawn_app().await;
    let defs: Vec<String> = sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    // A partitioned table's own index reads "ON ONLY public.audit_logs".
    let has = |table: &str, cols: &str| {
        defs.iter().any(|d| {
            (d.contains(&format!(" ON public.{table} ")) || d.contains(&format!(" ON ONLY public.{table} ")))
                && d.contains(cols)
        })
    };
    assert!(has("users", "lower((email)::text)"), "users.email");
    assert!(has("users", "(role)"), "users.role");
    assert!(has("doctors", "(specialization)"), "doctors.specialization");
    assert!(has("doctors", "(is_available)"), "doctors.is_available");
    assert!(has("consultations", "(scheduled_at)"), "consultations.scheduled_at");
    assert!(has("consultations", "(status)"), "consultations.status");
    assert!(has("audit_logs", "(created_at)"), "audit_logs.created_at");
    assert!(has("audit_logs", "(resource_type, resource_id)"), "audit_logs (resource_type, resource_id)");
}

#[tokio::test]
async fn a_payment_cannot_name_another_patient_than_its_consultation() {
    let app = spawn_app().await;
    let doctor = insert_doctor(&app.pool).await;
    let (ana, ben) = (insert_user(&app.pool, "patient").await, insert_user(&app.pool, "patient").await);
    let consultation =
        insert_consultation(&app.pool, ana, doctor, "2030-03-04 10:00Z", 30, "pending_payment").await.unwrap();
    let err = sqlx::query(
        "INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency) VALUES ($1, $2, $3, 80.00, 'EUR')",
    )
    .bind(consultation)
    .bind(ben)
    .bind(doctor)
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert_eq!(constraint_of(&err), "payments_consultation_parties_fkey");
}
