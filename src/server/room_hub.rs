//! The rooms' live channel across server instances. Each instance keeps the
//! WebSocket connections it serves; every event goes through PostgreSQL
//! (`NOTIFY telehealth_room`) and each instance hands it to its own
//! connections in that room. Events published inside a transaction go out
//! when it commits, and not at all when it rolls back.
//!
//! A payload too big for NOTIFY (8000 bytes; an SDP offer can come close)
//! is parked in the unlogged `room_relay` table and the notification carries
//! its id. Row-level security keeps those rows to the room's two parties
//! (who park them, in their own transactions) and the system (this hub,
//! which reads and sweeps them in system transactions).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::api::room::ServerEvent;
use crate::server::db::{self, Actor};

const CHANNEL: &str = "telehealth_room";
/// NOTIFY's limit is 8000 bytes; keep a margin.
const INLINE_LIMIT: usize = 7000;

/// What travels through PostgreSQL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub room: Uuid,
    /// The sending connection (not echoed back to it).
    #[serde(default)]
    pub from: Option<Uuid>,
    /// Only this connection.
    #[serde(default)]
    pub to: Option<Uuid>,
    /// Only connections of this side ("patient" or "doctor").
    #[serde(default)]
    pub role: Option<String>,
    /// An answer to a newcomer's presence (never answered again).
    #[serde(default)]
    pub reply: bool,
    pub event: ServerEvent,
}

/// A notification: the envelope itself or where it was parked.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Notice {
    Relay { relay: i64 },
    Inline(Box<Envelope>),
}

async fn send(conn: &mut PgConnection, envelope: &Envelope) -> Result<(), sqlx::Error> {
    let text = serde_json::to_string(envelope).unwrap_or_default();
    let payload = if text.len() <= INLINE_LIMIT {
        text
    } else {
        let id = sqlx::query_scalar!("INSERT INTO room_relay (payload) VALUES ($1) RETURNING id", text)
            .fetch_one(&mut *conn)
            .await?;
        serde_json::to_string(&Notice::Relay { relay: id }).unwrap_or_default()
    };
    sqlx::query!("SELECT pg_notify($1, $2)", CHANNEL, payload).execute(conn).await?;
    Ok(())
}

/// Sends an event to everyone in the room (on commit, inside a transaction).
pub async fn publish(conn: &mut PgConnection, room: Uuid, event: &ServerEvent) -> Result<(), sqlx::Error> {
    send(conn, &Envelope { room, from: None, to: None, role: None, reply: false, event: event.clone() }).await
}

/// Sends an event to one side of the room only.
pub async fn publish_to_role(
    conn: &mut PgConnection,
    room: Uuid,
    role: &str,
    event: &ServerEvent,
) -> Result<(), sqlx::Error> {
    let envelope = Envelope { room, from: None, to: None, role: Some(role.into()), reply: false, event: event.clone() };
    send(conn, &envelope).await
}

/// One WebSocket connection served by this instance.
struct Peer {
    conn: Uuid,
    role: &'static str,
    name: String,
    out: mpsc::UnboundedSender<String>,
}

/// This instance's connections, by room.
#[derive(Clone, Default)]
pub struct RoomHub {
    rooms: Arc<Mutex<HashMap<Uuid, Vec<Peer>>>>,
}

impl RoomHub {
    /// Registers a connection; its messages arrive on the returned receiver.
    pub fn join(&self, room: Uuid, conn: Uuid, role: &'static str, name: String) -> mpsc::UnboundedReceiver<String> {
        let (out, rx) = mpsc::unbounded_channel();
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.entry(room).or_default().push(Peer { conn, role, name, out });
        rx
    }

    pub fn leave(&self, room: Uuid, conn: Uuid) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(peers) = rooms.get_mut(&room) {
            peers.retain(|p| p.conn != conn);
            if peers.is_empty() {
                rooms.remove(&room);
            }
        }
    }

    /// How many connections this instance serves (for metrics and tests).
    pub fn connections(&self) -> usize {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner()).values().map(Vec::len).sum()
    }

    /// Hands an event to this instance's connections; answers a newcomer's
    /// presence with the presence of the local ones (to be published).
    fn deliver(&self, envelope: &Envelope) -> Vec<Envelope> {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let Some(peers) = rooms.get(&envelope.room) else { return Vec::new() };
        let text = serde_json::to_string(&envelope.event).unwrap_or_default();
        for peer in peers {
            let wanted = envelope.from != Some(peer.conn)
                && envelope.to.is_none_or(|to| to == peer.conn)
                && envelope.role.as_deref().is_none_or(|r| r == peer.role);
            if wanted {
                let _ = peer.out.send(text.clone());
            }
        }
        match &envelope.event {
            ServerEvent::Presence { conn, present: true, .. } if !envelope.reply => peers
                .iter()
                .filter(|p| p.conn != *conn)
                .map(|p| Envelope {
                    room: envelope.room,
                    from: Some(p.conn),
                    to: Some(*conn),
                    role: None,
                    reply: true,
                    event: ServerEvent::Presence {
                        conn: p.conn,
                        role: p.role.into(),
                        name: p.name.clone(),
                        present: true,
                    },
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Listens for the rooms' notifications and delivers them, for as long
    /// as the server runs (reconnecting when the database goes away).
    pub fn spawn_listener(&self, pool: PgPool) {
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = hub.listen(&pool).await {
                    tracing::warn!(error = %e, "room listener stopped; retrying");
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
    }

    async fn listen(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        loop {
            let notification = listener.recv().await?;
            let envelope = match serde_json::from_str::<Notice>(notification.payload()) {
                Ok(Notice::Inline(envelope)) => *envelope,
                Ok(Notice::Relay { relay }) => {
                    // Every room's payloads, for this instance's connections: the server's own read.
                    let mut tx = db::begin_system(pool).await?;
                    let text = sqlx::query_scalar!("SELECT payload FROM room_relay WHERE id = $1", relay)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    match text.and_then(|t| serde_json::from_str::<Envelope>(&t).ok()) {
                        Some(envelope) => envelope,
                        None => continue,
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an unreadable room notification");
                    continue;
                }
            };
            let replies = self.deliver(&envelope);
            if !replies.is_empty() {
                // The server answers for its own connections.
                let mut tx = db::begin_system(pool).await?;
                for reply in &replies {
                    send(&mut tx, reply).await?;
                }
                tx.commit().await?;
            }
        }
    }

    /// Publishes outside any use case (presence, typing, signalling), as
    /// `actor`: one of the room's parties, who may park a payload for their
    /// own room only.
    pub async fn broadcast(pool: &PgPool, actor: Actor, envelope: &Envelope) -> Result<(), sqlx::Error> {
        let mut tx = db::begin(pool, Some(actor)).await?;
        send(&mut tx, envelope).await?;
        tx.commit().await
    }
}

/// Forgets parked payloads nobody needs any more (every room's: the system's job).
pub async fn sweep_relay(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = db::begin_system(pool).await?;
    let done = sqlx::query!("DELETE FROM room_relay WHERE created_at < now() - interval '5 minutes'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
