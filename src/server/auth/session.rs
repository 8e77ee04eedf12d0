//! The request's actor: resolved from the session cookies by a middleware,
//! refreshing (rotating) the pair when the access token has expired.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppError;
use crate::server::services::auth::RequestMeta;
use crate::server::services::sessions::{self as auth_service, IssuedSession, RefreshRefused};
use crate::server::state::AppState;

pub const ACCESS_COOKIE: &str = "th_access";
pub const REFRESH_COOKIE: &str = "th_refresh";
/// Between the password and the second factor; only the API reads it.
pub const CHALLENGE_COOKIE: &str = "th_mfa";

/// Who is making the request, once their session checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub user_id: Uuid,
    pub role: Role,
    pub family_id: Uuid,
}

impl CurrentUser {
    pub fn actor(&self) -> crate::server::db::Actor {
        crate::server::db::Actor { user_id: self.user_id, role: self.role }
    }
}

/// The value of one cookie of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    set_cookie_at(name, "/", value, max_age_secs, secure)
}

fn set_cookie_at(name: &str, path: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are URL-safe")
}

/// The Set-Cookie header that carries a sign-in challenge (or, empty, removes it).
pub fn challenge_cookie(state: &AppState, challenge: Option<&str>) -> HeaderValue {
    let age = if challenge.is_some() { crate::server::auth::tokens::CHALLENGE_TTL.as_secs() as i64 } else { 0 };
    set_cookie_at(CHALLENGE_COOKIE, "/api", challenge.unwrap_or(""), age, state.settings.server.behind_tls)
}

/// A cookie of the request being served (inside a server function).
pub fn request_cookie(name: &str) -> Option<String> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|p| cookie(&p.headers, name).map(str::to_owned))
        .filter(|v| !v.is_empty())
}

/// The Set-Cookie headers that hand a session to the browser.
pub fn session_cookies(state: &AppState, issued: &IssuedSession) -> [HeaderValue; 2] {
    let secure = state.settings.server.behind_tls;
    let refresh_age = (issued.expires_at - chrono::Utc::now()).num_seconds().max(0);
    [
        set_cookie(ACCESS_COOKIE, &issued.access_token, state.access_tokens.ttl().as_secs() as i64, secure),
        set_cookie(REFRESH_COOKIE, &issued.refresh_token, refresh_age, secure),
    ]
}

/// The Set-Cookie headers that remove the session from the browser.
pub fn clearing_cookies(state: &AppState) -> [HeaderValue; 2] {
    let secure = state.settings.server.behind_tls;
    [set_cookie(ACCESS_COOKIE, "", 0, secure), set_cookie(REFRESH_COOKIE, "", 0, secure)]
}

/// Adds Set-Cookie headers to the response of the server function being served.
pub fn respond_with_cookies(cookies: impl IntoIterator<Item = HeaderValue>) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        for cookie in cookies {
            response.append_header(header::SET_COOKIE, cookie);
        }
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy, in
/// which case the right-most X-Forwarded-For entry that is not itself a
/// trusted proxy (entries further left can be forged by the client).
pub fn client_ip(
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    trusted: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|ip| ip.trim().parse().ok())
        .collect();
    Some(forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer))
}

/// Where the request came from.
pub fn request_meta(headers: &HeaderMap, peer: Option<SocketAddr>, trusted: &[std::net::IpAddr]) -> RequestMeta {
    RequestMeta {
        ip: client_ip(peer.map(|p| p.ip()), headers, trusted),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

/// Middleware: puts a [`CurrentUser`] in the request's extensions when its
/// cookies hold a live session, refreshing an expired access token.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let meta = request_meta(req.headers(), peer, &state.settings.server.trusted_proxies);
    // Database down: the session cannot be checked. Cookies are kept (no
    // Set-Cookie), and whatever needs a signed-in person answers 503, not 401.
    let (user, cookies, unchecked) = match authenticate(&state, req.headers(), &meta).await {
        Ok((user, cookies)) => (user, cookies, false),
        Err(AppError::Unavailable) => (None, Vec::new(), true),
        // Any other failure was logged where it happened: anonymous, as before.
        Err(_) => (None, Vec::new(), false),
    };
    if let Some(user) = user {
        req.extensions_mut().insert(user);
    }
    if unchecked {
        req.extensions_mut().insert(SessionUnchecked);
    }
    let mut res = next.run(req).await;
    if unchecked && res.status() == StatusCode::UNAUTHORIZED {
        // A plain handler turned away someone it could not recognise.
        return unavailable();
    }
    let handler_set_session = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with(ACCESS_COOKIE)));
    if !handler_set_session {
        for c in cookies {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    res
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    meta: &RequestMeta,
) -> Result<(Option<CurrentUser>, Vec<HeaderValue>), AppError> {
    if let Some(claims) = cookie(headers, ACCESS_COOKIE).and_then(|t| state.access_tokens.verify(t).ok()) {
        if auth_service::check_family(state, claims.sub, claims.sid).await? {
            let user = CurrentUser { user_id: claims.sub, role: claims.role, family_id: claims.sid };
            return Ok((Some(user), Vec::new()));
        }
        return Ok((None, clearing_cookies(state).to_vec()));
    }
    let Some(refresh_token) = cookie(headers, REFRESH_COOKIE).filter(|t| !t.is_empty()) else {
        return Ok((None, Vec::new()));
    };
    match auth_service::refresh(state, refresh_token, meta).await? {
        Ok(issued) => {
            let user = CurrentUser { user_id: issued.user_id, role: issued.role, family_id: issued.family_id };
            Ok((Some(user), session_cookies(state, &issued).to_vec()))
        }
        // A parallel request rotated this token a moment ago: its answer carries the new pair.
        Err(RefreshRefused::Superseded) => Ok((None, Vec::new())),
        Err(_) => Ok((None, clearing_cookies(state).to_vec())),
    }
}

/// The signed-in user of the request being served (inside a server function
/// or a component rendered on the server).
/// Marks a request whose session cookies could not be checked because the
/// database was unreachable: the person may well be signed in.
#[derive(Debug, Clone, Copy)]
pub struct SessionUnchecked;

/// Whether this request's session could not be checked (database down).
pub fn session_unchecked() -> bool {
    leptos::prelude::use_context::<http::request::Parts>()
        .is_some_and(|p| p.extensions.get::<SessionUnchecked>().is_some())
}

/// 503, as a plain answer (for handlers outside the server functions).
fn unavailable() -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, AppError::Unavailable.to_string()).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

pub fn current_user() -> Option<CurrentUser> {
    leptos::prelude::use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<CurrentUser>().copied())
}

/// The signed-in user, or 401 (503 when the session could not be checked).
pub fn require_user() -> Result<CurrentUser, AppError> {
    match current_user() {
        Some(user) => Ok(user),
        None if session_unchecked() => Err(AppError::Unavailable),
        None => Err(AppError::Unauthorized),
    }
}

/// The signed-in user in this role, or 401/403.
pub fn require_role(role: Role) -> Result<CurrentUser, AppError> {
    let user = require_user()?;
    if user.role != role {
        return Err(AppError::Forbidden);
    }
    Ok(user)
}

/// A signed-in administrator who has two-step verification on (403
/// `MfaRequired` until they set it up).
pub async fn require_admin(state: &AppState) -> Result<CurrentUser, AppError> {
    ensure_admin(state, require_role(Role::Admin)?).await
}

/// `user`, if they are an administrator with two-step verification on (for
/// plain HTTP handlers, which have the user from the session middleware).
pub async fn ensure_admin(state: &AppState, user: CurrentUser) -> Result<CurrentUser, AppError> {
    if user.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let mut conn = crate::server::db::acquire(&state.pool).await?;
    if !crate::server::db::users::mfa_enabled(&mut conn, user.user_id).await? {
        return Err(AppError::MfaRequired);
    }
    Ok(user)
}

/// The request's origin, from inside a server function.
pub fn current_request_meta() -> RequestMeta {
    match leptos::prelude::use_context::<http::request::Parts>() {
        Some(parts) => {
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
            let trusted = leptos::prelude::use_context::<AppState>()
                .map(|s| s.settings.server.trusted_proxies.clone())
                .unwrap_or_default();
            request_meta(&parts.headers, peer, &trusted)
        }
        None => RequestMeta::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4, 203.0.113.9"));
        // From the proxy: the right-most address it appended.
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), Some("203.0.113.9".parse().unwrap()));
        // From anyone else: the header is ignored.
        let stranger: std::net::IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(Some(stranger), &h, &[proxy]), Some(stranger));
        // Through two trusted proxies, skip both.
        let edge: std::net::IpAddr = "10.0.0.3".parse().unwrap();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 10.0.0.3"));
        assert_eq!(client_ip(Some(proxy), &h, &[proxy, edge]), Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn a_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; th_access=tok.en.x; b=2"));
        assert_eq!(cookie(&h, ACCESS_COOKIE), Some("tok.en.x"));
        assert_eq!(cookie(&h, REFRESH_COOKIE), None);
    }
}
