//! Paying for a held consultation, and cancelling one with the refund the
//! policy gives. The gateway is called inside the use case's transaction:
//! if it fails, nothing is recorded; if it succeeds, the consultation, the
//! payment and the audit row change together.

use chrono::{Datelike, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use crate::api::consultations::PaymentView;
use crate::domain::lifecycle::{self, PayRefused};
use crate::domain::payment::{parse_card, parse_refund_amount, refund_for_cancellation, CancelledBy};
use crate::domain::{ConsultationStatus, Role};
use crate::error::AppError;
use crate::server::auth::session::CurrentUser;
use crate::server::db::{self, consultations, users};
use crate::server::integrations::calendar::{ics, Invitation};
use crate::server::integrations::mail::{Attachment, Email};
use crate::server::integrations::payments::Confirmation;
use crate::server::services::auth::RequestMeta;
use crate::server::services::booking::{currency_digits, item, money, status_of};
use crate::server::state::AppState;

/// A card as typed on the payment form.
#[derive(Debug, Clone)]
pub struct CardInput {
    pub number: String,
    pub expiry: String,
    pub cvc: String,
}

/// The calendar invitation of a consultation (or its cancellation).
pub(crate) fn invitation(state: &AppState, row: &consultations::ConsultationRow, cancelled: bool) -> Attachment {
    let base = state.settings.app.public_url.trim_end_matches('/');
    let summary = format!(
        "{} consultation with Dr {} {} ({}) and {} {}",
        row.consultation_type,
        row.doctor_first_name,
        row.doctor_last_name,
        row.specialization,
        row.patient_first_name,
        row.patient_last_name
    );
    let url = format!("{base}/consultations");
    let content = ics(
        &Invitation {
            consultation_id: row.id,
            starts_at: row.scheduled_at,
            ends_at: row.scheduled_end_at,
            summary: &summary,
            description: "Telehealth consultation. Join from My consultations (patients) or your schedule (doctors).",
            url: &url,
            cancelled,
        },
        Utc::now(),
    );
    let method = if cancelled { "CANCEL" } else { "REQUEST" };
    Attachment {
        filename: "consultation.ics".into(),
        content_type: format!("text/calendar; charset=utf-8; method={method}"),
        content,
    }
}

/// The payment page of the patient's own consultation (404 for anyone else's).
pub async fn payment_view(state: &AppState, patient: CurrentUser, id: Uuid) -> Result<PaymentView, AppError> {
    let mut tx = db::begin(&state.pool, Some(patient.actor())).await?;
    let row = consultations::lock(&mut tx, id).await?.filter(|c| c.patient_id == patient.user_id);
    let row = row.ok_or(AppError::NotFound)?;
    let tz = users::timezone(&mut tx, patient.user_id).await?;
    tx.commit().await?;
    Ok(PaymentView {
        consultation: item(state, &row, tz, Utc::now()),
        gateway: state.payments.name().to_owned(),
        test_cards: state.payments.test_cards().iter().map(|(n, w)| (n.to_string(), w.to_string())).collect(),
    })
}

/// Pays a held consultation by card; it becomes scheduled.
pub async fn pay(
    state: &AppState,
    patient: CurrentUser,
    id: Uuid,
    card: &CardInput,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let today = Utc::now().date_naive();
    let card = parse_card(&card.number, &card.expiry, &card.cvc, (today.year() as u32, today.month()))
        .map_err(AppError::Validation)?;
    let mut tx = db::begin(&state.pool, Some(patient.actor())).await?;
    let row = consultations::lock(&mut tx, id).await?.filter(|c| c.patient_id == patient.user_id);
    let row = row.ok_or(AppError::NotFound)?;
    let status = status_of(&row);
    match lifecycle::may_pay(status) {
        Ok(()) => {}
        Err(PayRefused::AlreadyPaid) => return Err(AppError::Conflict("This consultation is already paid.".into())),
        Err(PayRefused::NoLongerBooked) => {
            return Err(AppError::Conflict("This booking was cancelled: choose a time again.".into()))
        }
    }
    if !lifecycle::is_held(status, row.hold_expires_at, Utc::now()) {
        // Too late: release it now (nothing is charged).
        consultations::cancel(&mut tx, id, patient.user_id, "hold_expired").await?;
        consultations::mark_payment_failed(&mut tx, row.payment_id).await?;
        let entry = meta.audit("consultation.hold_expired", "consultation").by(patient.user_id).on(id);
        db::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Err(AppError::Conflict(
            "Your hold on this time has expired and nothing was charged. Choose a time again.".into(),
        ));
    }
    let gateway = &state.payments;
    let intent = gateway.create_intent(row.amount, &row.currency, id).await.map_err(|e| {
        tracing::warn!(error = %e, "payment intent failed");
        AppError::Unavailable
    })?;
    let confirmation = gateway.confirm(&intent, &card).await.map_err(|e| {
        tracing::warn!(error = %e, "payment confirmation failed");
        AppError::Unavailable
    })?;
    match confirmation {
        Confirmation::Declined { reason, message } => {
            let entry = meta.audit("payment.declined", "payment").by(patient.user_id).on(row.payment_id);
            db::audit::record(&mut tx, &entry.details(json!({ "consultation_id": id, "reason": reason }))).await?;
            tx.commit().await?;
            Err(AppError::field("card_number", message))
        }
        Confirmation::Succeeded { transaction_id, method } => {
            consultations::mark_paid(&mut tx, id, row.payment_id, gateway.name(), &transaction_id, &method).await?;
            let entry = meta.audit("payment.succeeded", "payment").by(patient.user_id).on(row.payment_id);
            let details = json!({
                "consultation_id": id,
                "amount": row.amount.to_string(),
                "currency": row.currency,
                "gateway": gateway.name(),
            });
            db::audit::record(&mut tx, &entry.details(details)).await?;
            let patient_tz = users::timezone(&mut tx, patient.user_id).await?;
            let doctor_tz = users::timezone(&mut tx, row.doctor_user_id).await?;
            tx.commit().await?;
            let when =
                |tz: chrono_tz::Tz| row.scheduled_at.with_timezone(&tz).format("%A %-d %B %Y at %H:%M %Z").to_string();
            let invitation = invitation(state, &row, false);
            state
                .mailer
                .notify(Email {
                    to: row.patient_email.clone(),
                    subject: "Your consultation is booked".into(),
                    body: format!(
                        "Hello {},\n\nYour {} consultation with Dr {} {} is booked for {}.\n\nPaid: {} ({method}).\n\
                         The attached invitation adds it to your calendar. You can cancel it under My consultations.\n\n\
                         — Telehealth\n",
                        row.patient_first_name,
                        row.consultation_type,
                        row.doctor_first_name,
                        row.doctor_last_name,
                        when(patient_tz),
                        money(row.amount, &row.currency)
                    ),
                    attachment: Some(invitation.clone()),
                })
                .await;
            state
                .mailer
                .notify(Email {
                    to: row.doctor_email.clone(),
                    subject: "New consultation booked".into(),
                    attachment: Some(invitation),
                    body: format!(
                    "Hello Dr {},\n\n{} {} booked a {} consultation with you for {}.\n\nSee it on your schedule.\n\n\
                     — Telehealth\n",
                    row.doctor_last_name,
                    row.patient_first_name,
                    row.patient_last_name,
                    row.consultation_type,
                    when(doctor_tz)
                ),
                })
                .await;
            Ok(())
        }
    }
}

/// Cancels a held or booked consultation, by its patient or its doctor,
/// refunding by the policy. Answers the amount refunded, if any.
pub async fn cancel(
    state: &AppState,
    user: CurrentUser,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<Option<String>, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let row = consultations::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let by = match user.role {
        Role::Patient if row.patient_id == user.user_id => CancelledBy::Patient,
        Role::Doctor if row.doctor_user_id == user.user_id => CancelledBy::Doctor,
        _ => return Err(AppError::NotFound),
    };
    let now = Utc::now();
    let status = status_of(&row);
    if !lifecycle::may_cancel(status, row.scheduled_at, now) {
        return Err(AppError::Conflict("This consultation can no longer be cancelled.".into()));
    }
    let reason = if by == CancelledBy::Doctor { "doctor" } else { "patient" };
    let mut refunded = None;
    if row.payment_status == "succeeded" {
        let b = &state.settings.booking;
        let amount = refund_for_cancellation(
            row.amount,
            currency_digits(&row.currency),
            by,
            (row.scheduled_at - now).num_minutes(),
            b.full_refund_hours,
            b.late_cancel_refund_percent,
        );
        if amount > Decimal::ZERO {
            let transaction = row.transaction_id.as_deref().ok_or(AppError::Internal)?;
            let receipt = state.payments.refund(transaction, amount, &row.currency).await.map_err(|e| {
                tracing::warn!(error = %e, "refund failed");
                AppError::Unavailable
            })?;
            consultations::record_refund(&mut tx, row.payment_id, amount).await?;
            let entry = meta.audit("payment.refunded", "payment").by(user.user_id).on(row.payment_id);
            let details = json!({
                "consultation_id": id, "amount": amount.to_string(), "currency": row.currency, "refund_id": receipt.id,
            });
            db::audit::record(&mut tx, &entry.details(details)).await?;
        }
        refunded = Some(money(amount, &row.currency));
    } else {
        consultations::mark_payment_failed(&mut tx, row.payment_id).await?;
    }
    consultations::cancel(&mut tx, id, user.user_id, reason).await?;
    let entry = meta.audit("consultation.cancelled", "consultation").by(user.user_id).on(id);
    db::audit::record(&mut tx, &entry.details(json!({ "by": reason, "refunded": refunded }))).await?;
    let patient_tz = users::timezone(&mut tx, row.patient_id).await?;
    let doctor_tz = users::timezone(&mut tx, row.doctor_user_id).await?;
    tx.commit().await?;
    let when = |tz: chrono_tz::Tz| row.scheduled_at.with_timezone(&tz).format("%A %-d %B %Y at %H:%M %Z").to_string();
    let refund_line = refunded.as_ref().map(|r| format!("\nRefunded: {r}.\n")).unwrap_or_default();
    // Only a booked (paid) consultation was ever in a calendar: its cancellation takes it out.
    let calendar = (status == ConsultationStatus::Scheduled).then(|| invitation(state, &row, true));
    state
        .mailer
        .notify(Email {
            to: row.patient_email.clone(),
            subject: "Your consultation was cancelled".into(),
            body: format!(
                "Hello {},\n\nYour consultation with Dr {} {} on {} was cancelled{}.\n{refund_line}\n— Telehealth\n",
                row.patient_first_name,
                row.doctor_first_name,
                row.doctor_last_name,
                when(patient_tz),
                if by == CancelledBy::Doctor { " by the doctor" } else { "" },
            ),
            attachment: calendar.clone(),
        })
        .await;
    state
        .mailer
        .notify(Email {
            to: row.doctor_email.clone(),
            subject: "A consultation was cancelled".into(),
            body: format!(
                "Hello Dr {},\n\nThe consultation with {} {} on {} was cancelled{}.\n\n— Telehealth\n",
                row.doctor_last_name,
                row.patient_first_name,
                row.patient_last_name,
                when(doctor_tz),
                if by == CancelledBy::Patient { " by the patient" } else { "" },
            ),
            attachment: calendar,
        })
        .await;
    Ok(refunded)
}

/// An administrator refunds part or all of a payment through its gateway,
/// with a reason for the audit trail. Answers the amount refunded.
pub async fn admin_refund(
    state: &AppState,
    admin: CurrentUser,
    payment_id: Uuid,
    amount: &str,
    reason: &str,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::field("reason", "Say why, in at most 500 characters (for the audit trail)."));
    }
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    let payment = db::admin::lock_payment(&mut tx, payment_id).await?.ok_or(AppError::NotFound)?;
    if !matches!(payment.status.as_str(), "succeeded" | "partially_refunded") {
        let state_word = match payment.status.as_str() {
            "refunded" => "already refunded in full",
            "failed" => "a payment that failed",
            _ => "not paid yet",
        };
        return Err(AppError::Conflict(format!("Only a completed payment can be refunded; this one is {state_word}.")));
    }
    let refundable = payment.amount - payment.refunded_amount;
    let amount = parse_refund_amount(amount, currency_digits(&payment.currency), refundable)
        .map_err(|message| AppError::field("amount", message))?;
    let transaction = payment.transaction_id.as_deref().ok_or(AppError::Internal)?;
    let receipt = state.payments.refund(transaction, amount, &payment.currency).await.map_err(|e| {
        tracing::warn!(error = %e, "admin refund failed at the gateway");
        AppError::Unavailable
    })?;
    consultations::record_refund(&mut tx, payment.id, amount).await?;
    let details = json!({
        "consultation_id": payment.consultation_id, "amount": amount.to_string(), "currency": payment.currency,
        "refund_id": receipt.id, "reason": reason, "by": "admin",
    });
    let entry = meta.audit("payment.refunded", "payment").by(admin.user_id).on(payment.id).details(details);
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    let refunded = money(amount, &payment.currency);
    state
        .mailer
        .notify(Email {
            to: payment.patient_email,
            subject: "A refund is on its way".into(),
            body: format!(
                "Hello {},\n\nWe have refunded {refunded} of your payment for a consultation.\nIt reaches your card within a few working days.\n\n— Telehealth\n",
                payment.patient_first_name
            ),
            attachment: None,
        })
        .await;
    Ok(refunded)
}

/// Why a webhook was refused (answered with a 4xx; nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum WebhookRefusal {
    #[error("not this gateway's webhook")]
    NotConfigured,
    #[error(transparent)]
    Invalid(#[from] crate::server::integrations::payments::WebhookError),
    #[error("the event does not match the payment: {0}")]
    Mismatch(&'static str),
    #[error(transparent)]
    Failed(#[from] AppError),
}

impl From<sqlx::Error> for WebhookRefusal {
    fn from(e: sqlx::Error) -> Self {
        WebhookRefusal::Failed(e.into())
    }
}

/// Processes a gateway webhook exactly once: the event id is recorded in the
/// same transaction as its effect, so a replay changes nothing. A payment
/// that succeeds after its hold was released is refunded at once.
pub async fn handle_webhook(
    state: &AppState,
    payload: &[u8],
    signature: Option<&str>,
) -> Result<&'static str, WebhookRefusal> {
    use crate::server::integrations::payments::{minor_units, Gateway};
    let Gateway::Stripe(stripe) = &state.payments else { return Err(WebhookRefusal::NotConfigured) };
    let event = stripe.verify_webhook(payload, signature, Utc::now().timestamp())?;
    let mut tx = db::begin_system(&state.pool).await?;
    if !consultations::first_time_event(&mut tx, "stripe", &event.id, &event.kind).await? {
        return Ok("already processed");
    }
    let outcome = match (event.kind.as_str(), event.consultation_id) {
        ("payment_intent.succeeded", Some(id)) => {
            let row =
                consultations::lock(&mut tx, id).await?.ok_or(WebhookRefusal::Mismatch("no such consultation"))?;
            let expected = minor_units(row.amount, currency_digits(&row.currency));
            if expected != Some(event.amount) || event.currency != row.currency {
                return Err(WebhookRefusal::Mismatch("amount or currency"));
            }
            let held = lifecycle::is_held(status_of(&row), row.hold_expires_at, Utc::now());
            // Paid on the page (and perhaps refunded since): Stripe's own notice of it changes nothing.
            let already_paid = matches!(row.payment_status.as_str(), "succeeded" | "partially_refunded" | "refunded")
                || row.transaction_id.as_deref() == Some(event.intent_id.as_str());
            if already_paid {
                "already paid"
            } else if held {
                consultations::mark_paid(&mut tx, id, row.payment_id, "stripe", &event.intent_id, "card").await?;
                let entry =
                    crate::server::db::audit::AuditEntry::new("payment.succeeded", "payment").on(row.payment_id);
                let details = json!({ "consultation_id": id, "gateway": "stripe", "event": event.id });
                db::audit::record(&mut tx, &entry.details(details)).await?;
                "paid"
            } else {
                // Paid too late: the time is no longer held. Give the money back.
                let receipt =
                    state.payments.refund(&event.intent_id, row.amount, &row.currency).await.map_err(|e| {
                        tracing::warn!(error = %e, "automatic refund failed");
                        AppError::Unavailable
                    })?;
                consultations::mark_paid_and_refunded(&mut tx, row.payment_id, "stripe", &event.intent_id).await?;
                let entry = crate::server::db::audit::AuditEntry::new("payment.refunded", "payment").on(row.payment_id);
                let details = json!({
                    "consultation_id": id, "reason": "hold_released", "refund_id": receipt.id,
                    "amount": row.amount.to_string(), "currency": row.currency,
                });
                db::audit::record(&mut tx, &entry.details(details)).await?;
                "refunded"
            }
        }
        ("payment_intent.payment_failed", Some(id)) => {
            let entry = crate::server::db::audit::AuditEntry::new("payment.declined", "consultation").on(id);
            db::audit::record(&mut tx, &entry.details(json!({ "gateway": "stripe", "event": event.id }))).await?;
            "declined"
        }
        _ => "ignored",
    };
    tx.commit().await?;
    Ok(outcome)
}
