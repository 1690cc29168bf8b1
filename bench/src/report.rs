//! The results file written by `scripts/bench.sh`, and the table made from it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

/// Everything one benchmark run measured.
#[derive(Debug, Deserialize)]
pub(crate) struct Results {
    pub(crate) date: String,
    pub(crate) commit: String,
    pub(crate) machine: Machine,
    pub(crate) quick: bool,
    pub(crate) duration_s: u64,
    pub(crate) figures: Vec<Figure>,
    #[serde(default)]
    pub(crate) latency: Vec<LatencySeries>,
}

/// Where it ran.
#[derive(Debug, Deserialize)]
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: u32,
    pub(crate) memory_gib: f64,
    pub(crate) kernel: String,
}

/// One measured figure.
#[derive(Debug, Deserialize)]
pub(crate) struct Figure {
    pub(crate) name: String,
    pub(crate) value: Option<f64>,
    pub(crate) unit: String,
    /// Replaces the formatted value in the table when the number alone says too little.
    #[serde(default)]
    pub(crate) display: Option<String>,
    #[serde(default)]
    pub(crate) goal: Option<Goal>,
    #[serde(default)]
    pub(crate) met: Option<bool>,
}

/// A goal: `value op target`.
#[derive(Debug, Deserialize)]
pub(crate) struct Goal {
    /// `>=`, `<` or `<=`.
    pub(crate) op: String,
    pub(crate) value: f64,
    /// How the goal reads in the table.
    pub(crate) text: String,
}

/// Latency percentiles of one load run, as (percentile, milliseconds).
#[derive(Debug, Deserialize)]
pub(crate) struct LatencySeries {
    pub(crate) name: String,
    pub(crate) percentiles: Vec<(f64, f64)>,
}

impl Results {
    /// Reads and parses a results file.
    pub(crate) fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

impl Goal {
    /// How far the value is past the goal: above 1 means met, whichever way the goal points.
    pub(crate) fn margin(&self, value: f64) -> f64 {
        let (better, worse) = if self.op.starts_with('>') {
            (value, self.value)
        } else {
            (self.value, value)
        };
        if worse <= 0.0 {
            f64::INFINITY
        } else {
            better / worse
        }
    }
}

/// Groups digits by thousands: 12345 → "12,345".
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

/// A value with its unit, rounded for reading.
pub(crate) fn format_value(value: f64, unit: &str) -> String {
    match unit {
        "req/s" | "tps" => format!("{} {unit}", thousands(value)),
        "ms" if value < 10.0 => format!("{value:.2} ms"),
        "ms" => format!("{value:.1} ms"),
        "MiB" => format!("{value:.1} MiB"),
        "%" => format!("{value:.0} %"),
        "" => thousands(value),
        _ => format!("{} {unit}", thousands(value)),
    }
}

struct Row {
    name: String,
    value: String,
    goal: String,
    met: &'static str,
}

fn rows(results: &Results) -> Vec<Row> {
    results
        .figures
        .iter()
        .map(|figure| Row {
            name: figure.name.clone(),
            value: figure.display.clone().unwrap_or_else(|| {
                figure.value.map_or_else(
                    || "not measured".to_owned(),
                    |v| format_value(v, &figure.unit),
                )
            }),
            goal: figure
                .goal
                .as_ref()
                .map_or_else(|| "report only".to_owned(), |goal| goal.text.clone()),
            met: match figure.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            },
        })
        .collect()
}

fn header(results: &Results) -> String {
    let mode = if results.quick {
        format!("quick run, {} s per load", results.duration_s)
    } else {
        format!("{} s per load", results.duration_s)
    };
    format!(
        "{} · commit {} · {} ({} cores, {:.0} GiB, Linux {}) · {mode}",
        results.date,
        results.commit,
        results.machine.cpu,
        results.machine.cores,
        results.machine.memory_gib,
        results.machine.kernel
    )
}

/// The table as aligned plain text, with the run's header line.
pub(crate) fn text_table(results: &Results) -> String {
    let rows = rows(results);
    let width = |pick: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|row| pick(row).chars().count())
            .chain([title.len()])
            .max()
            .unwrap_or_default()
    };
    let name_w = width(|r| &r.name, "figure");
    let value_w = width(|r| &r.value, "value");
    let goal_w = width(|r| &r.goal, "goal");
    let mut out = format!("{}\n\n", header(results));
    let line = |out: &mut String, a: &str, b: &str, c: &str, d: &str| {
        let _ = writeln!(out, "{a:<name_w$}  {b:>value_w$}  {c:<goal_w$}  {d}");
    };
    line(&mut out, "figure", "value", "goal", "met");
    line(
        &mut out,
        &"-".repeat(name_w),
        &"-".repeat(value_w),
        &"-".repeat(goal_w),
        "---",
    );
    for row in &rows {
        line(&mut out, &row.name, &row.value, &row.goal, row.met);
    }
    out
}

/// The table in Markdown, with the run's header line.
pub(crate) fn markdown(results: &Results) -> String {
    let mut out = format!("{}\n\n", header(results));
    out.push_str("| figure | value | goal | met |\n|---|--:|---|---|\n");
    for row in rows(results) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.name.replace('|', "\\|"),
            row.value.replace('|', "\\|"),
            row.goal.replace('|', "\\|"),
            row.met
        );
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Results {
        serde_json::from_str(
            r#"{
              "date": "2026-11-27T02:00:00Z", "commit": "abc1234", "quick": false, "duration_s": 15,
              "machine": {"cpu": "AMD EPYC", "cores": 2, "memory_gib": 23.4, "kernel": "6.1"},
              "figures": [
                {"id": "list_rps_16", "name": "list 100 tasks at 16 connections", "value": 12345.4,
                 "unit": "req/s", "goal": {"op": ">=", "value": 5000, "text": ">= 5,000 req/s"}, "met": true},
                {"id": "list_p99_64", "name": "list p99 at 64 connections", "value": 12.5,
                 "unit": "ms", "goal": {"op": "<", "value": 10, "text": "< 10 ms"}, "met": false},
                {"id": "page_rps_16", "name": "tasks page | frontend", "value": 900, "unit": "req/s"},
                {"id": "inflight", "name": "200 in flight", "value": 200, "unit": "",
                 "display": "200 of 200: 200 x 2xx", "goal": {"op": ">=", "value": 200, "text": "all answered"}, "met": true}
              ],
              "latency": [{"name": "list, 16 connections", "percentiles": [[50, 1.2], [99, 3.4]]}]
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn values_are_rounded_for_reading() {
        assert_eq!(format_value(12345.4, "req/s"), "12,345 req/s");
        assert_eq!(format_value(999.0, "req/s"), "999 req/s");
        assert_eq!(format_value(1234567.0, ""), "1,234,567");
        assert_eq!(format_value(0.857, "ms"), "0.86 ms");
        assert_eq!(format_value(41.26, "ms"), "41.3 ms");
        assert_eq!(format_value(7.94, "MiB"), "7.9 MiB");
        assert_eq!(format_value(63.4, "%"), "63 %");
    }

    #[test]
    fn the_margin_is_above_one_exactly_when_the_goal_is_met() {
        let at_least = Goal {
            op: ">=".to_owned(),
            value: 5000.0,
            text: String::new(),
        };
        assert!((at_least.margin(10_000.0) - 2.0).abs() < 1e-9);
        let below = Goal {
            op: "<".to_owned(),
            value: 10.0,
            text: String::new(),
        };
        assert!((below.margin(20.0) - 0.5).abs() < 1e-9);
        assert!(below.margin(0.0).is_infinite());
    }

    #[test]
    fn the_tables_list_every_figure_with_its_goal_and_verdict() {
        let results = sample();
        let text = text_table(&results);
        assert!(text.contains("12,345 req/s"), "{text}");
        assert!(text.contains("12.5 ms"), "{text}");
        assert!(text.contains("report only"), "{text}");
        assert!(text.contains("200 of 200: 200 x 2xx"), "{text}");
        assert_eq!(
            text.lines().filter(|l| l.ends_with("NO")).count(),
            1,
            "{text}"
        );
        let md = markdown(&results);
        assert!(
            md.contains("| tasks page \\| frontend | 900 req/s | report only | - |"),
            "{md}"
        );
        assert!(md.contains("commit abc1234"), "{md}");
    }
}
