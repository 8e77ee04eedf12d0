//! Accounts and sessions: sign-up, sign-in, rotation, reuse, idle, sign-out.

use crate::helpers::*;
use std::collections::HashMap;
use std::time::Instant;

/// The cookies a response sets: name -> (value, attributes).
fn set_cookies(res: &reqwest::Response) -> HashMap<String, (String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=')?;
            Some((name.to_string(), (value.to_string(), attrs.to_string())))
        })
        .collect()
}

/// Signs Ana up from India (her browser says the legacy "Asia/Calcutta").
async fn sign_up(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    sign_up_patient(app, email, password, "Asia/Calcutta").await
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_form("/api/sign_in", &form(&[("email", email), ("password", password)])).await
}

/// Calls `/api/me` with exactly these cookies (no cookie store).
async fn me_with(app: &TestApp, cookies: &str) -> reqwest::Response {
    reqwest::Client::new().get(format!("{}/api/me", app.address)).header("cookie", cookies).send().await.unwrap()
}

async fn signed_up_and_in(app: &TestApp, email: &str) -> HashMap<String, (String, String)> {
    assert_eq!(sign_up(app, email, PASSWORD).await.status(), 200);
    let res = sign_in(app, email, PASSWORD).await;
    assert_eq!(res.status(), 200);
    set_cookies(&res)
}

#[tokio::test]
async fn signing_up_creates_an_unverified_account_with_its_profile() {
    let app = spawn_app().await;
    let res = sign_up(&app, "Ana.Silva@Example.com", PASSWORD).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (verified, role, zone, hash): (bool, String, String, String) = sqlx::query_as(
        "SELECT u.is_email_verified, u.role::text, p.timezone, u.password_hash FROM users u JOIN profiles p ON p.user_id = u.id
         WHERE lower(u.email) = 'ana.silva@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!verified);
    assert_eq!(role, "patient");
    assert_eq!(zone, "Asia/Kolkata", "the browser's legacy zone name is stored under its current name");
    assert!(hash.starts_with("$argon2id$"), "never the password itself");
    assert_eq!(audit_count(&app, "auth.sign_up").await, 1);
}

#[tokio::test]
async fn an_email_already_taken_in_another_case_is_refused_next_to_the_email_field() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com", PASSWORD).await;
    let res = sign_up(&app, "ANA@example.com", PASSWORD).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("email") && body.contains("already exists"), "{body}");
}

#[tokio::test]
async fn bad_sign_up_input_gets_a_message_for_every_field_and_writes_nothing() {
    let app = spawn_app().await;
    let res = app
        .post_form(
            "/api/sign_up",
            &form(&[
                ("email", "not-an-email"),
                ("password", "password1234"),
                ("first_name", " "),
                ("last_name", "Silva"),
                ("timezone", "Mars/Base"),
                ("role", "admin"),
            ]),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    let fields = &body["detail"];
    for field in ["email", "first_name", "timezone", "role"] {
        assert!(fields[field].is_array(), "{field}: {body}");
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.pool).await.unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn a_refusal_keeps_its_4xx_status_when_the_browser_accepts_gzip() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(format!("{}/api/sign_in", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept-encoding", "gzip, br")
        .body(form(&[("email", "nobody@example.com"), ("password", "wrong password here")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn a_common_or_short_password_is_refused_next_to_the_password_field() {
    let app = spawn_app().await;
    for bad in ["password1234", "short"] {
        let res = sign_up(&app, "ana@example.com", bad).await;
        assert_eq!(res.status(), 422);
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["detail"]["password"][0].as_str().unwrap().len() > 10, "{body}");
    }
}

#[tokio::test]
async fn signing_in_sets_http_only_same_site_cookies_and_the_app_knows_who_you_are() {
    let app = spawn_app().await;
    let cookies = signed_up_and_in(&app, "ana@example.com").await;
    for name in ["th_access", "th_refresh"] {
        let (value, attrs) = &cookies[name];
        assert!(!value.is_empty());
        assert!(attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax") && attrs.contains("Path=/"), "{attrs}");
        assert!(!attrs.contains("Secure"), "no Secure flag without TLS");
    }
    let me: serde_json::Value = app.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["first_name"], "Ana");
    assert_eq!(me["role"], "patient");
    assert_eq!(audit_count(&app, "auth.sign_in").await, 1);
    let last_login: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_login FROM users").fetch_one(&app.pool).await.unwrap();
    assert!(last_login.is_some());
}

#[tokio::test]
async fn behind_tls_the_session_cookies_are_secure() {
    let app = spawn_app_with(|env| {
        env.insert("TELEHEALTH__SERVER__BEHIND_TLS".into(), "true".into());
    })
    .await;
    let cookies = signed_up_and_in(&app, "ana@example.com").await;
    assert!(cookies["th_access"].1.contains("Secure"));
    assert!(cookies["th_refresh"].1.contains("Secure"));
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_message_for_the_password_field_and_audited() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com", PASSWORD).await;
    let res = sign_in(&app, "ana@example.com", "violet kettle harbour sang").await;
    assert_eq!(res.status(), 422);
    assert!(set_cookies(&res).get("th_access").is_none_or(|(v, _)| v.is_empty()));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["detail"]["password"][0], "The email or password is not right.");
    assert_eq!(audit_count(&app, "auth.sign_in_failed").await, 1);
    let me: serde_json::Value = app.get("/api/me").await.json().await.unwrap();
    assert!(me.is_null());
}

#[tokio::test]
async fn five_failures_lock_the_account_out_even_for_the_right_password() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com", PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(sign_in(&app, "ana@example.com", "wrong password here").await.status(), 422);
    }
    let res = sign_in(&app, "ana@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429);
    let body = res.text().await.unwrap();
    assert!(body.contains("retry_after_secs"), "{body}");
    assert_eq!(audit_count(&app, "auth.sign_in_locked").await, 1);
}

#[tokio::test]
async fn an_unknown_email_costs_about_the_same_time_as_a_known_one() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com", PASSWORD).await;
    // Warm up (the dummy hash is made once).
    sign_in(&app, "nobody@example.com", "wrong password here").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..4 {
        let started = Instant::now();
        sign_in(&app, "ana@example.com", &format!("wrong password {i}")).await;
        known.push(started.elapsed());
        let started = Instant::now();
        sign_in(&app, &format!("nobody{i}@example.com"), &format!("wrong password {i}")).await;
        unknown.push(started.elapsed());
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[1].as_secs_f64(), unknown[1].as_secs_f64());
    let ratio = u / k;
    assert!((0.6..=1.6).contains(&ratio), "median known {k:.4}s, unknown {u:.4}s, ratio {ratio:.2}");
}

#[tokio::test]
async fn a_deactivated_account_cannot_sign_in() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com", PASSWORD).await;
    sqlx::query("UPDATE users SET is_active = false").execute(&app.pool).await.unwrap();
    let res = sign_in(&app, "ana@example.com", PASSWORD).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("deactivated"));
}

#[tokio::test]
async fn deactivating_an_account_ends_its_live_sessions_at_once() {
    let app = spawn_app().await;
    let cookies = signed_up_and_in(&app, "ana@example.com").await;
    let jar = format!("th_access={}; th_refresh={}", cookies["th_access"].0, cookies["th_refresh"].0);
    assert!(!me_with(&app, &jar).await.json::<serde_json::Value>().await.unwrap().is_null());
    let sessions = |jar: String| {
        let url = format!("{}/api/my_sessions", app.address);
        async move { reqwest::Client::new().get(url).header("cookie", jar).send().await.unwrap().status() }
    };
    assert_eq!(sessions(jar.clone()).await, 200);
    sqlx::query("UPDATE users SET is_active = false").execute(&app.pool).await.unwrap();
    assert_eq!(sessions(jar).await, 401, "the still-valid access token no longer works");
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_the_refresh_token_rotates() {
    let app = spawn_app().await;
    let cookies = signed_up_and_in(&app, "ana@example.com").await;
    let first_refresh = cookies["th_refresh"].0.clone();
    // Only the refresh token: as if the access token had expired.
    let res = me_with(&app, &format!("th_refresh={first_refresh}")).await;
    assert_eq!(res.status(), 200);
    let rotated = set_cookies(&res);
    let me: serde_json::Value = res.json().await.unwrap();
    assert_eq!(me["first_name"], "Ana");
    assert_ne!(rotated["th_refresh"].0, first_refresh, "a new refresh token");
    assert!(!rotated["th_access"].0.is_empty(), "a new access token");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&app.pool).await.unwrap();
    assert_eq!(rows, 2, "one family, two tokens");
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let cookies = signed_up_and_in(&app, "ana@example.com").await;
    let stolen = cookies["th_refresh"].0.clone();
    let res = me_with(&app, &format!("th_refresh={stolen}")).await;
    let current = set_cookies(&res)["th_refresh"].0.clone();
    // Long enough ago that it cannot be a parallel request racing.
    sqlx::query("UPDATE sessions SET rotated_at = now() - interval '1 minute' WHERE rotated_at IS NOT NULL")
        .execute(&app.pool)
        .await
        .unwrap();

    let replay = me_with(&app, &format!("th_refresh={stolen}")).await;
    assert!(set_cookies(&replay)["th_refresh"].0.is_empty(), "the cookies are cleared");
    assert!(replay.json::<serde_json::Value>().await.unwrap().is_null());
    // The legitimate holder's newer token is dead too.
    let me: serde_json::Value = me_with(&app, &format!("th_refresh={current}")).await.json().await.unwrap();
    assert!(me.is_null());
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE revoked_at IS NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(open, 0);
    assert_eq!(audit_count(&app, "auth.token_reuse").await, 1);
}

#[tokio::test]
async fn a_parallel_refresh_a_moment_later_does_not_revoke_the_family() {
    let app = spawn_app().await;
    let cookies = signed_up_and_in(&app, "ana@example.com").await;
    let refresh = cookies["th_refresh"].0.clone();
    let first = me_with(&app, &format!("th_refresh={refresh}")).await;
    let newer = set_cookies(&first)["th_refresh"].0.clone();
    let second = me_with(&app, &format!("th_refresh={refresh}")).await;
    assert_eq!(second.status(), 200);
    let me: serde_json::Value = me_with(&app, &format!("th_refresh={newer}")).await.json().await.unwrap();
    assert_eq!(me["first_name"], "Ana", "the session lives on");
}

#[tokio::test]
async fn an_idle_session_is_refused_and_logged_off() {
    let app = spawn_app().await;
    let cookies = signed_up_and_in(&app, "ana@example.com").await;
    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '16 minutes'").execute(&app.pool).await.unwrap();
    let jar = format!("th_access={}; th_refresh={}", cookies["th_access"].0, cookies["th_refresh"].0);
    let res = me_with(&app, &jar).await;
    assert!(set_cookies(&res)["th_access"].0.is_empty(), "cookies cleared");
    assert!(res.json::<serde_json::Value>().await.unwrap().is_null());
    // The refresh token cannot revive it either.
    let res = me_with(&app, &format!("th_refresh={}", cookies["th_refresh"].0)).await;
    assert!(res.json::<serde_json::Value>().await.unwrap().is_null());
    assert_eq!(audit_count(&app, "auth.idle_logoff").await, 1);
}

#[tokio::test]
async fn a_tampered_or_unsigned_access_token_gives_no_access() {
    let app = spawn_app().await;
    let cookies = signed_up_and_in(&app, "ana@example.com").await;
    let access = &cookies["th_access"].0;
    let mut parts: Vec<&str> = access.split('.').collect();
    parts[2] = "AAAA";
    let tampered = parts.join(".");
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    for token in [tampered, unsigned] {
        let me: serde_json::Value = me_with(&app, &format!("th_access={token}")).await.json().await.unwrap();
        assert!(me.is_null(), "{token}");
    }
}

#[tokio::test]
async fn signing_out_ends_the_session_and_clears_the_cookies() {
    let app = spawn_app().await;
    let cookies = signed_up_and_in(&app, "ana@example.com").await;
    let res = app.post_form("/api/sign_out", "").await;
    assert_eq!(res.status(), 200);
    assert!(set_cookies(&res)["th_access"].0.is_empty());
    let jar = format!("th_access={}; th_refresh={}", cookies["th_access"].0, cookies["th_refresh"].0);
    let me: serde_json::Value = me_with(&app, &jar).await.json().await.unwrap();
    assert!(me.is_null(), "the old cookies no longer work");
    assert_eq!(audit_count(&app, "auth.sign_out").await, 1);
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_device() {
    let app = spawn_app().await;
    let phone = signed_up_and_in(&app, "ana@example.com").await;
    // A second device signs in.
    let laptop = set_cookies(&sign_in(&app, "ana@example.com", PASSWORD).await);
    let res = app.post_form("/api/sign_out_everywhere", "").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "2");
    for jar in [&phone, &laptop] {
        let cookie = format!("th_access={}; th_refresh={}", jar["th_access"].0, jar["th_refresh"].0);
        assert!(me_with(&app, &cookie).await.json::<serde_json::Value>().await.unwrap().is_null());
    }
}

#[tokio::test]
async fn signing_out_everywhere_needs_a_session() {
    let app = spawn_app().await;
    let res = app.post_form("/api/sign_out_everywhere", "").await;
    assert_eq!(res.status(), 401);
}

fn device(user_agent: &str) -> reqwest::Client {
    browser(Some(user_agent))
}

async fn sign_in_on(app: &TestApp, client: &reqwest::Client, email: &str) {
    let res = app.post_form_as(client, "/api/sign_in", &form(&[("email", email), ("password", PASSWORD)])).await;
    assert_eq!(res.status(), 200);
}

const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

#[tokio::test]
async fn my_sessions_lists_each_device_and_marks_this_one() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com", PASSWORD).await;
    let (laptop, phone) = (device(FIREFOX), device(IPHONE));
    sign_in_on(&app, &laptop, "ana@example.com").await;
    sign_in_on(&app, &phone, "ana@example.com").await;
    let list: serde_json::Value = app.get_json_as(&laptop, "/api/my_sessions").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["device"], "Firefox on Windows");
    assert!(list.iter().any(|s| s["device"] == "Safari on iOS"));
    assert!(current[0]["started"].as_str().unwrap().contains("IST"), "shown in the person's timezone (India)");
}

#[tokio::test]
async fn signing_out_another_device_ends_only_that_device() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com", PASSWORD).await;
    let (laptop, phone) = (device(FIREFOX), device(IPHONE));
    sign_in_on(&app, &laptop, "ana@example.com").await;
    sign_in_on(&app, &phone, "ana@example.com").await;
    let list: serde_json::Value = app.get_json_as(&laptop, "/api/my_sessions").await;
    let phone_id =
        list.as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let res = app.post_form_as(&laptop, "/api/revoke_session", &format!("id={phone_id}")).await;
    assert_eq!(res.status(), 200);
    let phone_me: serde_json::Value = app.get_json_as(&phone, "/api/me").await;
    assert!(phone_me.is_null(), "the phone is signed out");
    let laptop_me: serde_json::Value = app.get_json_as(&laptop, "/api/me").await;
    assert_eq!(laptop_me["first_name"], "Ana", "the laptop is not");
    assert_eq!(audit_count(&app, "auth.session_revoked").await, 1);
}

#[tokio::test]
async fn another_persons_session_cannot_be_revoked_or_even_seen() {
    let app = spawn_app().await;
    sign_up(&app, "ana@example.com", PASSWORD).await;
    sign_up(&app, "ben@example.com", PASSWORD).await;
    let (ana, ben) = (device(FIREFOX), device(IPHONE));
    sign_in_on(&app, &ana, "ana@example.com").await;
    sign_in_on(&app, &ben, "ben@example.com").await;
    let bens: serde_json::Value = app.get_json_as(&ben, "/api/my_sessions").await;
    let ben_id = bens[0]["id"].as_str().unwrap().to_owned();
    let res = app.post_form_as(&ana, "/api/revoke_session", &format!("id={ben_id}")).await;
    assert_eq!(res.status(), 404);
    let ben_me: serde_json::Value = app.get_json_as(&ben, "/api/me").await;
    assert_eq!(
        ben_me["first_name"], "Ana",
        "Ben's profile (also named Ana Silva) is untouched and he is still signed in"
    );
    let anas: serde_json::Value = app.get_json_as(&ana, "/api/my_sessions").await;
    assert!(anas.as_array().unwrap().iter().all(|s| s["id"] != ben_id.as_str()));
}

#[tokio::test]
async fn the_sessions_page_asks_strangers_to_sign_in() {
    let app = spawn_app().await;
    let res = app.get("/account/sessions").await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("Please sign in"));
    assert_eq!(app.get("/api/my_sessions").await.status(), 401);
}

async fn signed_in_from(app: &TestApp, forwarded_for: &str) -> String {
    sign_up(app, "ana@example.com", PASSWORD).await;
    let res = app
        .client
        .post(format!("{}/api/sign_in", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", forwarded_for)
        .body(form(&[("email", "ana@example.com"), ("password", PASSWORD)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    sqlx::query_scalar("SELECT host(ip_address) FROM audit_logs WHERE action = 'auth.sign_in'")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_address_is_recorded() {
    let app = spawn_app_with(|env| {
        env.insert("TELEHEALTH__SERVER__TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    assert_eq!(signed_in_from(&app, "198.51.100.7, 203.0.113.7").await, "203.0.113.7");
}

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    assert_eq!(signed_in_from(&app, "203.0.113.7").await, "127.0.0.1");
}
