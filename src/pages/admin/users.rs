use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

use super::{filter_errors, page_query, query_value, AdminTable, FilterAlert, FilterField, FilterSelect};
use crate::api::admin::{admin_users, AdminResetMfa, AdminSetActive, UserRow};
use crate::components::form::{FormAlert, Outcome};
use crate::components::guard::RequireAdmin;

/// Find accounts; deactivate or reactivate them; reset their two-step verification.
#[component]
pub fn AdminUsersPage() -> impl IntoView {
    view! {
        <Title text="Users"/>
        <RequireAdmin>
            <UserAdmin/>
        </RequireAdmin>
    }
}

const ROLES: &[(&str, &str)] = &[("patient", "Patients"), ("doctor", "Doctors"), ("admin", "Administrators")];
const STATUSES: &[(&str, &str)] =
    &[("active", "Active"), ("deactivated", "Deactivated"), ("unconfirmed", "Email not confirmed")];

#[component]
fn UserAdmin() -> impl IntoView {
    let (query, role, status) = (query_value("q"), query_value("role"), query_value("status"));
    let reset = ServerAction::<AdminResetMfa>::new();
    let set_active = ServerAction::<AdminSetActive>::new();
    let search = page_query();
    let users = Resource::new(
        move || (search.get(), reset.version().get(), set_active.version().get()),
        |(search, _, _)| admin_users(search),
    );
    let reset_outcome: Outcome<()> = Signal::derive(move || reset.value().get());
    let active_outcome: Outcome<()> = Signal::derive(move || set_active.value().get());
    let done = move || {
        let ok = |o: Option<Result<(), _>>| matches!(o, Some(Ok(())));
        (ok(reset_outcome.get()) || ok(active_outcome.get())).then_some("Done. The act is in the audit trail.")
    };
    view! {
            <section class="stack">
                <h1>"Users"</h1>
                <FormAlert outcome=reset_outcome/>
                <FormAlert outcome=active_outcome/>
                <p role="status" class="muted">{done}</p>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let result = users.await;
                        let (e_q, e_role, e_status) =
                            (filter_errors(&result, "q"), filter_errors(&result, "role"), filter_errors(&result, "status"));
                        view! {
                            <Form method="GET" action="/admin/users" attr:class="cluster filters" attr:role="search">
                                <FilterField name="q" label="Email or name" kind="search" value=query() errors=e_q/>
                                <FilterSelect name="role" label="Role" options=ROLES.to_vec() value=role() errors=e_role/>
                                <FilterSelect name="status" label="Status" options=STATUSES.to_vec() value=status() errors=e_status/>
                                <button type="submit" class="button">"Search"</button>
                            </Form>
                            <FilterAlert result=result.clone()/>
                            {match result {
                                Ok(list) if list.is_empty() => view! { <p>"No account matches."</p> }.into_any(),
                                Ok(list) => view! {
                                    <AdminTable caption="Accounts" headers=&["Name", "Email", "Role", "Status", "Two-step", "Last sign-in", "Actions"]>
    {list.into_iter().map(|u| view! { <UserLine user=u reset set_active/> }).collect_view()}
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

#[component]
fn UserLine(
    user: UserRow,
    reset: ServerAction<AdminResetMfa>,
    set_active: ServerAction<AdminSetActive>,
) -> impl IntoView {
    let id = user.id.to_string();
    let reset_id = id.clone();
    let reason_mfa = format!("mfa-reason-{id}");
    let reason_active = format!("active-reason-{id}");
    let (status, verb, next) =
        if user.is_active { ("Active", "Deactivate", "false") } else { ("Deactivated", "Reactivate", "true") };
    view! {
        <tr>
            <td>{user.name.clone()}</td>
            <td>{user.email.clone()}</td>
            <td>{user.role.as_str()}</td>
            <td>{status} {(!user.is_email_verified).then_some(" · email unconfirmed")}</td>
            <td>{if user.mfa_enabled { "on" } else { "off" }}</td>
            <td>{user.last_login.clone()}</td>
            <td>
                <details>
                    <summary>{format!("Manage {}", user.name)}</summary>
                    <div class="stack">
                        {user.mfa_enabled.then(|| view! {
                            <ActionForm action=reset attr:class="stack">
                                <input type="hidden" name="user_id" value=reset_id.clone()/>
                                <div class="field">
                                    <label for=reason_mfa.clone()>"Reason for the two-step reset"</label>
                                    <input id=reason_mfa.clone() name="reason" required=true maxlength="500"/>
                                </div>
                                <button type="submit" class="button secondary">"Reset two-step verification"</button>
                            </ActionForm>
                        })}
                        <ActionForm action=set_active attr:class="stack">
                            <input type="hidden" name="user_id" value=id.clone()/>
                            <input type="hidden" name="active" value=next/>
                            <div class="field">
                                <label for=reason_active.clone()>{format!("Reason to {}", verb.to_lowercase())}</label>
                                <input id=reason_active.clone() name="reason" required=true maxlength="500"/>
                            </div>
                            <button type="submit" class=if user.is_active { "button danger" } else { "button secondary" }>
                                {verb}
                            </button>
                        </ActionForm>
                    </div>
                </details>
            </td>
        </tr>
    }
}
