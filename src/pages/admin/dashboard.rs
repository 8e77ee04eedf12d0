use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};

use super::{filter_errors, page_query, query_value, FilterAlert, FilterField};
use crate::api::admin::admin_dashboard;
use crate::components::chart::BarChart;
use crate::components::guard::RequireAdmin;

/// Key figures and charts over a range of days (UTC), drawn on the server.
#[component]
pub fn AdminDashboardPage() -> impl IntoView {
    view! {
        <Title text="Dashboard"/>
        <RequireAdmin>
            <DashboardView/>
        </RequireAdmin>
    }
}

#[component]
fn DashboardView() -> impl IntoView {
    let query = page_query();
    let dashboard = Resource::new(move || query.get(), admin_dashboard);
    let (from, to) = (query_value("from"), query_value("to"));
    view! {
        <section class="stack">
            <h1>"Dashboard"</h1>
            <nav aria-label="Administration" class="cluster">
                <A href="/admin/consultations">"Consultations"</A>
                <A href="/admin/payments">"Payments"</A>
                <A href="/admin/audit">"Audit trail"</A>
                <A href="/admin/users">"Users"</A>
                <A href="/admin/doctors">"Verify doctors"</A>
            </nav>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let result = dashboard.await;
                    let e_from = filter_errors(&result, "from");
                    let e_to = filter_errors(&result, "to");
                    let range = result.as_ref().ok().map(|d| format!("From {} to {} (UTC days)", d.from, d.to));
                    view! {
                        <Form method="GET" action="/admin" attr:class="cluster filters" attr:role="search">
                            <FilterField name="from" label="From" kind="date" value=from() errors=e_from.clone()/>
                            <FilterField name="to" label="To" kind="date" value=to() errors=e_to.clone()/>
                            <button type="submit" class="button">"Show"</button>
                        </Form>
                        <FilterAlert result=result.clone()/>
                        {range.map(|r| view! { <p class="muted">{r}</p> })}
                        {result.ok().map(|d| view! {
                            <ul class="figures">
                                {d.figures.into_iter().map(|f| view! {
                                    <li class="figure">
                                        <span class="figure-label">{f.label}</span>
                                        <span class="figure-value">{f.value}</span>
                                        {f.note.map(|n| view! { <span class="figure-note muted">{n}</span> })}
                                    </li>
                                }).collect_view()}
                            </ul>
                            <div class="charts">
                                {d.charts.into_iter().map(|data| view! { <BarChart data/> }).collect_view()}
                            </div>
                        })}
                    }
                })}
            </Transition>
        </section>
    }
}
