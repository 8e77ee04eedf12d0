//! Form pieces that show a server function's field errors next to the field.

use leptos::prelude::*;

use crate::error::AppError;

/// The latest result of a server action, as the fields read it.
pub type Outcome<T> = Signal<Option<Result<T, AppError>>>;

/// The messages for `name` in the outcome (empty when fine or not yet sent).
pub fn messages_for<T: Clone + Send + Sync + 'static>(outcome: Outcome<T>, name: &'static str) -> Signal<Vec<String>> {
    Signal::derive(move || match outcome.get() {
        Some(Err(e)) => e.field_messages(name).to_vec(),
        _ => Vec::new(),
    })
}

/// A labelled input. Its error message is tied to it by `aria-describedby`,
/// and `aria-invalid` marks it, so screen readers announce both.
#[component]
pub fn TextField(
    /// The form field's name (and the server function's argument).
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = true)] required: bool,
    errors: Signal<Vec<String>>,
    /// The input's name when it differs from `name` (nested server-function
    /// arguments: `profile[phone]`).
    #[prop(optional)]
    form_name: Option<&'static str>,
    /// The initial value (kept when the form is sent and refused).
    #[prop(optional, into)]
    value: Option<String>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if !errors.get().is_empty() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=form_name.unwrap_or(name)
                type=kind
                value=value
                autocomplete=autocomplete
                required=required
                aria-invalid=move || (!errors.get().is_empty()).then_some("true")
                aria-describedby=described_by
            />
            <Show when=move || !errors.get().is_empty()>
                <p class="field-error" id=error_id.clone()>{move || errors.get().join(" ")}</p>
            </Show>
        </div>
    }
}

/// A message about the whole form (not one field): rate limits, outages.
#[component]
pub fn FormAlert<T: Clone + Send + Sync + 'static>(outcome: Outcome<T>) -> impl IntoView {
    let message = move || match outcome.get() {
        Some(Err(AppError::Validation(_))) | None | Some(Ok(_)) => None,
        Some(Err(e)) => Some(e.to_string()),
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="alert error" role="alert">{message}</p>
        </Show>
    }
}
