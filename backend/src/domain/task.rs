//! The parts of a task that users type: title, description, priority and tags.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Invalid, is_disallowed_in_line};

/// A task title: trimmed, 1 to 200 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    /// Most characters accepted.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks a title.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("title must not be blank"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new("title must be at most 200 characters"));
        }
        if trimmed.chars().any(is_disallowed_in_line) {
            return Err(Invalid::new(
                "title must be a single line without control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The title as stored.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl AsRef<str> for TaskTitle {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A task description: at most 1000 characters; blank means "no description".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    /// Most characters accepted.
    pub const MAX_CHARS: usize = 1000;

    /// Trims the ends; `Ok(None)` for a blank description.
    pub fn parse(raw: &str) -> Result<Option<Self>, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new("description must be at most 1000 characters"));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(Invalid::new(
                "description must not contain control characters",
            ));
        }
        Ok(Some(Self(trimmed.to_owned())))
    }

    /// The description as stored.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// How important a task is. Stored as a small integer so that ordering by priority is natural.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Do first.
    High,
}

impl Priority {
    /// Parses `low`, `medium` or `high` (any letter case).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            _ => Err(Invalid::new("priority must be one of: low, medium, high")),
        }
    }

    /// The stored value.
    pub fn as_i16(self) -> i16 {
        match self {
            Self::Low => 0,
            Self::Medium => 1,
            Self::High => 2,
        }
    }

    /// Reads a stored value; anything unexpected reads as medium (the column has a CHECK).
    pub fn from_i16(value: i16) -> Self {
        match value {
            0 => Self::Low,
            2 => Self::High,
            _ => Self::Medium,
        }
    }
}

/// A task's labels: up to 10, each 1 to 30 characters, lower-cased, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskTags(Vec<String>);

impl TaskTags {
    /// Most tags per task.
    pub const MAX_TAGS: usize = 10;
    /// Most characters per tag.
    pub const MAX_TAG_CHARS: usize = 30;

    /// Normalises (trim, lower-case, drop duplicates) and checks a list of tags.
    pub fn parse(raw: &[String]) -> Result<Self, Invalid> {
        let mut tags: Vec<String> = Vec::with_capacity(raw.len());
        for tag in raw {
            let tag = Self::parse_one(tag)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > Self::MAX_TAGS {
            return Err(Invalid::new("tags must hold at most 10 labels"));
        }
        Ok(Self(tags))
    }

    /// Normalises and checks one tag (also used for the tag filter).
    pub fn parse_one(raw: &str) -> Result<String, Invalid> {
        let tag = raw.trim().to_lowercase();
        if tag.is_empty() {
            return Err(Invalid::new("tags must not be blank"));
        }
        if tag.chars().count() > Self::MAX_TAG_CHARS {
            return Err(Invalid::new("each tag must be at most 30 characters"));
        }
        if tag.chars().any(|c| c.is_control() || c == ',') {
            return Err(Invalid::new(
                "tags must not contain commas or control characters",
            ));
        }
        Ok(tag)
    }

    /// The tags as stored.
    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

/// Parses a date written exactly as `YYYY-MM-DD`; the error names `field`.
pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, Invalid> {
    let raw = raw.trim();
    // chrono's `%Y`, `%m` and `%d` also take fewer digits (`26-1-1`); only YYYY-MM-DD is accepted.
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| Invalid::new(format!("{field} must be a date in the form YYYY-MM-DD")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_title_is_trimmed() {
        assert_eq!(
            TaskTitle::parse("  Buy milk \n").unwrap().as_ref(),
            "Buy milk"
        );
    }

    #[test]
    fn blank_overlong_and_multiline_titles_are_rejected() {
        let cases = [
            ("", "title must not be blank"),
            ("   \t", "title must not be blank"),
            (
                "two\nlines",
                "title must be a single line without control characters",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                TaskTitle::parse(raw).unwrap_err().0,
                expected,
                "for {raw:?}"
            );
        }
        assert!(TaskTitle::parse(&"t".repeat(200)).is_ok());
        assert!(TaskTitle::parse(&"t".repeat(201)).is_err());
        assert!(
            TaskTitle::parse(&"ü".repeat(200)).is_ok(),
            "the limit counts characters, not bytes"
        );
    }

    #[test]
    fn a_blank_description_means_none() {
        assert_eq!(TaskDescription::parse("  ").unwrap(), None);
        assert!(
            TaskDescription::parse("line one\nline two")
                .unwrap()
                .is_some()
        );
        assert!(TaskDescription::parse(&"d".repeat(1000)).unwrap().is_some());
        assert!(TaskDescription::parse(&"d".repeat(1001)).is_err());
    }

    #[test]
    fn priorities_parse_in_any_case_and_round_trip_through_storage() {
        assert_eq!(Priority::parse("HIGH").unwrap(), Priority::High);
        assert!(Priority::parse("urgent").is_err());
        for priority in [Priority::Low, Priority::Medium, Priority::High] {
            assert_eq!(Priority::from_i16(priority.as_i16()), priority);
        }
        assert!(Priority::Low < Priority::High);
    }

    #[test]
    fn tags_are_normalised_and_bounded() {
        let raw: Vec<String> = ["Work", " work ", "Home"].map(str::to_owned).to_vec();
        assert_eq!(
            TaskTags::parse(&raw).unwrap().into_inner(),
            ["work", "home"]
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(
            TaskTags::parse(&eleven).unwrap_err().0,
            "tags must hold at most 10 labels"
        );
        assert!(TaskTags::parse(&["a,b".to_owned()]).is_err());
        assert!(TaskTags::parse(&[" ".to_owned()]).is_err());
        assert!(TaskTags::parse(&["x".repeat(31)]).is_err());
    }

    proptest! {
        #[test]
        fn any_title_of_1_to_200_visible_characters_parses(raw in "[a-zA-Z0-9 äöü!?.]{0,198}[a-z]") {
            let title = TaskTitle::parse(&raw).unwrap();
            prop_assert_eq!(title.as_ref(), raw.trim());
        }
    }
}
