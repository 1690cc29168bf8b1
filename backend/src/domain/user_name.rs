//! Display names of accounts.

use super::{Invalid, is_disallowed_in_line};

/// A trimmed display name of 1 to 100 characters without control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    /// Most characters accepted.
    pub const MAX_CHARS: usize = 100;

    /// Trims and checks a name.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("name is required"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new("name must be at most 100 characters"));
        }
        if trimmed.chars().any(is_disallowed_in_line) {
            return Err(Invalid::new("name must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }
}

impl AsRef<str> for UserName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(UserName::parse("  Ann Lee ").unwrap().as_ref(), "Ann Lee");
        assert!(UserName::parse(" \t ").is_err());
        assert!(UserName::parse(&"n".repeat(100)).is_ok());
        assert!(UserName::parse(&"n".repeat(101)).is_err());
        assert!(UserName::parse("Ann\u{0}").is_err());
    }
}
