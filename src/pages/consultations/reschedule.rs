use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use uuid::Uuid;

use crate::api::consultations::{payment_details, RescheduleConsultation};
use crate::api::doctors::doctor_details;
use crate::components::form::{FormAlert, Outcome};
use crate::components::guard::RequireRole;
use crate::domain::Role;
use crate::error::AppError;
use crate::pages::public::set_status;

/// Move a booked consultation to another free time of the same doctor.
#[component]
pub fn ReschedulePage() -> impl IntoView {
    view! {
        <Title text="Move your consultation"/>
        <RequireRole role=Role::Patient>
            <Reschedule/>
        </RequireRole>
    }
}

#[component]
fn Reschedule() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| Uuid::parse_str(id.trim()).ok());
    let move_to = ServerAction::<RescheduleConsultation>::new();
    let moved: Outcome<()> = Signal::derive(move || move_to.value().get());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let (Some(Ok(())), Some(id)) = (move_to.value().get(), id()) {
            navigate(&format!("/consultations?moved={id}"), Default::default());
        }
    });
    // The consultation, then its doctor's free times (in the patient's timezone).
    let data = Resource::new(id, |id| async move {
        let id = id.ok_or(AppError::NotFound)?;
        let current = payment_details(id).await?.consultation;
        let doctor = doctor_details(current.doctor_id, None).await?;
        Ok::<_, AppError>((id, current, doctor))
    });
    view! {
        <section class="stack">
            <h1>"Move your consultation"</h1>
            <FormAlert outcome=moved/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok((id, current, doctor)) if current.can_reschedule => view! {
                            <p>{format!("With {}, now on {}.", current.doctor_name, current.when)}</p>
                            <p class="muted">{format!("Times are in {}. Your payment stays as it is.", doctor.timezone)}</p>
                            {doctor.days.into_iter().map(|day| {
                                let heading = day.day.clone();
                                view! {
                                    <h2>{heading}</h2>
                                    <ul class="cluster slot-list" aria-label=format!("Free times on {}", day.day)>
                                        {day.slots.into_iter().map(|slot| {
                                            let name = format!("Move to {}", slot.label);
                                            view! {
                                                <li>
                                                    <ActionForm action=move_to attr:class="inline">
                                                        <input type="hidden" name="consultation_id" value=id.to_string()/>
                                                        <input type="hidden" name="starts_at" value=slot.starts_at.clone()/>
                                                        <button type="submit" class="button secondary" aria-label=name>{slot.time.clone()}</button>
                                                    </ActionForm>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }
                            }).collect_view()}
                        }.into_any(),
                        Ok(_) => view! {
                            <p class="alert info">"This consultation can no longer be moved: it is too close to its start, or not booked."</p>
                            <p><a href="/consultations">"Back to your consultations"</a></p>
                        }.into_any(),
                        Err(e) => {
                            set_status(e.status_code());
                            view! { <p class="alert error" role="alert">{e.to_string()}</p> }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
