use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{SignIn, SignInCode, SignInOutcome, SignOut};
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};

/// Email and password, then (with two-step verification on) a code; on
/// success the whole app reloads signed in.
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
    let outcome: Outcome<SignInOutcome> = Signal::derive(move || action.value().get());
    let code_action = ServerAction::<SignInCode>::new();
    let code_outcome: Outcome<SignInOutcome> = Signal::derive(move || code_action.value().get());
    let needs_code = move || matches!(outcome.get(), Some(Ok(SignInOutcome::CodeNeeded)));
    Effect::new(move |_| {
        let signed_in = |o: Option<Result<SignInOutcome, _>>| matches!(o, Some(Ok(SignInOutcome::SignedIn { .. })));
        if signed_in(outcome.get()) || signed_in(code_outcome.get()) {
            // A full load, so every part of the page renders for the signed-in user.
            #[cfg(feature = "hydrate")]
            let _ = window().location().set_href("/");
        }
    });

    // Move the focus to the code field when it appears.
    Effect::new(move |_| {
        if needs_code() {
            crate::components::browser::focus_element("field-code");
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
            <Show when=needs_code>
                <ActionForm action=code_action attr:class="stack" attr:novalidate=true>
                    <h2>"Two-step verification"</h2>
                    <FormAlert outcome=code_outcome/>
                    <Show when=move || matches!(code_outcome.get(), Some(Err(crate::error::AppError::Conflict(_))))>
                        <p><a href="/sign-in">"Start again"</a></p>
                    </Show>
                    <TextField
                        name="code"
                        label="Code"
                        autocomplete="one-time-code"
                        hint="The 6-digit code from your authenticator app. Lost your phone? Enter one of your recovery codes."
                        errors=messages_for(code_outcome, "code")
                    />
                    <button type="submit" class="button" disabled=move || code_action.pending().get()>"Verify and sign in"</button>
                </ActionForm>
            </Show>
            <ActionForm action=action attr:class="stack" attr:novalidate=true attr:hidden=needs_code>
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
