//! The HTTP ceiling for the load scripts (`benches/load/read_paths.py`): a
//! bare axum handler answering a few bytes, with no middleware and no
//! database, on the same runtime the app uses. Whatever a page of ours
//! reaches is measured against this, at the same concurrency in the same run.
//!
//! Built (release) by `cargo bench --features ssr --bench http_anchor --no-run`;
//! run as `<binary> 127.0.0.1:3499` (serves until killed).

use axum::{routing::get, Router};

#[tokio::main]
async fn main() {
    let addr = std::env::args().skip(1).find(|a| !a.starts_with("--")).unwrap_or_else(|| "127.0.0.1:3499".into());
    let app = Router::new().route("/", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("the anchor's address is free");
    println!("anchor listening on http://{addr}");
    axum::serve(listener, app).await.expect("the anchor serves");
}
