//! Shared, pure, WebAssembly-safe domain types. Both builds use them: the
//! browser validates a form with the same rules the server enforces.

pub mod timezone;
pub mod vocabulary;

pub use vocabulary::{ConsultationStatus, ConsultationType, PaymentStatus, Role, UnknownValue};
