//! The command line: `serve` (default) and `probe <url>`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use taskflow_common::config::{ConfigError, LogFormat};
use taskflow_common::{cli, probe, server};

use crate::config::Config;
use crate::startup::Application;

/// TaskFlow web app: server-rendered pages in front of the backend API.
#[derive(Debug, Parser)]
#[command(name = "taskflow-frontend", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app (the default).
    Serve,
    /// GET a URL and exit 0 if it answers 2xx (for container health checks).
    Probe {
        /// The URL, e.g. http://127.0.0.1:3000/healthz.
        url: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
}

const PROGRAM: &str = "taskflow-frontend";

/// Parses the command line and runs the chosen command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    cli::block_on(PROGRAM, async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Probe { url, timeout } => {
                probe::run(PROGRAM, &url, Duration::from_secs(timeout)).await
            }
            Command::Serve => cli::with_config(PROGRAM, serve).await,
        }
    })
}

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
    application.run_until_stopped(server::stop_signal()).await
}
