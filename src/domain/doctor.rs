//! A doctor's professional profile: the curated vocabularies and the rules
//! every field follows, the same in the browser and on the server.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::domain::ConsultationType;
use crate::error::FieldErrors;

/// Specializations a doctor can choose from (and patients search by).
pub const SPECIALIZATIONS: &[&str] = &[
    "Allergy and Immunology",
    "Cardiology",
    "Dermatology",
    "Endocrinology",
    "Family Medicine",
    "Gastroenterology",
    "General Practice",
    "Geriatrics",
    "Infectious Disease",
    "Internal Medicine",
    "Nephrology",
    "Neurology",
    "Nutrition and Dietetics",
    "Obstetrics and Gynecology",
    "Oncology",
    "Ophthalmology",
    "Orthopedics",
    "Otolaryngology (ENT)",
    "Pediatrics",
    "Psychiatry",
    "Psychology",
    "Pulmonology",
    "Rheumatology",
    "Sexual Health",
    "Sleep Medicine",
    "Sports Medicine",
    "Urology",
];

/// Languages a doctor can consult in: (BCP 47 tag, English name).
pub const LANGUAGES: &[(&str, &str)] = &[
    ("ar", "Arabic"),
    ("bn", "Bengali"),
    ("de", "German"),
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("hi", "Hindi"),
    ("it", "Italian"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("ml", "Malayalam"),
    ("nl", "Dutch"),
    ("pl", "Polish"),
    ("pt", "Portuguese"),
    ("ru", "Russian"),
    ("sw", "Swahili"),
    ("ta", "Tamil"),
    ("tr", "Turkish"),
    ("ur", "Urdu"),
    ("yo", "Yoruba"),
    ("zh", "Chinese"),
];

/// Currencies a fee can be in: (ISO 4217 code, digits after the decimal point).
pub const CURRENCIES: &[(&str, u32)] = &[
    ("AUD", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KES", 2),
    ("NGN", 2),
    ("SGD", 2),
    ("USD", 2),
    ("ZAR", 2),
];

/// Consultation lengths a doctor can choose, in minutes.
pub const SLOT_LENGTHS: &[u16] = &[15, 20, 30, 45, 60];

/// The English name of a language tag from [`LANGUAGES`].
pub fn language_name(tag: &str) -> &str {
    LANGUAGES.iter().find(|(t, _)| *t == tag).map_or(tag, |(_, name)| name)
}

/// The professional profile as typed in the form (every field kept as
/// typed, so a refused form shows it again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorProfileInput {
    pub license_number: String,
    /// `YYYY-MM-DD`, from a date input.
    pub license_expires_on: String,
    pub specialization: String,
    pub experience_years: String,
    pub qualification: String,
    #[serde(default)]
    pub bio: String,
    #[serde(default)]
    pub languages: Vec<String>,
    pub consultation_fee: String,
    pub currency: String,
    #[serde(default)]
    pub consultation_types: Vec<String>,
    pub slot_minutes: String,
    pub buffer_minutes: String,
    pub min_notice_hours: String,
    pub booking_horizon_days: String,
}

/// A checked professional profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorProfile {
    pub license_number: String,
    pub license_expires_on: NaiveDate,
    pub specialization: String,
    pub experience_years: i32,
    pub qualification: String,
    pub bio: Option<String>,
    pub languages: Vec<String>,
    pub consultation_fee: Decimal,
    pub currency: String,
    pub consultation_types: Vec<ConsultationType>,
    pub slot_minutes: i16,
    pub buffer_minutes: i16,
    pub min_notice_minutes: i32,
    pub booking_horizon_days: i16,
}

fn int_in(input: &str, range: std::ops::RangeInclusive<i64>, message: &str) -> Result<i64, String> {
    input.trim().parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| message.to_owned())
}

/// A fee in a currency: not negative, at most 100 000, and no more decimal
/// places than the currency has (none for yen).
pub fn parse_fee(input: &str, currency: &str) -> Result<Decimal, String> {
    let digits = CURRENCIES.iter().find(|(c, _)| *c == currency).map(|(_, d)| *d);
    let text = input.trim();
    let plain = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    let fee = Decimal::from_str(text)
        .ok()
        .filter(|_| plain)
        .ok_or_else(|| "Enter the fee as a number, like 60 or 45.50.".to_owned())?;
    if fee.is_sign_negative() {
        return Err("A fee cannot be negative.".into());
    }
    if fee > Decimal::from(100_000) {
        return Err("A fee is at most 100000.".into());
    }
    if let Some(digits) = digits {
        if fee.normalize().scale() > digits {
            return Err(if digits == 0 {
                format!("{currency} has no smaller unit: enter a whole number.")
            } else {
                format!("{currency} has {digits} decimal places at most.")
            });
        }
    }
    Ok(fee.round_dp(digits.unwrap_or(2)))
}

impl DoctorProfileInput {
    /// Checks every field at once; `today` is the doctor's date (a licence
    /// must not have expired).
    pub fn validate(&self, today: NaiveDate) -> Result<DoctorProfile, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut fail = |field: &str, message: String| errors.entry(field.to_owned()).or_default().push(message);

        // Upper case: "gmc-7043921" and "GMC-7043921" are the same licence.
        let license_number = self.license_number.trim().to_ascii_uppercase();
        let license_ok = (3..=64).contains(&license_number.chars().count())
            && license_number.chars().all(|c| c.is_ascii_alphanumeric() || " -/.".contains(c));
        if !license_ok {
            fail(
                "license_number",
                "Enter your licence number as on the licence (3 to 64 letters, digits, - / .).".into(),
            );
        }
        let expires = NaiveDate::parse_from_str(self.license_expires_on.trim(), "%Y-%m-%d").ok();
        match expires {
            None => fail("license_expires_on", "Enter the expiry date of your licence, like 2028-06-30.".into()),
            Some(d) if d <= today => fail("license_expires_on", "This licence has expired: renew it first.".into()),
            _ => {}
        }
        let specialization = self.specialization.trim();
        if !SPECIALIZATIONS.contains(&specialization) {
            fail("specialization", "Choose your specialization from the list.".into());
        }
        let years = int_in(&self.experience_years, 0..=80, "Enter your years of experience (0 to 80).")
            .map_err(|m| fail("experience_years", m))
            .ok();
        let qualification = self.qualification.trim().to_owned();
        if qualification.is_empty() || qualification.chars().count() > 500 {
            fail("qualification", "Enter your qualifications (for example MBBS, MD), at most 500 characters.".into());
        }
        let bio = self.bio.trim().to_owned();
        if bio.chars().count() > 2000 {
            fail("bio", "Keep the introduction to 2000 characters.".into());
        }
        let mut languages: Vec<String> = self.languages.iter().map(|l| l.trim().to_owned()).collect();
        languages.sort();
        languages.dedup();
        if languages.is_empty() || !languages.iter().all(|l| LANGUAGES.iter().any(|(t, _)| t == l)) {
            fail("languages", "Choose at least one language you consult in.".into());
        }
        let currency = self.currency.trim().to_ascii_uppercase();
        if !CURRENCIES.iter().any(|(c, _)| *c == currency) {
            fail("currency", "Choose a currency from the list.".into());
        }
        let fee = parse_fee(&self.consultation_fee, &currency).map_err(|m| fail("consultation_fee", m)).ok();
        let mut types: Vec<ConsultationType> =
            self.consultation_types.iter().filter_map(|t| t.trim().parse().ok()).collect();
        types.sort_by_key(|t| t.as_str());
        types.dedup();
        if types.is_empty() || types.len() != self.consultation_types.len() {
            fail("consultation_types", "Choose at least one way to consult: video, audio or chat.".into());
        }
        let slot = int_in(&self.slot_minutes, 15..=60, "")
            .ok()
            .filter(|m| SLOT_LENGTHS.contains(&(*m as u16)))
            .or_else(|| {
                fail("slot_minutes", "Choose a consultation length: 15, 20, 30, 45 or 60 minutes.".into());
                None
            });
        let buffer = int_in(&self.buffer_minutes, 0..=120, "A break between consultations is 0 to 120 minutes.")
            .map_err(|m| fail("buffer_minutes", m))
            .ok();
        let notice = int_in(&self.min_notice_hours, 0..=336, "Minimum notice is 0 to 336 hours (two weeks).")
            .map_err(|m| fail("min_notice_hours", m))
            .ok();
        let horizon = int_in(&self.booking_horizon_days, 1..=365, "Patients can book 1 to 365 days ahead.")
            .map_err(|m| fail("booking_horizon_days", m))
            .ok();

        match (expires, years, fee, slot, buffer, notice, horizon) {
            (Some(expires), Some(years), Some(fee), Some(slot), Some(buffer), Some(notice), Some(horizon))
                if errors.is_empty() =>
            {
                Ok(DoctorProfile {
                    license_number,
                    license_expires_on: expires,
                    specialization: specialization.to_owned(),
                    experience_years: years as i32,
                    qualification,
                    bio: (!bio.is_empty()).then_some(bio),
                    languages,
                    consultation_fee: fee,
                    currency,
                    consultation_types: types,
                    slot_minutes: slot as i16,
                    buffer_minutes: buffer as i16,
                    min_notice_minutes: notice as i32 * 60,
                    booking_horizon_days: horizon as i16,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    fn good() -> DoctorProfileInput {
        DoctorProfileInput {
            license_number: "GMC-7043921".into(),
            license_expires_on: "2028-06-30".into(),
            specialization: "Dermatology".into(),
            experience_years: "12".into(),
            qualification: "MBBS, MRCP (Dermatology)".into(),
            bio: "Skin conditions in adults and children.".into(),
            languages: vec!["en".into(), "pt".into()],
            consultation_fee: "60.00".into(),
            currency: "gbp".into(),
            consultation_types: vec!["video".into(), "chat".into()],
            slot_minutes: "30".into(),
            buffer_minutes: "5".into(),
            min_notice_hours: "4".into(),
            booking_horizon_days: "60".into(),
        }
    }

    #[test]
    fn a_complete_profile_is_accepted_with_typed_values() {
        let p = good().validate(today()).unwrap();
        assert_eq!(p.currency, "GBP");
        assert_eq!(p.consultation_fee, Decimal::new(6000, 2));
        assert_eq!(p.min_notice_minutes, 240);
        assert_eq!(p.consultation_types, vec![ConsultationType::Chat, ConsultationType::Video]);
        assert_eq!(p.languages, vec!["en", "pt"]);
    }

    #[test]
    fn every_bad_field_gets_its_own_message() {
        let bad = DoctorProfileInput {
            license_number: "x".into(),
            license_expires_on: "2026-11-29".into(),
            specialization: "Wizardry".into(),
            experience_years: "-1".into(),
            qualification: " ".into(),
            bio: "a".repeat(2001),
            languages: vec!["klingon".into()],
            consultation_fee: "-5".into(),
            currency: "XXX".into(),
            consultation_types: vec![],
            slot_minutes: "25".into(),
            buffer_minutes: "500".into(),
            min_notice_hours: "abc".into(),
            booking_horizon_days: "0".into(),
        };
        let errors = bad.validate(today()).unwrap_err();
        for field in [
            "license_number",
            "license_expires_on",
            "specialization",
            "experience_years",
            "qualification",
            "bio",
            "languages",
            "consultation_fee",
            "currency",
            "consultation_types",
            "slot_minutes",
            "buffer_minutes",
            "min_notice_hours",
            "booking_horizon_days",
        ] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
    }

    #[test]
    fn fees_respect_the_currencys_decimal_places() {
        assert_eq!(parse_fee("45.5", "EUR"), Ok(Decimal::new(455, 1)));
        assert!(parse_fee("45.505", "EUR").unwrap_err().contains("2 decimal places"));
        assert_eq!(parse_fee("3000", "JPY"), Ok(Decimal::from(3000)));
        assert!(parse_fee("3000.5", "JPY").unwrap_err().contains("whole number"));
        assert!(parse_fee("100001", "USD").is_err());
        assert!(parse_fee("1e3", "USD").is_err());
    }

    #[test]
    fn an_unknown_consultation_type_is_refused_rather_than_dropped() {
        let mut input = good();
        input.consultation_types = vec!["video".into(), "telepathy".into()];
        assert!(input.validate(today()).unwrap_err().contains_key("consultation_types"));
    }
}
