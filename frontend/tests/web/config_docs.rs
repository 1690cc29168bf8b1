//! The frontend's documentation agrees with its code: every variable of
//! `taskflow_frontend::config::Config` is in the `[frontend]` section of `.env.example` and in
//! the Frontend table of `docs/configuration.md` (and nothing else is), the defaults written
//! there are the real ones, the example's placeholders make a valid configuration, the
//! variables both services read are named where the docs warn about them, every route of the
//! web app is described in `docs/frontend.md`, and the development guide's test commands name
//! real test targets. Only files are read: no network, no database.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use taskflow_frontend::config::Config;

/// Opens the frontend's section in `.env.example`; the next `# [name]` line or the end of the
/// file closes it.
const ENV_SECTION: &str = "# [frontend]";
/// Opens the backend's section in `.env.example`.
const ENV_BACKEND_SECTION: &str = "# [backend]";
/// Opens the frontend's section in `docs/configuration.md`; the next `## ` heading closes it.
const DOC_SECTION: &str = "## Frontend";
/// Opens the backend's section in `docs/configuration.md`; what comes before is the introduction.
const DOC_BACKEND_SECTION: &str = "## Backend";

/// The workspace root: the frontend package's parent directory.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the frontend package has a parent directory")
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

/// Whether a trimmed line of `.env.example` opens a service's section, like `# [backend]`.
fn is_env_section_marker(line: &str) -> bool {
    line.strip_prefix("# [")
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|name| !name.is_empty() && !name.contains(' '))
}

/// The lines of `.env.example` after the marker `marker`, up to the next section marker.
fn env_section_lines<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|line| line.trim() != marker);
    assert!(
        lines.next().is_some(),
        ".env.example has no `{marker}` line"
    );
    lines
        .take_while(|line| !is_env_section_marker(line.trim()))
        .collect()
}

/// One `NAME=value` line of `.env.example`, active or commented out (`# NAME=value`).
#[derive(Debug, Clone)]
struct Assignment {
    name: String,
    value: String,
    commented: bool,
}

fn assignments(lines: &[&str]) -> Vec<Assignment> {
    lines
        .iter()
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

fn env_example_assignments(marker: &str) -> Vec<Assignment> {
    let text = read_repo_file(".env.example");
    assignments(&env_section_lines(&text, marker))
}

/// `(name, active)` pairs of the active lines of a section.
fn active_pairs(assignments: &[Assignment]) -> Vec<(String, String)> {
    assignments
        .iter()
        .filter(|assignment| !assignment.commented)
        .map(|assignment| (assignment.name.clone(), assignment.value.clone()))
        .collect()
}

/// A row of the Frontend table of `docs/configuration.md`: the variable and its second cell.
#[derive(Debug)]
struct TableRow {
    name: String,
    default_cell: String,
}

fn configuration_table_rows() -> Vec<TableRow> {
    let text = read_repo_file("docs/configuration.md");
    let mut lines = text
        .lines()
        .skip_while(|line| !line.starts_with(DOC_SECTION));
    assert!(
        lines.next().is_some(),
        "docs/configuration.md has no `{DOC_SECTION}` section"
    );
    lines
        .take_while(|line| !line.starts_with("## "))
        .filter_map(|line| {
            let mut cells = line.trim().strip_prefix('|')?.split('|');
            let first = cells.next()?.trim();
            let name = first.strip_prefix('`')?.strip_suffix('`')?;
            is_variable_name(name).then(|| TableRow {
                name: name.to_owned(),
                default_cell: cells.next().unwrap_or_default().trim().to_owned(),
            })
        })
        .collect()
}

fn frontend_names() -> BTreeSet<String> {
    let names: BTreeSet<String> = Config::variable_names().into_iter().collect();
    assert!(
        names.contains("BACKEND_URL") && names.contains("PUBLIC_ORIGIN"),
        "unexpected variable list: {names:?}"
    );
    names
}

/// Fails with both differences between what a document lists and what the config reads, and
/// with any name listed twice.
fn assert_same_names(document: &str, listed: &[String]) {
    let expected = frontend_names();
    let listed_set: BTreeSet<String> = listed.iter().cloned().collect();
    let missing: Vec<&String> = expected.difference(&listed_set).collect();
    let unknown: Vec<&String> = listed_set.difference(&expected).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{document} is out of date: frontend variables missing from it: {missing:?}; names in it that the frontend does not read: {unknown:?}"
    );
    let mut seen = BTreeSet::new();
    let duplicates: Vec<&String> = listed.iter().filter(|name| !seen.insert(*name)).collect();
    assert!(
        duplicates.is_empty(),
        "{document} lists these variables more than once: {duplicates:?}"
    );
}

/// Values for the required variables, as a local run would use them.
fn required_vars() -> Vec<(String, String)> {
    vec![
        ("BACKEND_URL".to_owned(), "http://127.0.0.1:8000".to_owned()),
        (
            "PUBLIC_ORIGIN".to_owned(),
            "http://127.0.0.1:3000".to_owned(),
        ),
    ]
}

/// Fails unless setting `documented` on top of the required variables gives exactly the
/// configuration that leaving them unset gives.
fn assert_documented_defaults_are_real(document: &str, documented: Vec<(String, String)>) {
    let with_defaults_unset =
        Config::from_vars(required_vars()).expect("the required variables alone are enough");
    let vars: Vec<(String, String)> = required_vars().into_iter().chain(documented).collect();
    let with_defaults_set = Config::from_vars(vars.clone()).unwrap_or_else(|err| {
        panic!("{document}: the documented defaults {vars:?} are rejected: {err}")
    });
    // The frontend has no secrets: its debug output shows every field's value, so equal output
    // means every documented default equals the built-in one.
    assert_eq!(
        format!("{with_defaults_set:#?}"),
        format!("{with_defaults_unset:#?}"),
        "{document}: a documented default differs from the built-in one"
    );
}

#[test]
fn the_env_example_frontend_section_lists_every_frontend_variable_once_and_nothing_else() {
    let names: Vec<String> = env_example_assignments(ENV_SECTION)
        .into_iter()
        .map(|assignment| assignment.name)
        .collect();
    assert_same_names(".env.example [frontend]", &names);
}

#[test]
fn the_configuration_doc_frontend_table_lists_every_frontend_variable_once_and_nothing_else() {
    let names: Vec<String> = configuration_table_rows()
        .into_iter()
        .map(|row| row.name)
        .collect();
    assert_same_names("docs/configuration.md (Frontend table)", &names);
}

#[test]
fn the_commented_defaults_in_the_env_example_frontend_section_are_the_real_defaults() {
    let commented: Vec<Assignment> = env_example_assignments(ENV_SECTION)
        .into_iter()
        .filter(|assignment| assignment.commented)
        .collect();
    let empty: Vec<&String> = commented
        .iter()
        .filter(|assignment| assignment.value.is_empty())
        .map(|assignment| &assignment.name)
        .collect();
    assert!(
        empty.is_empty(),
        "every frontend variable has a default, so none should be shown empty: {empty:?}"
    );
    let documented = commented
        .into_iter()
        .map(|assignment| (assignment.name, assignment.value))
        .collect();
    assert_documented_defaults_are_real(".env.example [frontend]", documented);
}

#[test]
fn the_defaults_in_the_configuration_doc_frontend_table_are_the_real_defaults() {
    let mut documented = Vec::new();
    let mut required = BTreeSet::new();
    for row in configuration_table_rows() {
        if row.default_cell.contains("**required**") {
            required.insert(row.name);
            continue;
        }
        // The default is the first `code` span of the cell, as in "`5000` (5 seconds)".
        let value = row
            .default_cell
            .split('`')
            .nth(1)
            .filter(|_| row.default_cell.starts_with('`'))
            .unwrap_or_else(|| {
                panic!(
                    "the default of {} should start with a `code` value or say **required**, found `{}`",
                    row.name, row.default_cell
                )
            });
        documented.push((row.name, value.to_owned()));
    }
    assert_eq!(
        required,
        BTreeSet::from(["BACKEND_URL".to_owned(), "PUBLIC_ORIGIN".to_owned()]),
        "docs/configuration.md marks the wrong frontend variables as required"
    );
    assert_documented_defaults_are_real("docs/configuration.md (Frontend table)", documented);
}

#[test]
fn the_env_example_frontend_section_with_its_placeholders_is_a_valid_configuration() {
    let active = active_pairs(&env_example_assignments(ENV_SECTION));
    let active_names: BTreeSet<&str> = active.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        active_names,
        BTreeSet::from(["BACKEND_URL", "PUBLIC_ORIGIN"]),
        "only the required variables should be active in the [frontend] section"
    );
    // Unlike the backend's token secret, the frontend's required values are not secrets: the
    // placeholders are the addresses of a local run and are usable as they stand.
    let config = Config::from_vars(active.clone())
        .unwrap_or_else(|err| panic!("the [frontend] placeholders {active:?} are rejected: {err}"));
    assert_eq!(
        (config.backend_url.as_str(), config.public_origin.as_str()),
        ("http://127.0.0.1:8000", "http://127.0.0.1:3000"),
        "the placeholders should match the local run of docs/development.md"
    );
}

#[test]
fn the_env_example_has_a_backend_section_then_a_frontend_section_and_nothing_else() {
    let text = read_repo_file(".env.example");
    let markers: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| is_env_section_marker(line))
        .collect();
    assert_eq!(
        markers,
        [ENV_BACKEND_SECTION, ENV_SECTION],
        "the file's instructions copy everything from `# [frontend]` to the end into frontend.env"
    );
    let backend_active: BTreeSet<String> =
        active_pairs(&env_example_assignments(ENV_BACKEND_SECTION))
            .into_iter()
            .map(|(name, _)| name)
            .collect();
    let frontend_active: BTreeSet<String> = active_pairs(&env_example_assignments(ENV_SECTION))
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let clashes: Vec<&String> = backend_active.intersection(&frontend_active).collect();
    assert!(
        clashes.is_empty(),
        "both sections set {clashes:?}: loaded together, one service's value would override the other's"
    );
}

/// The names that both services read, each with its own meaning.
fn shared_names() -> BTreeSet<String> {
    let backend: BTreeSet<String> = taskflow_backend::config::Config::variable_names()
        .into_iter()
        .collect();
    let shared: BTreeSet<String> = frontend_names().intersection(&backend).cloned().collect();
    assert!(
        shared.contains("HTTP_PORT"),
        "unexpected shared names: {shared:?}"
    );
    shared
}

/// The variable names of either service that occur in `text` as words.
fn variable_names_mentioned(text: &str) -> BTreeSet<String> {
    let backend = taskflow_backend::config::Config::variable_names();
    let known: BTreeSet<String> = frontend_names().into_iter().chain(backend).collect();
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| known.contains(*word))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_introductions_name_exactly_the_variables_both_services_read() {
    let shared = shared_names();
    let env_example = read_repo_file(".env.example");
    let env_intro = env_example
        .split_once(ENV_BACKEND_SECTION)
        .map(|(intro, _)| intro)
        .expect(".env.example has a backend section");
    let configuration = read_repo_file("docs/configuration.md");
    let doc_intro = configuration
        .split_once(DOC_BACKEND_SECTION)
        .map(|(intro, _)| intro)
        .expect("docs/configuration.md has a backend section");
    for (document, intro) in [
        (".env.example (before the sections)", env_intro),
        ("docs/configuration.md (before the sections)", doc_intro),
    ] {
        assert_eq!(
            variable_names_mentioned(intro),
            shared,
            "{document} should warn about exactly the names both services read"
        );
    }
}

/// Every path given to `.route("…"` in `frontend/src/pages.rs`.
fn page_routes() -> Vec<String> {
    let source = read_repo_file("frontend/src/pages.rs");
    let routes: Vec<String> = source
        .split(".route(")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest.trim_start().strip_prefix('"')?;
            rest.split_once('"').map(|(path, _)| path.to_owned())
        })
        .collect();
    assert!(
        routes.len() >= 10 && routes.iter().any(|route| route == "/tasks/{id}/delete"),
        "suspiciously few routes found in frontend/src/pages.rs: {routes:?}"
    );
    routes
}

#[test]
fn every_route_of_the_web_app_is_described_in_the_frontend_doc() {
    let doc = read_repo_file("docs/frontend.md");
    let missing: Vec<String> = page_routes()
        .into_iter()
        .filter(|route| !doc.contains(&format!("`{route}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/frontend.md does not mention these routes (in backticks): {missing:?}"
    );
}

#[test]
fn the_route_table_of_the_frontend_doc_describes_no_route_that_does_not_exist() {
    let routes: BTreeSet<String> = page_routes().into_iter().collect();
    let doc = read_repo_file("docs/frontend.md");
    let listed: Vec<String> = doc
        .lines()
        .filter_map(|line| line.trim().strip_prefix('|')?.split('|').next())
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .filter(|path| path.starts_with('/'))
        .map(str::to_owned)
        .collect();
    assert!(
        listed.len() >= routes.len(),
        "docs/frontend.md should have a table of routes; found only {listed:?}"
    );
    let unknown: Vec<&String> = listed
        .iter()
        .filter(|path| !routes.contains(*path))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/frontend.md lists routes the web app does not have: {unknown:?}"
    );
}

#[test]
fn the_frontend_test_commands_of_the_development_guide_name_real_test_targets() {
    let manifest = read_repo_file("frontend/Cargo.toml");
    let targets: BTreeSet<&str> = manifest
        .split("[[test]]")
        .skip(1)
        .filter_map(|table| {
            let line = table
                .lines()
                .find(|line| line.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    let guide = read_repo_file("docs/development.md");
    let named: BTreeSet<&str> = guide
        .split("-p taskflow-frontend --test ")
        .skip(1)
        .filter_map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(rest.len());
            (end > 0).then(|| &rest[..end])
        })
        .collect();
    assert_eq!(
        named,
        BTreeSet::from(["browser", "web"]),
        "docs/development.md should explain how to run both frontend test binaries"
    );
    let unknown: Vec<&&str> = named.difference(&targets).collect();
    assert!(
        unknown.is_empty(),
        "docs/development.md runs test targets that frontend/Cargo.toml does not define: {unknown:?} (defined: {targets:?})"
    );
}
