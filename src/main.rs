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
            let pool = db::connect(url.expose(), &settings.database).await.map_err(|e| e.to_string())?;
            db::migrate(&pool).await.map_err(|e| e.to_string())?;
            println!("migrations applied");
            Ok(())
        }
    }
}
