use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use uuid::Uuid;

use super::{status_label, type_label, OtherFieldErrors};
use crate::api::consultations::{payment_details, ConsultationItem, PayConsultation, PaymentView};
use crate::components::form::{messages_for, FormAlert, Outcome, TextField};
use crate::components::guard::RequireRole;
use crate::domain::Role;
use crate::error::AppError;
use crate::pages::public::set_status;

/// Paying for a held consultation by card (`/consultations/:id/pay`).
#[component]
pub fn PayPage() -> impl IntoView {
    view! {
        <Title text="Pay for your consultation"/>
        <RequireRole role=Role::Patient>
            <Payment/>
        </RequireRole>
    }
}

#[component]
fn Payment() -> impl IntoView {
    let params = use_params_map();
    let pay = ServerAction::<PayConsultation>::new();
    let paid: Outcome<()> = Signal::derive(move || pay.value().get());
    let view_of = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        |id| async move {
            match Uuid::parse_str(id.trim()) {
                Ok(id) => payment_details(id).await,
                Err(_) => Err(AppError::NotFound),
            }
        },
    );
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(pay.value().get(), Some(Ok(()))) {
            let id = params.read_untracked().get("id").unwrap_or_default();
            navigate(&format!("/consultations?paid={}", super::query_value(&id)), Default::default());
        }
    });
    view! {
        <section class="stack narrow payment">
            <h1>"Pay for your consultation"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match view_of.await {
                        Ok(v) => view! { <PaymentDetails v pay paid/> }.into_any(),
                        Err(e) => {
                            set_status(e.status_code());
                            let message = match e {
                                AppError::NotFound => "We could not find this consultation.".to_owned(),
                                e => e.to_string(),
                            };
                            view! {
                                <p class="alert error" role="alert">{message}</p>
                                <p><a href="/consultations">"Your consultations"</a></p>
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// Why a consultation cannot be paid (any more).
fn not_payable_text(c: &ConsultationItem) -> String {
    match (c.status.as_str(), c.payment_status.as_str()) {
        ("cancelled", _) => "This consultation was cancelled, so there is nothing to pay.".to_owned(),
        (_, "succeeded") | ("scheduled" | "in_progress" | "completed", _) => {
            "This consultation is already paid.".to_owned()
        }
        (status, _) => format!("This consultation cannot be paid now ({}).", status_label(status).to_lowercase()),
    }
}

#[component]
fn PaymentDetails(v: PaymentView, pay: ServerAction<PayConsultation>, paid: Outcome<()>) -> impl IntoView {
    let PaymentView { consultation: c, gateway, test_cards } = v;
    let facts = view! {
        <dl class="facts">
            <dt>"Doctor"</dt>
            <dd>{c.doctor_name.clone()}</dd>
            <dt>"Specialization"</dt>
            <dd>{c.specialization.clone()}</dd>
            <dt>"When"</dt>
            <dd>{c.when.clone()}</dd>
            <dt>"Type"</dt>
            <dd>{type_label(&c.consultation_type)}</dd>
            <dt>"Amount"</dt>
            <dd>{c.amount.clone()}</dd>
        </dl>
    };
    if !c.can_pay {
        return view! {
            {facts}
            <p class="alert info">{not_payable_text(&c)}</p>
            <p><a href="/consultations">"Your consultations"</a></p>
        }
        .into_any();
    }
    let hold = c.hold_until.clone().map(|until| {
        view! { <p class="alert info">{format!("We hold this time for you until {until}.")}</p> }
    });
    let button = format!("Pay {}", c.amount);
    let sandbox = (gateway == "sandbox").then(|| view! { <TestCards cards=test_cards/> });
    view! {
        {facts}
        {hold}
        <ActionForm action=pay attr:class="stack card-form" attr:novalidate=true>
            <FormAlert outcome=paid/>
            <OtherFieldErrors outcome=paid shown=&["card_number", "expiry", "cvc"]/>
            <input type="hidden" name="consultation_id" value=c.id.to_string()/>
            <TextField name="card_number" label="Card number" autocomplete="cc-number" inputmode="numeric" spellcheck=false
                errors=messages_for(paid, "card_number")/>
            <div class="cluster card-extra">
                <TextField name="expiry" label="Expiry (MM/YY)" autocomplete="cc-exp" spellcheck=false
                    errors=messages_for(paid, "expiry")/>
                <TextField name="cvc" label="Security code" autocomplete="cc-csc" inputmode="numeric" spellcheck=false
                    hint="3 or 4 digits, on the back of the card." errors=messages_for(paid, "cvc")/>
            </div>
            <button type="submit" class="button" disabled=move || pay.pending().get()>{button}</button>
        </ActionForm>
        {sandbox}
        <p><a href="/consultations">"Pay later: your consultations"</a></p>
    }
    .into_any()
}

/// The sandbox's test cards and what each one does.
#[component]
fn TestCards(cards: Vec<(String, String)>) -> impl IntoView {
    view! {
        <div class="test-cards stack">
            <div class="table-wrap">
                <table>
                    <caption>"Test cards"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Card number"</th>
                            <th scope="col">"What it does"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {cards
                            .into_iter()
                            .map(|(number, effect)| view! {
                                <tr>
                                    <td><code>{number}</code></td>
                                    <td>{effect}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <p class="hint">
                "This is a test payment system: no real money moves. Use any future expiry date and any 3 digits."
            </p>
        </div>
    }
}
