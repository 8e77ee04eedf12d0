use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::doctors::{my_doctor_profile, DoctorProfileView, SaveDoctorProfile, SetDoctorAvailable};
use crate::components::form::{messages_for, CheckboxGroup, FormAlert, Outcome, SelectField, TextAreaField, TextField};
use crate::components::guard::RequireRole;
use crate::domain::doctor::{CURRENCIES, LANGUAGES, SLOT_LENGTHS, SPECIALIZATIONS};
use crate::domain::Role;

/// The doctor's professional profile: completing it puts them in the
/// verification queue; while verified they can pause new bookings.
#[component]
pub fn PracticeProfilePage() -> impl IntoView {
    view! {
        <Title text="Your professional profile"/>
        <RequireRole role=Role::Doctor>
            <PracticeProfile/>
        </RequireRole>
    }
}

#[component]
fn PracticeProfile() -> impl IntoView {
    let save = ServerAction::<SaveDoctorProfile>::new();
    let pause = ServerAction::<SetDoctorAvailable>::new();
    let profile = Resource::new(|| (), |_| my_doctor_profile());
    let saved: Outcome<bool> = Signal::derive(move || save.value().get());
    let paused: Outcome<()> = Signal::derive(move || pause.value().get());
    // Refetch after an act (from an effect, once the form has shown its outcome).
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) || matches!(pause.value().get(), Some(Ok(()))) {
            profile.refetch();
        }
    });
    view! {
        <section class="stack">
            <h1>"Your professional profile"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match profile.await {
                        Ok(current) => view! {
                            <Status current=current.clone() pause paused/>
                            <ProfileForm current save saved/>
                        }.into_any(),
                        Err(e) => crate::pages::public::load_failed(e),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Where verification stands, and the pause switch.
#[component]
fn Status(
    current: Option<DoctorProfileView>,
    pause: ServerAction<SetDoctorAvailable>,
    paused: Outcome<()>,
) -> impl IntoView {
    let Some(current) = current else {
        return view! {
            <p class="alert info" role="status">
                "Complete your profile. An administrator then checks your licence; once verified, patients can "
                "find you and book the times you make available."
            </p>
        }
        .into_any();
    };
    let status = match current.status.as_str() {
        "approved" => {
            view! { <p class="alert success" role="status">"Verified: patients can find and book you."</p> }.into_any()
        }
        "rejected" => view! {
            <div class="alert error" role="status">
                <p><strong>"Not verified yet."</strong> " The reason we were given:"</p>
                <p>{current.rejection_reason.clone().unwrap_or_default()}</p>
                <p>"Correct your profile and save it: it goes back for verification."</p>
            </div>
        }
        .into_any(),
        _ => view! {
            <p class="alert info" role="status">"Waiting for verification by an administrator. We will email you."</p>
        }
        .into_any(),
    };
    let available = current.is_available;
    view! {
        {status}
        <ActionForm action=pause attr:class="cluster">
            <input type="hidden" name="available" value=(!available).to_string()/>
            <p>
                {if available { "You are taking new bookings." } else { "New bookings are paused: you do not appear in search." }}
            </p>
            <button type="submit" class="button secondary">
                {if available { "Pause new bookings" } else { "Resume bookings" }}
            </button>
            <FormAlert outcome=paused/>
        </ActionForm>
    }
    .into_any()
}

fn choices(items: impl IntoIterator<Item = (String, String)>, any: Option<&str>) -> Vec<(String, String)> {
    any.map(|a| (String::new(), a.to_owned())).into_iter().chain(items).collect()
}

#[component]
fn ProfileForm(
    current: Option<DoctorProfileView>,
    save: ServerAction<SaveDoctorProfile>,
    saved: Outcome<bool>,
) -> impl IntoView {
    let p = current.map(|c| c.profile).unwrap_or_else(|| crate::domain::doctor::DoctorProfileInput {
        currency: "USD".into(),
        consultation_types: vec!["video".into(), "audio".into(), "chat".into()],
        slot_minutes: "30".into(),
        buffer_minutes: "5".into(),
        min_notice_hours: "2".into(),
        booking_horizon_days: "60".into(),
        ..Default::default()
    });
    let specializations = choices(SPECIALIZATIONS.iter().map(|s| (s.to_string(), s.to_string())), Some("Choose…"));
    let currencies = choices(CURRENCIES.iter().map(|(c, _)| (c.to_string(), c.to_string())), None);
    let languages: Vec<(String, String)> = LANGUAGES.iter().map(|(t, n)| (t.to_string(), n.to_string())).collect();
    let kinds: Vec<(String, String)> = [("video", "Video"), ("audio", "Audio"), ("chat", "Chat")]
        .iter()
        .map(|(v, l)| (v.to_string(), l.to_string()))
        .collect();
    let lengths: Vec<(String, String)> = SLOT_LENGTHS.iter().map(|m| (m.to_string(), format!("{m} minutes"))).collect();
    let done = move || match saved.get() {
        Some(Ok(true)) => Some("Saved. Your profile is waiting for verification."),
        Some(Ok(false)) => Some("Saved."),
        _ => None,
    };
    view! {
        <ActionForm action=save attr:class="stack narrow" attr:novalidate=true>
            <FormAlert outcome=saved/>
            <h2>"Licence"</h2>
            <TextField name="license_number" form_name="profile[license_number]" label="Licence number"
                value=p.license_number errors=messages_for(saved, "license_number")/>
            <TextField name="license_expires_on" form_name="profile[license_expires_on]" label="Licence valid until"
                kind="date" value=p.license_expires_on errors=messages_for(saved, "license_expires_on")/>
            <h2>"Practice"</h2>
            <SelectField name="specialization" form_name="profile[specialization]" label="Specialization"
                options=specializations selected=p.specialization errors=messages_for(saved, "specialization")/>
            <TextField name="experience_years" form_name="profile[experience_years]" label="Years of experience"
                kind="number" value=p.experience_years errors=messages_for(saved, "experience_years")/>
            <TextField name="qualification" form_name="profile[qualification]" label="Qualifications"
                hint="For example: MBBS, MD (Internal Medicine)."
                value=p.qualification errors=messages_for(saved, "qualification")/>
            <TextAreaField name="bio" form_name="profile[bio]" label="About you (shown to patients)"
                value=p.bio errors=messages_for(saved, "bio")/>
            <CheckboxGroup name="languages" form_name="profile[languages][]" legend="Languages you consult in"
                options=languages checked=p.languages errors=messages_for(saved, "languages")/>
            <h2>"Consultations"</h2>
            <CheckboxGroup name="consultation_types" form_name="profile[consultation_types][]" legend="Ways to consult"
                options=kinds checked=p.consultation_types errors=messages_for(saved, "consultation_types")/>
            <div class="cluster">
                <TextField name="consultation_fee" form_name="profile[consultation_fee]" label="Fee per consultation"
                    value=p.consultation_fee errors=messages_for(saved, "consultation_fee")/>
                <SelectField name="currency" form_name="profile[currency]" label="Currency"
                    options=currencies selected=p.currency errors=messages_for(saved, "currency")/>
            </div>
            <SelectField name="slot_minutes" form_name="profile[slot_minutes]" label="Consultation length"
                options=lengths selected=p.slot_minutes errors=messages_for(saved, "slot_minutes")/>
            <TextField name="buffer_minutes" form_name="profile[buffer_minutes]" label="Break between consultations (minutes)"
                kind="number" value=p.buffer_minutes errors=messages_for(saved, "buffer_minutes")/>
            <TextField name="min_notice_hours" form_name="profile[min_notice_hours]" label="Minimum notice (hours)"
                hint="Patients cannot book a time sooner than this." kind="number"
                value=p.min_notice_hours errors=messages_for(saved, "min_notice_hours")/>
            <TextField name="booking_horizon_days" form_name="profile[booking_horizon_days]" label="Booking horizon (days)"
                hint="How far ahead patients can book." kind="number"
                value=p.booking_horizon_days errors=messages_for(saved, "booking_horizon_days")/>
            <p role="status" class="muted">{done}</p>
            <button type="submit" class="button" disabled=move || save.pending().get()>"Save profile"</button>
        </ActionForm>
    }
}
