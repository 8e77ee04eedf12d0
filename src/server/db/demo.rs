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
                                bio, consultation_fee, currency, is_verified, is_available,
                                license_expires_on, languages, consultation_types, verification_status,
                                reviewed_at, buffer_minutes, min_notice_minutes)
           SELECT id, user_id, licence, specialty, years, 'MD', bio, fee, currency, status = 'approved', available,
                  current_date + 1095, string_to_array(langs, ','), string_to_array(kinds, ','), status,
                  CASE WHEN status = 'approved' THEN now() END, 0, 120
           FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::text[],
                       $7::numeric[], $8::text[], $9::text[], $10::text[], $11::bool[], $12::text[])
                AS t(id, user_id, licence, specialty, years, bio, fee, currency, langs, kinds, available, status)"#,
        &doctor_ids,
        &doctor_user_ids,
        &licences,
        &specialties,
        &experience,
        &bios,
        &fees,
        &currencies,
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

    let reviews = past_visits(&mut tx, &doctor_ids[..PENDING_FROM], &patient_ids).await?;

    let mut entry = AuditEntry::new("demo.seeded", "system");
    entry.details = serde_json::json!({ "doctors": DOCTOR_COUNT, "patients": PATIENTS.len(), "reviews": reviews });
    audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(SeedOutcome { created: true, logins: logins(), doctors: DOCTOR_COUNT })
}

/// How many reviews the `i`th verified doctor has (one to five), from the
/// first demo patients.
fn review_count(i: usize) -> usize {
    1 + (i * 3) % PATIENTS.len()
}

/// The stars of the `j`th review of the `i`th doctor: mostly 4 and 5, some 3,
/// so that the doctors' averages differ and sorting by rating means something.
fn stars(i: usize, j: usize) -> i16 {
    const STARS: [i16; 7] = [5, 4, 5, 3, 5, 4, 4];
    STARS[(2 * i + 3 * j) % STARS.len()]
}

/// (symptoms, diagnosis, review comment) of the demo's past visits.
const PAST_VISITS: &[(&str, &str, Option<&str>)] = &[
    (
        "Headaches most mornings for a month.",
        "Tension-type headache",
        Some("Listened carefully and explained everything."),
    ),
    ("A dry cough that will not go away.", "Post-viral cough", None),
    (
        "Follow-up of my blood pressure readings.",
        "Essential hypertension, controlled",
        Some("Clear advice, and on time."),
    ),
    ("Itchy rash on both forearms.", "Contact dermatitis", None),
    ("Trouble sleeping since a change of job.", "Short-term insomnia", Some("Kind and practical. Would book again.")),
];

/// Past visits of the demo patients with the verified doctors: completed,
/// paid by the sandbox's test card and rated, as real ones would be. Each
/// doctor's rating, review count and rating total are then exactly what its
/// reviews add up to (as `room::insert_review` keeps them), so the first
/// real review continues them instead of replacing a made-up rating.
/// Answers how many reviews there are.
async fn past_visits(
    tx: &mut sqlx::PgConnection,
    doctor_ids: &[Uuid],
    patient_ids: &[Uuid],
) -> Result<usize, sqlx::Error> {
    let (mut ids, mut doctors, mut patients, mut weeks, mut days, mut zones) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut symptoms, mut diagnoses, mut ratings, mut comments) = (vec![], vec![], vec![], vec![]);
    for (i, doctor_id) in doctor_ids.iter().enumerate() {
        for (j, patient_id) in patient_ids.iter().enumerate().take(review_count(i)) {
            let (symptom, diagnosis, comment) = PAST_VISITS[(i + j) % PAST_VISITS.len()];
            ids.push(Uuid::new_v4());
            doctors.push(*doctor_id);
            patients.push(*patient_id);
            // The ith doctor's visits are i + 1 weeks ago, one patient a
            // weekday, at 10:00 in the doctor's timezone: nobody has two
            // visits at once, and all stay well clear of the archive's age.
            weeks.push(i as i32 + 1);
            days.push(j as i32);
            zones.push(ZONES[i % ZONES.len()].0.to_owned());
            symptoms.push(symptom.to_owned());
            diagnoses.push(diagnosis.to_owned());
            ratings.push(stars(i, j));
            comments.push(comment.map(str::to_owned));
        }
    }
    sqlx::query!(
        r#"INSERT INTO consultations (id, patient_id, doctor_id, scheduled_at, scheduled_end_at, status,
                                      consultation_type, symptoms, diagnosis, started_at, ended_at, duration_minutes)
           SELECT id, patient_id, doctor_id, at, at + interval '30 minutes', 'completed', 'video', symptoms,
                  diagnosis, at + interval '1 minute', at + interval '21 minutes', 20
           FROM (SELECT id, patient_id, doctor_id, symptoms, diagnosis,
                        (date_trunc('week', now() AT TIME ZONE zone) - make_interval(weeks => week)
                         + make_interval(days => day) + interval '10 hours') AT TIME ZONE zone AS at
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::int[], $6::text[], $7::text[],
                             $8::text[])
                      AS t(id, doctor_id, patient_id, week, day, zone, symptoms, diagnosis)) AS v"#,
        &ids,
        &doctors,
        &patients,
        &weeks,
        &days,
        &zones,
        &symptoms,
        &diagnoses,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency, status, payment_method,
                                 transaction_id, payment_gateway, paid_at)
           SELECT c.id, c.patient_id, c.doctor_id, d.consultation_fee, d.currency, 'succeeded', 'Visa •••• 4242',
                  'sbx_demo_' || replace(c.id::text, '-', ''), 'sandbox', c.scheduled_at - interval '2 days'
           FROM consultations c JOIN doctors d ON d.id = c.doctor_id
           WHERE c.id = ANY($1)"#,
        &ids,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"INSERT INTO reviews (consultation_id, patient_id, doctor_id, rating, comment, created_at)
           SELECT c.id, c.patient_id, c.doctor_id, t.rating, t.comment, c.ended_at + interval '1 hour'
           FROM UNNEST($1::uuid[], $2::int2[], $3::text[]) AS t(id, rating, comment)
           JOIN consultations c ON c.id = t.id"#,
        &ids,
        &ratings,
        &comments as &[Option<String>],
    )
    .execute(&mut *tx)
    .await?;
    // The doctors' figures, from the rows themselves.
    sqlx::query!(
        r#"UPDATE doctors d
           SET review_count = r.n, rating_total = r.total, rating = round(r.total::numeric / r.n, 2),
               total_consultations = (SELECT count(*)::int FROM consultations c
                                      WHERE c.doctor_id = d.id AND c.status = 'completed')
           FROM (SELECT doctor_id, count(*)::int AS n, sum(rating)::int AS total
                 FROM reviews WHERE doctor_id = ANY($1) GROUP BY doctor_id) AS r
           WHERE d.id = r.doctor_id"#,
        doctor_ids,
    )
    .execute(&mut *tx)
    .await?;
    Ok(ids.len())
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
    fn every_verified_doctor_has_one_to_five_reviews_and_their_averages_differ() {
        let counts: Vec<usize> = (0..PENDING_FROM).map(review_count).collect();
        assert!(counts.iter().all(|n| (1..=PATIENTS.len()).contains(n)), "{counts:?}");
        let averages: std::collections::BTreeSet<i64> = (0..PENDING_FROM)
            .map(|i| (0..review_count(i)).map(|j| stars(i, j) as i64).sum::<i64>() * 100 / review_count(i) as i64)
            .collect();
        assert!(averages.len() >= 8, "{averages:?}");
        assert!((0..PENDING_FROM).all(|i| (0..review_count(i)).all(|j| (1..=5).contains(&stars(i, j)))));
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
