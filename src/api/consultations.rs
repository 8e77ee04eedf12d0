//! Booking, paying, cancelling, and the lists of consultations: the
//! patient's own and the doctor's agenda.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// What the booking form shows for one chosen time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingOptions {
    pub doctor_id: Uuid,
    pub doctor_name: String,
    pub specialization: String,
    /// "GBP 60.00".
    pub fee: String,
    pub slot_minutes: i16,
    /// The instant, RFC 3339 UTC, as sent back when booking.
    pub starts_at: String,
    /// "Monday 7 December 2026, 09:30–10:00", in the viewer's timezone.
    pub when: String,
    pub timezone: String,
    /// The consultation types the doctor offers ("video", "audio", "chat").
    pub consultation_types: Vec<String>,
    /// A fresh key for this form: sending it twice books once.
    pub booking_key: Uuid,
    pub hold_minutes: u32,
    /// False when the time is no longer bookable (taken, too soon, past).
    pub still_free: bool,
    /// Other free times of the doctor, when this one is not.
    pub alternatives: Vec<crate::api::doctors::SlotView>,
}

/// `GET /api/booking_form?doctor_id=&starts_at=`
#[server(prefix = "/api", endpoint = "booking_form", input = leptos::server_fn::codec::GetUrl)]
pub async fn booking_form(doctor_id: Uuid, starts_at: String, tz: Option<String>) -> Result<BookingOptions, AppError> {
    use crate::server::services::booking;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let zone = crate::api::doctors::viewer_timezone(&state, tz.as_deref()).await;
    booking::options(&state, doctor_id, &starts_at, zone).await
}

/// `POST /api/book_consultation`: holds the time (status pending_payment)
/// and answers the consultation's id. 409 when the time was just taken.
#[server(prefix = "/api", endpoint = "book_consultation")]
pub async fn book_consultation(
    doctor_id: Uuid,
    starts_at: String,
    consultation_type: String,
    symptoms: String,
    booking_key: Uuid,
) -> Result<Uuid, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::booking::{self, BookingRequest};
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let patient = require_role(Role::Patient)?;
    let request = BookingRequest { doctor_id, starts_at, consultation_type, symptoms, booking_key };
    booking::book(&state, patient, &request, &current_request_meta()).await
}

/// A consultation as its patient sees it in lists and on the payment page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsultationItem {
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub doctor_name: String,
    pub specialization: String,
    /// "Mon 7 Dec 2026, 09:30–10:00", in the viewer's timezone.
    pub when: String,
    pub starts_at: String,
    /// pending_payment | scheduled | in_progress | completed | cancelled | no_show
    pub status: String,
    pub consultation_type: String,
    /// "GBP 60.00".
    pub amount: String,
    /// pending | succeeded | failed | refunded | partially_refunded
    pub payment_status: String,
    /// "GBP 30.00" once something was refunded.
    pub refunded: Option<String>,
    /// While held: until when ("09:41").
    pub hold_until: Option<String>,
    pub can_pay: bool,
    pub can_cancel: bool,
    /// Can still be moved to another time (until the policy's notice).
    pub can_reschedule: bool,
    /// What cancelling now would refund ("GBP 60.00 (all of it)").
    pub refund_if_cancelled: Option<String>,
    pub upcoming: bool,
    /// The room's link text when it is open ("Join the room") or the record's
    /// after the visit ("Open the record"); None before it opens.
    pub room: Option<String>,
}

/// The patient's consultations: upcoming first (soonest first), then past.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyConsultationsView {
    pub timezone: String,
    pub upcoming: Vec<ConsultationItem>,
    pub past: Vec<ConsultationItem>,
}

/// `GET /api/my_consultations`
#[server(prefix = "/api", endpoint = "my_consultations", input = leptos::server_fn::codec::GetUrl)]
pub async fn my_consultations() -> Result<MyConsultationsView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::require_role;
    use crate::server::services::booking;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    booking::my_consultations(&state, require_role(Role::Patient)?).await
}

/// The payment page: the consultation and, in the sandbox, the test cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub consultation: ConsultationItem,
    /// "sandbox" or "stripe".
    pub gateway: String,
    /// (card number, what it does) for the sandbox.
    pub test_cards: Vec<(String, String)>,
}

/// `GET /api/payment_details?consultation_id=`
#[server(prefix = "/api", endpoint = "payment_details", input = leptos::server_fn::codec::GetUrl)]
pub async fn payment_details(consultation_id: Uuid) -> Result<PaymentView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::require_role;
    use crate::server::services::payments;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    payments::payment_view(&state, require_role(Role::Patient)?, consultation_id).await
}

/// `POST /api/pay_consultation`: pays a held consultation by card.
#[server(prefix = "/api", endpoint = "pay_consultation")]
pub async fn pay_consultation(
    consultation_id: Uuid,
    card_number: String,
    expiry: String,
    cvc: String,
) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::payments::{self, CardInput};
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let card = CardInput { number: card_number, expiry, cvc };
    payments::pay(&state, require_role(Role::Patient)?, consultation_id, &card, &current_request_meta()).await
}

/// `POST /api/cancel_consultation`: by its patient or its doctor; answers
/// what was refunded ("GBP 30.00"), if anything.
#[server(prefix = "/api", endpoint = "cancel_consultation")]
pub async fn cancel_consultation(consultation_id: Uuid) -> Result<Option<String>, AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::payments;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    payments::cancel(&state, require_user()?, consultation_id, &current_request_meta()).await
}

/// One consultation on the doctor's agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaItem {
    pub id: Uuid,
    /// "09:30–10:00", in the doctor's timezone.
    pub time: String,
    pub patient_name: String,
    pub consultation_type: String,
    pub status: String,
    pub symptoms: String,
    /// As for the patient: "Open the room" when it is open, "Open the record" after.
    pub room: Option<String>,
}

/// One day of the agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaDay {
    /// "Monday 7 December".
    pub day: String,
    /// YYYY-MM-DD.
    pub date: String,
    pub items: Vec<AgendaItem>,
}

/// The doctor's agenda for a day or a week, in the doctor's timezone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaView {
    pub timezone: String,
    /// "day" or "week".
    pub view: String,
    /// The first day shown, and the first days of the previous and next pages (YYYY-MM-DD).
    pub date: String,
    pub previous: String,
    pub next: String,
    pub days: Vec<AgendaDay>,
}

/// `GET /api/doctor_agenda?view=week&date=2026-12-07`
#[server(prefix = "/api", endpoint = "doctor_agenda", input = leptos::server_fn::codec::GetUrl)]
pub async fn doctor_agenda(view: Option<String>, date: Option<String>) -> Result<AgendaView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::booking;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let doctor = require_role(Role::Doctor)?;
    booking::agenda(&state, doctor, view.as_deref(), date.as_deref(), &current_request_meta()).await
}

/// `POST /api/reschedule_consultation`: moves the patient's consultation to
/// another free time of the same doctor; the payment stays.
#[server(prefix = "/api", endpoint = "reschedule_consultation")]
pub async fn reschedule_consultation(consultation_id: Uuid, starts_at: String) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::booking;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    booking::reschedule(&state, require_role(Role::Patient)?, consultation_id, &starts_at, &current_request_meta())
        .await
}
