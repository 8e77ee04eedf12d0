//! Pages for administrators (each behind `RequireAdmin`; the server
//! functions check again).

pub mod doctors;
pub mod users;
