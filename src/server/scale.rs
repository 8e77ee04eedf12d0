//! Scale data: fills a database with many verified doctors, patients,
//! consultations (with their payments and prescriptions) and audit rows, to
//! measure the app's queries at the sizes it must serve (`telehealth scale`).
//!
//! Every row goes in through `COPY ... FROM STDIN` (text format), generated
//! here in large chunks. Nothing is switched off: every constraint and trigger
//! of the schema checks every row (the exclusion constraints against double
//! booking, the composite foreign keys of payments and prescriptions, the
//! `consultation_keys` registry filled by trigger, the live-consultation check
//! of prescriptions, the append-only audit trail). The plan below makes rows
//! that pass them:
//!
//! * times sit on a grid of 30-minute buckets, and each doctor and each
//!   patient holds a bucket at most once, so no two of their consultations
//!   overlap (whatever their status);
//! * consultations lie in the doctor's weekday hours (09:00–13:00 and
//!   14:00–18:00 in their own timezone, also their availability windows), over
//!   the past three years and the next 60 days;
//! * past ones are mostly completed and paid, some cancelled by the patient
//!   (refunded), some released holds (payment failed), some no-shows; future
//!   ones are booked and paid, a few cancelled. ~60% of completed visits
//!   have a prescription;
//! * audit rows are spread evenly over the same three years up to now, in the
//!   monthly partitions, which are created first with the schema's own
//!   `ensure_audit_log_partition`.
//!
//! `--seed` fixes the distribution (who books whom, when, with what outcome);
//! ids and e-mail addresses are new on every run, so a forced second run adds
//! to a database instead of colliding with the first.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Duration as Span, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::domain::doctor::SPECIALIZATIONS;

/// How much to generate.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub doctors: usize,
    pub patients: usize,
    pub consultations: usize,
    pub audit_rows: usize,
    pub seed: u64,
    /// Run even on a database holding more than the demo data.
    pub force: bool,
}

/// One table's part of a run.
#[derive(Debug, Clone)]
pub struct Step {
    pub table: &'static str,
    pub rows: u64,
    pub elapsed: Duration,
}

/// What a run did, table by table.
#[derive(Debug, Clone, Default)]
pub struct ScaleReport {
    pub steps: Vec<Step>,
    pub total: Duration,
}

impl ScaleReport {
    pub fn rows(&self, table: &str) -> u64 {
        self.steps.iter().filter(|s| s.table == table).map(|s| s.rows).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error(
        "the database already holds {users} users and {consultations} consultations (more than the demo data); \
         run with --force to add scale data to it anyway"
    )]
    NotEmpty { users: i64, consultations: i64 },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot hash the scale password: {0}")]
    Hash(String),
}

/// The one password of every generated account.
pub const SCALE_PASSWORD: &str = "telehealth-scale-2026";

/// More than this and the database holds more than the demo data (41 users,
/// a handful of consultations).
const DEMO_MAX_USERS: i64 = 100;
const DEMO_MAX_CONSULTATIONS: i64 = 1000;

/// Bytes of COPY text gathered before they are sent.
const CHUNK_BYTES: usize = 4 << 20;

const FIRST_NAMES: &[&str] = &[
    "Amara", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Kavya", "Liam", "Maya",
    "Noah", "Olivia", "Priya", "Quinn", "Rafael", "Sofia", "Tariq", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zara",
    "Arjun", "Beatriz", "Callum", "Daniela", "Emeka", "Freya", "Gabriel", "Hana", "Ivan", "Julia", "Kofi", "Lena",
    "Mateo", "Nadia", "Oscar", "Paula", "Ravi", "Sara", "Tomas", "Ines", "Yara", "Omar", "Lucia", "Kenji",
];
const LAST_NAMES: &[&str] = &[
    "Okafor",
    "Schmidt",
    "Nguyen",
    "Patel",
    "Rossi",
    "Haddad",
    "Kim",
    "Tanaka",
    "Murray",
    "Berg",
    "Iyer",
    "Walsh",
    "Cohen",
    "Mensah",
    "Garcia",
    "Sharma",
    "Reid",
    "Costa",
    "Novak",
    "Aziz",
    "Rao",
    "Dubois",
    "Zhang",
    "Lopez",
    "Demir",
    "Ali",
    "Menon",
    "Silva",
    "Fraser",
    "Moreno",
    "Eze",
    "Larsen",
    "Fischer",
    "Sato",
    "Petrov",
    "Andersen",
    "Bianchi",
    "Castro",
    "Doyle",
    "Engel",
    "Ferreira",
    "Gupta",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moller",
    "Nakamura",
    "Oliveira",
];
/// (IANA timezone, ISO country, currency, base fee, second language)
const ZONES: &[(&str, &str, &str, u32, &str)] = &[
    ("America/New_York", "US", "USD", 85, "es"),
    ("America/Chicago", "US", "USD", 80, "es"),
    ("America/Los_Angeles", "US", "USD", 95, "es"),
    ("Europe/London", "GB", "GBP", 60, "fr"),
    ("Europe/Berlin", "DE", "EUR", 70, "de"),
    ("Asia/Kolkata", "IN", "INR", 900, "hi"),
    ("Australia/Sydney", "AU", "AUD", 110, "zh"),
    ("America/Sao_Paulo", "BR", "BRL", 250, "pt-BR"),
];
/// Local start hours of the doctors' weekday windows (09–13 and 14–18).
const START_HOURS: &[u32] = &[9, 10, 11, 12, 14, 15, 16, 17];
const SLOT_MINUTES: &[i16] = &[20, 30, 30, 30, 45, 60];
const SYMPTOMS: &[&str] = &[
    "Persistent cough for two weeks",
    "Headaches in the afternoon",
    "Rash on both forearms",
    "Follow-up on blood pressure",
    "Trouble sleeping",
    "Lower back pain after lifting",
    "Sore throat and mild fever",
    "Repeat prescription review",
    "Anxiety before work",
    "Joint stiffness in the morning",
];
const DIAGNOSES: &[&str] = &[
    "Acute bronchitis",
    "Tension-type headache",
    "Contact dermatitis",
    "Essential hypertension, controlled",
    "Insomnia",
    "Mechanical low back pain",
    "Viral pharyngitis",
    "Stable on current treatment",
    "Generalised anxiety",
    "Osteoarthritis of the hand",
];
const MEDICATIONS: &[(&str, &str, &str)] = &[
    ("Amoxicillin", "500 mg", "capsule"),
    ("Ibuprofen", "400 mg", "tablet"),
    ("Paracetamol", "500 mg", "tablet"),
    ("Cetirizine", "10 mg", "tablet"),
    ("Amlodipine", "5 mg", "tablet"),
    ("Sertraline", "50 mg", "tablet"),
    ("Hydrocortisone cream", "1%", "cream"),
    ("Omeprazole", "20 mg", "capsule"),
];
/// (action, resource type, what the resource is)
const AUDIT_ACTIONS: &[(&str, &str, Resource)] = &[
    ("auth.sign_in", "session", Resource::Fresh),
    ("auth.sign_in", "session", Resource::Fresh),
    ("auth.sign_in_failed", "user", Resource::User),
    ("consultation.viewed", "consultation", Resource::Consultation),
    ("consultation.viewed", "consultation", Resource::Consultation),
    ("consultation.booked", "consultation", Resource::Consultation),
    ("consultation.agenda_viewed", "doctor", Resource::Doctor),
    ("consultation.started", "consultation", Resource::Consultation),
    ("payment.succeeded", "payment", Resource::Fresh),
    ("prescription.downloaded", "prescription", Resource::Fresh),
    ("prescription.list_viewed", "user", Resource::User),
    ("profile.updated", "profile", Resource::Fresh),
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
];

#[derive(Debug, Clone, Copy)]
enum Resource {
    Fresh,
    User,
    Doctor,
    Consultation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Scheduled,
    Completed,
    NoShow,
    /// Cancelled by the patient after paying: refunded.
    Cancelled,
    /// An unpaid hold released by the expiry job: payment failed.
    Released,
}

struct Doctor {
    id: Uuid,
    user_id: Uuid,
    zone: usize,
    slot_minutes: i16,
    fee: u32,
    types: &'static [&'static str],
}

struct Visit {
    id: Uuid,
    patient: u32,
    doctor: u32,
    starts: i64,
    ends: i64,
    outcome: Outcome,
    prescribed: bool,
}

/// Fills the database behind `conn` (migrated already, signed in as the
/// schema's owner). `progress` hears one line per step.
pub async fn generate(
    conn: &mut PgConnection,
    opts: &ScaleOptions,
    mut progress: impl FnMut(&str),
) -> Result<ScaleReport, ScaleError> {
    if opts.doctors == 0 || opts.patients == 0 {
        return Err(ScaleError::Invalid("--doctors and --patients must be at least 1".into()));
    }
    let started = Instant::now();
    let (users, consultations): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM consultations)")
            .fetch_one(&mut *conn)
            .await?;
    if !opts.force && (users > DEMO_MAX_USERS || consultations > DEMO_MAX_CONSULTATIONS) {
        return Err(ScaleError::NotEmpty { users, consultations });
    }
    // Bulk loading: a crash loses the run, never consistency.
    sqlx::query("SET synchronous_commit = off").execute(&mut *conn).await?;

    let password_hash = crate::server::password::hash(SCALE_PASSWORD.into())
        .await
        .map_err(|e| ScaleError::Hash(e.to_string()))?
        .as_str()
        .to_owned();
    let mut report = ScaleReport::default();
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut ids = StdRng::from_entropy();
    let tag = format!("{:08x}", ids.r#gen::<u32>());
    let now = Utc::now().timestamp() / 60 * 60;

    // The plan, in memory: doctors, patients, consultations.
    let plan_started = Instant::now();
    let doctors: Vec<Doctor> = (0..opts.doctors)
        .map(|_| {
            let zone = rng.gen_range(0..ZONES.len());
            let types: &'static [&'static str] =
                if rng.gen_bool(0.8) { &["video", "audio", "chat"] } else { &["video", "chat"] };
            Doctor {
                id: uuid(&mut ids),
                user_id: uuid(&mut ids),
                zone,
                slot_minutes: SLOT_MINUTES[rng.gen_range(0..SLOT_MINUTES.len())],
                fee: ZONES[zone].3 * rng.gen_range(80..=150) / 100,
                types,
            }
        })
        .collect();
    let patients: Vec<Uuid> = (0..opts.patients).map(|_| uuid(&mut ids)).collect();
    let visits = plan_visits(&mut rng, &mut ids, &doctors, opts.patients, opts.consultations, now)?;
    progress(&format!(
        "planned {} consultations of {} doctors and {} patients in {:.1?}",
        visits.len(),
        doctors.len(),
        patients.len(),
        plan_started.elapsed()
    ));

    // Accounts and profiles.
    let step = Instant::now();
    let created = now - 4 * 365 * 86_400;
    let mut copy = Copier::begin(
        conn,
        "COPY users (id, email, password_hash, role, is_active, is_email_verified, created_at, updated_at) FROM STDIN",
    )
    .await?;
    for (i, d) in doctors.iter().enumerate() {
        let at = created + rng.gen_range(0..365 * 86_400);
        let row = copy.row();
        put_uuid(row, d.user_id);
        put_text(row, &format!("dr{i}.{tag}@scale.example.com"));
        put_text(row, &password_hash);
        put_text(row, "doctor");
        put_raw(row, "t\tt");
        put_ts(row, at);
        put_ts(row, at);
        copy.end_row().await?;
    }
    for (i, p) in patients.iter().enumerate() {
        let at = created + rng.gen_range(0..365 * 86_400);
        let row = copy.row();
        put_uuid(row, *p);
        put_text(row, &format!("patient{i}.{tag}@scale.example.com"));
        put_text(row, &password_hash);
        put_text(row, "patient");
        put_raw(row, "t\tt");
        put_ts(row, at);
        put_ts(row, at);
        copy.end_row().await?;
    }
    report.push("users", copy.finish().await?, step, &mut progress);

    let step = Instant::now();
    let mut copy = Copier::begin(
        conn,
        "COPY profiles (user_id, first_name, last_name, phone, date_of_birth, gender, city, country, timezone, \
         preferred_language) FROM STDIN",
    )
    .await?;
    let people = doctors.iter().map(|d| (d.user_id, d.zone)).chain(patients.iter().map(|p| (*p, usize::MAX)));
    for (user_id, zone) in people {
        let zone = if zone == usize::MAX { rng.gen_range(0..ZONES.len()) } else { zone };
        let (tz, country, _, _, _) = ZONES[zone];
        let row = copy.row();
        put_uuid(row, user_id);
        put_text(row, FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())]);
        put_text(row, LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())]);
        put_text(row, &format!("+1555{:07}", rng.gen_range(0..10_000_000)));
        put_date(row, NaiveDate::from_ymd_opt(rng.gen_range(1945..2006), rng.gen_range(1..=12), rng.gen_range(1..=28)));
        put_text(row, ["female", "male", "other"][rng.gen_range(0..3)]);
        put_text(row, tz.rsplit('/').next().unwrap_or(tz).replace('_', " ").as_str());
        put_text(row, country);
        put_text(row, tz);
        put_text(row, "en");
        copy.end_row().await?;
    }
    report.push("profiles", copy.finish().await?, step, &mut progress);

    // Verified doctors and their weekly hours.
    let step = Instant::now();
    let mut completed = vec![0i32; doctors.len()];
    for v in visits.iter().filter(|v| v.outcome == Outcome::Completed) {
        completed[v.doctor as usize] += 1;
    }
    let today = DateTime::from_timestamp(now, 0).unwrap_or_default().date_naive();
    let mut copy = Copier::begin(
        conn,
        "COPY doctors (id, user_id, license_number, license_expires_on, specialization, experience_years, \
         qualification, bio, consultation_fee, currency, total_consultations, is_verified, is_available, \
         languages, consultation_types, slot_minutes, buffer_minutes, min_notice_minutes, booking_horizon_days, \
         verification_status, submitted_at, reviewed_at, created_at, updated_at) FROM STDIN",
    )
    .await?;
    for (i, d) in doctors.iter().enumerate() {
        let (_, _, currency, _, language) = ZONES[d.zone];
        let joined = created + rng.gen_range(0..365 * 86_400);
        let row = copy.row();
        put_uuid(row, d.id);
        put_uuid(row, d.user_id);
        put_text(row, &format!("SC-{tag}-{i:07}"));
        put_date(row, today.checked_add_signed(Span::days(rng.gen_range(200..1800))));
        put_text(row, SPECIALIZATIONS[rng.gen_range(0..SPECIALIZATIONS.len())]);
        put_text(row, &rng.gen_range(1..40).to_string());
        put_text(row, "MD");
        put_text(row, "Sees adults and children; happy to explain every option.");
        put_text(row, &format!("{}.00", d.fee));
        put_text(row, currency);
        put_text(row, &completed[i].to_string());
        put_raw(row, "t");
        put_raw(row, if rng.gen_bool(0.97) { "t" } else { "f" });
        put_text(row, &if rng.gen_bool(0.4) { format!("{{en,{language}}}") } else { "{en}".to_owned() });
        put_text(row, &format!("{{{}}}", d.types.join(",")));
        put_text(row, &d.slot_minutes.to_string());
        put_raw(row, if d.slot_minutes < 30 { "10" } else { "0" });
        put_raw(row, "120\t60");
        put_text(row, "approved");
        put_ts(row, joined);
        put_ts(row, joined + 86_400);
        put_ts(row, joined);
        put_ts(row, joined + 86_400);
        copy.end_row().await?;
    }
    report.push("doctors", copy.finish().await?, step, &mut progress);

    let step = Instant::now();
    let mut copy = Copier::begin(
        conn,
        "COPY availability_slots (doctor_id, day_of_week, start_time, end_time, timezone, is_recurring) FROM STDIN",
    )
    .await?;
    for d in &doctors {
        for day in 1..=5 {
            for (from, to) in [("09:00", "13:00"), ("14:00", "18:00")] {
                let row = copy.row();
                put_uuid(row, d.id);
                put_raw(row, &day.to_string());
                put_text(row, from);
                put_text(row, to);
                put_text(row, ZONES[d.zone].0);
                put_raw(row, "t");
                copy.end_row().await?;
            }
        }
    }
    report.push("availability_slots", copy.finish().await?, step, &mut progress);

    // Consultations (the registry trigger fills consultation_keys), then
    // what points at them.
    let step = Instant::now();
    let mut copy = Copier::begin(
        conn,
        "COPY consultations (id, patient_id, doctor_id, scheduled_at, scheduled_end_at, status, consultation_type, \
         symptoms, diagnosis, notes, duration_minutes, started_at, ended_at, created_at, updated_at, \
         hold_expires_at, booking_key, cancelled_at, cancelled_by, cancellation_reason, notes_version, \
         notes_updated_at) FROM STDIN",
    )
    .await?;
    for (n, v) in visits.iter().enumerate() {
        let d = &doctors[v.doctor as usize];
        let patient = patients[v.patient as usize];
        let booked = (v.starts - rng.gen_range(3_600..21 * 86_400)).min(now - 60);
        let what = rng.gen_range(0..SYMPTOMS.len());
        let row = copy.row();
        put_uuid(row, v.id);
        put_uuid(row, patient);
        put_uuid(row, d.id);
        put_ts(row, v.starts);
        put_ts(row, v.ends);
        put_text(row, status_of(v.outcome));
        put_text(row, d.types[rng.gen_range(0..d.types.len())]);
        put_text(row, SYMPTOMS[what]);
        match v.outcome {
            Outcome::Completed => {
                let began = v.starts + rng.gen_range(0..5) * 60;
                let minutes = i64::from(d.slot_minutes) - rng.gen_range(0..5);
                let ended = began + minutes * 60;
                put_text(row, DIAGNOSES[what]);
                put_text(row, "History taken; examined by video. Plan agreed with the patient.");
                put_raw(row, &minutes.to_string());
                put_ts(row, began);
                put_ts(row, ended);
                put_ts(row, booked);
                put_ts(row, ended);
                put_null(row);
                put_uuid(row, uuid(&mut ids));
                put_raw(row, "\\N\t\\N\t\\N\t1");
                put_ts(row, ended);
            }
            Outcome::Cancelled | Outcome::Released => {
                let cancelled = if v.outcome == Outcome::Released {
                    booked + 600
                } else {
                    (booked + rng.gen_range(60..(v.starts - booked).max(120))).min(now - 30).max(booked)
                };
                put_raw(row, "\\N\t\\N\t\\N\t\\N\t\\N");
                put_ts(row, booked);
                put_ts(row, cancelled);
                if v.outcome == Outcome::Released {
                    put_ts(row, booked + 600);
                } else {
                    put_null(row);
                }
                put_uuid(row, uuid(&mut ids));
                put_ts(row, cancelled);
                if v.outcome == Outcome::Released {
                    put_raw(row, "\\N\thold_expired");
                } else {
                    put_uuid(row, patient);
                    put_text(row, "patient");
                }
                put_raw(row, "0\t\\N");
            }
            Outcome::Scheduled | Outcome::NoShow => {
                put_raw(row, "\\N\t\\N\t\\N\t\\N\t\\N");
                put_ts(row, booked);
                put_ts(row, if v.outcome == Outcome::NoShow { v.ends + 900 } else { booked + 120 });
                put_null(row);
                put_uuid(row, uuid(&mut ids));
                put_raw(row, "\\N\t\\N\t\\N\t0\t\\N");
            }
        }
        copy.end_row().await?;
        if (n + 1) % 250_000 == 0 {
            progress(&format!("  consultations: {} sent ({:.1?})", n + 1, step.elapsed()));
        }
    }
    report.push("consultations (+ consultation_keys by trigger)", copy.finish().await?, step, &mut progress);

    let step = Instant::now();
    let mut copy = Copier::begin(
        conn,
        "COPY payments (id, consultation_id, patient_id, doctor_id, amount, currency, status, refunded_amount, \
         payment_method, transaction_id, payment_gateway, paid_at, created_at, updated_at) FROM STDIN",
    )
    .await?;
    for v in &visits {
        let d = &doctors[v.doctor as usize];
        let amount = format!("{}.00", d.fee);
        // Paid some time before the visit (and before now).
        let paid = (v.starts - rng.gen_range(3_600..14 * 86_400)).min(now - 60);
        let row = copy.row();
        put_uuid(row, uuid(&mut ids));
        put_uuid(row, v.id);
        put_uuid(row, patients[v.patient as usize]);
        put_uuid(row, d.id);
        put_text(row, &amount);
        put_text(row, ZONES[d.zone].2);
        match v.outcome {
            Outcome::Released => {
                put_raw(row, "failed\t0\t\\N\t\\N\t\\N\t\\N");
                put_ts(row, paid);
                put_ts(row, paid + 600);
            }
            _ => {
                let refunded = v.outcome == Outcome::Cancelled;
                put_text(row, if refunded { "refunded" } else { "succeeded" });
                put_text(row, if refunded { &amount } else { "0" });
                put_text(row, "Visa •••• 4242");
                let mut tx = *b"sb_00000000000000000000000000000000";
                uuid(&mut ids).simple().encode_lower(&mut tx[3..]);
                put_text(row, std::str::from_utf8(&tx).unwrap_or("sb_"));
                put_text(row, "sandbox");
                put_ts(row, paid + 60);
                put_ts(row, paid);
                put_ts(row, paid + 60);
            }
        }
        copy.end_row().await?;
    }
    report.push("payments", copy.finish().await?, step, &mut progress);

    let step = Instant::now();
    let mut copy = Copier::begin(
        conn,
        "COPY prescriptions (consultation_id, doctor_id, patient_id, medications, instructions, follow_up_date, \
         follow_up_reminded_at, created_at, updated_at) FROM STDIN",
    )
    .await?;
    for v in visits.iter().filter(|v| v.prescribed) {
        let (name, strength, form) = MEDICATIONS[rng.gen_range(0..MEDICATIONS.len())];
        let written = v.ends + 300;
        let row = copy.row();
        put_uuid(row, v.id);
        put_uuid(row, doctors[v.doctor as usize].id);
        put_uuid(row, patients[v.patient as usize]);
        put_text(
            row,
            &format!(
                r#"[{{"name":"{name}","strength":"{strength}","form":"{form}","dose":"1 {form}","route":"oral","frequency":"twice a day","duration":"7 days","quantity":14,"refills":0,"notes":null}}]"#
            ),
        );
        put_text(row, "Take with food. Come back if it gets worse.");
        if rng.gen_bool(0.3) {
            let follow_up = written + rng.gen_range(14..45) * 86_400;
            put_date(row, DateTime::from_timestamp(follow_up, 0).map(|t| t.date_naive()));
            // Reminders of the past went out the day before.
            if follow_up - 86_400 < now {
                put_ts(row, follow_up - 86_400)
            } else {
                put_null(row)
            }
        } else {
            put_raw(row, "\\N\t\\N");
        }
        put_ts(row, written);
        put_ts(row, written);
        copy.end_row().await?;
    }
    report.push("prescriptions", copy.finish().await?, step, &mut progress);

    // The audit trail: partitions first, then the rows month by month.
    let step = Instant::now();
    let first = now - AUDIT_YEARS * 365 * 86_400;
    let months = months_between(first, now);
    for month in &months {
        sqlx::query("SELECT ensure_audit_log_partition($1)").bind(month.0).execute(&mut *conn).await?;
    }
    sqlx::query("SELECT ensure_audit_log_partitions(3)").execute(&mut *conn).await?;
    progress(&format!("audit partitions for {} months ready in {:.1?}", months.len(), step.elapsed()));
    let users_all: Vec<Uuid> = doctors.iter().map(|d| d.user_id).chain(patients.iter().copied()).collect();
    let span = (now - first).max(1) as f64;
    let mut written = 0usize;
    let mut audit_rows = 0u64;
    for (i, (_, from, to)) in months.iter().enumerate() {
        let (from, to) = ((*from).max(first), (*to).min(now));
        // Rows in proportion to the time covered so far; the last month takes the rest.
        let target = if i + 1 == months.len() {
            opts.audit_rows
        } else {
            (((to - first) as f64 / span * opts.audit_rows as f64).round() as usize).min(opts.audit_rows)
        };
        let count = target - written;
        written = target;
        if count == 0 {
            continue;
        }
        let mut copy = Copier::begin(
            conn,
            "COPY audit_logs (id, user_id, action, resource_type, resource_id, details, ip_address, user_agent, \
             created_at) FROM STDIN",
        )
        .await?;
        let step_us = ((to - from) * 1_000_000) as f64 / count as f64;
        for k in 0..count {
            let (action, kind, resource) = AUDIT_ACTIONS[rng.gen_range(0..AUDIT_ACTIONS.len())];
            let user = users_all[rng.gen_range(0..users_all.len())];
            let row = copy.row();
            put_uuid(row, uuid(&mut ids));
            if action == "auth.sign_in_failed" && rng.gen_bool(0.3) {
                put_null(row)
            } else {
                put_uuid(row, user)
            }
            put_text(row, action);
            put_text(row, kind);
            match resource {
                Resource::Fresh => put_uuid(row, uuid(&mut ids)),
                Resource::User => put_uuid(row, user),
                Resource::Doctor => put_uuid(row, doctors[rng.gen_range(0..doctors.len())].id),
                Resource::Consultation if !visits.is_empty() => {
                    put_uuid(row, visits[rng.gen_range(0..visits.len())].id)
                }
                Resource::Consultation => put_null(row),
            }
            put_text(row, r#"{"source":"scale"}"#);
            put_text(row, &format!("10.{}.{}.{}", rng.gen_range(0..256), rng.gen_range(0..256), rng.r#gen::<u8>()));
            put_text(row, USER_AGENTS[rng.gen_range(0..USER_AGENTS.len())]);
            put_ts_micros(row, from * 1_000_000 + (k as f64 * step_us) as i64);
            copy.end_row().await?;
        }
        audit_rows += copy.finish().await?;
        if (i + 1) % 6 == 0 || i + 1 == months.len() {
            progress(&format!(
                "  audit_logs: {audit_rows} rows, {} of {} months ({:.1?})",
                i + 1,
                months.len(),
                step.elapsed()
            ));
        }
    }
    report.push("audit_logs", audit_rows, step, &mut progress);

    // The doctors' next free times, as the app's availability job keeps them.
    let step = Instant::now();
    let mut worked_out = 0;
    loop {
        let n = crate::server::services::doctors::refresh_next_free_batch(&mut *conn, 1000).await?;
        worked_out += n;
        if n < 1000 {
            break;
        }
    }
    progress(&format!("next free times of {worked_out} doctors worked out in {:.1?}", step.elapsed()));

    let step = Instant::now();
    sqlx::query("ANALYZE").execute(&mut *conn).await?;
    progress(&format!("ANALYZE done in {:.1?}", step.elapsed()));
    report.total = started.elapsed();
    progress(&format!("total {:.1?}", report.total));
    Ok(report)
}

/// Audit rows cover this many years up to now.
const AUDIT_YEARS: i64 = 3;

impl ScaleReport {
    fn push(&mut self, table: &'static str, rows: u64, started: Instant, progress: &mut impl FnMut(&str)) {
        let elapsed = started.elapsed();
        let rate = rows as f64 / elapsed.as_secs_f64().max(0.001);
        progress(&format!("{table}: {rows} rows in {elapsed:.1?} ({rate:.0} rows/s)"));
        self.steps.push(Step { table, rows, elapsed });
    }
}

fn status_of(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Scheduled => "scheduled",
        Outcome::Completed => "completed",
        Outcome::NoShow => "no_show",
        Outcome::Cancelled | Outcome::Released => "cancelled",
    }
}

/// Consultations over the past three years and the next 60 days, none
/// overlapping another of its doctor or its patient.
fn plan_visits(
    rng: &mut StdRng,
    ids: &mut StdRng,
    doctors: &[Doctor],
    patients: usize,
    count: usize,
    now: i64,
) -> Result<Vec<Visit>, ScaleError> {
    const BUCKET: i64 = 1800;
    let past_days = 3 * 365;
    let future_days = 60;
    let zones: Vec<Tz> = ZONES.iter().map(|z| z.0.parse::<Tz>().unwrap_or(chrono_tz::UTC)).collect();
    let today = DateTime::from_timestamp(now, 0).unwrap_or_default().date_naive();
    // (entity << 32 | bucket); doctors and patients in separate sets.
    let mut doctor_busy: HashSet<u64> = HashSet::with_capacity(count * 2);
    let mut patient_busy: HashSet<u64> = HashSet::with_capacity(count * 2);
    let bucket_base = now - (past_days + 2) * 86_400;
    let mut visits = Vec::with_capacity(count);
    let mut misses = 0usize;
    while visits.len() < count {
        if misses > count * 20 + 10_000 {
            return Err(ScaleError::Invalid(format!(
                "cannot fit {count} non-overlapping consultations into {} doctors' hours over three years; \
                 add doctors or patients",
                doctors.len()
            )));
        }
        // Popular doctors get more bookings (a mild skew).
        let doctor = ((rng.r#gen::<f64>().powf(1.3)) * doctors.len() as f64) as usize % doctors.len();
        let patient = rng.gen_range(0..patients);
        let d = &doctors[doctor];
        let day = today + Span::days(rng.gen_range(-past_days..=future_days));
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            misses += 1;
            continue;
        }
        let hour = START_HOURS[rng.gen_range(0..START_HOURS.len())];
        let local = day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default());
        let Some(starts) = zones[d.zone].from_local_datetime(&local).earliest().map(|t| t.timestamp()) else {
            misses += 1;
            continue;
        };
        let ends = starts + i64::from(d.slot_minutes) * 60;
        // Nothing under way or about to start: those states belong to the live app.
        if (starts < now + 3 * 3_600 && ends > now - 3 * 3_600) || starts > now + future_days * 86_400 {
            misses += 1;
            continue;
        }
        let first = (starts - bucket_base) / BUCKET;
        let last = (ends - 1 - bucket_base) / BUCKET;
        let key = |entity: usize, b: i64| ((entity as u64) << 32) | b as u64;
        if (first..=last).any(|b| doctor_busy.contains(&key(doctor, b)) || patient_busy.contains(&key(patient, b))) {
            misses += 1;
            continue;
        }
        for b in first..=last {
            doctor_busy.insert(key(doctor, b));
            patient_busy.insert(key(patient, b));
        }
        let outcome = if starts > now {
            if rng.gen_bool(0.95) {
                Outcome::Scheduled
            } else {
                Outcome::Cancelled
            }
        } else {
            match rng.gen_range(0..100) {
                0..84 => Outcome::Completed,
                84..92 => Outcome::Cancelled,
                92..96 => Outcome::Released,
                _ => Outcome::NoShow,
            }
        };
        let prescribed = outcome == Outcome::Completed && rng.gen_bool(0.6);
        visits.push(Visit {
            id: uuid(ids),
            patient: patient as u32,
            doctor: doctor as u32,
            starts,
            ends,
            outcome,
            prescribed,
        });
    }
    Ok(visits)
}

/// (first day, start, end) of every UTC month touching [from, to].
fn months_between(from: i64, to: i64) -> Vec<(NaiveDate, i64, i64)> {
    let start = DateTime::from_timestamp(from, 0).unwrap_or_default().date_naive();
    let mut month = NaiveDate::from_ymd_opt(start.year(), start.month(), 1).unwrap_or(start);
    let mut months = Vec::new();
    loop {
        let next = month.checked_add_months(chrono::Months::new(1)).unwrap_or(month);
        let (lo, hi) = (midnight(month), midnight(next));
        months.push((month, lo, hi));
        if hi > to || next == month {
            return months;
        }
        month = next;
    }
}

fn midnight(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::MIN).and_utc().timestamp()
}

fn uuid(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.r#gen()).into_uuid()
}

/// One COPY in progress: rows gather in a buffer sent in large chunks.
struct Copier<'c> {
    copy: sqlx::postgres::PgCopyIn<&'c mut PgConnection>,
    buf: Vec<u8>,
}

impl<'c> Copier<'c> {
    async fn begin(conn: &'c mut PgConnection, statement: &str) -> Result<Copier<'c>, sqlx::Error> {
        let copy = conn.copy_in_raw(statement).await?;
        Ok(Copier { copy, buf: Vec::with_capacity(CHUNK_BYTES + 64 * 1024) })
    }

    /// The buffer to write the next row's fields into (each ends in a tab).
    fn row(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Ends the row (its last tab becomes the newline) and sends a full chunk.
    async fn end_row(&mut self) -> Result<(), sqlx::Error> {
        if let Some(last) = self.buf.last_mut() {
            *last = b'\n';
        }
        if self.buf.len() >= CHUNK_BYTES {
            self.copy.send(self.buf.as_slice()).await?;
            self.buf.clear();
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<u64, sqlx::Error> {
        if !self.buf.is_empty() {
            self.copy.send(self.buf.as_slice()).await?;
        }
        self.copy.finish().await
    }
}

/// A field as is (the caller's text has no tab, newline or backslash of its own).
fn put_raw(row: &mut Vec<u8>, text: &str) {
    row.extend_from_slice(text.as_bytes());
    row.push(b'\t');
}

/// A text field, escaped for COPY's text format.
fn put_text(row: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => row.extend_from_slice(b"\\\\"),
            b'\t' => row.extend_from_slice(b"\\t"),
            b'\n' => row.extend_from_slice(b"\\n"),
            b'\r' => row.extend_from_slice(b"\\r"),
            _ => row.push(b),
        }
    }
    row.push(b'\t');
}

fn put_null(row: &mut Vec<u8>) {
    row.extend_from_slice(b"\\N\t");
}

fn put_uuid(row: &mut Vec<u8>, id: Uuid) {
    let mut text = [0u8; 36];
    row.extend_from_slice(id.hyphenated().encode_lower(&mut text).as_bytes());
    row.push(b'\t');
}

fn put_date(row: &mut Vec<u8>, date: Option<NaiveDate>) {
    match date {
        Some(d) => {
            put_digits(row, d.year() as u32, 4);
            row.push(b'-');
            put_digits(row, d.month(), 2);
            row.push(b'-');
            put_digits(row, d.day(), 2);
            row.push(b'\t');
        }
        None => put_null(row),
    }
}

/// A UTC instant (seconds since the epoch) as `YYYY-MM-DD HH:MM:SS+00`.
fn put_ts(row: &mut Vec<u8>, secs: i64) {
    put_instant(row, secs, None);
}

/// A UTC instant in microseconds, with its fraction.
fn put_ts_micros(row: &mut Vec<u8>, micros: i64) {
    put_instant(row, micros.div_euclid(1_000_000), Some(micros.rem_euclid(1_000_000) as u32));
}

fn put_instant(row: &mut Vec<u8>, secs: i64, micros: Option<u32>) {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
    let (y, m, d) = crate::server::pdf::civil_from_days(days);
    put_digits(row, y as u32, 4);
    row.push(b'-');
    put_digits(row, m, 2);
    row.push(b'-');
    put_digits(row, d, 2);
    row.push(b' ');
    put_digits(row, rest / 3600, 2);
    row.push(b':');
    put_digits(row, rest / 60 % 60, 2);
    row.push(b':');
    put_digits(row, rest % 60, 2);
    if let Some(us) = micros {
        row.push(b'.');
        put_digits(row, us, 6);
    }
    row.extend_from_slice(b"+00\t");
}

fn put_digits(row: &mut Vec<u8>, mut value: u32, width: usize) {
    let at = row.len();
    row.resize(at + width, b'0');
    for i in (0..width).rev() {
        row[at + i] = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Opens the owner's connection, applies nothing (the caller migrates), and runs.
pub async fn generate_at(
    url: &str,
    opts: &ScaleOptions,
    progress: impl FnMut(&str),
) -> Result<ScaleReport, ScaleError> {
    let mut conn = PgConnection::connect(url).await?;
    let report = generate(&mut conn, opts, progress).await;
    let _ = conn.close().await;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_as_utc_text() {
        let mut row = Vec::new();
        put_ts(&mut row, 1_764_374_400 + 3_661);
        put_ts_micros(&mut row, -1_000_000 + 250);
        assert_eq!(String::from_utf8(row).unwrap(), "2025-11-29 01:01:01+00\t1969-12-31 23:59:59.000250+00\t");
    }

    #[test]
    fn text_fields_escape_what_copy_would_read_as_structure() {
        let mut row = Vec::new();
        put_text(&mut row, "a\tb\\c\nd");
        assert_eq!(row, b"a\\tb\\\\c\\nd\t");
    }

    #[test]
    fn months_cover_the_span_from_its_first_month_to_its_last() {
        let from = midnight(NaiveDate::from_ymd_opt(2023, 11, 15).unwrap());
        let to = midnight(NaiveDate::from_ymd_opt(2024, 2, 3).unwrap());
        let months: Vec<String> = months_between(from, to).iter().map(|m| m.0.to_string()).collect();
        assert_eq!(months, ["2023-11-01", "2023-12-01", "2024-01-01", "2024-02-01"]);
    }
}
