//! The real binary as a child process: configuration errors, concurrent `migrate`, graceful
//! shutdown on SIGTERM (idle and with a slow request in flight), JSON logs without secrets,
//! and the `probe` and `--help` commands.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::helpers::{JWT_SECRET, PASSWORD, TestDb, http_client, spawn_app};
use crate::resilience::{Outcome, RawClient};

const BINARY: &str = env!("CARGO_BIN_EXE_taskflow-backend");

/// The binary with `args`, an empty environment apart from `PATH` and `env`, piped output,
/// killed if the test drops it.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs the binary to completion (at most `limit`).
async fn run(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    tokio::time::timeout(limit, command(args, env).output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "`taskflow-backend {}` did not finish within {limit:?}",
                args.join(" ")
            )
        })
        .expect("running the binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A loopback port that nothing listens on (bound, then released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a probe port");
    listener.local_addr().expect("local address").port()
}

/// Sends `SIG<signal>` to `pid` (the crate forbids unsafe code, so no libc).
async fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .await
        .expect("running kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Sends SIGTERM to `pid`.
async fn send_sigterm(pid: u32) {
    send_signal(pid, "TERM").await;
}

/// `url` with `password` added to its user part (`postgres://user@…` → `postgres://user:password@…`).
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL has a scheme");
    let (user, host) = rest.split_once('@').expect("URL names a user");
    format!("{scheme}://{user}:{password}@{host}")
}

/// A loopback TCP server that accepts connections and never answers.
struct SilentServer {
    port: u16,
    acceptor: JoinHandle<()>,
}

impl SilentServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a silent server");
        let port = listener.local_addr().expect("local address").port();
        let acceptor = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                open.push(stream);
            }
        });
        Self { port, acceptor }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// `taskflow-backend serve` as a child process on a free loopback port.
struct Server {
    child: Child,
    port: u16,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
    client: reqwest::Client,
}

/// How a server process ended.
struct Exited {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn collect(
    stream: Option<impl tokio::io::AsyncRead + Unpin + Send + 'static>,
) -> JoinHandle<String> {
    tokio::spawn(async move {
        let mut out = String::new();
        if let Some(mut stream) = stream {
            let mut bytes = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut bytes).await;
            out = text(&bytes);
        }
        out
    })
}

impl Server {
    /// Starts the server on `database_url` with `overrides` and waits until `/readyz` is 200.
    async fn start(database_url: &str, overrides: &[(&str, &str)]) -> Self {
        Self::start_until(database_url, overrides, "/readyz").await
    }

    /// Starts the server and waits until `ready_path` answers 200.
    async fn start_until(database_url: &str, overrides: &[(&str, &str)], ready_path: &str) -> Self {
        let port = free_port();
        let port_text = port.to_string();
        let mut env: Vec<(&str, &str)> = vec![
            ("DATABASE_URL", database_url),
            ("JWT_SECRET", JWT_SECRET),
            ("HTTP_HOST", "127.0.0.1"),
            ("HTTP_PORT", &port_text),
            ("SHUTDOWN_GRACE_SECONDS", "5"),
            ("AUTH_RATE_LIMIT_PER_IP", "10000"),
            ("AUTH_RATE_LIMIT_PER_ACCOUNT", "10000"),
        ];
        for (key, value) in overrides {
            env.retain(|(k, _)| k != key);
            env.push((key, value));
        }
        let mut child = command(&["serve"], &env)
            .spawn()
            .expect("starting the server");
        let stdout = collect(child.stdout.take());
        let stderr = collect(child.stderr.take());
        let mut server = Self {
            child,
            port,
            stdout,
            stderr,
            client: http_client(),
        };
        server.wait_for(ready_path).await;
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    fn is_running(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("checking the server process")
            .is_none()
    }

    async fn wait_for(&mut self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if !self.is_running() {
                let stderr = (&mut self.stderr).await.unwrap_or_default();
                panic!("the server exited during start-up: {stderr}");
            }
            if let Ok(response) = self.client.get(self.url(path)).send().await
                && response.status() == StatusCode::OK
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{path} did not answer 200 within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the process to exit (at most `limit`) and collects its output.
    async fn exit_within(mut self, limit: Duration) -> Exited {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server did not exit within {limit:?}"))
            .expect("waiting for the server");
        Exited {
            code: status.code(),
            stdout: self.stdout.await.expect("reading stdout"),
            stderr: self.stderr.await.expect("reading stderr"),
        }
    }
}

/// One invalid configuration and the variable its error message must name.
struct ConfigCase<'a> {
    name: &'a str,
    args: &'a [&'a str],
    removed: &'a [&'a str],
    set: &'a [(&'a str, &'a str)],
    variable: &'a str,
}

#[tokio::test]
async fn configuration_errors_exit_with_code_2_and_one_line_naming_the_variable() {
    const DB_PASSWORD: &str = "db-pass-9f2c41";
    const SHORT_SECRET: &str = "tenbytes!!";
    const LONG_SECRET: &str = "a-long-enough-secret-value-0123456789abcdef";
    let database_url = format!("postgres://app:{DB_PASSWORD}@127.0.0.1:1/app");
    let mysql_url = format!("mysql://root:{DB_PASSWORD}@127.0.0.1:1/app");
    let cases = [
        ConfigCase {
            name: "missing DATABASE_URL",
            args: &[],
            removed: &["DATABASE_URL"],
            set: &[],
            variable: "DATABASE_URL",
        },
        ConfigCase {
            name: "missing JWT_SECRET",
            args: &["serve"],
            removed: &["JWT_SECRET"],
            set: &[],
            variable: "JWT_SECRET",
        },
        ConfigCase {
            name: "JWT_SECRET of 10 bytes",
            args: &[],
            removed: &[],
            set: &[("JWT_SECRET", SHORT_SECRET)],
            variable: "JWT_SECRET",
        },
        ConfigCase {
            name: "HTTP_PORT=abc",
            args: &[],
            removed: &[],
            set: &[("HTTP_PORT", "abc")],
            variable: "HTTP_PORT",
        },
        ConfigCase {
            name: "LOG_FORMAT=xml",
            args: &[],
            removed: &[],
            set: &[("LOG_FORMAT", "xml")],
            variable: "LOG_FORMAT",
        },
        ConfigCase {
            name: "migrate with a mysql DATABASE_URL",
            args: &["migrate"],
            removed: &[],
            set: &[("DATABASE_URL", &mysql_url)],
            variable: "DATABASE_URL",
        },
    ];
    for ConfigCase {
        name: case,
        args,
        removed,
        set,
        variable,
    } in cases
    {
        let mut env: Vec<(&str, &str)> = vec![
            ("DATABASE_URL", &database_url),
            ("JWT_SECRET", LONG_SECRET),
            ("RUST_BACKTRACE", "full"),
        ];
        env.retain(|(key, _)| !removed.contains(key));
        for (key, value) in set {
            env.retain(|(k, _)| k != key);
            env.push((key, value));
        }
        let output = run(args, &env, Duration::from_secs(10)).await;
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{case}: exit status; stderr: {stderr}"
        );
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "{case}: stderr must be exactly one line: {stderr:?}"
        );
        assert!(
            stderr.contains(variable),
            "{case}: stderr must name {variable}: {stderr:?}"
        );
        assert!(!stderr.contains("panicked"), "{case}: {stderr:?}");
        assert!(
            !stderr.to_lowercase().contains("backtrace"),
            "{case}: {stderr:?}"
        );
        for secret in [DB_PASSWORD, SHORT_SECRET, LONG_SECRET] {
            assert!(
                !stderr.contains(secret),
                "{case}: stderr echoes a secret: {stderr:?}"
            );
        }
        assert!(
            output.stdout.is_empty(),
            "{case}: nothing on stdout: {:?}",
            text(&output.stdout)
        );
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn concurrent_migrate_processes_apply_each_migration_exactly_once() {
    let db = TestDb::empty().await;
    let env = [("DATABASE_URL", db.url()), ("JWT_SECRET", JWT_SECRET)];
    let children: Vec<Child> = (0..5)
        .map(|_| {
            command(&["migrate"], &env)
                .spawn()
                .expect("starting `migrate`")
        })
        .collect();
    let mut outputs = Vec::new();
    for child in children {
        let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
            .await
            .expect("`migrate` finished within 20 s")
            .expect("waiting for `migrate`");
        outputs.push(output);
    }

    for (i, output) in outputs.iter().enumerate() {
        assert_eq!(
            output.status.code(),
            Some(0),
            "process {i}: stderr: {}",
            text(&output.stderr)
        );
    }
    let stdouts: Vec<String> = outputs.iter().map(|output| text(&output.stdout)).collect();
    let applied = stdouts
        .iter()
        .filter(|out| out.contains("applied 5 migration(s)"))
        .count();
    let up_to_date = stdouts
        .iter()
        .filter(|out| out.contains("schema is up to date"))
        .count();
    assert_eq!(
        applied, 1,
        "exactly one process applies the migrations: {stdouts:#?}"
    );
    assert_eq!(up_to_date, 4, "the others find nothing to do: {stdouts:#?}");

    let mut conn = db.connection().await;
    let rows = diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result::<Count>(&mut conn)
        .await
        .expect("counting applied migrations");
    assert_eq!(rows.n, 5);
    let tables = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables \
         WHERE table_schema = 'public' \
         AND table_name IN ('users', 'tasks', 'revoked_tokens', 'conversations', 'messages')",
    )
    .get_result::<Count>(&mut conn)
    .await
    .expect("listing tables");
    assert_eq!(tables.n, 5, "the schema exists");
}

#[tokio::test]
async fn sigterm_lets_a_slow_request_in_flight_finish_and_then_exits_0() {
    let db = TestDb::migrated().await;
    let mut server = Server::start(db.url(), &[("SHUTDOWN_GRACE_SECONDS", "10")]).await;
    let email = format!("slow-{}@example.com", Uuid::new_v4().simple());
    let body = json!({ "name": "Slow Client", "email": email, "password": PASSWORD }).to_string();
    let (first_half, second_half) = body.split_at(body.len() / 2);

    let mut client = RawClient::connect(server.port).await;
    let head = format!(
        "POST /api/auth/register HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        server.port,
        body.len()
    );
    client.send(head.as_bytes()).await;
    // The interim answer proves the handler is already reading the body.
    let interim = client.interim_response(Duration::from_secs(5)).await;
    assert_eq!(interim.status, 100, "{interim:?}");
    client.send(first_half.as_bytes()).await;

    send_sigterm(server.pid()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.is_running(),
        "the server exited with a request in flight"
    );
    match tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await {
        Err(_) => {}
        Ok(_) => {
            let readiness = http_client().get(server.url("/readyz")).send().await;
            assert!(
                readiness.is_err()
                    || readiness.is_ok_and(|response| response.status() != StatusCode::OK),
                "the server still reports ready after SIGTERM"
            );
        }
    }

    client.send(second_half.as_bytes()).await;
    let response = client.response(Duration::from_secs(5)).await;
    assert_eq!(response.status, 201, "{response:?}");
    assert_eq!(response.json()["email"], email.as_str());

    let exited = server.exit_within(Duration::from_secs(5)).await;
    assert_eq!(exited.code, Some(0), "stderr: {}", exited.stderr);
    let mut conn = db.connection().await;
    let users = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM users WHERE email = '{email}'"
    ))
    .get_result::<Count>(&mut conn)
    .await
    .expect("counting users");
    assert_eq!(users.n, 1, "the slow registration was stored");
}

#[tokio::test]
async fn sigterm_or_sigint_while_idle_exits_0_within_2_seconds_and_logs_the_shutdown() {
    for signal in ["TERM", "INT"] {
        let db = TestDb::migrated().await;
        let server = Server::start(db.url(), &[]).await;
        // The readiness poll left an idle keep-alive connection open; it must not delay the exit.
        send_signal(server.pid(), signal).await;
        let exited = server.exit_within(Duration::from_secs(2)).await;

        assert_eq!(
            exited.code,
            Some(0),
            "SIG{signal}: stderr: {}",
            exited.stderr
        );
        let lines: Vec<&str> = exited
            .stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        let tail = lines[lines.len().saturating_sub(2)..].join("\n");
        assert!(
            tail.contains("stop signal received"),
            "SIG{signal}: last log lines: {tail}"
        );
        assert!(
            tail.contains("all connections closed"),
            "SIG{signal}: last log lines: {tail}"
        );
    }
}

#[tokio::test]
async fn a_request_still_open_when_the_grace_period_ends_does_not_keep_the_process_alive() {
    let db = TestDb::migrated().await;
    let server = Server::start(db.url(), &[("SHUTDOWN_GRACE_SECONDS", "1")]).await;
    let mut client = RawClient::connect(server.port).await;
    let head = "POST /api/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\nExpect: 100-continue\r\n\r\n";
    client.send(head.as_bytes()).await;
    let interim = client.interim_response(Duration::from_secs(5)).await;
    assert_eq!(interim.status, 100, "{interim:?}");

    let started = Instant::now();
    send_sigterm(server.pid()).await;
    let exited = server.exit_within(Duration::from_secs(4)).await;
    let elapsed = started.elapsed();

    assert_eq!(exited.code, Some(0), "stderr: {}", exited.stderr);
    assert!(
        elapsed >= Duration::from_millis(900),
        "exited before the grace period ended ({elapsed:?})"
    );
    assert!(
        exited.stdout.contains("grace period over"),
        "the forced close is logged: {}",
        exited.stdout
    );
    assert!(
        matches!(
            client.outcome(Duration::from_secs(2)).await,
            Outcome::Closed
        ),
        "the stalled connection is closed"
    );
}

#[tokio::test]
async fn serve_exits_1_with_one_clear_line_when_the_port_is_taken() {
    let db = TestDb::migrated().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("taking a port");
    let port = taken
        .local_addr()
        .expect("local address")
        .port()
        .to_string();
    let env = [
        ("DATABASE_URL", db.url()),
        ("JWT_SECRET", JWT_SECRET),
        ("HTTP_HOST", "127.0.0.1"),
        ("HTTP_PORT", port.as_str()),
    ];
    let output = run(&["serve"], &env, Duration::from_secs(10)).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr:?}");
}

#[tokio::test]
async fn migrate_exits_1_without_echoing_the_password_when_the_database_is_unreachable() {
    const DB_PASSWORD: &str = "pw-unreachable-7731";
    let url = format!(
        "postgres://postgres:{DB_PASSWORD}@127.0.0.1:{}/app",
        free_port()
    );
    let output = run(
        &["migrate"],
        &[("DATABASE_URL", &url), ("JWT_SECRET", JWT_SECRET)],
        Duration::from_secs(10),
    )
    .await;
    let stderr = text(&output.stderr);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    assert!(stderr.contains("connecting to the database"), "{stderr:?}");
    assert!(
        !stderr.contains(DB_PASSWORD) && !stdout.contains(DB_PASSWORD),
        "the password is echoed: {stderr:?} {stdout:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr:?}");
}

#[tokio::test]
async fn sigterm_exits_within_the_grace_period_even_while_start_up_migrations_hang_on_an_unresponsive_database()
 {
    let silent = SilentServer::start().await;
    let database_url = format!("postgres://postgres@127.0.0.1:{}/app", silent.port);
    let server = Server::start_until(
        &database_url,
        &[("SHUTDOWN_GRACE_SECONDS", "1")],
        "/healthz",
    )
    .await;
    let readiness = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("asking for readiness");
    assert_eq!(
        readiness.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready without a database"
    );

    send_sigterm(server.pid()).await;
    let exited = server.exit_within(Duration::from_secs(4)).await;
    assert_eq!(exited.code, Some(0), "stderr: {}", exited.stderr);
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_carry_no_secrets() {
    const DB_PASSWORD: &str = "sup3rs3cret";
    let db = TestDb::migrated().await;
    let database_url = with_password(db.url(), DB_PASSWORD);
    let server = Server::start(&database_url, &[("LOG_FORMAT", "json")]).await;

    let email = format!("logged-{}@example.com", Uuid::new_v4().simple());
    let client = &server.client;
    let registered = client
        .post(server.url("/api/auth/register"))
        .json(&json!({ "name": "Logged User", "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("registering");
    assert_eq!(registered.status(), StatusCode::CREATED);
    let login: Value = client
        .post(server.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("signing in")
        .json()
        .await
        .expect("login body");
    let token = login["access_token"].as_str().expect("a token").to_owned();
    let me = client
        .get(server.url("/api/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("who am I");
    assert_eq!(me.status(), StatusCode::OK);

    send_sigterm(server.pid()).await;
    let exited = server.exit_within(Duration::from_secs(5)).await;
    assert_eq!(exited.code, Some(0), "stderr: {}", exited.stderr);

    let lines: Vec<&str> = exited.stdout.lines().collect();
    assert!(
        lines.len() >= 4,
        "expected start-up, request and shutdown lines: {}",
        exited.stdout
    );
    for line in &lines {
        let parsed: Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
        assert!(parsed.is_object(), "not an object: {line}");
        for (what, secret) in [
            ("JWT secret", JWT_SECRET),
            ("database password", DB_PASSWORD),
            ("user password", PASSWORD),
            ("token", &token),
        ] {
            assert!(
                !line.contains(secret),
                "a log line contains the {what}: {line}"
            );
        }
    }
    assert!(
        exited.stdout.contains("/api/auth/me"),
        "requests are logged: {}",
        exited.stdout
    );
    assert!(
        exited.stdout.contains("stop signal received"),
        "the shutdown is logged: {}",
        exited.stdout
    );
}

#[tokio::test]
async fn probe_exits_0_only_for_a_2xx_answer_from_an_http_url() {
    let app = spawn_app().await;
    let closed_port = free_port();
    let healthz = app.url("/healthz");
    let nope = app.url("/nope");
    let closed = format!("http://127.0.0.1:{closed_port}/healthz");
    // (case, URL, expected exit code, text stderr must contain)
    let cases: &[(&str, &str, i32, &str)] = &[
        ("healthy service", &healthz, 0, ""),
        ("unknown path (404)", &nope, 1, "404"),
        ("closed port", &closed, 1, "failed"),
        ("ftp URL", "ftp://x", 1, "http://"),
        ("not a URL", "::", 1, "not a valid URL"),
    ];
    for (case, url, code, message) in cases {
        let output = run(&["probe", url], &[], Duration::from_secs(10)).await;
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(*code),
            "{case}: stderr: {stderr}"
        );
        assert!(
            stderr.contains(message),
            "{case}: stderr should mention `{message}`: {stderr:?}"
        );
        assert!(!stderr.contains("panicked"), "{case}: {stderr:?}");
        if *code != 0 {
            assert_eq!(
                stderr.lines().count(),
                1,
                "{case}: one line on stderr: {stderr:?}"
            );
        }
    }
}

#[tokio::test]
async fn probe_gives_up_after_its_timeout_when_the_server_never_answers() {
    let silent = SilentServer::start().await;
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{}/healthz", silent.port);
    let output = run(
        &["probe", &url, "--timeout", "1"],
        &[],
        Duration::from_secs(10),
    )
    .await;
    let elapsed = started.elapsed();

    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("within 1s"), "{stderr:?}");
    assert!(elapsed < Duration::from_secs(4), "probe took {elapsed:?}");
}

#[tokio::test]
async fn help_lists_the_serve_migrate_and_probe_commands() {
    let output = run(&["--help"], &[], Duration::from_secs(10)).await;
    assert_eq!(output.status.code(), Some(0));
    let stdout = text(&output.stdout);
    for command in ["serve", "migrate", "probe"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.trim_start().starts_with(command)),
            "--help does not list `{command}`: {stdout}"
        );
    }
}
