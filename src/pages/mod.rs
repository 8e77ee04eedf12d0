//! One file per route, grouped by who the page is for.

pub mod account;
pub mod admin;
pub mod consultations;
pub mod doctors;
pub mod practice;
pub mod public;
