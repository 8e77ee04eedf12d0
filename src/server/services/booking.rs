//! Booking: holding a doctor's time for a patient until they pay, the
//! release of unpaid holds, and the lists of consultations (the patient's
//! own, the doctor's agenda).
//!
//! A time can be held only if the slot engine offers it at that moment
//! (inside availability, after the notice, within the horizon, free). Two
//! patients racing for one time are settled by the database: an exclusion
//! constraint lets exactly one insert through.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::json;
use uuid::Uuid;

use crate::api::consultations::{
    AgendaDay, AgendaItem, AgendaView, BookingOptions, ConsultationItem, MyConsultationsView,
};
use crate::api::doctors::{by_day, SlotView};
use crate::domain::doctor::CURRENCIES;
use crate::domain::lifecycle;
use crate::domain::payment::{refund_for_cancellation, CancelledBy};
use crate::domain::timezone::parse_timezone;
use crate::domain::{ConsultationStatus, ConsultationType};
use crate::error::{AppError, FieldErrors};
use crate::server::auth::session::CurrentUser;
use crate::server::db::{self, consultations, doctors, users};
use crate::server::error::violated_constraint;
use crate::server::integrations::mail::Email;
use crate::server::services::auth::RequestMeta;
use crate::server::services::doctors::slots_for;
use crate::server::state::AppState;

/// A booking as sent by the form.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub doctor_id: Uuid,
    pub starts_at: String,
    pub consultation_type: String,
    pub symptoms: String,
    pub booking_key: Uuid,
}

/// Digits after the decimal point of a currency (2 unless listed otherwise).
pub fn currency_digits(currency: &str) -> u32 {
    CURRENCIES.iter().find(|(c, _)| *c == currency).map_or(2, |(_, d)| *d)
}

pub fn money(amount: rust_decimal::Decimal, currency: &str) -> String {
    format!("{currency} {}", amount.round_dp(currency_digits(currency)))
}

fn parse_instant(input: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(input.trim()).ok().map(|t| t.with_timezone(&Utc))
}

fn span_label(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz, long: bool) -> String {
    let (s, e) = (start.with_timezone(&tz), end.with_timezone(&tz));
    let day = if long { s.format("%A %-d %B %Y") } else { s.format("%a %-d %b %Y") };
    format!("{day}, {}–{}", s.format("%H:%M"), e.format("%H:%M"))
}

/// A doctor's free slots in [from, to), read in the caller's transaction.
async fn free_slots(
    conn: &mut sqlx::PgConnection,
    doctor: &doctors::SlotTerms,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<crate::domain::slots::Interval>, sqlx::Error> {
    slots_of(conn, doctor, from, to, None).await
}

/// The doctor's free slots in [from, to), read in the caller's transaction.
async fn slots_of(
    conn: &mut sqlx::PgConnection,
    doctor: &doctors::SlotTerms,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    // A consultation whose own time does not count as busy (the one being moved).
    exclude: Option<Uuid>,
) -> Result<Vec<crate::domain::slots::Interval>, sqlx::Error> {
    let windows = doctors::windows(conn, &[doctor.id]).await?;
    let time_off = doctors::time_off(conn, &[doctor.id], from).await?;
    let mut busy = doctors::busy(conn, &[doctor.id], from - BUSY_MARGIN, to + BUSY_MARGIN).await?;
    busy.retain(|b| Some(b.id) != exclude);
    Ok(slots_from(doctor, &windows, &time_off, &busy, from, to))
}

/// Busy times this far around a range can still touch its slots (the
/// longest slot plus the longest buffer).
const BUSY_MARGIN: Duration = Duration::hours(2);

/// The doctor's slots in [from, to) from rows already read (with no busy
/// rows: as if nobody had booked any, to tell "just taken" from "never offered").
fn slots_from(
    doctor: &doctors::SlotTerms,
    windows: &[doctors::WindowRow],
    time_off: &[doctors::TimeOffRow],
    busy: &[doctors::BusyRow],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<crate::domain::slots::Interval> {
    let now = Utc::now();
    let horizon = now + Duration::days(doctor.booking_horizon_days as i64);
    let rules = crate::domain::slots::Rules {
        length_minutes: doctor.slot_minutes.max(0) as u32,
        buffer_minutes: doctor.buffer_minutes.max(0) as u32,
        min_notice_minutes: doctor.min_notice_minutes.max(0) as u32,
    };
    slots_for(&rules, windows, time_off, busy, now, from, to.min(horizon))
}

pub(crate) async fn listed_doctor(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<doctors::ListedDoctor>, sqlx::Error> {
    let filter = doctors::SearchFilter { doctor_id: Some(id), today: Utc::now().date_naive(), ..Default::default() };
    Ok(doctors::listed(conn, &filter, 1).await?.into_iter().next())
}

/// The next free times of a doctor, for "that time was just taken".
async fn alternatives(state: &AppState, doctor: &doctors::SlotTerms, tz: Tz) -> Result<Vec<SlotView>, AppError> {
    let mut conn = crate::server::db::acquire(&state.pool).await?;
    let now = Utc::now();
    let slots = free_slots(&mut conn, doctor, now, now + Duration::days(14)).await?;
    Ok(by_day(&slots[..slots.len().min(6)], tz).into_iter().flat_map(|d| d.slots).collect())
}

/// What the booking form needs for one time of one doctor.
pub async fn options(state: &AppState, doctor_id: Uuid, starts_at: &str, tz: Tz) -> Result<BookingOptions, AppError> {
    let start = parse_instant(starts_at).ok_or(AppError::NotFound)?;
    let mut conn = crate::server::db::acquire(&state.pool).await?;
    let doctor = listed_doctor(&mut conn, doctor_id).await?.ok_or(AppError::NotFound)?;
    let free = free_slots(&mut conn, &doctor.terms(), start, start + Duration::seconds(1)).await?;
    drop(conn);
    let still_free = free.first().is_some_and(|s| s.start == start);
    let end = start + Duration::minutes(doctor.slot_minutes as i64);
    Ok(BookingOptions {
        doctor_id,
        doctor_name: format!("Dr {} {}", doctor.first_name, doctor.last_name),
        specialization: doctor.specialization.clone(),
        fee: money(doctor.consultation_fee, &doctor.currency),
        slot_minutes: doctor.slot_minutes,
        starts_at: start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        when: span_label(start, end, tz, true),
        timezone: tz.name().to_owned(),
        consultation_types: doctor.consultation_types.clone(),
        booking_key: Uuid::new_v4(),
        hold_minutes: state.settings.booking.hold_minutes,
        still_free,
        alternatives: if still_free { Vec::new() } else { alternatives(state, &doctor.terms(), tz).await? },
    })
}

/// "That time was just taken" (a race lost) or "is not available" (never
/// was, or no longer), with the doctor's next free times.
fn taken_message(just_taken: bool, alternatives: &[SlotView]) -> String {
    let what = if just_taken { "That time was just taken" } else { "That time is not available" };
    if alternatives.is_empty() {
        return format!("{what}, and the doctor has no other free times in the next two weeks.");
    }
    let times: Vec<&str> = alternatives.iter().take(3).map(|s| s.label.as_str()).collect();
    format!("{what}. The next free times are {}.", times.join("; "))
}

/// The booking this key already made, looked up afresh: a copy of a request
/// that lost a race to itself answers the booking, not a conflict.
async fn already_booked(state: &AppState, patient: CurrentUser, key: Uuid) -> Result<Option<Uuid>, AppError> {
    let mut tx = db::begin(&state.pool, Some(patient.actor())).await?;
    let existing = consultations::by_booking_key(&mut tx, patient.user_id, key).await?;
    tx.commit().await?;
    Ok(existing)
}

/// Holds the time for the patient (status `pending_payment`) and answers
/// the consultation's id. The same booking key answers the same booking.
pub async fn book(
    state: &AppState,
    patient: CurrentUser,
    req: &BookingRequest,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    let mut errors = FieldErrors::new();
    let mut fail = |field: &str, message: &str| errors.entry(field.to_owned()).or_default().push(message.into());
    let start = parse_instant(&req.starts_at);
    if start.is_none() {
        fail("starts_at", "Choose a time from the doctor's page.");
    }
    let kind = req.consultation_type.trim().parse::<ConsultationType>().ok();
    if kind.is_none() {
        fail("consultation_type", "Choose video, audio or chat.");
    }
    let symptoms = req.symptoms.trim();
    if symptoms.is_empty() {
        fail("symptoms", "Tell the doctor briefly what you would like to discuss.");
    } else if symptoms.chars().count() > 2000 {
        fail("symptoms", "Keep it to 2000 characters; you can tell the doctor more in the consultation.");
    }
    let (Some(start), Some(kind)) = (start, kind) else { return Err(AppError::Validation(errors)) };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }

    let mut tx = db::begin(&state.pool, Some(patient.actor())).await?;
    let (from, to) = (start, start + Duration::seconds(1));
    let context =
        consultations::booking_context(&mut tx, req.booking_key, req.doctor_id, from - BUSY_MARGIN, to + BUSY_MARGIN)
            .await?;
    if let Some(existing) = context.existing {
        return Ok(existing);
    }
    if !context.patient_active {
        return Err(AppError::Unauthorized);
    }
    if !context.patient_verified {
        return Err(AppError::Conflict(
            "Confirm your email address before booking: open the link we sent you (or ask for a new one).".into(),
        ));
    }
    let tz = parse_timezone(&context.patient_timezone).unwrap_or(chrono_tz::UTC);
    let Some(doctor) = context.doctor else {
        return Err(AppError::Conflict("This doctor is not taking bookings at the moment.".into()));
    };
    if !doctor.consultation_types.iter().any(|t| t == kind.as_str()) {
        return Err(AppError::field("consultation_type", "This doctor does not offer that kind of consultation."));
    }
    // Unpaid holds past their time (the doctor's, or this patient's with
    // anyone) give their time back now, not at the next sweep.
    if context.expired_holds {
        release_and_audit(&mut tx, Some(doctor.terms.id), Some(patient.user_id)).await?;
    }
    let terms = doctor.terms;
    let free = slots_from(&terms, &context.windows, &context.time_off, &context.busy, from, to);
    if free.first().is_none_or(|s| s.start != start) {
        let offered = slots_from(&terms, &context.windows, &context.time_off, &[], from, to);
        let just_taken = offered.first().is_some_and(|s| s.start == start);
        drop(tx);
        if start <= Utc::now() {
            return Err(AppError::field("starts_at", "That time has passed. Choose another."));
        }
        return Err(AppError::Conflict(taken_message(just_taken, &alternatives(state, &terms, tz).await?)));
    }
    let hold = consultations::NewHold {
        patient_id: patient.user_id,
        doctor_id: terms.id,
        starts_at: start,
        ends_at: start + Duration::minutes(terms.slot_minutes as i64),
        consultation_type: kind.as_str(),
        symptoms,
        hold_expires_at: Utc::now() + Duration::minutes(state.settings.booking.hold_minutes as i64),
        booking_key: req.booking_key,
    };
    let entry = meta.audit("consultation.booked", "consultation").by(patient.user_id).details(json!({
        "doctor_id": terms.id,
        "amount": doctor.consultation_fee.to_string(),
        "currency": doctor.currency,
    }));
    let id =
        match consultations::insert_booking(&mut tx, &hold, doctor.consultation_fee, &doctor.currency, &entry).await {
            Ok(id) => id,
            Err(e) => {
                let constraint = violated_constraint(&e).map(str::to_owned);
                drop(tx);
                // The same request sent twice at once: the other copy booked it.
                if constraint.is_some() {
                    if let Some(existing) = already_booked(state, patient, req.booking_key).await? {
                        return Ok(existing);
                    }
                }
                return match constraint.as_deref() {
                    Some("consultations_no_doctor_overlap") => {
                        Err(AppError::Conflict(taken_message(true, &alternatives(state, &terms, tz).await?)))
                    }
                    Some("consultations_no_patient_overlap") => Err(AppError::Conflict(
                        "You already have a consultation at that time. Choose another time.".into(),
                    )),
                    _ => Err(e.into()),
                };
            }
        };
    tx.commit().await?;
    Ok(id)
}

use crate::server::db::audit::AuditEntry;

/// Releases expired holds (of a doctor or a patient, or all), each with its
/// audit row, in the caller's transaction; answers how many.
async fn release_and_audit(
    conn: &mut sqlx::PgConnection,
    doctor_id: Option<Uuid>,
    patient_id: Option<Uuid>,
) -> Result<usize, sqlx::Error> {
    let released = consultations::release_expired_holds(conn, doctor_id, patient_id).await?;
    for r in &released {
        let entry = AuditEntry::new("consultation.hold_expired", "consultation").on(r.id);
        db::audit::record(conn, &entry.details(json!({ "patient_id": r.patient_id }))).await?;
    }
    Ok(released.len())
}

/// Releases every expired hold (the background job; safe with several
/// server instances). Answers how many were released.
pub async fn release_expired_holds(pool: &sqlx::PgPool) -> Result<usize, sqlx::Error> {
    let mut tx = db::begin_system(pool).await?;
    let released = release_and_audit(&mut tx, None, None).await?;
    tx.commit().await?;
    Ok(released)
}

/// A consultation's status, for the lifecycle's questions (the column is the
/// SQL domain; anything else would count as final).
pub(crate) fn status_of(c: &consultations::ConsultationRow) -> ConsultationStatus {
    c.status.parse().unwrap_or(ConsultationStatus::Cancelled)
}

/// A consultation as its patient sees it.
pub fn item(state: &AppState, c: &consultations::ConsultationRow, tz: Tz, now: DateTime<Utc>) -> ConsultationItem {
    let status = status_of(c);
    let held = lifecycle::is_held(status, c.hold_expires_at, now);
    let cancellable = lifecycle::may_cancel(status, c.scheduled_at, now);
    let paid = c.payment_status == "succeeded";
    let refund = (cancellable && paid).then(|| {
        let b = &state.settings.booking;
        let amount = refund_for_cancellation(
            c.amount,
            currency_digits(&c.currency),
            CancelledBy::Patient,
            (c.scheduled_at - now).num_minutes(),
            b.full_refund_hours,
            b.late_cancel_refund_percent,
        );
        let share = if amount == c.amount { " (all of it)" } else { "" };
        format!("{}{share}", money(amount, &c.currency))
    });
    ConsultationItem {
        id: c.id,
        doctor_id: c.doctor_id,
        doctor_name: format!("Dr {} {}", c.doctor_first_name, c.doctor_last_name),
        specialization: c.specialization.clone(),
        when: span_label(c.scheduled_at, c.scheduled_end_at, tz, false),
        starts_at: c.scheduled_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        status: c.status.clone(),
        consultation_type: c.consultation_type.clone(),
        amount: money(c.amount, &c.currency),
        payment_status: c.payment_status.clone(),
        refunded: (c.refunded_amount > rust_decimal::Decimal::ZERO).then(|| money(c.refunded_amount, &c.currency)),
        hold_until: held.then(|| c.hold_expires_at.map(|t| t.with_timezone(&tz).format("%H:%M").to_string())).flatten(),
        can_pay: held,
        can_cancel: cancellable && (held || paid),
        can_reschedule: (held || status == ConsultationStatus::Scheduled)
            && c.scheduled_at - now >= Duration::hours(state.settings.booking.reschedule_notice_hours as i64),
        refund_if_cancelled: refund,
        upcoming: c.scheduled_end_at > now && !lifecycle::is_final(status),
        room: crate::server::services::room::room_link(state, &c.status, c.scheduled_at, c.scheduled_end_at, now)
            .map(str::to_owned),
    }
}

/// The patient's own consultations (released holds left out).
pub async fn my_consultations(state: &AppState, patient: CurrentUser) -> Result<MyConsultationsView, AppError> {
    let mut tx = db::begin(&state.pool, Some(patient.actor())).await?;
    let tz = users::timezone(&mut tx, patient.user_id).await?;
    let rows = consultations::of_patient(&mut tx, patient.user_id).await?;
    tx.commit().await?;
    let now = Utc::now();
    let (mut upcoming, mut past) = (Vec::new(), Vec::new());
    let released = |r: &consultations::ConsultationRow| {
        status_of(r) == ConsultationStatus::Cancelled && r.payment_status == "failed"
    };
    for row in rows.iter().filter(|r| !released(r)) {
        let it = item(state, row, tz, now);
        if it.upcoming {
            upcoming.push(it);
        } else {
            past.push(it);
        }
    }
    past.reverse();
    Ok(MyConsultationsView { timezone: tz.name().to_owned(), upcoming, past })
}

fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map_or_else(|| date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(), |t| t.with_timezone(&Utc))
}

/// The doctor's agenda for a day or a week (Monday to Sunday), in their own
/// timezone, with each patient's name and symptoms. Reading it is audited.
pub async fn agenda(
    state: &AppState,
    doctor_user: CurrentUser,
    view: Option<&str>,
    date: Option<&str>,
    meta: &RequestMeta,
) -> Result<AgendaView, AppError> {
    let week = view != Some("day");
    let mut tx = db::begin(&state.pool, Some(doctor_user.actor())).await?;
    let doctor = doctors::by_user(&mut tx, doctor_user.user_id)
        .await?
        .ok_or_else(|| AppError::Conflict("Complete your professional profile first (Practice in the menu).".into()))?;
    let tz = users::timezone(&mut tx, doctor_user.user_id).await?;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let chosen = date.and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()).unwrap_or(today);
    let first = if week { chosen - Duration::days(chosen.weekday().num_days_from_monday() as i64) } else { chosen };
    let days = if week { 7 } else { 1 };
    let (from, to) = (local_midnight(first, tz), local_midnight(first + Duration::days(days), tz));
    let rows = consultations::of_doctor(&mut tx, doctor.id, from, to).await?;
    let entry = meta.audit("consultation.agenda_viewed", "doctor").by(doctor_user.user_id).on(doctor.id);
    db::audit::record(&mut tx, &entry.details(json!({ "from": from, "to": to, "consultations": rows.len() }))).await?;
    tx.commit().await?;
    let agenda_days = (0..days)
        .map(|offset| {
            let date = first + Duration::days(offset);
            let items = rows
                .iter()
                .filter(|r| r.scheduled_at.with_timezone(&tz).date_naive() == date)
                .map(|r| AgendaItem {
                    id: r.id,
                    time: format!(
                        "{}–{}",
                        r.scheduled_at.with_timezone(&tz).format("%H:%M"),
                        r.scheduled_end_at.with_timezone(&tz).format("%H:%M")
                    ),
                    patient_name: format!("{} {}", r.patient_first_name, r.patient_last_name),
                    consultation_type: r.consultation_type.clone(),
                    status: r.status.clone(),
                    symptoms: r.symptoms.clone().unwrap_or_default(),
                    room: crate::server::services::room::room_link(
                        state,
                        &r.status,
                        r.scheduled_at,
                        r.scheduled_end_at,
                        Utc::now(),
                    )
                    .map(str::to_owned),
                })
                .collect();
            AgendaDay { day: date.format("%A %-d %B").to_string(), date: date.to_string(), items }
        })
        .collect();
    Ok(AgendaView {
        timezone: tz.name().to_owned(),
        view: if week { "week" } else { "day" }.to_owned(),
        date: first.to_string(),
        previous: (first - Duration::days(days)).to_string(),
        next: (first + Duration::days(days)).to_string(),
        days: agenda_days,
    })
}

/// Sends the reminders now due (24 hours and 1 hour before), each once even
/// with several server instances. Answers how many consultations were reminded.
pub async fn send_reminders(state: &AppState) -> Result<usize, sqlx::Error> {
    let mut sent = 0;
    for (kind, within) in [("24h", Duration::hours(24)), ("1h", Duration::hours(1))] {
        let mut tx = db::begin_system(&state.pool).await?;
        let ids = consultations::claim_reminders(&mut tx, kind, within).await?;
        // A consultation booked less than an hour ahead gets only the 1-hour one.
        let rows = consultations::by_ids(&mut tx, &ids).await?;
        for row in &rows {
            let entry = AuditEntry::new("consultation.reminder_sent", "consultation").on(row.id);
            db::audit::record(&mut tx, &entry.details(json!({ "kind": kind }))).await?;
        }
        tx.commit().await?;
        for row in rows {
            let mut tx = db::begin_system(&state.pool).await?;
            let patient_tz = users::timezone(&mut tx, row.patient_id).await.unwrap_or(chrono_tz::UTC);
            let doctor_tz = users::timezone(&mut tx, row.doctor_user_id).await.unwrap_or(chrono_tz::UTC);
            tx.commit().await?;
            let when = |tz: Tz| row.scheduled_at.with_timezone(&tz).format("%A %-d %B at %H:%M %Z").to_string();
            state
                .mailer
                .notify_text(
                    &row.patient_email,
                    &format!("Reminder: your consultation with Dr {} {}", row.doctor_first_name, row.doctor_last_name),
                    format!(
                        "Hello {},\n\nYour {} consultation with Dr {} {} is on {}.\nJoin from My consultations \
                         a few minutes before.\n\n— Telehealth\n",
                        row.patient_first_name,
                        row.consultation_type,
                        row.doctor_first_name,
                        row.doctor_last_name,
                        when(patient_tz)
                    ),
                )
                .await;
            state
                .mailer
                .notify_text(
                    &row.doctor_email,
                    &format!("Reminder: consultation with {} {}", row.patient_first_name, row.patient_last_name),
                    format!(
                        "Hello Dr {},\n\nYour {} consultation with {} {} is on {}.\n\n— Telehealth\n",
                        row.doctor_last_name,
                        row.consultation_type,
                        row.patient_first_name,
                        row.patient_last_name,
                        when(doctor_tz)
                    ),
                )
                .await;
            sent += 1;
        }
    }
    Ok(sent)
}

/// The booking jobs, every `every`: releasing expired holds and sending reminders.
/// Also starts the availability job (doctors' next free times), on its own period.
pub fn spawn_jobs(state: AppState, every: std::time::Duration) {
    crate::server::services::doctors::spawn_next_free_job(state.pool.clone());
    tokio::spawn(async move {
        // The first run one period after start-up, not during it.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        // Audit partitions: at the first run, then about hourly.
        let hourly = (3600 / every.as_secs().max(1)).max(1);
        let mut runs: u64 = 0;
        loop {
            tick.tick().await;
            if runs.is_multiple_of(hourly) {
                match crate::server::services::audit::create_partitions_ahead(&state.pool).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(created = n, "audit partitions created ahead"),
                    Err(e) => tracing::warn!(error = %e, "creating audit partitions failed"),
                }
                // Sealing and archiving, on a task of their own (the first run may be long).
                tokio::spawn(crate::server::services::audit_seal::upkeep(
                    state.pool.clone(),
                    state.settings.audit.retention_months,
                ));
                // Finished consultations past `[archive] after_months` move to the archive.
                match crate::server::services::archive::archive_old(&state.pool, &state.settings.archive).await {
                    Ok((0, _)) => {}
                    Ok((c, p)) => tracing::info!(consultations = c, prescriptions = p, "records archived"),
                    Err(e) => tracing::warn!(error = %e, "archiving old records failed"),
                }
            }
            runs += 1;
            match release_expired_holds(&state.pool).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(released = n, "expired holds released"),
                Err(e) => tracing::warn!(error = %e, "releasing expired holds failed"),
            }
            if let Err(e) = send_reminders(&state).await {
                tracing::warn!(error = %e, "sending reminders failed");
            }
            crate::server::services::room::run_jobs(&state).await;
        }
    });
}

/// Moves the patient's booked (or held) consultation to another free time of
/// the same doctor, keeping its payment; allowed until the policy's notice.
pub async fn reschedule(
    state: &AppState,
    patient: CurrentUser,
    id: Uuid,
    starts_at: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let start =
        parse_instant(starts_at).ok_or_else(|| AppError::field("starts_at", "Choose one of the times shown."))?;
    let mut tx = db::begin(&state.pool, Some(patient.actor())).await?;
    let row = consultations::lock(&mut tx, id).await?.filter(|c| c.patient_id == patient.user_id);
    let row = row.ok_or(AppError::NotFound)?;
    let now = Utc::now();
    if !lifecycle::may_move(status_of(&row), row.scheduled_at, now) {
        return Err(AppError::Conflict("This consultation can no longer be moved.".into()));
    }
    let notice = Duration::hours(state.settings.booking.reschedule_notice_hours as i64);
    if row.scheduled_at - now < notice {
        return Err(AppError::Conflict(format!(
            "It is less than {} hours to the start: it can no longer be moved, only cancelled.",
            notice.num_hours()
        )));
    }
    let doctor = listed_doctor(&mut tx, row.doctor_id)
        .await?
        .ok_or_else(|| AppError::Conflict("This doctor is not taking bookings at the moment.".into()))?;
    let free = slots_of(&mut tx, &doctor.terms(), start, start + Duration::seconds(1), Some(id)).await?;
    if free.first().is_none_or(|s| s.start != start) {
        return Err(AppError::Conflict("That time is not available any more. Choose another.".into()));
    }
    let end = start + Duration::minutes(doctor.slot_minutes as i64);
    if let Err(e) = consultations::move_to(&mut tx, id, start, end).await {
        return Err(match violated_constraint(&e) {
            Some("consultations_no_doctor_overlap") => {
                AppError::Conflict("That time was just taken. Choose another.".into())
            }
            Some("consultations_no_patient_overlap") => {
                AppError::Conflict("You already have a consultation at that time. Choose another.".into())
            }
            _ => e.into(),
        });
    }
    let entry = meta.audit("consultation.rescheduled", "consultation").by(patient.user_id).on(id);
    let details = json!({ "from": row.scheduled_at, "to": start });
    db::audit::record(&mut tx, &entry.details(details)).await?;
    let patient_tz = users::timezone(&mut tx, row.patient_id).await?;
    let doctor_tz = users::timezone(&mut tx, row.doctor_user_id).await?;
    tx.commit().await?;
    let when = |t: DateTime<Utc>, tz: Tz| t.with_timezone(&tz).format("%A %-d %B %Y at %H:%M %Z").to_string();
    // The same calendar event (same UID) at its new time, for both calendars.
    let mut moved = row.clone();
    moved.scheduled_at = start;
    moved.scheduled_end_at = end;
    let calendar = crate::server::services::payments::invitation(state, &moved, false);
    state
        .mailer
        .notify(Email {
            to: row.patient_email.clone(),
            subject: "Your consultation was moved".into(),
            body: format!(
                "Hello {},\n\nYour consultation with Dr {} {} is moved from {} to {}. Your payment stays as it is.\n\
                 The attached invitation updates your calendar.\n\n— Telehealth\n",
                row.patient_first_name,
                row.doctor_first_name,
                row.doctor_last_name,
                when(row.scheduled_at, patient_tz),
                when(start, patient_tz)
            ),
            attachment: Some(calendar.clone()),
        })
        .await;
    state
        .mailer
        .notify(Email {
            to: row.doctor_email.clone(),
            subject: "A consultation was moved".into(),
            body: format!(
                "Hello Dr {},\n\n{} {} moved their consultation from {} to {}.\n\n— Telehealth\n",
                row.doctor_last_name,
                row.patient_first_name,
                row.patient_last_name,
                when(row.scheduled_at, doctor_tz),
                when(start, doctor_tz)
            ),
            attachment: Some(calendar),
        })
        .await;
    Ok(())
}
