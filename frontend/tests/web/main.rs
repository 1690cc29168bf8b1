//! Web app tests: the real frontend on loopback against a fake backend (wiremock), driven
//! over HTTP with a hand-managed cookie jar.

mod auth;
mod chat;
mod config_docs;
mod errors;
mod helpers;
mod operations;
mod process;
mod security;
mod tasks;
