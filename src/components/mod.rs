//! Reusable view pieces.

pub mod browser;
pub mod call;
pub mod channel;
pub mod chart;
pub mod form;
pub mod guard;
pub mod idle;
pub mod layout;
