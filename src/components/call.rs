//! The browser side of a 1:1 video or audio consultation over WebRTC.
//!
//! The room page owns the WebSocket; this module owns the camera, the
//! microphone and the `RTCPeerConnection`. Messages travel as JSON values
//! with a `kind` field (see [`Signal`]); the page hands incoming ones to
//! [`Call::on_signal`] and sends whatever `send_signal` gives it.
//!
//! Roles: the doctor's browser always offers ([`Call::offer`]), the
//! patient's browser answers. An offer that arrives while a connection
//! exists (the other side reloaded) replaces it. A typical page:
//!
//! 1. `Call::new(..)`, then `set_remote_element("remote-video")`;
//! 2. `start_media("local-video").await` and show the message if it failed
//!    (the call still works one way: the other side is seen and heard);
//! 3. the doctor calls `offer().await` once the patient is in the room
//!    (and again whenever the patient rejoins, or the state is "failed");
//! 4. every incoming signalling message goes to `on_signal(..).await`;
//! 5. `hang_up(true)` on the hang-up button, `hang_up(false)` on cleanup.
//!
//! On the server (`ssr`) the same API exists and does nothing.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::rc::Rc;

/// A STUN or TURN server for the peer connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

/// What the consultation carries: camera and microphone, or microphone only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Video,
    Audio,
}

/// Whether the browser gave us the camera and/or microphone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PermissionState {
    Unknown,
    Granted,
    /// The person (or a browser policy) refused; the message says what to do.
    Denied(String),
    /// No device, a device in use, or a browser that cannot do it here.
    Unavailable(String),
}

const REFUSED: &str = "Camera or microphone access was refused. Allow it in your browser's site settings, then reload.";
const NOT_FOUND: &str = "No camera or microphone was found.";
const NOT_READABLE: &str =
    "Your camera or microphone could not be started. Another application may be using it: close it, then try again.";
const FAILED: &str = "The camera or microphone could not be started.";

/// The state to show for a failed `getUserMedia`, from the error's `name`
/// and `message`.
pub fn permission_for_error(name: &str, message: &str) -> PermissionState {
    match name {
        "NotAllowedError" | "PermissionDeniedError" | "SecurityError" => PermissionState::Denied(REFUSED.to_owned()),
        "NotFoundError" | "DevicesNotFoundError" => PermissionState::Unavailable(NOT_FOUND.to_owned()),
        "NotReadableError" | "TrackStartError" => PermissionState::Unavailable(NOT_READABLE.to_owned()),
        _ if !message.trim().is_empty() => PermissionState::Unavailable(message.trim().to_owned()),
        _ => PermissionState::Unavailable(FAILED.to_owned()),
    }
}

/// A signalling message between the two browsers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    Offer(String),
    Answer(String),
    Candidate {
        candidate: String,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u16>,
    },
    /// The other side hung up.
    Bye,
}

/// Reads a signalling message; anything malformed or of another kind is `None`.
pub fn parse_signal(v: &Value) -> Option<Signal> {
    let object = v.as_object()?;
    let sdp = || object.get("sdp").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    match object.get("kind")?.as_str()? {
        "offer" => Some(Signal::Offer(sdp()?)),
        "answer" => Some(Signal::Answer(sdp()?)),
        "candidate" => {
            let candidate = object.get("candidate")?.as_str()?.to_owned();
            // Absent or null means "not given"; any other type is malformed.
            let sdp_mid = match object.get("sdpMid") {
                None | Some(Value::Null) => None,
                Some(mid) => Some(mid.as_str()?.to_owned()),
            };
            let sdp_m_line_index = match object.get("sdpMLineIndex") {
                None | Some(Value::Null) => None,
                Some(index) => Some(u16::try_from(index.as_u64()?).ok()?),
            };
            Some(Signal::Candidate { candidate, sdp_mid, sdp_m_line_index })
        }
        "bye" => Some(Signal::Bye),
        _ => None,
    }
}

/// The JSON form of a signalling message, as [`parse_signal`] reads it.
pub fn signal_json(s: &Signal) -> Value {
    match s {
        Signal::Offer(sdp) => json!({ "kind": "offer", "sdp": sdp }),
        Signal::Answer(sdp) => json!({ "kind": "answer", "sdp": sdp }),
        Signal::Candidate { candidate, sdp_mid, sdp_m_line_index } => json!({
            "kind": "candidate",
            "candidate": candidate,
            "sdpMid": sdp_mid,
            "sdpMLineIndex": sdp_m_line_index,
        }),
        Signal::Bye => json!({ "kind": "bye" }),
    }
}

/// One side of a call. Cheap to clone (all clones share the same call);
/// not `Send`, so keep it in local storage (`StoredValue::new_local`).
#[derive(Clone)]
pub struct Call {
    #[cfg(feature = "hydrate")]
    inner: engine::Shared,
    // On the server a call holds nothing (and may be dropped on any thread).
    #[cfg(not(feature = "hydrate"))]
    _nothing: (),
}

impl Call {
    /// `send_signal` sends a message to the other side; `on_state` receives the
    /// peer connection's state ("new", "connecting", "connected",
    /// "disconnected", "failed", "closed") or "media-error" when the
    /// connection could not be set up (an offer or answer was rejected).
    pub fn new(
        kind: MediaKind,
        ice_servers: Vec<IceServer>,
        send_signal: Rc<dyn Fn(Value)>,
        on_state: Rc<dyn Fn(String)>,
    ) -> Call {
        #[cfg(feature = "hydrate")]
        {
            Call { inner: engine::new(kind, ice_servers, send_signal, on_state) }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (kind, ice_servers, send_signal, on_state);
            Call { _nothing: () }
        }
    }

    /// Asks for the camera and microphone (the microphone only for
    /// [`MediaKind::Audio`]) and shows the local preview, muted, in the
    /// `<video>` with this id. On failure the state carries a message for the
    /// person; the call can still go ahead one way.
    pub async fn start_media(&self, local_video_id: &str) -> PermissionState {
        #[cfg(feature = "hydrate")]
        {
            engine::start_media(&self.inner, local_video_id).await
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = local_video_id;
            PermissionState::Unknown
        }
    }

    /// The id of the `<video>` (or `<audio>`) that plays the other side.
    pub fn set_remote_element(&self, remote_id: &str) {
        #[cfg(feature = "hydrate")]
        engine::set_remote_element(&self.inner, remote_id);
        #[cfg(not(feature = "hydrate"))]
        let _ = remote_id;
    }

    /// Doctor: (re)creates the peer connection, adds the local tracks and
    /// sends an offer. Call it after `start_media`.
    pub async fn offer(&self) {
        #[cfg(feature = "hydrate")]
        engine::offer(&self.inner).await;
    }

    /// Either side: handles a message from the other side. Messages of other
    /// kinds, or malformed ones, are ignored.
    pub async fn on_signal(&self, message: Value) {
        #[cfg(feature = "hydrate")]
        if let Some(signal) = parse_signal(&message) {
            engine::on_signal(&self.inner, signal).await;
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = message;
    }

    /// Turns the microphone off (`true`) or on.
    pub fn set_muted(&self, muted: bool) {
        #[cfg(feature = "hydrate")]
        engine::set_muted(&self.inner, muted);
        #[cfg(not(feature = "hydrate"))]
        let _ = muted;
    }

    /// Turns the camera off (`true`) or on.
    pub fn set_camera_off(&self, off: bool) {
        #[cfg(feature = "hydrate")]
        engine::set_camera_off(&self.inner, off);
        #[cfg(not(feature = "hydrate"))]
        let _ = off;
    }

    /// Ends the call: closes the connection, releases the camera and
    /// microphone, reports "closed", and tells the other side when
    /// `tell_other`. Offers that arrive afterwards are ignored until
    /// `start_media` or `offer` is called again.
    pub fn hang_up(&self, tell_other: bool) {
        #[cfg(feature = "hydrate")]
        engine::hang_up(&self.inner, tell_other);
        #[cfg(not(feature = "hydrate"))]
        let _ = tell_other;
    }
}

#[cfg(feature = "hydrate")]
mod engine {
    use super::{permission_for_error, signal_json, IceServer, MediaKind, PermissionState, Signal, Value};
    use std::cell::RefCell;
    use std::rc::{Rc, Weak};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::{spawn_local, JsFuture};
    use web_sys::{
        HtmlMediaElement, MediaStream, MediaStreamConstraints, MediaStreamTrack, RtcConfiguration, RtcIceCandidateInit,
        RtcIceServer, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcRtpSender,
        RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSdpType, RtcSessionDescriptionInit, RtcSignalingState,
        RtcTrackEvent,
    };

    pub(super) type Shared = Rc<RefCell<Inner>>;

    /// Remote candidates kept while no remote description is set; a bound so
    /// a misbehaving peer cannot grow it without end.
    const MAX_PENDING: usize = 256;

    const NO_SUPPORT: &str = "This browser cannot use a camera or microphone on this page. \
        Use an up-to-date browser and a secure (https) address.";

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum MediaPhase {
        Idle,
        Starting,
        Ready,
    }

    struct PendingCandidate {
        candidate: String,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u16>,
    }

    impl PendingCandidate {
        fn init(&self) -> RtcIceCandidateInit {
            let init = RtcIceCandidateInit::new(&self.candidate);
            init.set_sdp_mid(self.sdp_mid.as_deref());
            init.set_sdp_m_line_index(self.sdp_m_line_index);
            init
        }
    }

    /// A peer connection with its event handlers; dropping it closes it.
    struct Peer {
        pc: RtcPeerConnection,
        remote_set: bool,
        _on_ice: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
        _on_track: Closure<dyn FnMut(RtcTrackEvent)>,
        _on_state: Closure<dyn FnMut()>,
    }

    impl Drop for Peer {
        fn drop(&mut self) {
            // Unhook first: the browser must never call a dropped closure.
            self.pc.set_onicecandidate(None);
            self.pc.set_ontrack(None);
            self.pc.set_onconnectionstatechange(None);
            self.pc.close();
        }
    }

    pub(super) struct Inner {
        kind: MediaKind,
        ice_servers: Vec<IceServer>,
        send_signal: Rc<dyn Fn(Value)>,
        on_state: Rc<dyn Fn(String)>,
        local: Option<MediaStream>,
        local_id: Option<String>,
        remote: Option<MediaStream>,
        remote_id: Option<String>,
        peer: Option<Peer>,
        /// Bumped whenever the peer connection is replaced or closed: async
        /// steps of an older one see the change and stop.
        generation: u64,
        /// Bumped by each `start_media` and by `hang_up`.
        media_generation: u64,
        media: MediaPhase,
        /// An offer that arrived while the camera prompt was open.
        deferred_offer: Option<String>,
        pending: Vec<PendingCandidate>,
        muted: bool,
        camera_off: bool,
        ended: bool,
    }

    pub(super) fn new(
        kind: MediaKind,
        ice_servers: Vec<IceServer>,
        send_signal: Rc<dyn Fn(Value)>,
        on_state: Rc<dyn Fn(String)>,
    ) -> Shared {
        Rc::new(RefCell::new(Inner {
            kind,
            ice_servers,
            send_signal,
            on_state,
            local: None,
            local_id: None,
            remote: None,
            remote_id: None,
            peer: None,
            generation: 0,
            media_generation: 0,
            media: MediaPhase::Idle,
            deferred_offer: None,
            pending: Vec::new(),
            muted: false,
            camera_off: false,
            ended: false,
        }))
    }

    // Callbacks run with no borrow held: they may call back into the call.
    fn report(shared: &Shared, state: &str) {
        let on_state = shared.borrow().on_state.clone();
        on_state(state.to_owned());
    }

    fn send(shared: &Shared, signal: &Signal) {
        let send_signal = shared.borrow().send_signal.clone();
        send_signal(signal_json(signal));
    }

    fn is_current(shared: &Shared, generation: u64) -> bool {
        shared.try_borrow().is_ok_and(|inner| inner.generation == generation && inner.peer.is_some())
    }

    /// Reports a failed negotiation step, unless the connection was replaced meanwhile.
    fn fail(shared: &Shared, generation: u64) {
        if is_current(shared, generation) {
            report(shared, "media-error");
        }
    }

    pub(super) async fn start_media(shared: &Shared, local_id: &str) -> PermissionState {
        let (kind, media_generation) = {
            let mut inner = shared.borrow_mut();
            inner.media_generation += 1;
            inner.media = MediaPhase::Starting;
            inner.ended = false;
            inner.local_id = Some(local_id.to_owned());
            (inner.kind, inner.media_generation)
        };
        let result = user_media(kind).await;
        if shared.borrow().media_generation != media_generation {
            // Hung up (or started again) while the prompt was open.
            if let Ok(stream) = &result {
                stop_tracks(stream);
            }
            return result.err().unwrap_or(PermissionState::Unknown);
        }
        let state = match result {
            Ok(stream) => {
                let (old, muted, camera_off) = {
                    let mut inner = shared.borrow_mut();
                    (inner.local.replace(stream.clone()), inner.muted, inner.camera_off)
                };
                if let Some(old) = old {
                    stop_tracks(&old);
                }
                enable_tracks(&stream.get_audio_tracks(), !muted);
                enable_tracks(&stream.get_video_tracks(), !camera_off);
                attach(local_id, &stream, true);
                PermissionState::Granted
            }
            Err(state) => state,
        };
        let deferred = {
            let mut inner = shared.borrow_mut();
            inner.media = MediaPhase::Ready;
            inner.deferred_offer.take()
        };
        if let Some(sdp) = deferred {
            let shared = shared.clone();
            spawn_local(async move { answer(&shared, sdp).await });
        }
        state
    }

    async fn user_media(kind: MediaKind) -> Result<MediaStream, PermissionState> {
        let unsupported = || PermissionState::Unavailable(NO_SUPPORT.to_owned());
        let window = web_sys::window().ok_or_else(unsupported)?;
        // `navigator.mediaDevices` is missing on insecure (http) origins.
        let devices = window.navigator().media_devices().map_err(|_| unsupported())?;
        if devices.is_undefined() || devices.is_null() {
            return Err(unsupported());
        }
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&JsValue::TRUE);
        constraints.set_video(&JsValue::from_bool(kind == MediaKind::Video));
        let promise = devices.get_user_media_with_constraints(&constraints).map_err(|e| permission_state(&e))?;
        let stream = JsFuture::from(promise).await.map_err(|e| permission_state(&e))?;
        stream.dyn_into::<MediaStream>().map_err(|_| unsupported())
    }

    fn permission_state(error: &JsValue) -> PermissionState {
        let field = |key: &str| {
            js_sys::Reflect::get(error, &JsValue::from_str(key)).ok().and_then(|v| v.as_string()).unwrap_or_default()
        };
        permission_for_error(&field("name"), &field("message"))
    }

    pub(super) fn set_remote_element(shared: &Shared, remote_id: &str) {
        let remote = {
            let mut inner = shared.borrow_mut();
            inner.remote_id = Some(remote_id.to_owned());
            inner.remote.clone()
        };
        if let Some(stream) = remote {
            attach(remote_id, &stream, false);
        }
    }

    pub(super) async fn offer(shared: &Shared) {
        shared.borrow_mut().ended = false;
        let Some((pc, generation)) = create_peer(shared) else { return };
        add_local_tracks(shared, &pc, true);
        let created = JsFuture::from(pc.create_offer()).await;
        if !is_current(shared, generation) {
            return;
        }
        let Some(sdp) = created.ok().as_ref().and_then(sdp_of) else { return fail(shared, generation) };
        let description = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
        description.set_sdp(&sdp);
        let set = JsFuture::from(pc.set_local_description(&description)).await;
        if set.is_err() {
            return fail(shared, generation);
        }
        if is_current(shared, generation) {
            send(shared, &Signal::Offer(sdp));
        }
    }

    pub(super) async fn on_signal(shared: &Shared, signal: Signal) {
        if shared.borrow().ended {
            return;
        }
        match signal {
            Signal::Offer(sdp) => {
                let starting = {
                    let mut inner = shared.borrow_mut();
                    let starting = inner.media == MediaPhase::Starting;
                    if starting {
                        inner.deferred_offer = Some(sdp.clone());
                    }
                    starting
                };
                if !starting {
                    answer(shared, sdp).await;
                }
            }
            Signal::Answer(sdp) => accept_answer(shared, sdp).await,
            Signal::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                add_candidate(shared, PendingCandidate { candidate, sdp_mid, sdp_m_line_index }).await;
            }
            Signal::Bye => {
                // Keep the camera: the other side may come back.
                let (peer, remote_id) = {
                    let mut inner = shared.borrow_mut();
                    inner.generation += 1;
                    inner.pending.clear();
                    inner.remote = None;
                    (inner.peer.take(), inner.remote_id.clone())
                };
                drop(peer);
                if let Some(id) = remote_id {
                    detach(&id);
                }
                report(shared, "closed");
            }
        }
    }

    /// Patient: answers an offer on a fresh peer connection.
    async fn answer(shared: &Shared, offer_sdp: String) {
        let Some((pc, generation)) = create_peer(shared) else { return };
        let offer = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
        offer.set_sdp(&offer_sdp);
        let set = JsFuture::from(pc.set_remote_description(&offer)).await;
        if set.is_err() {
            return fail(shared, generation);
        }
        if !flush_candidates(shared, &pc, generation).await {
            return;
        }
        // After the remote description, so the tracks take the offered transceivers.
        add_local_tracks(shared, &pc, false);
        let created = JsFuture::from(pc.create_answer()).await;
        if !is_current(shared, generation) {
            return;
        }
        let Some(sdp) = created.ok().as_ref().and_then(sdp_of) else { return fail(shared, generation) };
        let description = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
        description.set_sdp(&sdp);
        let set = JsFuture::from(pc.set_local_description(&description)).await;
        if set.is_err() {
            return fail(shared, generation);
        }
        if is_current(shared, generation) {
            send(shared, &Signal::Answer(sdp));
        }
    }

    /// Doctor: applies the patient's answer to the offer in flight.
    async fn accept_answer(shared: &Shared, sdp: String) {
        let current = {
            let inner = shared.borrow();
            inner.peer.as_ref().map(|peer| (peer.pc.clone(), inner.generation))
        };
        let Some((pc, generation)) = current else { return };
        // A stray or repeated answer is not an error worth showing.
        if pc.signaling_state() != RtcSignalingState::HaveLocalOffer {
            return;
        }
        let description = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
        description.set_sdp(&sdp);
        let set = JsFuture::from(pc.set_remote_description(&description)).await;
        if set.is_err() {
            return fail(shared, generation);
        }
        flush_candidates(shared, &pc, generation).await;
    }

    async fn add_candidate(shared: &Shared, candidate: PendingCandidate) {
        let pc = {
            let inner = &mut *shared.borrow_mut();
            match &inner.peer {
                Some(peer) if peer.remote_set => peer.pc.clone(),
                // Too early: kept until the remote description is set.
                _ => {
                    if inner.pending.len() < MAX_PENDING {
                        inner.pending.push(candidate);
                    }
                    return;
                }
            }
        };
        // A candidate the browser rejects is simply not used.
        let _ = JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&candidate.init()))).await;
    }

    /// Marks the remote description as set and adds the queued candidates.
    /// False when the connection was replaced meanwhile.
    async fn flush_candidates(shared: &Shared, pc: &RtcPeerConnection, generation: u64) -> bool {
        let pending = {
            let inner = &mut *shared.borrow_mut();
            match inner.peer.as_mut() {
                Some(peer) if inner.generation == generation => {
                    peer.remote_set = true;
                    std::mem::take(&mut inner.pending)
                }
                _ => return false,
            }
        };
        for candidate in pending {
            let _ = JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&candidate.init()))).await;
            if !is_current(shared, generation) {
                return false;
            }
        }
        true
    }

    /// Closes any existing connection and opens a new one with its handlers.
    fn create_peer(shared: &Shared) -> Option<(RtcPeerConnection, u64)> {
        let (old, generation, remote_id, config) = {
            let mut inner = shared.borrow_mut();
            inner.generation += 1;
            inner.pending.clear();
            inner.remote = None;
            (inner.peer.take(), inner.generation, inner.remote_id.clone(), configuration(&inner.ice_servers))
        };
        drop(old);
        if let Some(id) = remote_id {
            detach(&id);
        }
        let Ok(pc) = RtcPeerConnection::new_with_configuration(&config) else {
            report(shared, "media-error");
            return None;
        };

        let weak = Rc::downgrade(shared);
        let on_ice = Closure::<dyn FnMut(RtcPeerConnectionIceEvent)>::new(move |event: RtcPeerConnectionIceEvent| {
            let Some(shared) = current(&weak, generation) else { return };
            // No candidate (or an empty one) marks the end of gathering.
            let Some(found) = event.candidate() else { return };
            let candidate = found.candidate();
            if !candidate.is_empty() {
                let (sdp_mid, sdp_m_line_index) = (found.sdp_mid(), found.sdp_m_line_index());
                send(&shared, &Signal::Candidate { candidate, sdp_mid, sdp_m_line_index });
            }
        });
        let weak = Rc::downgrade(shared);
        let on_track = Closure::<dyn FnMut(RtcTrackEvent)>::new(move |event: RtcTrackEvent| {
            let Some(shared) = current(&weak, generation) else { return };
            on_remote_track(&shared, &event);
        });
        let weak = Rc::downgrade(shared);
        let on_state = Closure::<dyn FnMut()>::new(move || {
            let Some(shared) = current(&weak, generation) else { return };
            let state = shared.borrow().peer.as_ref().map(|peer| peer.pc.connection_state());
            if let Some(name) = state.and_then(state_name) {
                report(&shared, name);
            }
        });
        pc.set_onicecandidate(Some(on_ice.as_ref().unchecked_ref()));
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));

        shared.borrow_mut().peer =
            Some(Peer { pc: pc.clone(), remote_set: false, _on_ice: on_ice, _on_track: on_track, _on_state: on_state });
        report(shared, "new");
        Some((pc, generation))
    }

    /// The call, if it is still alive and still on this connection.
    fn current(weak: &Weak<RefCell<Inner>>, generation: u64) -> Option<Shared> {
        weak.upgrade().filter(|shared| is_current(shared, generation))
    }

    fn on_remote_track(shared: &Shared, event: &RtcTrackEvent) {
        let stream = match event.streams().get(0).dyn_into::<MediaStream>() {
            Ok(stream) => stream,
            // A track sent without a stream: gather such tracks in our own.
            Err(_) => {
                let existing = shared.borrow().remote.clone();
                let Some(stream) = existing.or_else(|| MediaStream::new().ok()) else { return };
                stream.add_track(&event.track());
                stream
            }
        };
        let remote_id = {
            let mut inner = shared.borrow_mut();
            inner.remote = Some(stream.clone());
            inner.remote_id.clone()
        };
        if let Some(id) = remote_id {
            attach(&id, &stream, false);
        }
    }

    fn state_name(state: RtcPeerConnectionState) -> Option<&'static str> {
        match state {
            RtcPeerConnectionState::New => Some("new"),
            RtcPeerConnectionState::Connecting => Some("connecting"),
            RtcPeerConnectionState::Connected => Some("connected"),
            RtcPeerConnectionState::Disconnected => Some("disconnected"),
            RtcPeerConnectionState::Failed => Some("failed"),
            RtcPeerConnectionState::Closed => Some("closed"),
            _ => None,
        }
    }

    fn configuration(servers: &[IceServer]) -> RtcConfiguration {
        let list = js_sys::Array::new();
        for server in servers.iter().filter(|server| !server.urls.is_empty()) {
            let ice = RtcIceServer::new();
            let urls = js_sys::Array::new();
            for url in &server.urls {
                urls.push(&JsValue::from_str(url));
            }
            ice.set_urls(&urls);
            if let Some(username) = &server.username {
                ice.set_username(username);
            }
            if let Some(credential) = &server.credential {
                ice.set_credential(credential);
            }
            list.push(&ice);
        }
        let config = RtcConfiguration::new();
        config.set_ice_servers(&list);
        config
    }

    /// Adds the local tracks. The offerer also asks to receive any kind it
    /// does not send, so a person without a camera still sees the other.
    fn add_local_tracks(shared: &Shared, pc: &RtcPeerConnection, offerer: bool) {
        let (local, kind) = {
            let inner = shared.borrow();
            (inner.local.clone(), inner.kind)
        };
        let (mut audio, mut video) = (false, false);
        if let Some(stream) = &local {
            for track in stream.get_tracks().iter().filter_map(|t| t.dyn_into::<MediaStreamTrack>().ok()) {
                match track.kind().as_str() {
                    "audio" => audio = true,
                    "video" => video = true,
                    _ => {}
                }
                pc.add_track_0(&track, stream);
            }
        }
        if offerer {
            let receive_only = RtcRtpTransceiverInit::new();
            receive_only.set_direction(RtcRtpTransceiverDirection::Recvonly);
            if !audio {
                pc.add_transceiver_with_str_and_init("audio", &receive_only);
            }
            if !video && kind == MediaKind::Video {
                pc.add_transceiver_with_str_and_init("video", &receive_only);
            }
        }
    }

    fn sdp_of(description: &JsValue) -> Option<String> {
        js_sys::Reflect::get(description, &JsValue::from_str("sdp")).ok()?.as_string().filter(|sdp| !sdp.is_empty())
    }

    pub(super) fn set_muted(shared: &Shared, muted: bool) {
        shared.borrow_mut().muted = muted;
        enable_local(shared, "audio", !muted);
    }

    pub(super) fn set_camera_off(shared: &Shared, off: bool) {
        shared.borrow_mut().camera_off = off;
        enable_local(shared, "video", !off);
    }

    /// Turns our microphone ("audio") or camera ("video") on or off wherever
    /// its tracks are: the stream we hold, the preview, and what the peer
    /// connection sends (a browser test saw the preview play a stream other
    /// than the one held, so none of them is taken on trust).
    fn enable_local(shared: &Shared, kind: &str, enabled: bool) {
        let (local, local_id, pc) = {
            let inner = shared.borrow();
            (inner.local.clone(), inner.local_id.clone(), inner.peer.as_ref().map(|peer| peer.pc.clone()))
        };
        let previewed = local_id.as_deref().and_then(media_element).and_then(|element| element.src_object());
        let mut tracks: Vec<MediaStreamTrack> = Vec::new();
        for stream in local.iter().chain(previewed.iter()) {
            tracks.extend(stream.get_tracks().iter().filter_map(|t| t.dyn_into::<MediaStreamTrack>().ok()));
        }
        if let Some(pc) = pc {
            for sender in pc.get_senders().iter().filter_map(|s| s.dyn_into::<RtcRtpSender>().ok()) {
                tracks.extend(sender.track());
            }
        }
        for track in tracks.iter().filter(|t| t.kind() == kind) {
            track.set_enabled(enabled);
        }
    }

    pub(super) fn hang_up(shared: &Shared, tell_other: bool) {
        let (peer, local, local_id, remote_id) = {
            let mut inner = shared.borrow_mut();
            inner.generation += 1;
            inner.media_generation += 1;
            inner.media = MediaPhase::Idle;
            inner.ended = true;
            inner.deferred_offer = None;
            inner.pending.clear();
            inner.remote = None;
            (inner.peer.take(), inner.local.take(), inner.local_id.clone(), inner.remote_id.clone())
        };
        drop(peer);
        // The preview's stream too (see `enable_local`): the camera light must go off.
        let previewed = local_id.as_deref().and_then(media_element).and_then(|element| element.src_object());
        for stream in local.iter().chain(previewed.iter()) {
            stop_tracks(stream);
        }
        for id in local_id.iter().chain(remote_id.iter()) {
            detach(id);
        }
        if tell_other {
            send(shared, &Signal::Bye);
        }
        report(shared, "closed");
    }

    fn enable_tracks(tracks: &js_sys::Array, enabled: bool) {
        for track in tracks.iter().filter_map(|t| t.dyn_into::<MediaStreamTrack>().ok()) {
            track.set_enabled(enabled);
        }
    }

    fn stop_tracks(stream: &MediaStream) {
        for track in stream.get_tracks().iter().filter_map(|t| t.dyn_into::<MediaStreamTrack>().ok()) {
            track.stop();
        }
    }

    fn media_element(id: &str) -> Option<HtmlMediaElement> {
        web_sys::window()?.document()?.get_element_by_id(id)?.dyn_into::<HtmlMediaElement>().ok()
    }

    /// Plays the stream in the element; the local preview is always muted.
    fn attach(id: &str, stream: &MediaStream, preview: bool) {
        let Some(element) = media_element(id) else { return };
        if preview {
            element.set_muted(true);
        }
        element.set_autoplay(true);
        let _ = element.set_attribute("playsinline", "");
        // Setting the same stream again would restart the element.
        if element.src_object().map(|current| current.id()) != Some(stream.id()) {
            element.set_src_object(Some(stream));
        }
        if let Ok(playing) = element.play() {
            // Autoplay may be refused until the person interacts; `autoplay` retries.
            spawn_local(async move {
                let _ = JsFuture::from(playing).await;
            });
        }
    }

    fn detach(id: &str) {
        if let Some(element) = media_element(id) {
            element.set_src_object(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(signal: Signal) {
        assert_eq!(parse_signal(&signal_json(&signal)), Some(signal));
    }

    #[test]
    fn every_signal_survives_a_round_trip() {
        round_trip(Signal::Offer("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".into()));
        round_trip(Signal::Answer("v=0\r\n".into()));
        round_trip(Signal::Candidate {
            candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        });
        round_trip(Signal::Candidate { candidate: "candidate:2".into(), sdp_mid: None, sdp_m_line_index: None });
        round_trip(Signal::Bye);
    }

    #[test]
    fn the_wire_format_uses_the_browser_field_names() {
        let value = signal_json(&Signal::Candidate {
            candidate: "c".into(),
            sdp_mid: Some("1".into()),
            sdp_m_line_index: Some(1),
        });
        assert_eq!(value, json!({"kind": "candidate", "candidate": "c", "sdpMid": "1", "sdpMLineIndex": 1}));
        assert_eq!(signal_json(&Signal::Bye), json!({"kind": "bye"}));
        let null_fields = json!({"kind": "candidate", "candidate": "c", "sdpMid": null, "sdpMLineIndex": null});
        assert_eq!(
            parse_signal(&null_fields),
            Some(Signal::Candidate { candidate: "c".into(), sdp_mid: None, sdp_m_line_index: None })
        );
    }

    #[test]
    fn malformed_messages_are_ignored() {
        for message in [
            json!({"kind": "offer"}),
            json!({"kind": "offer", "sdp": ""}),
            json!({"kind": "answer", "sdp": 42}),
            json!({"kind": "candidate"}),
            json!({"kind": "candidate", "candidate": "c", "sdpMid": 0}),
            json!({"kind": "candidate", "candidate": "c", "sdpMLineIndex": -1}),
            json!({"kind": "candidate", "candidate": "c", "sdpMLineIndex": 70000}),
            json!({"kind": "candidate", "candidate": "c", "sdpMLineIndex": "0"}),
            json!({"kind": "chat", "text": "hello"}),
            json!({"sdp": "v=0"}),
            json!({"kind": 1}),
            json!("offer"),
            json!(["offer", "v=0"]),
            Value::Null,
        ] {
            assert_eq!(parse_signal(&message), None, "{message}");
        }
    }

    #[test]
    fn media_errors_become_clear_messages() {
        assert_eq!(
            permission_for_error("NotAllowedError", "Permission denied"),
            PermissionState::Denied(REFUSED.into())
        );
        assert_eq!(
            permission_for_error("NotFoundError", "Requested device not found"),
            PermissionState::Unavailable(NOT_FOUND.into())
        );
        assert_eq!(
            permission_for_error("NotReadableError", "Could not start video source"),
            PermissionState::Unavailable(NOT_READABLE.into())
        );
        assert_eq!(
            permission_for_error("OverconstrainedError", "Constraints could not be satisfied."),
            PermissionState::Unavailable("Constraints could not be satisfied.".into())
        );
        assert_eq!(permission_for_error("", ""), PermissionState::Unavailable(FAILED.into()));
    }

    #[test]
    fn ice_servers_read_from_json_without_credentials() {
        let server: IceServer = serde_json::from_value(json!({"urls": ["stun:stun.example.org:3478"]})).unwrap();
        assert_eq!(
            server,
            IceServer { urls: vec!["stun:stun.example.org:3478".into()], username: None, credential: None }
        );
    }
}
