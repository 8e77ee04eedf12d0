use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};

use super::{filter_errors, page_query, query_value, AdminTable, FilterAlert, FilterField};
use crate::api::admin::{admin_audit, AuditLine};
use crate::components::guard::RequireAdmin;

/// The audit trail: filter by account, action, resource and dates; page
/// back through it; download the filtered set as CSV.
#[component]
pub fn AdminAuditPage() -> impl IntoView {
    view! {
        <Title text="Audit trail"/>
        <RequireAdmin>
            <AuditView/>
        </RequireAdmin>
    }
}

#[component]
fn AuditView() -> impl IntoView {
    let query = page_query();
    let page = Resource::new(move || query.get(), admin_audit);
    let user = query_value("user");
    let action = query_value("action");
    let resource_type = query_value("resource_type");
    let resource_id = query_value("resource_id");
    let (from, to) = (query_value("from"), query_value("to"));
    view! {
            <section class="stack">
                <h1>"Audit trail"</h1>
                <p class="muted">"Newest first. Times are UTC. Every entry is sealed into the daily hash chain; "
                    <code>"telehealth audit verify"</code>" proves that none was altered, removed or slipped in."</p>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let result = page.await;
                        let e_user = filter_errors(&result, "user");
                        let e_action = filter_errors(&result, "action");
                        let e_resource_type = filter_errors(&result, "resource_type");
                        let e_resource_id = filter_errors(&result, "resource_id");
                        let e_from = filter_errors(&result, "from");
                        let e_to = filter_errors(&result, "to");
                        view! {
                            <Form method="GET" action="/admin/audit" attr:class="cluster filters" attr:role="search">
                                <FilterField name="user" label="Account (email or id)" value=user() errors=e_user.clone()/>
                                <FilterField name="action" label="Action" value=action() errors=e_action.clone()/>
                                <FilterField name="resource_type" label="Resource type" value=resource_type() errors=e_resource_type.clone()/>
                                <FilterField name="resource_id" label="Resource id" value=resource_id() errors=e_resource_id.clone()/>
                                <FilterField name="from" label="From" kind="date" value=from() errors=e_from.clone()/>
                                <FilterField name="to" label="To" kind="date" value=to() errors=e_to.clone()/>
                                <button type="submit" class="button">"Filter"</button>
                            </Form>
                            <FilterAlert result=result.clone()/>
                            {result.ok().map(|p| {
                                let csv = format!("/admin/audit.csv?{}", p.query);
                                let older = p.next.map(|n| {
                                    let sep = if p.query.is_empty() { "" } else { "&" };
                                    format!("/admin/audit?{}{sep}before={n}", p.query)
                                });
                                view! {
                                    <p class="cluster">
                                        <a href=csv download="" rel="external" class="button secondary">"Download these entries as CSV"</a>
                                    </p>
                                    {if p.rows.is_empty() {
                                        view! { <p>"No entry matches."</p> }.into_any()
                                    } else {
                                        view! {
                                            <AdminTable caption="Audit entries" headers=&["When", "Who", "Action", "Resource", "Details", "From"] class="audit">
    {p.rows.into_iter().map(|row| view! { <AuditRow row/> }).collect_view()}
    </AdminTable>
                                        }.into_any()
                                    }}
                                    {older.map(|href| view! { <p><A href=href>"Older entries"</A></p> })}
                                }
                            })}
                        }
                    })}
                </Transition>
            </section>
        }
}

#[component]
fn AuditRow(row: AuditLine) -> impl IntoView {
    let who = row.user_id.map(|id| format!("/admin/audit?user={id}"));
    let history =
        row.resource_id.map(|id| format!("/admin/audit?resource_type={}&resource_id={id}", row.resource_type));
    let resource = match row.resource_id {
        Some(id) => format!("{} {}", row.resource_type, &id.to_string()[..8]),
        None => row.resource_type.clone(),
    };
    view! {
        <tr>
            <td>{row.at}</td>
            <td>{match who {
                Some(href) => view! { <A href=href>{row.user}</A> }.into_any(),
                None => view! { <span>{row.user}</span> }.into_any(),
            }}</td>
            <td><code>{row.action}</code></td>
            <td>{match history {
                Some(href) => view! { <A href=href attr:title="This resource's whole history">{resource}</A> }.into_any(),
                None => view! { <span>{resource}</span> }.into_any(),
            }}</td>
            <td><code class="details">{row.details}</code></td>
            <td>{row.ip}</td>
        </tr>
    }
}
