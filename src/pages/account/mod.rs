//! Pages about the signed-in person's own account.

pub mod sessions;
