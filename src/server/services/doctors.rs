//! Doctors: onboarding (the professional profile), verification by an
//! administrator, availability (windows and time off), and discovery (search
//! and a doctor's bookable times). Each act is one transaction with its
//! audit row.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use uuid::Uuid;

use crate::domain::doctor::{DoctorProfileInput, SPECIALIZATIONS};
use crate::domain::slots::{self, Interval, Rules, Window};
use crate::domain::timezone::parse_timezone;
use crate::domain::ConsultationType;
use crate::error::{AppError, FieldErrors};
use crate::server::auth::session::CurrentUser;
use crate::server::db::{self, doctors, users};
use crate::server::error::violated_constraint;
use crate::server::services::auth::RequestMeta;
use crate::server::state::AppState;

/// How far ahead search results and doctor pages look for times.
pub const DISCOVERY_DAYS: i64 = 14;
/// Search results per page.
pub const PAGE_SIZE: usize = 10;
/// Candidates a search for a date considers at most (the engine works out
/// each one's times that day).
const SEARCH_CANDIDATES: i64 = 2000;

/// The doctor's own profile, if they have completed one.
pub async fn my_profile(state: &AppState, user: CurrentUser) -> Result<Option<doctors::DoctorRow>, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let row = doctors::by_user(&mut tx, user.user_id).await?;
    tx.commit().await?;
    Ok(row)
}

async fn own_doctor(conn: &mut sqlx::PgConnection, user: CurrentUser) -> Result<doctors::DoctorRow, AppError> {
    doctors::by_user(conn, user.user_id).await?.ok_or_else(|| {
        AppError::Conflict("Complete your professional profile first (Doctor profile in the menu).".into())
    })
}

/// Creates or updates the professional profile. A new profile, a changed
/// licence, or a rejected one edited, goes (back) to the verification queue.
pub async fn save_profile(
    state: &AppState,
    user: CurrentUser,
    input: &DoctorProfileInput,
    meta: &RequestMeta,
) -> Result<doctors::Saved, AppError> {
    let profile = input.validate(Utc::now().date_naive()).map_err(AppError::Validation)?;
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let saved = match doctors::save_profile(&mut tx, user.user_id, &profile).await {
        Ok(saved) => saved,
        Err(e) if violated_constraint(&e) == Some("doctors_license_number_key") => {
            return Err(AppError::field(
                "license_number",
                "This licence number is already registered. If it is yours, contact support.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let action = if saved.created {
        "doctor.profile_submitted"
    } else if saved.pending {
        "doctor.profile_resubmitted"
    } else {
        "doctor.profile_updated"
    };
    let entry = meta.audit(action, "doctor").by(user.user_id).on(saved.doctor_id).details(json!({
        "pending_verification": saved.pending,
    }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Pauses (or resumes) taking new bookings; existing ones stay.
pub async fn set_available(
    state: &AppState,
    user: CurrentUser,
    available: bool,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let doctor = own_doctor(&mut tx, user).await?;
    doctors::set_available(&mut tx, doctor.id, available).await?;
    let action = if available { "doctor.bookings_resumed" } else { "doctor.bookings_paused" };
    db::audit::record(&mut tx, &meta.audit(action, "doctor").by(user.user_id).on(doctor.id)).await?;
    tx.commit().await?;
    Ok(())
}

/// The verification queue, oldest first.
pub async fn queue(state: &AppState, admin: CurrentUser) -> Result<Vec<doctors::QueueRow>, AppError> {
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    let rows = doctors::pending_queue(&mut tx).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Approves a pending doctor, or rejects them with a reason; they are emailed.
pub async fn review(
    state: &AppState,
    admin: CurrentUser,
    doctor_id: Uuid,
    approve: bool,
    reason: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let reason = reason.trim();
    if !approve && (reason.is_empty() || reason.chars().count() > 1000) {
        return Err(AppError::field("reason", "Say why, in at most 1000 characters: the doctor will read it."));
    }
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    let Some(reviewed) =
        doctors::review(&mut tx, doctor_id, approve, (!approve).then_some(reason), admin.user_id).await?
    else {
        return Err(AppError::Conflict("This doctor is not waiting for verification (any more).".into()));
    };
    let action = if approve { "admin.doctor_approved" } else { "admin.doctor_rejected" };
    let details = if approve { json!({}) } else { json!({ "reason": reason }) };
    db::audit::record(&mut tx, &meta.audit(action, "doctor").by(admin.user_id).on(doctor_id).details(details)).await?;
    tx.commit().await?;
    let (subject, body) = if approve {
        (
            "Your Telehealth profile is verified",
            format!(
                "Hello {},\n\nYour licence has been verified. Patients can now find you and book the times you \
                 make available under Availability.\n\n— Telehealth\n",
                reviewed.first_name
            ),
        )
    } else {
        (
            "Your Telehealth profile needs changes",
            format!(
                "Hello {},\n\nWe could not verify your professional profile yet, for this reason:\n\n{reason}\n\n\
                 Please correct your profile and save it again; it will come back to us for verification.\n\n\
                 — Telehealth\n",
                reviewed.first_name
            ),
        )
    };
    state.mailer.notify_text(&reviewed.email, subject, body).await;
    Ok(())
}

// --- availability -------------------------------------------------------------

/// A window as typed in the availability form.
#[derive(Debug, Clone, Default)]
pub struct WindowInput {
    /// "weekly" or "date".
    pub kind: String,
    pub day_of_week: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub timezone: String,
    pub valid_from: String,
    pub valid_until: String,
}

fn parse_time(input: &str) -> Option<NaiveTime> {
    let t = input.trim();
    if t == "24:00" {
        return Some(NaiveTime::MIN);
    }
    NaiveTime::parse_from_str(t, "%H:%M").ok()
}

fn parse_date(input: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d").ok()
}

fn optional_date(input: &str, field: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    if input.trim().is_empty() {
        return None;
    }
    let date = parse_date(input);
    if date.is_none() {
        errors.entry(field.to_owned()).or_default().push("Enter a date like 2027-01-31.".into());
    }
    date
}

/// Converts stored rows into the slot engine's windows (rows with a zone
/// the engine does not know are left out, and logged).
pub fn engine_windows(rows: &[doctors::WindowRow]) -> Vec<Window> {
    rows.iter()
        .filter_map(|r| {
            let Some(tz) = parse_timezone(&r.timezone) else {
                tracing::warn!(window = %r.id, "an availability window has an unknown timezone");
                return None;
            };
            Some(Window {
                day_of_week: r.day_of_week as u8,
                start: r.start_time,
                end: r.end_time,
                tz,
                recurring: r.is_recurring,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
            })
        })
        .collect()
}

fn window_from(input: &WindowInput, errors: &mut FieldErrors) -> Option<Window> {
    let mut fail = |field: &str, message: &str| errors.entry(field.to_owned()).or_default().push(message.into());
    let tz = parse_timezone(&input.timezone);
    if tz.is_none() {
        fail("timezone", "Choose a timezone from the list.");
    }
    let start = parse_time(&input.start_time);
    if start.is_none() {
        fail("start_time", "Enter a start time like 09:00.");
    }
    let end = parse_time(&input.end_time);
    if end.is_none() {
        fail("end_time", "Enter an end time like 12:30 (24:00 for midnight).");
    }
    let (tz, start, end) = (tz?, start?, end?);
    match input.kind.as_str() {
        "weekly" => {
            let day = input.day_of_week.trim().parse::<u8>().ok().filter(|d| *d <= 6);
            if day.is_none() {
                fail("day_of_week", "Choose a day of the week.");
            }
            let mut w = Window::weekly(day?, start, end, tz);
            w.valid_from = optional_date(&input.valid_from, "valid_from", errors);
            w.valid_until = optional_date(&input.valid_until, "valid_until", errors);
            Some(w)
        }
        "date" => {
            let date = parse_date(&input.date);
            if date.is_none() {
                fail("date", "Enter the date, like 2027-01-31.");
            }
            Some(Window::one_off(date?, start, end, tz))
        }
        _ => {
            fail("kind", "Choose weekly or a single date.");
            None
        }
    }
}

/// Which field an engine validation message belongs next to.
fn field_of(error: &slots::WindowError) -> &'static str {
    use slots::WindowError::*;
    match error {
        NoSuchDay => "day_of_week",
        EndNotAfterStart => "end_time",
        ValidUntilBeforeValidFrom => "valid_until",
        OneOffWithoutDate | OneOffOverSeveralDates | WrongWeekday { .. } => "date",
        Overlaps { .. } => "start_time",
    }
}

/// Adds a window after checking it alone and against the doctor's others.
pub async fn add_window(
    state: &AppState,
    user: CurrentUser,
    input: &WindowInput,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    let mut errors = FieldErrors::new();
    let window = window_from(input, &mut errors);
    let Some(window) = window.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    if let Err(e) = window.validate() {
        return Err(AppError::field(field_of(&e), e.to_string()));
    }
    let today = Utc::now().with_timezone(&window.tz).date_naive();
    if !window.recurring && window.valid_from.is_some_and(|d| d < today) {
        return Err(AppError::field("date", "Choose today or a later date."));
    }
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let doctor = own_doctor(&mut tx, user).await?;
    let mut all = engine_windows(&doctors::windows(&mut tx, &[doctor.id]).await?);
    all.push(window);
    if let Err(issues) = slots::validate_windows(&all, today) {
        if let Some(issue) = issues.iter().find(|i| i.index == all.len() - 1).or(issues.first()) {
            return Err(AppError::field(field_of(&issue.error), issue.error.to_string()));
        }
    }
    let id = doctors::insert_window(
        &mut tx,
        doctor.id,
        &doctors::NewWindow {
            day_of_week: window.day_of_week as i16,
            start_time: window.start,
            end_time: window.end,
            timezone: window.tz.name(),
            is_recurring: window.recurring,
            valid_from: window.valid_from,
            valid_until: window.valid_until,
        },
    )
    .await?;
    let entry = meta.audit("availability.window_added", "availability_slot").by(user.user_id).on(id);
    db::audit::record(&mut tx, &entry.details(json!({ "doctor_id": doctor.id }))).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn remove_window(state: &AppState, user: CurrentUser, id: Uuid, meta: &RequestMeta) -> Result<(), AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let doctor = own_doctor(&mut tx, user).await?;
    if !doctors::delete_window(&mut tx, doctor.id, id).await? {
        return Err(AppError::NotFound);
    }
    let entry = meta.audit("availability.window_removed", "availability_slot").by(user.user_id).on(id);
    db::audit::record(&mut tx, &entry.details(json!({ "doctor_id": doctor.id }))).await?;
    tx.commit().await?;
    Ok(())
}

/// Time off as typed: whole days (first and last date), or a range when
/// both times are given (from the first date's start time to the last
/// date's end time), in the doctor's timezone.
#[derive(Debug, Clone, Default)]
pub struct TimeOffInput {
    pub first_date: String,
    pub last_date: String,
    pub start_time: String,
    pub end_time: String,
    pub note: String,
}

fn local_instant(date: NaiveDate, time: NaiveTime, tz: Tz) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    tz.from_local_datetime(&date.and_time(time)).earliest().map(|t| t.with_timezone(&Utc))
}

pub async fn add_time_off(
    state: &AppState,
    user: CurrentUser,
    input: &TimeOffInput,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    let mut errors = FieldErrors::new();
    let mut fail = |field: &str, message: &str| errors.entry(field.to_owned()).or_default().push(message.into());
    let first = parse_date(&input.first_date);
    if first.is_none() {
        fail("first_date", "Enter the first day off, like 2027-01-31.");
    }
    let last = if input.last_date.trim().is_empty() { first } else { parse_date(&input.last_date) };
    if last.is_none() {
        fail("last_date", "Enter the last day off, like 2027-02-02.");
    }
    let times = (input.start_time.trim(), input.end_time.trim());
    let range = match times {
        ("", "") => None,
        (s, e) => {
            let (s, e) = (parse_time(s), parse_time(e));
            if s.is_none() {
                fail("start_time", "Enter both times (like 13:00), or neither for whole days.");
            }
            if e.is_none() {
                fail("end_time", "Enter both times (like 17:00), or neither for whole days.");
            }
            s.zip(e)
        }
    };
    let note = input.note.trim();
    if note.chars().count() > 200 {
        fail("note", "Keep the note to 200 characters.");
    }
    let (Some(first), Some(last)) = (first, last) else { return Err(AppError::Validation(errors)) };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if last < first {
        return Err(AppError::field("last_date", "The last day off is on or after the first."));
    }
    if (last - first).num_days() > 366 {
        return Err(AppError::field("last_date", "Time off is at most a year at a time."));
    }
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let doctor = own_doctor(&mut tx, user).await?;
    let tz = users::timezone(&mut tx, user.user_id).await?;
    let span = match range {
        None => slots::time_off_for_dates(first, last, tz),
        Some((s, e)) => {
            let end_date = if e == NaiveTime::MIN { last.succ_opt().unwrap_or(last) } else { last };
            match (local_instant(first, s, tz), local_instant(end_date, e, tz)) {
                (Some(a), Some(b)) if b > a => Interval::new(a, b),
                _ => return Err(AppError::field("end_time", "The time off must end after it starts.")),
            }
        }
    };
    let id =
        doctors::insert_time_off(&mut tx, doctor.id, span.start, span.end, (!note.is_empty()).then_some(note)).await?;
    let entry = meta.audit("availability.time_off_added", "doctor").by(user.user_id).on(doctor.id);
    db::audit::record(&mut tx, &entry.details(json!({ "time_off_id": id }))).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn remove_time_off(
    state: &AppState,
    user: CurrentUser,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let doctor = own_doctor(&mut tx, user).await?;
    if !doctors::delete_time_off(&mut tx, doctor.id, id).await? {
        return Err(AppError::NotFound);
    }
    let entry = meta.audit("availability.time_off_removed", "doctor").by(user.user_id).on(doctor.id);
    db::audit::record(&mut tx, &entry.details(json!({ "time_off_id": id }))).await?;
    tx.commit().await?;
    Ok(())
}

/// Everything the availability editor shows.
#[derive(Debug, Clone)]
pub struct Availability {
    pub timezone: Tz,
    pub is_available: bool,
    pub windows: Vec<doctors::WindowRow>,
    pub time_off: Vec<doctors::TimeOffRow>,
    /// The bookable slots of the next two weeks, as patients will see them.
    pub preview: Vec<Interval>,
}

pub async fn availability(state: &AppState, user: CurrentUser) -> Result<Availability, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let doctor = own_doctor(&mut tx, user).await?;
    let timezone = users::timezone(&mut tx, user.user_id).await?;
    let now = Utc::now();
    let to = now + Duration::days(DISCOVERY_DAYS);
    let windows = doctors::windows(&mut tx, &[doctor.id]).await?;
    let time_off = doctors::time_off(&mut tx, &[doctor.id], now).await?;
    let busy = doctors::busy(&mut tx, &[doctor.id], now, to).await?;
    tx.commit().await?;
    let rules = rules_of(doctor.slot_minutes, doctor.buffer_minutes, doctor.min_notice_minutes);
    let preview = slots_for(&rules, &windows, &time_off, &busy, now, now, to);
    Ok(Availability { timezone, is_available: doctor.is_available, windows, time_off, preview })
}

fn rules_of(slot: i16, buffer: i16, notice: i32) -> Rules {
    Rules {
        length_minutes: slot.max(0) as u32,
        buffer_minutes: buffer.max(0) as u32,
        min_notice_minutes: notice.max(0) as u32,
    }
}

/// One doctor's bookable slots in [from, to), from rows already loaded.
pub fn slots_for(
    rules: &Rules,
    windows: &[doctors::WindowRow],
    time_off: &[doctors::TimeOffRow],
    busy: &[doctors::BusyRow],
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Interval> {
    let off: Vec<Interval> = time_off.iter().map(|t| Interval::new(t.starts_at, t.ends_at)).collect();
    let busy: Vec<Interval> = busy.iter().map(|b| Interval::new(b.scheduled_at, b.scheduled_end_at)).collect();
    slots::bookable_slots(&engine_windows(windows), &off, &busy, rules, now, from, to)
}

// --- discovery ------------------------------------------------------------------

/// A search, as its URL says.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub specialization: String,
    pub name: String,
    pub language: String,
    pub currency: String,
    pub fee_min: String,
    pub fee_max: String,
    pub min_rating: String,
    pub consultation_type: String,
    /// "" (any time), "week" (the next 7 days) or "date".
    pub available: String,
    pub date: String,
    /// "soonest" (default), "rating", "fee_low", "fee_high".
    pub sort: String,
    pub page: u32,
}

/// One result: the doctor and their next times.
#[derive(Debug, Clone)]
pub struct Found {
    pub doctor: doctors::ListedDoctor,
    pub next_slots: Vec<Interval>,
}

#[derive(Debug, Clone)]
pub struct SearchResults {
    pub found: Vec<Found>,
    pub total: usize,
    pub page: u32,
    pub pages: u32,
}

fn nonempty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// Finds bookable doctors. The database applies the profile filters, and
/// orders and pages by the next free times the availability job keeps (or
/// by rating, fee, name); the slot engine then works out the shown doctors'
/// live times. Only a search for a date runs the engine for every candidate.
pub async fn search(state: &AppState, req: &SearchRequest, viewer: Tz) -> Result<SearchResults, AppError> {
    let mut errors = FieldErrors::new();
    let mut fail = |field: &str, message: &str| errors.entry(field.to_owned()).or_default().push(message.into());
    let specialization = nonempty(&req.specialization);
    if specialization.is_some_and(|s| !SPECIALIZATIONS.contains(&s)) {
        fail("specialization", "Choose a specialization from the list.");
    }
    let name = nonempty(&req.name);
    if name.is_some_and(|n| n.chars().count() > 100) {
        fail("name", "Search by at most 100 characters of a name.");
    }
    let decimal = |s: &str| s.trim().parse::<rust_decimal::Decimal>().ok().filter(|d| !d.is_sign_negative());
    let fee_min = nonempty(&req.fee_min).map(|s| decimal(s).ok_or("fee_min"));
    let fee_max = nonempty(&req.fee_max).map(|s| decimal(s).ok_or("fee_max"));
    for bad in [&fee_min, &fee_max].into_iter().flatten().filter_map(|r| r.err()) {
        fail(bad, "Enter a fee as a number, like 50.");
    }
    let currency = nonempty(&req.currency).map(str::to_ascii_uppercase);
    if (fee_min.is_some() || fee_max.is_some()) && currency.is_none() {
        fail("currency", "Choose the currency of the fee range.");
    }
    let min_rating = nonempty(&req.min_rating).map(|s| decimal(s).filter(|d| *d <= 5.into()));
    if min_rating == Some(None) {
        fail("min_rating", "A rating is between 0 and 5.");
    }
    let consultation_type = nonempty(&req.consultation_type);
    if consultation_type.is_some_and(|t| t.parse::<ConsultationType>().is_err()) {
        fail("consultation_type", "Choose video, audio or chat.");
    }
    let on_date = match req.available.as_str() {
        "date" => match parse_date(&req.date) {
            Some(d) => Some(d),
            None => {
                fail("date", "Choose a date.");
                None
            }
        },
        "" | "week" => None,
        _ => {
            fail("available", "Choose when.");
            None
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now = Utc::now();
    let today = now.with_timezone(&viewer).date_naive();
    if on_date.is_some_and(|d| d < today) {
        return Err(AppError::field("date", "Choose today or a later date."));
    }
    let filter = doctors::SearchFilter {
        specialization,
        name,
        language: nonempty(&req.language),
        currency: currency.as_deref(),
        fee_min: fee_min.and_then(Result::ok),
        fee_max: fee_max.and_then(Result::ok),
        min_rating: min_rating.flatten(),
        consultation_type,
        today: now.date_naive(),
        doctor_id: None,
    };
    let mut tx = db::begin(&state.pool, None).await?;
    let Some(on_date) = on_date else {
        // Any time, or this week: the database orders and pages, by the next
        // free times the availability job keeps; the engine works out the
        // live times of the page's doctors only.
        let order = match req.sort.as_str() {
            "rating" => doctors::SearchOrder::Rating,
            "fee_low" => doctors::SearchOrder::FeeLow,
            "fee_high" => doctors::SearchOrder::FeeHigh,
            _ if name.is_some() => doctors::SearchOrder::Name,
            _ => doctors::SearchOrder::Soonest,
        };
        let week = req.available == "week";
        let to = now + Duration::days(if week { 7 } else { DISCOVERY_DAYS });
        let free_before = week.then_some(to);
        let total = doctors::listed_count(&mut tx, &filter, free_before).await?.max(0) as usize;
        let pages = total.div_ceil(PAGE_SIZE).max(1) as u32;
        let page = req.page.clamp(1, pages);
        let offset = (page as usize - 1) * PAGE_SIZE;
        let listed =
            doctors::listed_page(&mut tx, &filter, order, free_before, PAGE_SIZE as i64, offset as i64).await?;
        let mut found = with_next_slots(&mut tx, listed, now, now, to).await?;
        tx.commit().await?;
        if week {
            // A time that went in the last seconds: its doctor has none this week any more.
            found.retain(|f| !f.next_slots.is_empty());
        }
        return Ok(SearchResults { found, total, page, pages });
    };

    // On a date: who has a time that day takes the engine, for every candidate.
    let start = local_instant(on_date, NaiveTime::MIN, viewer).unwrap_or(now);
    let end = local_instant(on_date.succ_opt().unwrap_or(on_date), NaiveTime::MIN, viewer).unwrap_or(now);
    let listed = doctors::listed(&mut tx, &filter, SEARCH_CANDIDATES).await?;
    let mut found = with_next_slots(&mut tx, listed, now, start.max(now), end).await?;
    tx.commit().await?;
    found.retain(|f| !f.next_slots.is_empty());
    match req.sort.as_str() {
        "rating" => found.sort_by_key(|f| std::cmp::Reverse(f.doctor.rating)),
        "fee_low" => found.sort_by_key(|f| f.doctor.consultation_fee),
        "fee_high" => found.sort_by_key(|f| std::cmp::Reverse(f.doctor.consultation_fee)),
        _ if name.is_some() => {} // best name match first, as the database ranked them
        _ => found.sort_by_key(|f| f.next_slots.first().map_or(DateTime::<Utc>::MAX_UTC, |s| s.start)),
    }
    let total = found.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1) as u32;
    let page = req.page.clamp(1, pages);
    let found = found.into_iter().skip((page as usize - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();
    Ok(SearchResults { found, total, page, pages })
}

/// The doctors with their next (at most three) bookable times in [from, to),
/// within each one's booking horizon, in the order given.
async fn with_next_slots(
    conn: &mut sqlx::PgConnection,
    listed: Vec<doctors::ListedDoctor>,
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Found>, AppError> {
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = listed.iter().map(|d| d.id).collect();
    let windows = doctors::windows(conn, &ids).await?;
    let time_off = doctors::time_off(conn, &ids, from).await?;
    let busy = doctors::busy(conn, &ids, from, to).await?;
    Ok(listed
        .into_iter()
        .map(|doctor| {
            let rules = rules_of(doctor.slot_minutes, doctor.buffer_minutes, doctor.min_notice_minutes);
            let horizon = now + Duration::days(doctor.booking_horizon_days as i64);
            let (w, t, b) = rows_of(doctor.id, &windows, &time_off, &busy);
            let mut next = slots_for(&rules, &w, &t, &b, now, from, to.min(horizon));
            next.truncate(3);
            Found { doctor, next_slots: next }
        })
        .collect())
}

/// One doctor's rows out of rows loaded for several.
fn rows_of(
    id: Uuid,
    windows: &[doctors::WindowRow],
    time_off: &[doctors::TimeOffRow],
    busy: &[doctors::BusyRow],
) -> (Vec<doctors::WindowRow>, Vec<doctors::TimeOffRow>, Vec<doctors::BusyRow>) {
    (
        windows.iter().filter(|w| w.doctor_id == id).cloned().collect(),
        time_off.iter().filter(|t| t.doctor_id == id).cloned().collect(),
        busy.iter().filter(|b| b.doctor_id == id).cloned().collect(),
    )
}

// --- the availability index ---------------------------------------------------------

/// Doctors whose next free time one pass of the job works out at a time.
const NEXT_FREE_BATCH: i64 = 500;
/// How often the job looks for doctors whose next free time is due.
pub const NEXT_FREE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Works out, with the slot engine, the next free time (within
/// DISCOVERY_DAYS and the doctor's horizon) of up to `limit` listed doctors
/// whose stored one is due (see `db::doctors::next_free_due`), and stores
/// them. How many were due. For the job (a system transaction) and for
/// `telehealth scale` (the owner's connection).
pub async fn refresh_next_free_batch(conn: &mut sqlx::PgConnection, limit: i64) -> Result<usize, sqlx::Error> {
    let now = Utc::now();
    let due = doctors::next_free_due(conn, now, limit).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = due.iter().map(|d| d.id).collect();
    let to = now + Duration::days(DISCOVERY_DAYS);
    let windows = doctors::windows(conn, &ids).await?;
    let time_off = doctors::time_off(conn, &ids, now).await?;
    let busy = doctors::busy(conn, &ids, now, to).await?;
    let next_free: Vec<Option<DateTime<Utc>>> = due
        .iter()
        .map(|d| {
            let rules = rules_of(d.slot_minutes, d.buffer_minutes, d.min_notice_minutes);
            let horizon = now + Duration::days(d.booking_horizon_days as i64);
            let (w, t, b) = rows_of(d.id, &windows, &time_off, &busy);
            slots_for(&rules, &w, &t, &b, now, now, to.min(horizon)).first().map(|s| s.start)
        })
        .collect();
    let seen: Vec<Option<DateTime<Utc>>> = due.iter().map(|d| d.next_free_checked_at).collect();
    doctors::store_next_free(conn, &ids, &next_free, &seen, now).await?;
    Ok(due.len())
}

/// The availability job: every due doctor's next free time, a batch per
/// system transaction. How many were worked out.
pub async fn refresh_next_free(pool: &sqlx::PgPool) -> Result<usize, AppError> {
    let mut done = 0;
    // Bounded: a doctor marked stale again while being worked out stays due.
    for _ in 0..100 {
        let mut tx = db::begin_system(pool).await?;
        let n = refresh_next_free_batch(&mut tx, NEXT_FREE_BATCH).await?;
        tx.commit().await?;
        done += n;
        if (n as i64) < NEXT_FREE_BATCH {
            break;
        }
    }
    Ok(done)
}

/// Runs the availability job at start-up and then every NEXT_FREE_EVERY.
pub fn spawn_next_free_job(pool: sqlx::PgPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(NEXT_FREE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match refresh_next_free(&pool).await {
                Ok(n) => tracing::debug!(doctors = n, "next free times worked out"),
                Err(e) => tracing::warn!(error = %e, "working out next free times failed"),
            }
        }
    });
}

/// How many reviews a doctor's page shows (the latest).
pub const PAGE_REVIEWS: i64 = 10;

/// What a doctor's public page shows.
#[derive(Debug, Clone)]
pub struct PublicDoctor {
    pub doctor: doctors::ListedDoctor,
    /// Every bookable time of the next two weeks.
    pub slots: Vec<Interval>,
    /// The latest reviews, newest first (the patient's first name only).
    pub reviews: Vec<db::room::ReviewRow>,
    /// All of the doctor's reviews.
    pub review_count: i32,
}

/// A doctor's public page: the profile, every bookable time of the next two
/// weeks and the latest reviews.
pub async fn public_doctor(state: &AppState, doctor_id: Uuid) -> Result<PublicDoctor, AppError> {
    let now = Utc::now();
    let mut tx = db::begin(&state.pool, None).await?;
    let listed =
        crate::server::services::booking::listed_doctor(&mut tx, doctor_id).await?.ok_or(AppError::NotFound)?;
    let to = now + Duration::days(DISCOVERY_DAYS.min(listed.booking_horizon_days as i64));
    let windows = doctors::windows(&mut tx, &[doctor_id]).await?;
    let time_off = doctors::time_off(&mut tx, &[doctor_id], now).await?;
    let busy = doctors::busy(&mut tx, &[doctor_id], now, to).await?;
    tx.commit().await?;
    let (reviews, review_count) = public_reviews(state, doctor_id).await?;
    let rules = rules_of(listed.slot_minutes, listed.buffer_minutes, listed.min_notice_minutes);
    let slots = slots_for(&rules, &windows, &time_off, &busy, now, now, to);
    Ok(PublicDoctor { doctor: listed, slots, reviews, review_count })
}

/// The latest reviews of a doctor and how many there are, for anyone to read.
///
/// Row-level security shows an anonymous viewer no patient's profile, so the
/// reviewers' first names are read by the server itself, in a transaction
/// that runs exactly these two queries (rating, comment, date and first name
/// only; never more of the patient).
// TODO: a SECURITY DEFINER function returning just these columns (like
// doctor_busy_times) would let the page's own anonymous transaction read them.
async fn public_reviews(state: &AppState, doctor_id: Uuid) -> Result<(Vec<db::room::ReviewRow>, i32), AppError> {
    let mut tx = db::begin_system(&state.pool).await?;
    let reviews = db::room::reviews_of_doctor(&mut tx, doctor_id, PAGE_REVIEWS).await?;
    let review_count = doctors::review_count(&mut tx, doctor_id).await?;
    tx.commit().await?;
    Ok((reviews, review_count))
}
