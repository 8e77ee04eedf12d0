//! An email address that has been checked: parse, don't validate.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically valid email address, trimmed, with its domain lower-cased
/// (the local part is kept as typed: some servers treat it case-sensitively;
/// uniqueness in the database is case-insensitive anyway).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// What is wrong with a typed address, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("Enter an email address like name@example.com.")]
    Malformed,
    #[error("That email address is too long.")]
    TooLong,
}

impl Email {
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Malformed)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(EmailError::Malformed);
        }
        let local_ok = local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(EmailError::Malformed);
        }
        let domain = domain.to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let labels_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if !labels_ok {
            return Err(EmailError::Malformed);
        }
        Ok(Email(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_are_accepted_and_tidied() {
        assert_eq!(Email::parse("  Ana.Silva+clinic@Example.COM ").unwrap().as_str(), "Ana.Silva+clinic@example.com");
        assert!(Email::parse("dr.o'neil@hospital.co.uk").is_ok());
        assert!(Email::parse("x@xn--bcher-kva.example").is_ok());
    }

    #[test]
    fn malformed_addresses_are_rejected_with_a_helpful_message() {
        for bad in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@@example.com",
            "an a@example.com",
            "ana@exa mple.com",
            ".ana@example.com",
            "ana.@example.com",
            "a..b@example.com",
            "ana@-example.com",
            "ana@example.c0m",
            "ana@example.c",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Malformed), "{bad}");
        }
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        assert_eq!(Email::parse(&format!("{}@example.com", "a".repeat(250))), Err(EmailError::TooLong));
        assert_eq!(EmailError::Malformed.to_string(), "Enter an email address like name@example.com.");
    }

    #[test]
    fn an_email_cannot_be_deserialised_unchecked() {
        assert!(serde_json::from_str::<Email>("\"not-an-email\"").is_err());
        assert_eq!(serde_json::from_str::<Email>("\"a@b.io\"").unwrap().as_str(), "a@b.io");
    }
}
