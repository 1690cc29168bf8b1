//! What the services' command lines share: the runtime, and loading the configuration with
//! the same exit codes and one-line messages everywhere.

use std::future::Future;
use std::process::ExitCode;

use crate::config::{ConfigError, LogFormat};
use crate::telemetry;

/// Exit code for configuration errors.
pub const EXIT_CONFIG: u8 = 2;

/// A service's configuration, as far as starting the service is concerned.
pub trait ServiceConfig: Sized {
    /// Reads and validates the configuration from the environment.
    fn load() -> Result<Self, ConfigError>;
    /// The validated `RUST_LOG` filter.
    fn log_filter(&self) -> &str;
    /// The validated `LOG_FORMAT`.
    fn log_format(&self) -> LogFormat;
}

/// Runs `work` on a multi-threaded runtime; a runtime that cannot start is one line on stderr.
pub fn block_on(program: &str, work: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(work),
        Err(err) => {
            eprintln!("{program}: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the configuration (exit 2 and one line naming the variable when it is invalid), sets
/// up the logs and runs `command`; an error it returns is logged, printed as one line, exit 1.
pub async fn with_config<C, F>(program: &str, command: impl FnOnce(C) -> F) -> ExitCode
where
    C: ServiceConfig,
    F: Future<Output = anyhow::Result<()>>,
{
    let config = match C::load() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{program}: configuration error: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    telemetry::init(config.log_filter(), config.log_format());
    match command(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "exiting after an error");
            eprintln!("{program}: {err:#}");
            ExitCode::FAILURE
        }
    }
}
