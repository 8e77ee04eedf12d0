//! Authentication: tokens, sessions, throttling, and the request's actor.

pub mod mfa;
pub mod session;
pub mod throttle;
pub mod tokens;
