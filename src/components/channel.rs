//! The room's live channel, as the browser holds it: a WebSocket to
//! `/ws/consultations/{id}` that reconnects by itself (after 1, 2, 4, … up
//! to 15 seconds) and keeps what was sent while it was away until it is
//! back. The server stores a chat message once per `client_id`, so sending
//! one again after a reconnect is safe.
//!
//! It gives up (state `Closed`, and the page is told why) when the server
//! refuses it for good: a close with a refusal code, or a handshake that
//! failed (the browser does not show us the HTTP status of a refused
//! upgrade: 401, 404, 409 all look like a dropped network) after which the
//! page's own check says the room no longer lets us in. A network that is
//! down keeps it trying, up to [`MAX_FAILED_ATTEMPTS`] attempts in a row.

use crate::api::room::ClientEvent;

/// How the channel stands, for the page to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    Connecting,
    Open,
    /// Lost; trying again in a moment.
    Reconnecting,
    /// Closed for good (the page left, or the server refused us).
    Closed,
}

impl ChannelState {
    pub fn label(self) -> &'static str {
        match self {
            ChannelState::Connecting => "Connecting…",
            ChannelState::Open => "Connected",
            ChannelState::Reconnecting => "Connection lost: reconnecting…",
            ChannelState::Closed => "Disconnected",
        }
    }
}

/// Attempts in a row that never got in before the channel gives up (about
/// five minutes of backoff).
pub const MAX_FAILED_ATTEMPTS: u32 = 25;

/// What the page is told when the channel gives up after that many attempts.
pub const GAVE_UP: &str = "The room could not be reached. Check your connection, then reload the page.";

/// Whether a close code means "you may not come back" rather than "lost":
/// 1008 (policy violation) and the application's own codes 4000–4999.
pub fn is_refusal(code: u16) -> bool {
    code == 1008 || (4000..5000).contains(&code)
}

/// The delay before reconnect attempt `attempt` (1-based), in milliseconds.
pub fn backoff_ms(attempt: u32) -> u32 {
    (1000u32.saturating_mul(1 << attempt.saturating_sub(1).min(4))).min(15_000)
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::rc::Rc;

    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    use super::{backoff_ms, is_refusal, ChannelState, ClientEvent, GAVE_UP, MAX_FAILED_ATTEMPTS};
    use crate::api::room::ServerEvent;

    type OnEvent = Rc<dyn Fn(ServerEvent)>;
    type OnState = Rc<dyn Fn(ChannelState)>;
    type OnRefused = Rc<dyn Fn(String)>;
    /// Asked after an attempt failed before it opened: `Some(why)` if the
    /// room no longer lets us in, `None` to keep trying.
    pub type StillAdmitted = Rc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>>>>>;

    /// What the page hears from the channel.
    pub struct Handlers {
        pub on_event: OnEvent,
        pub on_state: OnState,
        /// The channel gave up for good, with the reason to show.
        pub on_refused: OnRefused,
        pub still_admitted: StillAdmitted,
    }

    struct Inner {
        url: String,
        socket: Option<WebSocket>,
        on_event: OnEvent,
        on_state: OnState,
        on_refused: OnRefused,
        still_admitted: StillAdmitted,
        attempt: u32,
        /// Attempts in a row that never opened.
        failed: u32,
        /// Whether the current socket opened.
        opened: bool,
        closed: bool,
        /// Sent while away: delivered when the channel is back.
        outbox: Vec<String>,
        handlers: Vec<Box<dyn std::any::Any>>,
    }

    /// A room channel that reconnects by itself.
    #[derive(Clone)]
    pub struct Channel {
        inner: Rc<RefCell<Inner>>,
    }

    impl Channel {
        pub fn open(path: &str, handlers: Handlers) -> Channel {
            let Handlers { on_event, on_state, on_refused, still_admitted } = handlers;
            let location = web_sys::window().map(|w| w.location());
            let host = location.as_ref().and_then(|l| l.host().ok()).unwrap_or_default();
            let secure = location.as_ref().and_then(|l| l.protocol().ok()).is_some_and(|p| p == "https:");
            let url = format!("{}://{host}{path}", if secure { "wss" } else { "ws" });
            let channel = Channel {
                inner: Rc::new(RefCell::new(Inner {
                    url,
                    socket: None,
                    on_event,
                    on_state,
                    on_refused,
                    still_admitted,
                    attempt: 0,
                    failed: 0,
                    opened: false,
                    closed: false,
                    outbox: Vec::new(),
                    handlers: Vec::new(),
                })),
            };
            channel.connect();
            channel
        }

        fn connect(&self) {
            let (url, on_state) = {
                let inner = self.inner.borrow();
                if inner.closed {
                    return;
                }
                (inner.url.clone(), inner.on_state.clone())
            };
            on_state(ChannelState::Connecting);
            let Ok(socket) = WebSocket::new(&url) else {
                self.retry();
                return;
            };
            let on_open = {
                let me = self.clone();
                Closure::<dyn FnMut()>::new(move || {
                    let (socket, queued, on_state) = {
                        let mut inner = me.inner.borrow_mut();
                        inner.attempt = 0;
                        inner.failed = 0;
                        inner.opened = true;
                        (inner.socket.clone(), std::mem::take(&mut inner.outbox), inner.on_state.clone())
                    };
                    on_state(ChannelState::Open);
                    if let Some(socket) = socket {
                        for text in queued {
                            let _ = socket.send_with_str(&text);
                        }
                    }
                })
            };
            let on_message = {
                let me = self.clone();
                Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                    let Some(text) = e.data().as_string() else { return };
                    let Ok(event) = serde_json::from_str::<ServerEvent>(&text) else { return };
                    let on_event = me.inner.borrow().on_event.clone();
                    on_event(event);
                })
            };
            let on_close = {
                let me = self.clone();
                Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
                    let (opened, failed, still_admitted) = {
                        let mut inner = me.inner.borrow_mut();
                        inner.socket = None;
                        if !inner.opened {
                            inner.failed += 1;
                        }
                        (std::mem::take(&mut inner.opened), inner.failed, inner.still_admitted.clone())
                    };
                    if is_refusal(e.code()) {
                        let reason = e.reason();
                        me.give_up(if reason.trim().is_empty() {
                            "The room closed the connection.".to_owned()
                        } else {
                            reason
                        });
                    } else if opened {
                        me.retry();
                    } else if failed >= MAX_FAILED_ATTEMPTS {
                        me.give_up(GAVE_UP.to_owned());
                    } else {
                        // Refused at the door, or no network: the page finds out which.
                        let me = me.clone();
                        leptos::task::spawn_local(async move {
                            match still_admitted().await {
                                Some(why) => me.give_up(why),
                                None => me.retry(),
                            }
                        });
                    }
                })
            };
            socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            let mut inner = self.inner.borrow_mut();
            inner.handlers = vec![Box::new(on_open), Box::new(on_message), Box::new(on_close)];
            inner.socket = Some(socket);
        }

        fn retry(&self) {
            let (delay, on_state) = {
                let mut inner = self.inner.borrow_mut();
                if inner.closed {
                    return;
                }
                inner.attempt += 1;
                (backoff_ms(inner.attempt), inner.on_state.clone())
            };
            on_state(ChannelState::Reconnecting);
            let me = self.clone();
            leptos::prelude::set_timeout(move || me.connect(), std::time::Duration::from_millis(delay as u64));
        }

        /// Stops for good and tells the page why.
        fn give_up(&self, why: String) {
            let (on_state, on_refused) = {
                let mut inner = self.inner.borrow_mut();
                if inner.closed {
                    return;
                }
                inner.closed = true;
                inner.outbox.clear();
                (inner.on_state.clone(), inner.on_refused.clone())
            };
            on_state(ChannelState::Closed);
            on_refused(why);
        }

        /// Sends now, or when the channel is back (chat only: typing,
        /// signalling and pings are only worth sending now).
        pub fn send(&self, event: &ClientEvent) {
            let Ok(text) = serde_json::to_string(event) else { return };
            let mut inner = self.inner.borrow_mut();
            let open = inner.socket.as_ref().is_some_and(|s| s.ready_state() == WebSocket::OPEN);
            if open {
                if let Some(socket) = &inner.socket {
                    if socket.send_with_str(&text).is_ok() {
                        return;
                    }
                }
            }
            if matches!(event, ClientEvent::Chat { .. }) {
                inner.outbox.push(text);
            }
        }

        pub fn close(&self) {
            let socket = {
                let mut inner = self.inner.borrow_mut();
                inner.closed = true;
                inner.socket.take()
            };
            // Closed on purpose (the page is going): nobody is told.
            if let Some(socket) = socket {
                socket.set_onclose(None);
                socket.set_onmessage(None);
                let _ = socket.close();
            }
        }
    }
}

#[cfg(feature = "hydrate")]
pub use browser::{Channel, Handlers, StillAdmitted};

/// On the server there is no channel: pages render without one.
#[cfg(not(feature = "hydrate"))]
#[derive(Clone)]
pub struct Channel;

#[cfg(not(feature = "hydrate"))]
impl Channel {
    pub fn send(&self, _event: &ClientEvent) {}
    pub fn close(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_from_one_to_fifteen_seconds() {
        let delays: Vec<u32> = (1..=7).map(backoff_ms).collect();
        assert_eq!(delays, vec![1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    }

    #[test]
    fn only_policy_and_application_close_codes_are_refusals() {
        assert!(is_refusal(1008));
        assert!(is_refusal(4404));
        assert!(is_refusal(4409));
        // Lost, not refused: the browser's "abnormal closure", a server restart, a normal close.
        assert!(!is_refusal(1006));
        assert!(!is_refusal(1001));
        assert!(!is_refusal(1000));
        assert!(!is_refusal(1011));
    }

    #[test]
    fn client_events_are_tagged_as_the_server_reads_them() {
        let chat = ClientEvent::Chat { client_id: uuid::Uuid::nil(), body: "Hello".into() };
        let text = serde_json::to_string(&chat).unwrap();
        assert_eq!(text, r#"{"type":"chat","client_id":"00000000-0000-0000-0000-000000000000","body":"Hello"}"#);
        assert_eq!(serde_json::from_str::<ClientEvent>(r#"{"type":"typing"}"#).unwrap(), ClientEvent::Typing);
    }
}
