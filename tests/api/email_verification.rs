//! Email verification by a single-use, expiring link, sent by real SMTP.

use crate::helpers::*;

async fn app_with_smtp() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |env| {
        env.insert("TELEHEALTH__MAIL__TRANSPORT".into(), "smtp".into());
        env.insert("TELEHEALTH__MAIL__SMTP_URL".into(), url);
        env.insert("TELEHEALTH__APP__PUBLIC_URL".into(), "https://telehealth.example".into());
    })
    .await;
    (app, smtp)
}

async fn sign_up(app: &TestApp, email: &str) {
    let res = sign_up_patient(app, email, PASSWORD, "Europe/London").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn verify(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_form("/api/verify_email", &format!("token={token}")).await
}

async fn is_verified(app: &TestApp) -> bool {
    sqlx::query_scalar("SELECT is_email_verified FROM users").fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn signing_up_sends_a_verification_link_by_smtp() {
    let (app, smtp) = app_with_smtp().await;
    sign_up(&app, "ana@example.com").await;
    let message = smtp.wait_for("ana@example.com", 1).await;
    assert!(message.contains("Subject: Confirm your email address for Telehealth"), "{message}");
    assert!(decode_quoted_printable(&message).contains("https://telehealth.example/verify-email?token="), "{message}");
    assert_eq!(verification_token(&message).len(), 43);
    assert!(!is_verified(&app).await, "not before the link is used");
}

#[tokio::test]
async fn the_link_confirms_the_address_once_and_only_once() {
    let (app, smtp) = app_with_smtp().await;
    sign_up(&app, "ana@example.com").await;
    let token = verification_token(&smtp.wait_for("ana@example.com", 1).await);
    assert_eq!(verify(&app, &token).await.status(), 200);
    assert!(is_verified(&app).await);
    let again = verify(&app, &token).await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("already been used"));
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE action = 'auth.email_verified'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let (app, smtp) = app_with_smtp().await;
    sign_up(&app, "ana@example.com").await;
    let token = verification_token(&smtp.wait_for("ana@example.com", 1).await);
    sqlx::query("UPDATE email_tokens SET expires_at = now() - interval '1 second'").execute(&app.pool).await.unwrap();
    let res = verify(&app, &token).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("expired"));
    assert!(!is_verified(&app).await);
}

#[tokio::test]
async fn a_made_up_link_is_refused() {
    let (app, _smtp) = app_with_smtp().await;
    sign_up(&app, "ana@example.com").await;
    let res = verify(&app, "bm90LWEtcmVhbC10b2tlbi1hdC1hbGwtbm90LWF0LWFsbA").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("not valid"));
    assert!(!is_verified(&app).await);
}

#[tokio::test]
async fn a_new_link_can_be_asked_for_once_the_cooldown_has_passed() {
    let (app, smtp) = app_with_smtp().await;
    sign_up(&app, "ana@example.com").await;
    smtp.wait_for("ana@example.com", 1).await;
    let res = app
        .post_form("/api/sign_in", &format!("email=ana%40example.com&password={}", PASSWORD.replace(' ', "+")))
        .await;
    assert_eq!(res.status(), 200);

    let too_soon = app.post_form("/api/resend_verification", "").await;
    assert_eq!(too_soon.status(), 429);

    sqlx::query("UPDATE email_tokens SET created_at = now() - interval '2 minutes'").execute(&app.pool).await.unwrap();
    assert_eq!(app.post_form("/api/resend_verification", "").await.status(), 200);
    smtp.wait_for("ana@example.com", 2).await;
}

#[tokio::test]
async fn resending_needs_a_signed_in_user() {
    let (app, _smtp) = app_with_smtp().await;
    assert_eq!(app.post_form("/api/resend_verification", "").await.status(), 401);
}

#[tokio::test]
async fn the_development_mailbox_shows_what_the_dev_transport_sent() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com").await;
    let mails: serde_json::Value = app.get("/api/dev_mailbox?to=ANA%40example.com").await.json().await.unwrap();
    assert_eq!(mails.as_array().unwrap().len(), 1);
    assert!(mails[0]["body"].as_str().unwrap().contains("/verify-email?token="));
}

#[tokio::test]
async fn the_development_mailbox_does_not_exist_with_real_mail() {
    let (app, _smtp) = app_with_smtp().await;
    assert_eq!(app.get("/api/dev_mailbox").await.status(), 404);
    assert_eq!(app.get("/dev/mailbox").await.status(), 404, "nor does its page");
}
