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
pub mod routes;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser's entry point: hydrate the server-rendered page, then register
/// the service worker (offline page, cached static assets).
///
/// Pages are lazily loaded chunks (src/routes.rs), so hydration is
/// asynchronous: it waits for the shown page's chunk (preloaded by the
/// page's `<link rel="preload">`), and the page is marked hydrated only then.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Every later request tells the server the browser's timezone (th_tz), so
    // times render in it from the first fetch (no second fetch to correct them).
    components::browser::remember_timezone();
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else { return };
        // What `leptos::mount::hydrate_lazy` does, followed by our own steps.
        leptos::mount::hydrate_from_async(body, app::App).await.forget();
        components::browser::mark_hydrated();
        components::browser::register_service_worker();
    });
}
