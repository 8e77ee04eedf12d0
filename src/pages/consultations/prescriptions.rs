//! The patient's prescriptions (`/prescriptions`): the current ones, and the
//! history of earlier and superseded versions.

use leptos::prelude::*;
use leptos_meta::Title;

use super::room::PrescriptionCard;
use crate::api::room::my_prescriptions;
use crate::components::guard::RequireRole;
use crate::domain::Role;
use crate::pages::public::set_status;

#[component]
pub fn MyPrescriptionsPage() -> impl IntoView {
    view! {
        <Title text="Your prescriptions"/>
        <RequireRole role=Role::Patient>
            <MyPrescriptions/>
        </RequireRole>
    }
}

#[component]
fn MyPrescriptions() -> impl IntoView {
    let list = Resource::new(|| (), |_| my_prescriptions());
    view! {
        <section class="stack print-area">
            <h1>"Your prescriptions"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(v) => {
                            let current = if v.current.is_empty() {
                                view! { <p class="muted">"You have no current prescriptions."</p> }.into_any()
                            } else {
                                v.current.into_iter().map(|p| view! { <PrescriptionCard p/> }).collect_view().into_any()
                            };
                            let history = (!v.history.is_empty()).then(|| view! {
                                <h2>"History"</h2>
                                <p class="hint">"Earlier versions that a corrected prescription replaced."</p>
                                {v.history.into_iter().map(|p| view! { <PrescriptionCard p/> }).collect_view()}
                            });
                            view! {
                                <h2>"Current"</h2>
                                {current}
                                {history}
                            }
                            .into_any()
                        }
                        Err(e) => {
                            set_status(e.status_code());
                            view! { <p class="alert error" role="alert">{e.to_string()}</p> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}
