use leptos::prelude::*;
use leptos_meta::Title;

/// Any path no route matches: a 404 with a way back.
#[component]
pub fn NotFound() -> impl IntoView {
    super::set_status(404);
    view! {
        <Title text="Page not found"/>
        <section class="error-page">
            <p class="error-code" aria-hidden="true">"404"</p>
            <h1>"Page not found"</h1>
            <p>"We could not find the page you asked for. It may have moved, or the link may be mistyped."</p>
            <a class="button" href="/">"Go to the home page"</a>
        </section>
    }
}
