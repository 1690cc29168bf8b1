//! The real `taskflow-frontend` binary as a process: configuration errors, the probe command
//! and a clean stop on SIGTERM.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_taskflow-frontend");

fn command() -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binding a free port")
        .local_addr()
        .expect("its address")
        .port()
}

#[tokio::test]
async fn a_configuration_error_exits_2_with_one_line_naming_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("PUBLIC_ORIGIN", "http://localhost:3000")],
            "BACKEND_URL is required but not set",
        ),
        (
            &[
                ("BACKEND_URL", "ftp://x"),
                ("PUBLIC_ORIGIN", "http://localhost:3000"),
            ],
            "BACKEND_URL must be an http:// URL",
        ),
        (
            &[
                ("BACKEND_URL", "http://127.0.0.1:8000"),
                ("PUBLIC_ORIGIN", "localhost"),
            ],
            "PUBLIC_ORIGIN must be an origin",
        ),
        (
            &[
                ("BACKEND_URL", "http://127.0.0.1:8000"),
                ("PUBLIC_ORIGIN", "http://localhost:3000"),
                ("HTTP_PORT", "eighty"),
            ],
            "HTTP_PORT is invalid",
        ),
    ];
    for (vars, expected) in cases {
        let mut command = command();
        command.env("RUST_BACKTRACE", "full");
        for (key, value) in *vars {
            command.env(key, value);
        }
        let output = command.output().await.expect("running the binary");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{expected}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{expected}: one line, got {stderr}");
        assert!(lines[0].contains(expected), "{expected}: {stderr}");
        assert!(!stderr.contains("panicked"), "{expected}: {stderr}");
    }
}

#[tokio::test]
async fn the_service_answers_its_probe_and_stops_cleanly_on_sigterm() {
    let port = free_port();
    let backend = free_port();
    let mut child = command()
        .env("BACKEND_URL", format!("http://127.0.0.1:{backend}"))
        .env("PUBLIC_ORIGIN", format!("http://127.0.0.1:{port}"))
        .env("COOKIE_SECURE", "false")
        .env("HTTP_HOST", "127.0.0.1")
        .env("HTTP_PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .spawn()
        .expect("starting the frontend");
    let healthz = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let probe = command()
            .args(["probe", &healthz])
            .output()
            .await
            .expect("running probe");
        if probe.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the frontend did not answer /healthz within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let readyz = command()
        .args(["probe", &format!("http://127.0.0.1:{port}/readyz")])
        .output()
        .await
        .expect("running probe");
    assert_eq!(
        readyz.status.code(),
        Some(1),
        "not ready while the backend is down"
    );
    let pid = child.id().expect("the child's pid").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("running kill");
    assert!(killed.success());
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("the frontend exits within 5 s of SIGTERM")
        .expect("waiting for the frontend");
    assert_eq!(status.code(), Some(0), "a clean exit");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "exited in {:?}",
        started.elapsed()
    );
    let output = child.wait_with_output().await.expect("reading the logs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "every log line is JSON: {line}"
        );
    }
    assert!(
        stdout.contains("stop signal received"),
        "the shutdown is logged: {stdout}"
    );
}
