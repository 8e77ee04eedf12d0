//! Pages about the signed-in person's own account.

pub mod data;
pub mod mfa;
pub mod password;
pub mod profile;
pub mod sessions;
