//! Changing and resetting passwords.

use crate::helpers::*;

const NEW_PASSWORD: &str = "amber lantern quietly drifts";

async fn sign_up(app: &TestApp, email: &str) {
    assert_eq!(sign_up_patient(app, email, PASSWORD, "UTC").await.status(), 200);
}

fn device() -> reqwest::Client {
    browser(None)
}

async fn post(app: &TestApp, client: &reqwest::Client, path: &str, body: String) -> reqwest::Response {
    app.post_form_as(client, path, &body).await
}

async fn sign_in(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> reqwest::StatusCode {
    post(app, client, "/api/sign_in", format!("email={}&password={}", urlencode(email), urlencode(password)))
        .await
        .status()
}

async fn signed_in(app: &TestApp, client: &reqwest::Client) -> bool {
    !app.get_json_as(client, "/api/me").await.is_null()
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com").await;
    let laptop = device();
    assert_eq!(sign_in(&app, &laptop, "ana@example.com", PASSWORD).await, 200);
    let res = post(
        &app,
        &laptop,
        "/api/change_password",
        format!("current_password=guess+work+here+ok&new_password={}", urlencode(NEW_PASSWORD)),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("current_password"));
    assert_eq!(sign_in(&app, &device(), "ana@example.com", PASSWORD).await, 200, "the old password still works");
}

#[tokio::test]
async fn changing_the_password_signs_out_the_other_devices_but_not_this_one() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com").await;
    let (laptop, phone) = (device(), device());
    sign_in(&app, &laptop, "ana@example.com", PASSWORD).await;
    sign_in(&app, &phone, "ana@example.com", PASSWORD).await;
    let res = post(
        &app,
        &laptop,
        "/api/change_password",
        format!("current_password={}&new_password={}", urlencode(PASSWORD), urlencode(NEW_PASSWORD)),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(signed_in(&app, &laptop).await);
    assert!(!signed_in(&app, &phone).await);
    assert_eq!(sign_in(&app, &device(), "ana@example.com", PASSWORD).await, 422, "the old password is gone");
    assert_eq!(sign_in(&app, &device(), "ana@example.com", NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn a_weak_new_password_is_refused_next_to_its_field() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com").await;
    let laptop = device();
    sign_in(&app, &laptop, "ana@example.com", PASSWORD).await;
    let res = post(
        &app,
        &laptop,
        "/api/change_password",
        format!("current_password={}&new_password=password1234", urlencode(PASSWORD)),
    )
    .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["detail"]["new_password"][0].as_str().unwrap().contains("too common"));
}

async fn smtp_app() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |env| {
        env.insert("TELEHEALTH__MAIL__TRANSPORT".into(), "smtp".into());
        env.insert("TELEHEALTH__MAIL__SMTP_URL".into(), url);
    })
    .await;
    (app, smtp)
}

fn reset_token(message: &str) -> String {
    let text = decode_quoted_printable(message);
    let start = text.find("/reset-password?token=").expect("a reset link") + "/reset-password?token=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

#[tokio::test]
async fn asking_for_a_reset_answers_the_same_for_unknown_addresses_and_mails_only_real_ones() {
    let (app, smtp) = smtp_app().await;
    sign_up(&app, "ana@example.com").await;
    smtp.wait_for("ana@example.com", 1).await; // the verification mail
    let unknown = post(&app, &device(), "/api/request_password_reset", "email=nobody%40example.com".into()).await;
    let known = post(&app, &device(), "/api/request_password_reset", "email=ana%40example.com".into()).await;
    assert_eq!(unknown.status(), known.status());
    assert_eq!(unknown.text().await.unwrap(), known.text().await.unwrap());
    let message = smtp.wait_for("ana@example.com", 2).await;
    let all = smtp.messages();
    assert!(all.iter().all(|m| !m.contains("nobody@example.com")), "no mail to unknown addresses");
    let reset = all.iter().find(|m| m.contains("Reset your Telehealth password")).unwrap_or(&message);
    assert_eq!(reset_token(reset).len(), 43);
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let (app, smtp) = smtp_app().await;
    sign_up(&app, "ana@example.com").await;
    let phone = device();
    sign_in(&app, &phone, "ana@example.com", PASSWORD).await;
    post(&app, &device(), "/api/request_password_reset", "email=ana%40example.com".into()).await;
    smtp.wait_for("ana@example.com", 2).await;
    let message = smtp.messages().into_iter().find(|m| m.contains("Reset your Telehealth password")).unwrap();
    let token = reset_token(&message);

    let res =
        post(&app, &device(), "/api/reset_password", format!("token={token}&new_password={}", urlencode(NEW_PASSWORD)))
            .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(!signed_in(&app, &phone).await, "every session ended");
    assert_eq!(sign_in(&app, &device(), "ana@example.com", NEW_PASSWORD).await, 200);

    let again =
        post(&app, &device(), "/api/reset_password", format!("token={token}&new_password=another+fine+long+phrase"))
            .await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("already been used"));
}

#[tokio::test]
async fn a_reset_link_older_than_thirty_minutes_is_refused() {
    let (app, smtp) = smtp_app().await;
    sign_up(&app, "ana@example.com").await;
    post(&app, &device(), "/api/request_password_reset", "email=ana%40example.com".into()).await;
    smtp.wait_for("ana@example.com", 2).await;
    let message = smtp.messages().into_iter().find(|m| m.contains("Reset your Telehealth password")).unwrap();
    sqlx::query("UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'reset_password'")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = post(
        &app,
        &device(),
        "/api/reset_password",
        format!("token={}&new_password={}", reset_token(&message), urlencode(NEW_PASSWORD)),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("expired"));
    assert_eq!(sign_in(&app, &device(), "ana@example.com", PASSWORD).await, 200, "the password is unchanged");
}
