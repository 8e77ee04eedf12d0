//! The `telehealth` command: serve the app (the default), apply migrations,
//! or seed demo data. Failures print one clear line and exit non-zero.

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let settings = Settings::load().map_err(|e| e.to_string())?;
    telemetry::init(settings.app.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let options = startup::leptos_options(&settings);
            let app = startup::Application::build(settings, options).await.map_err(|e| e.to_string())?;
            println!("Telehealth is listening on http://{}", app.addr());
            tracing::info!(addr = %app.addr(), "listening");
            app.run_until_stopped().await.map_err(|e| format!("server stopped: {e}"))
        }
        Command::Migrate => {
            let url = settings.database_url().map_err(|e| e.to_string())?;
            db::migrate(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
            println!("migrations applied");
            Ok(())
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
            Ok(())
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
