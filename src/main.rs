//! The `telehealth` command: serve the app (the default), apply migrations,
//! create an administrator, or look after the sealed audit trail. Failures
//! print one clear line and exit non-zero.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use telehealth::server::config::Settings;
use telehealth::server::{db, startup, telemetry};

#[derive(Parser)]
#[command(name = "telehealth", version, about = "Telehealth: telemedicine server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator. The password is asked for without echo, or
    /// read from standard input when that is not a terminal.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Site")]
        first_name: String,
        #[arg(long, default_value = "Administrator")]
        last_name: String,
    },
    /// Move finished consultations older than `[archive] after_months`, with
    /// their prescriptions, to the archive (the server does this hourly) and
    /// print how many moved.
    Archive,
    /// The sealed audit trail: verify it, seal closed days, archive old months.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Fill the database with scale data by COPY (migrating it first): verified
    /// doctors, patients, consultations with payments and prescriptions over
    /// three years, and audit rows in monthly partitions. For benchmarks only.
    Scale {
        #[arg(long, default_value_t = 10_000)]
        doctors: usize,
        #[arg(long, default_value_t = 100_000)]
        patients: usize,
        #[arg(long, default_value_t = 1_000_000)]
        consultations: usize,
        #[arg(long, default_value_t = 10_000_000)]
        audit_rows: usize,
        /// Fixes who books whom, when and with what outcome (ids are new on every run).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Run even on a database holding more than the demo data.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the seal chain and the sealed rows; name the first row altered,
    /// deleted or inserted since sealing (exit 1), or print the latest seal (exit 0).
    Verify {
        /// First day (UTC, YYYY-MM-DD) whose rows are checked; the chain is always checked from the start.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last day (UTC, YYYY-MM-DD) checked.
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
    },
    /// Seal every closed day not sealed yet (the server does this hourly).
    Seal,
    /// Move the sealed monthly partitions older than `[audit] retention_months`
    /// to the `audit_archive` schema (the server does this hourly).
    Archive,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    let settings = Settings::load().map_err(|e| e.to_string())?;
    telemetry::init(settings.app.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let options = startup::leptos_options(&settings);
            let app = startup::Application::build(settings, options).await.map_err(|e| e.to_string())?;
            println!("Telehealth is listening on http://{}", app.addr());
            tracing::info!(addr = %app.addr(), "listening");
            app.run_until_stopped().await.map_err(|e| format!("server stopped: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let url = settings.database_url().map_err(|e| e.to_string())?;
            db::migrate(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin { email, first_name, last_name } => {
            let url = settings.database_url().map_err(|e| e.to_string())?;
            if settings.database.migrate_on_start {
                db::migrate(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
            }
            let pool = db::connect(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
            let password = read_password()?;
            let id =
                telehealth::server::services::admin::create_admin(&pool, &email, &password, &first_name, &last_name)
                    .await
                    .map_err(|e| describe(&e))?;
            println!("administrator {email} created ({id}); they will set up two-factor sign-in at first sign-in");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command } => audit(&settings, command).await,
        Command::Scale { doctors, patients, consultations, audit_rows, seed, force } => {
            use telehealth::server::scale;
            let url = settings.database_url().map_err(|e| e.to_string())?;
            db::migrate(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
            let options = scale::ScaleOptions { doctors, patients, consultations, audit_rows, seed, force };
            let report =
                scale::generate_at(url.expose(), &options, |line| println!("{line}")).await.map_err(|e| match e {
                    scale::ScaleError::Database(e) => format!("generating scale data failed: {}", db::one_line(&e)),
                    other => other.to_string(),
                })?;
            println!(
                "scale data generated in {:.1?} (password of every account: {})",
                report.total,
                scale::SCALE_PASSWORD
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Archive => {
            let url = settings.database_url().map_err(|e| e.to_string())?;
            if settings.database.migrate_on_start {
                db::migrate(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
            }
            let pool = db::connect(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
            let (consultations, prescriptions) =
                telehealth::server::services::archive::archive_old(&pool, &settings.archive)
                    .await
                    .map_err(|e| format!("archiving old records failed: {}", db::one_line(&e)))?;
            println!(
                "{consultations} consultations and {prescriptions} prescriptions archived (finished more than {} \
                 months ago)",
                settings.archive.after_months
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `telehealth audit …`, as the application's role (like the server).
async fn audit(settings: &Settings, command: AuditCommand) -> Result<ExitCode, String> {
    use telehealth::server::services::audit_seal;
    let url = settings.database_url().map_err(|e| e.to_string())?;
    if settings.database.migrate_on_start {
        db::migrate(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
    }
    let pool = db::connect(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
    let failed = |what: &str, e: sqlx::Error| format!("{what}: {}", db::one_line(&e));
    match command {
        AuditCommand::Verify { from, to } => {
            if let (Some(from), Some(to)) = (from, to) {
                if from > to {
                    return Err(format!("--from {from} is after --to {to}"));
                }
            }
            let report =
                audit_seal::verify(&pool, from, to).await.map_err(|e| failed("verifying the audit trail failed", e))?;
            println!("{report}");
            Ok(if report.is_intact() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        AuditCommand::Seal => {
            let sealed = audit_seal::seal_closed_periods(&pool)
                .await
                .map_err(|e| failed("sealing the audit trail failed", e))?;
            println!("{sealed} periods sealed");
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Archive => {
            let months = settings.audit.retention_months;
            let boundary = audit_seal::retention_boundary(&pool, months)
                .await
                .map_err(|e| failed("archiving audit partitions failed", e))?;
            let names = audit_seal::archive_expired(&pool, months)
                .await
                .map_err(|e| failed("archiving audit partitions failed", e))?;
            if names.is_empty() {
                println!(
                    "no partitions to archive (retention {months} months: rows before {boundary} leave the live table)"
                );
            } else {
                println!(
                    "{} partitions archived to audit_archive (before {boundary}): {}",
                    names.len(),
                    names.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The new admin's password: prompted without echo on a terminal, else one line of stdin.
fn read_password() -> Result<String, String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password for the new administrator: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Repeat the password: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords do not match".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// An error for the terminal: field messages spelled out.
fn describe(e: &telehealth::error::AppError) -> String {
    match e {
        telehealth::error::AppError::Validation(fields) => fields
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
