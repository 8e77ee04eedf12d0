//! The status vocabularies, mirrored one to one from the SQL domains in
//! `migrations/` (`user_role`, `consultation_status`, `consultation_type`,
//! `payment_status`). The SQL domain is the single source of truth for what
//! the database accepts; `tests/api/vocabulary.rs` proves both lists agree.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A string that is not part of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid {vocabulary}")]
pub struct UnknownValue {
    pub vocabulary: &'static str,
    pub value: String,
}

/// Declares a vocabulary enum: its SQL domain, its snake_case spellings,
/// `as_str`, `ALL`, `Display`, `FromStr` and the sqlx mapping (server only).
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, sql = $sql:literal, label = $label:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in the order the SQL domain lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The SQL domain this enum maps to.
            pub const SQL_DOMAIN: &'static str = $sql;

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // PostgreSQL describes a domain-typed result column by its base type
        // (varchar), so a value decodes from either; it encodes as text, and
        // the SQL casts it (`$1::text::user_role`) where a domain is expected.
        #[cfg(feature = "ssr")]
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                sqlx::postgres::PgTypeInfo::with_name($sql)
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                *ty == Self::type_info() || <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        #[cfg(feature = "ssr")]
        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue { vocabulary: $label, value: other.to_owned() }),
                }
            }
        }
    };
}

vocabulary! {
    /// Who a user is to the platform.
    Role, sql = "user_role", label = "role" {
        Patient = "patient",
        Doctor = "doctor",
        Admin = "admin",
    }
}

vocabulary! {
    /// Where a consultation is in its life.
    ConsultationStatus, sql = "consultation_status", label = "consultation status" {
        /// Booked and holding its slot until paid (or until the hold expires).
        PendingPayment = "pending_payment",
        Scheduled = "scheduled",
        InProgress = "in_progress",
        Completed = "completed",
        Cancelled = "cancelled",
        NoShow = "no_show",
    }
}

vocabulary! {
    /// How patient and doctor meet.
    ConsultationType, sql = "consultation_type", label = "consultation type" {
        Video = "video",
        Audio = "audio",
        Chat = "chat",
    }
}

vocabulary! {
    /// Where a payment is at its gateway.
    PaymentStatus, sql = "payment_status", label = "payment status" {
        Pending = "pending",
        RequiresAction = "requires_action",
        Succeeded = "succeeded",
        Failed = "failed",
        Refunded = "refunded",
        PartiallyRefunded = "partially_refunded",
    }
}

impl ConsultationStatus {
    /// Statuses that occupy the doctor's (and the patient's) time: the
    /// database's exclusion constraints apply to exactly these.
    pub const ACTIVE: &'static [ConsultationStatus] =
        &[ConsultationStatus::PendingPayment, ConsultationStatus::Scheduled, ConsultationStatus::InProgress];

    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_text() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(*r));
        }
        for s in ConsultationStatus::ALL {
            assert_eq!(s.as_str().parse::<ConsultationStatus>(), Ok(*s));
        }
        for t in ConsultationType::ALL {
            assert_eq!(t.as_str().parse::<ConsultationType>(), Ok(*t));
        }
        for p in PaymentStatus::ALL {
            assert_eq!(p.as_str().parse::<PaymentStatus>(), Ok(*p));
        }
    }

    #[test]
    fn an_unknown_value_names_its_vocabulary() {
        let err = "superuser".parse::<Role>().unwrap_err();
        assert_eq!(err.to_string(), "'superuser' is not a valid role");
        assert!("Scheduled".parse::<ConsultationStatus>().is_err(), "spelling is exact");
    }

    #[test]
    fn serde_uses_the_same_spelling_as_sql() {
        let json = serde_json::to_string(&PaymentStatus::PartiallyRefunded).unwrap();
        assert_eq!(json, "\"partially_refunded\"");
        assert_eq!(serde_json::from_str::<ConsultationStatus>("\"no_show\"").unwrap(), ConsultationStatus::NoShow);
    }

    #[test]
    fn only_pending_scheduled_and_in_progress_hold_time() {
        let active: Vec<_> = ConsultationStatus::ALL.iter().filter(|s| s.is_active()).collect();
        assert_eq!(active.len(), 3);
        assert!(!ConsultationStatus::Cancelled.is_active());
        assert!(!ConsultationStatus::Completed.is_active());
    }
}
