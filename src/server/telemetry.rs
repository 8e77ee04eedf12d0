//! Structured logs with `tracing`. Every request runs in a span carrying its
//! request id, so each log line of a request can be found by that id.
//! Nothing logged may hold a secret or health data: paths are logged without
//! their query strings, and bodies are never logged.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

use super::config::LogFormat;

/// Installs the global subscriber once. `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info,leptos_axum=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry.with(fmt::layer().json().with_current_span(true)).try_init(),
        LogFormat::Text => registry.with(fmt::layer().with_target(false)).try_init(),
    };
    // A second init (tests start many apps in one process) is fine to ignore.
    let _ = result;
}
