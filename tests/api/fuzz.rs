//! Malformed and random input to every server function: a 4xx with a short
//! answer, never a 5xx, and the server still healthy. (The 100,000-request
//! run against a release server is `benches/load/fuzz.py`; this is its
//! quick form, with the cases it found kept as stories.)

use crate::helpers::*;

/// Every server function's endpoint and GET-ness, read from the source.
fn server_functions() -> Vec<(String, bool)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for attribute in text.split("#[server(").skip(1) {
            let attribute = attribute.split(")]").next().unwrap_or_default();
            if let Some(name) = attribute.split("endpoint = \"").nth(1).and_then(|r| r.split('"').next()) {
                found.push((name.to_owned(), attribute.contains("GetUrl")));
            }
        }
    }
    found.sort();
    found
}

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &[
    "id",
    "consultation_id",
    "doctor_id",
    "starts_at",
    "email",
    "password",
    "profile",
    "window",
    "time_off",
    "query",
    "amount",
    "rating",
    "medications",
    "notes",
    "first_name",
    "tz",
    "page",
    "available",
    "approve",
    "profile[first_name]",
    "window[day_of_week]",
    "x[y][z]",
    "",
];
const VALUES: &[&str] = &[
    "",
    "%00",
    "a%00b",
    "-1",
    "0",
    "18446744073709551616",
    "-9223372036854775809",
    "1e309",
    "NaN",
    "true",
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "2026-02-30",
    "9999-12-31T23:59:59Z",
    "%F0%9F%92%8A",
    "%E2%80%AE",
    "%FF%FE",
    "<script>",
    "Robert'%29%3B--",
    "[]",
    "{}",
    "Mars%2FOlympus",
];

#[tokio::test]
async fn random_input_to_every_server_function_never_gets_a_server_error() {
    let app = spawn_app().await;
    let (patient, _) = signed_up_and_in(&app, "fuzz.patient@example.com", ("Fuzz", "Patient"), "patient").await;
    let anonymous = browser(None);
    let functions = server_functions();
    assert!(functions.len() > 50, "the scan found the server functions: {functions:?}");
    let mut noise = Noise(0x5eed_2026);
    let mut failures = Vec::new();
    for round in 0..1_200 {
        let (endpoint, is_get) = &functions[(noise.next() % functions.len() as u64) as usize];
        if endpoint == "sign_out" || endpoint == "sign_out_everywhere" {
            continue;
        }
        let fields = (noise.next() % 5) as usize;
        let body: Vec<String> = (0..fields).map(|_| format!("{}={}", noise.pick(KEYS), noise.pick(VALUES))).collect();
        let mut body = body.join("&");
        if !is_get && noise.next().is_multiple_of(10) {
            body.push_str(&format!("&{}={}", noise.pick(KEYS), "a".repeat(70_000)));
        }
        let client = if round % 2 == 0 { &patient } else { &anonymous };
        let accept = if noise.next().is_multiple_of(2) { "application/json" } else { "text/html" };
        let url = format!("{}/api/{endpoint}", app.address);
        // 503 is the server saying it is overloaded (a pooled connection not
        // free within 3 s, as on a busy CI machine): asked once more, the
        // same request must get a real answer.
        let mut attempt = 0;
        let (status, answer) = loop {
            attempt += 1;
            let res = if *is_get {
                client.get(format!("{url}?{body}")).header("accept", accept).send().await
            } else {
                client
                    .post(&url)
                    .header("accept", accept)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone())
                    .send()
                    .await
            }
            .expect("the server answers");
            let status = res.status().as_u16();
            let answer = res.bytes().await.unwrap();
            if status != 503 || attempt == 2 {
                break (status, answer);
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        };
        // A refusal is short: it never echoes a huge input back.
        if status >= 500 || (status >= 400 && answer.len() > 10_000) {
            let shown: String = body.chars().take(120).collect();
            failures.push(format!("{status} ({} bytes) {endpoint} {shown}", answer.len()));
        }
    }
    assert!(failures.is_empty(), "{} answers were server errors or too long:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn a_nul_character_in_text_is_bad_input_and_changes_nothing() {
    // The address has no pattern of its own: the database's refusal of the
    // NUL character is what answers, as a 400 naming it.
    let app = spawn_app().await;
    let (patient, id) = signed_up_and_in(&app, "nul.patient@example.com", ("Nul", "Patient"), "patient").await;
    let form = profile_form(&[("address", "1\0Main Street")]);
    let (status, body) = post_answer(&app, &patient, "/api/update_profile", &form).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.to_string().contains("NUL"), "the answer says what was wrong: {body}");
    let first: String = sqlx::query_scalar("SELECT first_name FROM profiles WHERE user_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(first, "Nul", "nothing was stored");
    let address: Option<String> = sqlx::query_scalar("SELECT address FROM profiles WHERE user_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(address.is_none_or(|a| !a.contains("Main")), "nothing was stored");
}

#[tokio::test]
async fn a_huge_value_is_refused_with_a_short_answer() {
    let app = spawn_app().await;
    let (doctor, _) = signed_up_and_in(&app, "huge.doctor@example.com", ("Huge", "Doctor"), "doctor").await;
    let body = format!("time_off={}", "a".repeat(70_000));
    let (status, answer) = post_answer(&app, &doctor, "/api/add_time_off", &body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().len() < 1_000, "the answer does not echo the input: {} bytes", answer.to_string().len());
}
