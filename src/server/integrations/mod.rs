//! The outside world: mail now; payment gateways and signalling later.

pub mod calendar;
pub mod mail;
pub mod payments;
