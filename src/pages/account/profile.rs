use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::account::{my_profile, ProfileForm, UpdateProfile};
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};
use crate::components::guard::RequireUser;

/// View and edit my personal details.
#[component]
pub fn ProfilePage() -> impl IntoView {
    view! {
        <Title text="Your profile"/>
        <RequireUser>
            <ProfileEditor/>
        </RequireUser>
    }
}

#[component]
fn ProfileEditor() -> impl IntoView {
    let profile = Resource::new(|| (), |_| my_profile());
    view! {
        <section class="stack narrow">
            <h1>"Your profile"</h1>
            <p><a href="/account/data">"Your data: download your records or delete your account"</a></p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match profile.await {
                        Ok(p) => view! { <ProfileFields p/> }.into_any(),
                        Err(e) => crate::pages::public::load_failed(e),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ProfileFields(p: ProfileForm) -> impl IntoView {
    let action = ServerAction::<UpdateProfile>::new();
    let outcome: Outcome<()> = Signal::derive(move || action.value().get());
    let saved = move || matches!(outcome.get(), Some(Ok(())));
    view! {
        <ActionForm action=action attr:class="stack" attr:novalidate=true>
            <FormAlert outcome/>
            <TextField name="first_name" form_name="profile[first_name]" label="First name" autocomplete="given-name"
                value=p.first_name errors=messages_for(outcome, "first_name")/>
            <TextField name="last_name" form_name="profile[last_name]" label="Last name" autocomplete="family-name"
                value=p.last_name errors=messages_for(outcome, "last_name")/>
            <TextField name="phone" form_name="profile[phone]" label="Phone" kind="tel" autocomplete="tel" required=false
                hint="With your country code, for example +44 20 7946 0958." value=p.phone errors=messages_for(outcome, "phone")/>
            <TextField name="date_of_birth" form_name="profile[date_of_birth]" label="Date of birth" kind="date" autocomplete="bday"
                required=false value=p.date_of_birth errors=messages_for(outcome, "date_of_birth")/>
            <TextField name="gender" form_name="profile[gender]" label="Gender" required=false hint="In your own words; optional."
                value=p.gender errors=messages_for(outcome, "gender")/>
            <TextField name="address" form_name="profile[address]" label="Address" autocomplete="street-address" required=false
                value=p.address errors=messages_for(outcome, "address")/>
            <TextField name="city" form_name="profile[city]" label="City" autocomplete="address-level2" required=false
                value=p.city errors=messages_for(outcome, "city")/>
            <TextField name="state" form_name="profile[state]" label="State or region" autocomplete="address-level1" required=false
                value=p.state errors=messages_for(outcome, "state")/>
            <TextField name="country" form_name="profile[country]" label="Country" autocomplete="country" required=false
                hint="Two-letter code, for example GB, IN or US." value=p.country errors=messages_for(outcome, "country")/>
            <TextField name="pincode" form_name="profile[pincode]" label="Postal code" autocomplete="postal-code" required=false
                value=p.pincode errors=messages_for(outcome, "pincode")/>
            <TextField name="timezone" form_name="profile[timezone]" label="Timezone" hint="An IANA name, for example Europe/London."
                value=p.timezone errors=messages_for(outcome, "timezone")/>
            <TextField name="preferred_language" form_name="profile[preferred_language]" label="Preferred language"
                hint="A language code, for example en or pt-BR." value=p.preferred_language
                errors=messages_for(outcome, "preferred_language")/>
            <button type="submit" class="button" disabled=move || action.pending().get()>"Save profile"</button>
            <Show when=saved>
                <p class="alert success" role="status">"Your profile is saved."</p>
            </Show>
        </ActionForm>
    }
}
