use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};

use super::{filter_errors, page_query, query_value, AdminTable, FilterAlert, FilterField, FilterSelect};
use crate::api::admin::admin_consultations;
use crate::components::guard::RequireAdmin;

pub const STATUSES: &[(&str, &str)] = &[
    ("pending_payment", "Awaiting payment"),
    ("scheduled", "Scheduled"),
    ("in_progress", "In progress"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
    ("no_show", "No-show"),
];

/// Every consultation, filtered by status, person and date (newest first).
#[component]
pub fn AdminConsultationsPage() -> impl IntoView {
    view! {
        <Title text="Consultations"/>
        <RequireAdmin>
            <ConsultationList/>
        </RequireAdmin>
    }
}

#[component]
fn ConsultationList() -> impl IntoView {
    let query = page_query();
    let list = Resource::new(move || query.get(), admin_consultations);
    let (status, q, from, to) = (query_value("status"), query_value("q"), query_value("from"), query_value("to"));
    view! {
            <section class="stack">
                <h1>"Consultations"</h1>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let result = list.await;
                        let e_status = filter_errors(&result, "status");
                        let e_q = filter_errors(&result, "q");
                        let e_from = filter_errors(&result, "from");
                        let e_to = filter_errors(&result, "to");
                        view! {
                            <Form method="GET" action="/admin/consultations" attr:class="cluster filters" attr:role="search">
                                <FilterSelect name="status" label="Status" options=STATUSES.to_vec() value=status() errors=e_status.clone()/>
                                <FilterField name="q" label="Patient or doctor" kind="search" value=q() errors=e_q.clone()/>
                                <FilterField name="from" label="From" kind="date" value=from() errors=e_from.clone()/>
                                <FilterField name="to" label="To" kind="date" value=to() errors=e_to.clone()/>
                                <button type="submit" class="button">"Filter"</button>
                            </Form>
                            <FilterAlert result=result.clone()/>
                            {match result {
                                Ok(rows) if rows.is_empty() => view! { <p>"No consultation matches."</p> }.into_any(),
                                Ok(rows) => view! {
                                    <AdminTable caption="Consultations" headers=&["When (UTC)", "Status", "Type", "Patient", "Doctor", "Payment", "History"]>
    {rows.into_iter().map(|c| {
                                                    let history = format!("/admin/audit?resource_type=consultation&resource_id={}", c.id);
                                                    view! {
                                                        <tr>
                                                            <td>{c.when}</td>
                                                            <td>{c.status}</td>
                                                            <td>{c.kind}</td>
                                                            <td>{c.patient}<br/><span class="muted">{c.patient_email}</span></td>
                                                            <td>{c.doctor}</td>
                                                            <td>{c.payment.unwrap_or_else(|| "—".into())}</td>
                                                            <td><A href=history>"Audit history"</A></td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
    </AdminTable>
                                }.into_any(),
                                Err(_) => ().into_any(),
                            }}
                        }
                    })}
                </Transition>
            </section>
        }
}
