//! The consultation room (`/consultations/:id/room`): the waiting room and
//! pre-call check, the visit (video or audio, chat, the doctor's notes and
//! prescriptions) and afterwards the record (diagnosis, addenda,
//! prescriptions, the patient's review).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::{status_label, type_label};
use crate::api::room::{
    room, AddAddendum, ChatMessageView, ClientEvent, MarkNoShow, NotesOutcome, PrescriptionView, ReviewConsultation,
    RoomPhase, RoomView, StartVisit, CHAT_MAX_CHARS,
};
use crate::components::call::{Call, MediaKind, PermissionState};
use crate::components::channel::{Channel, ChannelState};
use crate::components::form::{messages_for, FormAlert, Outcome, TextAreaField};
use crate::components::guard::RequireUser;
use crate::domain::prescription::{MedicationInput, PrescriptionInput, FORMS, ROUTES};
use crate::error::AppError;
use crate::pages::public::set_status;

type RoomResource = Resource<Result<RoomView, AppError>>;

/// Where the channel and the call are kept: thread-local in the browser (they
/// hold JavaScript objects); on the server they are empty placeholders, and
/// the page may be dropped on another thread than it was rendered on.
#[cfg(feature = "hydrate")]
type PageLocal = LocalStorage;
#[cfg(not(feature = "hydrate"))]
type PageLocal = SyncStorage;

#[component]
pub fn RoomPage() -> impl IntoView {
    view! {
        <Title text="Consultation room"/>
        <RequireUser>
            <Room/>
        </RequireUser>
    }
}

#[component]
fn Room() -> impl IntoView {
    let params = use_params_map();
    let room_view: RoomResource = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        |id| async move {
            match Uuid::parse_str(id.trim()) {
                Ok(id) => room(id).await,
                Err(_) => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <section class="stack room">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match room_view.await {
                        Ok(v) => view! { <RoomBody v room_view/> }.into_any(),
                        Err(e) => {
                            set_status(e.status_code());
                            let message = match e {
                                AppError::NotFound => "We could not find this consultation.".to_owned(),
                                e => e.to_string(),
                            };
                            view! {
                                <h1>"Consultation room"</h1>
                                <p class="alert error" role="alert">{message}</p>
                                <p><a href="/">"Home"</a></p>
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// A participant seen on the channel: connection, side, name.
type Present = (Uuid, String, String);

/// The local time of an instant sent by the server ("14:05"); on the
/// server, the label it came with.
fn local_time(at: &str, fallback: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(at));
        if !date.get_time().is_nan() {
            return format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
        }
    }
    let _ = at;
    fallback.to_owned()
}

fn is_final(status: &str) -> bool {
    matches!(status, "completed" | "cancelled" | "no_show")
}

/// The chat after a reconnect: the history as the server has it now, then
/// whatever arrived here that it did not list yet; each message once.
fn merge_messages(shown: &[ChatMessageView], history: Vec<ChatMessageView>) -> Vec<ChatMessageView> {
    let mut merged = history;
    for message in shown {
        if !merged.iter().any(|m| m.id == message.id) {
            merged.push(message.clone());
        }
    }
    merged
}

/// Why the channel may not come back, from the room as the server shows it
/// now (`None`: the room is open, so keep trying). Used by the browser's channel only.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn refusal(outcome: &Result<RoomView, AppError>) -> Option<String> {
    match outcome {
        Ok(v) => match &v.phase {
            RoomPhase::Waiting | RoomPhase::InProgress => None,
            RoomPhase::NotYetOpen { opens } => Some(format!("The room is not open: it opens at {opens}.")),
            RoomPhase::Closed => Some("The room is closed: this visit is over.".to_owned()),
        },
        Err(AppError::Unauthorized) => Some("You were signed out. Sign in again to return to the room.".to_owned()),
        Err(AppError::NotFound | AppError::Forbidden) => Some("You can no longer enter this room.".to_owned()),
        Err(AppError::Conflict(message)) => Some(message.clone()),
        // The network or the server is down: worth trying again.
        Err(_) => None,
    }
}

#[component]
fn RoomBody(v: RoomView, room_view: RoomResource) -> impl IntoView {
    let id = v.id;
    let doctor = v.my_role == "doctor";
    let media = v.consultation_type != "chat";
    let live = matches!(v.phase, RoomPhase::Waiting | RoomPhase::InProgress);
    let status = RwSignal::new(v.status.clone());
    let presence = RwSignal::new(Vec::<Present>::new());
    let messages = RwSignal::new(v.messages.clone());
    let outbox = RwSignal::new(Vec::<(Uuid, String)>::new());
    let typing = RwSignal::new(None::<String>);
    let channel_state = RwSignal::new(if live { ChannelState::Connecting } else { ChannelState::Closed });
    let refused = RwSignal::new(None::<String>);
    // Why the channel gave up for good.
    let gone = RwSignal::new(None::<String>);
    let notes_elsewhere = RwSignal::new(None::<(i32, String)>);
    let call_state = RwSignal::new(String::from("new"));
    let prescription_list = RwSignal::new(v.prescriptions.clone());
    let reload_prescriptions = move || {
        leptos::task::spawn_local(async move {
            if let Ok(list) = crate::api::room::consultation_prescriptions(id).await {
                prescription_list.set(list);
            }
        });
    };
    let permission = RwSignal::new(PermissionState::Unknown);
    let channel = StoredValue::<_, PageLocal>::new_with_storage(None::<Channel>);
    let call = StoredValue::<_, PageLocal>::new_with_storage(None::<Call>);
    // The patient's connection the doctor last offered a call to.
    let offered_to = StoredValue::new(None::<Uuid>);
    // Hung up with the button: no call is offered or answered until "Rejoin".
    let hung_up = StoredValue::new(false);

    let other_side = if doctor { "patient" } else { "doctor" };
    let other_present = Memo::new(move |_| presence.read().iter().any(|p| p.1 == other_side));
    let in_progress = Memo::new(move |_| status.get() == "in_progress");

    // The call: created on first use (pre-call check or the visit).
    let kind = if v.consultation_type == "audio" { MediaKind::Audio } else { MediaKind::Video };
    let ice_servers = StoredValue::new(v.ice_servers.clone());
    let ensure_call = move || -> Call {
        if let Some(existing) = call.get_value() {
            return existing;
        }
        let send_signal = std::rc::Rc::new(move |data: serde_json::Value| {
            channel.with_value(|c| {
                if let Some(c) = c {
                    c.send(&ClientEvent::Signal { data });
                }
            })
        });
        let on_state = std::rc::Rc::new(move |s: String| {
            call_state.try_set(s);
        });
        let created = Call::new(kind, ice_servers.get_value(), send_signal, on_state);

        created.set_remote_element("remote-media");
        call.set_value(Some(created.clone()));
        created
    };
    let start_media = move || {
        let c = ensure_call();
        leptos::task::spawn_local(async move {
            let state = c.start_media("local-media").await;
            permission.set(state);
        });
    };
    // The doctor calls the patient's current connection once the visit is
    // under way and both are there (again after the patient reloads).
    let maybe_offer = move || {
        if !doctor || !media || hung_up.get_value() || !in_progress.try_get_untracked().unwrap_or(false) {
            return;
        }
        let patient = presence.try_with_untracked(|p| p.iter().find(|p| p.1 == "patient").map(|p| p.0)).flatten();
        let Some(patient) = patient else { return };
        if offered_to.get_value() == Some(patient) {
            return;
        }
        offered_to.set_value(Some(patient));
        let c = ensure_call();
        leptos::task::spawn_local(async move {
            if !matches!(c.start_media("local-media").await, PermissionState::Unknown) {
                // (start_media reports the state; the offer goes out either way.)
            }
            c.offer().await;
        });
    };

    // Rejoin after hanging up: the doctor calls again; the patient asks the
    // doctor to (a "rejoin" message, which the doctor's page answers with an offer).
    let rejoin = move || {
        hung_up.set_value(false);
        if doctor {
            offered_to.set_value(None);
            maybe_offer();
        } else {
            let c = ensure_call();
            leptos::task::spawn_local(async move {
                permission.try_set(c.start_media("local-media").await);
                channel.with_value(|ch| {
                    if let Some(ch) = ch {
                        ch.send(&ClientEvent::Signal { data: serde_json::json!({ "kind": "rejoin" }) });
                    }
                });
            });
        }
    };
    let hang_up = move || {
        hung_up.set_value(true);
        if let Some(c) = call.get_value() {
            c.hang_up(true);
        }
    };
    // The visit's status changed (on the channel, or seen again after a reconnect).
    let on_status = move |s: String| {
        let done = is_final(&s);
        status.try_set(s);
        if done {
            if let Some(c) = call.get_value() {
                c.hang_up(false);
            }
            room_view.refetch();
        } else {
            if media && !doctor && !hung_up.get_value() {
                start_media();
            }
            maybe_offer();
        }
    };
    // Back after a drop: what happened meanwhile (chat, status, prescriptions)
    // is read again; presence is announced afresh by everyone in the room.
    let resume = move || {
        leptos::task::spawn_local(async move {
            let Ok(v) = room(id).await else { return };
            outbox.try_update(|o| o.retain(|(client, _)| !v.messages.iter().any(|m| m.client_id == *client)));
            messages.try_update(|m| *m = merge_messages(m, v.messages));
            prescription_list.try_set(v.prescriptions);
            if status.try_get_untracked().is_some_and(|s| s != v.status) {
                on_status(v.status);
            }
        });
    };

    #[cfg(not(feature = "hydrate"))]
    let _ = (maybe_offer, on_status, resume);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use crate::api::room::ServerEvent;
        use crate::components::channel::{Handlers, StillAdmitted};
        use std::rc::Rc;
        if !live || channel.with_value(Option::is_some) {
            return;
        }
        let welcomed = StoredValue::new(false);
        let on_event = Rc::new(move |event: ServerEvent| match event {
            ServerEvent::Welcome { status: s, .. } => {
                // Whoever is here answers our arrival: the old list is stale.
                presence.try_set(Vec::new());
                if welcomed.get_value() {
                    // A reconnect: catch up on what happened while we were away.
                    if status.try_get_untracked().is_some_and(|old| old != s) {
                        on_status(s);
                    }
                    resume();
                } else {
                    welcomed.set_value(true);
                    status.try_set(s);
                }
            }
            ServerEvent::Presence { conn, role, name, present } => {
                presence.try_update(|p| {
                    p.retain(|x| x.0 != conn);
                    if present {
                        p.push((conn, role, name));
                    }
                });
                maybe_offer();
            }
            ServerEvent::State { status: s } => on_status(s),
            ServerEvent::Chat { message } => {
                outbox.try_update(|o| o.retain(|(client, _)| *client != message.client_id));
                messages.try_update(|m| {
                    if !m.iter().any(|x| x.id == message.id) {
                        m.push(message);
                    }
                });
                typing.try_set(None);
            }
            ServerEvent::Typing { role } => {
                typing.try_set(Some(role));
                set_timeout(
                    move || {
                        typing.try_set(None);
                    },
                    std::time::Duration::from_secs(4),
                );
            }
            ServerEvent::Signal { data, .. } if data.get("kind").and_then(|k| k.as_str()) == Some("rejoin") => {
                // The patient hung up and came back: call them again (unless we hung up ourselves).
                offered_to.set_value(None);
                maybe_offer();
            }
            ServerEvent::Signal { data, .. } => {
                if hung_up.get_value() {
                    return;
                }
                let c = ensure_call();
                leptos::task::spawn_local(async move { c.on_signal(data).await });
            }
            ServerEvent::NotesSaved { version, at } => {
                notes_elsewhere.try_set(Some((version, at)));
            }
            ServerEvent::PrescriptionsChanged => reload_prescriptions(),
            ServerEvent::Refused { message } => {
                refused.try_set(Some(message));
            }
            ServerEvent::Pong => {}
        });
        let still_admitted: StillAdmitted = Rc::new(move || {
            Box::pin(async move {
                let outcome = room(id).await;
                if matches!(&outcome, Ok(v) if v.phase == RoomPhase::Closed) {
                    // Over while we were away: show the record.
                    room_view.refetch();
                }
                refusal(&outcome)
            })
        });
        let opened = Channel::open(
            &format!("/ws/consultations/{id}"),
            Handlers {
                on_event,
                on_state: Rc::new(move |s| {
                    channel_state.try_set(s);
                }),
                on_refused: Rc::new(move |why| {
                    gone.try_set(Some(why));
                }),
                still_admitted,
            },
        );
        channel.set_value(Some(opened));
        if media && in_progress.get_untracked() {
            start_media();
        }
    });
    // Browser only: on the server the page may be dropped on another thread
    // than it was rendered on, where these thread-local values must not be read.
    #[cfg(feature = "hydrate")]
    on_cleanup(move || {
        if let Some(c) = channel.try_get_value().flatten() {
            c.close();
        }
        if let Some(c) = call.try_get_value().flatten() {
            c.hang_up(false);
        }
    });

    let heading = if doctor {
        format!("Consultation with {}", v.patient_name)
    } else {
        format!("Consultation with {}", v.doctor_name)
    };
    let facts = view! {
        <dl class="facts">
            <dt>"When"</dt>
            <dd>{v.when.clone()}" "<span class="muted">{format!("({})", v.timezone)}</span></dd>
            <dt>"Type"</dt>
            <dd>{type_label(&v.consultation_type)}</dd>
            <dt>"Status"</dt>
            <dd data-status=move || status.get()>{move || status_label(&status.get())}</dd>
            {v.duration_minutes.map(|m| view! { <dt>"Length"</dt><dd>{format!("{m} minutes")}</dd> })}
        </dl>
    };
    let symptoms = v.symptoms.clone().map(|s| {
        view! {
            <section class="stack" aria-labelledby="symptoms-heading">
                <h2 id="symptoms-heading">"What the patient wrote when booking"</h2>
                <p class="prewrap">{s}</p>
            </section>
        }
    });
    // Before the room opens too: there is time to fix a camera then.
    let before_or_during = matches!(v.phase, RoomPhase::NotYetOpen { .. } | RoomPhase::Waiting | RoomPhase::InProgress);
    let precheck = (media && before_or_during && !is_final(&v.status)).then(|| {
        view! { <PreCallCheck permission start_media=Callback::new(move |_| start_media())/> }
    });
    let opens = match &v.phase {
        RoomPhase::NotYetOpen { opens } => Some(view! {
            <p class="alert info">{format!("The room opens at {opens}. Come back then; you can check your camera and microphone now.")}</p>
        }),
        _ => None,
    };
    let other_name = if doctor { v.patient_name.clone() } else { v.doctor_name.clone() };
    let waiting_line = move || {
        let name = other_name.clone();
        match (doctor, other_present.get()) {
            (true, true) => format!("{name} is waiting in the room."),
            (true, false) => format!("{name} has not arrived yet."),
            (false, true) => format!("{name} is here."),
            (false, false) => format!("{name} has not joined yet."),
        }
    };
    let lobby = live.then(|| {
        view! {
            <div class="stack lobby">
                <p class="channel-state" role="status" data-state=move || format!("{:?}", channel_state.try_get().unwrap_or(ChannelState::Closed)).to_lowercase()>
                    {move || channel_state.try_get().unwrap_or(ChannelState::Closed).label()}
                </p>
                <p class="presence" role="status">{waiting_line}</p>
                {move || gone.get().map(|why| view! { <p class="alert error channel-gone" role="alert">{why}</p> })}
                <Show when=move || !in_progress.get() && !is_final(&status.get()) && !doctor>
                    <p class="alert info">"The doctor will start the visit. Keep this page open: you will be let in automatically."</p>
                </Show>
            </div>
        }
    });
    let controls = doctor.then(|| {
        view! { <DoctorControls id can_start=v.can_start can_no_show=v.can_mark_no_show status/> }
    });
    let call_panel = (media && live).then(|| {
        view! {
            <Show when=move || in_progress.get()>
                <CallPanel call call_state hang_up=Callback::new(move |_| hang_up()) rejoin=Callback::new(move |_| rejoin())/>
            </Show>
        }
    });
    let chat_enabled = Signal::derive(move || in_progress.get());
    let show_chat = live || !v.messages.is_empty();
    let my_role = v.my_role.clone();
    let chat = show_chat.then(|| {
        view! { <ChatPanel channel messages outbox typing refused enabled=chat_enabled my_role=my_role.clone()/> }
    });
    let notes = (doctor && matches!(v.status.as_str(), "scheduled" | "in_progress")).then(|| {
        view! {
            <NotesEditor
                id
                initial_notes=v.notes.clone().unwrap_or_default()
                initial_diagnosis=v.diagnosis.clone().unwrap_or_default()
                initial_version=v.notes_version
                saved=v.notes_saved.clone()
                elsewhere=notes_elsewhere
                status
                room_view
            />
        }
    });
    let record = is_final(&v.status).then(|| view! { <Record v=v.clone() room_view/> });
    // The doctor may prescribe once the visit has started (also when it
    // starts while this page is open).
    let can_prescribe = Signal::derive(move || doctor && matches!(status.get().as_str(), "in_progress" | "completed"));
    let prescriptions =
        (!v.prescriptions.is_empty() || (doctor && !matches!(v.status.as_str(), "cancelled" | "no_show"))).then(|| {
            view! { <Prescriptions id list=prescription_list can_prescribe doctor reload=Callback::new(move |_| reload_prescriptions())/> }
        });
    view! {
        <h1>{heading}</h1>
        <p class="muted">{v.specialization.clone()}</p>
        {facts}
        {opens}
        {lobby}
        {controls}
        {precheck}
        {call_panel}
        {symptoms}
        {chat}
        {notes}
        {record}
        {prescriptions}
    }
}

/// Camera and microphone preview before the visit, with the permission state.
#[component]
fn PreCallCheck(permission: RwSignal<PermissionState>, start_media: Callback<()>) -> impl IntoView {
    let message = move || match permission.get() {
        PermissionState::Unknown => "Not checked yet.".to_owned(),
        PermissionState::Granted => "Camera and microphone are working.".to_owned(),
        PermissionState::Denied(m) | PermissionState::Unavailable(m) => m,
    };
    let state = move || match permission.get() {
        PermissionState::Unknown => "unknown",
        PermissionState::Granted => "granted",
        PermissionState::Denied(_) => "denied",
        PermissionState::Unavailable(_) => "unavailable",
    };
    view! {
        <section class="stack precheck" aria-labelledby="precheck-heading">
            <h2 id="precheck-heading">"Camera and microphone"</h2>
            <video id="local-media" class="preview" autoplay=true muted=true playsinline=true aria-label="Your camera"></video>
            <p role="status" data-permission=state>{message}</p>
            <button type="button" class="button secondary" on:click=move |_| start_media.run(())>
                "Check camera and microphone"
            </button>
        </section>
    }
}

#[component]
fn CallPanel(
    call: StoredValue<Option<Call>, PageLocal>,
    call_state: RwSignal<String>,
    hang_up: Callback<()>,
    rejoin: Callback<()>,
) -> impl IntoView {
    let muted = RwSignal::new(false);
    let camera_off = RwSignal::new(false);
    let toggle_mute = move |_| {
        let next = !muted.get_untracked();
        muted.set(next);

        if let Some(c) = call.get_value() {
            c.set_muted(next);
        }
    };
    let toggle_camera = move |_| {
        let next = !camera_off.get_untracked();
        camera_off.set(next);
        if let Some(c) = call.get_value() {
            c.set_camera_off(next);
        }
    };
    let state_text = move || match call_state.try_get().unwrap_or_default().as_str() {
        "new" => "Waiting for the other side…".to_owned(),
        "connecting" => "Connecting…".to_owned(),
        "connected" => "Connected".to_owned(),
        "disconnected" => "Connection interrupted: trying again…".to_owned(),
        "failed" => "The call could not connect.".to_owned(),
        "closed" => "Call ended.".to_owned(),
        other => other.to_owned(),
    };
    view! {
        <section class="stack call" aria-labelledby="call-heading">
            <h2 id="call-heading">"Call"</h2>
            <video id="remote-media" class="remote" autoplay=true playsinline=true aria-label="The other side"></video>
            <p class="call-state" role="status" data-state=move || call_state.try_get().unwrap_or_default()>{state_text}</p>
            <div class="cluster">
                <button type="button" class="button secondary" aria-pressed=move || muted.get().to_string() on:click=toggle_mute>
                    {move || if muted.get() { "Unmute" } else { "Mute" }}
                </button>
                <button type="button" class="button secondary" aria-pressed=move || camera_off.get().to_string() on:click=toggle_camera>
                    {move || if camera_off.get() { "Camera on" } else { "Camera off" }}
                </button>
                <Show
                    when=move || matches!(call_state.try_get().unwrap_or_default().as_str(), "closed" | "failed")
                    fallback=move || view! {
                        <button type="button" class="button danger" on:click=move |_| hang_up.run(())>"Hang up"</button>
                    }
                >
                    <button type="button" class="button" on:click=move |_| rejoin.run(())>"Rejoin the call"</button>
                </Show>
            </div>
        </section>
    }
}

#[component]
fn DoctorControls(id: Uuid, can_start: bool, can_no_show: bool, status: RwSignal<String>) -> impl IntoView {
    let start = ServerAction::<StartVisit>::new();
    let no_show = ServerAction::<MarkNoShow>::new();
    let started: Outcome<()> = Signal::derive(move || start.value().get());
    let marked: Outcome<()> = Signal::derive(move || no_show.value().get());
    Effect::new(move |_| {
        if matches!(start.value().get(), Some(Ok(()))) {
            status.set("in_progress".into());
        }
    });
    Effect::new(move |_| {
        if matches!(no_show.value().get(), Some(Ok(()))) {
            status.set("no_show".into());
        }
    });
    view! {
        <Show when=move || status.get() == "scheduled">
            <div class="cluster">
                {can_start.then(|| view! {
                    <ActionForm action=start>
                        <input type="hidden" name="consultation_id" value=id.to_string()/>
                        <button type="submit" class="button" disabled=move || start.pending().get()>"Start the visit"</button>
                    </ActionForm>
                })}
                {can_no_show.then(|| view! {
                    <ActionForm action=no_show>
                        <input type="hidden" name="consultation_id" value=id.to_string()/>
                        <button type="submit" class="button secondary">"The patient did not come"</button>
                    </ActionForm>
                })}
            </div>
            <FormAlert outcome=started/>
            <FormAlert outcome=marked/>
        </Show>
    }
}

#[component]
fn ChatPanel(
    channel: StoredValue<Option<Channel>, PageLocal>,
    messages: RwSignal<Vec<ChatMessageView>>,
    outbox: RwSignal<Vec<(Uuid, String)>>,
    typing: RwSignal<Option<String>>,
    refused: RwSignal<Option<String>>,
    enabled: Signal<bool>,
    my_role: String,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let last_typing = StoredValue::new(0.0f64);
    let send = move || {
        let body = draft.get_untracked().trim().to_owned();
        if body.is_empty() {
            error.set(Some("Write a message first.".into()));
            return;
        }
        if body.chars().count() > CHAT_MAX_CHARS {
            error.set(Some(format!("Messages are limited to {CHAT_MAX_CHARS} characters.")));
            return;
        }
        error.set(None);
        refused.set(None);
        let client_id = Uuid::new_v4();
        outbox.update(|o| o.push((client_id, body.clone())));
        channel.with_value(|c| {
            if let Some(c) = c {
                c.send(&ClientEvent::Chat { client_id, body });
            }
        });
        draft.set(String::new());
    };
    let on_input = move |ev: leptos::ev::Event| {
        draft.set(event_target_value(&ev));
        #[cfg(feature = "hydrate")]
        {
            let now = js_sys::Date::now();
            if now - last_typing.get_value() > 3000.0 {
                last_typing.set_value(now);
                channel.with_value(|c| {
                    if let Some(c) = c {
                        c.send(&ClientEvent::Typing);
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = last_typing;
    };
    let mine = my_role.clone();
    let typing_text = move || {
        typing.get().filter(|r| *r != mine).map(|r| {
            if r == "doctor" {
                "The doctor is typing…"
            } else {
                "The patient is typing…"
            }
        })
    };
    let role = my_role.clone();
    view! {
        <section class="stack chat" aria-labelledby="chat-heading">
            <h2 id="chat-heading">"Chat"</h2>
            <div role="log" aria-live="polite" aria-label="Messages" class="messages-log">
            <ol class="messages">
                <For each=move || messages.get() key=|m| m.id let:m>
                    <li class=if m.sender_role == role { "message mine" } else { "message theirs" }>
                        <span class="who">{m.sender_name.clone()}</span>" "
                        <time class="time" datetime=m.at.clone()>{local_time(&m.at, &m.time)}</time>
                        <p class="prewrap">{m.body.clone()}</p>
                    </li>
                </For>
                <For each=move || outbox.get() key=|o| o.0 let:o>
                    <li class="message mine pending">
                        <span class="who">"You"</span>" "<span class="time">"Sending…"</span>
                        <p class="prewrap">{o.1.clone()}</p>
                    </li>
                </For>
            </ol>
            </div>
            <p class="typing muted" aria-live="polite">{typing_text}</p>
            <Show
                when=move || enabled.get()
                fallback=|| view! { <p class="muted">"The chat is open while the visit is under way."</p> }
            >
                <form class="stack" on:submit=move |ev| { ev.prevent_default(); send(); }>
                    <div class="field">
                        <label for="chat-input">"Message"</label>
                        <textarea
                            id="chat-input"
                            rows="2"
                            maxlength=CHAT_MAX_CHARS.to_string()
                            prop:value=move || draft.get()
                            on:input=on_input
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Enter" && !ev.shift_key() {
                                    ev.prevent_default();
                                    send();
                                }
                            }
                            aria-invalid=move || (error.get().is_some() || refused.get().is_some()).then_some("true")
                            aria-describedby="chat-input-error"
                        ></textarea>
                        <p class="field-error" id="chat-input-error" role="alert">
                            {move || error.get().or_else(|| refused.get())}
                        </p>
                    </div>
                    <button type="submit" class="button">"Send"</button>
                </form>
            </Show>
        </section>
    }
}

/// Where the notes stand.
#[derive(Debug, Clone, PartialEq)]
enum Saving {
    Saved(Option<String>),
    Unsaved,
    InFlight,
    Failed(String),
    /// Up to date with what another tab saved (taken from there).
    Adopted,
    /// Another tab saved something else: nothing overwritten until the doctor chooses.
    Conflict {
        version: i32,
        notes: String,
        diagnosis: String,
    },
}

#[allow(clippy::too_many_arguments)]
#[component]
fn NotesEditor(
    id: Uuid,
    initial_notes: String,
    initial_diagnosis: String,
    initial_version: i32,
    saved: Option<String>,
    elsewhere: RwSignal<Option<(i32, String)>>,
    status: RwSignal<String>,
    room_view: RoomResource,
) -> impl IntoView {
    let notes = RwSignal::new(initial_notes);
    let diagnosis = RwSignal::new(initial_diagnosis);
    let version = RwSignal::new(initial_version);
    let state = RwSignal::new(Saving::Saved(saved));
    // Bumped by every keystroke: a save only counts for the text it carried.
    let edits = StoredValue::new(0u64);
    let save = Action::new_local(move |(notes, diagnosis, base, edit, complete): &(String, String, i32, u64, bool)| {
        let (notes, diagnosis, base, edit, complete) = (notes.clone(), diagnosis.clone(), *base, *edit, *complete);
        async move {
            let outcome = if complete {
                crate::api::room::complete_visit(id, notes.clone(), diagnosis.clone(), base).await
            } else {
                crate::api::room::save_notes(id, notes.clone(), diagnosis.clone(), base).await
            };
            (outcome, notes, diagnosis, edit, complete)
        }
    });
    let dispatch = move |complete: bool| {
        state.set(Saving::InFlight);
        save.dispatch((
            notes.get_untracked(),
            diagnosis.get_untracked(),
            version.get_untracked(),
            edits.get_value(),
            complete,
        ));
    };
    let schedule = move || {
        edits.update_value(|e| *e += 1);
        let mine = edits.get_value();
        if !matches!(state.get_untracked(), Saving::Conflict { .. }) {
            state.set(Saving::Unsaved);
        }
        set_timeout(
            move || {
                if edits.get_value() == mine
                    && state.get_untracked() == Saving::Unsaved
                    && !save.pending().get_untracked()
                {
                    dispatch(false);
                }
            },
            std::time::Duration::from_millis(1200),
        );
    };
    Effect::new(move |_| {
        let Some((outcome, sent_notes, sent_diagnosis, edit, complete)) = save.value().get() else { return };
        match outcome {
            Ok(NotesOutcome::Saved { version: v, at }) => {
                version.set(v);
                if complete {
                    status.set("completed".into());
                    room_view.refetch();
                } else if edits.get_value() != edit {
                    // Typed while saving: save again.
                    state.set(Saving::Unsaved);
                    dispatch(false);
                } else {
                    state.set(Saving::Saved(Some(at)));
                }
            }
            Ok(NotesOutcome::Conflict { version: v, notes: theirs, diagnosis: their_diagnosis }) => {
                // Their text is already part of ours: ours wins without losing anything.
                if sent_notes.contains(theirs.trim()) && sent_diagnosis.contains(their_diagnosis.trim()) {
                    version.set(v);
                    dispatch(complete);
                } else if !complete
                    && theirs.contains(sent_notes.trim())
                    && their_diagnosis.contains(sent_diagnosis.trim())
                    && edits.get_value() == edit
                {
                    // Ours is already part of theirs: take theirs, nothing is lost either.
                    notes.set(theirs);
                    diagnosis.set(their_diagnosis);
                    version.set(v);
                    state.set(Saving::Adopted);
                } else {
                    state.set(Saving::Conflict { version: v, notes: theirs, diagnosis: their_diagnosis });
                }
            }
            Err(e) => {
                state.set(Saving::Failed(e.to_string()));
                // Try again shortly: nothing typed is dropped.
                set_timeout(
                    move || {
                        if matches!(state.get_untracked(), Saving::Failed(_)) {
                            dispatch(false);
                        }
                    },
                    std::time::Duration::from_secs(5),
                );
            }
        }
    });
    let state_text = move || match state.get() {
        Saving::Saved(Some(at)) => format!("All changes saved at {at}."),
        Saving::Saved(None) => "Nothing written yet.".to_owned(),
        Saving::Adopted => "Showing the notes saved in another tab.".to_owned(),
        Saving::Unsaved => "Unsaved changes…".to_owned(),
        Saving::InFlight => "Saving…".to_owned(),
        Saving::Failed(e) => format!("Not saved yet ({e}). Trying again…"),
        Saving::Conflict { .. } => "Not saved: another tab saved different notes (see below).".to_owned(),
    };
    let keep_mine = move |_| {
        if let Saving::Conflict { version: v, .. } = state.get_untracked() {
            version.set(v);
            dispatch(false);
        }
    };
    let use_theirs = move |_| {
        if let Saving::Conflict { version: v, notes: n, diagnosis: d } = state.get_untracked() {
            notes.set(n);
            diagnosis.set(d);
            version.set(v);
            state.set(Saving::Adopted);
        }
    };
    let conflict = move || match state.get() {
        Saving::Conflict { notes: theirs, diagnosis: their_diagnosis, .. } => Some(view! {
            <div class="alert warning stack" role="alert">
                <p>"Another tab saved these notes meanwhile. Yours are still in the editor; choose which to keep."</p>
                <p class="prewrap"><strong>"Saved notes: "</strong>{theirs}</p>
                <p class="prewrap"><strong>"Saved diagnosis: "</strong>{their_diagnosis}</p>
                <div class="cluster">
                    <button type="button" class="button" on:click=keep_mine>"Keep mine (replace the saved text)"</button>
                    <button type="button" class="button secondary" on:click=use_theirs>"Use the saved text"</button>
                </div>
            </div>
        }),
        _ => None,
    };
    let elsewhere_text = move || {
        elsewhere.get().filter(|(v, _)| *v > version.get()).map(|(_, at)| format!("Saved from another tab at {at}."))
    };
    let completed_error = move || match save.value().get() {
        Some((Err(e), _, _, _, true)) => Some(e.to_string()),
        _ => None,
    };
    view! {
        <section class="stack notes" aria-labelledby="notes-heading">
            <h2 id="notes-heading">"Clinical notes"</h2>
            <p class="hint">"Private to you: the patient sees the diagnosis once the visit is completed, never these notes."</p>
            <div class="field">
                <label for="notes-input">"Notes"</label>
                <textarea id="notes-input" rows="8" prop:value=move || notes.get()
                    on:input=move |ev| { notes.set(event_target_value(&ev)); schedule(); }></textarea>
            </div>
            <div class="field">
                <label for="diagnosis-input">"Diagnosis"</label>
                <textarea id="diagnosis-input" rows="2" prop:value=move || diagnosis.get()
                    on:input=move |ev| { diagnosis.set(event_target_value(&ev)); schedule(); }></textarea>
            </div>
            <p class="save-state" role="status" aria-live="polite">{state_text}</p>
            <p class="muted">{elsewhere_text}</p>
            {conflict}
            <Show when=move || status.get() == "in_progress">
                <button type="button" class="button" on:click=move |_| dispatch(true) disabled=move || save.pending().get()>
                    "End the visit"
                </button>
                <p class="hint">"Ending the visit saves and locks the notes; later corrections are addenda."</p>
            </Show>
            {move || completed_error().map(|e| view! { <p class="alert error" role="alert">{e}</p> })}
        </section>
    }
}

/// The record of a visit that is over.
#[component]
fn Record(v: RoomView, room_view: RoomResource) -> impl IntoView {
    let doctor = v.my_role == "doctor";
    let summary = match v.status.as_str() {
        "completed" => format!(
            "The visit took place{}{}.",
            v.started.as_ref().map(|s| format!(" from {s}")).unwrap_or_default(),
            v.ended.as_ref().map(|e| format!(" to {e}")).unwrap_or_default()
        ),
        "no_show" => "This visit did not take place (missed).".to_owned(),
        _ => "This consultation was cancelled.".to_owned(),
    };
    let diagnosis = v.diagnosis.clone().map(|d| {
        view! {
            <h3>"Diagnosis"</h3>
            <p class="prewrap diagnosis">{d}</p>
        }
    });
    let notes = (doctor && v.notes.is_some()).then(|| {
        view! {
            <h3>"Your notes (private)"</h3>
            <p class="prewrap">{v.notes.clone()}</p>
        }
    });
    let addenda = (!v.addenda.is_empty()).then(|| view! {
        <h3>"Addenda"</h3>
        <ul class="stack addenda">
            {v.addenda.iter().map(|a| view! {
                <li><p class="muted">{format!("{}, {}", a.author, a.when)}</p><p class="prewrap">{a.body.clone()}</p></li>
            }).collect_view()}
        </ul>
    });
    let addendum_form = v.can_add_addendum.then(|| view! { <AddendumForm id=v.id room_view/> });
    let review = match (&v.review, v.can_review) {
        (Some(r), _) => Some(view! {
            <p class="review">{format!("Rated {} out of 5", r.rating)}{r.comment.clone().map(|c| format!(": “{c}”"))}</p>
        }.into_any()),
        (None, true) => Some(view! { <ReviewForm id=v.id room_view/> }.into_any()),
        _ => None,
    };
    view! {
        <section class="stack record" aria-labelledby="record-heading">
            <h2 id="record-heading">"Record"</h2>
            <p>{summary}</p>
            {diagnosis}
            {notes}
            {addenda}
            {addendum_form}
            {review}
        </section>
    }
}

#[component]
fn AddendumForm(id: Uuid, room_view: RoomResource) -> impl IntoView {
    let add = ServerAction::<AddAddendum>::new();
    let outcome: Outcome<()> = Signal::derive(move || add.value().get());
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(()))) {
            room_view.refetch();
        }
    });
    view! {
        <ActionForm action=add attr:class="stack" attr:novalidate=true>
            <FormAlert outcome/>
            <input type="hidden" name="consultation_id" value=id.to_string()/>
            <TextAreaField name="body" label="Add an addendum" hint="A correction or addition, kept with your name and the time."
                errors=messages_for(outcome, "body")/>
            <button type="submit" class="button secondary">"Add addendum"</button>
        </ActionForm>
    }
}

#[component]
fn ReviewForm(id: Uuid, room_view: RoomResource) -> impl IntoView {
    let review = ServerAction::<ReviewConsultation>::new();
    let outcome: Outcome<()> = Signal::derive(move || review.value().get());
    Effect::new(move |_| {
        if matches!(review.value().get(), Some(Ok(()))) {
            room_view.refetch();
        }
    });
    let rating_errors = messages_for(outcome, "rating");
    view! {
        <ActionForm action=review attr:class="stack review-form" attr:novalidate=true>
            <h3>"Rate this consultation"</h3>
            <FormAlert outcome/>
            <input type="hidden" name="consultation_id" value=id.to_string()/>
            <fieldset class="stars" aria-describedby="rating-error">
                <legend>"Your rating"</legend>
                {(1..=5).map(|n| view! {
                    <label class="star">
                        <input type="radio" name="rating" value=n.to_string()/>
                        {format!("{n} star{}", if n == 1 { "" } else { "s" })}
                    </label>
                }).collect_view()}
                <p class="field-error" id="rating-error">{move || rating_errors.get().join(" ")}</p>
            </fieldset>
            <TextAreaField name="comment" label="Comment (optional)" errors=messages_for(outcome, "comment")/>
            <button type="submit" class="button">"Send rating"</button>
        </ActionForm>
    }
}

#[component]
fn Prescriptions(
    id: Uuid,
    list: RwSignal<Vec<PrescriptionView>>,
    can_prescribe: Signal<bool>,
    doctor: bool,
    reload: Callback<()>,
) -> impl IntoView {
    let correcting = RwSignal::new(None::<PrescriptionView>);
    let items = move || {
        list.get()
            .into_iter()
            .map(|p| {
                let correct = (doctor && p.is_active).then(|| {
                    let p2 = p.clone();
                    view! {
                        <Show when=move || can_prescribe.get()>
                            <button type="button" class="button secondary no-print" on:click={
                                let p2 = p2.clone();
                                move |_| correcting.set(Some(p2.clone()))
                            }>
                                "Correct this prescription"
                            </button>
                        </Show>
                    }
                });
                view! { <PrescriptionCard p=p.clone()/>{correct} }
            })
            .collect_view()
    };
    view! {
        <section class="stack prescriptions print-area" aria-labelledby="prescriptions-heading">
            <h2 id="prescriptions-heading">"Prescriptions"</h2>
            {items}
            <Show
                when=move || can_prescribe.get()
                fallback=move || doctor.then(|| view! { <p class="muted">"You can prescribe once the visit has started."</p> })
            >
                <PrescriptionForm id correcting reload/>
            </Show>
        </section>
    }
}

/// One prescription, with its PDF and print links.
#[component]
pub fn PrescriptionCard(p: PrescriptionView) -> impl IntoView {
    let print = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };
    view! {
        <article class="prescription card stack" data-active=p.is_active.to_string()>
            <h3>
                {format!("Prescription, version {}", p.version)}
                {(!p.is_active).then(|| view! { " " <span class="badge">"Superseded"</span> })}
            </h3>
            <p class="muted">{format!("Issued {} by {}", p.issued, p.doctor_name)}</p>
            <ul class="medications">{p.lines.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul>
            {p.instructions.clone().map(|i| view! { <p class="prewrap"><strong>"Instructions: "</strong>{i}</p> })}
            {p.follow_up.clone().map(|f| view! { <p><strong>"Follow-up: "</strong>{f}</p> })}
            <div class="cluster no-print">
                <a class="button secondary" href=format!("/prescriptions/{}/pdf", p.id) download="" rel="external">
                    "Download PDF"
                </a>
                <button type="button" class="button secondary" on:click=print>"Print"</button>
            </div>
        </article>
    }
}

fn blank_medication() -> MedicationInput {
    MedicationInput { form: "tablet".into(), route: "oral".into(), refills: "0".into(), ..Default::default() }
}

#[component]
fn PrescriptionForm(id: Uuid, correcting: RwSignal<Option<PrescriptionView>>, reload: Callback<()>) -> impl IntoView {
    let rows = RwSignal::new(vec![blank_medication()]);
    let instructions = RwSignal::new(String::new());
    let follow_up = RwSignal::new(String::new());
    // Fill the form from the prescription being corrected.
    Effect::new(move |_| {
        if let Some(p) = correcting.get() {
            rows.set(
                p.medications
                    .iter()
                    .map(|m| MedicationInput {
                        name: m.name.clone(),
                        strength: m.strength.clone(),
                        form: m.form.clone(),
                        dose: m.dose.clone(),
                        route: m.route.clone(),
                        frequency: m.frequency.clone(),
                        duration: m.duration.clone(),
                        quantity: m.quantity.to_string(),
                        refills: m.refills.to_string(),
                        notes: m.notes.clone().unwrap_or_default(),
                    })
                    .collect(),
            );
            instructions.set(p.instructions.clone().unwrap_or_default());
            follow_up.set(String::new());
        }
    });
    let issue = Action::new_local(move |input: &(PrescriptionInput, Option<Uuid>)| {
        let (input, supersedes) = input.clone();
        async move { crate::api::room::issue_prescription(id, input, supersedes).await }
    });
    let outcome: Outcome<Uuid> = Signal::derive(move || issue.value().get());
    Effect::new(move |_| {
        if matches!(issue.value().get(), Some(Ok(_))) {
            rows.set(vec![blank_medication()]);
            instructions.set(String::new());
            follow_up.set(String::new());
            correcting.set(None);
            reload.run(());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = PrescriptionInput {
            medications: rows.get_untracked(),
            instructions: instructions.get_untracked(),
            follow_up_date: follow_up.get_untracked(),
        };
        issue.dispatch((input, correcting.get_untracked().map(|p| p.id)));
    };
    let count = move || rows.read().len();
    let indices = move || (0..count()).collect::<Vec<usize>>();
    let several = move || count() > 1;
    view! {
        <form class="stack prescription-form no-print" on:submit=submit novalidate=true>
            <h3>
                {move || match correcting.get() {
                    Some(p) => format!("Correct prescription version {}", p.version),
                    None => "Issue a prescription".to_owned(),
                }}
            </h3>
            <FormAlert outcome/>
            <p class="field-error" role="alert">{move || messages_for(outcome, "medications").get().join(" ")}</p>
            <For each=indices key=|i| *i let:i>
                <MedicationRow i rows outcome/>
            </For>
            <div class="cluster">
                <button type="button" class="button secondary" on:click=move |_| rows.update(|r| r.push(blank_medication()))>
                    "Add a medication"
                </button>
                <Show when=several>
                    <button type="button" class="button secondary" on:click=move |_| rows.update(|r| { r.pop(); })>
                        "Remove the last medication"
                    </button>
                </Show>
            </div>
            <div class="field">
                <label for="rx-instructions">"Instructions"</label>
                <textarea id="rx-instructions" rows="3" prop:value=move || instructions.get()
                    on:input=move |ev| instructions.set(event_target_value(&ev))></textarea>
                <p class="field-error">{move || messages_for(outcome, "instructions").get().join(" ")}</p>
            </div>
            <div class="field">
                <label for="rx-follow-up">"Follow-up date (optional)"</label>
                <input id="rx-follow-up" type="date" prop:value=move || follow_up.get()
                    on:input=move |ev| follow_up.set(event_target_value(&ev))
                    aria-describedby="rx-follow-up-error"/>
                <p class="field-error" id="rx-follow-up-error">{move || messages_for(outcome, "follow_up_date").get().join(" ")}</p>
            </div>
            <div class="cluster">
                <button type="submit" class="button" disabled=move || issue.pending().get()>
                    {move || if correcting.get().is_some() { "Issue the corrected version" } else { "Issue prescription" }}
                </button>
                <Show when=move || correcting.get().is_some()>
                    <button type="button" class="button secondary" on:click=move |_| correcting.set(None)>"Cancel correction"</button>
                </Show>
            </div>
        </form>
    }
}

/// The fields of medication `i` (errors keyed `medications.{i}.{field}`).
#[component]
fn MedicationRow(i: usize, rows: RwSignal<Vec<MedicationInput>>, outcome: Outcome<Uuid>) -> impl IntoView {
    let text = move |field: &'static str,
                     label: &'static str,
                     get: fn(&MedicationInput) -> String,
                     set: fn(&mut MedicationInput, String)| {
        let id = format!("rx-{i}-{field}");
        let error_id = format!("{id}-error");
        let errors = Signal::derive(move || match outcome.get() {
            Some(Err(e)) => e.field_messages(&format!("medications.{i}.{field}")).to_vec(),
            _ => Vec::new(),
        });
        view! {
            <div class="field">
                <label for=id.clone()>{label}</label>
                <input id=id type="text"
                    prop:value=move || rows.read().get(i).map(get).unwrap_or_default()
                    on:input=move |ev| { let value = event_target_value(&ev); rows.update(|r| if let Some(m) = r.get_mut(i) { set(m, value) }); }
                    aria-invalid=move || (!errors.get().is_empty()).then_some("true")
                    aria-describedby=error_id.clone()/>
                <p class="field-error" id=error_id>{move || errors.get().join(" ")}</p>
            </div>
        }
    };
    let select = move |field: &'static str,
                       label: &'static str,
                       options: &'static [(&'static str, &'static str)],
                       get: fn(&MedicationInput) -> String,
                       set: fn(&mut MedicationInput, String)| {
        let id = format!("rx-{i}-{field}");
        view! {
            <div class="field">
                <label for=id.clone()>{label}</label>
                <select id=id
                    prop:value=move || rows.read().get(i).map(get).unwrap_or_default()
                    on:change=move |ev| { let value = event_target_value(&ev); rows.update(|r| if let Some(m) = r.get_mut(i) { set(m, value) }); }>
                    {options.iter().map(|(value, text)| view! { <option value=*value>{*text}</option> }).collect_view()}
                </select>
            </div>
        }
    };
    view! {
        <fieldset class="medication grid">
            <legend>{format!("Medication {}", i + 1)}</legend>
            {text("name", "Name", |m| m.name.clone(), |m, v| m.name = v)}
            {text("strength", "Strength", |m| m.strength.clone(), |m, v| m.strength = v)}
            {select("form", "Form", FORMS, |m| m.form.clone(), |m, v| m.form = v)}
            {text("dose", "Dose", |m| m.dose.clone(), |m, v| m.dose = v)}
            {select("route", "Route", ROUTES, |m| m.route.clone(), |m, v| m.route = v)}
            {text("frequency", "How often", |m| m.frequency.clone(), |m, v| m.frequency = v)}
            {text("duration", "For how long", |m| m.duration.clone(), |m, v| m.duration = v)}
            {text("quantity", "Quantity", |m| m.quantity.clone(), |m, v| m.quantity = v)}
            {text("refills", "Refills", |m| m.refills.clone(), |m, v| m.refills = v)}
            {text("notes", "Notes (optional)", |m| m.notes.clone(), |m, v| m.notes = v)}
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u128, body: &str) -> ChatMessageView {
        ChatMessageView {
            id: Uuid::from_u128(n),
            client_id: Uuid::from_u128(1000 + n),
            sender_role: "doctor".into(),
            sender_name: "Dr Ada Lovelace".into(),
            body: body.into(),
            time: "10:00".into(),
            at: "2026-12-01T10:00:00Z".into(),
        }
    }

    #[test]
    fn messages_missed_during_a_drop_are_added_once_in_the_servers_order() {
        let shown = vec![message(1, "Hello"), message(3, "Arrived on the new channel")];
        let history = vec![message(1, "Hello"), message(2, "Sent while you were away")];
        let merged = merge_messages(&shown, history);
        let bodies: Vec<&str> = merged.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, vec!["Hello", "Sent while you were away", "Arrived on the new channel"]);
    }

    #[test]
    fn a_room_that_is_still_open_is_worth_reconnecting_to_and_a_closed_one_is_not() {
        assert_eq!(refusal(&Err(AppError::Unavailable)), None);
        assert_eq!(refusal(&Err(AppError::Request("network".into()))), None);
        assert_eq!(refusal(&Err(AppError::NotFound)).as_deref(), Some("You can no longer enter this room."));
        assert!(refusal(&Err(AppError::Unauthorized)).is_some_and(|m| m.contains("Sign in again")));
    }
}
