//! The outside world: mail now; payment gateways and signalling later.

pub mod mail;
pub mod payments;
