//! The offline assistant: answers without a language model when no `LLM_API_KEY` is set, so a
//! fresh or air-gapped installation can still manage tasks through chat.
//!
//! It recognises the five task intents in plain English with fixed rules (no guessing, no
//! randomness): adding ("add buy milk tomorrow"), listing ("what's pending"), completing
//! ("mark buy milk done"), changing ("rename 3 to buy oat milk", "move 3 to friday") and
//! deleting ("delete the milk task"). Each turns into one call of the same task tools the
//! model uses; the reply is the tool's outcome, prefixed with "Offline mode:". Anything else
//! gets a short explanation with examples.

use chrono::{Datelike as _, Duration, NaiveDate, Weekday};
use serde_json::{Map, Value, json};

use super::tools::{ADD_TASK, COMPLETE_TASK, DELETE_TASK, LIST_TASKS, ToolOutcome, UPDATE_TASK};
use crate::domain::parse_date;

/// Starts every offline reply.
pub const PREFIX: &str = "Offline mode: ";

/// What to do with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Run this tool, then answer with its outcome.
    Call {
        /// The tool.
        name: &'static str,
        /// Its arguments (a JSON object).
        arguments: Value,
    },
    /// Answer with this text without touching any task.
    Reply(String),
}

/// The reply for a tool's outcome.
pub fn reply(outcome: &ToolOutcome) -> String {
    format!("{PREFIX}{}", outcome.message)
}

const EXAMPLES: &str = "\"add buy milk tomorrow\", \"what's pending\", \"mark buy milk done\", \"rename 3 to buy oat milk\", \"move 3 to friday\" or \"delete the milk task\"";

fn help() -> Plan {
    Plan::Reply(format!(
        "{PREFIX}no language model is configured, so I understand simple task commands only. Try {EXAMPLES}."
    ))
}

fn not_understood() -> Plan {
    Plan::Reply(format!(
        "{PREFIX}I did not understand that. Without a language model I understand simple task commands such as {EXAMPLES}."
    ))
}

fn ask(question: &str) -> Plan {
    Plan::Reply(format!("{PREFIX}{question}"))
}

/// Decides what to do with `message`; `today` anchors relative dates such as "tomorrow".
pub fn plan(message: &str, today: NaiveDate) -> Plan {
    let sentence = Sentence::new(message).without_filler();
    if sentence.is_empty() || sentence.is_one_of(&["help", "hi", "hello", "hey", "?"]) {
        return help();
    }
    if sentence.starts_with(&["what", "can", "you", "do"]) {
        return help();
    }
    let first = sentence.lower(0);
    let plan = match first {
        "add" | "create" | "new" | "remember" | "remind" | "note" | "todo" | "to-do"
        | "schedule" => add(&sentence.from(1), today),
        "mark" | "set" if sentence.len() > 1 && !sentence.contains("priority") => mark(&sentence),
        "complete" | "finish" | "finished" | "completed" | "close" | "did" => {
            complete(&sentence.from(1))
        }
        "tick" | "check" | "cross" if sentence.lower(1) == "off" => complete(&sentence.from(2)),
        "done" if sentence.len() > 1 => complete(&sentence.from(1).skip_words(&["with"])),
        "reopen" | "uncomplete" | "unfinish" => reopen(&sentence.from(1)),
        "delete" | "remove" | "drop" | "erase" | "trash" | "cancel" | "scrap" | "del" => {
            delete(&sentence.from(1))
        }
        "get" if sentence.starts_with(&["get", "rid", "of"]) => delete(&sentence.from(3)),
        "rename" | "retitle" => rename(&sentence.from(1)),
        "change" | "update" | "edit" | "modify" | "set" | "make" => change(&sentence, today),
        "move" | "reschedule" | "postpone" | "push" => reschedule(&sentence.from(1), today),
        "prioritize" | "prioritise" => set_priority(&sentence.from(1), "high"),
        "i" => statement(&sentence, today),
        "list" | "show" | "display" | "view" | "find" | "search" | "tasks" | "todos"
        | "pending" | "outstanding" | "remaining" => Some(list(&sentence)),
        "what" | "what's" | "whats" | "which" | "see" | "get" | "give" | "tell" | "any" | "do"
        | "how" | "my" | "open"
            if mentions_tasks(&sentence) =>
        {
            Some(list(&sentence))
        }
        _ => None,
    };
    plan.or_else(|| trailing_done(&sentence))
        .unwrap_or_else(not_understood)
}

/// "buy milk is done", "buy milk done".
fn trailing_done(sentence: &Sentence) -> Option<Plan> {
    let done = ["done", "finished", "complete", "completed"];
    if sentence.len() < 2 || !done.contains(&sentence.lower(sentence.len() - 1)) {
        return None;
    }
    let mut target = sentence.until(sentence.len() - 1);
    if target.len() > 1 && matches!(target.lower(target.len() - 1), "is" | "are" | "was") {
        target = target.until(target.len() - 1);
    }
    complete(&target)
}

/// "i need to buy milk" (add), "i finished the report" (complete).
fn statement(sentence: &Sentence, today: NaiveDate) -> Option<Plan> {
    let rest = sentence.from(1);
    for phrase in [
        &["need", "to"][..],
        &["have", "to"],
        &["must"],
        &["should"],
        &["want", "to"],
        &["gotta"],
    ] {
        if rest.starts_with(phrase) {
            return add(&rest.from(phrase.len()), today);
        }
    }
    let rest = rest.skip_words(&["have", "already", "just"]);
    match rest.lower(0) {
        "finished" | "completed" | "did" | "done" => complete(&rest.from(1)),
        _ => trailing_done(sentence),
    }
}

fn add(rest: &Sentence, today: NaiveDate) -> Option<Plan> {
    let mut words = rest.skip_words(&["me", "a", "an", "new", "another"]);
    let had_noun = words.is_one_of_at(0, &["task", "todo", "to-do", "item", "reminder"]);
    if had_noun {
        words = words.from(1);
    }
    words = words.skip_words(&["called", "named", "titled", "that", "saying"]);
    if words.lower(0) == "to" {
        words = words.from(1);
    }
    let mut due = None;
    let mut priority = None;
    for _ in 0..2 {
        if due.is_none()
            && let Some((date, used)) = trailing_date(&words, today)
        {
            due = Some(date);
            words = words.until(words.len() - used);
        }
        if priority.is_none()
            && let Some((level, used)) = trailing_priority(&words)
        {
            priority = Some(level);
            words = words.until(words.len() - used);
        }
    }
    let title = words.text();
    if title.is_empty() {
        return Some(ask(
            "what should the new task be called? For example: \"add buy milk tomorrow\".",
        ));
    }
    let mut arguments = Map::new();
    arguments.insert("title".to_owned(), json!(title));
    if let Some(date) = due {
        arguments.insert("due_date".to_owned(), json!(date.to_string()));
    }
    if let Some(level) = priority {
        arguments.insert("priority".to_owned(), json!(level));
    }
    Some(Plan::Call {
        name: ADD_TASK,
        arguments: Value::Object(arguments),
    })
}

/// Whether a question is about the task list ("what is left", "do I have tasks").
fn mentions_tasks(sentence: &Sentence) -> bool {
    let padded = format!(" {} ", sentence.lower_text());
    padded.contains(" to do ")
        || sentence.contains_any(&[
            "task",
            "tasks",
            "todo",
            "todos",
            "to-do",
            "to-dos",
            "pending",
            "open",
            "outstanding",
            "remaining",
            "left",
            "done",
            "completed",
            "finished",
            "unfinished",
            "incomplete",
        ])
}

fn list(sentence: &Sentence) -> Plan {
    let lower = sentence.lower_text();
    let padded = format!(" {lower} ");
    let pending_words = [
        "pending",
        "open",
        "todo",
        "outstanding",
        "remaining",
        "left",
        "unfinished",
        "incomplete",
        "undone",
    ];
    let completed_words = ["completed", "done", "finished", "complete"];
    let status = if padded.contains(" to do ")
        || padded.contains(" not done ")
        || sentence.contains_any(&pending_words)
    {
        "pending"
    } else if sentence.contains_any(&completed_words) {
        "completed"
    } else {
        "all"
    };
    let mut arguments = Map::new();
    arguments.insert("status".to_owned(), json!(status));
    if let Some(search) = search_term(sentence) {
        arguments.insert("search".to_owned(), json!(search));
    }
    Plan::Call {
        name: LIST_TASKS,
        arguments: Value::Object(arguments),
    }
}

/// "tasks about milk", "search for milk", "find milk".
fn search_term(sentence: &Sentence) -> Option<String> {
    let markers = [
        "about",
        "with",
        "containing",
        "matching",
        "mentioning",
        "named",
        "called",
        "like",
    ];
    let start = (1..sentence.len())
        .find(|&i| markers.contains(&sentence.lower(i)))
        .map(|i| i + 1)
        .or_else(|| {
            matches!(sentence.lower(0), "find" | "search").then(|| {
                let rest = sentence
                    .from(1)
                    .skip_words(&["for", "my", "the", "all", "tasks", "task"]);
                sentence.len() - rest.len()
            })
        })?;
    let term = sentence.from(start).skip_words(&["the", "a"]);
    let term = term.trim_end(&["tasks", "task", "todos"]);
    let text = term.text();
    (!text.is_empty()).then_some(text)
}

/// "mark buy milk done", "mark 3 as completed", "mark 3 as not done".
fn mark(sentence: &Sentence) -> Option<Plan> {
    let rest = sentence.from(1);
    let undone = [
        &["not", "done"][..],
        &["not", "completed"],
        &["not", "complete"],
        &["undone"],
        &["incomplete"],
        &["pending"],
        &["open"],
        &["unfinished"],
    ];
    for phrase in undone {
        if rest.ends_with(phrase) {
            let target = rest.until(rest.len() - phrase.len()).trim_end(&["as"]);
            return reopen(&target);
        }
    }
    for phrase in ["done", "complete", "completed", "finished"] {
        if rest.ends_with(&[phrase]) {
            let target = rest.until(rest.len() - 1).trim_end(&["as"]);
            return complete(&target);
        }
    }
    None
}

fn complete(target: &Sentence) -> Option<Plan> {
    Some(match target_arguments(target) {
        Some(arguments) => Plan::Call {
            name: COMPLETE_TASK,
            arguments: Value::Object(arguments),
        },
        None => ask("which task should I mark as done? Give its number or words from its title."),
    })
}

fn reopen(target: &Sentence) -> Option<Plan> {
    Some(match target_arguments(target) {
        Some(mut arguments) => {
            arguments.insert("completed".to_owned(), json!(false));
            Plan::Call {
                name: UPDATE_TASK,
                arguments: Value::Object(arguments),
            }
        }
        None => ask("which task should I reopen? Give its number or words from its title."),
    })
}

fn delete(target: &Sentence) -> Option<Plan> {
    Some(match target_arguments(target) {
        Some(arguments) => Plan::Call {
            name: DELETE_TASK,
            arguments: Value::Object(arguments),
        },
        None => ask("which task should I delete? Give its number or words from its title."),
    })
}

/// "rename 3 to buy oat milk": the first "to" separates the task from its new title.
fn rename(rest: &Sentence) -> Option<Plan> {
    let rest = rest.skip_words(&["the", "title", "name", "of"]);
    let to = rest.position("to")?;
    let target = rest.until(to);
    let title = rest.from(to + 1).text();
    if title.is_empty() {
        return Some(ask(
            "what should the new title be? For example: \"rename 3 to buy oat milk\".",
        ));
    }
    let Some(mut arguments) = target_arguments(&target) else {
        return Some(ask(
            "which task should I rename? For example: \"rename 3 to buy oat milk\".",
        ));
    };
    arguments.insert("title".to_owned(), json!(title));
    Some(Plan::Call {
        name: UPDATE_TASK,
        arguments: Value::Object(arguments),
    })
}

/// "change 3 to buy oat milk", "change the due date of 3 to friday", "set the priority of 3 to
/// high", "make 3 high priority".
fn change(sentence: &Sentence, today: NaiveDate) -> Option<Plan> {
    let rest = sentence.from(1).skip_words(&["the"]);
    if rest.contains("priority") {
        if let Some(to) = rest.position("to") {
            let level = rest.from(to + 1).trim_end(&["priority"]);
            let target = rest.until(to).skip_words(&["priority", "of", "for"]);
            return set_priority(&target, level.lower_text().as_str());
        }
        let (level, used) = trailing_priority(&rest)?;
        return set_priority(&rest.until(rest.len() - used), level);
    }
    if rest.starts_with(&["due"]) || rest.starts_with(&["deadline"]) {
        let rest = rest.skip_words(&["due", "date", "deadline", "of", "for"]);
        return reschedule(&rest, today);
    }
    rename(&rest)
}

/// "move 3 to friday", "postpone buy milk to tomorrow".
fn reschedule(rest: &Sentence, today: NaiveDate) -> Option<Plan> {
    let to = rest
        .last_position("to")
        .or_else(|| rest.last_position("until"))?;
    let (date, used) = trailing_date(&rest.from(to + 1), today)?;
    if used != rest.len() - to - 1 {
        return None;
    }
    let Some(mut arguments) = target_arguments(&rest.until(to)) else {
        return Some(ask(
            "which task should I move? For example: \"move 3 to friday\".",
        ));
    };
    arguments.insert("due_date".to_owned(), json!(date.to_string()));
    Some(Plan::Call {
        name: UPDATE_TASK,
        arguments: Value::Object(arguments),
    })
}

fn set_priority(target: &Sentence, level: &str) -> Option<Plan> {
    let level = match level.trim() {
        "high" | "urgent" | "important" | "top" => "high",
        "medium" | "normal" => "medium",
        "low" => "low",
        _ => return None,
    };
    let Some(mut arguments) = target_arguments(target) else {
        return Some(ask(
            "which task? For example: \"set the priority of 3 to high\".",
        ));
    };
    arguments.insert("priority".to_owned(), json!(level));
    Some(Plan::Call {
        name: UPDATE_TASK,
        arguments: Value::Object(arguments),
    })
}

/// `{"id": n}` for "3", "#3", "task 3", "number 3"; otherwise `{"title_match": words}` without
/// articles and the word "task". `None` when nothing names a task.
fn target_arguments(target: &Sentence) -> Option<Map<String, Value>> {
    let target = target
        .skip_words(&["the", "my", "that", "this", "a"])
        .skip_words(&["task", "todo", "item", "number", "no", "no."])
        .trim_end(&["task", "tasks", "todo", "item", "one", "please"]);
    let mut arguments = Map::new();
    if target.len() == 1
        && let Ok(id) = target.lower(0).trim_start_matches('#').parse::<i64>()
    {
        arguments.insert("id".to_owned(), json!(id));
        return Some(arguments);
    }
    let text = target.text();
    if text.is_empty() {
        return None;
    }
    arguments.insert("title_match".to_owned(), json!(text));
    Some(arguments)
}

/// "with high priority", "high priority", "priority high", "urgent" at the end.
fn trailing_priority(words: &Sentence) -> Option<(&'static str, usize)> {
    let level = |word: &str| match word {
        "high" => Some("high"),
        "medium" | "normal" => Some("medium"),
        "low" => Some("low"),
        _ => None,
    };
    let n = words.len();
    if n >= 2 && words.lower(n - 1) == "priority" {
        let found = level(words.lower(n - 2))?;
        let used = if n >= 3 && words.lower(n - 3) == "with" {
            3
        } else {
            2
        };
        return (n > used).then_some((found, used));
    }
    if n >= 3 && words.lower(n - 2) == "priority" {
        let found = level(words.lower(n - 1))?;
        let used = if words.lower(n - 3) == "with" { 3 } else { 2 };
        return (n > used).then_some((found, used));
    }
    if n >= 2 && matches!(words.lower(n - 1), "urgent" | "urgently" | "asap") {
        return Some(("high", 1));
    }
    None
}

/// A date at the end of `words` and how many words it took: "today", "tomorrow", "day after
/// tomorrow", "(next) friday", "next week", "in 3 days", "in a week", "2026-12-24", each
/// optionally after "on", "by", "due", "for", "before" or "until".
fn trailing_date(words: &Sentence, today: NaiveDate) -> Option<(NaiveDate, usize)> {
    let n = words.len();
    if n == 0 {
        return None;
    }
    let last = words.lower(n - 1);
    let (date, mut used) = if words.ends_with(&["day", "after", "tomorrow"]) {
        let with_article = n > 3 && words.lower(n - 4) == "the";
        (today + Duration::days(2), if with_article { 4 } else { 3 })
    } else if matches!(last, "today" | "tonight") {
        (today, 1)
    } else if matches!(last, "tomorrow" | "tmrw" | "tmr") {
        (today + Duration::days(1), 1)
    } else if words.ends_with(&["next", "week"]) {
        (today + Duration::days(7), 2)
    } else if let Some(weekday) = weekday(last) {
        let ahead =
            (7 + weekday.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
        let ahead = if ahead == 0 { 7 } else { ahead };
        let used = if n >= 2 && matches!(words.lower(n - 2), "next" | "this" | "coming") {
            2
        } else {
            1
        };
        (today + Duration::days(i64::from(ahead)), used)
    } else if n >= 3 && words.lower(n - 3) == "in" {
        let count = match words.lower(n - 2) {
            "a" | "an" | "one" => Some(1),
            number => number.parse::<i64>().ok().filter(|k| (1..=365).contains(k)),
        }?;
        let days = match last {
            "day" | "days" => count,
            "week" | "weeks" => count * 7,
            _ => return None,
        };
        (today + Duration::days(days), 3)
    } else if let Ok(date) = parse_date("date", last) {
        (date, 1)
    } else {
        return None;
    };
    if n > used
        && matches!(
            words.lower(n - used - 1),
            "on" | "by" | "for" | "before" | "until" | "due"
        )
    {
        used += 1;
        if n > used && words.lower(n - used - 1) == "due" {
            used += 1;
        }
    }
    Some((date, used))
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// A message as words, each also in a lower-case form without surrounding punctuation.
#[derive(Debug, Clone, Default)]
struct Sentence {
    words: Vec<String>,
    lower: Vec<String>,
}

const PUNCTUATION: &[char] = &[
    '.', ',', '!', '?', ';', ':', '"', '\'', '“', '”', '‘', '’', '(', ')',
];

impl Sentence {
    fn new(text: &str) -> Self {
        let words: Vec<String> = text
            .split_whitespace()
            .map(|word| word.replace('’', "'"))
            .collect();
        let lower = words
            .iter()
            .map(|word| word.trim_matches(PUNCTUATION).to_lowercase())
            .collect();
        Self { words, lower }
    }

    /// Without politeness around the command: "please", "can you", "thanks", ...
    fn without_filler(self) -> Self {
        let mut sentence = self;
        loop {
            let before = sentence.len();
            for phrase in [
                &["please"][..],
                &["pls"],
                &["ok"],
                &["okay"],
                &["so"],
                &["now"],
                &["hey"],
                &["can", "you"],
                &["could", "you"],
                &["would", "you"],
                &["will", "you"],
                &["i'd", "like", "to"],
                &["i", "would", "like", "to"],
                &["i", "want", "to"],
                &["let's"],
                &["lets"],
            ] {
                if sentence.len() > phrase.len() && sentence.starts_with(phrase) {
                    sentence = sentence.from(phrase.len());
                }
            }
            for phrase in [&["please"][..], &["pls"], &["thanks"], &["thank", "you"]] {
                if sentence.len() > phrase.len() && sentence.ends_with(phrase) {
                    sentence = sentence.until(sentence.len() - phrase.len());
                }
            }
            if sentence.len() == before {
                return sentence;
            }
        }
    }

    fn len(&self) -> usize {
        self.words.len()
    }

    fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The lower-case form of word `i`, or "" past the end.
    fn lower(&self, i: usize) -> &str {
        self.lower.get(i).map_or("", String::as_str)
    }

    fn lower_text(&self) -> String {
        self.lower.join(" ")
    }

    fn is_one_of(&self, words: &[&str]) -> bool {
        self.len() == 1 && words.contains(&self.lower(0))
    }

    fn is_one_of_at(&self, i: usize, words: &[&str]) -> bool {
        words.contains(&self.lower(i))
    }

    fn contains(&self, word: &str) -> bool {
        self.lower.iter().any(|w| w == word)
    }

    fn contains_any(&self, words: &[&str]) -> bool {
        self.lower.iter().any(|w| words.contains(&w.as_str()))
    }

    fn position(&self, word: &str) -> Option<usize> {
        self.lower.iter().position(|w| w == word)
    }

    fn last_position(&self, word: &str) -> Option<usize> {
        self.lower.iter().rposition(|w| w == word)
    }

    fn starts_with(&self, phrase: &[&str]) -> bool {
        self.len() >= phrase.len() && phrase.iter().enumerate().all(|(i, w)| self.lower(i) == *w)
    }

    fn ends_with(&self, phrase: &[&str]) -> bool {
        let n = self.len();
        n >= phrase.len()
            && phrase
                .iter()
                .enumerate()
                .all(|(i, w)| self.lower(n - phrase.len() + i) == *w)
    }

    /// Words `start..`.
    fn from(&self, start: usize) -> Self {
        let start = start.min(self.len());
        Self {
            words: self.words[start..].to_vec(),
            lower: self.lower[start..].to_vec(),
        }
    }

    /// Words `..end`.
    fn until(&self, end: usize) -> Self {
        let end = end.min(self.len());
        Self {
            words: self.words[..end].to_vec(),
            lower: self.lower[..end].to_vec(),
        }
    }

    /// Without any leading words from `words`.
    fn skip_words(&self, words: &[&str]) -> Self {
        let skipped = self
            .lower
            .iter()
            .take_while(|w| words.contains(&w.as_str()))
            .count();
        self.from(skipped)
    }

    /// Without any trailing words from `words`.
    fn trim_end(&self, words: &[&str]) -> Self {
        let kept = self.len()
            - self
                .lower
                .iter()
                .rev()
                .take_while(|w| words.contains(&w.as_str()))
                .count();
        self.until(kept)
    }

    /// The original words, without surrounding quotes or a final full stop.
    fn text(&self) -> String {
        let joined = self.words.join(" ");
        joined
            .trim_end_matches(['.', '!', '?', ',', ';'])
            .trim_matches(['"', '\'', '“', '”', '‘', '’'])
            .trim()
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Thursday.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn call(name: &'static str, arguments: Value) -> Plan {
        Plan::Call { name, arguments }
    }

    fn check(cases: &[(&str, Plan)]) {
        for (message, expected) in cases {
            assert_eq!(&plan(message, today()), expected, "for {message:?}");
        }
    }

    #[test]
    fn ways_of_adding_a_task() {
        check(&[
            ("add buy milk", call(ADD_TASK, json!({"title": "buy milk"}))),
            (
                "add buy milk tomorrow",
                call(
                    ADD_TASK,
                    json!({"title": "buy milk", "due_date": "2026-11-27"}),
                ),
            ),
            (
                "Please add a task to call Mom on Friday",
                call(
                    ADD_TASK,
                    json!({"title": "call Mom", "due_date": "2026-11-27"}),
                ),
            ),
            (
                "create task: Water the plants today",
                call(
                    ADD_TASK,
                    json!({"title": "Water the plants", "due_date": "2026-11-26"}),
                ),
            ),
            (
                "new task \"File taxes\" due 2026-12-24 with high priority",
                call(
                    ADD_TASK,
                    json!({"title": "File taxes", "due_date": "2026-12-24", "priority": "high"}),
                ),
            ),
            (
                "remind me to renew the passport next week",
                call(
                    ADD_TASK,
                    json!({"title": "renew the passport", "due_date": "2026-12-03"}),
                ),
            ),
            (
                "can you add pay rent by thursday please",
                call(
                    ADD_TASK,
                    json!({"title": "pay rent", "due_date": "2026-12-03"}),
                ),
            ),
            (
                "remember to book flights in 3 days",
                call(
                    ADD_TASK,
                    json!({"title": "book flights", "due_date": "2026-11-29"}),
                ),
            ),
            (
                "I need to fix the bike urgent",
                call(
                    ADD_TASK,
                    json!({"title": "fix the bike", "priority": "high"}),
                ),
            ),
            (
                "add a new item called clean garage low priority",
                call(
                    ADD_TASK,
                    json!({"title": "clean garage", "priority": "low"}),
                ),
            ),
            (
                "add buy milk the day after tomorrow.",
                call(
                    ADD_TASK,
                    json!({"title": "buy milk", "due_date": "2026-11-28"}),
                ),
            ),
        ]);
        assert!(matches!(plan("add", today()), Plan::Reply(text) if text.contains("called")));
        assert!(matches!(plan("add task", today()), Plan::Reply(_)));
    }

    #[test]
    fn ways_of_listing_tasks() {
        check(&[
            (
                "what's pending",
                call(LIST_TASKS, json!({"status": "pending"})),
            ),
            (
                "What’s pending?",
                call(LIST_TASKS, json!({"status": "pending"})),
            ),
            ("show my tasks", call(LIST_TASKS, json!({"status": "all"}))),
            ("list all tasks", call(LIST_TASKS, json!({"status": "all"}))),
            (
                "what do I have to do",
                call(LIST_TASKS, json!({"status": "pending"})),
            ),
            (
                "what is left",
                call(LIST_TASKS, json!({"status": "pending"})),
            ),
            (
                "show completed tasks",
                call(LIST_TASKS, json!({"status": "completed"})),
            ),
            (
                "which tasks are done?",
                call(LIST_TASKS, json!({"status": "completed"})),
            ),
            ("tasks", call(LIST_TASKS, json!({"status": "all"}))),
            (
                "show tasks about milk",
                call(LIST_TASKS, json!({"status": "all", "search": "milk"})),
            ),
            (
                "search for milk",
                call(LIST_TASKS, json!({"status": "all", "search": "milk"})),
            ),
            (
                "find pending tasks with groceries",
                call(
                    LIST_TASKS,
                    json!({"status": "pending", "search": "groceries"}),
                ),
            ),
        ]);
    }

    #[test]
    fn ways_of_completing_a_task() {
        check(&[
            (
                "mark buy milk done",
                call(COMPLETE_TASK, json!({"title_match": "buy milk"})),
            ),
            (
                "mark buy milk as done",
                call(COMPLETE_TASK, json!({"title_match": "buy milk"})),
            ),
            ("mark 3 as completed", call(COMPLETE_TASK, json!({"id": 3}))),
            (
                "mark task #3 complete",
                call(COMPLETE_TASK, json!({"id": 3})),
            ),
            (
                "complete the milk task",
                call(COMPLETE_TASK, json!({"title_match": "milk"})),
            ),
            ("finish task 12", call(COMPLETE_TASK, json!({"id": 12}))),
            (
                "tick off buy milk",
                call(COMPLETE_TASK, json!({"title_match": "buy milk"})),
            ),
            ("check off 4", call(COMPLETE_TASK, json!({"id": 4}))),
            (
                "done with the report",
                call(COMPLETE_TASK, json!({"title_match": "report"})),
            ),
            (
                "buy milk is done",
                call(COMPLETE_TASK, json!({"title_match": "buy milk"})),
            ),
            (
                "I finished the report",
                call(COMPLETE_TASK, json!({"title_match": "report"})),
            ),
            ("I have completed 7", call(COMPLETE_TASK, json!({"id": 7}))),
        ]);
        check(&[(
            "I have to buy milk",
            call(ADD_TASK, json!({"title": "buy milk"})),
        )]);
    }

    #[test]
    fn ways_of_changing_a_task() {
        check(&[
            (
                "rename 3 to buy oat milk",
                call(UPDATE_TASK, json!({"id": 3, "title": "buy oat milk"})),
            ),
            (
                "rename buy milk to buy oat milk",
                call(
                    UPDATE_TASK,
                    json!({"title_match": "buy milk", "title": "buy oat milk"}),
                ),
            ),
            (
                "rename task 3 to go to the gym",
                call(UPDATE_TASK, json!({"id": 3, "title": "go to the gym"})),
            ),
            (
                "change the title of 5 to Call the bank",
                call(UPDATE_TASK, json!({"id": 5, "title": "Call the bank"})),
            ),
            (
                "move 3 to friday",
                call(UPDATE_TASK, json!({"id": 3, "due_date": "2026-11-27"})),
            ),
            (
                "postpone buy milk until next monday",
                call(
                    UPDATE_TASK,
                    json!({"title_match": "buy milk", "due_date": "2026-11-30"}),
                ),
            ),
            (
                "change the due date of 4 to 2027-01-15",
                call(UPDATE_TASK, json!({"id": 4, "due_date": "2027-01-15"})),
            ),
            (
                "set the priority of 2 to high",
                call(UPDATE_TASK, json!({"id": 2, "priority": "high"})),
            ),
            (
                "make the milk task low priority",
                call(
                    UPDATE_TASK,
                    json!({"title_match": "milk", "priority": "low"}),
                ),
            ),
            (
                "mark 3 as not done",
                call(UPDATE_TASK, json!({"id": 3, "completed": false})),
            ),
            (
                "reopen buy milk",
                call(
                    UPDATE_TASK,
                    json!({"title_match": "buy milk", "completed": false}),
                ),
            ),
        ]);
        assert!(
            matches!(plan("rename 3 to", today()), Plan::Reply(text) if text.contains("new title"))
        );
    }

    #[test]
    fn ways_of_deleting_a_task() {
        check(&[
            (
                "delete the milk task",
                call(DELETE_TASK, json!({"title_match": "milk"})),
            ),
            ("delete task 3", call(DELETE_TASK, json!({"id": 3}))),
            ("remove #3", call(DELETE_TASK, json!({"id": 3}))),
            (
                "please remove buy milk",
                call(DELETE_TASK, json!({"title_match": "buy milk"})),
            ),
            (
                "get rid of the gym task",
                call(DELETE_TASK, json!({"title_match": "gym"})),
            ),
            (
                "drop \"old errand\"",
                call(DELETE_TASK, json!({"title_match": "old errand"})),
            ),
            (
                "cancel my dentist appointment",
                call(DELETE_TASK, json!({"title_match": "dentist appointment"})),
            ),
        ]);
        assert!(
            matches!(plan("delete the task", today()), Plan::Reply(text) if text.contains("which task"))
        );
    }

    #[test]
    fn greetings_and_unknown_messages_explain_offline_mode_without_touching_tasks() {
        for message in [
            "help",
            "hi",
            "",
            "what can you do?",
            "tell me a joke",
            "what's the weather like",
            "42",
            "done",
        ] {
            let Plan::Reply(text) = plan(message, today()) else {
                panic!("{message:?} should get an explanation, not a tool call");
            };
            assert!(text.starts_with(PREFIX), "{message:?}: {text}");
            assert!(
                text.contains("add buy milk tomorrow"),
                "{message:?}: {text}"
            );
        }
    }

    #[test]
    fn weekdays_mean_the_next_such_day_never_today() {
        let cases = [
            ("thursday", "2026-12-03"),
            ("friday", "2026-11-27"),
            ("next wednesday", "2026-12-02"),
            ("on sun", "2026-11-29"),
        ];
        for (words, expected) in cases {
            let (date, used) = trailing_date(&Sentence::new(words), today()).unwrap();
            assert_eq!(date.to_string(), expected, "{words}");
            assert_eq!(used, words.split_whitespace().count(), "{words}");
        }
    }

    #[test]
    fn the_same_message_always_gives_the_same_plan() {
        for message in [
            "add buy milk tomorrow",
            "what's pending",
            "delete the milk task",
        ] {
            assert_eq!(plan(message, today()), plan(message, today()), "{message}");
        }
    }
}
