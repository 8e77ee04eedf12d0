//! Names of people, as they write them.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const MAX_NAME_CHARS: usize = 100;

/// A first or last name: trimmed, 1 to 100 characters, no control characters.
/// Any script, apostrophes, hyphens and spaces are welcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Enter a name.")]
    Empty,
    #[error("Use at most 100 characters.")]
    TooLong,
    #[error("Use letters, spaces, apostrophes and hyphens.")]
    InvalidCharacters,
}

impl PersonName {
    pub fn parse(input: &str) -> Result<PersonName, NameError> {
        // Collapse runs of whitespace so "Ana  Maria" and "Ana Maria" are one name.
        let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        let allowed = |c: char| c.is_alphabetic() || c.is_whitespace() || "'’-.".contains(c) || is_combining(c);
        if !name.chars().all(allowed) || !name.chars().any(char::is_alphabetic) {
            return Err(NameError::InvalidCharacters);
        }
        Ok(PersonName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Combining marks (Devanagari vowel signs, accents typed separately) are part of names.
fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0900..=0x0DFF | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

impl TryFrom<String> for PersonName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PersonName::parse(&value)
    }
}

impl From<PersonName> for String {
    fn from(n: PersonName) -> String {
        n.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_many_languages_are_accepted() {
        for name in
            ["Ana", "O'Neil", "Jean-Luc", "Zoë", "José María", "Nguyễn", "李", "प्रिया", "Åsa", "D’Souza", "St. John"]
        {
            assert!(PersonName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn spaces_are_tidied() {
        assert_eq!(PersonName::parse("  Ana   Maria ").unwrap().as_str(), "Ana Maria");
    }

    #[test]
    fn empty_overlong_or_odd_names_are_refused() {
        assert_eq!(PersonName::parse("   "), Err(NameError::Empty));
        assert_eq!(PersonName::parse(&"a".repeat(101)), Err(NameError::TooLong));
        assert_eq!(PersonName::parse("<script>"), Err(NameError::InvalidCharacters));
        assert_eq!(PersonName::parse("R2D2"), Err(NameError::InvalidCharacters));
        assert_eq!(PersonName::parse("--"), Err(NameError::InvalidCharacters));
    }
}
