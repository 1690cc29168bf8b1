//! The JSON text of task answers, written directly into one buffer.
//!
//! A list of 100 tasks was the backend's most expensive answer: serde_json escapes every key
//! of every task as it writes it, checks the strings byte by byte, the buffer grows by
//! doubling, and chrono formats the times piece by piece. This writes exactly the same text
//! as `serde_json::to_vec` of the `Serialize` types (the tests compare both on many values),
//! with constant keys, strings copied in runs, dates and times formatted into a small array,
//! and a buffer sized for the answer up front.

use chrono::{DateTime, Datelike as _, NaiveDate, Timelike as _, Utc};

use super::{TaskListResponse, TaskResponse};
use crate::domain::Priority;

/// Bytes reserved per task: a typical task with a description and tags takes about 290.
const BYTES_PER_TASK: usize = 320;

impl TaskListResponse {
    /// The answer as JSON, byte for byte what `serde_json::to_vec(self)` gives.
    pub(super) fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + BYTES_PER_TASK * self.tasks.len());
        out.extend_from_slice(b"{\"tasks\":[");
        for (index, task) in self.tasks.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_task(&mut out, task);
        }
        out.extend_from_slice(b"],\"total\":");
        write_integer(&mut out, self.total);
        out.extend_from_slice(b",\"page\":");
        write_integer(&mut out, self.page);
        out.extend_from_slice(b",\"limit\":");
        write_integer(&mut out, self.limit);
        out.extend_from_slice(b",\"total_pages\":");
        write_integer(&mut out, self.total_pages);
        out.push(b'}');
        out
    }
}

fn write_task(out: &mut Vec<u8>, task: &TaskResponse) {
    out.extend_from_slice(b"{\"id\":");
    write_integer(out, task.id);
    out.extend_from_slice(b",\"title\":");
    write_string(out, &task.title);
    out.extend_from_slice(b",\"description\":");
    match &task.description {
        Some(description) => write_string(out, description),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(if task.completed {
        b",\"completed\":true"
    } else {
        b",\"completed\":false"
    });
    out.extend_from_slice(match task.priority {
        Priority::Low => b",\"priority\":\"low\"",
        Priority::Medium => b",\"priority\":\"medium\"",
        Priority::High => b",\"priority\":\"high\"",
    });
    out.extend_from_slice(b",\"due_date\":");
    match task.due_date {
        Some(date) => write_plain_string(out, DateText::new(date).as_str()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"tags\":[");
    for (index, tag) in task.tags.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_string(out, tag);
    }
    out.extend_from_slice(b"],\"created_at\":");
    write_plain_string(out, TimestampText::new(&task.created_at).as_str());
    out.extend_from_slice(b",\"updated_at\":");
    write_plain_string(out, TimestampText::new(&task.updated_at).as_str());
    out.push(b'}');
}

fn write_integer(out: &mut Vec<u8>, value: i64) {
    let mut digits = [0_u8; 20];
    let mut at = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// Whether serde_json escapes this byte inside a string: `"`, `\` and control characters.
/// (Bitwise, not short-circuit, operators, so that a block of bytes is checked at once.)
const fn needs_escape(byte: u8) -> bool {
    (byte < 0x20) | (byte == b'"') | (byte == b'\\')
}

/// Bytes checked at once for characters to escape.
const BLOCK: usize = 16;

/// A JSON string, escaped as serde_json escapes it. Runs without anything to escape (nearly
/// all text) are found a block at a time and copied whole.
pub(super) fn write_string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        let end = (index + BLOCK).min(bytes.len());
        let chunk = &bytes[index..end];
        if let Ok(block) = <&[u8; BLOCK]>::try_from(chunk)
            && !block
                .iter()
                .fold(false, |found, &byte| found | needs_escape(byte))
        {
            index = end;
            continue;
        }
        for (offset, &byte) in chunk.iter().enumerate() {
            if needs_escape(byte) {
                let at = index + offset;
                out.extend_from_slice(&bytes[start..at]);
                write_escape(out, byte);
                start = at + 1;
            }
        }
        index = end;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// A JSON string of text that never needs escaping: the dates and times, which are digits,
/// `-`, `:`, `.`, `T`, `Z` and, for years chrono writes with a sign, `+`.
fn write_plain_string(out: &mut Vec<u8>, text: &str) {
    debug_assert!(!text.bytes().any(needs_escape));
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

fn write_escape(out: &mut Vec<u8>, byte: u8) {
    match byte {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        }
    }
}

/// Up to 32 bytes of ASCII text built on the stack.
pub(super) struct ShortText {
    bytes: [u8; 32],
    len: usize,
}

impl ShortText {
    const fn new() -> Self {
        Self {
            bytes: [0; 32],
            len: 0,
        }
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    fn push_digits(&mut self, value: u32, width: u32) {
        for place in (0..width).rev() {
            self.push(b'0' + (value / 10_u32.pow(place) % 10) as u8);
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// A date as chrono writes it (`YYYY-MM-DD`), built without allocating.
pub(super) enum DateText {
    Short(ShortText),
    /// Years outside 0–9999, which chrono writes with a sign: left to chrono.
    Other(String),
}

impl DateText {
    pub(super) fn new(date: NaiveDate) -> Self {
        let Ok(year) = u32::try_from(date.year()) else {
            return Self::Other(format!("{date:?}"));
        };
        if year > 9999 {
            return Self::Other(format!("{date:?}"));
        }
        let mut text = ShortText::new();
        text.push_digits(year, 4);
        text.push(b'-');
        text.push_digits(date.month(), 2);
        text.push(b'-');
        text.push_digits(date.day(), 2);
        Self::Short(text)
    }

    pub(super) fn as_str(&self) -> &str {
        match self {
            Self::Short(text) => text.as_str(),
            Self::Other(text) => text,
        }
    }
}

/// A time as `to_rfc3339_opts(SecondsFormat::AutoSi, true)` writes it, built without
/// allocating.
pub(super) enum TimestampText {
    Short(ShortText),
    /// Years outside 0–9999 and leap seconds: left to chrono.
    Other(String),
}

impl TimestampText {
    pub(super) fn new(at: &DateTime<Utc>) -> Self {
        // Each field accessor of `DateTime` converts to local time again: convert once.
        let naive = at.naive_utc();
        let nanos = naive.nanosecond();
        let year = u32::try_from(naive.year())
            .ok()
            .filter(|year| *year <= 9999);
        let (Some(year), true) = (year, nanos < 1_000_000_000) else {
            return Self::Other(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        };
        let (date, time) = (naive.date(), naive.time());
        let mut text = ShortText::new();
        text.push_digits(year, 4);
        text.push(b'-');
        text.push_digits(date.month(), 2);
        text.push(b'-');
        text.push_digits(date.day(), 2);
        text.push(b'T');
        text.push_digits(time.hour(), 2);
        text.push(b':');
        text.push_digits(time.minute(), 2);
        text.push(b':');
        text.push_digits(time.second(), 2);
        if nanos != 0 {
            text.push(b'.');
            if nanos.is_multiple_of(1_000_000) {
                text.push_digits(nanos / 1_000_000, 3);
            } else if nanos.is_multiple_of(1_000) {
                text.push_digits(nanos / 1_000, 6);
            } else {
                text.push_digits(nanos, 9);
            }
        }
        text.push(b'Z');
        Self::Short(text)
    }

    pub(super) fn as_str(&self) -> &str {
        match self {
            Self::Short(text) => text.as_str(),
            Self::Other(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    use super::*;

    fn task(
        id: i64,
        title: String,
        description: Option<String>,
        tags: Vec<String>,
    ) -> TaskResponse {
        TaskResponse {
            id,
            title,
            description,
            completed: id % 2 == 0,
            priority: [Priority::Low, Priority::Medium, Priority::High]
                [(id.unsigned_abs() % 3) as usize],
            due_date: (id % 5 != 0).then(|| NaiveDate::from_ymd_opt(2027, 3, 4).unwrap()),
            tags,
            created_at: Utc.with_ymd_and_hms(2026, 11, 27, 1, 2, 3).unwrap(),
            updated_at: Utc::now(),
        }
    }

    fn list(tasks: Vec<TaskResponse>, total: i64) -> TaskListResponse {
        TaskListResponse {
            tasks,
            total,
            page: 1,
            limit: 100,
            total_pages: -3,
        }
    }

    #[test]
    fn a_list_is_written_exactly_as_serde_json_writes_it() {
        let mut tasks: Vec<TaskResponse> = (-3..120)
            .map(|id| {
                task(
                    id,
                    format!("Task {id}: \"quoted\" \\ back\tslash \u{1} é ✓ \u{7f}"),
                    (id % 4 != 0).then(|| format!("Notes\r\nfor {id}\u{8}\u{c}\u{1f}</script>")),
                    vec!["home".to_owned(); (id.unsigned_abs() % 3) as usize],
                )
            })
            .collect();
        tasks[0].created_at = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        tasks[1].updated_at = Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap();
        tasks[2].due_date = NaiveDate::from_ymd_opt(-5, 1, 1);
        let response = list(tasks, i64::MIN);
        assert_eq!(
            String::from_utf8(response.to_json()).unwrap(),
            serde_json::to_string(&response).unwrap()
        );
        let empty = list(Vec::new(), i64::MAX);
        assert_eq!(
            String::from_utf8(empty.to_json()).unwrap(),
            serde_json::to_string(&empty).unwrap()
        );
    }

    #[test]
    fn dates_and_times_are_written_as_chrono_writes_them() {
        let times = [
            Utc.with_ymd_and_hms(2026, 11, 27, 1, 2, 3).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap(),
            DateTime::from_timestamp(1_800_000_000, 120_000_000).unwrap(),
            DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap(),
            DateTime::from_timestamp(1_800_000_000, 123_456_789).unwrap(),
            DateTime::from_timestamp(1_800_000_059, 1_500_000_000).unwrap(),
            Utc::now(),
        ];
        for at in times {
            assert_eq!(
                TimestampText::new(&at).as_str(),
                at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            );
            let date = at.date_naive();
            assert_eq!(DateText::new(date).as_str(), format!("{date:?}"));
        }
    }

    #[test]
    fn escapes_are_found_at_every_position_of_short_and_long_strings() {
        for len in 0..70 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', 'é'] {
                    let text: String = (0..len)
                        .map(|index| if index == at { special } else { 'a' })
                        .collect();
                    let mut ours = Vec::new();
                    write_string(&mut ours, &text);
                    assert_eq!(
                        String::from_utf8(ours).unwrap(),
                        serde_json::to_string(&text).unwrap()
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_text_is_escaped_as_serde_json_escapes_it(text in any::<String>(), id in any::<i64>()) {
            let mut ours = Vec::new();
            write_string(&mut ours, &text);
            prop_assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&text).unwrap());
            let response = list(vec![task(id, text.clone(), Some(text.clone()), vec![text])], id);
            prop_assert_eq!(
                String::from_utf8(response.to_json()).unwrap(),
                serde_json::to_string(&response).unwrap()
            );
        }

        #[test]
        fn any_time_is_written_as_chrono_writes_it(seconds in -62_000_000_000_i64..300_000_000_000, nanos in 0_u32..2_000_000_000) {
            if let Some(at) = DateTime::from_timestamp(seconds, nanos) {
                let ours = TimestampText::new(&at);
                prop_assert_eq!(
                    ours.as_str(),
                    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                );
                let date = at.date_naive();
                let ours = DateText::new(date);
                prop_assert_eq!(ours.as_str(), format!("{date:?}"));
            }
        }
    }
}
