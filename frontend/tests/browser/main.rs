//! End-to-end tests in a headless Chromium against the real web app, the real backend and
//! PostgreSQL, all on 127.0.0.1.
//!
//! Run them with `scripts/with-postgres.sh cargo nextest run -p taskflow-frontend --test browser`
//! after `npm ci --prefix frontend/tests/browser` (axe-core for the accessibility test);
//! they need `apt-get install chromium chromium-driver`.

mod accessibility;
mod chat;
mod database;
mod flows;
mod harness;
mod layout;
mod security;
