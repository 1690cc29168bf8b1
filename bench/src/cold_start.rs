//! Cold start: spawn the service, then poll its readiness URL every millisecond until the
//! first 200. The time from just before the spawn to that answer is one sample.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::http::{self, Request, Target};

/// Samples of one measurement.
#[derive(Debug, Serialize)]
pub(crate) struct Samples {
    /// Each start, in milliseconds, in the order measured.
    pub(crate) runs_ms: Vec<f64>,
    /// Their median.
    pub(crate) median_ms: f64,
}

/// Starts `command` `runs` times, one after the other, and times each until `target` answers
/// 200; each process is killed once it has answered. Fails if a start takes longer than
/// `timeout` or the process exits first.
pub(crate) fn measure(
    target: &Target,
    command: &[String],
    runs: usize,
    timeout: Duration,
    log: &Path,
) -> anyhow::Result<Samples> {
    let (program, args) = command.split_first().context("no command given")?;
    anyhow::ensure!((1..=50).contains(&runs), "runs must be 1 to 50");
    let request = Request::new("GET", target, &[], None)?;
    let mut runs_ms = Vec::with_capacity(runs);
    for run in 1..=runs {
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let errors = output.try_clone()?;
        let began = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let deadline = began + timeout;
        let answered = loop {
            if let Some(status) = child.try_wait()? {
                bail!("start {run}: the process exited with {status} before it was ready");
            }
            let now = Instant::now();
            if now >= deadline {
                break None;
            }
            let attempt_deadline = (now + Duration::from_millis(200)).min(deadline);
            let ready = http::connect(target, attempt_deadline)
                .and_then(|stream| http::exchange(stream, &request, attempt_deadline))
                .is_ok_and(|response| response.status == 200);
            if ready {
                break Some(began.elapsed());
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let _ = child.kill();
        child.wait()?;
        match answered {
            Some(took) => runs_ms.push(took.as_secs_f64() * 1000.0),
            None => bail!(
                "start {run}: no 200 from {} within {} ms",
                target.path,
                timeout.as_millis()
            ),
        }
    }
    Ok(Samples {
        median_ms: median(&runs_ms),
        runs_ms,
    })
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_odd_and_even_sample_counts() {
        assert!((median(&[5.0, 1.0, 3.0]) - 3.0).abs() < 1e-9);
        assert!((median(&[4.0, 1.0, 3.0, 2.0]) - 2.5).abs() < 1e-9);
        assert!(median(&[]).abs() < 1e-9);
    }

    #[test]
    fn a_process_that_exits_before_it_is_ready_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/readyz", listener.local_addr().unwrap());
        drop(listener);
        let target = Target::parse(&url).unwrap();
        let log = std::env::temp_dir().join(format!("taskflow-bench-{}.log", std::process::id()));
        let err = measure(
            &target,
            &["false".to_owned()],
            1,
            Duration::from_secs(5),
            &log,
        )
        .unwrap_err();
        let _ = std::fs::remove_file(&log);
        assert!(err.to_string().contains("exited"), "{err}");
    }
}
