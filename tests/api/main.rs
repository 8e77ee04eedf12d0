//! Integration tests: the real application on port 0, against a freshly
//! created PostgreSQL database with the migrations applied (one per test).
//! Needs a PostgreSQL server: `TEST_DATABASE_URL` (a maintenance database URL,
//! default postgres://postgres@127.0.0.1:55432/postgres); `bash .ci/run` starts one.

// Fixtures read database rows as plain tuples, and the fake gateway keeps its
// replies in a map of tuples: clearer here than named types for each.
#![allow(clippy::type_complexity)]

mod fuzz;
mod helpers;

mod admin;
mod archive;
mod audit_seal;
mod auth;
mod authorization_matrix;
mod booking;
mod data_rights;
mod demo_data;
mod doctors;
mod email_verification;
mod faults;
mod health;
mod mfa;
mod pages;
mod passwords;
mod profile;
mod reminders;
mod room;
mod row_security;
mod scale;
mod schema;
mod search;
mod security_headers;
mod startup_errors;
mod stripe;
mod transactions;
mod vocabulary;
