//! A new password, checked the way NIST SP 800-63B asks: long enough, not
//! absurdly long, not a known-common password; no composition rules.

use std::fmt;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Passwords of at least 12 characters that appear in public breach lists
/// and "most common" lists; compared case-insensitively.
const COMMON: &str = include_str!("common_passwords.txt");

/// A password that meets the rules. Deliberately neither `Serialize` nor
/// printable: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Use at least 12 characters. A few unrelated words make a strong, memorable password.")]
    TooShort,
    #[error("Use at most 128 characters.")]
    TooLong,
    #[error("This password is too common and easy to guess. Choose another.")]
    Common,
    #[error("This password is too easy to guess (it repeats or follows a simple sequence). Choose another.")]
    Predictable,
    #[error("Do not use your email address in your password.")]
    ContainsEmail,
}

impl NewPassword {
    /// Checks a new password; `email` (when known) must not be part of it.
    pub fn parse(input: &str, email: Option<&str>) -> Result<NewPassword, PasswordError> {
        let chars = input.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(PasswordError::TooLong);
        }
        let lower = input.to_lowercase();
        if is_common(&lower) {
            return Err(PasswordError::Common);
        }
        if is_predictable(&lower) {
            return Err(PasswordError::Predictable);
        }
        if let Some(local) = email.and_then(|e| e.split('@').next()).filter(|l| l.len() >= 4) {
            if lower.contains(&local.to_lowercase()) {
                return Err(PasswordError::ContainsEmail);
            }
        }
        Ok(NewPassword(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

fn is_common(lower: &str) -> bool {
    COMMON.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).any(|l| l == lower)
}

/// One character repeated, or a run of consecutive characters (abcdef…, 123456…, 987654…).
fn is_predictable(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    let distinct: std::collections::BTreeSet<char> = chars.iter().copied().collect();
    if distinct.len() <= 2 {
        return true;
    }
    let steps: Vec<i64> = chars.windows(2).map(|w| w[1] as i64 - w[0] as i64).collect();
    steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_passphrase_is_accepted_without_composition_rules() {
        assert!(NewPassword::parse("violet kettle harbour sings", None).is_ok());
        assert!(NewPassword::parse("ぜんぶひらがなでもいいですよね", None).is_ok(), "unicode counts characters");
    }

    #[test]
    fn length_is_counted_in_characters_between_12_and_128() {
        assert_eq!(NewPassword::parse("elevenchars", None), Err(PasswordError::TooShort));
        assert!(NewPassword::parse("twelve chars", None).is_ok());
        assert!(NewPassword::parse(&"ab1 ".repeat(32), None).is_ok());
        assert_eq!(NewPassword::parse(&"ab1 ".repeat(32).replace(' ', "  "), None), Err(PasswordError::TooLong));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert_eq!(NewPassword::parse("Password1234", None), Err(PasswordError::Common));
        assert_eq!(NewPassword::parse("QWERTYUIOPASDFGH", None), Err(PasswordError::Common));
    }

    #[test]
    fn repeated_or_sequential_passwords_are_refused() {
        assert_eq!(NewPassword::parse("aaaaaaaaaaaaaa", None), Err(PasswordError::Predictable));
        assert_eq!(NewPassword::parse("abababababab", None), Err(PasswordError::Predictable));
        assert_eq!(NewPassword::parse("1234567890123", None).unwrap_err(), PasswordError::Common);
        assert_eq!(NewPassword::parse("abcdefghijklm", None), Err(PasswordError::Predictable));
        assert_eq!(NewPassword::parse("9876543210zyx", None).map(|_| ()), Ok(()), "not one run");
    }

    #[test]
    fn the_email_address_is_not_a_password() {
        assert_eq!(
            NewPassword::parse("ana.silva-is-great", Some("ana.silva@example.com")),
            Err(PasswordError::ContainsEmail)
        );
    }

    #[test]
    fn a_password_never_prints() {
        let p = NewPassword::parse("violet kettle harbour sings", None).unwrap();
        assert!(!format!("{p:?}").contains("kettle"));
    }
}
