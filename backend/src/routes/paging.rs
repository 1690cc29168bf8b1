//! Page-number pagination shared by every list endpoint: `page` from 1 and `limit` up to
//! [`MAX_PAGE_SIZE`], with one message per invalid parameter.

use crate::domain::{FieldErrors, Invalid};

/// Most items per page.
pub const MAX_PAGE_SIZE: i64 = 100;

/// Highest page number accepted.
const MAX_PAGE: i64 = 1_000_000;

fn parse_positive(field: &str, raw: &str, max: i64) -> Result<i64, Invalid> {
    match raw.trim().parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(Invalid::new(format!(
            "{field} must be a whole number from 1 to {max}"
        ))),
    }
}

/// `(page, limit)` from the raw query values (page 1 and `default_limit` when absent);
/// `None` when either is invalid, with the reason recorded in `errors`.
pub(crate) fn page_and_limit(
    page: Option<&str>,
    limit: Option<&str>,
    default_limit: i64,
    errors: &mut FieldErrors,
) -> Option<(i64, i64)> {
    let page = match page {
        None => Some(1),
        Some(raw) => errors.check("page", parse_positive("page", raw, MAX_PAGE)),
    };
    let limit = match limit {
        None => Some(default_limit),
        Some(raw) => errors.check("limit", parse_positive("limit", raw, MAX_PAGE_SIZE)),
    };
    page.zip(limit)
}

/// Number of pages of `limit` items that hold `total` items (0 when there is none).
pub(crate) fn total_pages(total: i64, limit: i64) -> i64 {
    (total + limit - 1) / limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_values_take_the_defaults_and_bad_ones_are_reported_per_field() {
        let mut errors = FieldErrors::default();
        assert_eq!(page_and_limit(None, None, 20, &mut errors), Some((1, 20)));
        assert_eq!(
            page_and_limit(Some("3"), Some("100"), 20, &mut errors),
            Some((3, 100))
        );
        assert!(errors.is_empty());
        assert_eq!(
            page_and_limit(Some("0"), Some("101"), 20, &mut errors),
            None
        );
        assert_eq!(
            errors.as_map()["page"],
            "page must be a whole number from 1 to 1000000"
        );
        assert_eq!(
            errors.as_map()["limit"],
            "limit must be a whole number from 1 to 100"
        );
    }

    #[test]
    fn total_pages_round_up() {
        assert_eq!(
            (total_pages(0, 10), total_pages(10, 10), total_pages(11, 10)),
            (0, 1, 2)
        );
    }
}
