//! Demo data for a newcomer's first start: an admin, a few patients and 32
//! verified doctors in 12 specialties and 6 timezones, each with weekly
//! availability in their own timezone. Idempotent: seeding twice adds nothing.
//! Never runs in production (the settings refuse `demo.seed` there).

use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use super::audit::{self, AuditEntry};

/// The one password of every demo account (demo data only; printed at start).
pub const DEMO_PASSWORD: &str = "telehealth-demo-2026";
pub const DEMO_ADMIN_EMAIL: &str = "admin@example.com";

const FIRST_NAMES: &[&str] = &[
    "Amara", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Kavya", "Liam", "Maya",
    "Noah", "Olivia", "Priya", "Quinn", "Rafael", "Sofia", "Tariq", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zara",
    "Arjun", "Beatriz", "Callum", "Daniela", "Emeka", "Freya", "Gabriel", "Hana", "Ivan",
];
const LAST_NAMES: &[&str] = &[
    "Okafor", "Schmidt", "Nguyen", "Patel", "Rossi", "Haddad", "Kim", "Tanaka", "Murray", "Berg", "Iyer", "Walsh",
    "Cohen", "Mensah", "Garcia", "Sharma", "Reid", "Costa", "Novak", "Aziz", "Rao", "Dubois", "Zhang", "Lopez",
    "Demir", "Ali", "Menon", "Silva", "Fraser", "Moreno", "Eze", "Larsen", "Fischer", "Sato", "Petrov",
];
const SPECIALTIES: &[&str] = &[
    "General Practice",
    "Internal Medicine",
    "Pediatrics",
    "Dermatology",
    "Cardiology",
    "Psychiatry",
    "Obstetrics and Gynecology",
    "Endocrinology",
    "Neurology",
    "Orthopedics",
    "Otolaryngology (ENT)",
    "Ophthalmology",
];
/// (IANA timezone, currency, fee in minor-unit-free decimal)
const ZONES: &[(&str, &str, i64)] = &[
    ("America/New_York", "USD", 85),
    ("America/Los_Angeles", "USD", 95),
    ("Europe/London", "GBP", 60),
    ("Europe/Berlin", "EUR", 70),
    ("Asia/Kolkata", "INR", 900),
    ("Australia/Sydney", "AUD", 110),
];
const PATIENTS: &[(&str, &str, &str)] = &[
    ("Alice", "Martin", "Europe/London"),
    ("Bruno", "Santos", "America/Sao_Paulo"),
    ("Chen", "Wei", "Asia/Singapore"),
    ("Dana", "Brooks", "America/Chicago"),
    ("Esha", "Kapoor", "Asia/Kolkata"),
];
/// 32 verified doctors taking bookings, one verified but paused, and two
/// waiting in the verification queue.
const DOCTOR_COUNT: usize = 35;
const PENDING_FROM: usize = 33;
const PAUSED: usize = 32;

/// One demo login, as printed at start.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub role: &'static str,
    pub email: String,
}

/// What `seed` did.
#[derive(Debug, Clone)]
pub struct SeedOutcome {
    pub created: bool,
    pub logins: Vec<DemoLogin>,
    pub doctors: usize,
}

fn doctor_email(i: usize) -> String {
    format!("dr.{}.{}@example.com", FIRST_NAMES[i].to_lowercase(), LAST_NAMES[i].to_lowercase())
}

fn patient_email(i: usize) -> String {
    format!("patient{}@example.com", i + 1)
}

fn logins() -> Vec<DemoLogin> {
    let mut logins = vec![DemoLogin { role: "admin", email: DEMO_ADMIN_EMAIL.into() }];
    logins.extend((0..2).map(|i| DemoLogin { role: "patient", email: patient_email(i) }));
    logins.extend((0..2).map(|i| DemoLogin { role: "doctor", email: doctor_email(i) }));
    logins
}

/// Seeds the demo data in one transaction unless it is already there.
/// `password_hash` is the PHC string of [`DEMO_PASSWORD`] (hashed once by the caller).
pub async fn seed(pool: &PgPool, password_hash: &str) -> Result<SeedOutcome, sqlx::Error> {
    let mut tx = super::begin_system(pool).await?;
    // Serialise concurrent seeders (two instances starting together).
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('telehealth.demo.seed'))").execute(&mut *tx).await?;
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1)) AS "exists!""#,
        DEMO_ADMIN_EMAIL
    )
    .fetch_one(&mut *tx)
    .await?;
    if exists {
        return Ok(SeedOutcome { created: false, logins: logins(), doctors: DOCTOR_COUNT });
    }

    // Accounts: admin, patients, doctors (all email-verified).
    let admin_id = Uuid::new_v4();
    let patient_ids: Vec<Uuid> = PATIENTS.iter().map(|_| Uuid::new_v4()).collect();
    let doctor_user_ids: Vec<Uuid> = (0..DOCTOR_COUNT).map(|_| Uuid::new_v4()).collect();
    insert_users(&mut tx, &[admin_id], &[DEMO_ADMIN_EMAIL.into()], "admin", password_hash).await?;
    let patient_emails: Vec<String> = (0..PATIENTS.len()).map(patient_email).collect();
    insert_users(&mut tx, &patient_ids, &patient_emails, "patient", password_hash).await?;
    let doctor_emails: Vec<String> = (0..DOCTOR_COUNT).map(doctor_email).collect();
    insert_users(&mut tx, &doctor_user_ids, &doctor_emails, "doctor", password_hash).await?;

    // Profiles.
    let mut profile_users = vec![admin_id];
    let mut firsts = vec!["Ada".to_string()];
    let mut lasts = vec!["Admin".to_string()];
    let mut zones = vec!["UTC".to_string()];
    for (i, (first, last, zone)) in PATIENTS.iter().enumerate() {
        profile_users.push(patient_ids[i]);
        firsts.push((*first).into());
        lasts.push((*last).into());
        zones.push((*zone).into());
    }
    for (i, user_id) in doctor_user_ids.iter().enumerate() {
        profile_users.push(*user_id);
        firsts.push(FIRST_NAMES[i].into());
        lasts.push(LAST_NAMES[i].into());
        zones.push(ZONES[i % ZONES.len()].0.into());
    }
    sqlx::query!(
        r#"INSERT INTO profiles (user_id, first_name, last_name, timezone)
           SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[])"#,
        &profile_users,
        &firsts,
        &lasts,
        &zones,
    )
    .execute(&mut *tx)
    .await?;

    // Doctors, verified, with fees in their local currency.
    let doctor_ids: Vec<Uuid> = (0..DOCTOR_COUNT).map(|_| Uuid::new_v4()).collect();
    let licences: Vec<String> = (0..DOCTOR_COUNT).map(|i| format!("DEMO-{:05}", i + 1)).collect();
    let specialties: Vec<String> = (0..DOCTOR_COUNT).map(|i| SPECIALTIES[i % SPECIALTIES.len()].into()).collect();
    let experience: Vec<i32> = (0..DOCTOR_COUNT).map(|i| 3 + (i as i32 * 7) % 28).collect();
    let fees: Vec<Decimal> =
        (0..DOCTOR_COUNT).map(|i| Decimal::from(ZONES[i % ZONES.len()].2 + (i as i64 % 4) * 5)).collect();
    let currencies: Vec<String> = (0..DOCTOR_COUNT).map(|i| ZONES[i % ZONES.len()].1.into()).collect();
    let ratings: Vec<Decimal> = (0..DOCTOR_COUNT).map(|i| Decimal::new(380 + (i as i64 * 13) % 120, 2)).collect();
    let bios: Vec<String> = (0..DOCTOR_COUNT)
        .map(|i| {
            format!(
                "{} physician with {} years of practice. Consults by video, audio or chat.",
                SPECIALTIES[i % SPECIALTIES.len()],
                experience[i]
            )
        })
        .collect();
    // Everyone speaks English; each zone adds its local language(s).
    let languages: Vec<String> = (0..DOCTOR_COUNT)
        .map(|i| match ZONES[i % ZONES.len()].0 {
            "Europe/Berlin" => "en,de",
            "Asia/Kolkata" if i % 2 == 0 => "en,hi,ta",
            "Asia/Kolkata" => "en,hi,ml",
            "America/Los_Angeles" => "en,es",
            "America/New_York" if i % 2 == 0 => "en,es",
            _ => "en",
        })
        .map(str::to_owned)
        .collect();
    let types: Vec<String> =
        (0..DOCTOR_COUNT).map(|i| if i % 4 == 3 { "video,chat" } else { "video,audio,chat" }.to_owned()).collect();
    sqlx::query!(
        r#"INSERT INTO doctors (id, user_id, license_number, specialization, experience_years, qualification,
                                bio, consultation_fee, currency, rating, is_verified, is_available,
                                license_expires_on, languages, consultation_types, verification_status,
                                reviewed_at, buffer_minutes, min_notice_minutes)
           SELECT id, user_id, licence, specialty, years, 'MD', bio, fee, currency,
                  CASE WHEN status = 'approved' THEN rating END, status = 'approved', available,
                  current_date + 1095, string_to_array(langs, ','), string_to_array(kinds, ','), status,
                  CASE WHEN status = 'approved' THEN now() END, 0, 120
           FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::text[],
                       $7::numeric[], $8::text[], $9::numeric[], $10::text[], $11::text[], $12::bool[], $13::text[])
                AS t(id, user_id, licence, specialty, years, bio, fee, currency, rating, langs, kinds, available,
                     status)"#,
        &doctor_ids,
        &doctor_user_ids,
        &licences,
        &specialties,
        &experience,
        &bios,
        &fees,
        &currencies,
        &ratings,
        &languages,
        &types,
        &(0..DOCTOR_COUNT).map(|i| i != PAUSED).collect::<Vec<bool>>(),
        &(0..DOCTOR_COUNT)
            .map(|i| if i >= PENDING_FROM { "pending" } else { "approved" }.to_owned())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;

    // Weekly availability in each doctor's own timezone: weekday mornings and
    // afternoons; every third doctor also works Saturday mornings.
    let (mut slot_doctors, mut days, mut starts, mut ends, mut slot_zones) = (vec![], vec![], vec![], vec![], vec![]);
    for (i, doctor_id) in doctor_ids.iter().enumerate() {
        let zone = ZONES[i % ZONES.len()].0;
        let mut windows: Vec<(i16, &str, &str)> = Vec::new();
        for day in 1..=5 {
            windows.push((day, "09:00", "12:00"));
            windows.push((day, "13:00", "17:00"));
        }
        if i % 3 == 0 {
            windows.push((6, "10:00", "13:00"));
        }
        for (day, start, end) in windows {
            slot_doctors.push(*doctor_id);
            days.push(day);
            starts.push(start.to_string());
            ends.push(end.to_string());
            slot_zones.push(zone.to_string());
        }
    }
    sqlx::query!(
        r#"INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone, is_recurring)
           SELECT doctor_id, day, start_at::time, end_at::time, zone, true
           FROM UNNEST($1::uuid[], $2::int2[], $3::text[], $4::text[], $5::text[])
                AS t(doctor_id, day, start_at, end_at, zone)"#,
        &slot_doctors,
        &days,
        &starts,
        &ends,
        &slot_zones,
    )
    .execute(&mut *tx)
    .await?;

    // The first doctor (New York) is away at a conference next Wednesday; the
    // second (Los Angeles) adds Sunday hours once: both kinds show in the editor.
    sqlx::query!(
        r#"INSERT INTO doctor_time_off (doctor_id, starts_at, ends_at, note)
           SELECT $1, (w + interval '9 days') AT TIME ZONE 'America/New_York',
                      (w + interval '10 days') AT TIME ZONE 'America/New_York', 'Conference'
           FROM date_trunc('week', now() AT TIME ZONE 'America/New_York') AS w"#,
        doctor_ids[0]
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone, is_recurring,
                                          valid_from, valid_until)
           SELECT $1, 0, '10:00', '13:00', 'America/Los_Angeles', false, d, d
           FROM (SELECT (date_trunc('week', now() AT TIME ZONE 'America/Los_Angeles') + interval '6 days')::date) AS t(d)"#,
        doctor_ids[1]
    )
    .execute(&mut *tx)
    .await?;

    let mut entry = AuditEntry::new("demo.seeded", "system");
    entry.details = serde_json::json!({ "doctors": DOCTOR_COUNT, "patients": PATIENTS.len() });
    audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(SeedOutcome { created: true, logins: logins(), doctors: DOCTOR_COUNT })
}

async fn insert_users(
    tx: &mut sqlx::PgConnection,
    ids: &[Uuid],
    emails: &[String],
    role: &str,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO users (id, email, password_hash, role, is_email_verified)
           SELECT id, email, $3, $4::text, true FROM UNNEST($1::uuid[], $2::text[]) AS t(id, email)"#,
        ids,
        emails,
        password_hash,
        role,
    )
    .execute(tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_covers_at_least_thirty_doctors_four_zones_and_many_specialties() {
        const { assert!(DOCTOR_COUNT >= 30) };
        assert!(FIRST_NAMES.len() >= DOCTOR_COUNT && LAST_NAMES.len() >= DOCTOR_COUNT);
        assert!(ZONES.len() >= 4);
        assert!(SPECIALTIES.len() >= 10);
        for (zone, _, _) in ZONES {
            assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{zone} is a real IANA zone");
        }
    }

    #[test]
    fn demo_emails_are_unique() {
        let mut emails: Vec<String> = (0..DOCTOR_COUNT).map(doctor_email).collect();
        emails.extend((0..PATIENTS.len()).map(patient_email));
        let before = emails.len();
        emails.sort();
        emails.dedup();
        assert_eq!(emails.len(), before);
    }
}
