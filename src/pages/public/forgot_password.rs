use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::account::{RequestPasswordReset, ResetPassword};
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};

/// "Forgot your password?": asks for the email and always answers the same.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let outcome: Outcome<()> = Signal::derive(move || action.value().get());
    view! {
        <Title text="Reset your password"/>
        <section class="stack narrow">
            <h1>"Reset your password"</h1>
            <Show
                when=move || matches!(outcome.get(), Some(Ok(())))
                fallback=move || view! {
                    <ActionForm action=action attr:class="stack" attr:novalidate=true>
                        <FormAlert outcome/>
                        <p>"Enter the email address of your account. We will send you a link to choose a new password."</p>
                        <TextField name="email" label="Email" kind="email" autocomplete="email" errors=messages_for(outcome, "email")/>
                        <button type="submit" class="button" disabled=move || action.pending().get()>"Send the link"</button>
                    </ActionForm>
                }
            >
                <p class="alert success" role="status">
                    "If an account uses this address, we have sent it a link. It works for 30 minutes."
                </p>
            </Show>
        </section>
    }
}

/// Where the reset link leads: choose a new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = move || use_query_map().read().get("token").unwrap_or_default();
    let action = ServerAction::<ResetPassword>::new();
    let outcome: Outcome<()> = Signal::derive(move || action.value().get());
    // What is wrong with the link, when the server says so.
    let link_problem = messages_for(outcome, "token");
    view! {
        <Title text="Choose a new password"/>
        <section class="stack narrow">
            <h1>"Choose a new password"</h1>
            <Show
                when=move || matches!(outcome.get(), Some(Ok(())))
                fallback=move || view! {
                    <ActionForm action=action attr:class="stack" attr:novalidate=true>
                        <FormAlert outcome/>
                        <Show when=move || !link_problem.get().is_empty()>
                            <p class="alert error" role="alert">{move || link_problem.get().join(" ")} " " <A href="/forgot-password">"Ask for a new link"</A></p>
                        </Show>
                        <input type="hidden" name="token" prop:value=token/>
                        <TextField name="new_password" label="New password" kind="password" autocomplete="new-password"
                            hint="At least 12 characters. Every device signed in to your account will be signed out."
                            errors=messages_for(outcome, "new_password")/>
                        <button type="submit" class="button" disabled=move || action.pending().get()>"Save the new password"</button>
                    </ActionForm>
                }
            >
                <div class="alert success" role="status">
                    <p>"Your new password is saved. Every device was signed out."</p>
                    <p><A href="/sign-in">"Sign in"</A></p>
                </div>
            </Show>
        </section>
    }
}
