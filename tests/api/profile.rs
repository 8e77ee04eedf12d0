//! Viewing and editing one's own profile.

use crate::helpers::*;

async fn signed_in_patient(app: &TestApp) -> reqwest::Client {
    assert_eq!(sign_up_patient(app, "ana@example.com", PASSWORD, "UTC").await.status(), 200);
    let client = browser(None);
    let res = app
        .post_form_as(
            &client,
            "/api/sign_in",
            &format!("email=ana%40example.com&password={}", PASSWORD.replace(' ', "+")),
        )
        .await;
    assert_eq!(res.status(), 200);
    client
}

#[tokio::test]
async fn a_patient_saves_their_details_tidied_and_sees_them_again() {
    let app = spawn_app().await;
    let client = signed_in_patient(&app).await;
    let form = profile_form(&[
        ("phone", "+91 98765 43210"),
        ("date_of_birth", "1990-04-21"),
        ("country", "in"),
        ("pincode", "560001"),
        ("city", "Bengaluru"),
        ("timezone", "Asia/Calcutta"),
        ("preferred_language", "hi"),
    ]);
    let res = app.post_form_as(&client, "/api/update_profile", &form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let p = app.get_json_as(&client, "/api/my_profile").await;
    assert_eq!(p["phone"], "+919876543210");
    assert_eq!(p["country"], "IN");
    assert_eq!(p["timezone"], "Asia/Kolkata");
    assert_eq!(p["date_of_birth"], "1990-04-21");
    let details: serde_json::Value =
        sqlx::query_scalar("SELECT details FROM audit_logs WHERE action = 'profile.updated'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let text = details.to_string();
    assert!(text.contains("phone") && text.contains("date_of_birth"), "{text}");
    assert!(!text.contains("98765") && !text.contains("1990"), "the audit names fields, never values: {text}");
}

#[tokio::test]
async fn bad_details_are_all_explained_and_nothing_is_saved() {
    let app = spawn_app().await;
    let client = signed_in_patient(&app).await;
    let form = profile_form(&[
        ("phone", "0207 946 0958"),
        ("date_of_birth", "2090-01-01"),
        ("country", "IN"),
        ("pincode", "5600"),
        ("timezone", "Mars/Base"),
    ]);
    let res = app.post_form_as(&client, "/api/update_profile", &form).await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    for field in ["phone", "date_of_birth", "pincode", "timezone"] {
        assert!(body["detail"][field].is_array(), "{field}: {body}");
    }
    let p = app.get_json_as(&client, "/api/my_profile").await;
    assert_eq!(p["phone"], "");
    assert_eq!(p["timezone"], "UTC");
}

#[tokio::test]
async fn a_stranger_can_neither_read_nor_write_a_profile() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/my_profile").await.status(), 401);
    assert_eq!(app.post_form("/api/update_profile", &profile_form(&[])).await.status(), 401);
    assert_eq!(app.get("/account/profile").await.status(), 401);
}
