//! Pages for administrators (each behind `RequireAdmin`; the server
//! functions check again).

pub mod users;
