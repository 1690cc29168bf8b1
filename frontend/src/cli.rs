//! The command line: `serve` (default) and `probe <url>`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use taskflow_common::{probe, server, telemetry};

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
            eprintln!("taskflow-frontend: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Probe { url, timeout } => {
                probe::run("taskflow-frontend", &url, Duration::from_secs(timeout)).await
            }
            Command::Serve => serve().await,
        }
    })
}

async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("taskflow-frontend: configuration error: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    telemetry::init(&config.rust_log, config.log_format());
    let result = async {
        let application = Application::build(config).await?;
        application.run_until_stopped(server::stop_signal()).await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "exiting after an error");
            eprintln!("taskflow-frontend: {err:#}");
            ExitCode::FAILURE
        }
    }
}
