//! View models: display-ready data for the templates, built from backend answers.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::assets;
use crate::backend::{Task, TaskStats};
use crate::session::Flash;

/// What the page layout needs: who is signed in, the form token, the flash message.
#[derive(Debug, Clone)]
pub struct Shell {
    /// Page title (before " · TaskFlow").
    pub title: String,
    /// The signed-in user's name, if any.
    pub user_name: Option<String>,
    /// Anti-forgery token for the forms on the page.
    pub csrf: String,
    /// A message from the previous action.
    pub flash: Option<Flash>,
    /// Which navigation entry is current (`home`, `tasks`, `login`, `register`).
    pub current: &'static str,
    /// Stylesheet URL.
    pub css_url: &'static str,
    /// Script URL.
    pub js_url: &'static str,
}

impl Shell {
    /// A layout for `title`, with no user, token or message yet.
    pub fn new(title: impl Into<String>, current: &'static str, csrf: &str) -> Self {
        Self {
            title: title.into(),
            user_name: None,
            csrf: csrf.to_owned(),
            flash: None,
            current,
            css_url: assets::css_url(),
            js_url: assets::js_url(),
        }
    }

    /// Sets the signed-in user's name.
    pub fn with_user(mut self, name: &str) -> Self {
        self.user_name = Some(if name.trim().is_empty() {
            "you".to_owned()
        } else {
            name.to_owned()
        });
        self
    }

    /// Sets the flash message.
    pub fn with_flash(mut self, flash: Option<Flash>) -> Self {
        self.flash = flash;
        self
    }

    /// True when `entry` is the current navigation entry.
    pub fn is_current(&self, entry: &str) -> bool {
        self.current == entry
    }
}

/// `message` with a capital first letter and a full stop.
pub fn sentence(message: &str) -> String {
    let mut text = capitalised(message.trim());
    if !text.ends_with(['.', '?', '!']) {
        text.push('.');
    }
    text
}

/// Key of a message about the form as a whole.
const GENERAL: &str = "form";

/// Messages per form field.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// From the backend's field map.
    pub fn from_map(map: BTreeMap<String, String>) -> Self {
        Self(
            map.into_iter()
                .map(|(field, message)| (field, sentence(&message)))
                .collect(),
        )
    }

    /// From a backend refusal: its field messages, or its overall message when it names no
    /// field (so that a refused form never comes back without an explanation).
    pub fn from_backend(message: &str, fields: BTreeMap<String, String>) -> Self {
        if fields.is_empty() {
            let mut errors = Self::default();
            errors.add(GENERAL, &sentence(message));
            errors
        } else {
            Self::from_map(fields)
        }
    }

    /// Records a message for `field`.
    pub fn add(&mut self, field: &str, message: &str) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message.to_owned());
    }

    /// The message for `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// True when no field has a message.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Messages for fields other than `known` (shown above the form).
    pub fn others(&self, known: &[&str]) -> Vec<String> {
        self.0
            .iter()
            .filter(|(field, _)| !known.contains(&field.as_str()))
            .map(|(field, message)| {
                if field == GENERAL {
                    message.clone()
                } else {
                    format!("{field}: {message}")
                }
            })
            .collect()
    }
}

/// A task, ready to display.
#[derive(Debug, Clone)]
pub struct TaskView {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub completed: bool,
    /// `low`, `medium` or `high`.
    pub priority: String,
    /// `Low`, `Medium` or `High`.
    pub priority_label: String,
    /// Due date for display, or empty.
    pub due: String,
    /// Due date for a date input, or empty.
    pub due_input: String,
    /// Not completed and due before today.
    pub overdue: bool,
    pub tags: Vec<String>,
    /// Tags as typed in the form: `a, b`.
    pub tags_input: String,
    pub created: String,
    pub created_iso: String,
    pub updated: String,
    pub updated_iso: String,
    /// True when the task changed after it was created.
    pub edited: bool,
}

fn display_time(time: DateTime<Utc>) -> String {
    time.format("%-d %b %Y, %H:%M UTC").to_string()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl TaskView {
    /// Builds the view of `task` as of `today`.
    pub fn new(task: &Task, today: NaiveDate) -> Self {
        Self {
            id: task.id,
            title: task.title.clone(),
            description: task.description.clone().unwrap_or_default(),
            completed: task.completed,
            priority: task.priority.clone(),
            priority_label: capitalised(&task.priority),
            due: task
                .due_date
                .map(|d| d.format("%-d %b %Y").to_string())
                .unwrap_or_default(),
            due_input: task
                .due_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            overdue: !task.completed && task.due_date.is_some_and(|due| due < today),
            tags: task.tags.clone(),
            tags_input: task.tags.join(", "),
            created: display_time(task.created_at),
            created_iso: task.created_at.to_rfc3339(),
            updated: display_time(task.updated_at),
            updated_iso: task.updated_at.to_rfc3339(),
            // Shown only when it differs from the creation time as displayed.
            edited: display_time(task.updated_at) != display_time(task.created_at),
        }
    }
}

impl TaskView {
    /// The edit form of this task (for the inline editor).
    pub fn form(&self) -> TaskForm {
        TaskForm::of(self)
    }
}

/// Task counts for the summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsView {
    pub total: i64,
    pub completed: i64,
    pub pending: i64,
    pub overdue: i64,
}

impl From<TaskStats> for StatsView {
    fn from(stats: TaskStats) -> Self {
        Self {
            total: stats.total,
            completed: stats.completed,
            pending: stats.pending,
            overdue: stats.overdue,
        }
    }
}

/// Values and messages of a task form (create or edit).
#[derive(Debug, Clone, Default)]
pub struct TaskForm {
    pub title: String,
    pub description: String,
    pub priority: String,
    pub due_date: String,
    pub tags: String,
    pub errors: FieldErrors,
}

impl TaskForm {
    /// An empty create form (priority medium).
    pub fn blank() -> Self {
        Self {
            priority: "medium".to_owned(),
            ..Self::default()
        }
    }

    /// The edit form of `task`.
    pub fn of(task: &TaskView) -> Self {
        Self {
            title: task.title.clone(),
            description: task.description.clone(),
            priority: task.priority.clone(),
            due_date: task.due_input.clone(),
            tags: task.tags_input.clone(),
            errors: FieldErrors::default(),
        }
    }

    /// True when `priority` is the selected one.
    pub fn is_priority(&self, priority: &str) -> bool {
        self.priority == priority
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(completed: bool, due: Option<&str>) -> Task {
        let at = "2026-11-20T10:30:00Z".parse().unwrap();
        Task {
            id: 7,
            title: "Buy milk".to_owned(),
            description: None,
            completed,
            priority: "high".to_owned(),
            due_date: due.map(|d| d.parse().unwrap()),
            tags: vec!["home".to_owned(), "errand".to_owned()],
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_backend_refusal_without_fields_still_explains_itself() {
        let errors = FieldErrors::from_backend("the body does not match", BTreeMap::new());
        assert_eq!(errors.others(&["title"]), ["The body does not match."]);
        let mut fields = BTreeMap::new();
        fields.insert("title".to_owned(), "title must not be blank".to_owned());
        let errors = FieldErrors::from_backend("Some fields are invalid.", fields);
        assert_eq!(errors.get("title"), Some("Title must not be blank."));
        assert!(errors.others(&["title"]).is_empty());
    }

    #[test]
    fn a_task_is_overdue_only_when_pending_and_due_before_today() {
        let today: NaiveDate = "2026-11-26".parse().unwrap();
        assert!(TaskView::new(&task(false, Some("2026-11-25")), today).overdue);
        assert!(!TaskView::new(&task(false, Some("2026-11-26")), today).overdue);
        assert!(!TaskView::new(&task(true, Some("2026-11-01")), today).overdue);
        assert!(!TaskView::new(&task(false, None), today).overdue);
    }

    #[test]
    fn dates_and_tags_are_formatted_for_display_and_inputs() {
        let view = TaskView::new(
            &task(false, Some("2026-12-03")),
            "2026-11-26".parse().unwrap(),
        );
        assert_eq!(view.due, "3 Dec 2026");
        assert_eq!(view.due_input, "2026-12-03");
        assert_eq!(view.created, "20 Nov 2026, 10:30 UTC");
        assert_eq!(view.tags_input, "home, errand");
        assert_eq!(view.priority_label, "High");
        assert!(!view.edited);
    }

    #[test]
    fn backend_field_messages_become_sentences() {
        let cases = [
            (
                "email must be a valid email address",
                "Email must be a valid email address.",
            ),
            ("  title is required  ", "Title is required."),
            ("Is this right?", "Is this right?"),
            ("ünïcode first", "Ünïcode first."),
            ("already a sentence.", "Already a sentence."),
        ];
        for (raw, expected) in cases {
            let errors = FieldErrors::from_map(BTreeMap::from([("f".to_owned(), raw.to_owned())]));
            assert_eq!(errors.get("f"), Some(expected), "for {raw:?}");
        }
    }

    #[test]
    fn the_first_message_of_a_field_wins_and_unknown_fields_are_listed_apart() {
        let mut errors = FieldErrors::default();
        assert!(errors.is_empty());
        errors.add("title", "First.");
        errors.add("title", "Second.");
        errors.add("colour", "Not a field.");
        assert_eq!(errors.get("title"), Some("First."));
        assert_eq!(errors.get("tags"), None);
        assert_eq!(errors.others(&["title", "tags"]), ["colour: Not a field."]);
        assert!(!errors.is_empty());
    }

    #[test]
    fn a_blank_user_name_is_shown_as_you() {
        let shell = Shell::new("Tasks", "tasks", "tok").with_user("  ");
        assert_eq!(shell.user_name.as_deref(), Some("you"));
        let shell = Shell::new("Tasks", "tasks", "tok").with_user("Ann");
        assert_eq!(shell.user_name.as_deref(), Some("Ann"));
        assert!(shell.is_current("tasks") && !shell.is_current("login"));
        assert_eq!(shell.csrf, "tok");
        assert!(shell.css_url.starts_with("/static/app.css?v="));
    }

    #[test]
    fn a_task_changed_after_creation_is_marked_edited_and_its_form_is_filled() {
        let mut changed = task(false, Some("2026-12-03"));
        changed.updated_at = "2026-11-21T08:00:00Z".parse().unwrap();
        changed.description = Some("Two litres".to_owned());
        let view = TaskView::new(&changed, "2026-11-26".parse().unwrap());
        assert!(view.edited);
        assert_eq!(view.updated, "21 Nov 2026, 08:00 UTC");
        assert_eq!(view.created_iso, "2026-11-20T10:30:00+00:00");
        let form = view.form();
        assert_eq!(form.title, "Buy milk");
        assert_eq!(form.description, "Two litres");
        assert_eq!(form.due_date, "2026-12-03");
        let mut same_minute = task(false, None);
        same_minute.updated_at = "2026-11-20T10:30:40Z".parse().unwrap();
        assert!(
            !TaskView::new(&same_minute, "2026-11-26".parse().unwrap()).edited,
            "a change within the displayed minute shows no second date"
        );
        assert_eq!(form.tags, "home, errand");
        assert!(form.is_priority("high") && !form.is_priority("low"));
        assert!(form.errors.is_empty());
    }

    #[test]
    fn a_blank_form_defaults_to_medium_priority() {
        let form = TaskForm::blank();
        assert!(form.is_priority("medium"));
        assert!(form.title.is_empty() && form.tags.is_empty());
    }

    #[test]
    fn counts_are_copied_from_the_backend() {
        let stats = StatsView::from(TaskStats {
            total: 9,
            completed: 4,
            pending: 5,
            overdue: 2,
        });
        assert_eq!(
            (stats.total, stats.completed, stats.pending, stats.overdue),
            (9, 4, 5, 2)
        );
    }
}
