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
    /// The keyboard phones should show ("numeric", "decimal").
    #[prop(optional)]
    inputmode: Option<&'static str>,
    /// False for codes and card numbers.
    #[prop(optional)]
    spellcheck: Option<bool>,
    errors: Signal<Vec<String>>,
    /// The input's name when it differs from `name` (nested server-function
    /// arguments: `profile[phone]`).
    #[prop(optional)]
    form_name: Option<&'static str>,
    /// The initial value (kept when the form is sent and refused).
    #[prop(optional, into)]
    value: Option<String>,
    /// The element id when the same form appears more than once on a page.
    #[prop(optional, into)]
    id: Option<String>,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| format!("field-{name}"));
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = described_by(&id, hint.is_some(), errors);
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
                inputmode=inputmode
                spellcheck=spellcheck.map(|s| s.to_string())
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

/// The ids that describe a field: its hint and, when there are messages, its error.
fn described_by(
    id: &str,
    hint: bool,
    errors: Signal<Vec<String>>,
) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    let (hint_id, error_id) = (format!("{id}-hint"), format!("{id}-error"));
    move || {
        let mut ids = Vec::new();
        if hint {
            ids.push(hint_id.clone());
        }
        if !errors.get().is_empty() {
            ids.push(error_id.clone());
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// The hint under a label and the messages under a field.
#[component]
fn FieldNotes(id: String, hint: Option<&'static str>, errors: Signal<Vec<String>>) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        {hint.map(|h| view! { <p class="hint" id=format!("{id}-hint")>{h}</p> })}
        <Show when=move || !errors.get().is_empty()>
            <p class="field-error" id=error_id.clone()>{move || errors.get().join(" ")}</p>
        </Show>
    }
}

/// A labelled drop-down list; `options` are (value, label).
#[component]
pub fn SelectField(
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    /// The value chosen at first.
    #[prop(optional, into)]
    selected: String,
    #[prop(optional)] hint: Option<&'static str>,
    errors: Signal<Vec<String>>,
    #[prop(optional)] form_name: Option<&'static str>,
) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select
                id=id.clone()
                name=form_name.unwrap_or(name)
                aria-invalid=move || (!errors.get().is_empty()).then_some("true")
                aria-describedby=described_by(&id, hint.is_some(), errors)
            >
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let chosen = value == selected;
                        view! { <option value=value selected=chosen>{text}</option> }
                    })
                    .collect_view()}
            </select>
            <FieldNotes id=id hint errors/>
        </div>
    }
}

/// A labelled multi-line text box.
#[component]
pub fn TextAreaField(
    name: &'static str,
    label: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = 4)] rows: u32,
    errors: Signal<Vec<String>>,
    #[prop(optional)] form_name: Option<&'static str>,
) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <textarea
                id=id.clone()
                name=form_name.unwrap_or(name)
                rows=rows
                aria-invalid=move || (!errors.get().is_empty()).then_some("true")
                aria-describedby=described_by(&id, hint.is_some(), errors)
            >
                {value}
            </textarea>
            <FieldNotes id=id hint errors/>
        </div>
    }
}

/// A group of checkboxes sent as a list (`form_name` ends in `[]`).
#[component]
pub fn CheckboxGroup(
    name: &'static str,
    legend: &'static str,
    form_name: &'static str,
    options: Vec<(String, String)>,
    #[prop(optional)] checked: Vec<String>,
    errors: Signal<Vec<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let describe = described_by(&id, false, errors);
    view! {
        <fieldset class="field checkbox-group" aria-describedby=describe>
            <legend>{legend}</legend>
            <div class="cluster">
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let box_id = format!("{id}-{value}");
                        let label_for = box_id.clone();
                        let on = checked.contains(&value);
                        view! {
                            <label class="checkbox" for=label_for>
                                <input type="checkbox" id=box_id name=form_name value=value checked=on/>
                                {text}
                            </label>
                        }
                    })
                    .collect_view()}
            </div>
            <FieldNotes id=id hint=None errors/>
        </fieldset>
    }
}
