//! The documentation agrees with the code: every backend configuration variable appears in the
//! backend sections of `.env.example` and `docs/configuration.md` (and nothing else does there), the
//! example's defaults are the real ones, every API operation and error code is described in
//! `docs/api.md`, and the README's test command exists. No database needed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use taskflow_backend::config::Config;

/// Routes served outside the OpenAPI document that `docs/api.md` may describe too.
const ROUTES_OUTSIDE_OPENAPI: &[(&str, &str)] = &[
    ("GET", "/metrics"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
];

/// The workspace root (the backend package's parent directory).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the backend package has a parent directory")
        .to_path_buf()
}

fn read_repo_file(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn is_variable_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|first| first.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// One `NAME=value` line of `.env.example`, active or commented out (`# NAME=value`).
#[derive(Debug)]
struct Assignment {
    name: String,
    value: String,
    commented: bool,
}

/// Marks the start of the backend's section in `.env.example`; the next `# [name]` line ends it.
const ENV_EXAMPLE_SECTION: &str = "# [backend]";
/// Starts the backend's section in `docs/configuration.md`; the next `## ` heading ends it.
const CONFIGURATION_DOC_SECTION: &str = "## Backend";

/// The lines of `text` after the line `starts` begins, up to the next line `ends` accepts.
fn section<'a>(
    document: &str,
    text: &'a str,
    starts: impl Fn(&str) -> bool,
    ends: impl Fn(&str) -> bool,
) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|line| !starts(line.trim()));
    assert!(lines.next().is_some(), "{document} has no backend section");
    lines.take_while(|line| !ends(line.trim())).collect()
}

/// Whether a line of `.env.example` opens a service's section, like `# [frontend]`.
fn is_env_section_marker(line: &str) -> bool {
    line.strip_prefix("# [")
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|name| !name.is_empty() && !name.contains(' '))
}

fn env_example_assignments() -> Vec<Assignment> {
    let text = read_repo_file(".env.example");
    section(
        ".env.example",
        &text,
        |line| line == ENV_EXAMPLE_SECTION,
        is_env_section_marker,
    )
    .into_iter()
    .filter_map(|line| {
        let line = line.trim();
        let (commented, rest) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, line),
        };
        let (name, value) = rest.split_once('=')?;
        is_variable_name(name).then(|| Assignment {
            name: name.to_owned(),
            value: value.to_owned(),
            commented,
        })
    })
    .collect()
}

/// The names in the first cell of every table row of the backend section of
/// `docs/configuration.md` that is a variable name in backticks.
fn configuration_table_names() -> Vec<String> {
    let text = read_repo_file("docs/configuration.md");
    section(
        "docs/configuration.md",
        &text,
        |line| line.starts_with(CONFIGURATION_DOC_SECTION),
        |line| line.starts_with("## "),
    )
    .into_iter()
    .filter_map(|line| {
        let first_cell = line.trim().strip_prefix('|')?.split('|').next()?.trim();
        let name = first_cell.strip_prefix('`')?.strip_suffix('`')?;
        is_variable_name(name).then(|| name.to_owned())
    })
    .collect()
}

fn config_names() -> BTreeSet<String> {
    let names: BTreeSet<String> = Config::variable_names().into_iter().collect();
    assert!(
        names.contains("DATABASE_URL") && names.contains("JWT_SECRET"),
        "unexpected variable list: {names:?}"
    );
    names
}

/// Fails with both differences between what a document lists and what the config reads.
fn assert_same_names(document: &str, listed: &[String]) {
    let expected = config_names();
    let listed_set: BTreeSet<String> = listed.iter().cloned().collect();
    let missing: Vec<&String> = expected.difference(&listed_set).collect();
    let unknown: Vec<&String> = listed_set.difference(&expected).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{document} is out of date: variables missing from it: {missing:?}; names in it that the config does not read: {unknown:?}"
    );
    let mut seen = BTreeSet::new();
    let duplicates: Vec<&String> = listed.iter().filter(|name| !seen.insert(*name)).collect();
    assert!(
        duplicates.is_empty(),
        "{document} lists these variables more than once: {duplicates:?}"
    );
}

/// A value that satisfies the JWT_SECRET length rule.
const VALID_SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn env_example_lists_every_config_variable_and_nothing_else() {
    let names: Vec<String> = env_example_assignments()
        .into_iter()
        .map(|assignment| assignment.name)
        .collect();
    assert_same_names(".env.example", &names);
}

#[test]
fn the_configuration_doc_table_lists_every_config_variable_and_nothing_else() {
    assert_same_names("docs/configuration.md", &configuration_table_names());
}

#[test]
fn the_commented_defaults_in_env_example_are_the_real_defaults() {
    let assignments = env_example_assignments();
    let required = [
        (
            "DATABASE_URL".to_owned(),
            "postgres://taskflow@localhost/taskflow".to_owned(),
        ),
        ("JWT_SECRET".to_owned(), VALID_SECRET.to_owned()),
    ];
    let with_defaults_unset =
        Config::from_vars(required.clone()).expect("the required variables alone are enough");
    let documented_defaults = assignments
        .iter()
        .filter(|assignment| assignment.commented && !assignment.value.is_empty())
        .map(|assignment| (assignment.name.clone(), assignment.value.clone()));
    let vars: Vec<(String, String)> = required.into_iter().chain(documented_defaults).collect();
    let with_defaults_set = Config::from_vars(vars.clone())
        .unwrap_or_else(|err| panic!("the documented defaults {vars:?} are rejected: {err}"));
    // Secrets print redacted and every other field prints its value, so equal output means
    // every documented default equals the built-in one.
    assert_eq!(
        format!("{with_defaults_set:#?}"),
        format!("{with_defaults_unset:#?}"),
        "a commented-out value in .env.example differs from the built-in default"
    );
}

#[test]
fn the_env_example_placeholder_secret_is_refused_until_replaced() {
    let active: Vec<(String, String)> = env_example_assignments()
        .into_iter()
        .filter(|assignment| !assignment.commented)
        .map(|assignment| (assignment.name, assignment.value))
        .collect();
    let active_names: BTreeSet<&str> = active.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        active_names,
        BTreeSet::from(["DATABASE_URL", "JWT_SECRET"]),
        "only the required variables should be active in .env.example"
    );
    let err = Config::from_vars(active.clone())
        .expect_err("the placeholder JWT_SECRET must not be accepted");
    assert!(
        err.to_string().starts_with("JWT_SECRET "),
        "expected a JWT_SECRET error, got `{err}`"
    );
    let replaced = active.into_iter().map(|(name, value)| {
        let value = if name == "JWT_SECRET" {
            VALID_SECRET.to_owned()
        } else {
            value
        };
        (name, value)
    });
    Config::from_vars(replaced)
        .unwrap_or_else(|err| panic!("with a real secret the example should be valid: {err}"));
}

/// `(METHOD, path)` of every operation in the generated OpenAPI document.
fn openapi_operations() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(taskflow_backend::routes::openapi())
        .expect("the OpenAPI document serialises");
    let paths = doc["paths"]
        .as_object()
        .expect("the OpenAPI document has paths");
    let operations: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .filter(|(method, _)| {
                    matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete")
                })
                .map(move |(method, _)| (method.to_uppercase(), path.clone()))
        })
        .collect();
    assert!(
        operations.len() >= 10,
        "suspiciously few operations: {operations:?}"
    );
    operations
}

/// `(METHOD, path)` of every `### METHOD /path` heading in `docs/api.md`.
fn api_doc_headings() -> Vec<(String, String)> {
    read_repo_file("docs/api.md")
        .lines()
        .filter_map(|line| {
            let heading = line.strip_prefix("### ")?;
            let mut words = heading.split_whitespace();
            let method = words.next()?;
            let path = words.next()?.trim_matches('`');
            (matches!(method, "GET" | "POST" | "PUT" | "PATCH" | "DELETE") && path.starts_with('/'))
                .then(|| (method.to_owned(), path.to_owned()))
        })
        .collect()
}

#[test]
fn every_path_of_the_openapi_document_appears_in_the_api_doc() {
    let api_md = read_repo_file("docs/api.md");
    let doc = serde_json::to_value(taskflow_backend::routes::openapi())
        .expect("the OpenAPI document serialises");
    let missing: Vec<&String> = doc["paths"]
        .as_object()
        .expect("the OpenAPI document has paths")
        .keys()
        .filter(|path| !api_md.contains(path.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/api.md does not mention these paths: {missing:?}"
    );
}

#[test]
fn the_api_doc_has_one_section_per_operation_and_none_for_operations_that_do_not_exist() {
    let headings = api_doc_headings();
    let documented: BTreeSet<(String, String)> = headings.iter().cloned().collect();
    let operations = openapi_operations();
    let undocumented: Vec<&(String, String)> = operations.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "docs/api.md has no `### METHOD /path` section for: {undocumented:?}"
    );
    let extra_routes: BTreeSet<(String, String)> = ROUTES_OUTSIDE_OPENAPI
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    let stale: Vec<&(String, String)> = documented
        .iter()
        .filter(|op| !operations.contains(*op) && !extra_routes.contains(*op))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/api.md describes operations the service does not have: {stale:?}"
    );
    assert_eq!(
        headings.len(),
        documented.len(),
        "docs/api.md describes an operation twice: {headings:?}"
    );
}

#[test]
fn every_error_code_the_api_returns_is_listed_in_the_api_doc() {
    let api_md = read_repo_file("docs/api.md");
    let codes = [
        "bad_request",
        "invalid_body",
        "validation_failed",
        "unauthorized",
        "invalid_credentials",
        "not_found",
        "method_not_allowed",
        "timeout",
        "conflict",
        "payload_too_large",
        "unsupported_media_type",
        "rate_limited",
        "internal",
        "unavailable",
        "not_ready",
    ];
    let missing: Vec<&str> = codes
        .into_iter()
        .filter(|code| !api_md.contains(&format!("`{code}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/api.md does not list these error codes: {missing:?}"
    );
}

#[test]
fn the_readme_test_command_exists_and_is_executable() {
    use std::os::unix::fs::PermissionsExt as _;

    let readme = read_repo_file("README.md");
    assert!(
        readme.contains("scripts/check.sh"),
        "README.md should give scripts/check.sh as the test command"
    );
    let script = repo_root().join("scripts/check.sh");
    let metadata = std::fs::metadata(&script)
        .unwrap_or_else(|err| panic!("{} is missing: {err}", script.display()));
    assert!(metadata.is_file(), "{} is not a file", script.display());
    assert!(
        metadata.permissions().mode() & 0o111 != 0,
        "{} is not executable",
        script.display()
    );
}

#[test]
fn the_docs_linked_from_the_readme_exist() {
    let readme = read_repo_file("README.md");
    let linked: Vec<&str> = readme
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| !target.contains("://") && !target.starts_with('#'))
        .map(|target| target.split('#').next().unwrap_or(target))
        .collect();
    assert!(
        linked.contains(&"docs/api.md"),
        "README.md should link docs/api.md; links: {linked:?}"
    );
    let missing: Vec<&&str> = linked
        .iter()
        .filter(|target| !repo_root().join(target).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "README.md links files that do not exist: {missing:?}"
    );
}
