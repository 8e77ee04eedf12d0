use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use uuid::Uuid;

use super::{book_href, type_label, OtherFieldErrors};
use crate::api::consultations::{booking_form, BookConsultation, BookingOptions};
use crate::components::form::{messages_for, FormAlert, Outcome, SelectField, TextAreaField};
use crate::components::guard::RequireRole;
use crate::domain::Role;
use crate::error::AppError;
use crate::pages::public::set_status;

/// Booking one of a doctor's times (`/book?doctor=<uuid>&start=<rfc3339>`):
/// the patient chooses how to meet and says why, and the time is held for
/// them while they pay.
#[component]
pub fn BookPage() -> impl IntoView {
    view! {
        <Title text="Book a consultation"/>
        <RequireRole role=Role::Patient>
            <Booking/>
        </RequireRole>
    }
}

#[component]
fn Booking() -> impl IntoView {
    let query = use_query_map();
    let book = ServerAction::<BookConsultation>::new();
    let booked: Outcome<Uuid> = Signal::derive(move || book.value().get());
    let options = Resource::new(
        move || {
            let query = query.read();
            (query.get("doctor").unwrap_or_default(), query.get("start").unwrap_or_default())
        },
        |(doctor, start)| async move {
            match Uuid::parse_str(doctor.trim()) {
                Ok(doctor) if !start.trim().is_empty() => booking_form(doctor, start, None).await,
                _ => Err(AppError::NotFound),
            }
        },
    );
    let navigate = use_navigate();
    Effect::new(move |_| match book.value().get() {
        Some(Ok(id)) => navigate(&format!("/consultations/{id}/pay"), Default::default()),
        // The time was just taken: show what is still free instead.
        Some(Err(AppError::Conflict(_))) => options.refetch(),
        _ => {}
    });
    view! {
        <section class="stack narrow booking">
            <h1>"Book a consultation"</h1>
            <FormAlert outcome=booked/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match options.await {
                        Ok(o) if o.still_free => view! { <BookingForm o book booked/> }.into_any(),
                        Ok(o) => view! { <NoLongerFree o/> }.into_any(),
                        Err(e) => {
                            set_status(e.status_code());
                            let message = match e {
                                AppError::NotFound => {
                                    "We could not find this time. The link may be mistyped.".to_owned()
                                }
                                e => e.to_string(),
                            };
                            view! {
                                <p class="alert error" role="alert">{message}</p>
                                <p><a href="/doctors">"Find a doctor"</a></p>
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// Who, when and how much.
#[component]
fn Summary(o: BookingOptions) -> impl IntoView {
    view! {
        <dl class="facts booking-summary">
            <dt>"Doctor"</dt>
            <dd>{o.doctor_name}</dd>
            <dt>"Specialization"</dt>
            <dd>{o.specialization}</dd>
            <dt>"When"</dt>
            <dd>{o.when}</dd>
            <dt>"Fee"</dt>
            <dd>{o.fee}</dd>
        </dl>
        <p class="muted">{format!("Times are in {}.", o.timezone)}</p>
    }
}

#[component]
fn BookingForm(o: BookingOptions, book: ServerAction<BookConsultation>, booked: Outcome<Uuid>) -> impl IntoView {
    let types: Vec<(String, String)> = o.consultation_types.iter().map(|t| (t.clone(), type_label(t))).collect();
    let first = o.consultation_types.first().cloned().unwrap_or_default();
    let doctor_href = format!("/doctors/{}", o.doctor_id);
    let hold = format!("Hold this time for {} minutes", o.hold_minutes);
    let (doctor_id, starts_at, key) = (o.doctor_id.to_string(), o.starts_at.clone(), o.booking_key.to_string());
    view! {
        <Summary o/>
        <ActionForm action=book attr:class="stack" attr:novalidate=true>
            <input type="hidden" name="doctor_id" value=doctor_id/>
            <input type="hidden" name="starts_at" value=starts_at/>
            <input type="hidden" name="booking_key" value=key/>
            <OtherFieldErrors outcome=booked shown=&["consultation_type", "symptoms"]/>
            <SelectField name="consultation_type" label="Consultation type" options=types selected=first
                errors=messages_for(booked, "consultation_type")/>
            <TextAreaField name="symptoms" label="What would you like to discuss?"
                hint="Your doctor reads this before the consultation." errors=messages_for(booked, "symptoms")/>
            <p class="hint">"You pay on the next page. If you do not pay in time, the time is released."</p>
            <button type="submit" class="button" disabled=move || book.pending().get()>{hold}</button>
        </ActionForm>
        <p><a href=doctor_href>"Choose another time"</a></p>
    }
}

/// The chosen time is gone: say so, and offer the doctor's other times.
#[component]
fn NoLongerFree(o: BookingOptions) -> impl IntoView {
    let doctor = o.doctor_id;
    let doctor_href = format!("/doctors/{doctor}");
    let back = format!("Back to {}'s page", o.doctor_name);
    let alternatives = o.alternatives.clone();
    view! {
        <p class="alert error">
            <strong>"That time is no longer available."</strong>
            " Someone may have just booked it, or it is too soon to book."
        </p>
        <Summary o/>
        <h2>"Other times"</h2>
        {if alternatives.is_empty() {
            view! { <p>"No other times in the next two weeks."</p> }.into_any()
        } else {
            view! {
                <ul class="slot-list" aria-label="Other times you can book">
                    {alternatives
                        .into_iter()
                        .map(|slot| {
                            let name = format!("Book {}", slot.label);
                            view! {
                                <li>
                                    <a class="slot-link" href=book_href(doctor, &slot.starts_at) aria-label=name>
                                        {slot.label}
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any()
        }}
        <p><a href=doctor_href>{back}</a></p>
    }
}
