use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::account::ChangePassword;
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};
use crate::components::guard::RequireUser;

/// Change my password (knowing the current one); my other devices are signed out.
#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    view! {
        <Title text="Change your password"/>
        <RequireUser>
            <ChangePasswordForm/>
        </RequireUser>
    }
}

#[component]
fn ChangePasswordForm() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let outcome: Outcome<()> = Signal::derive(move || action.value().get());
    view! {
        <section class="stack narrow">
            <h1>"Change your password"</h1>
            <Show
                when=move || matches!(outcome.get(), Some(Ok(())))
                fallback=move || view! {
                    <ActionForm action=action attr:class="stack" attr:novalidate=true>
                        <FormAlert outcome/>
                        <TextField name="current_password" label="Current password" kind="password"
                            autocomplete="current-password" errors=messages_for(outcome, "current_password")/>
                        <TextField name="new_password" label="New password" kind="password" autocomplete="new-password"
                            hint="At least 12 characters. Your other devices will be signed out."
                            errors=messages_for(outcome, "new_password")/>
                        <button type="submit" class="button" disabled=move || action.pending().get()>"Change password"</button>
                    </ActionForm>
                }
            >
                <p class="alert success" role="status">"Your password is changed, and your other devices are signed out."</p>
            </Show>
        </section>
    }
}
