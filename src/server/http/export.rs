//! `GET /account/export.json` and `GET /account/export.fhir.json`: the
//! signed-in patient's records, as our own JSON or as a FHIR R4 Bundle, to
//! download. Always the signed-in person's own: `?patient=<id>` naming
//! anyone else is refused (403, audited, nothing exported). Signed out: 401;
//! not a patient: 403.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppError;
use crate::server::auth::session::{request_meta, CurrentUser};
use crate::server::fhir;
use crate::server::services::data_rights::{self, ExportFormat, NOT_A_PATIENT, NOT_YOURS};
use crate::server::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    /// Whose records: only one's own id is accepted.
    pub patient: Option<String>,
}

pub async fn export_json(
    state: State<AppState>,
    query: Query<ExportQuery>,
    user: Option<Extension<CurrentUser>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    export(state, query, user, peer, headers, ExportFormat::Json).await
}

pub async fn export_fhir(
    state: State<AppState>,
    query: Query<ExportQuery>,
    user: Option<Extension<CurrentUser>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    export(state, query, user, peer, headers, ExportFormat::Fhir).await
}

/// A plain-text refusal that says why.
fn refusal(status: StatusCode, message: &str) -> Response {
    let mut response = (status, message.to_owned()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn export(
    State(state): State<AppState>,
    Query(query): Query<ExportQuery>,
    user: Option<Extension<CurrentUser>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    format: ExportFormat,
) -> Response {
    let Some(Extension(user)) = user else {
        return refusal(StatusCode::UNAUTHORIZED, &AppError::Unauthorized.to_string());
    };
    let requested = match query.patient.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(text) => match text.parse::<Uuid>() {
            Ok(id) => Some(id),
            Err(_) => return refusal(StatusCode::BAD_REQUEST, "The patient must be given as an id."),
        },
    };
    let meta = request_meta(&headers, Some(peer), &state.settings.server.trusted_proxies);
    let export = match data_rights::export(&state, user, requested, format, &meta).await {
        Ok(export) => export,
        Err(AppError::Forbidden) => {
            let why = if user.role == Role::Patient { NOT_YOURS } else { NOT_A_PATIENT };
            return refusal(StatusCode::FORBIDDEN, why);
        }
        Err(e) => {
            let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return refusal(status, &e.to_string());
        }
    };
    let (body, content_type, suffix) = match format {
        ExportFormat::Json => (serde_json::to_vec_pretty(&export), "application/json", "json"),
        ExportFormat::Fhir => (serde_json::to_vec_pretty(&fhir::bundle(&export)), "application/fhir+json", "fhir.json"),
    };
    let Ok(body) = body else {
        tracing::error!("the export could not be serialised");
        return refusal(StatusCode::INTERNAL_SERVER_ERROR, &AppError::Internal.to_string());
    };
    let disposition =
        format!("attachment; filename=\"telehealth-records-{}.{suffix}\"", export.generated_at.format("%Y-%m-%d"));
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    // Health data: never kept by any cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
