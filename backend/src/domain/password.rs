//! Account passwords as typed by users (before hashing).

use secrecy::SecretString;

use super::Invalid;

/// A password within the accepted length, held so that it never prints.
#[derive(Debug)]
pub struct Password(SecretString);

impl Password {
    /// Fewest characters accepted.
    pub const MIN_CHARS: usize = 8;
    /// Most characters accepted (bounds the hashing work per request).
    pub const MAX_CHARS: usize = 128;

    /// Checks the length rules. The password is not trimmed: spaces are part of it.
    pub fn parse(raw: String) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Invalid::new("password must be at least 8 characters"));
        }
        if chars > Self::MAX_CHARS {
            return Err(Invalid::new("password must be at most 128 characters"));
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// The secret itself, for the hasher.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_outside_8_to_128_characters_are_rejected() {
        assert!(Password::parse("1234567".to_owned()).is_err());
        assert!(Password::parse("12345678".to_owned()).is_ok());
        assert!(Password::parse("é".repeat(128)).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let password = Password::parse("correct horse".to_owned()).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
