//! `GET /ws/consultations/{id}`: a participant's WebSocket to the room:
//! presence, chat, typing, notes-saved notices and WebRTC signalling.
//!
//! Only the consultation's patient and doctor get in (anyone else: 404 and
//! an audit row), only while the room is open, and only from our own
//! origin (the browser sends cookies with a cross-site WebSocket too).
//! Chat and signalling are refused, and typing is not relayed, until the
//! doctor starts the visit (presence travels from the start); a chat
//! consultation has no call, so its signalling is always refused.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use uuid::Uuid;

use crate::api::room::{ClientEvent, ServerEvent};
use crate::server::auth::session::{request_meta, CurrentUser};
use crate::server::room_hub::{Envelope, RoomHub};
use crate::server::services::auth::RequestMeta;
use crate::server::services::room::{self, Live, Relay, Side};
use crate::server::state::AppState;

/// The largest message a participant may send (an SDP offer is a few KB).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// At most this many chat messages per connection in [`BURST_WINDOW`].
const BURST_MESSAGES: usize = 20;
const BURST_WINDOW: Duration = Duration::from_secs(10);

fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        // Not a browser (tests, tools): cookies decide.
        return true;
    };
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let public = state.settings.app.public_url.trim_end_matches('/');
    origin == public || origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

pub async fn room_socket(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    user: Option<Extension<CurrentUser>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(Extension(user)) = user else {
        return (StatusCode::UNAUTHORIZED, "Please sign in to continue.").into_response();
    };
    if !same_origin(&state, &headers) {
        return (StatusCode::FORBIDDEN, "Cross-site room connections are refused.").into_response();
    }
    let meta = request_meta(&headers, Some(peer), &state.settings.server.trusted_proxies);
    match room::admit(&state, user, id, &meta).await {
        Ok((row, side)) => {
            let name = match side {
                Side::Doctor => format!("Dr {} {}", row.doctor_first_name, row.doctor_last_name),
                Side::Patient => format!("{} {}", row.patient_first_name, row.patient_last_name),
            };
            let status = row.status.clone();
            upgrade
                .max_message_size(MAX_MESSAGE_BYTES)
                .on_upgrade(move |socket| serve(state, socket, Participant { id, user, side, name, status, meta }))
        }
        Err(e) => {
            (StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::NOT_FOUND), e.to_string()).into_response()
        }
    }
}

struct Participant {
    id: Uuid,
    user: CurrentUser,
    side: Side,
    name: String,
    status: String,
    meta: RequestMeta,
}

async fn serve(state: AppState, mut socket: WebSocket, p: Participant) {
    let conn = Uuid::new_v4();
    let role = p.side.as_str();
    let mut inbox = state.rooms.join(p.id, conn, role, p.name.clone());
    let welcome = ServerEvent::Welcome { conn, role: role.into(), status: p.status.clone() };
    let presence = |present: bool| Envelope {
        room: p.id,
        from: Some(conn),
        to: None,
        role: None,
        reply: false,
        event: ServerEvent::Presence { conn, role: role.into(), name: p.name.clone(), present },
    };
    let mut open = send(&mut socket, &welcome).await;
    if open {
        if let Err(e) = RoomHub::broadcast(&state.pool, p.user.actor(), &presence(true)).await {
            tracing::warn!(error = %e, "presence not published");
        }
    }
    let mut heartbeat = tokio::time::interval(Duration::from_secs(20));
    let mut recent: Vec<Instant> = Vec::new();
    while open {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let answer = handle(&state, &p, conn, text.as_str(), &mut recent).await;
                    if let Some(answer) = answer {
                        open = send(&mut socket, &answer).await;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    open = send(&mut socket, &ServerEvent::Refused { message: "Send text messages.".into() }).await;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => open = false,
            },
            outgoing = inbox.recv() => match outgoing {
                Some(text) => open = socket.send(Message::Text(text.into())).await.is_ok(),
                None => open = false,
            },
            _ = heartbeat.tick() => {
                open = socket.send(Message::Ping(Vec::new().into())).await.is_ok();
            }
        }
    }
    state.rooms.leave(p.id, conn);
    if let Err(e) = RoomHub::broadcast(&state.pool, p.user.actor(), &presence(false)).await {
        tracing::warn!(error = %e, "presence not published");
    }
}

async fn send(socket: &mut WebSocket, event: &ServerEvent) -> bool {
    let text = serde_json::to_string(event).unwrap_or_default();
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// One message from the participant; answers what goes back to them alone.
async fn handle(
    state: &AppState,
    p: &Participant,
    conn: Uuid,
    text: &str,
    recent: &mut Vec<Instant>,
) -> Option<ServerEvent> {
    let refused = |message: &str| Some(ServerEvent::Refused { message: message.into() });
    let Ok(event) = serde_json::from_str::<ClientEvent>(text) else {
        return refused("That message could not be read.");
    };
    let relay =
        |event: ServerEvent| Envelope { room: p.id, from: Some(conn), to: None, role: None, reply: false, event };
    match event {
        ClientEvent::Ping => Some(ServerEvent::Pong),
        ClientEvent::Chat { client_id, body } => {
            let now = Instant::now();
            recent.retain(|t| now.duration_since(*t) < BURST_WINDOW);
            if recent.len() >= BURST_MESSAGES {
                return refused("You are sending messages too fast. Wait a few seconds.");
            }
            recent.push(now);
            match room::send_chat(state, p.user, p.id, client_id, &body, &p.meta).await {
                Ok(()) => None,
                Err(e) => {
                    let message = e.field_messages("body").first().cloned().unwrap_or_else(|| e.to_string());
                    Some(ServerEvent::Refused { message })
                }
            }
        }
        // Typing goes to the other side only while the visit is under way
        // (before the start, presence is all that travels); a refusal would
        // only be noise, so nothing is answered.
        ClientEvent::Typing => {
            if let Ok(Relay::Allowed) = room::may_relay(state, p.user, p.id, Live::Typing).await {
                let typing = relay(ServerEvent::Typing { role: p.side.as_str().into() });
                if let Err(e) = RoomHub::broadcast(&state.pool, p.user.actor(), &typing).await {
                    tracing::warn!(error = %e, "typing not relayed");
                }
            }
            None
        }
        ClientEvent::Signal { data } => match room::may_relay(state, p.user, p.id, Live::Signal).await {
            Ok(Relay::Allowed) => {
                let signal = relay(ServerEvent::Signal { from: conn, data });
                if let Err(e) = RoomHub::broadcast(&state.pool, p.user.actor(), &signal).await {
                    tracing::warn!(error = %e, "signal not relayed");
                    return refused("The call could not be set up. Try again.");
                }
                None
            }
            Ok(Relay::NoMedia) => refused("This is a chat consultation: it has no call. Write in the chat instead."),
            Ok(Relay::NotUnderWay) => refused("The call starts when the doctor starts the visit."),
            Err(_) => refused("The call could not be set up. Try again."),
        },
    }
}
