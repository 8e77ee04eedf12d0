//! Finding a doctor: the search and each doctor's own page (for everyone,
//! signed in or not).

pub mod profile;
pub mod search;
