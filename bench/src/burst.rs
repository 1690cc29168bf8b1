//! N requests sent at the same moment, one connection each: every connection is opened
//! first, then all requests are written together, then each answer is awaited under one
//! deadline. The outcome counts statuses, JSON error bodies and requests left hanging.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::http::{self, Failure, Request, Target};

/// Counts and timings of one burst.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct Outcome {
    /// Requests sent.
    pub(crate) count: usize,
    /// Answers by status code.
    pub(crate) statuses: BTreeMap<u16, usize>,
    /// Answers with a 2xx status.
    pub(crate) ok: usize,
    /// 503 answers whose body is a JSON error.
    pub(crate) unavailable_json: usize,
    /// Anything else that was answered (other statuses, 503 without JSON).
    pub(crate) other: usize,
    /// Requests without an answer by the deadline.
    pub(crate) hung: usize,
    /// Connections that failed (refused, reset, not HTTP).
    pub(crate) broken: usize,
    /// The first few failure messages.
    pub(crate) failures: Vec<String>,
    /// Slowest answer, from the common start, in milliseconds.
    pub(crate) max_ms: f64,
    /// Median answer time, in milliseconds.
    pub(crate) p50_ms: f64,
}

enum Result1 {
    Answered(http::Response, Duration),
    Failed(Failure),
}

/// Sends `count` copies of `request` at once and waits at most `timeout` for the answers.
pub(crate) fn run(
    target: &Target,
    request: &Request,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!((1..=1000).contains(&count), "count must be 1 to 1000");
    let connect_deadline = Instant::now() + timeout;
    let barrier = Arc::new(Barrier::new(count + 1));
    let start = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut workers = Vec::with_capacity(count);
    for _ in 0..count {
        let barrier = Arc::clone(&barrier);
        let start = Arc::clone(&start);
        let target = target.clone();
        let request = request.clone();
        let worker = thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let stream = http::connect(&target, connect_deadline);
                barrier.wait();
                let began = *start.get_or_init(Instant::now);
                let stream = match stream {
                    Ok(stream) => stream,
                    Err(failure) => return Result1::Failed(failure),
                };
                match http::exchange(stream, &request, began + timeout) {
                    Ok(response) => Result1::Answered(response, began.elapsed()),
                    Err(failure) => Result1::Failed(failure),
                }
            })?;
        workers.push(worker);
    }
    barrier.wait();
    let results: Vec<Result1> = workers
        .into_iter()
        .map(|worker| {
            worker
                .join()
                .unwrap_or_else(|_| Result1::Failed(Failure::Broken("worker panicked".to_owned())))
        })
        .collect();
    Ok(summarise(count, results))
}

fn summarise(count: usize, results: Vec<Result1>) -> Outcome {
    let mut outcome = Outcome {
        count,
        statuses: BTreeMap::new(),
        ok: 0,
        unavailable_json: 0,
        other: 0,
        hung: 0,
        broken: 0,
        failures: Vec::new(),
        max_ms: 0.0,
        p50_ms: 0.0,
    };
    let mut times = Vec::with_capacity(count);
    for result in results {
        match result {
            Result1::Answered(response, took) => {
                *outcome.statuses.entry(response.status).or_default() += 1;
                match response.status {
                    200..=299 => outcome.ok += 1,
                    503 if response.json => outcome.unavailable_json += 1,
                    _ => outcome.other += 1,
                }
                times.push(took.as_secs_f64() * 1000.0);
            }
            Result1::Failed(Failure::TimedOut) => outcome.hung += 1,
            Result1::Failed(Failure::Broken(message)) => {
                outcome.broken += 1;
                if outcome.failures.len() < 5 {
                    outcome.failures.push(message);
                }
            }
        }
    }
    times.sort_by(f64::total_cmp);
    outcome.max_ms = times.last().copied().unwrap_or_default();
    outcome.p50_ms = times.get(times.len() / 2).copied().unwrap_or_default();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, json: bool, ms: u64) -> Result1 {
        Result1::Answered(http::Response { status, json }, Duration::from_millis(ms))
    }

    #[test]
    fn outcomes_are_counted_by_kind() {
        let outcome = summarise(
            6,
            vec![
                answered(200, true, 3),
                answered(201, true, 5),
                answered(503, true, 9),
                answered(503, false, 1),
                Result1::Failed(Failure::TimedOut),
                Result1::Failed(Failure::Broken("reset".to_owned())),
            ],
        );
        assert_eq!(outcome.ok, 2);
        assert_eq!(outcome.unavailable_json, 1);
        assert_eq!(outcome.other, 1);
        assert_eq!(outcome.hung, 1);
        assert_eq!(outcome.broken, 1);
        assert_eq!(outcome.failures, ["reset"]);
        assert_eq!(outcome.statuses[&503], 2);
        assert!((outcome.max_ms - 9.0).abs() < 1e-9);
        assert!((outcome.p50_ms - 5.0).abs() < 1e-9);
    }

    #[test]
    fn a_burst_against_a_closed_port_reports_broken_connections() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let target = Target::parse(&url).unwrap();
        let request = Request::new("GET", &target, &[], None).unwrap();
        let outcome = run(&target, &request, 3, Duration::from_secs(2)).unwrap();
        assert_eq!(outcome.broken, 3);
        assert_eq!(outcome.ok + outcome.hung, 0);
    }
}
