//! Faults: PostgreSQL stopped under the running app, then started again.
//!
//! Each test here runs its own PostgreSQL server (initdb in a temporary
//! directory, on a free port), so stopping it leaves every other test's
//! database alone.

use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A PostgreSQL server of the test's own, removed when the test ends.
struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    async fn start() -> PrivatePostgres {
        let bin = postgres_bin();
        let dir = std::env::temp_dir().join(format!("telehealth-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = PrivatePostgres { bin, dir, port };
        if running_as_root() {
            // initdb refuses root: the cluster belongs to the postgres user.
            run(tokio::process::Command::new("chown").arg("postgres:postgres").arg(&pg.dir)).await;
        }
        let initdb = pg.bin.join("initdb");
        run(pg
            .as_owner(&initdb)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-D"])
            .arg(&pg.dir))
        .await;
        pg.resume().await;
        pg
    }

    /// The command, run as the data directory's owner.
    fn as_owner(&self, program: &Path) -> tokio::process::Command {
        let mut command = if running_as_root() {
            let mut c = tokio::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            tokio::process::Command::new(program)
        };
        command.current_dir("/");
        command
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again), and waits until it accepts connections.
    async fn resume(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        run(self
            .as_owner(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "30", "-o", &options, "start"]))
        .await;
    }

    /// Stops the server the way an operator's restart does: sessions are
    /// ended, transactions in flight rolled back.
    async fn stop(&self) {
        run(self.as_owner(&self.bin.join("pg_ctl")).arg("-D").arg(&self.dir).args(["-w", "-m", "fast", "stop"])).await;
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut command = if running_as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            std::process::Command::new(&pg_ctl)
        };
        let _ = command.current_dir("/").arg("-D").arg(&self.dir).args(["-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest installed PostgreSQL server's programs (Debian's layout).
fn postgres_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server programs under /usr/lib/postgresql (.ci/bootstrap installs them)")
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop().expect("an installed PostgreSQL server").1
}

fn running_as_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

async fn run(command: &mut tokio::process::Command) {
    let out = command.output().await.expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How long the app's pool would wait for a connection. Set long on purpose:
/// an answer well inside it shows the app did not wait for it.
const ACQUIRE_TIMEOUT_SECS: u64 = 20;
/// "At once", generously: far less than the pool's own timeout above.
const FAST: Duration = Duration::from_secs(5);

async fn status_and_time(request: reqwest::RequestBuilder) -> (u16, Duration) {
    let started = Instant::now();
    let status = request.send().await.expect("an answer, not a dropped connection").status().as_u16();
    (status, started.elapsed())
}

/// (consultations with no payment, payments with no consultation).
async fn orphans(app: &TestApp) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM consultations c
                  WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.consultation_id = c.id)),
                (SELECT count(*) FROM payments p
                  WHERE NOT EXISTS (SELECT 1 FROM consultations c WHERE c.id = p.consultation_id))",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn while_postgresql_is_stopped_requests_fail_fast_with_503_and_the_app_recovers_by_itself() {
    let pg = PrivatePostgres::start().await;
    let db = TestDatabase::create_on(&pg.admin_url()).await;
    let app = spawn_app_in(db, |env| {
        env.insert("TELEHEALTH__DATABASE__ACQUIRE_TIMEOUT_SECS".into(), ACQUIRE_TIMEOUT_SECS.to_string());
    })
    .await;
    let (patient, _) = signed_up_and_in(&app, "ana@example.com", ("Ana", "Silva"), "patient").await;
    let (_, _, doctor_id) = bookable_doctor(&app, "rui@example.com", ("Rui", "Costa")).await;
    book_and_pay(&app, &patient, doctor_id, half_hour_slot_in(24), "A cough for two weeks.").await;
    let booking = |hours: i64| {
        form(&[
            ("doctor_id", &doctor_id.to_string()),
            ("starts_at", &half_hour_slot_in(hours).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            ("consultation_type", "video"),
            ("symptoms", "A sore throat."),
            ("booking_key", &Uuid::new_v4().to_string()),
        ])
    };
    let url = |path: &str| format!("{}{path}", app.address);

    pg.stop().await;

    // Every kind of request that needs the database answers 503 at once,
    // the first one (which finds the server gone) included.
    let requests = [
        ("a booking", patient.post(url("/api/book_consultation")).form_body(&booking(48))),
        ("the patient's visits", patient.get(url("/api/my_consultations")).accept_json()),
        ("the doctor search page", patient.get(url("/doctors"))),
        ("the patient's visits page", patient.get(url("/consultations"))),
        ("sign-in", reqwest::Client::new().post(url("/api/sign_in")).form_body("email=x%40example.com&password=y")),
        ("a booking again", patient.post(url("/api/book_consultation")).form_body(&booking(50))),
    ];
    for (what, request) in requests {
        let (status, took) = status_and_time(request).await;
        assert_eq!(status, 503, "{what} while the database is down");
        assert!(took < FAST, "{what} took {took:?}: it waited for the database instead of failing fast");
    }
    // The process itself is alive; it is not ready.
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 503);

    pg.resume().await;

    // Back by itself, with no restart: within seconds the app is ready and
    // a booking goes through.
    let back = Instant::now();
    let booked = loop {
        let (status, _) = status_and_time(patient.post(url("/api/book_consultation")).form_body(&booking(52))).await;
        if status == 200 {
            break true;
        }
        assert_eq!(status, 503, "only 503 while the app finds the database again");
        if back.elapsed() > Duration::from_secs(30) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(booked, "no booking went through within 30 s of PostgreSQL being back");
    assert_eq!(app.get("/readyz").await.status(), 200);

    // The bookings refused during the outage left nothing behind; every
    // consultation has its payment and every payment its consultation.
    let consultations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM consultations").fetch_one(&app.pool).await.unwrap();
    assert_eq!(consultations, 2, "the booking before the outage and the one after");
    assert_eq!(orphans(&app).await, (0, 0));
}

trait RequestExt {
    fn form_body(self, body: &str) -> Self;
    fn accept_json(self) -> Self;
}

impl RequestExt for reqwest::RequestBuilder {
    fn form_body(self, body: &str) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.to_owned())
    }
    fn accept_json(self) -> Self {
        self.header("accept", "application/json")
    }
}
