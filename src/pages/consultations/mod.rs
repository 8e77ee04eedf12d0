//! Consultations: booking a time, paying for it, the patient's list and the
//! doctor's agenda. Small pieces the four pages share live here.

pub mod agenda;
pub mod book;
pub mod mine;
pub mod pay;
pub mod prescriptions;
pub mod reschedule;
pub mod room;

use leptos::prelude::*;
use uuid::Uuid;

use crate::api::consultations::CancelConsultation;
use crate::components::form::Outcome;
use crate::error::AppError;

/// Percent-encodes a query-string value (space as `+`, as forms send it).
pub(crate) fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The booking page for one of a doctor's times.
pub(crate) fn book_href(doctor: Uuid, starts_at: &str) -> String {
    format!("/book?doctor={doctor}&start={}", query_value(starts_at))
}

/// "video" reads as "Video".
pub(crate) fn type_label(kind: &str) -> String {
    match kind {
        "video" => "Video".to_owned(),
        "audio" => "Audio".to_owned(),
        "chat" => "Chat".to_owned(),
        other => other.to_owned(),
    }
}

/// A consultation's status in words.
pub(crate) fn status_label(status: &str) -> String {
    match status {
        "pending_payment" => "Waiting for payment".to_owned(),
        "scheduled" => "Booked".to_owned(),
        "in_progress" => "In progress".to_owned(),
        "completed" => "Completed".to_owned(),
        "cancelled" => "Cancelled".to_owned(),
        "no_show" => "Missed".to_owned(),
        other => other.replace('_', " "),
    }
}

/// Where the payment stands, in words ("Paid", "Refunded GBP 30.00").
pub(crate) fn payment_label(payment_status: &str, refunded: Option<&str>) -> String {
    match (payment_status, refunded) {
        ("pending", _) => "Not paid yet".to_owned(),
        ("succeeded", _) => "Paid".to_owned(),
        ("failed", _) => "Payment failed".to_owned(),
        ("refunded" | "partially_refunded", Some(amount)) => format!("Refunded {amount}"),
        ("refunded", None) => "Refunded".to_owned(),
        ("partially_refunded", None) => "Partly refunded".to_owned(),
        (other, _) => other.replace('_', " "),
    }
}

/// What a cancellation answered, for the status line.
pub(crate) fn cancelled_text(refunded: Option<&str>) -> String {
    match refunded {
        Some(amount) => format!("Cancelled. Refunded {amount}."),
        None => "Cancelled.".to_owned(),
    }
}

/// The outcome of the page's Cancel forms: a status line once cancelled
/// (always in the page, so screen readers announce it), an alert on refusal.
#[component]
pub(crate) fn CancelOutcome(outcome: Outcome<Option<String>>) -> impl IntoView {
    let done = move || match outcome.get() {
        Some(Ok(refunded)) => Some(cancelled_text(refunded.as_deref())),
        _ => None,
    };
    let failed = move || match outcome.get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    view! {
        <div role="status">
            {move || done().map(|text| view! { <p class="alert success">{text}</p> })}
        </div>
        <Show when=move || failed().is_some()>
            <p class="alert error" role="alert">{failed}</p>
        </Show>
    }
}

/// Messages for fields the form does not show (hidden ones, like the time
/// being booked): they would be lost otherwise.
#[component]
pub(crate) fn OtherFieldErrors<T: Clone + Send + Sync + 'static>(
    outcome: Outcome<T>,
    /// The fields that show their own messages.
    shown: &'static [&'static str],
) -> impl IntoView {
    let messages = move || match outcome.get() {
        Some(Err(AppError::Validation(errors))) => errors
            .into_iter()
            .filter(|(field, _)| !shown.contains(&field.as_str()))
            .flat_map(|(_, messages)| messages)
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    view! {
        <Show when=move || !messages().is_empty()>
            <p class="alert error" role="alert">{move || messages().join(" ")}</p>
        </Show>
    }
}

/// A Cancel button for one consultation; `label` names which one.
#[component]
pub(crate) fn CancelForm(
    action: ServerAction<CancelConsultation>,
    id: Uuid,
    label: String,
    /// A line above the button (what cancelling refunds).
    note: Option<String>,
) -> impl IntoView {
    view! {
        <ActionForm action=action attr:class="stack cancel-form">
            <input type="hidden" name="consultation_id" value=id.to_string()/>
            {note.map(|n| view! { <p class="hint">{n}</p> })}
            <button type="submit" class="button danger" aria-label=label disabled=move || action.pending().get()>
                "Cancel"
            </button>
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_links_encode_the_time() {
        let doctor = Uuid::nil();
        assert_eq!(
            book_href(doctor, "2026-12-07T09:30:00+00:00"),
            "/book?doctor=00000000-0000-0000-0000-000000000000&start=2026-12-07T09%3A30%3A00%2B00%3A00"
        );
    }

    #[test]
    fn statuses_read_as_words() {
        assert_eq!(status_label("pending_payment"), "Waiting for payment");
        assert_eq!(status_label("no_show"), "Missed");
        assert_eq!(payment_label("succeeded", None), "Paid");
        assert_eq!(payment_label("partially_refunded", Some("GBP 30.00")), "Refunded GBP 30.00");
        assert_eq!(cancelled_text(Some("GBP 60.00")), "Cancelled. Refunded GBP 60.00.");
        assert_eq!(cancelled_text(None), "Cancelled.");
    }
}
