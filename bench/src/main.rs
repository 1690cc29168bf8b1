//! `taskflow-bench`: the measuring helpers of `scripts/bench.sh` that need finer timing than a
//! shell loop gives (cold start, a burst of simultaneous requests), and the report: the
//! results table (stdout and Markdown) and the SVG chart.

mod burst;
mod chart;
mod cold_start;
mod http;
mod pgbench;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "taskflow-bench",
    about = "Measuring and reporting helpers of scripts/bench.sh"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts a command N times and times spawn → first 200 from a URL; prints JSON.
    ColdStart {
        /// The readiness URL to poll (loopback only).
        #[arg(long)]
        url: String,
        /// How many starts to time.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Give up on one start after this long, in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        /// Where the started processes' output goes (appended).
        #[arg(long)]
        log: PathBuf,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Sends N requests at the same moment, one connection each; prints JSON counts.
    Burst {
        /// Target URL (loopback only).
        #[arg(long)]
        url: String,
        /// Number of simultaneous requests.
        #[arg(long)]
        count: usize,
        /// HTTP method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// Extra request header, `Name: value` (repeatable).
        #[arg(long = "header")]
        headers: Vec<String>,
        /// Request body (sent as JSON).
        #[arg(long)]
        body: Option<String>,
        /// A request not answered within this many milliseconds counts as hung.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
    },
    /// Writes a pgbench script holding the statements of a server log (log_statement = all).
    PgbenchScript {
        /// The server log excerpt.
        #[arg(long)]
        log: PathBuf,
        /// Where to write the script.
        #[arg(long)]
        script: PathBuf,
        /// Where to write the `name=value` variables, one per line (for pgbench -D).
        #[arg(long)]
        variables: PathBuf,
    },
    /// Prints the results table and writes it as Markdown plus the SVG chart.
    Report {
        /// The results.json written by scripts/bench.sh.
        #[arg(long)]
        results: PathBuf,
        /// Where to write the Markdown table.
        #[arg(long)]
        markdown: PathBuf,
        /// Where to write the SVG chart.
        #[arg(long)]
        svg: PathBuf,
    },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::ColdStart {
            url,
            runs,
            timeout_ms,
            log,
            command,
        } => {
            let target = http::Target::parse(&url)?;
            let result = cold_start::measure(
                &target,
                &command,
                runs,
                Duration::from_millis(timeout_ms),
                &log,
            )?;
            println!("{}", serde_json::to_string(&result)?);
        }
        Command::Burst {
            url,
            count,
            method,
            headers,
            body,
            timeout_ms,
        } => {
            let target = http::Target::parse(&url)?;
            let request = http::Request::new(&method, &target, &headers, body.as_deref())?;
            let result = burst::run(&target, &request, count, Duration::from_millis(timeout_ms))?;
            println!("{}", serde_json::to_string(&result)?);
        }
        Command::PgbenchScript {
            log,
            script,
            variables,
        } => {
            let text = std::fs::read_to_string(&log)
                .map_err(|err| anyhow::anyhow!("reading {}: {err}", log.display()))?;
            let statements = pgbench::parse_log(&text)?;
            let (body, vars) = pgbench::script(&statements);
            std::fs::write(&script, body)
                .map_err(|err| anyhow::anyhow!("writing {}: {err}", script.display()))?;
            let mut lines = vars.join("\n");
            lines.push('\n');
            std::fs::write(&variables, lines)
                .map_err(|err| anyhow::anyhow!("writing {}: {err}", variables.display()))?;
            for statement in statements {
                println!("{}", statement.sql);
            }
        }
        Command::Report {
            results,
            markdown,
            svg,
        } => {
            let results = report::Results::read(&results)?;
            print!("{}", report::text_table(&results));
            std::fs::write(&markdown, report::markdown(&results))
                .map_err(|err| anyhow::anyhow!("writing {}: {err}", markdown.display()))?;
            chart::draw(&results, &svg)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("taskflow-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}
