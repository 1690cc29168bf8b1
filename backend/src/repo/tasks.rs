//! The `tasks` table. Every query is scoped to one user: a task of another user is as absent
//! as one that does not exist.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::count_star;
use diesel::{
    AggregateExpressionMethods as _, AsChangeset, BoolExpressionMethods as _,
    ExpressionMethods as _, Insertable, NullableExpressionMethods as _,
    PgArrayExpressionMethods as _, PgSortExpressionMethods as _, PgTextExpressionMethods as _,
    QueryDsl as _, QueryResult, Queryable, Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use uuid::Uuid;

use crate::db::schema::tasks;
use crate::domain::{Invalid, Priority};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A stored task.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub struct TaskRow {
    pub id: i64,
    pub user_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
    pub priority: i16,
    pub due_date: Option<NaiveDate>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A validated task to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = tasks)]
pub struct NewTask {
    pub user_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
    pub priority: i16,
    pub due_date: Option<NaiveDate>,
    pub tags: Vec<String>,
}

/// Validated changes to a task: `None` leaves a column alone; for nullable columns
/// `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = tasks)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub completed: Option<bool>,
    pub priority: Option<i16>,
    pub due_date: Option<Option<NaiveDate>>,
    pub tags: Option<Vec<String>>,
}

impl TaskChanges {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.completed.is_none()
            && self.priority.is_none()
            && self.due_date.is_none()
            && self.tags.is_none()
    }
}

/// Which tasks to list, by completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Every task.
    #[default]
    All,
    /// Not completed.
    Pending,
    /// Completed.
    Completed,
}

impl StatusFilter {
    /// Parses `all` (also blank or absent), `pending` or `completed`.
    pub fn parse(raw: Option<&str>) -> Result<Self, Invalid> {
        match raw.map(str::trim) {
            None | Some("" | "all") => Ok(Self::All),
            Some("pending") => Ok(Self::Pending),
            Some("completed") => Ok(Self::Completed),
            Some(_) => Err(Invalid::new(
                "status must be one of: all, pending, completed",
            )),
        }
    }
}

/// Longest search text, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Trims a search text; blank means no search.
pub fn parse_search(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(text) = raw.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(Invalid::new("search must be at most 200 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(Invalid::new("search must not contain control characters"));
    }
    Ok(Some(text.to_owned()))
}

/// What to sort a listing by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    /// Creation time (the default, newest first).
    #[default]
    Created,
    /// Last change.
    Updated,
    /// Due date; tasks without one come last.
    Due,
    /// Priority.
    Priority,
    /// Title, ignoring letter case.
    Title,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A validated listing request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub status: StatusFilter,
    pub priority: Option<Priority>,
    pub tag: Option<String>,
    pub search: Option<String>,
    pub due_before: Option<NaiveDate>,
    pub due_after: Option<NaiveDate>,
    pub sort: SortField,
    pub order: SortOrder,
    pub limit: i64,
    pub offset: i64,
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Narrows a boxed query on `tasks` to one user and the filters of a listing.
macro_rules! filtered {
    ($select:expr, $user_id:expr, $query:expr) => {{
        let query: &ListQuery = $query;
        let mut select = $select.filter(tasks::user_id.eq($user_id)).into_boxed();
        select = match query.status {
            StatusFilter::All => select,
            StatusFilter::Pending => select.filter(tasks::completed.eq(false)),
            StatusFilter::Completed => select.filter(tasks::completed.eq(true)),
        };
        if let Some(priority) = query.priority {
            select = select.filter(tasks::priority.eq(priority.as_i16()));
        }
        if let Some(tag) = &query.tag {
            select = select.filter(tasks::tags.contains(vec![tag.clone()]));
        }
        if let Some(search) = &query.search {
            let pattern = like_pattern(search);
            select = select.filter(
                tasks::title
                    .ilike(pattern.clone())
                    .or(tasks::description.ilike(pattern)),
            );
        }
        if let Some(before) = query.due_before {
            select = select.filter(tasks::due_date.lt(before));
        }
        if let Some(after) = query.due_after {
            select = select.filter(tasks::due_date.gt(after));
        }
        select
    }};
}

/// One page of a user's tasks plus the number of tasks matching the filters.
///
/// The page is read with one row more than asked for: when that extra row is absent, the
/// total follows from the page itself and no count is needed (one statement, the common
/// case). Otherwise the matching tasks are counted separately, which reads only the index;
/// a `count(*) OVER ()` on the page query would read every matching row instead (measured
/// with 10,000 tasks: see docs/performance.md).
pub async fn list(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    query: &ListQuery,
) -> QueryResult<(Vec<TaskRow>, i64)> {
    let mut select = filtered!(tasks::table.select(TaskRow::as_select()), user_id, query);
    select = match (query.sort, query.order) {
        (SortField::Created, SortOrder::Asc) => select
            .order_by(tasks::created_at.asc())
            .then_order_by(tasks::id.asc()),
        (SortField::Created, SortOrder::Desc) => select
            .order_by(tasks::created_at.desc())
            .then_order_by(tasks::id.desc()),
        (SortField::Updated, SortOrder::Asc) => select
            .order_by(tasks::updated_at.asc())
            .then_order_by(tasks::id.asc()),
        (SortField::Updated, SortOrder::Desc) => select
            .order_by(tasks::updated_at.desc())
            .then_order_by(tasks::id.desc()),
        (SortField::Due, SortOrder::Asc) => select
            .order_by(tasks::due_date.asc().nulls_last())
            .then_order_by(tasks::id.asc()),
        (SortField::Due, SortOrder::Desc) => select
            .order_by(tasks::due_date.desc().nulls_last())
            .then_order_by(tasks::id.desc()),
        (SortField::Priority, SortOrder::Asc) => select
            .order_by(tasks::priority.asc())
            .then_order_by(tasks::id.desc()),
        (SortField::Priority, SortOrder::Desc) => select
            .order_by(tasks::priority.desc())
            .then_order_by(tasks::id.desc()),
        (SortField::Title, SortOrder::Asc) => select
            .order_by(lower(tasks::title).asc())
            .then_order_by(tasks::id.asc()),
        (SortField::Title, SortOrder::Desc) => select
            .order_by(lower(tasks::title).desc())
            .then_order_by(tasks::id.desc()),
    };
    let mut rows: Vec<TaskRow> = select
        .limit(query.limit + 1)
        .offset(query.offset)
        .load(conn)
        .await?;
    let page = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let more = rows.len() > page;
    rows.truncate(page);
    let past_the_end = rows.is_empty() && query.offset > 0;
    let total = if more || past_the_end {
        count(conn, user_id, query).await?
    } else {
        query.offset + i64::try_from(rows.len()).unwrap_or(i64::MAX)
    };
    Ok((rows, total))
}

async fn count(conn: &mut AsyncPgConnection, user_id: Uuid, query: &ListQuery) -> QueryResult<i64> {
    filtered!(tasks::table.select(count_star()), user_id, query)
        .get_result(conn)
        .await
}

/// Inserts a task.
pub async fn insert(conn: &mut AsyncPgConnection, task: &NewTask) -> QueryResult<TaskRow> {
    diesel::insert_into(tasks::table)
        .values(task)
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .await
}

/// One task of the user.
pub async fn find(conn: &mut AsyncPgConnection, user_id: Uuid, id: i64) -> QueryResult<TaskRow> {
    tasks::table
        .filter(tasks::id.eq(id))
        .filter(tasks::user_id.eq(user_id))
        .select(TaskRow::as_select())
        .first(conn)
        .await
}

/// Applies changes to one task of the user and returns the result.
pub async fn update(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: i64,
    changes: &TaskChanges,
) -> QueryResult<TaskRow> {
    if changes.is_empty() {
        return find(conn, user_id, id).await;
    }
    diesel::update(
        tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::user_id.eq(user_id)),
    )
    .set(changes)
    .returning(TaskRow::as_returning())
    .get_result(conn)
    .await
}

/// Deletes one task of the user; false when there was none.
pub async fn delete(conn: &mut AsyncPgConnection, user_id: Uuid, id: i64) -> QueryResult<bool> {
    let deleted = diesel::delete(
        tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::user_id.eq(user_id)),
    )
    .execute(conn)
    .await?;
    Ok(deleted > 0)
}

/// The user's tasks whose title contains `text` (ignoring letter case), newest first, at most
/// `limit`. When none does, the tasks whose title contains every word of `text`.
pub async fn matching_title(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    text: &str,
    limit: i64,
) -> QueryResult<Vec<TaskRow>> {
    let whole: Vec<TaskRow> = tasks::table
        .filter(tasks::user_id.eq(user_id))
        .filter(tasks::title.ilike(like_pattern(text.trim())))
        .select(TaskRow::as_select())
        .order_by(tasks::created_at.desc())
        .then_order_by(tasks::id.desc())
        .limit(limit)
        .load(conn)
        .await?;
    let words: Vec<&str> = text.split_whitespace().collect();
    if !whole.is_empty() || words.len() < 2 {
        return Ok(whole);
    }
    let mut select = tasks::table
        .filter(tasks::user_id.eq(user_id))
        .select(TaskRow::as_select())
        .into_boxed();
    for word in words {
        select = select.filter(tasks::title.ilike(like_pattern(word)));
    }
    select
        .order_by(tasks::created_at.desc())
        .then_order_by(tasks::id.desc())
        .limit(limit)
        .load(conn)
        .await
}

/// Counts of a user's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskCounts {
    pub total: i64,
    pub completed: i64,
    pub overdue: i64,
}

/// Counts a user's tasks in one pass; overdue means not completed and due before `today`.
pub async fn counts(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    today: NaiveDate,
) -> QueryResult<TaskCounts> {
    // Built with the DSL (no SQL text), so that the prepared statement is cached.
    let (total, completed, overdue) = tasks::table
        .filter(tasks::user_id.eq(user_id))
        .select((
            count_star(),
            diesel::dsl::count(tasks::id).aggregate_filter(tasks::completed),
            // A task without a due date is never overdue (NULL < today is not true).
            diesel::dsl::count(tasks::id).aggregate_filter(
                tasks::completed
                    .eq(false)
                    .and(tasks::due_date.assume_not_null().lt(today)),
            ),
        ))
        .get_result::<(i64, i64, i64)>(conn)
        .await?;
    Ok(TaskCounts {
        total,
        completed,
        overdue,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_user_text_literally() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("milk"), "%milk%");
    }

    #[test]
    fn status_filters_and_search_texts_are_parsed_once_for_every_caller() {
        assert_eq!(StatusFilter::parse(None).unwrap(), StatusFilter::All);
        assert_eq!(
            StatusFilter::parse(Some(" pending ")).unwrap(),
            StatusFilter::Pending
        );
        assert!(StatusFilter::parse(Some("done")).is_err());
        assert_eq!(
            parse_search(Some("  milk ")).unwrap().as_deref(),
            Some("milk")
        );
        assert_eq!(parse_search(Some("   ")).unwrap(), None);
        assert!(parse_search(Some(&"s".repeat(201))).is_err());
        assert!(parse_search(Some("a\0b")).is_err());
        assert!(parse_search(Some("a\u{1b}b")).is_err());
    }

    #[test]
    fn empty_changes_are_detected() {
        assert!(TaskChanges::default().is_empty());
        assert!(
            !TaskChanges {
                description: Some(None),
                ..TaskChanges::default()
            }
            .is_empty()
        );
    }
}
