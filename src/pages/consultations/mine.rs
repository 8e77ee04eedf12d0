use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{payment_label, status_label, type_label, CancelForm, CancelOutcome};
use crate::api::consultations::{my_consultations, CancelConsultation, ConsultationItem, MyConsultationsView};
use crate::components::form::Outcome;
use crate::components::guard::RequireRole;
use crate::domain::Role;

/// The patient's consultations: upcoming, then past; pay for a held one,
/// cancel a booked one.
#[component]
pub fn MyConsultationsPage() -> impl IntoView {
    view! {
        <Title text="Your consultations"/>
        <RequireRole role=Role::Patient>
            <MyConsultations/>
        </RequireRole>
    }
}

#[component]
fn MyConsultations() -> impl IntoView {
    let query = use_query_map();
    let cancel = ServerAction::<CancelConsultation>::new();
    let cancelled: Outcome<Option<String>> = Signal::derive(move || cancel.value().get());
    let list = Resource::new(|| (), |_| my_consultations());
    Effect::new(move |_| {
        if matches!(cancel.value().get(), Some(Ok(_))) {
            list.refetch();
        }
    });
    let just_paid = move || query.read().get("paid").is_some_and(|id| !id.trim().is_empty());
    let just_moved = move || query.read().get("moved").is_some_and(|id| !id.trim().is_empty());
    view! {
        <section class="stack consultations">
            <h1>"Your consultations"</h1>
            <Show when=just_paid>
                <p class="alert success" role="status">"Payment received: your consultation is booked."</p>
            </Show>
            <Show when=just_moved>
                <p class="alert success" role="status">"Moved: your consultation is at its new time, and your payment stays as it is."</p>
            </Show>
            <CancelOutcome outcome=cancelled/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(view) => view! { <Lists view cancel/> }.into_any(),
                        Err(e) => crate::pages::public::load_failed(e),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Lists(view: MyConsultationsView, cancel: ServerAction<CancelConsultation>) -> impl IntoView {
    let MyConsultationsView { timezone, upcoming, past } = view;
    view! {
        <p class="muted">{format!("Times are in {timezone}.")}</p>
        <section class="stack" aria-labelledby="upcoming-heading">
            <h2 id="upcoming-heading">"Upcoming"</h2>
            {if upcoming.is_empty() {
                view! {
                    <p>"No upcoming consultations. " <a href="/doctors">"Find a doctor"</a> " to book one."</p>
                }
                .into_any()
            } else {
                view! {
                    <ul class="grid-cards consultation-list" aria-labelledby="upcoming-heading">
                        {upcoming.into_iter().map(|c| view! { <Consultation c cancel/> }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
        <section class="stack" aria-labelledby="past-heading">
            <h2 id="past-heading">"Past"</h2>
            {if past.is_empty() {
                view! { <p>"No past consultations."</p> }.into_any()
            } else {
                view! {
                    <ul class="grid-cards consultation-list" aria-labelledby="past-heading">
                        {past.into_iter().map(|c| view! { <Consultation c cancel/> }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

/// One consultation as a card.
#[component]
fn Consultation(c: ConsultationItem, cancel: ServerAction<CancelConsultation>) -> impl IntoView {
    let doctor_href = format!("/doctors/{}", c.doctor_id);
    let payment = payment_label(&c.payment_status, c.refunded.as_deref());
    let pay = c.can_pay.then(|| {
        let href = format!("/consultations/{}/pay", c.id);
        let name = format!("Pay now for the consultation with {} on {}", c.doctor_name, c.when);
        let held = c.hold_until.clone().map(|until| view! { <p>{format!("This time is held until {until}.")}</p> });
        view! {
            {held}
            <a class="button" href=href aria-label=name>"Pay now"</a>
        }
    });
    let cancel_form = c.can_cancel.then(|| {
        let label = format!("Cancel the consultation with {} on {}", c.doctor_name, c.when);
        let note = c.refund_if_cancelled.clone().map(|refund| format!("Cancelling now refunds {refund}."));
        view! { <CancelForm action=cancel id=c.id label note/> }
    });
    let (move_href, move_name) = (
        format!("/consultations/{}/move", c.id),
        format!("Move the consultation with {} on {}", c.doctor_name, c.when),
    );
    let move_link = c
        .can_reschedule
        .then(|| view! { <a class="button secondary" href=move_href aria-label=move_name>"Move to another time"</a> });
    let room = c.room.clone().map(|text| {
        let href = format!("/consultations/{}/room", c.id);
        let name = format!("{text}: consultation with {} on {}", c.doctor_name, c.when);
        view! { <a class="button" href=href aria-label=name>{text}</a> }
    });
    let actions = (c.can_pay || c.can_cancel || c.can_reschedule || c.room.is_some())
        .then(|| view! { <div class="stack consultation-actions">{room}{pay}{move_link}{cancel_form}</div> });
    view! {
        <li class="card consultation-card">
            <h3><a href=doctor_href>{c.doctor_name.clone()}</a></h3>
            <p class="doctor-specialization">{c.specialization.clone()}</p>
            <dl class="doctor-facts">
                <div><dt>"When"</dt><dd>{c.when.clone()}</dd></div>
                <div><dt>"Type"</dt><dd>{type_label(&c.consultation_type)}</dd></div>
                <div><dt>"Status"</dt><dd>{status_label(&c.status)}</dd></div>
                <div><dt>"Fee"</dt><dd>{c.amount.clone()}</dd></div>
                <div><dt>"Payment"</dt><dd>{payment}</dd></div>
            </dl>
            {actions}
        </li>
    }
}
