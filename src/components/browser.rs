//! What only the browser knows. On the server these return nothing, and the
//! page renders a neutral placeholder that hydration then fills in.

/// The viewer's IANA timezone, from the browser's `Intl` API.
pub fn viewer_timezone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        let options = format.resolved_options();
        let reported = js_sys::Reflect::get(&options, &"timeZone".into()).ok()?.as_string()?;
        // Browsers may report a legacy name (Asia/Calcutta): show the current one.
        Some(crate::domain::timezone::canonical_timezone(&reported).map(str::to_owned).unwrap_or(reported))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Remembers the viewer's timezone in the `th_tz` cookie (for a year), so
/// the server renders times in it on the next visit even before anyone signs
/// in. The server reads `%2F` as `/`.
pub fn remember_timezone() {
    #[cfg(feature = "hydrate")]
    {
        let Some(zone) = viewer_timezone() else { return };
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let cookie = format!("th_tz={}; Path=/; Max-Age=31536000; SameSite=Lax", zone.replace('/', "%2F"));
        // `document.cookie` without web-sys's HtmlDocument feature.
        let _ = js_sys::Reflect::set(&document, &"cookie".into(), &cookie.into());
    }
}

/// Registers `/sw.js` (offline page, cached static assets). Browsers without
/// service workers, or insecure origins, simply go without.
pub fn register_service_worker() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsValue;
        let Some(window) = web_sys::window() else { return };
        let navigator = window.navigator();
        if js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false) {
            // The version names the worker's caches; static files are content-hashed.
            let url = concat!("/sw.js?v=", env!("CARGO_PKG_VERSION"));
            let _ = navigator.service_worker().register(url);
        }
    }
}

/// Marks the document as interactive (`<html data-hydrated="true">`): tests
/// and styles can tell a server-rendered page from a hydrated one.
pub fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}

/// Moves the keyboard focus to the element with this id (after the current
/// render, so an element that is just appearing is there).
pub fn focus_element(id: &'static str) {
    #[cfg(feature = "hydrate")]
    leptos::prelude::request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}
