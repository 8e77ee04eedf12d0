//! Telehealth: one crate, two builds. `ssr` is the axum server (pages rendered
//! on the server, server functions, jobs); `hydrate` is the WebAssembly that
//! makes the same components interactive in the browser.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser's entry point: hydrate the server-rendered page, then register
/// the service worker (offline page, cached static assets).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    components::browser::mark_hydrated();
    components::browser::register_service_worker();
    // Every later request tells the server the browser's timezone (th_tz), so
    // times render in it from the first fetch (no second fetch to correct them).
    components::browser::remember_timezone();
}
