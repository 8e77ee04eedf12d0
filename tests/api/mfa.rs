//! Two-step verification: enrolment, the second sign-in step, recovery
//! codes, turning it off, the administrators' obligation and reset.

use crate::helpers::*;
use telehealth::server::auth::mfa::code_at;
use uuid::Uuid;

/// A patient signed up and in on their own browser.
async fn patient(app: &TestApp, email: &str) -> reqwest::Client {
    assert_eq!(sign_up_patient(app, email, PASSWORD, "Europe/Lisbon").await.status(), 200);
    let client = browser(None);
    let res = sign_in(app, &client, email).await;
    assert_eq!(res.status(), 200);
    client
}

async fn sign_in(app: &TestApp, client: &reqwest::Client, email: &str) -> reqwest::Response {
    app.post_form_as(client, "/api/sign_in", &form(&[("email", email), ("password", PASSWORD)])).await
}

async fn send_code(app: &TestApp, client: &reqwest::Client, code: &str) -> reqwest::Response {
    app.post_form_as(client, "/api/sign_in_code", &form(&[("code", code)])).await
}

async fn signed_in(app: &TestApp, client: &reqwest::Client) -> bool {
    !app.get_json_as(client, "/api/me").await.is_null()
}

/// A code for a step not used yet, as the authenticator would show it next
/// (waiting for the clock when the current steps are used up).
async fn fresh_code(app: &TestApp, email: &str, secret: &[u8]) -> String {
    let last: Option<i64> = sqlx::query_scalar("SELECT mfa_last_step FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let current = (unix_now() / 30) as i64;
    let step = last.map_or(current, |l| (l + 1).max(current - 1));
    while (unix_now() / 30) as i64 + 1 < step {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    code_at(secret, step as u64 * 30).unwrap()
}

async fn dev_mail_count(app: &TestApp, to: &str, subject: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM dev_mailbox WHERE to_address = $1 AND subject = $2")
        .bind(to)
        .bind(subject)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn enrolment_shows_a_qr_code_and_a_key_and_keeps_the_secret_encrypted_until_confirmed() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let (secret, setup) = begin_mfa(&app, &ana).await;
    assert_eq!(secret.len(), 20);
    assert!(setup["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(setup["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Telehealth:ana%40example.com"));
    let (stored, enabled): (String, bool) =
        sqlx::query_as("SELECT mfa_secret, mfa_enabled FROM users WHERE email = 'ana@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(stored.starts_with("v1:"));
    let key = setup["manual_key"].as_str().unwrap().replace(' ', "");
    assert!(!stored.contains(&key), "the secret is not stored in clear");
    assert!(!enabled, "pending until a code is confirmed");
    assert_eq!(audit_count(&app, "mfa.enrolment_started").await, 1);
    // Without confirmation the password alone still signs in.
    assert_eq!(
        sign_in(&app, &browser(None), "ana@example.com").await.json::<serde_json::Value>().await.unwrap()["step"],
        "signed_in"
    );
}

#[tokio::test]
async fn a_wrong_confirmation_code_is_refused_next_to_the_field_and_mfa_stays_off() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let (secret, _) = begin_mfa(&app, &ana).await;
    let wrong = code_at(&secret, unix_now() - 600).unwrap();
    for bad in [wrong.as_str(), "12345", "abcdef", ""] {
        let res = app.post_form_as(&ana, "/api/mfa_confirm", &form(&[("code", bad)])).await;
        assert_eq!(res.status(), 422, "{bad:?}");
        assert!(res.text().await.unwrap().contains("\"code\""));
    }
    let enabled: bool = sqlx::query_scalar("SELECT mfa_enabled FROM users WHERE email = 'ana@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!enabled);
}

#[tokio::test]
async fn confirming_turns_mfa_on_with_ten_recovery_codes_stored_only_as_digests() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let (_, codes) = enrol_mfa(&app, &ana).await;
    assert_eq!(codes.len(), 10);
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT code_hash FROM mfa_recovery_codes").fetch_all(&app.pool).await.unwrap();
    assert_eq!(stored.len(), 10);
    for code in &codes {
        assert!(stored.iter().all(|h| h.as_slice() != code.as_bytes()));
    }
    assert_eq!(audit_count(&app, "mfa.enabled").await, 1);
    assert_eq!(dev_mail_count(&app, "ana@example.com", "Two-step verification is on").await, 1);
    let status = app.get_json_as(&ana, "/api/mfa_status").await;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["recovery_codes_left"], 10);
    // Confirming again is refused: the codes are shown once.
    let again = app.post_form_as(&ana, "/api/mfa_confirm", &form(&[("code", "123456")])).await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn with_mfa_on_the_password_alone_only_earns_a_short_lived_challenge() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    enrol_mfa(&app, &ana).await;
    let laptop = browser(None);
    let res = sign_in(&app, &laptop, "ana@example.com").await;
    assert_eq!(res.status(), 200);
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["step"], "code_needed");
    assert!(!signed_in(&app, &laptop).await);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let challenge = &cookies[0];
    assert!(challenge.starts_with("th_mfa="));
    assert!(challenge.contains("HttpOnly") && challenge.contains("Path=/api") && challenge.contains("Max-Age=300"));
    // The challenge can never pass as an access token.
    let value = challenge.trim_start_matches("th_mfa=").split(';').next().unwrap();
    let me = reqwest::Client::new()
        .get(format!("{}/api/me", app.address))
        .header("cookie", format!("th_access={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.json::<serde_json::Value>().await.unwrap(), serde_json::Value::Null);
    assert_eq!(audit_count(&app, "auth.password_accepted").await, 1);
}

#[tokio::test]
async fn a_code_completes_the_sign_in_and_the_same_code_is_accepted_only_once() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let (secret, _) = enrol_mfa(&app, &ana).await;
    let laptop = browser(None);
    sign_in(&app, &laptop, "ana@example.com").await;
    let code = fresh_code(&app, "ana@example.com", &secret).await;
    let res = send_code(&app, &laptop, &code).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["role"], "patient");
    assert!(signed_in(&app, &laptop).await);
    let details: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_logs WHERE action = 'auth.sign_in' ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(details["second_factor"], "totp");

    let phone = browser(None);
    sign_in(&app, &phone, "ana@example.com").await;
    let replay = send_code(&app, &phone, &code).await;
    assert_eq!(replay.status(), 422, "a code seen once is spent");
    assert!(!signed_in(&app, &phone).await);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_the_owner_is_told() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let (_, codes) = enrol_mfa(&app, &ana).await;
    let laptop = browser(None);
    sign_in(&app, &laptop, "ana@example.com").await;
    // Typed in capitals with a space instead of the dash: still fine.
    let typed = codes[3].to_uppercase().replace('-', " ");
    assert_eq!(send_code(&app, &laptop, &typed).await.status(), 200);
    assert!(signed_in(&app, &laptop).await);
    assert_eq!(dev_mail_count(&app, "ana@example.com", "A recovery code was used to sign in").await, 1);
    assert_eq!(app.get_json_as(&laptop, "/api/mfa_status").await["recovery_codes_left"], 9);

    let phone = browser(None);
    sign_in(&app, &phone, "ana@example.com").await;
    assert_eq!(send_code(&app, &phone, &codes[3]).await.status(), 422, "used up");
}

#[tokio::test]
async fn five_wrong_codes_lock_the_second_step_even_for_the_right_code() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let (secret, _) = enrol_mfa(&app, &ana).await;
    let laptop = browser(None);
    sign_in(&app, &laptop, "ana@example.com").await;
    for _ in 0..5 {
        let res = send_code(&app, &laptop, "000000").await;
        assert_eq!(res.status(), 422);
    }
    let code = fresh_code(&app, "ana@example.com", &secret).await;
    let res = send_code(&app, &laptop, &code).await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("rate_limited"));
    assert!(!signed_in(&app, &laptop).await);
    assert_eq!(audit_count(&app, "auth.sign_in_failed").await, 5);
}

#[tokio::test]
async fn the_second_step_without_the_password_step_is_refused() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let (secret, _) = enrol_mfa(&app, &ana).await;
    let stranger = browser(None);
    let res = send_code(&app, &stranger, &code_at(&secret, unix_now()).unwrap()).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("email and password again"));
    assert!(!signed_in(&app, &stranger).await);
}

#[tokio::test]
async fn turning_mfa_off_needs_the_password_and_a_code() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let (secret, codes) = enrol_mfa(&app, &ana).await;
    let wrong_password = form(&[("password", "not my password at all"), ("code", &codes[0])]);
    let res = app.post_form_as(&ana, "/api/mfa_disable", &wrong_password).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("\"password\""));
    let wrong_code = form(&[("password", PASSWORD), ("code", "999999")]);
    let res = app.post_form_as(&ana, "/api/mfa_disable", &wrong_code).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("\"code\""));

    let code = fresh_code(&app, "ana@example.com", &secret).await;
    let res = app.post_form_as(&ana, "/api/mfa_disable", &form(&[("password", PASSWORD), ("code", &code)])).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (secret_left, enabled): (Option<String>, bool) =
        sqlx::query_as("SELECT mfa_secret, mfa_enabled FROM users WHERE email = 'ana@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((secret_left, enabled), (None, false));
    let codes_left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mfa_recovery_codes").fetch_one(&app.pool).await.unwrap();
    assert_eq!(codes_left, 0);
    assert_eq!(audit_count(&app, "mfa.disabled").await, 1);
    assert_eq!(dev_mail_count(&app, "ana@example.com", "Two-step verification is off").await, 1);
    let res = sign_in(&app, &browser(None), "ana@example.com").await;
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["step"], "signed_in");
}

#[tokio::test]
async fn renewing_recovery_codes_retires_the_old_ones() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let (_, old) = enrol_mfa(&app, &ana).await;
    let res = app.post_form_as(&ana, "/api/mfa_renew_codes", &form(&[("code", &old[0])])).await;
    assert_eq!(res.status(), 200);
    let new: Vec<String> = res.json().await.unwrap();
    assert_eq!(new.len(), 10);
    let laptop = browser(None);
    sign_in(&app, &laptop, "ana@example.com").await;
    assert_eq!(send_code(&app, &laptop, &old[1]).await.status(), 422);
    assert_eq!(send_code(&app, &laptop, &new[1]).await.status(), 200);
    assert_eq!(audit_count(&app, "mfa.recovery_codes_renewed").await, 1);
}

// --- administrators ---------------------------------------------------------

#[tokio::test]
async fn an_administrator_without_mfa_is_refused_administration_until_enrolled() {
    let app = spawn_app().await;
    let olga = admin_without_mfa(&app, "olga@example.com").await;
    let res = olga.get(format!("{}/api/admin_users?query=", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("mfa_required"));
    assert_eq!(app.get_json_as(&olga, "/api/mfa_status").await["required"], true);
    enrol_mfa(&app, &olga).await;
    let res = olga.get(format!("{}/api/admin_users?query=q%3Dolga", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let rows: serde_json::Value = res.json().await.unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["mfa_enabled"], true);
}

#[tokio::test]
async fn an_administrator_cannot_turn_off_their_own_mfa() {
    let app = spawn_app().await;
    let olga = admin_without_mfa(&app, "olga@example.com").await;
    let (_, codes) = enrol_mfa(&app, &olga).await;
    let res = app.post_form_as(&olga, "/api/mfa_disable", &form(&[("password", PASSWORD), ("code", &codes[0])])).await;
    assert_eq!(res.status(), 409);
    assert_eq!(app.get_json_as(&olga, "/api/mfa_status").await["enabled"], true);
}

#[tokio::test]
async fn patients_and_doctors_get_403_from_every_administration_function() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let target = Uuid::new_v4().to_string();
    let res = ana.get(format!("{}/api/admin_users?query=", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 403);
    for (path, body) in [
        ("/api/admin_reset_mfa", form(&[("user_id", &target), ("reason", "lost phone")])),
        ("/api/admin_set_active", form(&[("user_id", &target), ("active", "false"), ("reason", "spam")])),
    ] {
        assert_eq!(app.post_form_as(&ana, path, &body).await.status(), 403, "{path}");
        assert_eq!(app.post_form_as(&browser(None), path, &body).await.status(), 401, "{path} anonymous");
    }
}

#[tokio::test]
async fn an_administrator_resets_a_users_mfa_which_signs_them_out_is_audited_and_emailed() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|env| {
        env.insert("TELEHEALTH__MAIL__TRANSPORT".into(), "smtp".into());
        env.insert("TELEHEALTH__MAIL__SMTP_URL".into(), url);
    })
    .await;
    let ana = patient(&app, "ana@example.com").await;
    enrol_mfa(&app, &ana).await;
    let olga = admin_without_mfa(&app, "olga@example.com").await;
    enrol_mfa(&app, &olga).await;
    let ana_id = user_id(&app, "ana@example.com").await.to_string();

    let no_reason =
        app.post_form_as(&olga, "/api/admin_reset_mfa", &form(&[("user_id", &ana_id), ("reason", " ")])).await;
    assert_eq!(no_reason.status(), 422);
    let res = app
        .post_form_as(
            &olga,
            "/api/admin_reset_mfa",
            &form(&[("user_id", &ana_id), ("reason", "Lost her phone; ID checked")]),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    assert!(!signed_in(&app, &ana).await, "her sessions ended");
    let (by, details): (Uuid, serde_json::Value) = sqlx::query_as(
        "SELECT user_id, details FROM audit_logs WHERE action = 'admin.mfa_reset' AND resource_id = $1::uuid",
    )
    .bind(&ana_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(by, user_id(&app, "olga@example.com").await);
    assert_eq!(details["reason"], "Lost her phone; ID checked");
    let mail = decode_quoted_printable(&smtp.wait_for("ana@example.com", 3).await);
    let all = smtp.messages().join("\n");
    assert!(all.contains("Your two-step verification was reset"), "{mail}");
    // She signs in with her password alone now, and can enrol again.
    let res = sign_in(&app, &browser(None), "ana@example.com").await;
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["step"], "signed_in");
}

#[tokio::test]
async fn an_administrator_deactivates_and_reactivates_an_account() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com").await;
    let olga = admin_without_mfa(&app, "olga@example.com").await;
    enrol_mfa(&app, &olga).await;
    let ana_id = user_id(&app, "ana@example.com").await.to_string();
    let deactivate = form(&[("user_id", &ana_id), ("active", "false"), ("reason", "Reported abuse")]);
    assert_eq!(app.post_form_as(&olga, "/api/admin_set_active", &deactivate).await.status(), 200);
    assert!(!signed_in(&app, &ana).await);
    assert_eq!(sign_in(&app, &browser(None), "ana@example.com").await.status(), 422);
    assert_eq!(app.post_form_as(&olga, "/api/admin_set_active", &deactivate).await.status(), 409, "already");
    let reactivate = form(&[("user_id", &ana_id), ("active", "true"), ("reason", "Resolved")]);
    assert_eq!(app.post_form_as(&olga, "/api/admin_set_active", &reactivate).await.status(), 200);
    assert_eq!(sign_in(&app, &browser(None), "ana@example.com").await.status(), 200);
    assert_eq!(audit_count(&app, "admin.user_deactivated").await, 1);
    assert_eq!(audit_count(&app, "admin.user_reactivated").await, 1);
    let olga_id = user_id(&app, "olga@example.com").await.to_string();
    let herself = form(&[("user_id", &olga_id), ("active", "false"), ("reason", "oops")]);
    assert_eq!(app.post_form_as(&olga, "/api/admin_set_active", &herself).await.status(), 409);
}
