use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{query_value, status_label, type_label, CancelForm, CancelOutcome};
use crate::api::consultations::{doctor_agenda, AgendaDay, AgendaItem, AgendaView, CancelConsultation};
use crate::components::form::Outcome;
use crate::components::guard::RequireRole;
use crate::domain::Role;

/// The doctor's consultations for a day or a week
/// (`/doctor/schedule?view=day|week&date=YYYY-MM-DD`), in their timezone.
#[component]
pub fn AgendaPage() -> impl IntoView {
    view! {
        <Title text="Your schedule"/>
        <RequireRole role=Role::Doctor>
            <Agenda/>
        </RequireRole>
    }
}

/// A query value, or None when absent or blank.
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The schedule's URL for a view and a first day.
fn schedule_href(view: &str, date: &str) -> String {
    format!("/doctor/schedule?view={}&date={}", query_value(view), query_value(date))
}

#[component]
fn Agenda() -> impl IntoView {
    let query = use_query_map();
    let cancel = ServerAction::<CancelConsultation>::new();
    let cancelled: Outcome<Option<String>> = Signal::derive(move || cancel.value().get());
    let agenda = Resource::new(
        move || {
            let query = query.read();
            (given(query.get("view")), given(query.get("date")))
        },
        |(view, date)| doctor_agenda(view, date),
    );
    Effect::new(move |_| {
        if matches!(cancel.value().get(), Some(Ok(_))) {
            agenda.refetch();
        }
    });
    view! {
        <section class="stack agenda">
            <h1>"Your schedule"</h1>
            <CancelOutcome outcome=cancelled/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match agenda.await {
                        Ok(a) => view! { <AgendaBody a cancel/> }.into_any(),
                        Err(e) => view! {
                            <p class="alert error" role="alert">{e.to_string()}</p>
                            <p><a href="/doctor/profile">"Your professional profile"</a></p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AgendaBody(a: AgendaView, cancel: ServerAction<CancelConsultation>) -> impl IntoView {
    let AgendaView { timezone, view, date, previous, next, days } = a;
    let current = |which: &str| (view == which).then_some("page");
    let (day_current, week_current) = (current("day"), current("week"));
    let week = days.len() > 1;
    let today = format!("/doctor/schedule?view={}", query_value(&view));
    view! {
        <nav class="agenda-nav" aria-label="Schedule pages">
            <ul class="cluster agenda-views">
                <li>
                    <a class="button secondary" href=schedule_href("day", &date) aria-current=day_current>"Day"</a>
                </li>
                <li>
                    <a class="button secondary" href=schedule_href("week", &date) aria-current=week_current>"Week"</a>
                </li>
            </ul>
            <ul class="cluster agenda-pages">
                <li><a class="button secondary" href=schedule_href(&view, &previous) rel="prev">"Previous"</a></li>
                <li><a class="button ghost" href=today>"Today"</a></li>
                <li><a class="button secondary" href=schedule_href(&view, &next) rel="next">"Next"</a></li>
            </ul>
        </nav>
        <p class="muted">{format!("Times are in {timezone}.")}</p>
        {if days.is_empty() {
            view! { <p>"Nothing booked."</p> }.into_any()
        } else {
            days.into_iter().map(|day| view! { <Day day cancel week/> }).collect_view().into_any()
        }}
    }
}

/// One day: its heading, then its consultations.
#[component]
fn Day(day: AgendaDay, cancel: ServerAction<CancelConsultation>, week: bool) -> impl IntoView {
    let heading_id = format!("day-{}", day.date);
    let AgendaDay { day: name, items, .. } = day;
    let list = if items.is_empty() {
        view! { <p class="muted">"Nothing booked"</p> }.into_any()
    } else {
        let on = week.then(|| name.clone());
        view! {
            <ul class="stack agenda-list" aria-labelledby=heading_id.clone()>
                {items.into_iter().map(|item| view! { <Item item cancel on=on.clone()/> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section class="stack agenda-day" aria-labelledby=heading_id.clone()>
            <h2 id=heading_id.clone()>{name.clone()}</h2>
            {list}
        </section>
    }
}

/// One consultation; a booked one can be cancelled. `on` names the day
/// when the page shows several (so each Cancel button has its own name).
#[component]
fn Item(item: AgendaItem, cancel: ServerAction<CancelConsultation>, on: Option<String>) -> impl IntoView {
    let mut label = format!("Cancel the consultation with {} at {}", item.patient_name, item.time);
    if let Some(day) = on {
        label.push_str(&format!(" on {day}"));
    }
    let cancel_form = (item.status == "scheduled").then(|| {
        let note = Some("Cancelling refunds the patient in full.".to_owned());
        view! { <CancelForm action=cancel id=item.id label note/> }
    });
    let symptoms = if item.symptoms.trim().is_empty() {
        view! { <p class="muted">"The patient did not say what they want to discuss."</p> }.into_any()
    } else {
        view! { <p class="symptoms">{item.symptoms.clone()}</p> }.into_any()
    };
    let room = item.room.clone().map(|text| {
        let href = format!("/consultations/{}/room", item.id);
        let name = format!("{text}: consultation with {} at {}", item.patient_name, item.time);
        view! { <a class="button" href=href aria-label=name>{text}</a> }
    });
    view! {
        <li class="card agenda-item">
            <p class="agenda-when">
                <strong class="agenda-time">{item.time.clone()}</strong>
                " "
                <span class="agenda-patient">{item.patient_name.clone()}</span>
            </p>
            <dl class="doctor-facts">
                <div><dt>"Type"</dt><dd>{type_label(&item.consultation_type)}</dd></div>
                <div><dt>"Status"</dt><dd>{status_label(&item.status)}</dd></div>
            </dl>
            {symptoms}
            {room}
            {cancel_form}
        </li>
    }
}
