//! The command line: `serve` (default), `migrate`, `probe <url>`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret as _;
use taskflow_common::config::{ConfigError, LogFormat};
use taskflow_common::server::stop_signal;
use taskflow_common::{cli, probe};

use crate::config::Config;
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

/// Parses the command line and runs the chosen command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    cli::block_on(PROGRAM, async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Probe { url, timeout } => {
                probe::run(PROGRAM, &url, Duration::from_secs(timeout)).await
            }
            Command::Serve => cli::with_config(PROGRAM, serve).await,
            Command::Migrate => cli::with_config(PROGRAM, migrate).await,
        }
    })
}

const PROGRAM: &str = "taskflow-backend";

impl cli::ServiceConfig for Config {
    fn load() -> Result<Self, ConfigError> {
        Self::from_env()
    }

    fn log_filter(&self) -> &str {
        &self.rust_log
    }

    fn log_format(&self) -> LogFormat {
        Config::log_format(self)
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
