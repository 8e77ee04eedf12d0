//! The security headers on every type of answer the app gives (pages of
//! each audience, the 404 page, server functions, static files, downloads,
//! the WebSocket's refusal, errors), with and without TLS in front, and the
//! attributes of every cookie it sets: sign-in, refresh, the two-step
//! challenge, sign-out.

use crate::helpers::*;
use std::collections::HashMap;
use uuid::Uuid;

/// Someone of each audience, and a consultation with a prescription.
struct Cast {
    patient: reqwest::Client,
    doctor: reqwest::Client,
    admin: reqwest::Client,
    doctor_id: Uuid,
    prescription: Uuid,
}

async fn cast(app: &TestApp) -> Cast {
    let (patient, _) = signed_up_and_in(app, "ana@example.com", ("Ana", "Silva"), "patient").await;
    let (doctor, _, doctor_id) = bookable_doctor(app, "hart@example.com", ("Gregory", "Hart")).await;
    let admin = admin_with_mfa(app, "olga@example.com").await;
    let id = book_and_pay(app, &patient, doctor_id, half_hour_slot_in(3), "A cough.").await;
    move_consultation(app, id, 5).await;
    let (status, body) =
        post_answer(app, &doctor, "/api/start_visit", &form(&[("consultation_id", &id.to_string())])).await;
    assert_eq!(status, 200, "{body}");
    let medication = serde_json::json!({
        "name": "Amoxicillin", "strength": "500 mg", "form": "capsule", "dose": "1 capsule", "route": "oral",
        "frequency": "three times a day", "duration": "7 days", "quantity": "21", "refills": "", "notes": ""
    });
    let request = serde_json::json!({
        "consultation_id": id,
        "prescription": { "medications": [medication], "instructions": "", "follow_up_date": "" },
        "supersedes": null,
    });
    let (status, body) = post_json_answer(app, &doctor, "/api/issue_prescription", &request).await;
    assert_eq!(status, 200, "{body}");
    Cast { patient, doctor, admin, doctor_id, prescription: body.as_str().unwrap().parse().unwrap() }
}

/// A site root for the test app: the shell's static files from `public/`
/// and one content-hashed bundle file, as `cargo leptos build` lays them
/// out (the Rust tests run before any build, so `target/site` may not
/// exist). Answers the root and the hashed file's path.
fn site_root() -> (std::path::PathBuf, String) {
    let root = std::env::temp_dir().join(format!("telehealth-site-{}", Uuid::new_v4()));
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    let public = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("public");
    for file in ["manifest.webmanifest", "sw.js"] {
        std::fs::copy(public.join(file), root.join(file)).unwrap();
    }
    let hashed = "telehealth.Qz7eXw2RkLmN4pVb8sTy-g.css";
    std::fs::write(root.join("pkg").join(hashed), "body{}").unwrap();
    (root, format!("/pkg/{hashed}"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Caching {
    /// Pages, API answers, personal downloads: never stored.
    NoStore,
    /// Static files under a fixed name: stored, but revalidated.
    Revalidate,
    /// Static files whose name carries their content hash: kept for good.
    Forever,
}

/// Checks every security header of one answer; the problems found.
fn problems(what: &str, res: &reqwest::Response, caching: Caching, tls: bool) -> Vec<String> {
    let h = res.headers();
    let value = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut found = Vec::new();
    let mut expect = |ok: bool, problem: String| {
        if !ok {
            found.push(format!("{what}: {problem}"));
        }
    };
    let csp = value("content-security-policy");
    let script_src = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src")).unwrap_or("").to_owned();
    expect(script_src.contains("'nonce-"), format!("script-src without a nonce: {csp:?}"));
    expect(!csp.contains("'unsafe-inline'"), format!("'unsafe-inline' allowed: {csp:?}"));
    expect(!script_src.contains("'unsafe-eval'"), format!("scripts may eval: {csp:?}"));
    expect(csp.contains("frame-ancestors 'none'"), format!("may be framed: {csp:?}"));
    expect(csp.contains("object-src 'none'"), format!("plugins allowed: {csp:?}"));
    expect(value("x-content-type-options") == "nosniff", "no X-Content-Type-Options: nosniff".into());
    expect(value("x-frame-options") == "DENY", format!("X-Frame-Options {:?}", value("x-frame-options")));
    let referrer = value("referrer-policy");
    expect(
        ["same-origin", "no-referrer", "strict-origin-when-cross-origin", "strict-origin"].contains(&referrer.as_str()),
        format!("Referrer-Policy {referrer:?}"),
    );
    let permissions = value("permissions-policy");
    expect(
        permissions.contains("geolocation=()") && permissions.contains("camera=(self)"),
        format!("Permissions-Policy {permissions:?}"),
    );
    expect(value("cross-origin-opener-policy") == "same-origin", "no Cross-Origin-Opener-Policy: same-origin".into());
    let hsts = value("strict-transport-security");
    if tls {
        expect(hsts.contains("max-age=") && !hsts.contains("max-age=0"), format!("behind TLS, HSTS {hsts:?}"));
    } else {
        expect(hsts.is_empty(), format!("HSTS without TLS: {hsts:?}"));
    }
    let cache = value("cache-control");
    let long = cache.contains("immutable")
        || cache.split(',').any(|d| d.trim().strip_prefix("max-age=").is_some_and(|s| s != "0"));
    match caching {
        Caching::NoStore => {
            expect(cache.contains("no-store") && !long, format!("Cache-Control {cache:?}, expected no-store"))
        }
        Caching::Revalidate => expect(
            !cache.contains("no-store") && !long && cache.contains("no-cache"),
            format!("Cache-Control {cache:?}"),
        ),
        Caching::Forever => {
            expect(cache.contains("immutable") && long, format!("Cache-Control {cache:?}, expected immutable"))
        }
    }
    found
}

/// One request of each type, by the person who would make it, with the
/// status it must get (so the right kind of answer is the one checked).
async fn every_page_type_is_checked(tls: bool) {
    let (site, asset) = site_root();
    let app = spawn_app_with(|env| {
        env.insert("TELEHEALTH__SERVER__BEHIND_TLS".into(), tls.to_string());
        env.insert("LEPTOS_SITE_ROOT".into(), site.to_string_lossy().into_owned());
    })
    .await;
    let cast = cast(&app).await;
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let doctor_page = format!("/doctors/{}", cast.doctor_id);
    let pdf = format!("/prescriptions/{}/pdf", cast.prescription);
    let mut pages: Vec<(&str, &reqwest::Client, String, u16, Caching)> = vec![
        ("home", &anonymous, "/".into(), 200, Caching::NoStore),
        ("search", &anonymous, "/doctors?specialization=Cardiology".into(), 200, Caching::NoStore),
        ("a doctor's page", &anonymous, doctor_page, 200, Caching::NoStore),
        ("sign-in", &anonymous, "/sign-in".into(), 200, Caching::NoStore),
        ("a patient's page", &cast.patient, "/consultations".into(), 200, Caching::NoStore),
        ("a doctor's practice page", &cast.doctor, "/doctor/schedule".into(), 200, Caching::NoStore),
        ("an administrator's page", &cast.admin, "/admin".into(), 200, Caching::NoStore),
        ("the 404 page", &anonymous, "/no-such-page".into(), 404, Caching::NoStore),
        ("a server function", &cast.patient, "/api/my_consultations".into(), 200, Caching::NoStore),
        ("a refused server function", &anonymous, "/api/my_profile".into(), 401, Caching::NoStore),
        ("the manifest", &anonymous, "/manifest.webmanifest".into(), 200, Caching::Revalidate),
        ("the service worker", &anonymous, "/sw.js".into(), 200, Caching::Revalidate),
        ("/healthz", &anonymous, "/healthz".into(), 200, Caching::NoStore),
        ("the prescription PDF", &cast.patient, pdf.clone(), 200, Caching::NoStore),
        ("the PDF refused", &anonymous, pdf, 401, Caching::NoStore),
        ("the JSON export", &cast.patient, "/account/export.json".into(), 200, Caching::NoStore),
        ("the FHIR export", &cast.patient, "/account/export.fhir.json".into(), 200, Caching::NoStore),
        ("the export refused", &cast.doctor, "/account/export.json".into(), 403, Caching::NoStore),
        ("the audit CSV", &cast.admin, "/admin/audit.csv".into(), 200, Caching::NoStore),
    ];
    pages.push(("a hashed /pkg file", &anonymous, asset, 200, Caching::Forever));
    let mut found = Vec::new();
    for (what, client, path, status, caching) in pages {
        let res = client.get(format!("{}{}", app.address, path)).send().await.unwrap();
        if res.status() != status {
            found.push(format!("{what} ({path}): status {}, expected {status}", res.status()));
            continue;
        }
        found.extend(problems(what, &res, caching, tls));
    }
    // A refused sign-in (422), and the room's WebSocket refused before the upgrade.
    let res = app
        .post_form_as(&anonymous, "/api/sign_in", &form(&[("email", "ana@example.com"), ("password", "wrong")]))
        .await;
    assert_eq!(res.status(), 422);
    found.extend(problems("a refused sign-in", &res, Caching::NoStore, tls));
    let res = anonymous
        .get(format!("{}/ws/consultations/{}", app.address, Uuid::new_v4()))
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    found.extend(problems("the WebSocket refused", &res, Caching::NoStore, tls));
    let _ = std::fs::remove_dir_all(&site);
    assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
}

#[tokio::test]
async fn every_type_of_answer_carries_the_security_headers_without_hsts_over_plain_http() {
    every_page_type_is_checked(false).await;
}

#[tokio::test]
async fn behind_tls_every_type_of_answer_also_asks_for_https() {
    every_page_type_is_checked(true).await;
}

// --- cookies ---------------------------------------------------------------------------

/// The cookies a response sets: name -> (value, attributes, lower-cased).
fn set_cookies(res: &reqwest::Response) -> HashMap<String, (String, Vec<String>)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| {
            let mut parts = c.split(';').map(str::trim);
            let (name, value) = parts.next()?.split_once('=')?;
            Some((name.to_owned(), (value.to_owned(), parts.map(str::to_lowercase).collect())))
        })
        .collect()
}

/// The Max-Age of a cookie, in seconds.
fn max_age(attrs: &[String]) -> Option<i64> {
    attrs.iter().find_map(|a| a.strip_prefix("max-age=")).and_then(|v| v.parse().ok())
}

/// Checks one cookie: HttpOnly, SameSite Lax or Strict, the path, Secure
/// exactly behind TLS, and a lifetime in `ages` (0 when it is cleared).
fn cookie_problems(
    what: &str,
    cookies: &HashMap<String, (String, Vec<String>)>,
    name: &str,
    path: &str,
    ages: std::ops::RangeInclusive<i64>,
    tls: bool,
) -> Vec<String> {
    let Some((value, attrs)) = cookies.get(name) else { return vec![format!("{what}: no {name} cookie set")] };
    let has = |a: &str| attrs.iter().any(|x| x == a);
    let mut found = Vec::new();
    let mut expect = |ok: bool, problem: &str| {
        if !ok {
            found.push(format!("{what}: {name} {problem}: {attrs:?}"));
        }
    };
    expect(has("httponly"), "is readable by scripts");
    expect(has("samesite=lax") || has("samesite=strict"), "is sent cross-site");
    expect(has(&format!("path={path}")), &format!("is not for path {path}"));
    expect(has("secure") == tls, if tls { "is not Secure behind TLS" } else { "is Secure over plain HTTP" });
    let age = max_age(attrs);
    expect(age.is_some_and(|a| ages.contains(&a)), &format!("lives {age:?} seconds, expected {ages:?}"));
    if *ages.end() == 0 {
        expect(value.is_empty(), "is cleared but keeps its value");
    } else {
        expect(!value.is_empty(), "is empty");
    }
    found
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

async fn every_cookie_is_checked(tls: bool) {
    let app = spawn_app_with(|env| {
        env.insert("TELEHEALTH__SERVER__BEHIND_TLS".into(), tls.to_string());
    })
    .await;
    let mut found = Vec::new();
    let plain = || reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // Sign-in: the access token for minutes, the refresh token for days at most.
    signed_up_and_in(&app, "ana@example.com", ("Ana", "Silva"), "patient").await;
    let credentials = form(&[("email", "ana@example.com"), ("password", PASSWORD)]);
    let res = app.post_form_as(&plain(), "/api/sign_in", &credentials).await;
    assert_eq!(res.status(), 200);
    let signed_in = set_cookies(&res);
    found.extend(cookie_problems("sign-in", &signed_in, "th_access", "/", 60..=HOUR, tls));
    found.extend(cookie_problems("sign-in", &signed_in, "th_refresh", "/", HOUR..=90 * DAY, tls));

    // Refresh: only the refresh token sent; a new pair comes back alike.
    let res = plain()
        .get(format!("{}/api/me", app.address))
        .header("cookie", format!("th_refresh={}", signed_in["th_refresh"].0))
        .send()
        .await
        .unwrap();
    let refreshed = set_cookies(&res);
    let me: serde_json::Value = res.json().await.unwrap();
    assert_eq!(me["email"], "ana@example.com", "the refresh token alone signs the request in");
    found.extend(cookie_problems("refresh", &refreshed, "th_access", "/", 60..=HOUR, tls));
    found.extend(cookie_problems("refresh", &refreshed, "th_refresh", "/", HOUR..=90 * DAY, tls));

    // Sign-out: both cleared, on the same path (or the browser would keep them).
    let jar = format!("th_access={}; th_refresh={}", refreshed["th_access"].0, refreshed["th_refresh"].0);
    let res = plain().post(format!("{}/api/sign_out", app.address)).header("cookie", &jar).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let cleared = set_cookies(&res);
    found.extend(cookie_problems("sign-out", &cleared, "th_access", "/", 0..=0, tls));
    found.extend(cookie_problems("sign-out", &cleared, "th_refresh", "/", 0..=0, tls));
    let me: serde_json::Value = plain()
        .get(format!("{}/api/me", app.address))
        .header("cookie", &jar)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(me.is_null(), "the cookies of a signed-out session open nothing: {me}");

    // The two-step challenge: for the API only, for minutes; cleared once used.
    let admin = admin_without_mfa(&app, "olga@example.com").await;
    let (_, codes) = enrol_mfa(&app, &admin).await;
    let browser = plain();
    let res = app
        .post_form_as(&browser, "/api/sign_in", &form(&[("email", "olga@example.com"), ("password", PASSWORD)]))
        .await;
    assert_eq!(res.status(), 200);
    let challenged = set_cookies(&res);
    assert!(!challenged.contains_key("th_access"), "no session before the second step");
    found.extend(cookie_problems("the two-step challenge", &challenged, "th_mfa", "/api", 60..=15 * 60, tls));
    let res = browser
        .post(format!("{}/api/sign_in_code", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("th_mfa={}", challenged["th_mfa"].0))
        .body(form(&[("code", &codes[0])]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second = set_cookies(&res);
    found.extend(cookie_problems("the second step", &second, "th_mfa", "/api", 0..=0, tls));
    found.extend(cookie_problems("the second step", &second, "th_access", "/", 60..=HOUR, tls));
    found.extend(cookie_problems("the second step", &second, "th_refresh", "/", HOUR..=90 * DAY, tls));

    assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
}

#[tokio::test]
async fn every_cookie_is_http_only_same_site_short_lived_and_really_cleared() {
    every_cookie_is_checked(false).await;
}

#[tokio::test]
async fn behind_tls_every_cookie_is_also_secure() {
    every_cookie_is_checked(true).await;
}
