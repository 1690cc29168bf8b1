//! Validated domain types. Input is parsed into these once, at the HTTP edge; code below the
//! handlers can rely on every value being valid.

mod chat;
mod email;
mod password;
mod task;
mod user_name;

use std::collections::BTreeMap;

pub use chat::{ChatMessage, ConversationTitle};
pub use email::EmailAddress;
pub use password::Password;
pub use task::{Priority, TaskDescription, TaskTags, TaskTitle, parse_date};
pub use user_name::UserName;

/// Why one input value was refused, in words meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Field-by-field validation failures of one request, keyed by the JSON field name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// Records `field`'s error, keeping the first one reported for a field.
    pub fn add(&mut self, field: &str, error: Invalid) {
        self.0.entry(field.to_owned()).or_insert(error.0);
    }

    /// Parses a value and records the error under `field` when it is invalid.
    pub fn check<T>(&mut self, field: &str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error);
                None
            }
        }
    }

    /// True when no field was refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded errors, keyed by field name.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// True for characters that never belong in a one-line label such as a name or a title.
pub(crate) fn is_disallowed_in_line(c: char) -> bool {
    c.is_control()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_error_reported_for_a_field_is_kept() {
        let mut errors = FieldErrors::default();
        errors.add("title", Invalid::new("first"));
        errors.add("title", Invalid::new("second"));
        assert_eq!(errors.as_map()["title"], "first");
    }

    #[test]
    fn check_passes_valid_values_through() {
        let mut errors = FieldErrors::default();
        assert_eq!(errors.check("n", Ok::<_, Invalid>(3)), Some(3));
        assert_eq!(errors.check::<u8>("m", Err(Invalid::new("bad"))), None);
        assert_eq!(errors.as_map().len(), 1);
    }
}
