use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};

use super::{filter_errors, page_query, query_value, AdminTable, FilterAlert, FilterField, FilterSelect};
use crate::api::admin::{admin_payments, AdminRefund, PaymentLine};
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};
use crate::components::guard::RequireAdmin;

const STATUSES: &[(&str, &str)] = &[
    ("pending", "Pending"),
    ("requires_action", "Awaiting the bank"),
    ("succeeded", "Paid"),
    ("failed", "Failed"),
    ("partially_refunded", "Partly refunded"),
    ("refunded", "Refunded"),
];

/// Every payment, filtered; a paid one can be refunded in full or in part.
#[component]
pub fn AdminPaymentsPage() -> impl IntoView {
    view! {
        <Title text="Payments"/>
        <RequireAdmin>
            <PaymentList/>
        </RequireAdmin>
    }
}

#[component]
fn PaymentList() -> impl IntoView {
    let query = page_query();
    let refunds = RwSignal::new(0u32);
    let done = RwSignal::new(None::<String>);
    let list = Resource::new(move || (query.get(), refunds.get()), |(q, _)| admin_payments(q));
    let (status, currency, q, from, to) =
        (query_value("status"), query_value("currency"), query_value("q"), query_value("from"), query_value("to"));
    view! {
            <section class="stack">
                <h1>"Payments"</h1>
                <p role="status" class="alert success" class:hidden=move || done.get().is_none()>{move || done.get()}</p>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let result = list.await;
                        let e_status = filter_errors(&result, "status");
                        let e_currency = filter_errors(&result, "currency");
                        let e_q = filter_errors(&result, "q");
                        let e_from = filter_errors(&result, "from");
                        let e_to = filter_errors(&result, "to");
                        view! {
                            <Form method="GET" action="/admin/payments" attr:class="cluster filters" attr:role="search">
                                <FilterSelect name="status" label="Status" options=STATUSES.to_vec() value=status() errors=e_status.clone()/>
                                <FilterField name="currency" label="Currency" value=currency() errors=e_currency.clone()/>
                                <FilterField name="q" label="Patient or doctor" kind="search" value=q() errors=e_q.clone()/>
                                <FilterField name="from" label="From" kind="date" value=from() errors=e_from.clone()/>
                                <FilterField name="to" label="To" kind="date" value=to() errors=e_to.clone()/>
                                <button type="submit" class="button">"Filter"</button>
                            </Form>
                            <FilterAlert result=result.clone()/>
                            {match result {
                                Ok(rows) if rows.is_empty() => view! { <p>"No payment matches."</p> }.into_any(),
                                Ok(rows) => view! {
                                    <AdminTable caption="Payments" headers=&["Created (UTC)", "Patient", "Doctor", "Amount", "Refunded", "Status", "Actions"]>
    {rows.into_iter().map(|p| view! { <PaymentRow payment=p refunds done/> }).collect_view()}
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
fn PaymentRow(payment: PaymentLine, refunds: RwSignal<u32>, done: RwSignal<Option<String>>) -> impl IntoView {
    let refund = ServerAction::<AdminRefund>::new();
    let outcome: Outcome<String> = Signal::derive(move || refund.value().get());
    let patient = payment.patient.clone();
    Effect::new(move |_| {
        if let Some(Ok(amount)) = refund.value().get() {
            done.set(Some(format!("Refunded {amount} to {patient}. The act is in the audit trail.")));
            refunds.update(|n| *n += 1);
        }
    });
    let can_refund = payment.refundable.parse::<f64>().is_ok_and(|v| v > 0.0);
    let history = format!("/admin/audit?resource_type=payment&resource_id={}", payment.id);
    let label = format!("Refund {}'s payment", payment.patient);
    let (id, refundable, currency) = (payment.id.to_string(), payment.refundable.clone(), payment.currency.clone());
    view! {
        <tr>
            <td>{payment.created}<br/><span class="muted">{format!("paid {}", payment.paid)}</span></td>
            <td>{payment.patient}<br/><span class="muted">{payment.patient_email}</span></td>
            <td>{payment.doctor}</td>
            <td>{payment.amount}<br/><span class="muted">{payment.method}</span></td>
            <td>{payment.refunded}</td>
            <td>{payment.status}</td>
            <td>
                <A href=history>"Audit history"</A>
                {can_refund.then(|| view! {
                    <details>
                        <summary>{label}</summary>
                        <ActionForm action=refund attr:class="stack">
                            <input type="hidden" name="payment_id" value=id.clone()/>
                            <TextField name="amount" label="Amount to refund" inputmode="decimal" value=refundable id=format!("amount-{id}")
                                hint=if currency == "JPY" { "Whole yen." } else { "Up to what is left; partial refunds are fine." }
                                errors=messages_for(outcome, "amount")/>
                            <TextField name="reason" label="Reason (goes into the audit trail)" id=format!("reason-{id}") errors=messages_for(outcome, "reason")/>
                            <FormAlert outcome/>
                            <button type="submit" class="button danger">"Refund"</button>
                        </ActionForm>
                    </details>
                })}
            </td>
        </tr>
    }
}
