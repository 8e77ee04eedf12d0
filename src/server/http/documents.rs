//! `GET /prescriptions/{id}/pdf`: a prescription as a PDF, for its patient
//! and its doctor (anyone else: 404 and an audit row).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use uuid::Uuid;

use crate::server::auth::session::{request_meta, CurrentUser};
use crate::server::services::room;
use crate::server::state::AppState;

pub async fn prescription_pdf(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    user: Option<Extension<CurrentUser>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(Extension(user)) = user else {
        return (StatusCode::UNAUTHORIZED, "Please sign in to continue.").into_response();
    };
    let meta = request_meta(&headers, Some(peer), &state.settings.server.trusted_proxies);
    match room::prescription_pdf(&state, user, id, &meta).await {
        Ok(pdf) => {
            let disposition = format!("attachment; filename=\"prescription-{}.pdf\"", &id.to_string()[..8]);
            let mut response = (StatusCode::OK, pdf).into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                h.insert(header::CONTENT_DISPOSITION, value);
            }
            // Health data: never kept by a shared cache.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            response
        }
        Err(e) => {
            (StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::NOT_FOUND), e.to_string()).into_response()
        }
    }
}
