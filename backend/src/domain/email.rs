//! Email addresses of accounts.

use super::Invalid;

/// A syntactically valid email address, trimmed. Accounts compare addresses without regard to
/// letter case; the address is kept as the user typed it for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Longest address accepted (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses and trims an address.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("email is required"));
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(Invalid::new("email must be at most 254 characters"));
        }
        let valid = email_address::EmailAddress::parse_with_options(
            trimmed,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal()
                .with_required_tld(),
        )
        .is_ok();
        if !valid {
            return Err(Invalid::new(
                "email must be a valid address such as name@example.com",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_plain_address_is_accepted_and_trimmed() {
        assert_eq!(
            EmailAddress::parse("  Ann@Example.com ").unwrap().as_ref(),
            "Ann@Example.com"
        );
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for raw in [
            "",
            "   ",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "Ann <ann@example.com>",
            "a b@example.com",
        ] {
            assert!(
                EmailAddress::parse(raw).is_err(),
                "{raw:?} should be rejected"
            );
        }
    }

    #[test]
    fn an_overlong_address_is_rejected() {
        let raw = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            EmailAddress::parse(&raw).unwrap_err().0,
            "email must be at most 254 characters"
        );
    }

    proptest! {
        #[test]
        fn simple_addresses_always_parse(local in "[a-z][a-z0-9.]{0,20}[a-z0-9]", domain in "[a-z]{1,20}\\.[a-z]{2,6}") {
            prop_assume!(!local.contains(".."));
            let raw = format!("{local}@{domain}");
            prop_assert!(EmailAddress::parse(&raw).is_ok(), "{}", raw);
        }
    }
}
