//! Shared, pure, WebAssembly-safe domain types. Both builds use them: the
//! browser validates a form with the same rules the server enforces.

pub mod admin_filter;
pub mod device;
pub mod doctor;
pub mod email;
pub mod lifecycle;
pub mod password;
pub mod payment;
pub mod person;
pub mod prescription;
pub mod profile;
pub mod slots;
pub mod timezone;
pub mod vocabulary;

pub use email::{Email, EmailError};
pub use password::{NewPassword, PasswordError};
pub use person::{NameError, PersonName};
pub use vocabulary::{ConsultationStatus, ConsultationType, PaymentStatus, Role, UnknownValue};
