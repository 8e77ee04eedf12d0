use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::auth::VerifyEmail;
use crate::components::form::{messages_for, FormAlert, Outcome};

/// Where the link in the verification email leads. Confirming is a button
/// (a POST): mail scanners that follow links do not use the link up.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = move || use_query_map().read().get("token").unwrap_or_default();
    let action = ServerAction::<VerifyEmail>::new();
    let outcome: Outcome<()> = Signal::derive(move || action.value().get());
    // What is wrong with the link, when the server says so.
    let problem = messages_for(outcome, "token");
    view! {
        <Title text="Confirm your email address"/>
        <section class="stack narrow">
            <h1>"Confirm your email address"</h1>
            <Show
                when=move || matches!(outcome.get(), Some(Ok(())))
                fallback=move || view! {
                    <ActionForm action=action attr:class="stack">
                        <FormAlert outcome/>
                        <Show when=move || !problem.get().is_empty()>
                            <p class="alert error" role="alert">{move || problem.get().join(" ")}</p>
                        </Show>
                        <input type="hidden" name="token" prop:value=token/>
                        <p>"Press the button to confirm that this address is yours."</p>
                        <button type="submit" class="button" disabled=move || action.pending().get()>
                            "Confirm my email address"
                        </button>
                    </ActionForm>
                }
            >
                <div class="alert success" role="status">
                    <p>"Thank you: your email address is confirmed."</p>
                    <p><A href="/sign-in">"Sign in"</A></p>
                </div>
            </Show>
        </section>
    }
}
