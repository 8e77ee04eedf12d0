use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;

/// What a page shows when rendering it failed: the user-safe message of each
/// error (never internals), with the matching HTTP status on the server.
#[component]
pub fn ErrorPage(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, e)| match e.downcast_ref::<AppError>() {
                Some(app) => (app.status_code(), app.to_string()),
                None => (500, AppError::Internal.to_string()),
            })
            .collect::<Vec<_>>()
    };
    let status = messages().first().map(|(code, _)| *code).unwrap_or(500);
    super::set_status(status);
    view! {
        <Title text="Something went wrong"/>
        <section class="error-page" role="alert">
            <p class="error-code" aria-hidden="true">{status}</p>
            <h1>"Something went wrong"</h1>
            <ul>
                {move || messages().into_iter().map(|(_, m)| view! { <li>{m}</li> }).collect_view()}
            </ul>
            <a class="button" href="/">"Go to the home page"</a>
        </section>
    }
}
