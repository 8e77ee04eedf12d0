//! Use cases: each runs in one transaction and writes its audit row there.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod booking;
pub mod doctors;
pub mod mfa;
pub mod passwords;
pub mod payments;
pub mod profile;
pub mod room;
pub mod sessions;
pub mod verification;
