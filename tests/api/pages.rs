//! Pages rendered on the server, and the server function behind the home page.

use crate::helpers::*;

#[tokio::test]
async fn the_home_page_is_rendered_on_the_server_with_live_figures() {
    let app = spawn_app().await;
    insert_doctor(&app.pool).await;
    insert_doctor(&app.pool).await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>See a verified doctor from home</h1>"), "{html}");
    assert!(html.contains(r#"<dd class="stat-value">2</dd>"#), "two verified doctors: {html}");
    assert!(html.contains("your local timezone"), "the timezone placeholder before hydration");
    assert!(html.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
    assert!(html.contains(r#"<html lang="en""#));
}

#[tokio::test]
async fn unverified_or_paused_doctors_are_not_counted() {
    let app = spawn_app().await;
    let doctor = insert_doctor(&app.pool).await;
    insert_doctor(&app.pool).await;
    sqlx::query("UPDATE doctors SET is_available = false WHERE id = $1").bind(doctor).execute(&app.pool).await.unwrap();
    let figures: serde_json::Value = app.get("/api/platform_stats").await.json().await.unwrap();
    assert_eq!(figures["verified_doctors"], 1);
}

#[tokio::test]
async fn the_pages_scripts_carry_the_nonce_of_the_content_security_policy() {
    let app = spawn_app().await;
    let res = app.get("/").await;
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce").to_owned();
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!(r#"nonce="{nonce}""#)), "scripts carry nonce {nonce}: {html}");
    // A second request gets a different nonce.
    let other = app.get("/").await.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert_ne!(csp, other);
}

#[tokio::test]
async fn the_about_page_renders_with_its_own_title() {
    let app = spawn_app().await;
    let res = app.get("/about").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>About Telehealth</h1>"));
    assert!(html.contains("<title>About · Telehealth</title>"), "{html}");
}

#[tokio::test]
async fn an_unknown_page_answers_404_with_a_way_home() {
    let app = spawn_app().await;
    let res = app.get("/no-such-page").await;
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(html.contains(r#"href="/""#));
}

#[tokio::test]
async fn an_unknown_server_function_is_a_4xx_not_a_500() {
    let app = spawn_app().await;
    let res = app.post_form("/api/no_such_function", "x=1").await;
    assert!(res.status().is_client_error(), "got {}", res.status());
}

#[tokio::test]
async fn the_figures_function_answers_json_for_the_browser() {
    let app = spawn_app().await;
    let res = app.get("/api/platform_stats").await;
    assert_eq!(res.status(), 200);
    let figures: serde_json::Value = res.json().await.unwrap();
    assert_eq!(figures["verified_doctors"], 0);
    assert_eq!(figures["specialties"], 0);
}
