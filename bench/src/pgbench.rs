//! A pgbench script from a PostgreSQL server log written with `log_statement = 'all'`: every
//! statement the server executed, in order, with its parameters turned into pgbench
//! variables so that `pgbench -M prepared` sends them as bind parameters, exactly as the
//! application did.

use std::fmt::Write as _;

use anyhow::bail;

/// One executed statement: its SQL (with `$n` placeholders) and its parameter values
/// (`None` = NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) params: Vec<Option<String>>,
}

/// What the benchmark itself sends to switch logging on and off; not part of the request.
fn is_own(sql: &str) -> bool {
    sql.contains("pg_reload_conf") || sql.starts_with("ALTER SYSTEM")
}

/// The statements of a server log, in the order they ran.
pub(crate) fn parse_log(log: &str) -> anyhow::Result<Vec<Statement>> {
    let mut statements: Vec<Statement> = Vec::new();
    // Whether the last LOG line was a statement (so continuation and DETAIL lines belong to it).
    let mut in_statement = false;
    for line in log.lines() {
        if let Some(continued) = line.strip_prefix('\t') {
            if in_statement && let Some(last) = statements.last_mut() {
                last.sql.push(' ');
                last.sql.push_str(continued.trim());
            }
            continue;
        }
        if let Some(rest) = after(line, "LOG:  execute ") {
            let Some((_, sql)) = rest.split_once(": ") else {
                bail!("unexpected execute line: {line}");
            };
            statements.push(Statement {
                sql: sql.to_owned(),
                params: Vec::new(),
            });
            in_statement = true;
        } else if let Some(sql) = after(line, "LOG:  statement: ") {
            statements.push(Statement {
                sql: sql.to_owned(),
                params: Vec::new(),
            });
            in_statement = true;
        } else if let Some(params) = after(line, "DETAIL:  parameters: ") {
            if in_statement && let Some(last) = statements.last_mut() {
                last.params = parse_params(params)?;
            }
        } else {
            in_statement = false;
        }
    }
    statements.retain(|statement| !is_own(&statement.sql));
    if statements.is_empty() {
        bail!("the log holds no executed statements (was log_statement = 'all' in effect?)");
    }
    Ok(statements)
}

fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|at| &line[at + marker.len()..])
}

/// Parses `$1 = 'a', $2 = NULL, $3 = 'it''s'`.
fn parse_params(text: &str) -> anyhow::Result<Vec<Option<String>>> {
    let mut params = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(after_dollar) = rest.strip_prefix('$') else {
            bail!("unexpected parameter list: {text}");
        };
        let digits = after_dollar.bytes().take_while(u8::is_ascii_digit).count();
        let index: usize = after_dollar[..digits].parse()?;
        if index != params.len() + 1 {
            bail!("parameters out of order in: {text}");
        }
        let Some(value) = after_dollar[digits..].strip_prefix(" = ") else {
            bail!("unexpected parameter list: {text}");
        };
        if let Some(tail) = value.strip_prefix("NULL") {
            params.push(None);
            rest = tail;
        } else if let Some(quoted) = value.strip_prefix('\'') {
            let mut out = String::new();
            let mut chars = quoted.char_indices().peekable();
            let mut end = None;
            while let Some((at, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                        chars.next();
                        out.push('\'');
                    } else {
                        end = Some(at + 1);
                        break;
                    }
                } else {
                    out.push(c);
                }
            }
            let Some(end) = end else {
                bail!("unterminated parameter value in: {text}");
            };
            params.push(Some(out));
            rest = &quoted[end..];
        } else {
            bail!("unexpected parameter value in: {text}");
        }
        rest = rest.strip_prefix(", ").unwrap_or(rest).trim_start();
    }
    Ok(params)
}

/// The pgbench script (one statement per line) and the `name=value` variables it needs.
pub(crate) fn script(statements: &[Statement]) -> (String, Vec<String>) {
    let mut text = String::from(
        "-- The statements of one list request, captured from the server log; parameters are\n\
         -- pgbench variables (set with -D), sent as bind parameters with -M prepared.\n",
    );
    let mut variables = Vec::new();
    for (number, statement) in statements.iter().enumerate() {
        let mut sql = String::new();
        let mut rest = statement.sql.as_str();
        while let Some(at) = rest.find('$') {
            sql.push_str(&rest[..at]);
            let tail = &rest[at + 1..];
            let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
            let param = tail[..digits].parse::<usize>().ok().and_then(|index| {
                statement
                    .params
                    .get(index.wrapping_sub(1))
                    .map(|p| (index, p))
            });
            match param {
                Some((index, Some(value))) => {
                    let name = format!("s{}p{index}", number + 1);
                    let _ = write!(sql, ":{name}");
                    variables.push(format!("{name}={value}"));
                }
                Some((_, None)) => sql.push_str("NULL"),
                None => {
                    sql.push('$');
                    sql.push_str(&tail[..digits]);
                }
            }
            rest = &tail[digits..];
        }
        sql.push_str(rest);
        let _ = writeln!(text, "{};", sql.trim_end_matches(';'));
    }
    variables.sort();
    variables.dedup();
    (text, variables)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
2026-11-27 01:00:00.000 UTC [10] LOG:  received SIGHUP, reloading configuration files
2026-11-27 01:00:00.001 UTC [10] LOG:  parameter \"log_statement\" changed to \"all\"
2026-11-27 01:00:00.100 UTC [42] LOG:  execute <unnamed>: SELECT 1
2026-11-27 01:00:00.101 UTC [42] LOG:  execute __diesel_stmt_0: SELECT \"users\".\"id\" FROM \"users\" WHERE \"users\".\"id\" = $1
2026-11-27 01:00:00.101 UTC [42] DETAIL:  parameters: $1 = '5b0c'
2026-11-27 01:00:00.102 UTC [42] LOG:  execute __diesel_stmt_1: SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3 LIMIT $10
2026-11-27 01:00:00.102 UTC [42] DETAIL:  parameters: $1 = 'it''s, ok', $2 = NULL, $3 = '100', $4 = '4', $5 = '5', $6 = '6', $7 = '7', $8 = '8', $9 = '9', $10 = '10'
2026-11-27 01:00:00.200 UTC [43] LOG:  statement: ALTER SYSTEM RESET log_statement
2026-11-27 01:00:00.201 UTC [43] LOG:  statement: SELECT pg_reload_conf()
";

    #[test]
    fn executed_statements_are_read_with_their_parameters_and_the_switches_left_out() {
        let statements = parse_log(LOG).unwrap();
        assert_eq!(statements.len(), 3);
        assert_eq!(statements[0].sql, "SELECT 1");
        assert!(statements[0].params.is_empty());
        assert_eq!(statements[1].params, [Some("5b0c".to_owned())]);
        assert_eq!(statements[2].params[0].as_deref(), Some("it's, ok"));
        assert_eq!(statements[2].params[1], None);
        assert_eq!(statements[2].params.len(), 10);
    }

    #[test]
    fn the_script_names_each_parameter_per_statement() {
        let (text, variables) = script(&parse_log(LOG).unwrap());
        assert!(text.contains("\nSELECT 1;\n"), "{text}");
        assert!(text.contains("WHERE \"users\".\"id\" = :s2p1;"), "{text}");
        assert!(
            text.contains("a = :s3p1 AND b = NULL AND c = :s3p3 LIMIT :s3p10;"),
            "{text}"
        );
        assert!(variables.contains(&"s2p1=5b0c".to_owned()));
        assert!(variables.contains(&"s3p1=it's, ok".to_owned()));
        assert!(variables.contains(&"s3p10=10".to_owned()));
    }

    #[test]
    fn a_log_without_statements_is_an_error() {
        assert!(parse_log("2026 UTC [1] LOG:  database system is ready\n").is_err());
        assert!(parse_params("$1 = 'open").is_err());
        assert!(parse_params("$2 = '1'").is_err());
    }
}
