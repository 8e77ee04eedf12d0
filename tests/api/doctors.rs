//! Doctors: the professional profile, verification by an administrator,
//! availability windows and time off, and discovery (search and a doctor's
//! page) with times from the slot engine.

use crate::helpers::*;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Offset, SecondsFormat, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::Value;
use uuid::Uuid;

const LONDON: Tz = chrono_tz::Europe::London;
const KOLKATA: Tz = chrono_tz::Asia::Kolkata;

// --- time -----------------------------------------------------------------------

fn today_in(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

/// The first `weekday` at least `days` days after today in `tz` (so well
/// beyond any minimum notice, and within the two weeks shown).
fn next(weekday: Weekday, tz: Tz, days: i64) -> NaiveDate {
    let mut date = today_in(tz) + Duration::days(days);
    while date.weekday() != weekday {
        date = date.succ_opt().unwrap();
    }
    date
}

/// The instant the wall clock in `tz` shows `hm` on `date`.
fn at(date: NaiveDate, hm: &str, tz: Tz) -> DateTime<Utc> {
    let time = NaiveTime::parse_from_str(hm, "%H:%M").unwrap();
    tz.from_local_datetime(&date.and_time(time)).earliest().unwrap().with_timezone(&Utc)
}

/// As the API writes instants: RFC 3339 in UTC, whole seconds.
fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_instant(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn ymd(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

// --- requests ---------------------------------------------------------------------

/// `prefix[key]=value&…`, values encoded.
fn nested(prefix: &str, pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{prefix}[{k}]={}", urlencode(v))).collect::<Vec<_>>().join("&")
}

// --- people -----------------------------------------------------------------------

async fn sign_in(app: &TestApp, client: &reqwest::Client, email: &str) -> reqwest::Response {
    app.post_form_as(client, "/api/sign_in", &form(&[("email", email), ("password", PASSWORD)])).await
}

/// A doctor signed up and in on their own browser.
async fn doctor(app: &TestApp, email: &str, first: &str, last: &str, timezone: &str) -> reqwest::Client {
    let body = form(&[
        ("email", email),
        ("password", PASSWORD),
        ("first_name", first),
        ("last_name", last),
        ("timezone", timezone),
        ("role", "doctor"),
    ]);
    let res = app.post_form("/api/sign_up", &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let client = browser(None);
    assert_eq!(sign_in(app, &client, email).await.status(), 200);
    client
}

/// A patient signed up and in on their own browser.
async fn patient(app: &TestApp, email: &str, timezone: &str) -> reqwest::Client {
    assert_eq!(sign_up_patient(app, email, PASSWORD, timezone).await.status(), 200);
    let client = browser(None);
    assert_eq!(sign_in(app, &client, email).await.status(), 200);
    client
}

async fn review(app: &TestApp, admin: &reqwest::Client, doctor_id: Uuid, approve: bool, reason: &str) -> (u16, Value) {
    let body = form(&[("doctor_id", &doctor_id.to_string()), ("approve", &approve.to_string()), ("reason", reason)]);
    post_answer(app, admin, "/api/admin_review_doctor", &body).await
}

// --- the database, read and (for fixtures) written directly ------------------------

async fn doctor_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("SELECT d.id FROM doctors d JOIN users u ON u.id = d.user_id WHERE u.email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn doctor_rows(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM doctors d JOIN users u ON u.id = d.user_id WHERE u.email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// verification_status, is_verified, rejection_reason.
async fn verification(app: &TestApp, email: &str) -> (String, bool, Option<String>) {
    sqlx::query_as(
        "SELECT d.verification_status, d.is_verified, d.rejection_reason
         FROM doctors d JOIN users u ON u.id = d.user_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Who did `action`, on what, with which details (the one such row).
async fn audit_row(app: &TestApp, action: &str) -> (Option<Uuid>, Option<Uuid>, Value) {
    sqlx::query_as("SELECT user_id, resource_id, details FROM audit_logs WHERE action = $1")
        .bind(action)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Fixture: the person confirmed their email address.
async fn verify_email(app: &TestApp, email: &str) {
    sqlx::query("UPDATE users SET is_email_verified = true WHERE email = $1")
        .bind(email)
        .execute(&app.pool)
        .await
        .unwrap();
}

// --- the professional profile ----------------------------------------------------------

/// The profile form, as a doctor fills it in.
#[derive(Debug, Clone)]
struct Profile {
    license_number: String,
    license_expires_on: String,
    specialization: String,
    experience_years: String,
    qualification: String,
    bio: String,
    languages: Vec<String>,
    consultation_fee: String,
    currency: String,
    consultation_types: Vec<String>,
    slot_minutes: String,
    buffer_minutes: String,
    min_notice_hours: String,
    booking_horizon_days: String,
}

impl Profile {
    /// A complete, valid profile: Dermatology, GBP 60.00, English and
    /// Portuguese, video and chat, 30-minute slots, no buffer, 2 hours' notice.
    fn good(license: &str) -> Profile {
        Profile {
            license_number: license.into(),
            license_expires_on: ymd(today_in(chrono_tz::UTC) + Duration::days(730)),
            specialization: "Dermatology".into(),
            experience_years: "12".into(),
            qualification: "MBBS, MRCP (Dermatology)".into(),
            bio: "Skin conditions in adults and children.".into(),
            languages: vec!["pt".into(), "en".into()],
            consultation_fee: "60.00".into(),
            currency: "GBP".into(),
            consultation_types: vec!["video".into(), "chat".into()],
            slot_minutes: "30".into(),
            buffer_minutes: "0".into(),
            min_notice_hours: "2".into(),
            booking_horizon_days: "60".into(),
        }
    }

    fn body(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("license_number", &self.license_number),
            ("license_expires_on", &self.license_expires_on),
            ("specialization", &self.specialization),
            ("experience_years", &self.experience_years),
            ("qualification", &self.qualification),
            ("bio", &self.bio),
            ("consultation_fee", &self.consultation_fee),
            ("currency", &self.currency),
            ("slot_minutes", &self.slot_minutes),
            ("buffer_minutes", &self.buffer_minutes),
            ("min_notice_hours", &self.min_notice_hours),
            ("booking_horizon_days", &self.booking_horizon_days),
        ];
        for language in &self.languages {
            pairs.push(("languages][", language));
        }
        for kind in &self.consultation_types {
            pairs.push(("consultation_types][", kind));
        }
        nested("profile", &pairs)
    }
}

async fn save_profile(app: &TestApp, client: &reqwest::Client, profile: &Profile) -> (u16, Value) {
    post_answer(app, client, "/api/save_doctor_profile", &profile.body()).await
}

// --- availability --------------------------------------------------------------------

fn weekly(day: u8, start: &str, end: &str, timezone: &str) -> String {
    let day = day.to_string();
    nested(
        "window",
        &[("kind", "weekly"), ("day_of_week", &day), ("start_time", start), ("end_time", end), ("timezone", timezone)],
    )
}

fn one_off(date: NaiveDate, start: &str, end: &str, timezone: &str) -> String {
    let date = ymd(date);
    nested(
        "window",
        &[("kind", "date"), ("date", &date), ("start_time", start), ("end_time", end), ("timezone", timezone)],
    )
}

async fn add_window(app: &TestApp, client: &reqwest::Client, window: &str) -> (u16, Value) {
    post_answer(app, client, "/api/add_availability_window", window).await
}

/// Adds a window that must be accepted; returns its id.
async fn window_added(app: &TestApp, client: &reqwest::Client, window: &str) -> String {
    let (status, body) = add_window(app, client, window).await;
    assert_eq!(status, 200, "{body}");
    body.as_str().expect("the new window's id").to_owned()
}

async fn add_time_off(app: &TestApp, client: &reqwest::Client, pairs: &[(&str, &str)]) -> (u16, Value) {
    post_answer(app, client, "/api/add_time_off", &nested("time_off", pairs)).await
}

async fn availability(app: &TestApp, client: &reqwest::Client) -> Value {
    let (status, body) = get_answer(app, client, "/api/my_availability").await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Every `starts_at` of a list of days.
fn starts_of_days(days: &Value) -> Vec<String> {
    days.as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["slots"].as_array().unwrap().iter().map(|s| s["starts_at"].as_str().unwrap().to_owned()))
        .collect()
}

/// The preview's times on `date` (in `tz`), as "HH:MM" there.
fn times_on(starts: &[String], date: NaiveDate, tz: Tz) -> Vec<String> {
    starts
        .iter()
        .map(|s| parse_instant(s).with_timezone(&tz))
        .filter(|t| t.date_naive() == date)
        .map(|t| t.format("%H:%M").to_string())
        .collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// =====================================================================================
// The professional profile
// =====================================================================================

#[tokio::test]
async fn a_doctor_submits_a_complete_profile_which_waits_for_verification_and_reads_back_as_typed() {
    let app = spawn_app().await;
    let amara = doctor(&app, "amara@example.com", "Amara", "Okafor", "Europe/London").await;
    assert_eq!(get_answer(&app, &amara, "/api/my_doctor_profile").await, (200, Value::Null), "nothing yet");

    let profile = Profile::good("GMC-7043921");
    let (status, pending) = save_profile(&app, &amara, &profile).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending, true, "the answer says it waits for verification");

    assert_eq!(verification(&app, "amara@example.com").await, ("pending".into(), false, None));
    let (by, on, details) = audit_row(&app, "doctor.profile_submitted").await;
    assert_eq!(by, Some(user_id(&app, "amara@example.com").await));
    assert_eq!(on, Some(doctor_id(&app, "amara@example.com").await));
    assert_eq!(details["pending_verification"], true);

    let (status, view) = get_answer(&app, &amara, "/api/my_doctor_profile").await;
    assert_eq!(status, 200);
    let p = &view["profile"];
    assert_eq!(p["license_number"], "GMC-7043921");
    assert_eq!(p["license_expires_on"], profile.license_expires_on.as_str());
    assert_eq!(p["specialization"], "Dermatology");
    assert_eq!(p["experience_years"], "12");
    assert_eq!(p["qualification"], "MBBS, MRCP (Dermatology)");
    assert_eq!(p["bio"], "Skin conditions in adults and children.");
    assert_eq!(p["consultation_fee"], "60.00");
    assert_eq!(p["currency"], "GBP");
    assert_eq!(p["slot_minutes"], "30");
    assert_eq!(p["buffer_minutes"], "0");
    assert_eq!(p["min_notice_hours"], "2");
    assert_eq!(p["booking_horizon_days"], "60");
    // Lists are sets: compared without their order.
    let mut languages: Vec<String> = serde_json::from_value(p["languages"].clone()).unwrap();
    languages.sort();
    assert_eq!(languages, strings(&["en", "pt"]));
    let mut types: Vec<String> = serde_json::from_value(p["consultation_types"].clone()).unwrap();
    types.sort();
    assert_eq!(types, strings(&["chat", "video"]));
    assert_eq!(view["status"], "pending");
    assert_eq!(view["rejection_reason"], Value::Null);
    assert_eq!(view["is_available"], true);
}

#[tokio::test]
async fn every_bad_profile_field_gets_its_own_message_and_nothing_is_written() {
    let app = spawn_app().await;
    let amara = doctor(&app, "amara@example.com", "Amara", "Okafor", "Europe/London").await;
    let bad = Profile {
        license_number: "x".into(),
        license_expires_on: ymd(today_in(chrono_tz::UTC) - Duration::days(1)),
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
    let (status, body) = save_profile(&app, &amara, &bad).await;
    assert_eq!(status, 422, "{body}");
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
        field_messages(&body, field);
    }
    assert_eq!(field_messages(&body, "license_expires_on"), ["This licence has expired: renew it first."]);
    assert!(field_messages(&body, "slot_minutes")[0].contains("15, 20, 30, 45 or 60"), "{body}");

    // A fee finer than its currency allows, and an unknown consultation type among good ones.
    let mut yen = Profile::good("GMC-7043921");
    yen.currency = "JPY".into();
    yen.consultation_fee = "3000.50".into();
    yen.consultation_types = vec!["video".into(), "telepathy".into()];
    let (status, body) = save_profile(&app, &amara, &yen).await;
    assert_eq!(status, 422, "{body}");
    assert!(field_messages(&body, "consultation_fee")[0].contains("whole number"), "{body}");
    field_messages(&body, "consultation_types");
    assert!(body["detail"].get("license_number").is_none(), "good fields are not blamed: {body}");

    assert_eq!(doctor_rows(&app, "amara@example.com").await, 0);
    assert_eq!(audit_count(&app, "doctor.profile_submitted").await, 0);
}

#[tokio::test]
async fn a_licence_number_another_doctor_registered_is_refused_on_that_field() {
    let app = spawn_app().await;
    let amara = doctor(&app, "amara@example.com", "Amara", "Okafor", "Europe/London").await;
    let bruno = doctor(&app, "bruno@example.com", "Bruno", "Costa", "Europe/Lisbon").await;
    assert_eq!(save_profile(&app, &amara, &Profile::good("GMC-7043921")).await.0, 200);

    // Spaces around it do not make it another number.
    let (status, body) = save_profile(&app, &bruno, &Profile::good("  GMC-7043921 ")).await;
    assert_eq!(status, 422, "{body}");
    assert!(field_messages(&body, "license_number")[0].contains("already registered"), "{body}");
    assert_eq!(doctor_rows(&app, "bruno@example.com").await, 0);
    // With his own number he is fine.
    assert_eq!(save_profile(&app, &bruno, &Profile::good("OM-55012")).await.0, 200);
}

#[tokio::test]
async fn patients_get_403_and_anonymous_callers_401_from_the_doctor_functions() {
    let app = spawn_app().await;
    let ana = patient(&app, "ana@example.com", "Europe/Lisbon").await;
    let anonymous = browser(None);
    let profile = Profile::good("GMC-7043921").body();
    let window = weekly(1, "09:00", "12:00", "Europe/London");
    for (client, expected) in [(&ana, 403), (&anonymous, 401)] {
        assert_eq!(post_answer(&app, client, "/api/save_doctor_profile", &profile).await.0, expected, "save");
        assert_eq!(get_answer(&app, client, "/api/my_availability").await.0, expected, "my_availability");
        assert_eq!(get_answer(&app, client, "/api/my_doctor_profile").await.0, expected, "my_doctor_profile");
        assert_eq!(add_window(&app, client, &window).await.0, expected, "add window");
        let pause = form(&[("available", "false")]);
        assert_eq!(post_answer(&app, client, "/api/set_doctor_available", &pause).await.0, expected, "pause");
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM doctors").fetch_one(&app.pool).await.unwrap();
    assert_eq!(rows, 0);
}

// =====================================================================================
// Verification by an administrator
// =====================================================================================

#[tokio::test]
async fn an_administrator_approves_or_rejects_pending_doctors_who_are_emailed_and_only_once() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|env| {
        env.insert("TELEHEALTH__MAIL__TRANSPORT".into(), "smtp".into());
        env.insert("TELEHEALTH__MAIL__SMTP_URL".into(), url);
    })
    .await;
    let amara = doctor(&app, "amara@example.com", "Amara", "Okafor", "Europe/London").await;
    assert_eq!(save_profile(&app, &amara, &Profile::good("GMC-7043921")).await.0, 200);
    let bruno = doctor(&app, "bruno@example.com", "Bruno", "Costa", "Europe/Lisbon").await;
    assert_eq!(save_profile(&app, &bruno, &Profile::good("OM-55012")).await.0, 200);
    let amara_id = doctor_id(&app, "amara@example.com").await;
    let bruno_id = doctor_id(&app, "bruno@example.com").await;
    let ana = patient(&app, "ana@example.com", "Europe/Lisbon").await;
    let omar = admin_without_mfa(&app, "omar@example.com").await;
    let olga = admin_with_mfa(&app, "olga@example.com").await;

    // The queue, oldest first.
    let (status, queue) = get_answer(&app, &olga, "/api/admin_doctor_queue").await;
    assert_eq!(status, 200, "{queue}");
    let ids: Vec<&str> = queue.as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [amara_id.to_string(), bruno_id.to_string()]);
    let first = &queue[0];
    assert_eq!(first["name"], "Amara Okafor");
    assert_eq!(first["email"], "amara@example.com");
    assert_eq!(first["license_number"], "GMC-7043921");
    assert_eq!(first["fee"], "GBP 60.00");
    assert_eq!(first["languages"], serde_json::json!(["English", "Portuguese"]));

    // Nobody else may look or decide.
    for (who, client, expected) in [("patient", &ana, 403), ("admin without MFA", &omar, 403)] {
        assert_eq!(get_answer(&app, client, "/api/admin_doctor_queue").await.0, expected, "{who} queue");
        assert_eq!(review(&app, client, amara_id, true, "").await.0, expected, "{who} review");
    }
    let (status, body) = review(&app, &omar, amara_id, true, "").await;
    assert_eq!((status, body["kind"].as_str()), (403, Some("mfa_required")));
    assert_eq!(review(&app, &browser(None), amara_id, true, "").await.0, 401);
    assert_eq!(verification(&app, "amara@example.com").await.0, "pending");

    // Approval.
    let (status, body) = review(&app, &olga, amara_id, true, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(verification(&app, "amara@example.com").await, ("approved".into(), true, None));
    let (by, on, _) = audit_row(&app, "admin.doctor_approved").await;
    assert_eq!((by, on), (Some(user_id(&app, "olga@example.com").await), Some(amara_id)));
    // Reviewing again, either way, is a conflict.
    assert_eq!(review(&app, &olga, amara_id, true, "").await.0, 409);
    assert_eq!(review(&app, &olga, amara_id, false, "Second thoughts").await.0, 409);
    assert_eq!(verification(&app, "amara@example.com").await.0, "approved");

    // Rejection needs a reason.
    let (status, body) = review(&app, &olga, bruno_id, false, "   ").await;
    assert_eq!(status, 422, "{body}");
    field_messages(&body, "reason");
    assert_eq!(verification(&app, "bruno@example.com").await.0, "pending");
    let reason = "The licence scan is unreadable, please upload a clearer copy.";
    let (status, body) = review(&app, &olga, bruno_id, false, reason).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(verification(&app, "bruno@example.com").await, ("rejected".into(), false, Some(reason.into())));
    let (by, on, details) = audit_row(&app, "admin.doctor_rejected").await;
    assert_eq!((by, on), (Some(user_id(&app, "olga@example.com").await), Some(bruno_id)));
    assert_eq!(details["reason"], reason);
    assert_eq!(review(&app, &olga, bruno_id, true, "").await.0, 409);

    // He sees why, on his profile.
    let (_, view) = get_answer(&app, &bruno, "/api/my_doctor_profile").await;
    assert_eq!((view["status"].as_str(), view["rejection_reason"].as_str()), (Some("rejected"), Some(reason)));
    assert_eq!(get_answer(&app, &olga, "/api/admin_doctor_queue").await.1, serde_json::json!([]));

    // Both were told by email (after the address confirmation message each).
    smtp.wait_for("amara@example.com", 2).await;
    smtp.wait_for("bruno@example.com", 2).await;
    let mail: Vec<String> = smtp.messages().iter().map(|m| decode_quoted_printable(m)).collect();
    let to = |address: &str| {
        mail.iter().filter(move |m| m.to_lowercase().contains(&format!("to: {address}"))).cloned().collect::<Vec<_>>()
    };
    assert!(to("amara@example.com").iter().any(|m| m.contains("Subject: Your Telehealth profile is verified")));
    let rejected: Vec<String> =
        to("bruno@example.com").into_iter().filter(|m| m.contains("Your Telehealth profile needs changes")).collect();
    assert_eq!(rejected.len(), 1, "{mail:?}");
    assert!(rejected[0].contains(reason), "{}", rejected[0]);
    assert!(!to("bruno@example.com").iter().any(|m| m.contains("is verified")));
}

#[tokio::test]
async fn editing_a_profile_keeps_an_approval_unless_the_licence_changes_and_resubmits_a_rejected_one() {
    let app = spawn_app().await;
    let olga = admin_with_mfa(&app, "olga@example.com").await;
    let amara = doctor(&app, "amara@example.com", "Amara", "Okafor", "Europe/London").await;
    let mut profile = Profile::good("GMC-7043921");
    assert_eq!(save_profile(&app, &amara, &profile).await.0, 200);
    let id = doctor_id(&app, "amara@example.com").await;
    assert_eq!(review(&app, &olga, id, true, "").await.0, 200);

    // Fee, bio and hours: still approved.
    profile.bio = "Eczema, acne and psoriasis.".into();
    profile.consultation_fee = "75".into();
    profile.min_notice_hours = "24".into();
    assert_eq!(save_profile(&app, &amara, &profile).await, (200, Value::Bool(false)));
    assert_eq!(verification(&app, "amara@example.com").await, ("approved".into(), true, None));
    assert_eq!(audit_count(&app, "doctor.profile_updated").await, 1);
    let (_, view) = get_answer(&app, &amara, "/api/my_doctor_profile").await;
    assert_eq!(view["profile"]["bio"], "Eczema, acne and psoriasis.");
    assert_eq!(view["profile"]["consultation_fee"], "75.00");
    assert_eq!(view["profile"]["min_notice_hours"], "24");

    // A new licence number: back to the queue.
    profile.license_number = "GMC-7043999".into();
    assert_eq!(save_profile(&app, &amara, &profile).await, (200, Value::Bool(true)));
    assert_eq!(verification(&app, "amara@example.com").await, ("pending".into(), false, None));
    assert_eq!(audit_count(&app, "doctor.profile_resubmitted").await, 1);
    let queue = get_answer(&app, &olga, "/api/admin_doctor_queue").await.1;
    assert_eq!(queue[0]["license_number"], "GMC-7043999", "{queue}");

    // A renewed licence (new expiry date) too.
    assert_eq!(review(&app, &olga, id, true, "").await.0, 200);
    profile.license_expires_on = ymd(today_in(chrono_tz::UTC) + Duration::days(1000));
    assert_eq!(save_profile(&app, &amara, &profile).await, (200, Value::Bool(true)));
    assert_eq!(verification(&app, "amara@example.com").await.0, "pending");

    // Rejected, then corrected: pending again, the old reason gone.
    assert_eq!(review(&app, &olga, id, false, "Qualification does not match the register.").await.0, 200);
    assert_eq!(verification(&app, "amara@example.com").await.0, "rejected");
    profile.qualification = "MBBS, MRCP (Dermatology), CCT".into();
    assert_eq!(save_profile(&app, &amara, &profile).await, (200, Value::Bool(true)));
    assert_eq!(verification(&app, "amara@example.com").await, ("pending".into(), false, None));
    let (_, view) = get_answer(&app, &amara, "/api/my_doctor_profile").await;
    assert_eq!(view["status"], "pending");
    assert_eq!(view["rejection_reason"], Value::Null);
    assert_eq!(audit_count(&app, "doctor.profile_resubmitted").await, 3);
}

// =====================================================================================
// Availability
// =====================================================================================

/// A doctor (timezone Europe/London) with a submitted profile.
async fn doctor_with_profile(app: &TestApp, email: &str, first: &str, last: &str, license: &str) -> reqwest::Client {
    let client = doctor(app, email, first, last, "Europe/London").await;
    let (status, body) = save_profile(app, &client, &Profile::good(license)).await;
    assert_eq!(status, 200, "{body}");
    client
}

#[tokio::test]
async fn a_weekly_window_is_listed_and_previewed_and_bad_or_overlapping_windows_are_refused_by_field() {
    let app = spawn_app().await;
    let amara = doctor_with_profile(&app, "amara@example.com", "Amara", "Okafor", "GMC-7043921").await;
    let bruno = doctor_with_profile(&app, "bruno@example.com", "Bruno", "Costa", "OM-55012").await;

    let id = window_added(&app, &amara, &weekly(1, "09:00", "12:00", "Europe/London")).await;
    let view = availability(&app, &amara).await;
    assert_eq!(view["timezone"], "Europe/London");
    assert_eq!(
        view["windows"],
        serde_json::json!([{ "id": id, "label": "Every Monday, 09:00–12:00 (Europe/London)" }])
    );
    let monday = next(Weekday::Mon, LONDON, 2);
    let starts = starts_of_days(&view["preview"]);
    assert_eq!(times_on(&starts, monday, LONDON), ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]);
    assert!(starts.contains(&rfc(at(monday, "09:00", LONDON))));
    for s in &starts {
        let local = parse_instant(s).with_timezone(&LONDON);
        assert_eq!(local.weekday(), Weekday::Mon, "{s}");
    }
    let day = view["preview"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["slots"][0]["starts_at"] == rfc(at(monday, "09:00", LONDON)));
    assert_eq!(day.unwrap()["day"], monday.format("%A %-d %B").to_string());

    // Overlapping the Monday window.
    let (status, body) = add_window(&app, &amara, &weekly(1, "11:00", "13:00", "Europe/London")).await;
    assert_eq!(status, 422, "{body}");
    let message = &field_messages(&body, "start_time")[0];
    assert!(message.contains("overlaps") && message.contains("Monday 09:00–12:00"), "{message}");
    // Also when written in another zone: 10:00 in Lisbon is 10:00 in London.
    let (status, body) = add_window(&app, &amara, &weekly(1, "10:00", "10:30", "Europe/Lisbon")).await;
    assert_eq!(status, 422, "{body}");
    assert!(field_messages(&body, "start_time")[0].contains("overlaps"), "{body}");
    // Right after it is fine.
    window_added(&app, &amara, &weekly(1, "12:00", "13:00", "Europe/London")).await;

    let (status, body) = add_window(&app, &amara, &weekly(2, "12:00", "09:00", "Europe/London")).await;
    assert_eq!(status, 422);
    assert_eq!(field_messages(&body, "end_time"), ["The end time must be after the start time."]);
    let (status, body) = add_window(&app, &amara, &weekly(2, "09:00", "12:00", "Mars/Olympus_Mons")).await;
    assert_eq!(status, 422);
    field_messages(&body, "timezone");
    let yesterday = today_in(LONDON) - Duration::days(1);
    let (status, body) = add_window(&app, &amara, &one_off(yesterday, "09:00", "12:00", "Europe/London")).await;
    assert_eq!(status, 422);
    field_messages(&body, "date");
    // A one-off on a future date is fine, and is labelled with its date.
    let friday = next(Weekday::Fri, LONDON, 2);
    window_added(&app, &amara, &one_off(friday, "14:00", "15:00", "Europe/London")).await;
    let view = availability(&app, &amara).await;
    let labels: Vec<&str> = view["windows"].as_array().unwrap().iter().map(|w| w["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&format!("{}, 14:00–15:00 (Europe/London)", friday.format("%A %-d %B %Y")).as_str()));
    assert_eq!(times_on(&starts_of_days(&view["preview"]), friday, LONDON), ["14:00", "14:30"]);
    assert_eq!(audit_count(&app, "availability.window_added").await, 3);

    // Another doctor cannot remove it; she can.
    let remove = form(&[("id", &id)]);
    assert_eq!(post_answer(&app, &bruno, "/api/remove_availability_window", &remove).await.0, 404);
    assert_eq!(availability(&app, &amara).await["windows"].as_array().unwrap().len(), 3);
    assert_eq!(post_answer(&app, &amara, "/api/remove_availability_window", &remove).await.0, 200);
    let view = availability(&app, &amara).await;
    assert!(!view["windows"].as_array().unwrap().iter().any(|w| w["id"] == id.as_str()));
    assert_eq!(times_on(&starts_of_days(&view["preview"]), monday, LONDON), ["12:00", "12:30"]);
    assert_eq!(post_answer(&app, &amara, "/api/remove_availability_window", &remove).await.0, 404, "already gone");
    let (by, on, details) = audit_row(&app, "availability.window_removed").await;
    assert_eq!(by, Some(user_id(&app, "amara@example.com").await));
    assert_eq!(on.map(|u| u.to_string()), Some(id));
    assert_eq!(details["doctor_id"], doctor_id(&app, "amara@example.com").await.to_string());
}

#[tokio::test]
async fn a_window_until_midnight_is_accepted_as_the_form_suggests() {
    let app = spawn_app().await;
    let amara = doctor_with_profile(&app, "amara@example.com", "Amara", "Okafor", "GMC-7043921").await;
    // The end-time message itself says "24:00 for midnight".
    let (status, body) = add_window(&app, &amara, &weekly(5, "22:00", "25:00", "Europe/London")).await;
    assert_eq!(status, 422);
    assert!(field_messages(&body, "end_time")[0].contains("24:00 for midnight"), "{body}");

    let (status, body) = add_window(&app, &amara, &weekly(5, "22:00", "24:00", "Europe/London")).await;
    assert_eq!(status, 200, "{body}");
    let view = availability(&app, &amara).await;
    assert_eq!(view["windows"][0]["label"], "Every Friday, 22:00–24:00 (Europe/London)");
    let friday = next(Weekday::Fri, LONDON, 2);
    assert_eq!(times_on(&starts_of_days(&view["preview"]), friday, LONDON), ["22:00", "22:30", "23:00", "23:30"]);
}

#[tokio::test]
async fn a_doctor_without_a_profile_is_asked_to_complete_it_before_adding_windows() {
    let app = spawn_app().await;
    let amara = doctor(&app, "amara@example.com", "Amara", "Okafor", "Europe/London").await;
    let (status, body) = add_window(&app, &amara, &weekly(1, "09:00", "12:00", "Europe/London")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(get_answer(&app, &amara, "/api/my_availability").await.0, 409);
}

#[tokio::test]
async fn time_off_removes_the_times_it_covers_and_only_its_owner_can_remove_it() {
    let app = spawn_app().await;
    let amara = doctor_with_profile(&app, "amara@example.com", "Amara", "Okafor", "GMC-7043921").await;
    let bruno = doctor_with_profile(&app, "bruno@example.com", "Bruno", "Costa", "OM-55012").await;
    window_added(&app, &amara, &weekly(1, "09:00", "12:00", "Europe/London")).await;
    window_added(&app, &amara, &weekly(2, "09:00", "12:00", "Europe/London")).await;
    let monday = next(Weekday::Mon, LONDON, 2);
    let tuesday = monday + Duration::days(1);
    let all = strings(&["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]);
    let starts = starts_of_days(&availability(&app, &amara).await["preview"]);
    assert_eq!(times_on(&starts, monday, LONDON), all);
    assert_eq!(times_on(&starts, tuesday, LONDON), all);

    // The whole Monday off.
    let (status, off) = add_time_off(
        &app,
        &amara,
        &[("first_date", &ymd(monday)), ("last_date", &ymd(monday)), ("note", "Conference")],
    )
    .await;
    assert_eq!(status, 200, "{off}");
    let off = off.as_str().unwrap().to_owned();
    let view = availability(&app, &amara).await;
    let starts = starts_of_days(&view["preview"]);
    assert_eq!(times_on(&starts, monday, LONDON), Vec::<String>::new());
    assert_eq!(times_on(&starts, tuesday, LONDON), all);
    let listed = &view["time_off"][0];
    assert_eq!(listed["id"], off.as_str());
    let label = listed["label"].as_str().unwrap();
    assert!(label.starts_with(&monday.format("%a %-d %b %Y 00:00").to_string()), "{label}");
    assert!(label.contains(&tuesday.format("%a %-d %b %Y 00:00").to_string()) && label.ends_with("Conference"));

    // Tuesday 10:00 to 11:00 off.
    let (status, body) =
        add_time_off(&app, &amara, &[("first_date", &ymd(tuesday)), ("start_time", "10:00"), ("end_time", "11:00")])
            .await;
    assert_eq!(status, 200, "{body}");
    let starts = starts_of_days(&availability(&app, &amara).await["preview"]);
    assert_eq!(times_on(&starts, tuesday, LONDON), ["09:00", "09:30", "11:00", "11:30"]);

    // Backwards, or half the times.
    let (status, body) =
        add_time_off(&app, &amara, &[("first_date", &ymd(tuesday)), ("last_date", &ymd(monday))]).await;
    assert_eq!(status, 422);
    field_messages(&body, "last_date");
    let (status, body) = add_time_off(&app, &amara, &[("first_date", &ymd(tuesday)), ("start_time", "10:00")]).await;
    assert_eq!(status, 422);
    field_messages(&body, "end_time");
    assert_eq!(availability(&app, &amara).await["time_off"].as_array().unwrap().len(), 2);

    // Bruno cannot remove her time off; she can, and Monday comes back.
    let remove = form(&[("id", &off)]);
    assert_eq!(post_answer(&app, &bruno, "/api/remove_time_off", &remove).await.0, 404);
    assert_eq!(availability(&app, &amara).await["time_off"].as_array().unwrap().len(), 2);
    assert_eq!(post_answer(&app, &amara, "/api/remove_time_off", &remove).await.0, 200);
    let starts = starts_of_days(&availability(&app, &amara).await["preview"]);
    assert_eq!(times_on(&starts, monday, LONDON), all);
    assert_eq!(audit_count(&app, "availability.time_off_added").await, 2);
    assert_eq!(audit_count(&app, "availability.time_off_removed").await, 1);
}

#[tokio::test]
async fn a_booked_consultation_takes_its_time_out_of_the_doctors_times_but_a_cancelled_one_does_not() {
    let app = spawn_app().await;
    let olga = admin_with_mfa(&app, "olga@example.com").await;
    let amara = doctor_with_profile(&app, "amara@example.com", "Amara", "Okafor", "GMC-7043921").await;
    verify_email(&app, "amara@example.com").await;
    let id = doctor_id(&app, "amara@example.com").await;
    assert_eq!(review(&app, &olga, id, true, "").await.0, 200);
    window_added(&app, &amara, &weekly(1, "09:00", "12:00", "Europe/London")).await;
    let monday = next(Weekday::Mon, LONDON, 2);
    let patient = insert_user(&app.pool, "patient").await;
    insert_consultation(&app.pool, patient, id, &rfc(at(monday, "09:30", LONDON)), 30, "scheduled").await.unwrap();
    insert_consultation(&app.pool, patient, id, &rfc(at(monday, "10:30", LONDON)), 30, "cancelled").await.unwrap();

    let expected = ["09:00", "10:00", "10:30", "11:00", "11:30"];
    let starts = starts_of_days(&availability(&app, &amara).await["preview"]);
    assert_eq!(times_on(&starts, monday, LONDON), expected, "the doctor's preview");
    let (status, page) =
        get_answer(&app, &browser(None), &format!("/api/doctor_details?id={id}&tz=Europe/London")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(times_on(&starts_of_days(&page["days"]), monday, LONDON), expected, "the doctor's page");
}

// =====================================================================================
// Discovery
// =====================================================================================

/// A doctor patients should find.
struct Listed {
    id: Uuid,
    client: reqwest::Client,
}

/// Signs a doctor up (Europe/London), submits `profile`, confirms the email,
/// has `admin` approve them and adds the windows.
async fn listed_doctor(
    app: &TestApp,
    admin: &reqwest::Client,
    email: &str,
    (first, last): (&str, &str),
    profile: &Profile,
    windows: &[String],
) -> Listed {
    let client = doctor(app, email, first, last, "Europe/London").await;
    let (status, body) = save_profile(app, &client, profile).await;
    assert_eq!(status, 200, "{body}");
    verify_email(app, email).await;
    let id = doctor_id(app, email).await;
    assert_eq!(review(app, admin, id, true, "").await.0, 200);
    for window in windows {
        window_added(app, &client, window).await;
    }
    Listed { id, client }
}

/// Every day, all day (00:00–24:00 UTC): whenever the test runs, the next
/// half hour is a slot.
fn around_the_clock() -> Vec<String> {
    (0..7).map(|d| weekly(d, "00:00", "24:00", "UTC")).collect()
}

/// Three listed doctors:
/// * A, Amara Smith: Dermatology, GBP 60, en+pt, video+chat, rated 4.8, Mondays 09:00–12:00 London, 2 h notice;
/// * B, Bruno Costa: Cardiology, GBP 40, en, audio, rated 3.9, every day 00:00–24:00 UTC, 3 h notice;
/// * C, Chen Wei: Dermatology, EUR 50, en+fr, video, no rating, no windows.
struct World {
    admin: reqwest::Client,
    a: Listed,
    b: Listed,
    c: Listed,
}

impl World {
    async fn build(app: &TestApp) -> World {
        let admin = admin_with_mfa(app, "olga@example.com").await;
        let monday = vec![weekly(1, "09:00", "12:00", "Europe/London")];
        let a = listed_doctor(app, &admin, "amara@example.com", ("Amara", "Smith"), &Profile::good("A-1001"), &monday)
            .await;
        let mut b_profile = Profile::good("B-1002");
        b_profile.specialization = "Cardiology".into();
        b_profile.consultation_fee = "40".into();
        b_profile.languages = vec!["en".into()];
        b_profile.consultation_types = vec!["audio".into()];
        b_profile.min_notice_hours = "3".into();
        let b =
            listed_doctor(app, &admin, "bruno@example.com", ("Bruno", "Costa"), &b_profile, &around_the_clock()).await;
        let mut c_profile = Profile::good("C-1003");
        c_profile.consultation_fee = "50".into();
        c_profile.currency = "EUR".into();
        c_profile.languages = vec!["fr".into(), "en".into()];
        c_profile.consultation_types = vec!["video".into()];
        let c = listed_doctor(app, &admin, "chen@example.com", ("Chen", "Wei"), &c_profile, &[]).await;
        for (email, rating) in [("amara@example.com", "4.8"), ("bruno@example.com", "3.9")] {
            sqlx::query("UPDATE doctors SET rating = $2::numeric FROM users u WHERE u.id = user_id AND u.email = $1")
                .bind(email)
                .bind(rating)
                .execute(&app.pool)
                .await
                .unwrap();
        }
        World { admin, a, b, c }
    }
}

/// The search's doctors, by id, in order (asserting a 200), once the
/// availability job has caught up (as it has seconds after a change).
async fn search(app: &TestApp, client: &reqwest::Client, query: &str) -> (Vec<Uuid>, Value) {
    telehealth::server::services::doctors::refresh_next_free(&app.pool).await.expect("next free times worked out");
    let (status, page) = get_answer(app, client, &format!("/api/search_doctors?{query}")).await;
    assert_eq!(status, 200, "{query}: {page}");
    let ids = page["doctors"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().parse().unwrap()).collect();
    (ids, page)
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

#[tokio::test]
async fn search_lists_only_approved_available_email_confirmed_doctors_with_a_valid_licence() {
    let app = spawn_app().await;
    let w = World::build(&app).await;
    let monday = vec![weekly(1, "09:00", "12:00", "Europe/London")];
    // Like Amara in every way but one each.
    let pending = doctor(&app, "paula@example.com", "Paula", "Smith", "Europe/London").await;
    assert_eq!(save_profile(&app, &pending, &Profile::good("P-2001")).await.0, 200);
    verify_email(&app, "paula@example.com").await;
    window_added(&app, &pending, &monday[0]).await;
    let paused =
        listed_doctor(&app, &w.admin, "quinn@example.com", ("Quinn", "Smith"), &Profile::good("Q-2002"), &monday).await;
    let pause = form(&[("available", "false")]);
    assert_eq!(post_answer(&app, &paused.client, "/api/set_doctor_available", &pause).await.0, 200);
    assert_eq!(availability(&app, &paused.client).await["is_available"], false);
    let unconfirmed =
        listed_doctor(&app, &w.admin, "rosa@example.com", ("Rosa", "Smith"), &Profile::good("R-2003"), &monday).await;
    sqlx::query("UPDATE users SET is_email_verified = false WHERE email = 'rosa@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    let expired =
        listed_doctor(&app, &w.admin, "sam@example.com", ("Sam", "Smith"), &Profile::good("S-2004"), &monday).await;
    sqlx::query("UPDATE doctors SET license_expires_on = (now() AT TIME ZONE 'UTC')::date - 1 WHERE id = $1")
        .bind(expired.id)
        .execute(&app.pool)
        .await
        .unwrap();

    let anonymous = browser(None);
    let (ids, page) = search(&app, &anonymous, "").await;
    assert_eq!(sorted(ids), sorted(vec![w.a.id, w.b.id, w.c.id]), "{page}");
    assert_eq!(page["total"], 3);
    let (ids, _) = search(&app, &anonymous, "name=Smith").await;
    assert_eq!(ids, [w.a.id], "the other Smiths are not listed");
    for hidden in [paused.id, unconfirmed.id, expired.id, doctor_id(&app, "paula@example.com").await] {
        assert_eq!(get_answer(&app, &anonymous, &format!("/api/doctor_details?id={hidden}")).await.0, 404);
    }

    // Resuming bookings lists Quinn again.
    let resume = form(&[("available", "true")]);
    assert_eq!(post_answer(&app, &paused.client, "/api/set_doctor_available", &resume).await.0, 200);
    let (ids, _) = search(&app, &anonymous, "name=Smith").await;
    assert_eq!(sorted(ids), sorted(vec![w.a.id, paused.id]));
    assert_eq!(audit_count(&app, "doctor.bookings_paused").await, 1);
    assert_eq!(audit_count(&app, "doctor.bookings_resumed").await, 1);
}

#[tokio::test]
async fn search_filters_by_specialization_language_consultation_type_fee_and_rating() {
    let app = spawn_app().await;
    let w = World::build(&app).await;
    let (a, b, c) = (w.a.id, w.b.id, w.c.id);
    let anonymous = browser(None);
    for (query, expected) in [
        ("specialization=Dermatology", vec![a, c]),
        ("specialization=Cardiology", vec![b]),
        ("specialization=Urology", vec![]),
        ("language=pt", vec![a]),
        ("language=fr", vec![c]),
        ("language=en", vec![a, b, c]),
        ("consultation_type=audio", vec![b]),
        ("consultation_type=chat", vec![a]),
        ("consultation_type=video", vec![a, c]),
        ("currency=GBP", vec![a, b]),
        ("currency=gbp&fee_min=50&fee_max=70", vec![a]),
        ("currency=GBP&fee_max=40", vec![b]),
        ("currency=EUR&fee_min=10", vec![c]),
        ("min_rating=4.5", vec![a]),
        ("min_rating=3.5", vec![a, b]),
        ("specialization=Dermatology&language=en&consultation_type=video&currency=GBP", vec![a]),
    ] {
        let (ids, page) = search(&app, &anonymous, query).await;
        assert_eq!(sorted(ids), sorted(expected), "{query}: {page}");
    }
    for (query, field) in [
        ("fee_min=50", "currency"),
        ("fee_min=10&fee_max=70", "currency"),
        ("currency=GBP&fee_min=cheap", "fee_min"),
        ("min_rating=6", "min_rating"),
        ("specialization=Wizardry", "specialization"),
        ("consultation_type=telepathy", "consultation_type"),
    ] {
        let (status, body) = get_answer(&app, &anonymous, &format!("/api/search_doctors?{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        field_messages(&body, field);
    }
}

#[tokio::test]
async fn search_by_name_tolerates_a_typo() {
    let app = spawn_app().await;
    let w = World::build(&app).await;
    let anonymous = browser(None);
    assert_eq!(search(&app, &anonymous, "name=Smtih").await.0, [w.a.id]);
    assert_eq!(search(&app, &anonymous, "name=smith").await.0, [w.a.id]);
    assert_eq!(search(&app, &anonymous, "name=Costa").await.0, [w.b.id]);
    assert_eq!(search(&app, &anonymous, "name=Zebedee").await.0, Vec::<Uuid>::new());
}

#[tokio::test]
async fn search_by_availability_keeps_doctors_with_times_that_week_or_on_that_date() {
    let app = spawn_app().await;
    let w = World::build(&app).await;
    let anonymous = browser(None);
    let (ids, _) = search(&app, &anonymous, "available=week").await;
    assert_eq!(sorted(ids), sorted(vec![w.a.id, w.b.id]), "Chen has no windows");
    let (ids, page) = search(&app, &anonymous, "").await;
    assert_eq!(sorted(ids), sorted(vec![w.a.id, w.b.id, w.c.id]), "without the filter he is listed");
    let chen = page["doctors"].as_array().unwrap().iter().find(|d| d["id"] == w.c.id.to_string()).unwrap();
    assert_eq!(chen["next_slots"], serde_json::json!([]));

    let monday = next(Weekday::Mon, LONDON, 2);
    let tuesday = next(Weekday::Tue, LONDON, 2);
    let (ids, _) = search(&app, &anonymous, &format!("available=date&date={}&tz=Europe/London", ymd(monday))).await;
    assert_eq!(sorted(ids), sorted(vec![w.a.id, w.b.id]));
    let (ids, page) = search(&app, &anonymous, &format!("available=date&date={}&tz=Europe/London", ymd(tuesday))).await;
    assert_eq!(ids, [w.b.id], "only Bruno works on Tuesdays");
    for slot in page["doctors"][0]["next_slots"].as_array().unwrap() {
        let local = parse_instant(slot["starts_at"].as_str().unwrap()).with_timezone(&LONDON);
        assert_eq!(local.date_naive(), tuesday, "{slot}");
    }

    let yesterday = ymd(today_in(LONDON) - Duration::days(1));
    let (status, body) =
        get_answer(&app, &anonymous, &format!("/api/search_doctors?available=date&date={yesterday}&tz=Europe/London"))
            .await;
    assert_eq!(status, 422);
    field_messages(&body, "date");
    let (status, body) = get_answer(&app, &anonymous, "/api/search_doctors?available=date").await;
    assert_eq!(status, 422);
    field_messages(&body, "date");
}

#[tokio::test]
async fn search_sorts_by_fee() {
    let app = spawn_app().await;
    let w = World::build(&app).await;
    let anonymous = browser(None);
    let (ids, page) = search(&app, &anonymous, "sort=fee_low").await;
    assert_eq!(ids, [w.b.id, w.c.id, w.a.id], "40, 50, 60");
    let fees: Vec<&str> = page["doctors"].as_array().unwrap().iter().map(|d| d["fee"].as_str().unwrap()).collect();
    assert_eq!(fees, ["GBP 40.00", "EUR 50.00", "GBP 60.00"]);
    assert_eq!(search(&app, &anonymous, "sort=fee_high").await.0, [w.a.id, w.c.id, w.b.id]);
    assert_eq!(search(&app, &anonymous, "sort=rating").await.0, [w.a.id, w.b.id, w.c.id], "unrated last");
}

#[tokio::test]
async fn search_results_show_at_most_three_next_times_in_the_viewers_timezone_after_the_notice() {
    let app = spawn_app().await;
    let w = World::build(&app).await;
    let anonymous = browser(None);
    let before = Utc::now();
    let (_, page) = search(&app, &anonymous, "tz=Asia/Kolkata").await;
    let after = Utc::now();
    assert_eq!(page["timezone"], "Asia/Kolkata");
    let doctors = page["doctors"].as_array().unwrap();
    assert_eq!(doctors.len(), 3);
    for d in doctors {
        let slots = d["next_slots"].as_array().unwrap();
        assert!(slots.len() <= 3, "{d}");
        for slot in slots {
            let local = parse_instant(slot["starts_at"].as_str().unwrap()).with_timezone(&KOLKATA);
            assert_eq!(slot["time"], local.format("%H:%M").to_string(), "{slot}");
            assert_eq!(slot["label"], local.format("%a %-d %b, %H:%M").to_string(), "{slot}");
        }
    }
    let card = |id: Uuid| doctors.iter().find(|d| d["id"] == id.to_string()).unwrap().clone();

    // Bruno works (almost) around the clock with 3 hours' notice: his first
    // time is the first half hour at least 3 hours away.
    let bruno: Vec<DateTime<Utc>> = card(w.b.id)["next_slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| parse_instant(s["starts_at"].as_str().unwrap()))
        .collect();
    assert_eq!(bruno.len(), 3);
    assert!(bruno[0] >= before + Duration::hours(3), "{bruno:?} before the notice");
    assert!(bruno[0] < after + Duration::hours(3) + Duration::minutes(30), "{bruno:?}");
    for pair in bruno.windows(2) {
        // Half an hour apart, across midnight too.
        assert_eq!((pair[1] - pair[0]).num_minutes(), 30, "{bruno:?}");
    }

    // Amara's are Monday mornings in London, shown in Kolkata time.
    let amara = card(w.a.id);
    let amara_slots = amara["next_slots"].as_array().unwrap();
    assert!(!amara_slots.is_empty() && amara_slots.len() <= 3, "{amara}");
    for slot in amara_slots {
        let instant = parse_instant(slot["starts_at"].as_str().unwrap());
        assert!(instant >= before + Duration::hours(2), "{slot} before the notice");
        let london = instant.with_timezone(&LONDON);
        assert_eq!(london.weekday(), Weekday::Mon);
        let hm = london.format("%H:%M").to_string();
        assert!(("09:00".."12:00").contains(&hm.as_str()), "{slot}");
        if hm == "09:00" {
            // Kolkata is UTC+05:30; London UTC+01:00 in summer (BST), UTC in winter.
            let summer = london.offset().fix().local_minus_utc() == 3600;
            let expected = if summer { "13:30" } else { "14:30" };
            assert_eq!(slot["time"], expected, "{slot}");
        }
    }
    // Her page: the 09:00 of a coming Monday, in Kolkata.
    let monday = next(Weekday::Mon, LONDON, 2);
    let nine = at(monday, "09:00", LONDON);
    let expected = nine.with_timezone(&KOLKATA).format("%H:%M").to_string();
    assert!(expected == "13:30" || expected == "14:30", "{expected}");
    let (status, details) =
        get_answer(&app, &anonymous, &format!("/api/doctor_details?id={}&tz=Asia/Kolkata", w.a.id)).await;
    assert_eq!(status, 200);
    let slot = details["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["slots"].as_array().unwrap().iter())
        .find(|s| s["starts_at"] == rfc(nine))
        .unwrap_or_else(|| panic!("no {} in {details}", rfc(nine)))
        .clone();
    assert_eq!(slot["time"], expected);

    // A signed-in viewer sees their own timezone, unless they choose another on the page.
    let ana = patient(&app, "ana@example.com", "America/New_York").await;
    let (_, page) = search(&app, &ana, "").await;
    assert_eq!(page["timezone"], "America/New_York");
    let (_, page) = search(&app, &ana, "tz=Asia/Kolkata").await;
    assert_eq!(page["timezone"], "Asia/Kolkata");
}

#[tokio::test]
async fn a_listed_doctors_page_groups_two_weeks_of_times_by_day_and_others_are_not_found() {
    let app = spawn_app().await;
    let w = World::build(&app).await;
    let anonymous = browser(None);
    let (status, page) =
        get_answer(&app, &anonymous, &format!("/api/doctor_details?id={}&tz=Europe/London", w.a.id)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["timezone"], "Europe/London");
    assert_eq!(page["doctor"]["name"], "Dr Amara Smith");
    assert_eq!(page["doctor"]["specialization"], "Dermatology");
    assert_eq!(page["doctor"]["rating"], "4.8");
    assert_eq!(page["doctor"]["languages"], serde_json::json!(["English", "Portuguese"]));
    let days = page["days"].as_array().unwrap();
    assert!(!days.is_empty(), "{page}");
    let mut labels = Vec::new();
    for day in days {
        let label = day["day"].as_str().unwrap();
        assert!(label.starts_with("Monday "), "{label}");
        for slot in day["slots"].as_array().unwrap() {
            let local = parse_instant(slot["starts_at"].as_str().unwrap()).with_timezone(&LONDON);
            assert_eq!(local.format("%A %-d %B").to_string(), label, "{slot} grouped under its own day");
        }
        labels.push(label);
    }
    let mut unique = labels.clone();
    unique.dedup();
    assert_eq!(unique, labels, "one group per day");
    let monday = next(Weekday::Mon, LONDON, 2);
    let group = days.iter().find(|d| d["day"] == monday.format("%A %-d %B").to_string()).expect("the coming Monday");
    assert_eq!(group["slots"].as_array().unwrap().len(), 6);
    let first_three: Vec<Value> = starts_of_days(&page["days"]).into_iter().take(3).map(Value::String).collect();
    let next_three: Vec<Value> =
        page["doctor"]["next_slots"].as_array().unwrap().iter().map(|s| s["starts_at"].clone()).collect();
    assert_eq!(next_three, first_three);

    // Bruno, around the clock: every day of the next two weeks.
    let (_, page) = get_answer(&app, &anonymous, &format!("/api/doctor_details?id={}&tz=UTC", w.b.id)).await;
    let days = page["days"].as_array().unwrap();
    assert!((14..=15).contains(&days.len()), "{}", days.len());

    // A pending doctor, and no doctor at all.
    let pending = doctor(&app, "paula@example.com", "Paula", "Pending", "Europe/London").await;
    assert_eq!(save_profile(&app, &pending, &Profile::good("P-2001")).await.0, 200);
    verify_email(&app, "paula@example.com").await;
    let pending_id = doctor_id(&app, "paula@example.com").await;
    assert_eq!(get_answer(&app, &anonymous, &format!("/api/doctor_details?id={pending_id}")).await.0, 404);
    assert_eq!(get_answer(&app, &anonymous, &format!("/api/doctor_details?id={}", Uuid::new_v4())).await.0, 404);
    // A rejected doctor neither.
    assert_eq!(review(&app, &w.admin, pending_id, false, "Unreadable scan").await.0, 200);
    assert_eq!(get_answer(&app, &anonymous, &format!("/api/doctor_details?id={pending_id}")).await.0, 404);
}

#[tokio::test]
async fn the_doctor_page_shows_the_latest_reviews_with_first_names_only() {
    let app = spawn_app().await;
    let admin = admin_with_mfa(&app, "olga@example.com").await;
    let amara =
        listed_doctor(&app, &admin, "amara@example.com", ("Amara", "Smith"), &Profile::good("A-1001"), &[]).await;
    let anonymous = browser(None);
    let page_path = format!("/api/doctor_details?id={}&tz=UTC", amara.id);
    let (status, page) = get_answer(&app, &anonymous, &page_path).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["reviews"], serde_json::json!([]), "{page}");
    assert_eq!(page["review_count"], 0);

    // Ana Silva had eleven consultations with Amara and reviewed each; the
    // newest review (yesterday) gave 4 stars with a comment, the others 5.
    patient(&app, "ana@example.com", "Europe/London").await;
    let ana = user_id(&app, "ana@example.com").await;
    let mut newest = None;
    for days_ago in 1..=11 {
        let consultation: Uuid = sqlx::query_scalar(
            "INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, status,
                                        consultation_type, started_at, ended_at, duration_minutes)
             VALUES ($1, $2, date_trunc('hour', now()) - make_interval(days => $3),
                     date_trunc('hour', now()) - make_interval(days => $3) + interval '30 minutes', 'completed',
                     'video', date_trunc('hour', now()) - make_interval(days => $3),
                     date_trunc('hour', now()) - make_interval(days => $3) + interval '20 minutes', 20)
             RETURNING id",
        )
        .bind(ana)
        .bind(amara.id)
        .bind(days_ago)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        let (rating, comment) = if days_ago == 1 { (4i16, Some("Kind and thorough.")) } else { (5, None) };
        let created: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO reviews (consultation_id, patient_id, doctor_id, rating, comment, created_at)
             VALUES ($1, $2, $3, $4, $5, now() - make_interval(days => $6 - 1, hours => 1)) RETURNING created_at",
        )
        .bind(consultation)
        .bind(ana)
        .bind(amara.id)
        .bind(rating)
        .bind(comment)
        .bind(days_ago)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        newest.get_or_insert(created);
    }
    sqlx::query("UPDATE doctors SET review_count = 11, rating_total = 54, rating = 4.91 WHERE id = $1")
        .bind(amara.id)
        .execute(&app.pool)
        .await
        .unwrap();

    let (status, page) = get_answer(&app, &anonymous, &page_path).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["review_count"], 11);
    let reviews = page["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 10, "the latest ten: {page}");
    let newest = newest.unwrap();
    assert_eq!(
        reviews[0],
        serde_json::json!({
            "rating": 4,
            "comment": "Kind and thorough.",
            "first_name": "Ana",
            "date": newest.format("%-d %b %Y").to_string(),
            "datetime": newest.format("%Y-%m-%d").to_string(),
        })
    );
    assert!(reviews[1..].iter().all(|r| r["rating"] == 5 && r["comment"].is_null() && r["first_name"] == "Ana"));
    let text = page.to_string();
    assert!(!text.contains("Silva"), "no last name: {text}");
    assert!(!text.contains("ana@example.com"), "no email: {text}");
    assert!(!text.contains(&ana.to_string()), "no patient id: {text}");
}
