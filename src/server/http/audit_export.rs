//! `GET /admin/audit.csv?<filters>`: the filtered audit trail as CSV, for
//! administrators with two-step verification. Rows stream from one statement (one
//! snapshot) straight into the response, a chunk at a time, so the export of
//! millions of rows holds neither them all in memory nor the response back.
//! The export itself is audited (with its filter) before the first byte.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::TryStreamExt;
use serde_json::json;

use crate::error::AppError;
use crate::server::auth::session::{ensure_admin, request_meta, CurrentUser};
use crate::server::db::{self, admin::AuditRow};
use crate::server::services::admin_reports;
use crate::server::state::AppState;

/// Bytes gathered before a chunk goes out.
const CHUNK: usize = 64 * 1024;

pub async fn audit_csv(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(Extension(user)) = user else {
        return refuse(AppError::Unauthorized);
    };
    let admin = match ensure_admin(&state, user).await {
        Ok(admin) => admin,
        Err(e) => return refuse(e),
    };
    let query = query.unwrap_or_default();
    let (filter, account) = match admin_reports::audit_filter(&state, admin, &query).await {
        Ok(found) => found,
        Err(e) => return refuse(e),
    };
    let meta = request_meta(&headers, Some(peer), &state.settings.server.trusted_proxies);
    let recorded = async {
        let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
        let entry =
            meta.audit("audit.exported", "audit_log").by(admin.user_id).details(json!({ "filter": filter.to_query() }));
        db::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    };
    if let Err(e) = recorded.await {
        return refuse(e);
    }

    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = state.pool.clone();
    tokio::spawn(async move {
        let streamed = async {
            let mut tx = db::begin(&pool, Some(admin.actor())).await?;
            let mut buffer =
                String::from("created_at,id,user_id,user_email,action,resource_type,resource_id,ip_address,details\n");
            let mut query = db::admin::audit_query(&filter, account, None);
            let mut rows = query.build_query_as::<AuditRow>().fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                push_row(&mut buffer, &row);
                if buffer.len() >= CHUNK && sender.send(Ok(Bytes::from(std::mem::take(&mut buffer)))).await.is_err() {
                    return Ok(()); // the client went away
                }
            }
            drop(rows);
            tx.commit().await?;
            let _ = sender.send(Ok(Bytes::from(buffer))).await;
            Ok::<_, sqlx::Error>(())
        };
        if let Err(e) = streamed.await {
            tracing::warn!(error = %e, "audit export stopped");
            // Cut the response short: a truncated file must not look complete.
            let _ = sender.send(Err(std::io::Error::other("audit export failed"))).await;
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|item| (item, r))
    }));
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let name = format!("attachment; filename=\"audit-{}.csv\"", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    if let Ok(value) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

fn refuse(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut text = e.to_string();
    if let AppError::Validation(fields) = &e {
        for (field, messages) in fields {
            text.push_str(&format!("\n{field}: {}", messages.join(" ")));
        }
    }
    (status, text).into_response()
}

fn push_row(out: &mut String, row: &AuditRow) {
    let id = row.id.to_string();
    let user_id = row.user_id.map(|u| u.to_string()).unwrap_or_default();
    let resource_id = row.resource_id.map(|u| u.to_string()).unwrap_or_default();
    let details = row.details.to_string();
    let fields = [
        row.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        id,
        user_id,
        row.user_email.clone().unwrap_or_default(),
        row.action.clone(),
        row.resource_type.clone(),
        resource_id,
        row.ip_address.clone().unwrap_or_default(),
        details,
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, field);
    }
    out.push('\n');
}

/// One CSV field: quoted when it holds a separator, a quote or a line break;
/// a leading `=`, `+`, `-` or `@` is defused with an apostrophe so that a
/// spreadsheet never runs it as a formula.
pub fn push_field(out: &mut String, field: &str) {
    let defuse = field.starts_with(['=', '+', '-', '@']);
    let quote = defuse || field.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if defuse {
        out.push('\'');
    }
    for c in field.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::push_field;

    fn field(text: &str) -> String {
        let mut out = String::new();
        push_field(&mut out, text);
        out
    }

    #[test]
    fn plain_fields_stay_plain_and_others_are_quoted_with_doubled_quotes() {
        assert_eq!(field("payment.refunded"), "payment.refunded");
        assert_eq!(field(r#"{"a":"b,c"}"#), r#""{""a"":""b,c""}""#);
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn a_formula_is_defused() {
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "\"'-1\"");
    }
}
