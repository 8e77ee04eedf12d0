//! Doctors: the professional profile and availability (for doctors), the
//! verification queue (for administrators), and discovery (for everyone).

// A search's filters are flat query parameters (shareable URLs); the server
// function macro repeats them in code generated for both builds.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::doctor::DoctorProfileInput;
use crate::error::AppError;

/// A doctor's own professional profile, as the form shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorProfileView {
    pub profile: DoctorProfileInput,
    /// "pending", "approved" or "rejected".
    pub status: String,
    pub rejection_reason: Option<String>,
    pub is_available: bool,
}

/// `GET /api/my_doctor_profile`: None until the doctor has completed it.
#[server(prefix = "/api", endpoint = "my_doctor_profile", input = leptos::server_fn::codec::GetUrl)]
pub async fn my_doctor_profile() -> Result<Option<DoctorProfileView>, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::require_role;
    use crate::server::services::doctors;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let row = doctors::my_profile(&state, require_role(Role::Doctor)?).await?;
    Ok(row.map(|d| DoctorProfileView {
        profile: DoctorProfileInput {
            license_number: d.license_number,
            license_expires_on: d.license_expires_on.map(|x| x.to_string()).unwrap_or_default(),
            specialization: d.specialization,
            experience_years: d.experience_years.map(|x| x.to_string()).unwrap_or_default(),
            qualification: d.qualification.unwrap_or_default(),
            bio: d.bio.unwrap_or_default(),
            languages: d.languages,
            consultation_fee: d.consultation_fee.to_string(),
            currency: d.currency,
            consultation_types: d.consultation_types,
            slot_minutes: d.slot_minutes.to_string(),
            buffer_minutes: d.buffer_minutes.to_string(),
            min_notice_hours: (d.min_notice_minutes / 60).to_string(),
            booking_horizon_days: d.booking_horizon_days.to_string(),
        },
        status: d.verification_status,
        rejection_reason: d.rejection_reason,
        is_available: d.is_available,
    }))
}

/// `POST /api/save_doctor_profile`: answers whether the profile now waits
/// for verification.
#[server(prefix = "/api", endpoint = "save_doctor_profile")]
pub async fn save_doctor_profile(profile: DoctorProfileInput) -> Result<bool, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::doctors;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let saved = doctors::save_profile(&state, require_role(Role::Doctor)?, &profile, &current_request_meta()).await?;
    Ok(saved.pending)
}

/// `POST /api/set_doctor_available`: pause or resume new bookings.
#[server(prefix = "/api", endpoint = "set_doctor_available")]
pub async fn set_doctor_available(available: bool) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::doctors;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    doctors::set_available(&state, require_role(Role::Doctor)?, available, &current_request_meta()).await
}

/// A doctor in the verification queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedDoctor {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub is_email_verified: bool,
    pub license_number: String,
    pub license_expires_on: String,
    pub specialization: String,
    pub experience_years: Option<i32>,
    pub qualification: String,
    pub bio: String,
    pub languages: Vec<String>,
    pub fee: String,
    pub consultation_types: Vec<String>,
    pub submitted: String,
}

/// `GET /api/admin_doctor_queue`: doctors waiting for verification, oldest first.
#[server(prefix = "/api", endpoint = "admin_doctor_queue", input = leptos::server_fn::codec::GetUrl)]
pub async fn admin_doctor_queue() -> Result<Vec<QueuedDoctor>, AppError> {
    use crate::domain::doctor::language_name;
    use crate::server::auth::session::require_admin;
    use crate::server::services::doctors;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    let rows = doctors::queue(&state, admin).await?;
    Ok(rows
        .into_iter()
        .map(|d| QueuedDoctor {
            id: d.id,
            name: format!("{} {}", d.first_name, d.last_name),
            email: d.email,
            is_email_verified: d.is_email_verified,
            license_number: d.license_number,
            license_expires_on: d.license_expires_on.map(|x| x.to_string()).unwrap_or_default(),
            specialization: d.specialization,
            experience_years: d.experience_years,
            qualification: d.qualification.unwrap_or_default(),
            bio: d.bio.unwrap_or_default(),
            languages: d.languages.iter().map(|l| language_name(l).to_owned()).collect(),
            fee: format!("{} {}", d.currency, d.consultation_fee),
            consultation_types: d.consultation_types,
            submitted: d.submitted_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect())
}

/// `POST /api/admin_review_doctor`: approve, or reject with a reason.
#[server(prefix = "/api", endpoint = "admin_review_doctor")]
pub async fn admin_review_doctor(doctor_id: Uuid, approve: bool, reason: String) -> Result<(), AppError> {
    use crate::server::auth::session::{current_request_meta, require_admin};
    use crate::server::services::doctors;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let admin = require_admin(&state).await?;
    doctors::review(&state, admin, doctor_id, approve, &reason, &current_request_meta()).await
}

// --- availability -------------------------------------------------------------

/// A weekly or one-off window, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowForm {
    /// "weekly" or "date".
    pub kind: String,
    #[serde(default)]
    pub day_of_week: String,
    #[serde(default)]
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub timezone: String,
    #[serde(default)]
    pub valid_from: String,
    #[serde(default)]
    pub valid_until: String,
}

/// Time off, as typed (times empty for whole days).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeOffForm {
    pub first_date: String,
    #[serde(default)]
    pub last_date: String,
    #[serde(default)]
    pub start_time: String,
    #[serde(default)]
    pub end_time: String,
    #[serde(default)]
    pub note: String,
}

/// One line of the availability editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedItem {
    pub id: Uuid,
    pub label: String,
}

/// One day of bookable times, in the viewer's timezone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySlots {
    /// "Monday 7 December".
    pub day: String,
    pub slots: Vec<SlotView>,
}

/// One bookable time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotView {
    /// The instant, RFC 3339 in UTC (what a booking sends back).
    pub starts_at: String,
    /// "09:30", in the viewer's timezone.
    pub time: String,
    /// "Mon 7 Dec, 09:30", in the viewer's timezone.
    pub label: String,
}

/// What the availability editor shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityView {
    /// The doctor's own timezone (new windows default to it).
    pub timezone: String,
    pub is_available: bool,
    pub windows: Vec<ListedItem>,
    pub time_off: Vec<ListedItem>,
    /// The next two weeks, as patients will see them (in the doctor's timezone).
    pub preview: Vec<DaySlots>,
}

/// Groups instants by local day, in `tz`.
#[cfg(feature = "ssr")]
pub(crate) fn by_day(slots: &[crate::domain::slots::Interval], tz: chrono_tz::Tz) -> Vec<DaySlots> {
    let mut days: Vec<DaySlots> = Vec::new();
    for slot in slots {
        let local = slot.start.with_timezone(&tz);
        let day = local.format("%A %-d %B").to_string();
        let view = SlotView {
            starts_at: slot.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            time: local.format("%H:%M").to_string(),
            label: local.format("%a %-d %b, %H:%M").to_string(),
        };
        match days.last_mut() {
            Some(last) if last.day == day => last.slots.push(view),
            _ => days.push(DaySlots { day, slots: vec![view] }),
        }
    }
    days
}

/// `GET /api/my_availability`
#[server(prefix = "/api", endpoint = "my_availability", input = leptos::server_fn::codec::GetUrl)]
pub async fn my_availability() -> Result<AvailabilityView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::require_role;
    use crate::server::services::doctors;
    use crate::server::state::AppState;
    const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    let state = AppState::current()?;
    let a = doctors::availability(&state, require_role(Role::Doctor)?).await?;
    let tz = a.timezone;
    let windows = a
        .windows
        .iter()
        .map(|w| {
            let end = if w.end_time == chrono::NaiveTime::MIN {
                "24:00".into()
            } else {
                w.end_time.format("%H:%M").to_string()
            };
            let hours = format!("{}–{} ({})", w.start_time.format("%H:%M"), end, w.timezone);
            let label = if w.is_recurring {
                let mut label = format!("Every {}, {hours}", DAYS[w.day_of_week.clamp(0, 6) as usize]);
                match (w.valid_from, w.valid_until) {
                    (Some(f), Some(u)) => label.push_str(&format!(", from {f} to {u}")),
                    (Some(f), None) => label.push_str(&format!(", from {f}")),
                    (None, Some(u)) => label.push_str(&format!(", until {u}")),
                    (None, None) => {}
                }
                label
            } else {
                let date = w.valid_from.map(|d| d.format("%A %-d %B %Y").to_string()).unwrap_or_default();
                format!("{date}, {hours}")
            };
            ListedItem { id: w.id, label }
        })
        .collect();
    let time_off = a
        .time_off
        .iter()
        .map(|t| {
            let (s, e) = (t.starts_at.with_timezone(&tz), t.ends_at.with_timezone(&tz));
            let mut label = format!("{} to {}", s.format("%a %-d %b %Y %H:%M"), e.format("%a %-d %b %Y %H:%M"));
            if let Some(note) = &t.note {
                label.push_str(&format!(" · {note}"));
            }
            ListedItem { id: t.id, label }
        })
        .collect();
    Ok(AvailabilityView {
        timezone: tz.name().to_owned(),
        is_available: a.is_available,
        windows,
        time_off,
        preview: by_day(&a.preview, tz),
    })
}

/// `POST /api/add_availability_window`
#[server(prefix = "/api", endpoint = "add_availability_window")]
pub async fn add_availability_window(window: WindowForm) -> Result<Uuid, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::doctors::{self, WindowInput};
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let input = WindowInput {
        kind: window.kind,
        day_of_week: window.day_of_week,
        date: window.date,
        start_time: window.start_time,
        end_time: window.end_time,
        timezone: window.timezone,
        valid_from: window.valid_from,
        valid_until: window.valid_until,
    };
    doctors::add_window(&state, require_role(Role::Doctor)?, &input, &current_request_meta()).await
}

/// `POST /api/remove_availability_window`
#[server(prefix = "/api", endpoint = "remove_availability_window")]
pub async fn remove_availability_window(id: Uuid) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::doctors;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    doctors::remove_window(&state, require_role(Role::Doctor)?, id, &current_request_meta()).await
}

/// `POST /api/add_time_off`
#[server(prefix = "/api", endpoint = "add_time_off")]
pub async fn add_time_off(time_off: TimeOffForm) -> Result<Uuid, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::doctors::{self, TimeOffInput};
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let input = TimeOffInput {
        first_date: time_off.first_date,
        last_date: time_off.last_date,
        start_time: time_off.start_time,
        end_time: time_off.end_time,
        note: time_off.note,
    };
    doctors::add_time_off(&state, require_role(Role::Doctor)?, &input, &current_request_meta()).await
}

/// `POST /api/remove_time_off`
#[server(prefix = "/api", endpoint = "remove_time_off")]
pub async fn remove_time_off(id: Uuid) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::doctors;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    doctors::remove_time_off(&state, require_role(Role::Doctor)?, id, &current_request_meta()).await
}

// --- discovery ------------------------------------------------------------------

/// A doctor as a search result or at the top of their page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorCard {
    pub id: Uuid,
    /// "Dr Amara Okafor".
    pub name: String,
    pub specialization: String,
    pub experience_years: Option<i32>,
    pub qualification: String,
    pub bio: String,
    /// Language names ("English").
    pub languages: Vec<String>,
    /// "GBP 60.00".
    pub fee: String,
    pub consultation_types: Vec<String>,
    /// "4.8", or None before the first rating.
    pub rating: Option<String>,
    pub total_consultations: i32,
    pub slot_minutes: i16,
    /// The next bookable times (at most three in results).
    pub next_slots: Vec<SlotView>,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    pub doctors: Vec<DoctorCard>,
    pub total: usize,
    pub page: u32,
    pub pages: u32,
    /// The timezone the times are in.
    pub timezone: String,
}

/// The timezone times are shown in: the one asked for (`tz`, chosen on the
/// page or reported by the browser), else the signed-in person's own, else
/// the one the `th_tz` cookie remembers, else UTC.
#[cfg(feature = "ssr")]
pub(crate) async fn viewer_timezone(state: &crate::server::state::AppState, tz: Option<&str>) -> chrono_tz::Tz {
    use crate::domain::timezone::parse_timezone;
    use crate::server::auth::session::{current_user, request_cookie};
    if let Some(zone) = tz.and_then(parse_timezone) {
        return zone;
    }
    if let Some(user) = current_user() {
        // As the viewer: their profile is theirs to read.
        if let Ok(mut tx) = crate::server::db::begin(&state.pool, Some(user.actor())).await {
            if let Ok(Some(summary)) = crate::server::db::users::summary(&mut tx, user.user_id).await {
                if let Some(zone) = parse_timezone(&summary.timezone) {
                    return zone;
                }
            }
        }
    }
    request_cookie("th_tz").and_then(|c| parse_timezone(&c.replace("%2F", "/"))).unwrap_or(chrono_tz::UTC)
}

#[cfg(feature = "ssr")]
fn card(
    d: crate::server::db::doctors::ListedDoctor,
    slots: &[crate::domain::slots::Interval],
    tz: chrono_tz::Tz,
) -> DoctorCard {
    use crate::domain::doctor::language_name;
    DoctorCard {
        id: d.id,
        name: format!("Dr {} {}", d.first_name, d.last_name),
        specialization: d.specialization,
        experience_years: d.experience_years,
        qualification: d.qualification.unwrap_or_default(),
        bio: d.bio.unwrap_or_default(),
        languages: d.languages.iter().map(|l| language_name(l).to_owned()).collect(),
        fee: format!("{} {}", d.currency, d.consultation_fee),
        consultation_types: d.consultation_types,
        rating: d.rating.map(|r| r.round_dp(1).to_string()),
        total_consultations: d.total_consultations,
        slot_minutes: d.slot_minutes,
        next_slots: by_day(slots, tz).into_iter().flat_map(|d| d.slots).collect(),
    }
}

/// `GET /api/search_doctors`: bookable doctors matching the filters (all
/// optional), with their next times in the viewer's timezone.
#[server(prefix = "/api", endpoint = "search_doctors", input = leptos::server_fn::codec::GetUrl)]
pub async fn search_doctors(
    specialization: Option<String>,
    name: Option<String>,
    language: Option<String>,
    currency: Option<String>,
    fee_min: Option<String>,
    fee_max: Option<String>,
    min_rating: Option<String>,
    consultation_type: Option<String>,
    available: Option<String>,
    date: Option<String>,
    sort: Option<String>,
    page: Option<u32>,
    tz: Option<String>,
) -> Result<SearchPage, AppError> {
    use crate::server::services::doctors::{self, SearchRequest};
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let zone = viewer_timezone(&state, tz.as_deref()).await;
    let request = SearchRequest {
        specialization: specialization.unwrap_or_default(),
        name: name.unwrap_or_default(),
        language: language.unwrap_or_default(),
        currency: currency.unwrap_or_default(),
        fee_min: fee_min.unwrap_or_default(),
        fee_max: fee_max.unwrap_or_default(),
        min_rating: min_rating.unwrap_or_default(),
        consultation_type: consultation_type.unwrap_or_default(),
        available: available.unwrap_or_default(),
        date: date.unwrap_or_default(),
        sort: sort.unwrap_or_default(),
        page: page.unwrap_or(1),
    };
    let results = doctors::search(&state, &request, zone).await?;
    Ok(SearchPage {
        doctors: results.found.into_iter().map(|f| card(f.doctor, &f.next_slots, zone)).collect(),
        total: results.total,
        page: results.page,
        pages: results.pages,
        timezone: zone.name().to_owned(),
    })
}

/// One patient's review, as a doctor's page shows it: never more of the
/// patient than their first name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewCard {
    /// 1 to 5 stars.
    pub rating: u8,
    pub comment: Option<String>,
    pub first_name: String,
    /// "12 Nov 2026", in the viewer's timezone.
    pub date: String,
    /// "2026-11-12" (for `<time datetime>`).
    pub datetime: String,
}

/// A doctor's page: who they are, two weeks of bookable times by day, and
/// the latest reviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorPageView {
    pub doctor: DoctorCard,
    pub days: Vec<DaySlots>,
    pub timezone: String,
    /// The latest reviews (at most 10), newest first.
    pub reviews: Vec<ReviewCard>,
    /// All of the doctor's reviews.
    pub review_count: i32,
}

/// `GET /api/doctor_details?id=`: 404 for a doctor patients cannot see.
#[server(prefix = "/api", endpoint = "doctor_details", input = leptos::server_fn::codec::GetUrl)]
pub async fn doctor_details(id: Uuid, tz: Option<String>) -> Result<DoctorPageView, AppError> {
    use crate::server::services::doctors;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let zone = viewer_timezone(&state, tz.as_deref()).await;
    let page = doctors::public_doctor(&state, id).await?;
    let days = by_day(&page.slots, zone);
    let mut doctor = card(page.doctor, &[], zone);
    doctor.next_slots = days.iter().flat_map(|d| d.slots.iter().cloned()).take(3).collect();
    let reviews = page
        .reviews
        .into_iter()
        .map(|r| {
            let local = r.created_at.with_timezone(&zone);
            ReviewCard {
                rating: r.rating.clamp(1, 5) as u8,
                comment: r.comment.filter(|c| !c.trim().is_empty()),
                first_name: r.patient_first_name,
                date: local.format("%-d %b %Y").to_string(),
                datetime: local.format("%Y-%m-%d").to_string(),
            }
        })
        .collect();
    Ok(DoctorPageView { doctor, days, timezone: zone.name().to_owned(), reviews, review_count: page.review_count })
}
