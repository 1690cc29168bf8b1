//! Queries, one module per table. Handlers call these functions and never use the diesel DSL
//! themselves.

pub mod conversations;
pub mod tasks;
pub mod tokens;
pub mod users;

/// True when `err` is a unique violation of the named constraint or index.
pub fn is_unique_violation(err: &diesel::result::Error, constraint: &str) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(constraint)
    )
}
