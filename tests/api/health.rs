//! Operational endpoints and the headers every response carries.

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_ok_without_touching_the_database() {
    let app = spawn_app().await;
    app.app_pool.close().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("\"ok\""));
}

#[tokio::test]
async fn readyz_reports_ready_while_the_database_answers() {
    let app = spawn_app().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn readyz_answers_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.app_pool.close().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
}

#[tokio::test]
async fn a_server_function_fails_fast_with_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.app_pool.close().await;
    let res = app.get("/api/platform_stats").await;
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(body.contains("unavailable"), "{body}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_in_prometheus_text() {
    let app = spawn_app().await;
    app.get("/about").await;
    app.get("/about").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(text.contains(r#"http_requests_total{method="GET",route="/about",status="200"} 2"#), "{text}");
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    assert!(text.contains("db_pool_connections{state=\"max\"}"));
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/about", "/no-such-page", "/healthz", "/api/platform_stats"] {
        let res = app.get(path).await;
        let h = res.headers();
        assert!(h.contains_key("x-request-id"), "{path}: request id");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(h["permissions-policy"].to_str().unwrap().contains("camera=(self)"), "{path}");
        assert!(h["permissions-policy"].to_str().unwrap().contains("microphone=(self)"), "{path}");
        assert_eq!(h["cache-control"], "no-store, private", "{path}: pages and data are never cached");
        assert!(!h.contains_key("strict-transport-security"), "{path}: no HSTS without TLS");
    }
}

#[tokio::test]
async fn behind_tls_every_response_asks_for_https() {
    let app = spawn_app_with(|env| {
        env.insert("TELEHEALTH__SERVER__BEHIND_TLS".into(), "true".into());
    })
    .await;
    let res = app.get("/").await;
    assert!(res.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
}

#[tokio::test]
async fn a_client_supplied_request_id_is_kept() {
    let app = spawn_app().await;
    let res =
        app.client.get(format!("{}/healthz", app.address)).header("x-request-id", "trace-me-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-123");
}
