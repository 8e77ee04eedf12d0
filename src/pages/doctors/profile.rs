use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::search::{
    encode_query_value, experience_text, follow_browser_timezone, rating_text, ConsultationTypes, TimezonePicker,
};
use crate::api::doctors::{doctor_details, DaySlots, DoctorCard, DoctorPageView};
use crate::error::AppError;
use crate::pages::public::set_status;

/// A doctor's page: who they are, and every bookable time of the next two
/// weeks by day, in the viewer's timezone.
#[component]
pub fn DoctorPage() -> impl IntoView {
    let params = use_params_map();
    let query = leptos_router::hooks::use_query_map();
    // The browser's timezone, once it turns out to differ from what the server chose.
    let browser_tz = RwSignal::new(None::<String>);
    let details = Resource::new(
        // A zone chosen on the page (`?tz=`) wins over the browser's.
        move || {
            let chosen = query.read().get("tz").filter(|z| !z.trim().is_empty());
            (params.read().get("id").unwrap_or_default(), chosen.or_else(|| browser_tz.get()))
        },
        |(id, tz)| async move {
            match Uuid::parse_str(id.trim()) {
                Ok(id) => doctor_details(id, tz).await,
                Err(_) => Err(AppError::NotFound),
            }
        },
    );
    follow_browser_timezone(browser_tz, move || details.get().and_then(Result::ok).map(|view| view.timezone));

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(view) => view! { <DoctorDetails view/> }.into_any(),
                    Err(AppError::NotFound) => {
                        set_status(404);
                        view! {
                            <Title text="Doctor not found"/>
                            <section class="error-page">
                                <p class="error-code" aria-hidden="true">"404"</p>
                                <h1>"Doctor not found"</h1>
                                <p>"This doctor is not taking bookings on Telehealth, or the link is mistyped."</p>
                                <a class="button" href="/doctors">"Find a doctor"</a>
                            </section>
                        }
                        .into_any()
                    }
                    Err(e) => {
                        set_status(e.status_code());
                        view! {
                            <Title text="Doctor"/>
                            <section class="stack narrow">
                                <h1>"Doctor"</h1>
                                <p class="alert error" role="alert">{e.to_string()}</p>
                                <p><a href="/doctors">"Back to the search"</a></p>
                            </section>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn DoctorDetails(view: DoctorPageView) -> impl IntoView {
    let DoctorPageView { doctor, days, timezone } = view;
    let id = doctor.id;
    let name = doctor.name.clone();
    view! {
        <Title text=name/>
        <article class="stack doctor-page">
            <DoctorProfile doctor/>
            <section class="stack" aria-labelledby="times-heading">
                <h2 id="times-heading">"Available times"</h2>
                <TimezonePicker current=timezone action=format!("/doctors/{id}") keep=Vec::new()/>
                {if days.is_empty() {
                    view! { <p>"No times in the next two weeks."</p> }.into_any()
                } else {
                    view! {
                        <div class="day-list">
                            {days
                                .into_iter()
                                .enumerate()
                                .map(|(index, day)| view! { <Day day index doctor=id/> })
                                .collect_view()}
                        </div>
                    }
                    .into_any()
                }}
            </section>
            <p><a href="/doctors">"Back to the search"</a></p>
        </article>
    }
}

/// Who the doctor is: the card at the top of their page.
#[component]
fn DoctorProfile(doctor: DoctorCard) -> impl IntoView {
    let minutes = doctor.slot_minutes;
    view! {
        <div class="card doctor-profile">
            <h1>{doctor.name}</h1>
            <p class="doctor-specialization">{doctor.specialization}</p>
            {(!doctor.qualification.is_empty()).then(|| view! { <p>{doctor.qualification}</p> })}
            <dl class="doctor-facts">
                {experience_text(doctor.experience_years).map(|e| view! { <div><dt>"Experience"</dt><dd>{e}</dd></div> })}
                <div><dt>"Languages"</dt><dd>{doctor.languages.join(", ")}</dd></div>
                <div>
                    <dt>"Fee"</dt>
                    <dd>{format!("{} per consultation of {minutes} minutes", doctor.fee)}</dd>
                </div>
                <div><dt>"Rating"</dt><dd>{rating_text(&doctor.rating)}</dd></div>
                <div><dt>"Consultations completed"</dt><dd>{doctor.total_consultations}</dd></div>
            </dl>
            <ConsultationTypes types=doctor.consultation_types/>
            {(!doctor.bio.is_empty()).then(|| view! { <p class="doctor-bio">{doctor.bio}</p> })}
        </div>
    }
}

/// One day's times, each a link to book it.
#[component]
fn Day(day: DaySlots, index: usize, doctor: Uuid) -> impl IntoView {
    let heading_id = format!("day-{index}");
    view! {
        <section class="day-slots" aria-labelledby=heading_id.clone()>
            <h3 id=heading_id.clone()>{day.day}</h3>
            <ul class="slot-list" aria-labelledby=heading_id.clone()>
                {day
                    .slots
                    .into_iter()
                    .map(|slot| {
                        let href = format!("/book?doctor={doctor}&start={}", encode_query_value(&slot.starts_at));
                        let name = format!("Book {}", slot.label);
                        view! {
                            <li>
                                <a class="slot-link" href=href aria-label=name>{slot.time}</a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}
