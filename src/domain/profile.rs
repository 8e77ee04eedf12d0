//! Personal details of a profile: each parsed once, the same way in the
//! browser and on the server.

use chrono::{Datelike, NaiveDate};

/// An international phone number in E.164 form (`+` and 8 to 15 digits).
/// Spaces, dashes, dots and parentheses typed between digits are dropped.
pub fn parse_phone(input: &str) -> Result<String, &'static str> {
    let trimmed = input.trim();
    if !trimmed.starts_with('+') {
        return Err("Start with + and your country code, for example +44 20 7946 0958.");
    }
    let rest = &trimmed[1..];
    if !rest.chars().all(|c| c.is_ascii_digit() || " -.()".contains(c)) {
        return Err("Use digits only, after the + and country code.");
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err("Enter the whole number with its country code (8 to 15 digits).");
    }
    Ok(format!("+{digits}"))
}

/// A date of birth: a real date in the past, at most 130 years ago.
pub fn parse_date_of_birth(input: &str, today: NaiveDate) -> Result<NaiveDate, &'static str> {
    let date = NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d").map_err(|_| "Enter a date like 1990-04-21.")?;
    if date >= today {
        return Err("A date of birth is in the past.");
    }
    if today.year() - date.year() > 130 {
        return Err("Check the year of birth.");
    }
    Ok(date)
}

/// ISO 3166-1 alpha-2 codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK \
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM \
JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS \
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM \
US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A country as its upper-case ISO 3166-1 alpha-2 code.
pub fn parse_country(input: &str) -> Result<String, &'static str> {
    let code = input.trim().to_ascii_uppercase();
    if code.len() == 2 && COUNTRIES.split_whitespace().any(|c| c == code) {
        Ok(code)
    } else {
        Err("Choose a country from the list.")
    }
}

/// A postal code, checked by the country's pattern where it is well known,
/// otherwise loosely (letters, digits, spaces and hyphens, 2 to 10).
pub fn parse_postal_code(input: &str, country: Option<&str>) -> Result<String, &'static str> {
    let code = input.trim().to_ascii_uppercase();
    let digits = |n: usize, s: &str| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    let ok = match country {
        Some("US") => {
            digits(5, &code)
                || (code.len() == 10 && digits(5, &code[..5]) && &code[5..6] == "-" && digits(4, &code[6..]))
        }
        Some("IN") => digits(6, &code),
        Some("DE" | "FR" | "ES" | "IT") => digits(5, &code),
        Some("AU" | "AT" | "BE" | "CH" | "DK" | "NO") => digits(4, &code),
        Some("CA") => {
            let c: Vec<char> = code.replace(' ', "").chars().collect();
            c.len() == 6
                && c.iter()
                    .enumerate()
                    .all(|(i, ch)| if i % 2 == 0 { ch.is_ascii_alphabetic() } else { ch.is_ascii_digit() })
        }
        Some("GB") => {
            let c = code.replace(' ', "");
            (5..=7).contains(&c.len())
                && c.chars().all(|ch| ch.is_ascii_alphanumeric())
                && c.chars().next().is_some_and(|ch| ch.is_ascii_alphabetic())
                && c[c.len() - 3..].chars().next().is_some_and(|ch| ch.is_ascii_digit())
        }
        _ => (2..=10).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-'),
    };
    if ok {
        Ok(code)
    } else {
        Err("This postal code does not look right for the country.")
    }
}

/// A BCP 47 language tag of the simple kind: `en`, `pt-BR`, `zh-Hant`.
pub fn parse_language(input: &str) -> Result<String, &'static str> {
    let tag = input.trim();
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or("");
    let lang_ok = (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_alphabetic());
    let rest_ok = parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if lang_ok && rest_ok && tag.len() <= 35 {
        Ok(tag.to_owned())
    } else {
        Err("Choose a language from the list.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_stored_in_e164() {
        assert_eq!(parse_phone("+44 20 7946 0958"), Ok("+442079460958".into()));
        assert_eq!(parse_phone(" +1 (415) 555-0100 "), Ok("+14155550100".into()));
        assert!(parse_phone("020 7946 0958").is_err(), "needs the country code");
        assert!(parse_phone("+44 20 79A6").is_err());
        assert!(parse_phone("+1234567").is_err(), "too short");
        assert!(parse_phone("+1234567890123456").is_err(), "too long");
    }

    #[test]
    fn a_date_of_birth_is_in_the_past_and_plausible() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert!(parse_date_of_birth("1990-04-21", today).is_ok());
        assert!(parse_date_of_birth("2026-11-29", today).is_err(), "today is not a birth date");
        assert!(parse_date_of_birth("2030-01-01", today).is_err());
        assert!(parse_date_of_birth("1850-01-01", today).is_err());
        assert!(parse_date_of_birth("1990-02-30", today).is_err(), "not a real date");
    }

    #[test]
    fn countries_are_iso_codes() {
        assert_eq!(parse_country("in"), Ok("IN".into()));
        assert!(parse_country("XX").is_err());
        assert!(parse_country("India").is_err());
    }

    #[test]
    fn postal_codes_follow_their_country() {
        assert!(parse_postal_code("94110", Some("US")).is_ok());
        assert!(parse_postal_code("94110-1234", Some("US")).is_ok());
        assert!(parse_postal_code("9411", Some("US")).is_err());
        assert!(parse_postal_code("560001", Some("IN")).is_ok());
        assert!(parse_postal_code("56001", Some("IN")).is_err());
        assert!(parse_postal_code("sw1a 1aa", Some("GB")).is_ok());
        assert!(parse_postal_code("K1A 0B1", Some("CA")).is_ok());
        assert!(parse_postal_code("2000", Some("AU")).is_ok());
        assert!(parse_postal_code("10115", Some("DE")).is_ok());
        assert!(parse_postal_code("00-950", Some("PL")).is_ok(), "loose check elsewhere");
        assert!(parse_postal_code("<script>", None).is_err());
    }

    #[test]
    fn languages_are_simple_bcp47_tags() {
        for ok in ["en", "pt-BR", "zh-Hant", "hi"] {
            assert!(parse_language(ok).is_ok(), "{ok}");
        }
        for bad in ["english", "e", "en_US", ""] {
            assert!(parse_language(bad).is_err(), "{bad}");
        }
    }
}
