//! `AppError`: the one typed error every server function returns.
//!
//! It crosses to the browser, so it carries only what a user may see:
//! field messages, a reason, never a database error or a stack. The server
//! logs the full cause (with the request id) before it turns an unexpected
//! failure into `Internal`.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Messages for the fields of a form, keyed by the field's name.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum AppError {
    /// 401: not signed in, or the session ended.
    #[error("Please sign in to continue.")]
    Unauthorized,
    /// 403: signed in, but this is not yours to see or do.
    #[error("You do not have access to this.")]
    Forbidden,
    /// 403: an administrator without two-step verification; set it up first.
    #[error("Set up two-step verification before you use the administration pages.")]
    MfaRequired,
    /// 404: it does not exist (or you may not know that it does).
    #[error("Not found.")]
    NotFound,
    /// 422: the input was wrong; each field says why.
    #[error("Please correct the highlighted fields.")]
    Validation(FieldErrors),
    /// 409: the request clashes with the current state (a taken slot, a used email).
    #[error("{0}")]
    Conflict(String),
    /// 429: too many attempts; try again later.
    #[error("Too many attempts. Please wait {retry_after_secs} seconds and try again.")]
    RateLimited { retry_after_secs: u64 },
    /// 503: a dependency (the database) is down; the request can be retried.
    #[error("The service is temporarily unavailable. Please try again in a moment.")]
    Unavailable,
    /// 500: something unexpected; the details are in the server log only.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request never reached the function properly (bad encoding, network).
    #[error("{0}")]
    Request(String),
}

impl AppError {
    /// A validation error for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        AppError::Validation(errors)
    }

    /// The messages for one field, if this is a validation error.
    pub fn field_messages(&self, field: &str) -> &[String] {
        match self {
            AppError::Validation(errors) => errors.get(field).map(Vec::as_slice).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The HTTP status this error answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::Forbidden | AppError::MfaRequired => 403,
            AppError::NotFound => 404,
            AppError::Validation(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::RateLimited { .. } => 429,
            AppError::Unavailable => 503,
            AppError::Internal => 500,
            AppError::Request(_) => 400,
        }
    }
}

/// How much of a decoder's message (which quotes the input) an answer repeats.
const MAX_DETAIL_CHARS: usize = 200;

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                // The decoder's message quotes the input: keep the answer short
                // whatever was sent (and never more than a line of it).
                let shown: String = msg.chars().take(MAX_DETAIL_CHARS).collect();
                let more = if msg.chars().nth(MAX_DETAIL_CHARS).is_some() { "…" } else { "" };
                AppError::Request(format!("The request could not be read: {shown}{more}"))
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                AppError::Request("The server could not be reached. Check your connection.".into())
            }
            ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::UnsupportedRequestMethod(_) => {
                AppError::Request("The request was not understood.".into())
            }
            _ => AppError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_name_their_fields() {
        let err = AppError::field("email", "Enter an email address like name@example.com.");
        assert_eq!(err.status_code(), 422);
        assert_eq!(err.field_messages("email").len(), 1);
        assert!(err.field_messages("password").is_empty());
    }

    #[test]
    fn errors_round_trip_through_json_for_the_browser() {
        let err = AppError::RateLimited { retry_after_secs: 30 };
        let json = serde_json::to_string(&err).unwrap();
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), err);
    }

    #[test]
    fn internal_errors_reveal_nothing() {
        assert_eq!(AppError::Internal.to_string(), "Something went wrong on our side. Please try again.");
    }
}
