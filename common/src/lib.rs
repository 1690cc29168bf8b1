//! What the TaskFlow services (backend and frontend) share, so that both behave the same way
//! in operation: one serving loop with header-read timeouts and graceful shutdown, one log
//! setup, one metrics middleware, one `probe` command and one way of reporting configuration
//! errors.

pub mod cli;
pub mod config;
pub mod metrics;
pub mod probe;
pub mod server;
pub mod telemetry;
