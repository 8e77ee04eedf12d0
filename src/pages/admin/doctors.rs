use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::doctors::{admin_doctor_queue, AdminReviewDoctor, QueuedDoctor};
use crate::components::form::{FormAlert, Outcome};
use crate::components::guard::RequireAdmin;

/// Doctors waiting for their licence to be verified: approve, or reject with a reason.
#[component]
pub fn AdminDoctorsPage() -> impl IntoView {
    view! {
        <Title text="Doctors to verify"/>
        <RequireAdmin>
            <Queue/>
        </RequireAdmin>
    }
}

#[component]
fn Queue() -> impl IntoView {
    let review = ServerAction::<AdminReviewDoctor>::new();
    let outcome: Outcome<()> = Signal::derive(move || review.value().get());
    let queue = Resource::new(|| (), |_| admin_doctor_queue());
    Effect::new(move |_| {
        if matches!(review.value().get(), Some(Ok(()))) {
            queue.refetch();
        }
    });
    let done = move || matches!(outcome.get(), Some(Ok(()))).then_some("Done: the doctor has been emailed.");
    view! {
        <section class="stack">
            <h1>"Doctors to verify"</h1>
            <p>"Check each licence with the issuing authority before you approve it. Oldest first."</p>
            <FormAlert outcome/>
            <p role="status" class="muted">{done}</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match queue.await {
                        Ok(list) if list.is_empty() => view! { <p>"Nobody is waiting."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="stack" aria-label="Doctors waiting for verification">
                                {list.into_iter().map(|d| view! { <Candidate d review outcome/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => crate::pages::public::load_failed(e),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Candidate(d: QueuedDoctor, review: ServerAction<AdminReviewDoctor>, outcome: Outcome<()>) -> impl IntoView {
    let id = d.id.to_string();
    let reason_id = format!("reject-reason-{id}");
    let reject_id = id.clone();
    let approve_label = format!("Approve {}", d.name);
    let reject_label = format!("Reject {}", d.name);
    let reason_label = format!("Reason to reject {} (sent to them)", d.name);
    let reason_error = move || outcome.get().and_then(|o| o.err()).map(|e| e.field_messages("reason").join(" "));
    view! {
        <li class="card stack">
            <h2>{d.name.clone()}</h2>
            <dl class="facts">
                <dt>"Email"</dt><dd>{d.email.clone()} {(!d.is_email_verified).then_some(" (not confirmed yet)")}</dd>
                <dt>"Licence"</dt><dd>{d.license_number.clone()} ", valid until " {d.license_expires_on.clone()}</dd>
                <dt>"Specialization"</dt><dd>{d.specialization.clone()}</dd>
                <dt>"Experience"</dt><dd>{d.experience_years.map(|y| format!("{y} years")).unwrap_or_default()}</dd>
                <dt>"Qualifications"</dt><dd>{d.qualification.clone()}</dd>
                <dt>"Languages"</dt><dd>{d.languages.join(", ")}</dd>
                <dt>"Fee"</dt><dd>{d.fee.clone()}</dd>
                <dt>"Consults by"</dt><dd>{d.consultation_types.join(", ")}</dd>
                <dt>"Submitted"</dt><dd>{d.submitted.clone()}</dd>
            </dl>
            {(!d.bio.is_empty()).then(|| view! { <p>{d.bio.clone()}</p> })}
            <div class="cluster">
                <ActionForm action=review attr:class="inline">
                    <input type="hidden" name="doctor_id" value=id/>
                    <input type="hidden" name="approve" value="true"/>
                    <input type="hidden" name="reason" value=""/>
                    <button type="submit" class="button" aria-label=approve_label>"Approve"</button>
                </ActionForm>
            </div>
            <ActionForm action=review attr:class="stack">
                <input type="hidden" name="doctor_id" value=reject_id/>
                <input type="hidden" name="approve" value="false"/>
                <div class="field">
                    <label for=reason_id.clone()>{reason_label}</label>
                    <textarea id=reason_id.clone() name="reason" rows="2"></textarea>
                    <p class="field-error">{reason_error}</p>
                </div>
                <button type="submit" class="button danger" aria-label=reject_label>"Reject"</button>
            </ActionForm>
        </li>
    }
}
