//! Pages about the signed-in person's own account.

pub mod password;
pub mod sessions;
