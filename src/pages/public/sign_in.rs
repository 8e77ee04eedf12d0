use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{SignIn, SignOut};
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};
use crate::domain::Role;

/// Email and password; on success the whole app reloads signed in.
#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let idle = move || use_query_map().read().get("reason").as_deref() == Some("idle");
    // Arriving here after automatic logoff: make sure the server session is over too.
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if idle() {
            sign_out.dispatch(SignOut {});
        }
    });
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
            <Show when=idle>
                <p class="alert info" role="status">
                    "You were signed out after a while without activity, to protect your health information. "
                    "Anything you had typed but not sent was not saved."
                </p>
            </Show>
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
