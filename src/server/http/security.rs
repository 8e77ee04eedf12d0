//! Security headers on every response, and a fresh CSP nonce per request that
//! the page's own scripts carry (so no inline script runs without it).

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;

use crate::server::state::AppState;

/// Paths whose responses are public, versioned static assets and may be cached.
/// Everything else (pages, server functions) may carry personal or health data.
fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.starts_with("/icons/")
        || matches!(path, "/favicon.ico" | "/manifest.webmanifest" | "/robots.txt" | "/offline.html" | "/offline.css")
}

/// A `/pkg` file whose name carries its content hash (`telehealth.<hash>.css`,
/// cargo-leptos's `hash-files`): it never changes under that name, so it may
/// be cached for good. A hash is a base64url part of 16 characters or more
/// with a digit or a capital in it (plain names such as `telehealth_bg` have neither).
fn is_hashed_asset(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/") else { return false };
    !name.contains('/')
        && name.split('.').any(|part| {
            part.len() >= 16
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && part.bytes().any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        })
}

/// The Content-Security-Policy for a page rendered with this nonce.
pub fn content_security_policy(nonce: &str, dev_reload: Option<u32>) -> String {
    let reload = dev_reload.map(|port| format!(" ws://127.0.0.1:{port} ws://localhost:{port}")).unwrap_or_default();
    format!(
        "default-src 'self'; \
         script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; \
         img-src 'self' data: blob:; \
         font-src 'self'; \
         connect-src 'self'{reload}; \
         media-src 'self' blob: mediastream:; \
         worker-src 'self'; \
         manifest-src 'self'; \
         object-src 'none'; \
         base-uri 'self'; \
         form-action 'self'; \
         frame-ancestors 'none'"
    )
}

pub async fn headers(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;

    let dev_reload = (!state.settings.is_production()).then_some(state.leptos_options.reload_port);
    let served = res.status().is_success();
    let h = res.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce, dev_reload)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static(
            "camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=(), interest-cohort=()",
        ),
    );
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if state.settings.server.behind_tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    if path == "/sw.js" {
        // The service worker must always be revalidated, and may control the whole origin.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert("service-worker-allowed", HeaderValue::from_static("/"));
    } else if is_hashed_asset(&path) && served {
        // Its name changes with its content: kept for a year, never revalidated.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    } else if is_static_asset(&path) {
        h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("public, no-cache"));
    } else {
        // Pages and API answers can hold health data: never stored by any cache.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, private"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_forbids_framing_and_foreign_scripts() {
        let csp = content_security_policy("abc", None);
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(!csp.contains("ws://"), "no live-reload socket outside development");
    }

    #[test]
    fn development_allows_the_live_reload_socket() {
        assert!(content_security_policy("n", Some(3001)).contains("ws://127.0.0.1:3001"));
    }

    #[test]
    fn only_content_hashed_files_may_be_cached_for_good() {
        assert!(is_hashed_asset("/pkg/telehealth.OqniPGKR3wKyqGASTjdB-g.css"));
        assert!(is_hashed_asset("/pkg/telehealth_bg.wasm.d.k71AOwTgApvNu9kascsdhw.ts"));
        assert!(!is_hashed_asset("/pkg/telehealth.js"), "an unhashed build changes under the same name");
        assert!(!is_hashed_asset("/pkg/telehealth_components_bg.wasm"));
        assert!(!is_hashed_asset("/manifest.webmanifest"));
        assert!(!is_hashed_asset("/consultations/OqniPGKR3wKyqGASTjdB-g"));
    }

    #[test]
    fn pages_are_not_static_assets() {
        assert!(is_static_asset("/pkg/telehealth.wasm"));
        assert!(!is_static_asset("/"));
        assert!(!is_static_asset("/api/platform_stats"));
    }
}
