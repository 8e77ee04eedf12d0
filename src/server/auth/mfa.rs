//! The second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one
//! step of clock drift either way) and one-time recovery codes.
//!
//! A code is accepted once: the step it matched is remembered per user and
//! only a later step is accepted afterwards. Recovery codes carry 50 random
//! bits each and are stored as SHA-256 digests (too much entropy to guess,
//! so a slow hash would add nothing).

use rand::Rng;
use totp_rs::{Builder, Secret, Totp};

/// Recovery codes given at enrolment (and each time they are renewed).
pub const RECOVERY_CODE_COUNT: usize = 10;
/// The issuer shown in authenticator apps.
const ISSUER: &str = "Telehealth";
const SECRET_BYTES: usize = 20;
/// Crockford-like base32 without look-alikes (no 0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// A fresh 160-bit secret (the size RFC 4226 recommends).
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill(&mut bytes[..]);
    bytes
}

fn totp(secret: &[u8], account: &str) -> Option<Totp> {
    // An account name with a colon is not allowed in otpauth labels.
    let account: String = account.chars().filter(|c| *c != ':').collect();
    Builder::new()
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .ok()
}

/// What an authenticator app needs: the otpauth:// URI (for the QR code) and
/// the secret in base32, grouped by four for typing.
pub fn provisioning(secret: &[u8], account: &str) -> Option<(String, String)> {
    let totp = totp(secret, account)?;
    let uri = totp.to_url().ok()?;
    let key = totp.secret().to_base32();
    let grouped = key.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>();
    Some((uri, grouped.join(" ")))
}

/// The QR code of an otpauth URI, as an SVG document (rendered on the server).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M).ok()?;
    let document = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Inline in HTML: the element only, without the XML declaration.
    document.find("<svg").map(|start| document[start..].to_owned())
}

/// Keeps the digits of what was typed ("123 456" and "123-456" are fine).
pub fn normalize_code(input: &str) -> String {
    input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect()
}

/// Whether the input is shaped like a TOTP code (six digits).
pub fn looks_like_totp(input: &str) -> bool {
    let code = normalize_code(input);
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The time step a TOTP code matches at `unix_time`, if it matches one after
/// `last_step` (a step already used is refused).
pub fn matching_step(secret: &[u8], code: &str, unix_time: u64, last_step: Option<i64>) -> Option<i64> {
    let code = normalize_code(code);
    let totp = totp(secret, "")?;
    let step = totp.check(&code, unix_time)? as i64;
    (last_step.is_none_or(|last| step > last)).then_some(step)
}

/// The code an authenticator shows at `unix_time` (tests and tooling).
pub fn code_at(secret: &[u8], unix_time: u64) -> Option<String> {
    Some(totp(secret, "")?.generate(unix_time).to_string())
}

/// Ten fresh recovery codes, shown as `xxxxx-xxxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let chars: String =
                (0..10).map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char).collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// The digest stored for a recovery code: case, spaces and dashes do not matter.
pub fn recovery_code_digest(code: &str) -> Vec<u8> {
    crate::server::auth::tokens::digest(&normalize_code(code).to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", 8 digits
    /// there; our six digits are its last six.
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).as_deref(), Some("287082"));
        assert_eq!(code_at(secret, 1_111_111_109).as_deref(), Some("081804"));
        assert_eq!(code_at(secret, 2_000_000_000).as_deref(), Some("279037"));
    }

    #[test]
    fn a_code_is_accepted_within_one_step_of_drift_and_not_beyond() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        assert!(matching_step(&secret, &code, now + 30, None).is_some());
        assert!(matching_step(&secret, &code, now - 30, None).is_some());
        assert!(matching_step(&secret, &code, now + 90, None).is_none());
    }

    #[test]
    fn a_code_is_accepted_once() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        let step = matching_step(&secret, &code, now, None).unwrap();
        assert_eq!(matching_step(&secret, &code, now, Some(step)), None);
        // The next step's code is still fine.
        let next = code_at(&secret, now + 30).unwrap();
        assert_eq!(matching_step(&secret, &next, now + 30, Some(step)), Some(step + 1));
    }

    #[test]
    fn spaces_and_dashes_in_a_typed_code_are_ignored() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(looks_like_totp(&spaced));
        assert!(matching_step(&secret, &spaced, now, None).is_some());
        assert!(!looks_like_totp("abcde-fghjk"));
    }

    #[test]
    fn provisioning_gives_an_otpauth_uri_a_grouped_key_and_a_qr_code() {
        let secret = new_secret();
        let (uri, key) = provisioning(&secret, "ana@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/Telehealth:ana%40example.com?"), "{uri}");
        assert!(uri.contains("issuer=Telehealth"));
        assert_eq!(key.replace(' ', ""), totp_rs::Secret::new(secret.into_boxed_slice()).to_base32());
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{}", &svg[..40]);
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_their_digest_ignores_case_and_dashes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        let code = &codes[0];
        assert_eq!(recovery_code_digest(code), recovery_code_digest(&code.to_uppercase().replace('-', " ")));
    }
}
