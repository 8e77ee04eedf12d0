//! The visit: who may enter the room, starting and ending it, notes and
//! addenda, prescriptions, reviews, and the no-show sweep. Every use case is
//! one transaction with its audit row; every read of the record is audited
//! too (one row per view).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use uuid::Uuid;

use crate::api::room::{
    AddendumView, ChatMessageView, MyPrescriptionsView, NotesOutcome, PrescriptionView, ReviewView, RoomPhase,
    RoomView, ServerEvent,
};
use crate::components::call::IceServer;
use crate::domain::lifecycle::{self, Event, RoomState};
use crate::domain::prescription::{self, PrescriptionInput};
use crate::domain::{ConsultationStatus, ConsultationType, Role};
use crate::error::AppError;
use crate::server::auth::session::CurrentUser;
use crate::server::db::audit::{self, AuditEntry};
use crate::server::db::prescriptions::{self, NewPrescription, PrescriptionRow};
use crate::server::db::room::{self as records, RecordRow};
use crate::server::db::{self, users};
use crate::server::room_hub;
use crate::server::services::auth::RequestMeta;
use crate::server::state::AppState;

/// The viewer's side of a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Patient,
    Doctor,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Patient => "patient",
            Side::Doctor => "doctor",
        }
    }
}

/// The viewer's side, or None for anyone else (admins included: the room
/// and the notes are for the two parties only).
pub fn side_of(user: &CurrentUser, row: &RecordRow) -> Option<Side> {
    match user.role {
        Role::Patient if row.patient_id == user.user_id => Some(Side::Patient),
        Role::Doctor if row.doctor_user_id == user.user_id => Some(Side::Doctor),
        _ => None,
    }
}

fn status_of(row: &RecordRow) -> ConsultationStatus {
    row.status.parse().unwrap_or(ConsultationStatus::Cancelled)
}

/// A stranger asked for a consultation: 404 and an audit row (in its own
/// transaction, as the request's is rolled back).
async fn refuse(
    state: &AppState,
    user: &CurrentUser,
    resource_type: &str,
    id: Uuid,
    what: &str,
    meta: &RequestMeta,
) -> AppError {
    let entry = meta.audit("consultation.access_denied", resource_type).by(user.user_id).on(id);
    let entry = entry.details(json!({ "what": what, "role": user.role.as_str() }));
    match db::begin(&state.pool, Some(user.actor())).await {
        Ok(mut tx) => {
            if audit::record(&mut tx, &entry).await.is_ok() {
                let _ = tx.commit().await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not audit a refused access"),
    }
    AppError::NotFound
}

/// Locks the record for the use case; 404 (audited) unless the viewer is on `side`,
/// 409 when it is theirs but archived (read-only).
/// The transaction comes back with the row; on refusal it is rolled back
/// before the refusal is audited (never two connections held at once).
async fn lock_as(
    state: &AppState,
    mut tx: Tx,
    user: &CurrentUser,
    id: Uuid,
    side: Side,
    what: &str,
    meta: &RequestMeta,
) -> Result<(Tx, RecordRow), AppError> {
    match records::lock_record(&mut tx, id).await? {
        Some(row) if side_of(user, &row) == Some(side) => Ok((tx, row)),
        None if records::record(&mut tx, id).await?.is_some_and(|r| r.archived && side_of(user, &r) == Some(side)) => {
            Err(AppError::Conflict(crate::server::services::archive::READ_ONLY.into()))
        }
        _ => {
            drop(tx);
            Err(refuse(state, user, "consultation", id, what, meta).await)
        }
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

fn local(t: DateTime<Utc>, tz: Tz, format: &str) -> String {
    t.with_timezone(&tz).format(format).to_string()
}

pub fn chat_view(m: &records::MessageRow, row: &RecordRow, tz: Tz) -> ChatMessageView {
    let (role, name) = if m.sender_id == row.patient_id {
        ("patient", format!("{} {}", row.patient_first_name, row.patient_last_name))
    } else {
        ("doctor", format!("Dr {} {}", row.doctor_first_name, row.doctor_last_name))
    };
    ChatMessageView {
        id: m.id,
        client_id: m.client_id,
        sender_role: role.into(),
        sender_name: name,
        body: m.body.clone(),
        time: local(m.created_at, tz, "%H:%M"),
        at: m.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

pub fn prescription_view(p: &PrescriptionRow, tz: Tz) -> PrescriptionView {
    PrescriptionView {
        id: p.id,
        consultation_id: p.consultation_id,
        version: p.version,
        is_active: p.is_active,
        issued: local(p.created_at, tz, "%a %-d %b %Y, %H:%M"),
        doctor_name: format!("Dr {} {}", p.doctor_first_name, p.doctor_last_name),
        medications: p.medications.0.clone(),
        lines: p.medications.iter().map(prescription::summary).collect(),
        instructions: p.instructions.clone(),
        follow_up: p.follow_up_date.map(|d| d.format("%A %-d %B %Y").to_string()),
        supersedes_id: p.supersedes_id,
    }
}

fn ice_servers(state: &AppState) -> Vec<IceServer> {
    let room = &state.settings.room;
    let urls: Vec<String> =
        room.ice_servers.split(',').map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect();
    if urls.is_empty() {
        return Vec::new();
    }
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    vec![IceServer {
        urls,
        username: non_empty(&room.ice_username),
        credential: non_empty(room.ice_credential.expose()),
    }]
}

/// The room and the record as the viewer may see them; audited as a view.
pub async fn view(state: &AppState, user: CurrentUser, id: Uuid, meta: &RequestMeta) -> Result<RoomView, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let row = records::record(&mut tx, id).await?;
    let Some((row, side)) = row.and_then(|r| side_of(&user, &r).map(|s| (r, s))) else {
        drop(tx);
        return Err(refuse(state, &user, "consultation", id, "room", meta).await);
    };
    let tz = users::timezone(&mut tx, user.user_id).await?;
    let status = status_of(&row);
    let now = Utc::now();
    let rules = state.settings.room.rules();
    let room_state = rules.state(status, row.scheduled_at, row.scheduled_end_at, now);
    // An archived record is only read: nothing in it can be done any more.
    let room_state = if row.archived { RoomState::Closed } else { room_state };
    let writable = !row.archived;
    let phase = match room_state {
        RoomState::OpensAt(t) => RoomPhase::NotYetOpen { opens: local(t, tz, "%H:%M on %a %-d %b") },
        RoomState::Waiting => RoomPhase::Waiting,
        RoomState::InProgress => RoomPhase::InProgress,
        RoomState::Closed => RoomPhase::Closed,
    };
    let doctor = side == Side::Doctor;
    let visited = matches!(status, ConsultationStatus::InProgress | ConsultationStatus::Completed);
    // The chat is there once the visit started (no lobby bypass), and stays readable.
    let messages = if visited { records::messages(&mut tx, id).await? } else { Vec::new() };
    let addenda = records::addenda(&mut tx, id).await?;
    let prescriptions = prescriptions::of_consultation(&mut tx, id).await?;
    let review = records::review_of(&mut tx, id).await?;
    let entry = meta.audit("consultation.viewed", "consultation").by(user.user_id).on(id);
    let entry = entry.details(
        json!({ "side": side.as_str(), "notes_included": doctor, "status": row.status, "archived": row.archived }),
    );
    audit::record(&mut tx, &entry).await?;
    tx.commit().await?;

    let completed = status == ConsultationStatus::Completed;
    let may_start = room_state == RoomState::Waiting;
    let no_show_from = row.scheduled_at + chrono::Duration::minutes(rules.no_show_grace_minutes.min(10));
    Ok(RoomView {
        id,
        my_role: side.as_str().into(),
        my_name: if doctor {
            format!("Dr {} {}", row.doctor_first_name, row.doctor_last_name)
        } else {
            format!("{} {}", row.patient_first_name, row.patient_last_name)
        },
        doctor_name: format!("Dr {} {}", row.doctor_first_name, row.doctor_last_name),
        patient_name: format!("{} {}", row.patient_first_name, row.patient_last_name),
        specialization: row.specialization.clone(),
        when: format!(
            "{}–{}",
            local(row.scheduled_at, tz, "%a %-d %b %Y, %H:%M"),
            local(row.scheduled_end_at, tz, "%H:%M")
        ),
        timezone: tz.name().into(),
        consultation_type: row.consultation_type.clone(),
        status: row.status.clone(),
        phase,
        symptoms: row.symptoms.clone(),
        notes: if doctor { row.notes.clone() } else { None },
        diagnosis: if doctor || completed { row.diagnosis.clone() } else { None },
        notes_version: if doctor { row.notes_version } else { 0 },
        notes_saved: if doctor { row.notes_updated_at.map(|t| local(t, tz, "%H:%M:%S")) } else { None },
        started: row.started_at.map(|t| local(t, tz, "%H:%M")),
        ended: row.ended_at.map(|t| local(t, tz, "%H:%M")),
        duration_minutes: row.duration_minutes,
        addenda: addenda
            .iter()
            .map(|a| AddendumView {
                author: format!("Dr {} {}", a.author_first_name, a.author_last_name),
                when: local(a.created_at, tz, "%a %-d %b %Y, %H:%M"),
                body: a.body.clone(),
            })
            .collect(),
        messages: messages.iter().map(|m| chat_view(m, &row, tz)).collect(),
        prescriptions: prescriptions.iter().map(|p| prescription_view(p, tz)).collect(),
        can_review: writable && !doctor && completed && review.is_none(),
        review: review.map(|r| ReviewView {
            rating: r.rating,
            comment: r.comment,
            when: local(r.created_at, tz, "%a %-d %b %Y"),
            by: r.patient_first_name,
        }),
        can_start: doctor && may_start,
        can_complete: doctor && status == ConsultationStatus::InProgress,
        can_mark_no_show: doctor && may_start && now >= no_show_from,
        can_prescribe: writable && doctor && visited,
        can_add_addendum: writable && doctor && completed,
        ice_servers: ice_servers(state),
    })
}

/// What a list links to for a consultation: its room while open, its
/// record after the visit, nothing before the room opens.
pub fn room_link(
    state: &AppState,
    status: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    let status: ConsultationStatus = status.parse().ok()?;
    match state.settings.room.rules().state(status, start, end, now) {
        RoomState::Waiting | RoomState::InProgress => Some("Join the room"),
        _ if status == ConsultationStatus::Completed => Some("Open the record"),
        _ => None,
    }
}

fn lifecycle_error(e: lifecycle::NotAllowed) -> AppError {
    AppError::Conflict(e.to_string())
}

/// The doctor starts the visit: from when the room opens until the no-show time.
pub async fn start(state: &AppState, doctor: CurrentUser, id: Uuid, meta: &RequestMeta) -> Result<(), AppError> {
    let tx = db::begin(&state.pool, Some(doctor.actor())).await?;
    let (mut tx, row) = lock_as(state, tx, &doctor, id, Side::Doctor, "start", meta).await?;
    let status = status_of(&row);
    let to = lifecycle::next(status, Event::Start).map_err(lifecycle_error)?;
    let now = Utc::now();
    match state.settings.room.rules().state(status, row.scheduled_at, row.scheduled_end_at, now) {
        RoomState::Waiting => {}
        RoomState::OpensAt(_) => {
            return Err(AppError::Conflict(format!(
                "It is too early: the visit can start {} minutes before its time.",
                state.settings.room.open_minutes_before
            )))
        }
        _ => return Err(AppError::Conflict("This visit can no longer be started.".into())),
    }
    records::start(&mut tx, id, now).await?;
    let entry = meta.audit("consultation.started", "consultation").by(doctor.user_id).on(id);
    audit::record(&mut tx, &entry).await?;
    room_hub::publish(&mut tx, id, &ServerEvent::State { status: to.as_str().into() }).await?;
    tx.commit().await?;
    Ok(())
}

const NOTES_MAX: usize = 100_000;
const DIAGNOSIS_MAX: usize = 4000;

fn check_notes(notes: &str, diagnosis: &str) -> Result<(), AppError> {
    if notes.chars().count() > NOTES_MAX {
        return Err(AppError::field("notes", format!("Notes are limited to {NOTES_MAX} characters.")));
    }
    if diagnosis.chars().count() > DIAGNOSIS_MAX {
        return Err(AppError::field("diagnosis", format!("Keep the diagnosis under {DIAGNOSIS_MAX} characters.")));
    }
    Ok(())
}

/// Saves notes and diagnosis unless someone saved since `base_version`; in
/// that case nothing is overwritten and the stored text comes back.
async fn store_notes(
    tx: &mut sqlx::PgConnection,
    row: &RecordRow,
    notes: &str,
    diagnosis: &str,
    base_version: i32,
    tz: Tz,
) -> Result<NotesOutcome, AppError> {
    match records::save_notes(tx, row.id, notes, diagnosis, base_version).await? {
        Some(saved) => {
            let at = local(saved.saved_at, tz, "%H:%M:%S");
            room_hub::publish_to_role(
                tx,
                row.id,
                "doctor",
                &ServerEvent::NotesSaved { version: saved.version, at: at.clone() },
            )
            .await?;
            Ok(NotesOutcome::Saved { version: saved.version, at })
        }
        None => Ok(NotesOutcome::Conflict {
            version: row.notes_version,
            notes: row.notes.clone().unwrap_or_default(),
            diagnosis: row.diagnosis.clone().unwrap_or_default(),
        }),
    }
}

/// Autosave: while the visit is scheduled or under way (after completion
/// the record is locked; corrections are addenda).
pub async fn save_notes(
    state: &AppState,
    doctor: CurrentUser,
    id: Uuid,
    notes: &str,
    diagnosis: &str,
    base_version: i32,
    meta: &RequestMeta,
) -> Result<NotesOutcome, AppError> {
    check_notes(notes, diagnosis)?;
    let tx = db::begin(&state.pool, Some(doctor.actor())).await?;
    let (mut tx, row) = lock_as(state, tx, &doctor, id, Side::Doctor, "notes", meta).await?;
    if !matches!(status_of(&row), ConsultationStatus::Scheduled | ConsultationStatus::InProgress) {
        return Err(AppError::Conflict(
            "The record of this consultation is closed: add an addendum to correct it.".into(),
        ));
    }
    let tz = users::timezone(&mut tx, doctor.user_id).await?;
    let outcome = store_notes(&mut tx, &row, notes, diagnosis, base_version, tz).await?;
    let saved = matches!(outcome, NotesOutcome::Saved { .. });
    let entry = meta.audit("consultation.notes_saved", "consultation").by(doctor.user_id).on(id);
    // Lengths only: never the text.
    let entry =
        entry.details(json!({ "saved": saved, "notes_chars": notes.chars().count(), "base_version": base_version }));
    audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Saves the final notes and ends the visit (locking the record).
pub async fn complete(
    state: &AppState,
    doctor: CurrentUser,
    id: Uuid,
    notes: &str,
    diagnosis: &str,
    base_version: i32,
    meta: &RequestMeta,
) -> Result<NotesOutcome, AppError> {
    check_notes(notes, diagnosis)?;
    let tx = db::begin(&state.pool, Some(doctor.actor())).await?;
    let (mut tx, row) = lock_as(state, tx, &doctor, id, Side::Doctor, "complete", meta).await?;
    let to = lifecycle::next(status_of(&row), Event::Complete).map_err(lifecycle_error)?;
    let tz = users::timezone(&mut tx, doctor.user_id).await?;
    let outcome = store_notes(&mut tx, &row, notes, diagnosis, base_version, tz).await?;
    if matches!(outcome, NotesOutcome::Conflict { .. }) {
        // Nothing is completed over notes the doctor has not seen.
        return Ok(outcome);
    }
    let now = Utc::now();
    let started = row.started_at.unwrap_or(now);
    let minutes = lifecycle::duration_minutes(started, now);
    records::complete(&mut tx, id, row.doctor_id, now, minutes).await?;
    let entry = meta.audit("consultation.completed", "consultation").by(doctor.user_id).on(id);
    audit::record(&mut tx, &entry.details(json!({ "duration_minutes": minutes }))).await?;
    room_hub::publish(&mut tx, id, &ServerEvent::State { status: to.as_str().into() }).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The doctor marks that the patient did not come (from 10 minutes after the start).
pub async fn no_show(state: &AppState, doctor: CurrentUser, id: Uuid, meta: &RequestMeta) -> Result<(), AppError> {
    let tx = db::begin(&state.pool, Some(doctor.actor())).await?;
    let (mut tx, row) = lock_as(state, tx, &doctor, id, Side::Doctor, "no_show", meta).await?;
    let to = lifecycle::next(status_of(&row), Event::NoShow).map_err(lifecycle_error)?;
    let grace = state.settings.room.no_show_grace_minutes.min(10) as i64;
    if Utc::now() < row.scheduled_at + chrono::Duration::minutes(grace) {
        return Err(AppError::Conflict(format!(
            "Wait for the patient until {grace} minutes after the start before marking a no-show."
        )));
    }
    records::mark_no_show(&mut tx, id).await?;
    let entry = meta.audit("consultation.no_show", "consultation").by(doctor.user_id).on(id);
    audit::record(&mut tx, &entry.details(json!({ "marked_by": "doctor" }))).await?;
    room_hub::publish(&mut tx, id, &ServerEvent::State { status: to.as_str().into() }).await?;
    tx.commit().await?;
    Ok(())
}

/// The job: scheduled visits nobody started by their end plus the grace
/// period become no-shows.
pub async fn sweep_no_shows(state: &AppState) -> Result<usize, sqlx::Error> {
    let grace = chrono::Duration::minutes(state.settings.room.no_show_grace_minutes as i64);
    let mut tx = db::begin_system(&state.pool).await?;
    let ids = records::sweep_no_shows(&mut tx, Utc::now() - grace).await?;
    for id in &ids {
        let entry = AuditEntry::new("consultation.no_show", "consultation").on(*id);
        audit::record(&mut tx, &entry.details(json!({ "marked_by": "system" }))).await?;
        room_hub::publish(&mut tx, *id, &ServerEvent::State { status: "no_show".into() }).await?;
    }
    tx.commit().await?;
    Ok(ids.len())
}

pub async fn add_addendum(
    state: &AppState,
    doctor: CurrentUser,
    id: Uuid,
    body: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::field("body", "Write the correction or addition."));
    }
    if body.chars().count() > 10_000 {
        return Err(AppError::field("body", "Keep an addendum under 10000 characters."));
    }
    let tx = db::begin(&state.pool, Some(doctor.actor())).await?;
    let (mut tx, row) = lock_as(state, tx, &doctor, id, Side::Doctor, "addendum", meta).await?;
    if status_of(&row) != ConsultationStatus::Completed {
        return Err(AppError::Conflict("Addenda are for completed consultations: edit the notes instead.".into()));
    }
    let addendum = records::add_addendum(&mut tx, id, doctor.user_id, body).await?;
    let entry = meta.audit("consultation.addendum_added", "consultation").by(doctor.user_id).on(id);
    audit::record(&mut tx, &entry.details(json!({ "addendum_id": addendum, "chars": body.chars().count() }))).await?;
    tx.commit().await?;
    Ok(())
}

/// Issues a prescription (during or after the visit); with `supersedes`, a
/// corrected version of an active one, which becomes history.
pub async fn prescribe(
    state: &AppState,
    doctor: CurrentUser,
    id: Uuid,
    input: &PrescriptionInput,
    supersedes: Option<Uuid>,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    let tx = db::begin(&state.pool, Some(doctor.actor())).await?;
    let (mut tx, row) = lock_as(state, tx, &doctor, id, Side::Doctor, "prescribe", meta).await?;
    if !matches!(status_of(&row), ConsultationStatus::InProgress | ConsultationStatus::Completed) {
        return Err(AppError::Conflict("Prescriptions are issued during or after the visit.".into()));
    }
    let tz = users::timezone(&mut tx, doctor.user_id).await?;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let valid = prescription::validate(input, today).map_err(AppError::Validation)?;
    let new = NewPrescription {
        consultation_id: id,
        patient_id: row.patient_id,
        doctor_id: row.doctor_id,
        medications: &valid.medications,
        instructions: valid.instructions.as_deref(),
        follow_up_date: valid.follow_up_date,
    };
    let Some((prescription_id, version)) = prescriptions::issue(&mut tx, &new, supersedes).await? else {
        return Err(AppError::Conflict(
            "That prescription was already corrected or is not part of this consultation: reload the page.".into(),
        ));
    };
    let entry = meta.audit("prescription.issued", "prescription").by(doctor.user_id).on(prescription_id);
    let entry = entry.details(json!({
        "consultation_id": id,
        "version": version,
        "supersedes": supersedes,
        "medications": valid.medications.len(),
    }));
    audit::record(&mut tx, &entry).await?;
    room_hub::publish(&mut tx, id, &ServerEvent::PrescriptionsChanged).await?;
    tx.commit().await?;
    Ok(prescription_id)
}

/// A consultation's prescriptions, for its patient and doctor; audited as a view.
pub async fn prescriptions_of(
    state: &AppState,
    user: CurrentUser,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<Vec<PrescriptionView>, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let row = records::record(&mut tx, id).await?;
    if row.as_ref().is_none_or(|r| side_of(&user, r).is_none()) {
        drop(tx);
        return Err(refuse(state, &user, "consultation", id, "prescriptions", meta).await);
    }
    let tz = users::timezone(&mut tx, user.user_id).await?;
    let rows = prescriptions::of_consultation(&mut tx, id).await?;
    let entry = meta.audit("prescription.list_viewed", "consultation").by(user.user_id).on(id);
    audit::record(&mut tx, &entry.details(json!({ "prescriptions": rows.len() }))).await?;
    tx.commit().await?;
    Ok(rows.iter().map(|p| prescription_view(p, tz)).collect())
}

/// The patient's prescriptions, audited as a view.
pub async fn my_prescriptions(
    state: &AppState,
    patient: CurrentUser,
    meta: &RequestMeta,
) -> Result<MyPrescriptionsView, AppError> {
    let mut tx = db::begin(&state.pool, Some(patient.actor())).await?;
    let tz = users::timezone(&mut tx, patient.user_id).await?;
    let rows = prescriptions::of_patient(&mut tx, patient.user_id).await?;
    let entry = meta.audit("prescription.list_viewed", "user").by(patient.user_id).on(patient.user_id);
    audit::record(&mut tx, &entry.details(json!({ "prescriptions": rows.len() }))).await?;
    tx.commit().await?;
    let (current, history) = rows.iter().map(|p| prescription_view(p, tz)).partition(|p| p.is_active);
    Ok(MyPrescriptionsView { current, history })
}

/// One prescription as a PDF, for its patient or its doctor; audited.
pub async fn prescription_pdf(
    state: &AppState,
    user: CurrentUser,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<Vec<u8>, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let row = prescriptions::by_id(&mut tx, id).await?;
    let doctor_user = match &row {
        Some(p) => records::record(&mut tx, p.consultation_id).await?.map(|r| r.doctor_user_id),
        None => None,
    };
    let allowed = row.as_ref().is_some_and(|p| match user.role {
        Role::Patient => p.patient_id == user.user_id,
        Role::Doctor => doctor_user == Some(user.user_id),
        Role::Admin => false,
    });
    let (true, Some(p)) = (allowed, row) else {
        drop(tx);
        return Err(refuse(state, &user, "prescription", id, "pdf", meta).await);
    };
    let tz = users::timezone(&mut tx, user.user_id).await?;
    let entry = meta.audit("prescription.downloaded", "prescription").by(user.user_id).on(id);
    audit::record(&mut tx, &entry.details(json!({ "format": "pdf", "version": p.version }))).await?;
    tx.commit().await?;
    let doc = crate::server::pdf::PrescriptionDocument {
        title: "Prescription".into(),
        issued_at: local(p.created_at, tz, "%-d %B %Y, %H:%M (%Z)"),
        doctor_name: format!("Dr {} {}", p.doctor_first_name, p.doctor_last_name),
        doctor_details: format!("{} · Licence {}", p.specialization, p.license_number),
        patient_name: format!("{} {}", p.patient_first_name, p.patient_last_name),
        patient_born: p.patient_born.map(|d| d.format("%-d %B %Y").to_string()),
        medications: p.medications.iter().map(prescription::summary).collect(),
        instructions: p.instructions.clone(),
        follow_up: p.follow_up_date.map(|d| d.format("%A %-d %B %Y").to_string()),
        version_note: (!p.is_active)
            .then(|| "This version was superseded by a corrected prescription.".to_owned())
            .or_else(|| (p.version > 1).then(|| format!("Version {}: corrects an earlier prescription.", p.version))),
        reference: p.id.to_string(),
    };
    Ok(crate::server::pdf::prescription_pdf(&doc))
}

/// The patient rates a completed visit once; the doctor's rating is kept
/// exact in the same transaction.
pub async fn review(
    state: &AppState,
    patient: CurrentUser,
    id: Uuid,
    rating: &str,
    comment: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let stars = rating.trim().parse::<i16>().ok().filter(|r| (1..=5).contains(r));
    let Some(stars) = stars else {
        return Err(AppError::field("rating", "Choose 1 to 5 stars."));
    };
    let comment = comment.trim();
    if comment.chars().count() > 2000 {
        return Err(AppError::field("comment", "Keep the comment under 2000 characters."));
    }
    let tx = db::begin(&state.pool, Some(patient.actor())).await?;
    let (mut tx, row) = lock_as(state, tx, &patient, id, Side::Patient, "review", meta).await?;
    if status_of(&row) != ConsultationStatus::Completed {
        return Err(AppError::Conflict("You can rate a consultation once it is completed.".into()));
    }
    let comment = (!comment.is_empty()).then_some(comment);
    let Some(new_rating) = records::insert_review(&mut tx, id, patient.user_id, row.doctor_id, stars, comment).await?
    else {
        return Err(AppError::Conflict("You have already rated this consultation.".into()));
    };
    let entry = meta.audit("consultation.reviewed", "consultation").by(patient.user_id).on(id);
    let entry = entry.details(json!({ "rating": stars, "doctor_rating": new_rating.to_string() }));
    audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Who may open the room's channel, and as whom. 404 (audited) for
/// strangers; 409 when the room is not open.
pub async fn admit(
    state: &AppState,
    user: CurrentUser,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<(RecordRow, Side), AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let row = records::record(&mut tx, id).await?;
    let Some((row, side)) = row.and_then(|r| side_of(&user, &r).map(|s| (r, s))) else {
        drop(tx);
        return Err(refuse(state, &user, "consultation", id, "room_channel", meta).await);
    };
    let room_state =
        state.settings.room.rules().state(status_of(&row), row.scheduled_at, row.scheduled_end_at, Utc::now());
    if !matches!(room_state, RoomState::Waiting | RoomState::InProgress) {
        return Err(AppError::Conflict("The room is not open.".into()));
    }
    let entry = meta.audit("consultation.room_entered", "consultation").by(user.user_id).on(id);
    audit::record(&mut tx, &entry.details(json!({ "side": side.as_str() }))).await?;
    tx.commit().await?;
    Ok((row, side))
}

/// A chat message from a participant: stored (once per `client_id`),
/// audited, and sent to everyone in the room. Only while the visit is under way.
pub async fn send_chat(
    state: &AppState,
    user: CurrentUser,
    id: Uuid,
    client_id: Uuid,
    body: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::field("body", "Write a message first."));
    }
    if body.chars().count() > crate::api::room::CHAT_MAX_CHARS {
        return Err(AppError::field(
            "body",
            format!("Messages are limited to {} characters.", crate::api::room::CHAT_MAX_CHARS),
        ));
    }
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let row = records::record(&mut tx, id).await?;
    let Some(row) = row.filter(|r| side_of(&user, r).is_some()) else { return Err(AppError::NotFound) };
    if status_of(&row) != ConsultationStatus::InProgress {
        return Err(AppError::Conflict("Messages can be sent while the visit is under way.".into()));
    }
    let message = records::insert_message(&mut tx, id, user.user_id, client_id, body).await?;
    let entry = meta.audit("chat.message_sent", "consultation").by(user.user_id).on(id);
    audit::record(&mut tx, &entry.details(json!({ "message_id": message.id, "chars": body.chars().count() }))).await?;
    // Times go out in UTC; each browser shows them in its own timezone.
    let view = chat_view(&message, &row, chrono_tz::UTC);
    room_hub::publish(&mut tx, id, &ServerEvent::Chat { message: view }).await?;
    tx.commit().await?;
    Ok(())
}

/// A live event a participant sends that is only relayed, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    Typing,
    /// WebRTC signalling (offers, answers, ICE candidates).
    Signal,
}

/// Whether a live event goes to the other side now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relay {
    Allowed,
    /// The doctor has not started the visit (no lobby bypass), or it is over.
    NotUnderWay,
    /// A chat consultation has no call: its signalling is never relayed.
    NoMedia,
}

/// Whether the consultation type has a call (video and audio do; chat, or
/// anything unknown, does not).
fn has_media(consultation_type: &str) -> bool {
    consultation_type.parse::<ConsultationType>().is_ok_and(|t| t != ConsultationType::Chat)
}

/// Whether a participant's typing notice or signal is relayed: only while
/// the visit is under way, and signalling only for a consultation with media.
/// Read afresh for every event (the doctor may have started or ended the visit).
pub async fn may_relay(state: &AppState, user: CurrentUser, id: Uuid, what: Live) -> Result<Relay, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let row = records::record(&mut tx, id).await?;
    tx.commit().await?;
    let Some(row) = row.filter(|r| side_of(&user, r).is_some()) else { return Err(AppError::NotFound) };
    if what == Live::Signal && !has_media(&row.consultation_type) {
        return Ok(Relay::NoMedia);
    }
    if status_of(&row) != ConsultationStatus::InProgress {
        return Ok(Relay::NotUnderWay);
    }
    Ok(Relay::Allowed)
}

/// Follow-up reminders: a day before a prescription's follow-up date, its
/// patient is emailed (once, whatever the number of server instances).
pub async fn send_follow_up_reminders(state: &AppState) -> Result<usize, sqlx::Error> {
    let tomorrow = Utc::now().date_naive() + chrono::Duration::days(1);
    let mut tx = db::begin_system(&state.pool).await?;
    let ids = prescriptions::claim_follow_ups(&mut tx, tomorrow).await?;
    let mut due = Vec::new();
    for id in &ids {
        if let Some(p) = prescriptions::by_id(&mut tx, *id).await? {
            let entry = AuditEntry::new("prescription.follow_up_reminded", "prescription").on(*id);
            audit::record(&mut tx, &entry).await?;
            due.push(p);
        }
    }
    tx.commit().await?;
    for p in &due {
        let when = p.follow_up_date.map(|d| d.format("%A %-d %B %Y").to_string()).unwrap_or_default();
        let body = format!(
            "Hello {},\n\nDr {} {} asked to see you again on {when} about your prescription.\n\
             Book a time on the doctor's page: {}/doctors/{}\n\nTelehealth",
            p.patient_first_name,
            p.doctor_first_name,
            p.doctor_last_name,
            state.settings.app.public_url.trim_end_matches('/'),
            p.doctor_id
        );
        state.mailer.notify_text(&p.patient_email, "Your follow-up is due tomorrow", body).await;
    }
    Ok(due.len())
}

/// The room's periodic work: no-shows, follow-up reminders, parked relay payloads.
pub async fn run_jobs(state: &AppState) {
    match sweep_no_shows(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(no_shows = n, "visits nobody started marked as no-shows"),
        Err(e) => tracing::warn!(error = %e, "the no-show sweep failed"),
    }
    if let Err(e) = send_follow_up_reminders(state).await {
        tracing::warn!(error = %e, "sending follow-up reminders failed");
    }
    if let Err(e) = crate::server::room_hub::sweep_relay(&state.pool).await {
        tracing::warn!(error = %e, "sweeping the room relay failed");
    }
}
