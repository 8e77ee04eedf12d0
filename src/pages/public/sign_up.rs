use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::auth::SignUp;
use crate::components::browser::viewer_timezone;
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};

/// New patients and doctors create their own account here.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let outcome: Outcome<()> = Signal::derive(move || action.value().get());
    let timezone = RwSignal::new("UTC".to_string());
    Effect::new(move |_| {
        if let Some(tz) = viewer_timezone() {
            timezone.set(tz);
        }
    });
    let created = move || matches!(outcome.get(), Some(Ok(())));

    view! {
        <Title text="Create your account"/>
        <section class="stack narrow">
            <h1>"Create your account"</h1>
            <Show
                when=created
                fallback=move || {
                    view! {
                        <ActionForm action=action attr:class="stack" attr:novalidate=true>
                            <FormAlert outcome/>
                            <fieldset>
                                <legend>"I am joining as"</legend>
                                <label>
                                    <input type="radio" name="role" value="patient" checked=true/>
                                    " a patient"
                                </label>
                                <label>
                                    <input type="radio" name="role" value="doctor"/>
                                    " a doctor"
                                </label>
                                <Show when=move || !messages_for(outcome, "role").get().is_empty()>
                                    <p class="field-error">{move || messages_for(outcome, "role").get().join(" ")}</p>
                                </Show>
                            </fieldset>
                            <TextField name="first_name" label="First name" autocomplete="given-name" errors=messages_for(outcome, "first_name")/>
                            <TextField name="last_name" label="Last name" autocomplete="family-name" errors=messages_for(outcome, "last_name")/>
                            <TextField name="email" label="Email" kind="email" autocomplete="email" errors=messages_for(outcome, "email")/>
                            <TextField
                                name="password"
                                label="Password"
                                kind="password"
                                autocomplete="new-password"
                                hint="At least 12 characters. A few unrelated words make a strong password."
                                errors=messages_for(outcome, "password")
                            />
                            <input type="hidden" name="timezone" prop:value=move || timezone.get()/>
                            <p class="muted">"Your timezone: " {move || timezone.get()}</p>
                            <button type="submit" class="button" disabled=move || action.pending().get()>
                                "Create account"
                            </button>
                            <p>"Already have an account? " <A href="/sign-in">"Sign in"</A></p>
                        </ActionForm>
                    }
                }
            >
                <div class="alert success" role="status">
                    <p>
                        "Your account is ready. We have sent you an email with a link to confirm your address; "
                        "until then you can sign in but not book."
                    </p>
                    <p><A href="/sign-in">"Sign in"</A></p>
                </div>
            </Show>
        </section>
    }
}
