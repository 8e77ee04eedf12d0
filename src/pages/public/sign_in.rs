use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::auth::SignIn;
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};
use crate::domain::Role;

/// Email and password; on success the whole app reloads signed in.
#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let outcome: Outcome<Role> = Signal::derive(move || action.value().get());
    Effect::new(move |_| {
        if let Some(Ok(_)) = outcome.get() {
            // A full load, so every part of the page renders for the signed-in user.
            #[cfg(feature = "hydrate")]
            let _ = window().location().set_href("/");
        }
    });

    view! {
        <Title text="Sign in"/>
        <section class="stack narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormAlert outcome/>
                <TextField name="email" label="Email" kind="email" autocomplete="username" errors=messages_for(outcome, "email")/>
                <TextField
                    name="password"
                    label="Password"
                    kind="password"
                    autocomplete="current-password"
                    errors=messages_for(outcome, "password")
                />
                <button type="submit" class="button" disabled=move || action.pending().get()>"Sign in"</button>
                <p><A href="/forgot-password">"Forgot your password?"</A></p>
                <p>"New here? " <A href="/sign-up">"Create an account"</A></p>
            </ActionForm>
        </section>
    }
}
