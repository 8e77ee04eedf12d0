//! Administration: the dashboard's figures, the consultation and payment
//! lists, admin refunds, and the audit viewer with its CSV export.

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;

async fn get_as(app: &TestApp, client: &reqwest::Client, path: &str) -> reqwest::Response {
    client.get(format!("{}{}", app.address, path)).send().await.expect("request sent")
}

fn q(query: &str) -> String {
    format!("?query={}", urlencode(query))
}

/// A paid consultation (through the sandbox) of `amount` in `currency`, at `start`.
async fn paid_consultation(app: &TestApp, start: &str, amount: &str, currency: &str) -> (Uuid, Uuid) {
    let doctor = insert_doctor(&app.pool).await;
    let patient = insert_user(&app.pool, "patient").await;
    let consultation = insert_consultation(&app.pool, patient, doctor, start, 30, "scheduled").await.unwrap();
    let payment: Uuid = sqlx::query_scalar(
        "INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency, status, payment_method,
                               transaction_id, payment_gateway, paid_at)
         VALUES ($1, $2, $3, $4::numeric, $5, 'succeeded', 'Visa •••• 4242', $6, 'sandbox', $7::timestamptz)
         RETURNING id",
    )
    .bind(consultation)
    .bind(patient)
    .bind(doctor)
    .bind(amount)
    .bind(currency)
    .bind(format!("sbx_ch_{}", Uuid::new_v4().simple()))
    .bind(start)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    (consultation, payment)
}

async fn payment_state(app: &TestApp, id: Uuid) -> (String, String) {
    sqlx::query_as("SELECT status::text, refunded_amount::text FROM payments WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn refund(app: &TestApp, admin: &reqwest::Client, payment: Uuid, amount: &str, reason: &str) -> (u16, Value) {
    let body = form(&[("payment_id", &payment.to_string()), ("amount", amount), ("reason", reason)]);
    post_answer(app, admin, "/api/admin_refund", &body).await
}

#[tokio::test]
async fn the_dashboard_counts_the_range_by_status_and_revenue_per_currency_exactly() {
    let app = spawn_app().await;
    let admin = admin_with_mfa(&app, "ops@example.com").await;
    let doctor = insert_doctor(&app.pool).await;
    let patient = insert_user(&app.pool, "patient").await;
    for (start, status) in [
        ("2026-03-02 09:00Z", "completed"),
        ("2026-03-02 10:00Z", "completed"),
        ("2026-03-03 09:00Z", "no_show"),
        ("2026-03-04 09:00Z", "cancelled"),
        ("2026-04-20 09:00Z", "completed"), // outside the range
    ] {
        let id = insert_consultation(&app.pool, patient, doctor, start, 30, "scheduled").await.unwrap();
        let ended = match status {
            "completed" => {
                "status = 'completed', started_at = scheduled_at, ended_at = scheduled_end_at, duration_minutes = 30"
            }
            "no_show" => "status = 'no_show'",
            _ => {
                "status = 'cancelled', cancelled_at = scheduled_at - interval '1 day', cancellation_reason = 'patient'"
            }
        };
        if status == "completed" {
            sqlx::query("UPDATE consultations SET status = 'in_progress', started_at = scheduled_at WHERE id = $1")
                .bind(id)
                .execute(&app.pool)
                .await
                .unwrap();
        }
        sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE consultations SET {ended} WHERE id = $1")))
            .bind(id)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    paid_consultation(&app, "2026-03-05 09:00Z", "59.99", "EUR").await;
    paid_consultation(&app, "2026-03-06 09:00Z", "0.02", "EUR").await;
    paid_consultation(&app, "2026-03-06 11:00Z", "3000", "JPY").await;

    let (status, body) =
        get_answer(&app, &admin, &format!("/api/admin_dashboard{}", q("from=2026-03-01&to=2026-03-31"))).await;
    assert_eq!(status, 200, "{body}");
    let figure = |label: &str| {
        body["figures"].as_array().unwrap().iter().find(|f| f["label"] == label).map(|f| f["value"].clone())
    };
    // 4 in the block above plus the 3 paid ones (scheduled).
    assert_eq!(figure("Consultations"), Some("7".into()));
    assert_eq!(figure("Completed"), Some("2".into()));
    assert_eq!(figure("No-show rate"), Some("33.3%".into()), "1 no-show of 3 that were due");
    assert_eq!(figure("Revenue in EUR"), Some("EUR 60.01".into()), "59.99 + 0.02, exactly");
    assert_eq!(figure("Revenue in JPY"), Some("JPY 3000".into()));
    let charts = body["charts"].as_array().unwrap();
    let per_day = charts.iter().find(|c| c["id"] == "consultations-per-day").unwrap();
    assert_eq!(per_day["categories"].as_array().unwrap().len(), 31, "one bar per day of March");
    let completed = per_day["series"].as_array().unwrap().iter().find(|s| s["label"] == "Completed").unwrap();
    assert_eq!(completed["texts"][1], "2", "two completed on 2 March");
    assert!(charts.iter().any(|c| c["id"] == "revenue-eur") && charts.iter().any(|c| c["id"] == "revenue-jpy"));

    let page = get_as(&app, &admin, "/admin?from=2026-03-01&to=2026-03-31").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<svg") && html.contains("Consultations per day, by status"),
        "charts come drawn from the server"
    );
    assert!(html.contains("<rect"), "the bars are in the HTML");
}

#[tokio::test]
async fn a_reversed_or_overlong_range_and_an_unknown_filter_are_refused_field_by_field() {
    let app = spawn_app().await;
    let admin = admin_with_mfa(&app, "ops@example.com").await;
    let (status, body) =
        get_answer(&app, &admin, &format!("/api/admin_dashboard{}", q("from=2026-03-10&to=2026-03-01"))).await;
    assert_eq!(status, 422);
    assert_eq!(field_messages(&body, "to"), vec!["The end date is before the start date."]);
    let (status, body) =
        get_answer(&app, &admin, &format!("/api/admin_payments{}", q("from=2024-01-01&to=2026-01-01"))).await;
    assert_eq!(status, 422);
    assert!(field_messages(&body, "to")[0].contains("366"));
    let (status, body) = get_answer(&app, &admin, &format!("/api/admin_audit{}", q("colour=red"))).await;
    assert_eq!(status, 422);
    assert!(field_messages(&body, "filter")[0].contains("'colour'"));
    let (status, body) = get_answer(&app, &admin, &format!("/api/admin_consultations{}", q("status=flying"))).await;
    assert_eq!(status, 422);
    assert!(!field_messages(&body, "status").is_empty());
    let csv = get_as(&app, &admin, "/admin/audit.csv?from=2026-03-10&to=2026-03-01").await;
    assert_eq!(csv.status(), 422);
    assert!(csv.text().await.unwrap().contains("The end date is before the start date."));
}

#[tokio::test]
async fn an_admin_refunds_part_of_a_payment_exactly_and_the_act_is_audited_with_its_reason() {
    let app = spawn_app().await;
    let admin = admin_with_mfa(&app, "ops@example.com").await;
    let (consultation, payment) = paid_consultation(&app, "2026-03-05 09:00Z", "59.99", "EUR").await;

    let (status, body) = refund(&app, &admin, payment, "20.01", "Goodwill: the call dropped twice").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "EUR 20.01");
    assert_eq!(payment_state(&app, payment).await, ("partially_refunded".into(), "20.01".into()));

    let (status, _) = refund(&app, &admin, payment, "39.98", "Rest of it").await;
    assert_eq!(status, 200);
    assert_eq!(payment_state(&app, payment).await, ("refunded".into(), "59.99".into()));

    let rows: Vec<(Value,)> = sqlx::query_as(
        "SELECT details FROM audit_logs WHERE action = 'payment.refunded' AND resource_id = $1 ORDER BY created_at",
    )
    .bind(payment)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0["amount"], "20.01");
    assert_eq!(rows[0].0["reason"], "Goodwill: the call dropped twice");
    assert_eq!(rows[0].0["by"], "admin");
    assert_eq!(rows[0].0["consultation_id"], consultation.to_string());
}

#[tokio::test]
async fn a_refund_above_what_remains_without_a_reason_or_of_an_unpaid_payment_changes_nothing() {
    let app = spawn_app().await;
    let admin = admin_with_mfa(&app, "ops@example.com").await;
    let (_, payment) = paid_consultation(&app, "2026-03-05 09:00Z", "59.99", "EUR").await;

    let (status, body) = refund(&app, &admin, payment, "60.00", "Too much").await;
    assert_eq!(status, 422);
    assert_eq!(field_messages(&body, "amount"), vec!["At most 59.99 can still be refunded."]);
    let (status, body) = refund(&app, &admin, payment, "10", "  ").await;
    assert_eq!(status, 422);
    assert!(!field_messages(&body, "reason").is_empty());
    let (status, body) = refund(&app, &admin, payment, "1.001", "Sub-cent").await;
    assert_eq!(status, 422);
    assert!(field_messages(&body, "amount")[0].contains("decimal places"));
    assert_eq!(payment_state(&app, payment).await, ("succeeded".into(), "0.00".into()));

    let doctor = insert_doctor(&app.pool).await;
    let patient = insert_user(&app.pool, "patient").await;
    let held =
        insert_consultation(&app.pool, patient, doctor, "2026-03-07 09:00Z", 30, "pending_payment").await.unwrap();
    let pending: Uuid = sqlx::query_scalar(
        "INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency) VALUES ($1, $2, $3, 80, 'EUR') RETURNING id",
    )
    .bind(held)
    .bind(patient)
    .bind(doctor)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (status, _) = refund(&app, &admin, pending, "10", "Not paid").await;
    assert_eq!(status, 409);
    let (status, _) = refund(&app, &admin, Uuid::new_v4(), "10", "No such payment").await;
    assert_eq!(status, 404);
    assert_eq!(audit_count(&app, "payment.refunded").await, 0);
}

#[tokio::test]
async fn patients_doctors_and_admins_without_two_step_verification_cannot_use_administration() {
    let app = spawn_app().await;
    let (_, payment) = paid_consultation(&app, "2026-03-05 09:00Z", "59.99", "EUR").await;
    let no_mfa = admin_without_mfa(&app, "new-admin@example.com").await;
    assert_eq!(sign_up_patient(&app, "pat@example.com", PASSWORD, "UTC").await.status(), 200);
    let patient = browser(None);
    let signed_in = app
        .post_form_as(&patient, "/api/sign_in", &form(&[("email", "pat@example.com"), ("password", PASSWORD)]))
        .await;
    assert_eq!(signed_in.status(), 200);
    for client in [&patient, &no_mfa, &browser(None)] {
        let (status, _) = get_answer(&app, client, &format!("/api/admin_payments{}", q(""))).await;
        assert!(matches!(status, 401 | 403), "{status}");
        let (status, _) = refund(&app, client, payment, "1", "x").await;
        assert!(matches!(status, 401 | 403), "{status}");
        let csv = get_as(&app, client, "/admin/audit.csv").await;
        assert!(matches!(csv.status().as_u16(), 401 | 403), "{}", csv.status());
    }
    assert_eq!(payment_state(&app, payment).await.0, "succeeded");
}

/// Inserts `n` audit rows for one resource, all at the same instant.
async fn audit_burst(app: &TestApp, n: i32, resource: Uuid, at: &str) {
    sqlx::query(
        "INSERT INTO audit_logs (action, resource_type, resource_id, created_at)
         SELECT 'test.burst', 'consultation', $1, $2::timestamptz FROM generate_series(1, $3)",
    )
    .bind(resource)
    .bind(at)
    .bind(n)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_audit_viewer_pages_back_through_a_resources_history_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let admin = admin_with_mfa(&app, "ops@example.com").await;
    let (mine, other) = (Uuid::new_v4(), Uuid::new_v4());
    // Ties on created_at across page boundaries are the hard case for keyset pagination.
    audit_burst(&app, 70, mine, "2026-03-05 09:00Z").await;
    audit_burst(&app, 45, mine, "2026-03-04 09:00Z").await;
    audit_burst(&app, 10, other, "2026-03-05 09:00Z").await;

    let mut seen = std::collections::HashSet::new();
    let mut query = format!("resource_type=consultation&resource_id={mine}");
    let mut pages = 0;
    loop {
        let (status, page) = get_answer(&app, &admin, &format!("/api/admin_audit{}", q(&query))).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for row in page["rows"].as_array().unwrap() {
            assert_eq!(row["resource_id"], mine.to_string(), "only this resource's rows");
            assert!(seen.insert(row["id"].as_str().unwrap().to_string()), "no row twice");
        }
        match page["next"].as_str() {
            Some(next) => query = format!("{}&before={next}", page["query"].as_str().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 115, "every row once");
    assert_eq!(pages, 3, "50 + 50 + 15");
}

#[tokio::test]
async fn the_csv_export_streams_the_filtered_rows_and_is_itself_audited() {
    let app = spawn_app().await;
    let admin = admin_with_mfa(&app, "ops@example.com").await;
    let resource = Uuid::new_v4();
    audit_burst(&app, 3000, resource, "2026-03-05 09:00Z").await;
    sqlx::query(
        "INSERT INTO audit_logs (action, resource_type, resource_id, details, created_at)
         VALUES ('test.tricky', 'consultation', $1, '{\"note\": \"=cmd|, \\\"quoted\\\"\"}', '2026-03-06 09:00Z')",
    )
    .bind(resource)
    .execute(&app.pool)
    .await
    .unwrap();

    let response =
        get_as(&app, &admin, &format!("/admin/audit.csv?resource_type=consultation&resource_id={resource}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "created_at,id,user_id,user_email,action,resource_type,resource_id,ip_address,details");
    assert_eq!(lines.len(), 1 + 3001, "header and every row, across many chunks");
    assert!(lines[1].contains("test.tricky"), "newest first");
    assert!(lines[1].ends_with(r#""{""note"":""=cmd|, \""quoted\""""}""#), "{}", lines[1]);
    assert_eq!(audit_count(&app, "audit.exported").await, 1);
}

#[tokio::test]
async fn the_user_search_filters_by_role_and_status_and_refuses_unknown_ones() {
    let app = spawn_app().await;
    let admin = admin_with_mfa(&app, "ops@example.com").await;
    let doctor_user: Uuid = sqlx::query_scalar("SELECT user_id FROM doctors WHERE id = $1")
        .bind(insert_doctor(&app.pool).await)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (active, gone) = (insert_user(&app.pool, "patient").await, insert_user(&app.pool, "patient").await);
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1").bind(gone).execute(&app.pool).await.unwrap();
    let ids = |body: &Value| -> Vec<String> {
        body.as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()).collect()
    };

    let (status, body) = get_answer(&app, &admin, &format!("/api/admin_users{}", q("role=doctor"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), vec![doctor_user.to_string()]);
    let (_, body) =
        get_answer(&app, &admin, &format!("/api/admin_users{}", q("role=patient&status=deactivated"))).await;
    assert_eq!(ids(&body), vec![gone.to_string()]);
    let (_, body) = get_answer(&app, &admin, &format!("/api/admin_users{}", q("role=patient&status=active"))).await;
    assert_eq!(ids(&body), vec![active.to_string()]);

    let (status, body) =
        get_answer(&app, &admin, &format!("/api/admin_users{}", q("role=wizard&status=asleep&colour=red"))).await;
    assert_eq!(status, 422);
    assert!(!field_messages(&body, "role").is_empty() && !field_messages(&body, "status").is_empty());
    assert!(field_messages(&body, "filter")[0].contains("'colour'"));
}
