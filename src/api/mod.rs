//! Server functions, one file per area. A body resolves the actor, calls the
//! server side, maps the error. Nothing else.

pub mod account;
pub mod admin;
pub mod auth;
pub mod consultations;
pub mod doctors;
pub mod mfa;
pub mod platform;
pub mod room;
