//! Pages for administrators (each behind `RequireAdmin`; the server
//! functions check again).

pub mod audit;
pub mod consultations;
pub mod dashboard;
pub mod doctors;
pub mod payments;
pub mod users;

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

use crate::error::AppError;

/// The page's query string: the filters, handed to the server as typed.
pub fn page_query() -> Memo<String> {
    let location = use_location();
    Memo::new(move |_| location.search.get().trim_start_matches('?').to_string())
}

/// One value of the page's query string (what the person typed, kept).
pub fn query_value(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}

/// The messages a refused filter has for `field`.
pub fn filter_errors<T>(result: &Result<T, AppError>, field: &str) -> Vec<String> {
    result.as_ref().err().map(|e| e.field_messages(field).to_vec()).unwrap_or_default()
}

/// A labelled filter input with its error next to it.
#[component]
pub fn FilterField(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    value: String,
    errors: Vec<String>,
) -> impl IntoView {
    let id = format!("filter-{name}");
    let error_id = format!("{id}-error");
    let invalid = !errors.is_empty();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id name=name type=kind value=value aria-invalid=invalid.then_some("true")
                aria-describedby=invalid.then(|| error_id.clone())/>
            {invalid.then(|| view! { <p class="field-error" id=error_id>{errors.join(" ")}</p> })}
        </div>
    }
}

/// A labelled choice among `options` (value, label), "Any" first.
#[component]
pub fn FilterSelect(
    name: &'static str,
    label: &'static str,
    options: Vec<(&'static str, &'static str)>,
    value: String,
    errors: Vec<String>,
) -> impl IntoView {
    let id = format!("filter-{name}");
    let error_id = format!("{id}-error");
    let invalid = !errors.is_empty();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name aria-invalid=invalid.then_some("true") aria-describedby=invalid.then(|| error_id.clone())>
                <option value="" selected=value.is_empty()>"Any"</option>
                {options.into_iter().map(|(v, l)| view! { <option value=v selected=value == v>{l}</option> }).collect_view()}
            </select>
            {invalid.then(|| view! { <p class="field-error" id=error_id>{errors.join(" ")}</p> })}
        </div>
    }
}

/// The messages that belong to no field shown (an unknown filter, say).
#[component]
pub fn FilterAlert<T: 'static>(result: Result<T, AppError>) -> impl IntoView {
    let message = match &result {
        Ok(_) => None,
        Err(AppError::Validation(fields)) => {
            fields.get("filter").map(|m| m.join(" ")).or_else(|| Some("Please correct the highlighted filters.".into()))
        }
        Err(e) => Some(e.to_string()),
    };
    message.map(|m| view! { <p class="alert error" role="alert">{m}</p> })
}

/// A table of records: a caption for screen readers, column headings, rows.
#[component]
pub fn AdminTable(
    caption: &'static str,
    headers: &'static [&'static str],
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class=class>
                <caption class="visually-hidden">{caption}</caption>
                <thead>
                    <tr>{headers.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}</tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
