//! A doctor's own practice: the professional profile and availability.

pub mod availability;
pub mod profile;
