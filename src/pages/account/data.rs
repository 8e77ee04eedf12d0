//! `/account/data`: my data rights. Patients download everything held about
//! them (JSON, or a FHIR R4 Bundle for other health systems); anyone deletes
//! their account after giving their password and typing DELETE. What is
//! removed and what is kept (and why) is said before the button.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::account::DeleteAccount;
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};
use crate::components::guard::RequireUser;
use crate::components::layout::MeResource;
use crate::domain::Role;

#[component]
pub fn DataPage() -> impl IntoView {
    view! {
        <Title text="Your data"/>
        <RequireUser>
            <DataRights/>
        </RequireUser>
    }
}

#[component]
fn DataRights() -> impl IntoView {
    let me = expect_context::<MeResource>();
    view! {
        <section class="stack narrow">
            <h1>"Your data"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let role = me.await.ok().flatten().map(|u| u.role);
                    view! {
                        {(role == Some(Role::Patient)).then(|| view! { <Downloads/> })}
                        <DeleteAccountSection role/>
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The two downloads (patients only; the server refuses anyone else).
#[component]
fn Downloads() -> impl IntoView {
    view! {
        <section class="stack" aria-labelledby="download-heading">
            <h2 id="download-heading">"Download your records"</h2>
            <p>
                "Everything we hold about you: your account and profile, your consultations (with what you wrote, \
                 the diagnosis once a visit is completed, addenda and the chat), every version of your prescriptions, \
                 your payments and reviews, the devices you signed in on, and the log of who looked at your record."
            </p>
            <p class="muted">
                "Your doctors' private working notes are not included: they are the doctor's own notes and are never \
                 shown to patients."
            </p>
            <ul class="cluster" role="list">
                <li>
                    <a class="button secondary" href="/account/export.json" download="" rel="external">
                        "Download as JSON"
                    </a>
                </li>
                <li>
                    <a class="button secondary" href="/account/export.fhir.json" download="" rel="external">
                        "Download as FHIR (for other health services)"
                    </a>
                </li>
            </ul>
        </section>
    }
}

#[component]
fn DeleteAccountSection(role: Option<Role>) -> impl IntoView {
    let action = ServerAction::<DeleteAccount>::new();
    let outcome: Outcome<()> = Signal::derive(move || action.value().get());
    let deleted = move || matches!(outcome.get(), Some(Ok(())));
    Effect::new(move |_| {
        if deleted() {
            // The session cookies are gone: start afresh, signed out.
            #[cfg(feature = "hydrate")]
            let _ = window().location().set_href("/");
        }
    });
    let doctor = role == Some(Role::Doctor);
    view! {
        <section class="stack" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete your account"</h2>
            <Show
                when=deleted
                fallback=move || view! {
                    <p>"Deleting your account cannot be undone. You will be signed out everywhere."</p>
                    <h3>"What is removed"</h3>
                    <ul>
                        <li>"Your name, email address, phone number, date of birth, gender and address."</li>
                        <li>"Your password, two-step verification, and the devices you are signed in on."</li>
                        <li>"The text of your reviews (the star ratings stay, so doctors' ratings stay correct)."</li>
                        {doctor.then(|| view! {
                            <li>"Your practice: you are no longer listed or bookable, and your hours and biography are removed."</li>
                        })}
                    </ul>
                    <h3>"What we keep, and why"</h3>
                    <ul>
                        <li>
                            "Consultations, prescriptions, addenda and the chat of your visits: these are medical records, \
                             which the law requires us to keep for a number of years."
                        </li>
                        <li>"Payments: financial records we must keep for tax and accounting."</li>
                        <li>"The security log of who accessed records, which cannot be changed."</li>
                        {doctor.then(|| view! {
                            <li>"Your licence number on the prescriptions you issued, which identifies the prescriber."</li>
                        })}
                    </ul>
                    <p>"None of what we keep will carry your name or contact details any more."</p>
                    <p class="muted">
                        "You cannot delete your account while a consultation is still to come: cancel it, or wait until it is over."
                    </p>
                    <ActionForm action=action attr:class="stack" attr:novalidate=true>
                        <FormAlert outcome/>
                        <TextField name="password" label="Your password" kind="password" autocomplete="current-password"
                            errors=messages_for(outcome, "password")/>
                        <TextField name="confirm" label="Type DELETE to confirm" autocomplete="off" spellcheck=false
                            hint="In capital letters." errors=messages_for(outcome, "confirm")/>
                        <button type="submit" class="button danger" disabled=move || action.pending().get()>
                            "Delete my account"
                        </button>
                    </ActionForm>
                }
            >
                <p class="alert success" role="status">
                    "Your account is deleted and you are signed out. "
                    <a href="/" rel="external">"Back to the home page"</a>
                </p>
            </Show>
        </section>
    }
}
