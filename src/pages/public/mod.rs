//! Pages anyone can see, signed in or not.

pub mod about;
pub mod dev_mailbox;
pub mod error;
pub mod forgot_password;
pub mod home;
pub mod not_found;
pub mod sign_in;
pub mod sign_up;
pub mod verify_email;

/// Sets the HTTP status of the page being rendered on the server.
/// What a page shows in place of data it could not load: the error's
/// user-safe message, with a server error's status (503 while the database is
/// down). A refused filter keeps the page's 200: the form, with the message
/// next to the field, is the answer.
pub(crate) fn load_failed(e: crate::error::AppError) -> leptos::prelude::AnyView {
    use leptos::prelude::*;
    if e.status_code() >= 500 {
        set_status(e.status_code());
    }
    view! { <p class="alert error" role="alert">{e.to_string()}</p> }.into_any()
}

pub(crate) fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = axum::http::StatusCode::from_u16(code) {
            res.set_status(status);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}
