//! `spawn_app()` and one helper per thing the tests do.

// Database names are generated here (test_<uuid>), never user input.
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};
use std::collections::HashMap;
use telehealth::server::config::Settings;
use telehealth::server::startup::{self, Application};
use uuid::Uuid;

pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/postgres".into())
}

/// An empty database of its own, dropped when the guard goes.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    /// The server's maintenance database, to drop this one from.
    admin_url: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        TestDatabase::create_on(&admin_database_url()).await
    }

    /// A database on another server (a test's private PostgreSQL).
    pub async fn create_on(admin_url: &str) -> TestDatabase {
        let name = format!("test_{}", Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(admin_url)
            .await
            .expect("PostgreSQL must be running for the integration tests (bash .ci/run starts it)");
        conn.execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#))).await.expect("create test database");
        let (server, _) = admin_url.rsplit_once('/').expect("the admin URL has a database name");
        let url = format!("{server}/{name}");
        TestDatabase { name, url, admin_url: admin_url.to_owned() }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin_url = self.admin_url.clone();
        // Drop needs its own runtime: the test's may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin_url).await.ok()?;
                conn.execute(AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))).await.ok()
            })
        })
        .join();
    }
}

pub struct TestApp {
    pub address: String,
    /// The database as its owner sees it (no row-level security).
    pub pool: PgPool,
    /// The application's own pool (works as `telehealth_app`).
    pub app_pool: PgPool,
    pub client: reqwest::Client,
    /// Kept for its Drop: the database goes when the test ends.
    #[allow(dead_code)]
    pub db: TestDatabase,
}

/// The environment a test app starts with: its own database, port 0, and no
/// developer's ./Leptos.toml edits.
pub fn test_env(db: &TestDatabase) -> HashMap<String, String> {
    HashMap::from([
        ("DATABASE_URL".to_string(), db.url.clone()),
        ("TELEHEALTH__SERVER__ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("TELEHEALTH_CONFIG".to_string(), "/nonexistent/Leptos.toml".to_string()),
    ])
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the real application with extra settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    spawn_app_in(TestDatabase::create().await, configure).await
}

/// Starts the real application on a database made for it.
pub async fn spawn_app_in(db: TestDatabase, configure: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    let mut env = test_env(&db);
    configure(&mut env);
    let settings = Settings::load_from(&env).expect("test settings load");
    let mut options = startup::leptos_options(&settings);
    // The process's LEPTOS_SITE_ROOT is shared by every test; a test may name its own.
    if let Some(root) = env.get("LEPTOS_SITE_ROOT") {
        options.site_root = root.as_str().into();
    }
    let app = Application::build(settings, options).await.expect("the app starts");
    let address = format!("http://{}", app.addr());
    // The tests look at the database as its owner: row-level security,
    // which the app's own pool works under, does not hide rows from them.
    let pool = PgPool::connect(&db.url).await.expect("the owner's pool");
    let app_pool = app.pool().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    TestApp { address, pool, app_pool, client, db }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{}", self.address, path)).send().await.expect("request sent")
    }

    pub async fn post_form(&self, path: &str, body: &str) -> reqwest::Response {
        self.post_form_as(&self.client, path, body).await
    }
}

/// The password of the accounts the tests make (long, uncommon: accepted).
pub const PASSWORD: &str = "violet kettle harbour sings";

/// An `application/x-www-form-urlencoded` body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&")
}

/// The profile form as the page posts it (`profile[field]=…`, every field):
/// Ana Silva in UTC, with `pairs` in place of the defaults.
pub fn profile_form(pairs: &[(&str, &str)]) -> String {
    const DEFAULTS: [(&str, &str); 12] = [
        ("first_name", "Ana"),
        ("last_name", "Silva"),
        ("phone", ""),
        ("date_of_birth", ""),
        ("gender", ""),
        ("address", ""),
        ("city", ""),
        ("state", ""),
        ("country", ""),
        ("pincode", ""),
        ("timezone", "UTC"),
        ("preferred_language", "en"),
    ];
    DEFAULTS
        .iter()
        .map(|(k, default)| {
            let value = pairs.iter().find(|(pk, _)| pk == k).map_or(*default, |(_, v)| *v);
            format!("profile%5B{k}%5D={}", urlencode(value))
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs up the patient Ana Silva with this email, password and timezone.
pub async fn sign_up_patient(app: &TestApp, email: &str, password: &str, timezone: &str) -> reqwest::Response {
    let body = form(&[
        ("email", email),
        ("password", password),
        ("first_name", "Ana"),
        ("last_name", "Silva"),
        ("timezone", timezone),
        ("role", "patient"),
    ]);
    app.post_form("/api/sign_up", &body).await
}

/// A client with its own cookie jar: one browser on one device.
pub fn browser(user_agent: Option<&str>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().cookie_store(true);
    if let Some(ua) = user_agent {
        builder = builder.user_agent(ua.to_owned());
    }
    builder.build().unwrap()
}

impl TestApp {
    /// A form POST from the given browser.
    pub async fn post_form_as(&self, client: &reqwest::Client, path: &str, body: &str) -> reqwest::Response {
        client
            .post(format!("{}{}", self.address, path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent")
    }

    /// A GET from the given browser, its body as JSON.
    pub async fn get_json_as(&self, client: &reqwest::Client, path: &str) -> serde_json::Value {
        client.get(format!("{}{}", self.address, path)).send().await.expect("request sent").json().await.expect("JSON")
    }
}

// --- fixtures written straight to the database ------------------------------

pub async fn insert_user(pool: &PgPool, role: &str) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, 'x', $3::text)")
        .bind(id)
        .bind(format!("{id}@example.com"))
        .bind(role)
        .execute(pool)
        .await
        .expect("insert user");
    sqlx::query("INSERT INTO profiles (user_id, first_name, last_name) VALUES ($1, 'Test', 'Person')")
        .bind(id)
        .execute(pool)
        .await
        .expect("insert profile");
    id
}

/// A user of this role whose email address is confirmed (as by the link).
pub async fn insert_confirmed_user(pool: &PgPool, role: &str) -> Uuid {
    let id = insert_user(pool, role).await;
    sqlx::query("UPDATE users SET is_email_verified = true WHERE id = $1").bind(id).execute(pool).await.unwrap();
    id
}

/// The consultation's status as stored.
pub async fn consultation_status(app: &TestApp, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status::text FROM consultations WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// How many rows the table holds (as its owner sees it).
pub async fn count_rows(app: &TestApp, table: &str) -> i64 {
    // Table names come from the tests, never from input.
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).fetch_one(&app.pool).await.unwrap()
}

/// A verified, available doctor; returns the doctors.id.
pub async fn insert_doctor(pool: &PgPool) -> Uuid {
    let user_id = insert_user(pool, "doctor").await;
    sqlx::query_scalar(
        "INSERT INTO doctors (user_id, license_number, specialization, consultation_fee, currency, is_verified,
                              verification_status, license_expires_on, languages)
         VALUES ($1, $2, 'Cardiology', 80.00, 'EUR', true, 'approved', current_date + 365, '{en}') RETURNING id",
    )
    .bind(user_id)
    .bind(format!("LIC-{}", Uuid::new_v4().simple()))
    .fetch_one(pool)
    .await
    .expect("insert doctor")
}

/// Makes `user_id` an approved doctor (Cardiology, GBP 60, video and audio,
/// 30-minute slots, an hour's notice, 60 days ahead); returns the doctors.id.
pub async fn approved_doctor(pool: &PgPool, user_id: Uuid) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO doctors (user_id, license_number, specialization, consultation_fee, currency, is_verified,
                              verification_status, reviewed_at, license_expires_on, languages, consultation_types,
                              slot_minutes, buffer_minutes, min_notice_minutes, booking_horizon_days)
         VALUES ($1, $2, 'Cardiology', 60.00, 'GBP', true, 'approved', now(), current_date + 365, '{en}',
                 '{video,audio}', 30, 0, 60, 60)
         RETURNING id",
    )
    .bind(user_id)
    .bind(format!("GMC-{}", Uuid::new_v4().simple()))
    .fetch_one(pool)
    .await
    .expect("insert doctor")
}

/// Inserts a consultation `[start, start + minutes)` with the given status.
pub async fn insert_consultation(
    pool: &PgPool,
    patient: Uuid,
    doctor: Uuid,
    start: &str,
    minutes: i32,
    status: &str,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, status, consultation_type)
         VALUES ($1, $2, $3::timestamptz, $3::timestamptz + make_interval(mins => $4), $5::text, 'video')
         RETURNING id",
    )
    .bind(patient)
    .bind(doctor)
    .bind(start)
    .bind(minutes)
    .bind(status)
    .fetch_one(pool)
    .await
}

/// The constraint a failed statement violated.
pub fn constraint_of(err: &sqlx::Error) -> String {
    err.as_database_error().and_then(|e| e.constraint()).unwrap_or("<none>").to_string()
}

/// A real SMTP server on loopback (aiosmtpd, from PyPI; `.ci/bootstrap`
/// installs it) that files every message into a Maildir of its own.
pub struct SmtpServer {
    pub port: u16,
    maildir: std::path::PathBuf,
    child: std::process::Child,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = std::env::temp_dir().join(format!("telehealth-mail-{}", Uuid::new_v4().simple()));
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (bash .ci/bootstrap installs it)");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        SmtpServer { port, maildir, child }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, raw (headers and body).
    pub fn messages(&self) -> Vec<String> {
        ["new", "cur"]
            .iter()
            .filter_map(|d| std::fs::read_dir(self.maildir.join(d)).ok())
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }

    /// Waits (up to 5 s) for the `n`-th message to `to` and returns it.
    pub async fn wait_for(&self, to: &str, n: usize) -> String {
        for _ in 0..200 {
            let mut found: Vec<String> = self
                .messages()
                .into_iter()
                .filter(|m| m.to_lowercase().contains(&format!("to: {}", to.to_lowercase())))
                .collect();
            if found.len() >= n {
                found.sort();
                return found.swap_remove(0);
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("no message {n} to {to} arrived; got {:?}", self.messages());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

/// The token of the first verification link in a message.
pub fn verification_token(message: &str) -> String {
    let unfolded = decode_quoted_printable(message);
    let start = unfolded.find("/verify-email?token=").expect("a verification link") + "/verify-email?token=".len();
    unfolded[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// Decodes a quoted-printable body (soft line breaks and =XX escapes), as a
/// mail client would before showing a link.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// --- shared by several test modules ------------------------------------------------

pub async fn audit_count(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE action = $1")
        .bind(action)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

pub async fn user_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(email).fetch_one(&app.pool).await.unwrap()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// An administrator made as on the command line, signed in on their own
/// browser, without two-step verification yet.
pub async fn admin_without_mfa(app: &TestApp, email: &str) -> reqwest::Client {
    telehealth::server::services::admin::create_admin(&app.pool, email, PASSWORD, "Olga", "Ops").await.unwrap();
    let client = browser(None);
    let res = app.post_form_as(&client, "/api/sign_in", &form(&[("email", email), ("password", PASSWORD)])).await;
    assert_eq!(res.status(), 200);
    client
}

/// Starts two-step enrolment; the secret, read from the manual key as a person would type it.
pub async fn begin_mfa(app: &TestApp, client: &reqwest::Client) -> (Vec<u8>, serde_json::Value) {
    let res = app.post_form_as(client, "/api/mfa_begin", "").await;
    assert_eq!(res.status(), 200);
    let setup: serde_json::Value = res.json().await.unwrap();
    let key = setup["manual_key"].as_str().unwrap().replace(' ', "");
    let secret = totp_rs::Secret::try_from_base32(&key).unwrap().as_bytes().to_vec();
    (secret, setup)
}

/// Enrols fully; returns the secret and the recovery codes.
pub async fn enrol_mfa(app: &TestApp, client: &reqwest::Client) -> (Vec<u8>, Vec<String>) {
    let (secret, _) = begin_mfa(app, client).await;
    let code = telehealth::server::auth::mfa::code_at(&secret, unix_now()).unwrap();
    let res = app.post_form_as(client, "/api/mfa_confirm", &form(&[("code", &code)])).await;
    assert_eq!(res.status(), 200);
    (secret, res.json().await.unwrap())
}

/// An administrator, signed in, with two-step verification on.
pub async fn admin_with_mfa(app: &TestApp, email: &str) -> reqwest::Client {
    let client = admin_without_mfa(app, email).await;
    enrol_mfa(app, &client).await;
    client
}

/// A GET: the status and the JSON body (or the text, when it is not JSON).
pub async fn get_answer(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, serde_json::Value) {
    let res = client.get(format!("{}{}", app.address, path)).send().await.expect("request sent");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// A form POST: the status and the JSON body (or the text, when it is not JSON).
pub async fn post_answer(app: &TestApp, client: &reqwest::Client, path: &str, body: &str) -> (u16, serde_json::Value) {
    let res = app.post_form_as(client, path, body).await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// The messages of a 422 for `field` (panics, showing the body, when there are none).
pub fn field_messages(body: &serde_json::Value, field: &str) -> Vec<String> {
    assert_eq!(body["kind"], "validation", "{body}");
    let list = body["detail"][field].as_array().unwrap_or_else(|| panic!("no message for {field}: {body}"));
    assert!(!list.is_empty(), "{field}: {body}");
    list.iter().map(|m| m.as_str().unwrap().to_owned()).collect()
}

// --- more than one instance, and the app's state for calling jobs directly ---------

/// Another instance of the application on `app`'s database (as behind a
/// load balancer), with its own settings; returns its address. It stops with
/// the test, and leaves the database to `app`.
pub async fn spawn_second_instance(app: &TestApp, configure: impl FnOnce(&mut HashMap<String, String>)) -> String {
    let mut env = test_env(&app.db);
    configure(&mut env);
    let settings = Settings::load_from(&env).expect("test settings load");
    let options = startup::leptos_options(&settings);
    let instance = Application::build(settings, options).await.expect("the second instance starts");
    let address = format!("http://{}", instance.addr());
    tokio::spawn(instance.run_until(std::future::pending()));
    address
}

/// The state the application builds, over `app`'s database (with its own
/// hub and secrets): for calling services and jobs directly.
pub fn app_state(app: &TestApp) -> telehealth::server::state::AppState {
    use std::sync::Arc;
    let settings = Settings::load_from(&test_env(&app.db)).expect("test settings load");
    let access_tokens = telehealth::server::auth::tokens::AccessTokens::new(
        settings.security.jwt_secret.as_ref().expect("a JWT secret"),
        startup::ACCESS_TOKEN_TTL,
    )
    .expect("access tokens");
    let cipher =
        telehealth::server::crypto::FieldCipher::new(settings.security.data_encryption_key.as_ref().expect("a key"));
    let mailer = telehealth::server::integrations::mail::Mailer::from_settings(&settings.mail, app.pool.clone())
        .expect("mailer");
    let payments = telehealth::server::integrations::payments::Gateway::from_settings(&settings.payments);
    telehealth::server::state::AppState {
        leptos_options: startup::leptos_options(&settings),
        pool: app.pool.clone(),
        metrics: Arc::new(telehealth::server::http::metrics::Metrics::new()),
        access_tokens: Arc::new(access_tokens),
        cipher: Arc::new(cipher),
        mailer,
        payments,
        rooms: telehealth::server::room_hub::RoomHub::default(),
        settings: Arc::new(settings),
    }
}

// --- people and visits made through the real flows (data rights, and any test) ------

/// Signs up with this role and name (email then confirmed, as by the link)
/// and signs in on a browser of its own; returns the browser and the user id.
pub async fn signed_up_and_in(
    app: &TestApp,
    email: &str,
    (first, last): (&str, &str),
    role: &str,
) -> (reqwest::Client, Uuid) {
    let body = form(&[
        ("email", email),
        ("password", PASSWORD),
        ("first_name", first),
        ("last_name", last),
        ("timezone", "Europe/Lisbon"),
        ("role", role),
    ]);
    let res = app.post_form("/api/sign_up", &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    sqlx::query("UPDATE users SET is_email_verified = true WHERE lower(email) = lower($1)")
        .bind(email)
        .execute(&app.pool)
        .await
        .unwrap();
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let res = app.post_form_as(&client, "/api/sign_in", &form(&[("email", email), ("password", PASSWORD)])).await;
    assert_eq!(res.status(), 200, "{email}: {}", res.text().await.unwrap());
    (client, user_id(app, email).await)
}

/// An approved doctor (Cardiology, GBP 60, video and audio), open every day
/// around the clock (UTC) with 30-minute slots and an hour's notice, signed
/// in: the browser, the user id and the doctors.id.
pub async fn bookable_doctor(app: &TestApp, email: &str, name: (&str, &str)) -> (reqwest::Client, Uuid, Uuid) {
    bookable_doctor_until(app, email, name, "24:00").await
}

/// The same, open from midnight until `until` (UTC) every day.
pub async fn bookable_doctor_until(
    app: &TestApp,
    email: &str,
    name: (&str, &str),
    until: &str,
) -> (reqwest::Client, Uuid, Uuid) {
    let (client, user_id) = signed_up_and_in(app, email, name, "doctor").await;
    let doctor_id = approved_doctor(&app.pool, user_id).await;
    sqlx::query(
        "INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone)
         SELECT $1, d, '00:00'::time, $2::time, 'UTC' FROM generate_series(0, 6) AS d",
    )
    .bind(doctor_id)
    .bind(until)
    .execute(&app.pool)
    .await
    .expect("insert windows");
    (client, user_id, doctor_id)
}

/// The first half-hour slot at least `hours` from now.
pub fn half_hour_slot_in(hours: i64) -> chrono::DateTime<chrono::Utc> {
    let t = chrono::Utc::now() + chrono::Duration::hours(hours);
    chrono::DateTime::from_timestamp((t.timestamp().div_euclid(1800) + 1) * 1800, 0).unwrap()
}

/// Books a video consultation at `start` with these symptoms and pays it
/// with the sandbox's success card; returns its id.
pub async fn book_and_pay(
    app: &TestApp,
    patient: &reqwest::Client,
    doctor_id: Uuid,
    start: chrono::DateTime<chrono::Utc>,
    symptoms: &str,
) -> Uuid {
    use chrono::Datelike;
    let body = form(&[
        ("doctor_id", &doctor_id.to_string()),
        ("starts_at", &start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        ("consultation_type", "video"),
        ("symptoms", symptoms),
        ("booking_key", &Uuid::new_v4().to_string()),
    ]);
    let (status, booked) = post_answer(app, patient, "/api/book_consultation", &body).await;
    assert_eq!(status, 200, "{booked}");
    let id: Uuid = booked.as_str().expect("the consultation's id").parse().unwrap();
    let expiry = format!("12/{:02}", (chrono::Utc::now().year() + 3) % 100);
    let body = form(&[
        ("consultation_id", &id.to_string()),
        ("card_number", "4242 4242 4242 4242"),
        ("expiry", &expiry),
        ("cvc", "123"),
    ]);
    let (status, paid) = post_answer(app, patient, "/api/pay_consultation", &body).await;
    assert_eq!(status, 200, "{paid}");
    id
}

/// Fixture: the consultation now starts `from_now` minutes from now (negative:
/// in the past) and lasts 30 minutes.
pub async fn move_consultation(app: &TestApp, id: Uuid, from_now: i32) {
    sqlx::query(
        "UPDATE consultations SET scheduled_at = now() + make_interval(mins => $2),
                                  scheduled_end_at = now() + make_interval(mins => $2 + 30)
         WHERE id = $1",
    )
    .bind(id)
    .bind(from_now)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// A JSON POST (server functions with the JSON codec): the status and the
/// JSON body (or the text, when it is not JSON).
pub async fn post_json_answer(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = client.post(format!("{}{}", app.address, path)).json(body).send().await.expect("request sent");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}
