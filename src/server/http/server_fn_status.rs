//! Server functions answer errors with 500 unless told otherwise. Our errors
//! are `AppError`s (JSON); this middleware gives each its own status (422,
//! 404, 409, ...) in one place, including errors raised before a function's
//! body runs (arguments that do not decode are a 400, not a 500).

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

use crate::error::AppError;

const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn map_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR || !res.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        // Only an error quoting a huge input could be this long: the input is at fault.
        parts.status = StatusCode::BAD_REQUEST;
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        let error = AppError::Request("The request could not be read.".into());
        return Response::from_parts(parts, Body::from(serde_json::to_vec(&error).unwrap_or_default()));
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}
