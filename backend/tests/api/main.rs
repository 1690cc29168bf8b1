//! Integration tests: the real service over HTTP against a real PostgreSQL.
//! Run them with `scripts/with-postgres.sh cargo nextest run --workspace`.

mod auth;
mod chat;
mod config_docs;
mod db_errors;
mod helpers;
mod mcp;
mod migrations;
mod operations;
mod process;
mod resilience;
mod schema_compat;
mod tasks;
