//! Server-side conversions into [`AppError`]: unexpected failures are logged
//! in full (with the request's span, hence its request id) and returned opaque.

use crate::error::AppError;

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => {
                tracing::warn!(error = %super::db::one_line(&e), "database unavailable");
                AppError::Unavailable
            }
            // The server is shutting down or the connection broke mid-request
            // (PostgreSQL stopped or restarted): retry later, like the above.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| super::db::outage::is_unavailable_sqlstate(&c)) => {
                tracing::warn!(sqlstate = %db.code().unwrap_or_default(), "database unavailable");
                AppError::Unavailable
            }
            sqlx::Error::RowNotFound => AppError::NotFound,
            // SQLSTATE class 22, "data exception": the value itself cannot be
            // stored or compared (a NUL character, a number out of range, text
            // too long for its column, a date that does not exist). The input
            // is at fault, not the server; no value is echoed back or logged.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                tracing::info!(sqlstate = %db.code().unwrap_or_default(), "input refused by the database");
                AppError::Request(data_exception_message(db.code().as_deref().unwrap_or_default()).into())
            }
            _ => {
                tracing::error!(error = %super::db::one_line(&e), "database error");
                AppError::Internal
            }
        }
    }
}

/// What to tell the sender of a value the database refused (SQLSTATE class 22).
fn data_exception_message(sqlstate: &str) -> &'static str {
    match sqlstate {
        "22021" => "Text cannot contain the NUL character or bytes that are not UTF-8.",
        "22001" => "A value is longer than allowed.",
        "22003" => "A number is out of range.",
        "22007" | "22008" => "A date or time is not valid.",
        _ => "A value in the request is not valid.",
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = format!("{e:#}"), "unexpected error");
        AppError::Internal
    }
}

/// The name of the constraint a database error violated, if any; lets a
/// service turn `users_email_key` into "that email is taken" without
/// matching error text.
pub fn violated_constraint(e: &sqlx::Error) -> Option<&str> {
    e.as_database_error().and_then(|d| d.constraint())
}
