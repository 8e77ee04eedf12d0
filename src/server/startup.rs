//! `Application`: settings in, a listening server out. Used by `main` and by
//! the integration tests (which start it on port 0 against their own database).

use axum::routing::get;
use axum::Router;
use leptos::config::{get_configuration, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use super::auth::tokens::AccessTokens;
use super::config::{Settings, SettingsError};
use super::crypto::FieldCipher;
use super::db::{self, DbStartError};
use super::http::{self, health, metrics::Metrics};
use super::integrations::mail::Mailer;
use super::integrations::payments::Gateway;
use super::state::AppState;
use crate::app::{shell, App};

/// Why the app could not start. Each variant prints as one clear line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Database(#[from] DbStartError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("{0}")]
    Other(String),
}

/// Access tokens live this long; sessions go on by refreshing them.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

pub struct Application {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    pool: PgPool,
    grace: Duration,
}

/// Leptos's own options: cargo-leptos passes them as `LEPTOS_*` variables;
/// without them (the binary run directly, tests) the project's defaults apply.
pub fn leptos_options(settings: &Settings) -> LeptosOptions {
    let from_env =
        std::env::var_os("LEPTOS_OUTPUT_NAME").and_then(|_| get_configuration(None).ok()).map(|c| c.leptos_options);
    let mut options = from_env.unwrap_or_else(|| {
        // cargo-leptos writes the content hashes of /pkg files next to the binary.
        let hashed = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt").exists()))
            .unwrap_or(false);
        LeptosOptions::builder()
            .output_name("telehealth")
            .site_root(std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into()))
            .site_pkg_dir("pkg")
            .hash_files(hashed)
            .build()
    });
    if let Some(addr) = settings.server.addr {
        options.site_addr = addr;
    }
    options
}

impl Application {
    /// Connects to the database (migrating it when configured), seeds demo
    /// data when asked, binds the listener and assembles the router.
    pub async fn build(settings: Settings, leptos_options: LeptosOptions) -> Result<Self, StartupError> {
        let url = settings.database_url()?.clone();
        if settings.database.migrate_on_start {
            db::migrate(url.expose(), &settings.database).await?;
        }
        let pool = db::connect(url.expose(), &settings.database).await?;
        if settings.demo.seed {
            seed_demo(&pool).await?;
        }

        let addr = leptos_options.site_addr;
        let listener =
            TcpListener::bind(addr).await.map_err(|e| StartupError::Bind { addr, reason: bind_reason(&e) })?;
        let addr = listener.local_addr().map_err(|e| StartupError::Bind { addr, reason: e.to_string() })?;

        let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
        let jwt_secret = settings
            .security
            .jwt_secret
            .as_ref()
            .ok_or(SettingsError::MissingSecret { var: "TELEHEALTH__SECURITY__JWT_SECRET" })?;
        let mailer =
            Mailer::from_settings(&settings.mail, pool.clone()).map_err(|e| StartupError::Other(e.to_string()))?;
        let access_tokens = AccessTokens::new(jwt_secret, ACCESS_TOKEN_TTL)
            .map_err(|e| StartupError::Other(format!("the JWT secret cannot be used: {e}")))?;
        let data_key = settings
            .security
            .data_encryption_key
            .as_ref()
            .ok_or(SettingsError::MissingSecret { var: "TELEHEALTH__SECURITY__DATA_ENCRYPTION_KEY" })?;
        let cipher = FieldCipher::new(data_key);
        let payments = Gateway::from_settings(&settings.payments);
        let state = AppState {
            leptos_options,
            pool: pool.clone(),
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::new()),
            access_tokens: Arc::new(access_tokens),
            cipher: Arc::new(cipher),
            mailer,
            payments,
            rooms: crate::server::room_hub::RoomHub::default(),
        };
        state.rooms.spawn_listener(pool.clone());
        crate::server::services::booking::spawn_jobs(state.clone(), Duration::from_secs(30));
        let router = router(state);
        Ok(Application { listener, router, addr, pool, grace })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Serves until Ctrl-C or SIGTERM, then lets in-flight requests finish
    /// (for at most the configured grace period).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` resolves, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                signal.await;
                tracing::info!("shutting down: finishing in-flight requests");
                let _ = stopping_tx.send(());
            });
        let grace = self.grace;
        let deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            served = server => served?,
            _ = deadline => tracing::warn!("grace period over: closing remaining connections"),
        }
        self.pool.close().await;
        Ok(())
    }
}

/// The whole HTTP surface: operational endpoints, the Leptos pages and server
/// functions, static files, and the layers around them.
fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            use_request_nonce();
        }
    };
    let shell_fn = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    let app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(http::metrics::render))
        .route("/webhooks/stripe", axum::routing::post(http::webhooks::stripe))
        .route("/ws/consultations/{id}", get(http::room_ws::room_socket))
        .route("/prescriptions/{id}/pdf", get(http::documents::prescription_pdf))
        .route("/account/export.json", get(http::export::export_json))
        .route("/account/export.fhir.json", get(http::export::export_fhir))
        .route("/admin/audit.csv", get(http::audit_export::audit_csv))
        .leptos_routes_with_context(&state, routes, context.clone(), shell_fn)
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell));
    http::with_layers(app, &state).with_state(state)
}

/// Makes the nonce that the security-headers middleware put in the request's
/// Content-Security-Policy the one the page's scripts carry.
fn use_request_nonce() {
    use leptos::prelude::use_context;
    if let Some(parts) = use_context::<::http::request::Parts>() {
        if let Some(nonce) = parts.extensions.get::<leptos::nonce::Nonce>() {
            provide_context(nonce.clone());
        }
    }
}

async fn seed_demo(pool: &PgPool) -> Result<(), StartupError> {
    use super::db::demo;
    let hash = super::password::hash(demo::DEMO_PASSWORD.into())
        .await
        .map_err(|e| StartupError::Other(format!("cannot hash the demo password: {e}")))?;
    let outcome = demo::seed(pool, hash.as_str())
        .await
        .map_err(|e| StartupError::Other(format!("seeding demo data failed: {}", db::one_line(&e))))?;
    if outcome.created {
        tracing::info!(doctors = outcome.doctors, "demo data seeded");
    }
    println!("Demo sign-ins (password for all: {}):", demo::DEMO_PASSWORD);
    for login in &outcome.logins {
        println!("  {:<8} {}", login.role, login.email);
    }
    println!("  ... and {} verified doctors in all (dr.<first>.<last>@example.com)", outcome.doctors);
    Ok(())
}

fn bind_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "the address is already in use (is another instance running?)".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied (ports below 1024 need privileges)".into(),
        _ => e.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
