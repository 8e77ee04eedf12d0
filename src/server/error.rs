//! Server-side conversions into [`AppError`]: unexpected failures are logged
//! in full (with the request's span, hence its request id) and returned opaque.

use crate::error::AppError;

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(error = %super::db::one_line(&e), "database unavailable");
                AppError::Unavailable
            }
            sqlx::Error::RowNotFound => AppError::NotFound,
            _ => {
                tracing::error!(error = %super::db::one_line(&e), "database error");
                AppError::Internal
            }
        }
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
