//! Use cases: each runs in one transaction and writes its audit row there.

pub mod admin;
pub mod admin_reports;
pub mod archive;
pub mod audit;
pub mod audit_seal;
pub mod auth;
pub mod booking;
pub mod data_rights;
pub mod doctors;
pub mod mfa;
pub mod passwords;
pub mod payments;
pub mod profile;
pub mod room;
pub mod sessions;
pub mod verification;
