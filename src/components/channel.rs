//! The room's live channel, as the browser holds it: a WebSocket to
//! `/ws/consultations/{id}` that reconnects by itself (after 1, 2, 4, … up
//! to 15 seconds) and keeps what was sent while it was away until it is
//! back. The server stores a chat message once per `client_id`, so sending
//! one again after a reconnect is safe.

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

    use super::{backoff_ms, ChannelState, ClientEvent};
    use crate::api::room::ServerEvent;

    type OnEvent = Rc<dyn Fn(ServerEvent)>;
    type OnState = Rc<dyn Fn(ChannelState)>;

    struct Inner {
        url: String,
        socket: Option<WebSocket>,
        on_event: OnEvent,
        on_state: OnState,
        attempt: u32,
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
        pub fn open(path: &str, on_event: OnEvent, on_state: OnState) -> Channel {
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
                    attempt: 0,
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
                Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
                    me.inner.borrow_mut().socket = None;
                    me.retry();
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
pub use browser::Channel;

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
    fn client_events_are_tagged_as_the_server_reads_them() {
        let chat = ClientEvent::Chat { client_id: uuid::Uuid::nil(), body: "Hello".into() };
        let text = serde_json::to_string(&chat).unwrap();
        assert_eq!(text, r#"{"type":"chat","client_id":"00000000-0000-0000-0000-000000000000","body":"Hello"}"#);
        assert_eq!(serde_json::from_str::<ClientEvent>(r#"{"type":"typing"}"#).unwrap(), ClientEvent::Typing);
    }
}
