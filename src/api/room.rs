//! The consultation room and the clinical record: entering, starting and
//! ending the visit, notes, addenda, prescriptions and reviews. The live
//! part (presence, chat, signalling) is the room's WebSocket,
//! `/ws/consultations/{id}`.
//!
//! Privacy: the doctor's notes are the doctor's working notes and are never
//! shown to the patient. The patient sees what they wrote when booking, the
//! diagnosis once the visit is completed, every addendum, the chat and the
//! prescriptions.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::components::call::IceServer;
use crate::domain::prescription::{Medication, PrescriptionInput};
use crate::error::AppError;

/// A chat message as both sides see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessageView {
    pub id: Uuid,
    pub client_id: Uuid,
    /// "patient" or "doctor".
    pub sender_role: String,
    pub sender_name: String,
    pub body: String,
    /// "14:05", in the viewer's timezone.
    pub time: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddendumView {
    pub author: String,
    pub when: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrescriptionView {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub version: i32,
    pub is_active: bool,
    pub issued: String,
    pub doctor_name: String,
    pub medications: Vec<Medication>,
    /// One readable line per medication.
    pub lines: Vec<String>,
    pub instructions: Option<String>,
    pub follow_up: Option<String>,
    pub supersedes_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewView {
    pub rating: i16,
    pub comment: Option<String>,
    pub when: String,
    pub by: String,
}

/// Where the room stands for the viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoomPhase {
    /// Too early: the room opens at this time ("09:50").
    NotYetOpen {
        opens: String,
    },
    /// Open; the doctor has not started the visit.
    Waiting,
    InProgress,
    /// Over: completed, a no-show, cancelled, or never paid.
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomView {
    pub id: Uuid,
    /// "patient" or "doctor": who is looking.
    pub my_role: String,
    pub my_name: String,
    pub doctor_name: String,
    pub patient_name: String,
    pub specialization: String,
    pub when: String,
    pub timezone: String,
    pub consultation_type: String,
    pub status: String,
    pub phase: RoomPhase,
    pub symptoms: Option<String>,
    /// The doctor's private notes (the doctor only).
    pub notes: Option<String>,
    /// The doctor always; the patient once the visit is completed.
    pub diagnosis: Option<String>,
    pub notes_version: i32,
    pub notes_saved: Option<String>,
    pub started: Option<String>,
    pub ended: Option<String>,
    pub duration_minutes: Option<i32>,
    pub addenda: Vec<AddendumView>,
    pub messages: Vec<ChatMessageView>,
    pub prescriptions: Vec<PrescriptionView>,
    pub review: Option<ReviewView>,
    pub can_review: bool,
    pub can_start: bool,
    pub can_complete: bool,
    pub can_mark_no_show: bool,
    pub can_prescribe: bool,
    pub can_add_addendum: bool,
    pub ice_servers: Vec<IceServer>,
}

/// `GET /api/room?consultation_id=`: the room and the record, as the
/// viewer may see them. 404 for anyone but the patient and the doctor.
#[server(prefix = "/api", endpoint = "room", input = leptos::server_fn::codec::GetUrl)]
pub async fn room(consultation_id: Uuid) -> Result<RoomView, AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    room::view(&state, require_user()?, consultation_id, &current_request_meta()).await
}

/// `POST /api/start_visit`: the doctor starts the visit (the patient may then join).
#[server(prefix = "/api", endpoint = "start_visit")]
pub async fn start_visit(consultation_id: Uuid) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    room::start(&state, require_role(Role::Doctor)?, consultation_id, &current_request_meta()).await
}

/// What saving notes did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotesOutcome {
    /// Saved as this version, at this time ("14:05:09").
    Saved { version: i32, at: String },
    /// Someone (another tab) saved since the version this edit started
    /// from: nothing was overwritten; here is what is stored now.
    Conflict { version: i32, notes: String, diagnosis: String },
}

/// `POST /api/save_notes`: autosave of the doctor's notes and diagnosis.
#[server(prefix = "/api", endpoint = "save_notes")]
pub async fn save_notes(
    consultation_id: Uuid,
    notes: String,
    diagnosis: String,
    base_version: i32,
) -> Result<NotesOutcome, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let doctor = require_role(Role::Doctor)?;
    room::save_notes(&state, doctor, consultation_id, &notes, &diagnosis, base_version, &current_request_meta()).await
}

/// `POST /api/complete_visit`: saves the final notes and ends the visit.
#[server(prefix = "/api", endpoint = "complete_visit")]
pub async fn complete_visit(
    consultation_id: Uuid,
    notes: String,
    diagnosis: String,
    base_version: i32,
) -> Result<NotesOutcome, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let doctor = require_role(Role::Doctor)?;
    room::complete(&state, doctor, consultation_id, &notes, &diagnosis, base_version, &current_request_meta()).await
}

/// `POST /api/mark_no_show`: the patient did not come.
#[server(prefix = "/api", endpoint = "mark_no_show")]
pub async fn mark_no_show(consultation_id: Uuid) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    room::no_show(&state, require_role(Role::Doctor)?, consultation_id, &current_request_meta()).await
}

/// `POST /api/add_addendum`: a correction to a completed record.
#[server(prefix = "/api", endpoint = "add_addendum")]
pub async fn add_addendum(consultation_id: Uuid, body: String) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    room::add_addendum(&state, require_role(Role::Doctor)?, consultation_id, &body, &current_request_meta()).await
}

/// `POST /api/issue_prescription` (JSON): a new prescription, or with
/// `supersedes` a corrected version of one.
#[server(prefix = "/api", endpoint = "issue_prescription", input = leptos::server_fn::codec::Json)]
pub async fn issue_prescription(
    consultation_id: Uuid,
    prescription: PrescriptionInput,
    supersedes: Option<Uuid>,
) -> Result<Uuid, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let doctor = require_role(Role::Doctor)?;
    room::prescribe(&state, doctor, consultation_id, &prescription, supersedes, &current_request_meta()).await
}

/// `GET /api/consultation_prescriptions?consultation_id=`: the
/// consultation's prescriptions, newest first, for its patient and doctor.
#[server(prefix = "/api", endpoint = "consultation_prescriptions", input = leptos::server_fn::codec::GetUrl)]
pub async fn consultation_prescriptions(consultation_id: Uuid) -> Result<Vec<PrescriptionView>, AppError> {
    use crate::server::auth::session::{current_request_meta, require_user};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    room::prescriptions_of(&state, require_user()?, consultation_id, &current_request_meta()).await
}

/// The patient's prescriptions: current ones and the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyPrescriptionsView {
    pub current: Vec<PrescriptionView>,
    pub history: Vec<PrescriptionView>,
}

/// `GET /api/my_prescriptions`
#[server(prefix = "/api", endpoint = "my_prescriptions", input = leptos::server_fn::codec::GetUrl)]
pub async fn my_prescriptions() -> Result<MyPrescriptionsView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    room::my_prescriptions(&state, require_role(Role::Patient)?, &current_request_meta()).await
}

/// `POST /api/review_consultation`: 1 to 5 stars and a comment, once.
#[server(prefix = "/api", endpoint = "review_consultation")]
pub async fn review_consultation(consultation_id: Uuid, rating: String, comment: String) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::session::{current_request_meta, require_role};
    use crate::server::services::room;
    use crate::server::state::AppState;
    let state = AppState::current()?;
    let patient = require_role(Role::Patient)?;
    room::review(&state, patient, consultation_id, &rating, &comment, &current_request_meta()).await
}

/// What the room's WebSocket sends to a participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// First message on a connection: this connection's id.
    Welcome {
        conn: Uuid,
        role: String,
        status: String,
    },
    /// A participant's connection came or went (or is there, in answer to a newcomer).
    Presence {
        conn: Uuid,
        role: String,
        name: String,
        present: bool,
    },
    /// The consultation's status changed (the doctor started or ended the visit).
    State {
        status: String,
    },
    Chat {
        message: ChatMessageView,
    },
    Typing {
        role: String,
    },
    /// WebRTC signalling from the other side (see `components::call`).
    Signal {
        from: Uuid,
        data: serde_json::Value,
    },
    /// A prescription was issued or corrected: read the list again.
    PrescriptionsChanged,
    /// The doctor's notes were saved (by this or another tab).
    NotesSaved {
        version: i32,
        at: String,
    },
    /// Something the participant sent was refused.
    Refused {
        message: String,
    },
    Pong,
}

/// What a participant sends on the room's WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientEvent {
    /// `client_id` is chosen by the browser: a resend is stored once.
    Chat {
        client_id: Uuid,
        body: String,
    },
    Typing,
    Signal {
        data: serde_json::Value,
    },
    Ping,
}

/// The longest chat message, in characters.
pub const CHAT_MAX_CHARS: usize = 2000;
