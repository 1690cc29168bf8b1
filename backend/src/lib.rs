//! TaskFlow backend: the REST API for accounts and per-user tasks.
//!
//! `main.rs` only parses the command line; everything else lives here so that the
//! integration tests run exactly what production runs. Start reading at [`startup`].

pub mod assistant;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod extract;
pub mod mcp;
pub mod metrics;
pub mod rate_limit;
pub mod repo;
pub mod routes;
pub mod startup;
pub mod state;
