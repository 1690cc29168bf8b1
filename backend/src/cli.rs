//! The command line: `serve` (default), `migrate`, `probe <url>`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret as _;

use crate::config::Config;
use taskflow_common::server::stop_signal;
use taskflow_common::{probe, telemetry};

use crate::db;
use crate::startup::Application;

/// TaskFlow backend: REST API for accounts and tasks.
#[derive(Debug, Parser)]
#[command(name = "taskflow-backend", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations and serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// GET a URL and exit 0 if it answers 2xx (for container health checks).
    Probe {
        /// The URL, e.g. http://127.0.0.1:8000/healthz.
        url: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
}

/// Exit code for configuration errors.
const EXIT_CONFIG: u8 = 2;

/// Parses the command line and runs the chosen command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("taskflow-backend: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Probe { url, timeout } => {
                probe::run("taskflow-backend", &url, Duration::from_secs(timeout)).await
            }
            Command::Serve => with_config(serve).await,
            Command::Migrate => with_config(migrate).await,
        }
    })
}

async fn with_config<F: Future<Output = anyhow::Result<()>>>(
    command: impl FnOnce(Config) -> F,
) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("taskflow-backend: configuration error: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    telemetry::init(&config.rust_log, config.log_format());
    match command(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "exiting after an error");
            eprintln!("taskflow-backend: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let application = Application::build(config).await?;
    application.run_until_stopped(stop_signal()).await
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let applied = db::run_migrations(config.database_url.expose_secret()).await?;
    if applied.is_empty() {
        println!("database schema is up to date; no migration applied");
    } else {
        println!(
            "applied {} migration(s): {}",
            applied.len(),
            applied.join(", ")
        );
    }
    Ok(())
}
