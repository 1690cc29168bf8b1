//! Web app tests.
