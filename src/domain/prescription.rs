//! A prescription as the doctor types it, and the checked form that is
//! stored and printed. The browser form and the server use the same rules.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;

/// Dosage forms a medication can come in: (stored value, label).
pub const FORMS: &[(&str, &str)] = &[
    ("tablet", "Tablet"),
    ("capsule", "Capsule"),
    ("liquid", "Liquid"),
    ("injection", "Injection"),
    ("cream", "Cream"),
    ("ointment", "Ointment"),
    ("drops", "Drops"),
    ("inhaler", "Inhaler"),
    ("patch", "Patch"),
    ("suppository", "Suppository"),
    ("powder", "Powder"),
    ("other", "Other"),
];

/// Routes a medication can be given by: (stored value, label).
pub const ROUTES: &[(&str, &str)] = &[
    ("oral", "Oral (by mouth)"),
    ("sublingual", "Sublingual (under the tongue)"),
    ("topical", "Topical (on the skin)"),
    ("inhaled", "Inhaled"),
    ("intravenous", "Intravenous"),
    ("intramuscular", "Intramuscular"),
    ("subcutaneous", "Subcutaneous"),
    ("ophthalmic", "Ophthalmic (in the eye)"),
    ("otic", "Otic (in the ear)"),
    ("nasal", "Nasal"),
    ("rectal", "Rectal"),
    ("vaginal", "Vaginal"),
    ("transdermal", "Transdermal (patch)"),
];

/// The most medications one prescription can list.
pub const MAX_MEDICATIONS: usize = 20;
/// The largest quantity that can be dispensed for one medication.
pub const MAX_QUANTITY: u32 = 10_000;
/// The most refills one medication can allow.
pub const MAX_REFILLS: u8 = 12;

/// One medication as typed in the form: every field is text.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct MedicationInput {
    pub name: String,
    /// "500 mg", "5 mg/ml".
    pub strength: String,
    /// One of the values in [`FORMS`].
    pub form: String,
    /// "1 tablet", "10 ml".
    pub dose: String,
    /// One of the values in [`ROUTES`].
    pub route: String,
    /// "twice a day", "every 8 hours".
    pub frequency: String,
    /// "7 days", "until finished".
    pub duration: String,
    /// A whole number, 1 to 10000.
    pub quantity: String,
    /// A whole number, 0 to 12; empty means none.
    pub refills: String,
    /// Optional, at most 500 characters.
    pub notes: String,
}

/// One checked medication, trimmed and typed. Stored as JSONB.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Medication {
    pub name: String,
    pub strength: String,
    pub form: String,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub duration: String,
    pub quantity: u32,
    pub refills: u8,
    pub notes: Option<String>,
}

/// A prescription as typed in the form.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct PrescriptionInput {
    pub medications: Vec<MedicationInput>,
    pub instructions: String,
    /// Empty, or a date as YYYY-MM-DD.
    pub follow_up_date: String,
}

/// A prescription that passed every check.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ValidPrescription {
    pub medications: Vec<Medication>,
    pub instructions: Option<String>,
    pub follow_up_date: Option<NaiveDate>,
}

/// The label of a form value ("capsule" -> "Capsule"), or the value itself.
pub fn form_label(value: &str) -> &str {
    FORMS.iter().find(|(v, _)| *v == value).map_or(value, |(_, l)| l)
}

/// The label of a route value ("oral" -> "Oral (by mouth)"), or the value itself.
pub fn route_label(value: &str) -> &str {
    ROUTES.iter().find(|(v, _)| *v == value).map_or(value, |(_, l)| l)
}

/// Reads a typed whole number. `Err(true)` when it is negative, `Err(false)`
/// when it is not a whole number at all; numbers too large for `u64` come
/// back as `u64::MAX` so they are reported as too large, not as malformed.
fn whole_number(text: &str) -> Result<u64, bool> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if let Some(rest) = text.strip_prefix('-') {
        let numeric = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.');
        return Err(numeric && rest.chars().any(|c| c != '0' && c != '.'));
    }
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(false);
    }
    Ok(digits.parse::<u64>().unwrap_or(u64::MAX))
}

fn quantity(input: &str) -> Result<u32, String> {
    match whole_number(input.trim()) {
        Err(true) => Err("The quantity cannot be negative: enter 1 or more.".into()),
        Err(false) | Ok(0) => Err("Enter the quantity as a whole number, 1 or more.".into()),
        Ok(n) if n > u64::from(MAX_QUANTITY) => Err(format!("The quantity is at most {MAX_QUANTITY}.")),
        Ok(n) => Ok(n as u32),
    }
}

fn refills(input: &str) -> Result<u8, String> {
    let text = input.trim();
    if text.is_empty() {
        return Ok(0);
    }
    match whole_number(text) {
        Err(true) => Err("Refills cannot be negative: enter 0 for none.".into()),
        Err(false) => Err(format!("Enter the refills as a whole number, 0 to {MAX_REFILLS}.")),
        Ok(n) if n > u64::from(MAX_REFILLS) => Err(format!("At most {MAX_REFILLS} refills can be allowed.")),
        Ok(n) => Ok(n as u8),
    }
}

/// A required text field: trimmed, not empty, at most `max` characters.
fn required(input: &str, max: usize, missing: &str, what: &str) -> Result<String, String> {
    let text = input.trim();
    if text.is_empty() {
        Err(missing.to_owned())
    } else if text.chars().count() > max {
        Err(format!("Keep the {what} to {max} characters."))
    } else {
        Ok(text.to_owned())
    }
}

/// A value that must be one of a list, compared without regard to case.
fn one_of(input: &str, list: &[(&str, &str)], message: &str) -> Result<String, String> {
    let value = input.trim().to_ascii_lowercase();
    if list.iter().any(|(v, _)| *v == value) {
        Ok(value)
    } else {
        Err(message.to_owned())
    }
}

impl MedicationInput {
    /// Checks every field; errors are keyed by the bare field name (`name`).
    fn check(&self) -> Result<Medication, Vec<(&'static str, String)>> {
        let mut errors: Vec<(&'static str, String)> = Vec::new();
        let mut keep = |field: &'static str, result: Result<String, String>| {
            result.map_err(|message| errors.push((field, message))).unwrap_or_default()
        };
        let name = keep("name", required(&self.name, 200, "Enter the name of the medication.", "medication name"));
        let strength = keep("strength", required(&self.strength, 100, "Enter the strength, like 500 mg.", "strength"));
        let form = keep("form", one_of(&self.form, FORMS, "Choose the form of the medication from the list."));
        let dose = keep("dose", required(&self.dose, 100, "Enter the dose, like 1 tablet.", "dose"));
        let route = keep("route", one_of(&self.route, ROUTES, "Choose how the medication is taken from the list."));
        let frequency =
            keep("frequency", required(&self.frequency, 100, "Enter how often, like twice a day.", "frequency"));
        let duration = keep("duration", required(&self.duration, 100, "Enter how long, like 7 days.", "duration"));
        let notes = self.notes.trim().to_owned();
        if notes.chars().count() > 500 {
            errors.push(("notes", "Keep the notes to 500 characters.".into()));
        }
        let quantity = quantity(&self.quantity).map_err(|m| errors.push(("quantity", m))).ok();
        let refills = refills(&self.refills).map_err(|m| errors.push(("refills", m))).ok();

        match (quantity, refills) {
            (Some(quantity), Some(refills)) if errors.is_empty() => Ok(Medication {
                name,
                strength,
                form,
                dose,
                route,
                frequency,
                duration,
                quantity,
                refills,
                notes: (!notes.is_empty()).then_some(notes),
            }),
            _ => Err(errors),
        }
    }
}

/// Checks a whole prescription at once and reports every problem, keyed by
/// field (`medications.0.name`, `instructions`, `follow_up_date`). `today` is
/// the doctor's date: a follow-up cannot be before it.
pub fn validate(input: &PrescriptionInput, today: NaiveDate) -> Result<ValidPrescription, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut fail = |field: String, message: String| errors.entry(field).or_default().push(message);

    if input.medications.is_empty() {
        fail("medications".into(), "Add at least one medication.".into());
    } else if input.medications.len() > MAX_MEDICATIONS {
        fail("medications".into(), format!("A prescription can list at most {MAX_MEDICATIONS} medications."));
    }
    let mut medications = Vec::with_capacity(input.medications.len());
    for (i, medication) in input.medications.iter().enumerate() {
        match medication.check() {
            Ok(m) => medications.push(m),
            Err(problems) => {
                for (field, message) in problems {
                    fail(format!("medications.{i}.{field}"), message);
                }
            }
        }
    }

    let instructions = input.instructions.trim().to_owned();
    if instructions.chars().count() > 4000 {
        fail("instructions".into(), "Keep the instructions to 4000 characters.".into());
    }

    let follow_up_text = input.follow_up_date.trim();
    let mut follow_up_date = None;
    if !follow_up_text.is_empty() {
        match NaiveDate::parse_from_str(follow_up_text, "%Y-%m-%d") {
            Err(_) => fail("follow_up_date".into(), "Enter the follow-up date like 2026-12-01.".into()),
            Ok(d) if d < today => fail("follow_up_date".into(), "Choose today or a later date.".into()),
            Ok(d) if today.checked_add_months(Months::new(24)).is_some_and(|limit| d > limit) => {
                fail("follow_up_date".into(), "Choose a follow-up date within the next two years.".into())
            }
            Ok(d) => follow_up_date = Some(d),
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidPrescription {
        medications,
        instructions: (!instructions.is_empty()).then_some(instructions),
        follow_up_date,
    })
}

/// One line describing a medication, for lists and the printed prescription:
/// "Amoxicillin 500 mg capsule — 1 capsule oral, three times a day for 7 days
/// (quantity 21, 0 refills)", followed by the notes when there are any.
pub fn summary(m: &Medication) -> String {
    let refills = if m.refills == 1 { "1 refill".to_owned() } else { format!("{} refills", m.refills) };
    let line = format!(
        "{} {} {} — {} {}, {} for {} (quantity {}, {})",
        m.name, m.strength, m.form, m.dose, m.route, m.frequency, m.duration, m.quantity, refills
    );
    match &m.notes {
        Some(notes) => format!("{line}. {notes}"),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    fn amoxicillin() -> MedicationInput {
        MedicationInput {
            name: "  Amoxicillin ".into(),
            strength: "500 mg".into(),
            form: "capsule".into(),
            dose: "1 capsule".into(),
            route: "oral".into(),
            frequency: "three times a day".into(),
            duration: "7 days".into(),
            quantity: " 21 ".into(),
            refills: "".into(),
            notes: "   ".into(),
        }
    }

    fn prescription(medications: Vec<MedicationInput>) -> PrescriptionInput {
        PrescriptionInput { medications, instructions: String::new(), follow_up_date: String::new() }
    }

    fn errors_of(input: &PrescriptionInput) -> FieldErrors {
        validate(input, today()).expect_err("the prescription should be refused")
    }

    fn with(change: impl FnOnce(&mut MedicationInput)) -> FieldErrors {
        let mut m = amoxicillin();
        change(&mut m);
        errors_of(&prescription(vec![m]))
    }

    #[test]
    fn a_valid_prescription_is_trimmed_and_typed() {
        let mut input = prescription(vec![amoxicillin()]);
        input.instructions = "  Finish the whole course.\n ".into();
        input.follow_up_date = " 2026-12-06 ".into();
        let valid = validate(&input, today()).unwrap();
        let m = &valid.medications[0];
        assert_eq!(m.name, "Amoxicillin");
        assert_eq!(m.quantity, 21);
        assert_eq!(m.refills, 0, "empty refills mean none");
        assert_eq!(m.notes, None, "blank notes are dropped");
        assert_eq!(valid.instructions.as_deref(), Some("Finish the whole course."));
        assert_eq!(valid.follow_up_date, NaiveDate::from_ymd_opt(2026, 12, 6));
    }

    #[test]
    fn empty_optional_fields_become_none() {
        let valid = validate(&prescription(vec![amoxicillin()]), today()).unwrap();
        assert_eq!(valid.instructions, None);
        assert_eq!(valid.follow_up_date, None);
    }

    #[test]
    fn a_medication_without_a_name_is_refused() {
        let errors = with(|m| m.name = "   ".into());
        assert_eq!(errors["medications.0.name"], vec!["Enter the name of the medication.".to_owned()]);
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn a_prescription_without_medications_is_refused() {
        let errors = errors_of(&prescription(vec![]));
        assert_eq!(errors["medications"], vec!["Add at least one medication.".to_owned()]);
    }

    #[test]
    fn more_than_twenty_medications_are_refused() {
        assert!(validate(&prescription(vec![amoxicillin(); 20]), today()).is_ok());
        let errors = errors_of(&prescription(vec![amoxicillin(); 21]));
        assert_eq!(errors["medications"], vec!["A prescription can list at most 20 medications.".to_owned()]);
    }

    #[test]
    fn a_negative_quantity_is_refused_with_a_clear_message() {
        let errors = with(|m| m.quantity = "-5".into());
        assert_eq!(
            errors["medications.0.quantity"],
            vec!["The quantity cannot be negative: enter 1 or more.".to_owned()]
        );
    }

    #[test]
    fn a_quantity_must_be_a_whole_number_from_1_to_10000() {
        for bad in ["", "0", "2.5", "ten", "1e3", "- 3"] {
            let errors = with(|m| m.quantity = bad.into());
            assert_eq!(
                errors["medications.0.quantity"],
                vec!["Enter the quantity as a whole number, 1 or more.".to_owned()],
                "{bad:?}"
            );
        }
        for too_many in ["10001", "99999999999999999999999"] {
            let errors = with(|m| m.quantity = too_many.into());
            assert_eq!(errors["medications.0.quantity"], vec!["The quantity is at most 10000.".to_owned()]);
        }
        let mut m = amoxicillin();
        m.quantity = "10000".into();
        assert_eq!(validate(&prescription(vec![m]), today()).unwrap().medications[0].quantity, 10_000);
    }

    #[test]
    fn refills_are_a_whole_number_from_0_to_12() {
        let mut m = amoxicillin();
        m.refills = " 12 ".into();
        assert_eq!(validate(&prescription(vec![m]), today()).unwrap().medications[0].refills, 12);
        assert_eq!(
            with(|m| m.refills = "13".into())["medications.0.refills"],
            vec!["At most 12 refills can be allowed.".to_owned()]
        );
        assert_eq!(
            with(|m| m.refills = "-1".into())["medications.0.refills"],
            vec!["Refills cannot be negative: enter 0 for none.".to_owned()]
        );
        assert_eq!(
            with(|m| m.refills = "two".into())["medications.0.refills"],
            vec!["Enter the refills as a whole number, 0 to 12.".to_owned()]
        );
    }

    #[test]
    fn form_and_route_must_come_from_the_lists() {
        let errors = with(|m| {
            m.form = "pill".into();
            m.route = "by mouth".into();
        });
        assert_eq!(errors["medications.0.form"], vec!["Choose the form of the medication from the list.".to_owned()]);
        assert_eq!(errors["medications.0.route"], vec!["Choose how the medication is taken from the list.".to_owned()]);

        let mut m = amoxicillin();
        m.form = " Capsule ".into();
        m.route = "ORAL".into();
        let valid = validate(&prescription(vec![m]), today()).unwrap();
        assert_eq!((valid.medications[0].form.as_str(), valid.medications[0].route.as_str()), ("capsule", "oral"));
    }

    #[test]
    fn overlong_text_is_refused_per_field() {
        let errors = with(|m| {
            m.name = "x".repeat(201);
            m.strength = "x".repeat(101);
            m.dose = "x".repeat(101);
            m.frequency = "x".repeat(101);
            m.duration = "x".repeat(101);
            m.notes = "x".repeat(501);
        });
        assert_eq!(errors["medications.0.name"], vec!["Keep the medication name to 200 characters.".to_owned()]);
        assert_eq!(errors["medications.0.notes"], vec!["Keep the notes to 500 characters.".to_owned()]);
        for field in ["strength", "dose", "frequency", "duration"] {
            assert!(errors.contains_key(&format!("medications.0.{field}")), "{field}: {errors:?}");
        }
        // Limits count characters, not bytes: 200 accented letters are fine.
        let mut m = amoxicillin();
        m.name = "é".repeat(200);
        assert!(validate(&prescription(vec![m]), today()).is_ok());
    }

    #[test]
    fn errors_name_the_medication_they_belong_to() {
        let mut second = amoxicillin();
        second.dose = String::new();
        let mut third = amoxicillin();
        third.duration = String::new();
        let errors = errors_of(&prescription(vec![amoxicillin(), second, third]));
        let keys: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["medications.1.dose", "medications.2.duration"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let empty = MedicationInput::default();
        let mut input = prescription(vec![empty]);
        input.instructions = "x".repeat(4001);
        input.follow_up_date = "tomorrow".into();
        let errors = errors_of(&input);
        for field in ["name", "strength", "form", "dose", "route", "frequency", "duration", "quantity"] {
            assert!(errors.contains_key(&format!("medications.0.{field}")), "{field}: {errors:?}");
        }
        assert!(!errors.contains_key("medications.0.refills"), "empty refills are fine");
        assert_eq!(errors["instructions"], vec!["Keep the instructions to 4000 characters.".to_owned()]);
        assert_eq!(errors["follow_up_date"], vec!["Enter the follow-up date like 2026-12-01.".to_owned()]);
    }

    #[test]
    fn a_follow_up_date_in_the_past_is_refused() {
        let mut input = prescription(vec![amoxicillin()]);
        input.follow_up_date = "2026-11-28".into();
        assert_eq!(errors_of(&input)["follow_up_date"], vec!["Choose today or a later date.".to_owned()]);
        input.follow_up_date = "2026-11-29".into();
        assert_eq!(validate(&input, today()).unwrap().follow_up_date, Some(today()));
    }

    #[test]
    fn a_follow_up_more_than_two_years_ahead_is_refused() {
        let mut input = prescription(vec![amoxicillin()]);
        input.follow_up_date = "2028-11-29".into();
        assert!(validate(&input, today()).is_ok(), "exactly two years is allowed");
        input.follow_up_date = "2028-11-30".into();
        assert_eq!(
            errors_of(&input)["follow_up_date"],
            vec!["Choose a follow-up date within the next two years.".to_owned()]
        );
    }

    #[test]
    fn every_message_is_a_sentence() {
        let mut bad = MedicationInput { quantity: "-1".into(), refills: "99".into(), ..Default::default() };
        bad.notes = "x".repeat(501);
        let mut input = prescription(vec![bad]);
        input.follow_up_date = "2020-01-01".into();
        for (field, messages) in errors_of(&input) {
            for message in messages {
                assert!(message.ends_with('.'), "{field}: {message}");
                assert!(message.starts_with(|c: char| c.is_ascii_uppercase()), "{field}: {message}");
            }
        }
    }

    #[test]
    fn a_summary_reads_like_a_prescription_line() {
        let m = validate(&prescription(vec![amoxicillin()]), today()).unwrap().medications.remove(0);
        assert_eq!(
            summary(&m),
            "Amoxicillin 500 mg capsule — 1 capsule oral, three times a day for 7 days (quantity 21, 0 refills)"
        );
        let with_notes = Medication { refills: 1, notes: Some("Take with food.".into()), ..m };
        assert!(summary(&with_notes).ends_with("(quantity 21, 1 refill). Take with food."));
    }

    #[test]
    fn a_medication_survives_a_json_round_trip() {
        let m = validate(&prescription(vec![amoxicillin()]), today()).unwrap().medications.remove(0);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"quantity\":21"), "{json}");
        assert_eq!(serde_json::from_str::<Medication>(&json).unwrap(), m);
    }

    #[test]
    fn labels_are_found_for_known_values() {
        assert_eq!(form_label("capsule"), "Capsule");
        assert_eq!(route_label("oral"), "Oral (by mouth)");
        assert_eq!(route_label("unknown"), "unknown");
        assert_eq!(FORMS.len(), 12);
        assert_eq!(ROUTES.len(), 13);
    }
}
