//! Reusable view pieces.

pub mod browser;
pub mod layout;
