//! The service under database trouble and slow clients: the database going away (or going
//! silent) and coming back, an exhausted pool, a burst of simultaneous requests, and clients that
//! stall on headers or body.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

use crate::helpers::{TestDb, assert_error, json_body, spawn_app_with, start, test_config};

/// Decodes `%XX` escapes (the socket directory is percent-encoded in the URL's host).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("the decoded URL part is UTF-8")
}

/// The PostgreSQL unix socket that `TEST_DATABASE_URL` points at: its host (or `host=` query
/// parameter) is the socket directory, and its port (default 5432) names the socket file.
fn postgres_socket() -> PathBuf {
    let url = std::env::var("TEST_DATABASE_URL")
        .expect("TEST_DATABASE_URL is set (run through scripts/with-postgres.sh)");
    let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let (rest, query) = rest
        .split_once('?')
        .map_or((rest, ""), |(rest, query)| (rest, query));
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() => {
            (host, port)
        }
        _ => (host_port, "5432"),
    };
    let mut directory = percent_decode(host);
    for pair in query.split('&') {
        if let Some(value) = pair.strip_prefix("host=") {
            directory = percent_decode(value);
        }
    }
    assert!(
        directory.starts_with('/'),
        "TEST_DATABASE_URL must name a unix socket directory, got host `{directory}`"
    );
    PathBuf::from(directory).join(format!(".s.PGSQL.{port}"))
}

/// The database name (last path segment) of a connection URL.
fn database_name(url: &str) -> &str {
    let without_query = url.split('?').next().unwrap_or(url);
    without_query
        .rsplit('/')
        .next()
        .expect("the URL names a database")
}

/// A loopback TCP proxy in front of the PostgreSQL unix socket that a test can cut, freeze and
/// restore, to play a database that goes away (or stops answering) and comes back.
pub(crate) struct DbProxy {
    port: u16,
    shared: Arc<ProxyShared>,
    acceptor: JoinHandle<()>,
}

struct ProxyShared {
    cut: AtomicBool,
    links: Mutex<Vec<AbortHandle>>,
    /// While true, connections stay open but no byte is relayed.
    frozen: watch::Sender<bool>,
}

impl DbProxy {
    /// Starts forwarding `127.0.0.1:<random port>` to the test PostgreSQL.
    pub(crate) async fn start() -> Self {
        let socket = postgres_socket();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(ProxyShared {
            cut: AtomicBool::new(false),
            links: Mutex::new(Vec::new()),
            frozen: watch::Sender::new(false),
        });
        let acceptor = tokio::spawn(accept_loop(listener, socket, Arc::clone(&shared)));
        Self {
            port,
            shared,
            acceptor,
        }
    }

    /// A connection URL for `database` through the proxy.
    pub(crate) fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Closes every forwarded connection and refuses new ones until [`DbProxy::restore`].
    pub(crate) fn cut(&self) {
        let mut links = self.shared.links.lock().expect("proxy lock");
        self.shared.cut.store(true, Ordering::SeqCst);
        for link in links.drain(..) {
            link.abort();
        }
    }

    /// Keeps every connection open (and accepts new ones) but relays nothing, like a database
    /// host that stopped answering, until [`DbProxy::restore`].
    pub(crate) fn freeze(&self) {
        self.shared.frozen.send_replace(true);
    }

    /// Forwards again, new connections and frozen ones alike.
    pub(crate) fn restore(&self) {
        let _links = self.shared.links.lock().expect("proxy lock");
        self.shared.cut.store(false, Ordering::SeqCst);
        self.shared.frozen.send_replace(false);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        if let Ok(mut links) = self.shared.links.lock() {
            for link in links.drain(..) {
                link.abort();
            }
        }
    }
}

async fn accept_loop(listener: TcpListener, socket: PathBuf, shared: Arc<ProxyShared>) {
    while let Ok((client, _)) = listener.accept().await {
        // Decide and register under the lock, so that a concurrent `cut` cannot miss a link.
        let mut links = shared.links.lock().expect("proxy lock");
        if shared.cut.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        links.retain(|link| !link.is_finished());
        let socket = socket.clone();
        let frozen = shared.frozen.subscribe();
        let link = tokio::spawn(async move {
            if let Ok(server) = UnixStream::connect(&socket).await {
                relay(client, server, frozen).await;
            }
        });
        links.push(link.abort_handle());
    }
}

/// Copies bytes both ways until either side closes, pausing while `frozen` is true.
async fn relay(mut client: TcpStream, mut server: UnixStream, mut frozen: watch::Receiver<bool>) {
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let mut upstream = [0_u8; 8192];
    let mut downstream = [0_u8; 8192];
    loop {
        if frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return;
        }
        tokio::select! {
            read = client_read.read(&mut upstream) => match read {
                Ok(n) if n > 0 => {
                    if server_write.write_all(&upstream[..n]).await.is_err() {
                        return;
                    }
                }
                _ => return,
            },
            read = server_read.read(&mut downstream) => match read {
                Ok(n) if n > 0 => {
                    if client_write.write_all(&downstream[..n]).await.is_err() {
                        return;
                    }
                }
                _ => return,
            },
            changed = frozen.changed() => if changed.is_err() {
                return;
            },
        }
    }
}

/// A test app whose database connections all go through `proxy`.
async fn spawn_proxied_app(proxy: &DbProxy, overrides: &[(&str, &str)]) -> crate::helpers::TestApp {
    let db = TestDb::migrated().await;
    let url = proxy.url(database_name(db.url()));
    start(test_config(&url, overrides), db).await
}

/// Repeats `GET path` until it answers `expected` (at most `limit`); returns the last body.
async fn poll_until(
    app: &crate::helpers::TestApp,
    path: &str,
    token: Option<&str>,
    expected: StatusCode,
    limit: Duration,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let response = app.get(path, token).await;
        let status = response.status();
        let text = response.text().await.expect("reading the body");
        if status == expected {
            return serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{path}: body is not JSON ({err}): {text}"));
        }
        assert!(
            Instant::now() < deadline,
            "{path} still answers {status} after {limit:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A hand-driven HTTP/1.1 connection, for clients that misbehave on purpose.
pub(crate) struct RawClient {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// A response read by [`RawClient`].
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl RawResponse {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "body is not JSON ({err}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header value by (case-insensitive) name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What a stalled client observes.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The server closed the connection without answering.
    Closed,
    /// The server answered.
    Answered(RawResponse),
}

impl RawClient {
    /// Connects to `127.0.0.1:port`.
    pub(crate) async fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connecting to the service");
        Self {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Writes `bytes` as they are.
    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .expect("writing to the service");
        self.stream.flush().await.expect("flushing to the service");
    }

    /// Reads more bytes; `false` at end of stream (a reset counts as the end too).
    async fn fill(&mut self) -> bool {
        let mut chunk = [0_u8; 4096];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Parses one complete response from the buffer, reading as needed; `None` when the
    /// stream ends first.
    async fn next_response(&mut self) -> Option<RawResponse> {
        let head_end = loop {
            if let Some(end) = self
                .buffer
                .windows(4)
                .position(|window| window == b"\r\n\r\n")
            {
                break end;
            }
            if !self.fill().await {
                return None;
            }
        };
        let head =
            String::from_utf8(self.buffer[..head_end].to_vec()).expect("response head is text");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("malformed status line `{status_line}`"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect();
        self.buffer.drain(..head_end + 4);
        let mut response = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        assert!(
            response.header("transfer-encoding").is_none(),
            "unexpected chunked response: {head}"
        );
        let length = match response.header("content-length") {
            Some(length) => length.parse::<usize>().expect("numeric content-length"),
            None if (100..200).contains(&status) || status == 204 => 0,
            None => {
                while self.fill().await {}
                self.buffer.len()
            }
        };
        while self.buffer.len() < length {
            assert!(
                self.fill().await,
                "connection closed inside a {status} body"
            );
        }
        response.body = self.buffer.drain(..length).collect();
        Some(response)
    }

    /// Reads the next final (non-1xx) response within `limit`.
    pub(crate) async fn response(&mut self, limit: Duration) -> RawResponse {
        let read = async {
            loop {
                let response = self
                    .next_response()
                    .await
                    .expect("the connection closed before a response");
                if !(100..200).contains(&response.status) {
                    return response;
                }
            }
        };
        tokio::time::timeout(limit, read)
            .await
            .unwrap_or_else(|_| panic!("no response within {limit:?}"))
    }

    /// Reads the next response of any kind, 1xx included, within `limit`.
    pub(crate) async fn interim_response(&mut self, limit: Duration) -> RawResponse {
        tokio::time::timeout(limit, self.next_response())
            .await
            .unwrap_or_else(|_| panic!("no response within {limit:?}"))
            .expect("the connection closed before a response")
    }

    /// Waits (at most `limit`) until the server either answers or closes the connection.
    pub(crate) async fn outcome(&mut self, limit: Duration) -> Outcome {
        let outcome = tokio::time::timeout(limit, self.next_response())
            .await
            .unwrap_or_else(|_| panic!("the server neither answered nor closed within {limit:?}"));
        outcome.map_or(Outcome::Closed, Outcome::Answered)
    }
}

#[tokio::test]
async fn requests_fail_fast_while_the_database_is_down_and_succeed_again_once_it_is_back() {
    let proxy = DbProxy::start().await;
    let app = spawn_proxied_app(&proxy, &[("DB_ACQUIRE_TIMEOUT_MS", "1000")]).await;
    app.wait_until_ready().await;
    let user = app.signed_up_user().await;
    let before = app
        .create_task(&user, &json!({ "title": "written before the outage" }))
        .await;
    let task_path = format!("/api/tasks/{}", before["id"]);

    proxy.cut();
    let started = Instant::now();
    let response = app.get("/api/tasks", Some(&user.token)).await;
    let elapsed = started.elapsed();
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(elapsed < Duration::from_secs(5), "the 503 took {elapsed:?}");

    let started = Instant::now();
    let response = app
        .post(
            "/api/tasks",
            Some(&user.token),
            &json!({ "title": "written during the outage" }),
        )
        .await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 503 on create took {:?}",
        started.elapsed()
    );

    assert_error(
        app.get("/readyz", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
    )
    .await;
    let health = json_body(app.get("/healthz", None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");

    proxy.restore();
    let task = poll_until(
        &app,
        &task_path,
        Some(&user.token),
        StatusCode::OK,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(task["title"], "written before the outage");
    let ready = json_body(app.get("/readyz", None).await, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");
    let after = app
        .create_task(&user, &json!({ "title": "written after the outage" }))
        .await;
    let list = json_body(
        app.get("/api/tasks", Some(&user.token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        list["total"], 2,
        "only the tasks written while the database was up exist: {list}"
    );
    let ids: Vec<&Value> = list["tasks"]
        .as_array()
        .expect("tasks array")
        .iter()
        .map(|task| &task["id"])
        .collect();
    assert!(
        ids.contains(&&before["id"]) && ids.contains(&&after["id"]),
        "{list}"
    );
}

#[tokio::test]
async fn the_service_starts_while_the_database_is_down_and_becomes_ready_once_it_is_back() {
    let proxy = DbProxy::start().await;
    proxy.cut();
    let app = spawn_proxied_app(&proxy, &[("DB_ACQUIRE_TIMEOUT_MS", "500")]).await;

    let health = json_body(app.get("/healthz", None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    assert_error(
        app.get("/readyz", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
    )
    .await;
    let response = app
        .register("Early Bird", "early@example.com", crate::helpers::PASSWORD)
        .await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;

    proxy.restore();
    let ready = poll_until(
        &app,
        "/readyz",
        None,
        StatusCode::OK,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(ready["status"], "ready");
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "first task" }))
        .await;
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_quickly_and_recovers_when_a_connection_is_released() {
    let app = spawn_app_with(&[("DB_POOL_SIZE", "1"), ("DB_ACQUIRE_TIMEOUT_MS", "300")]).await;
    let user = app.signed_up_user().await;

    let held = app
        .pool
        .get()
        .await
        .expect("taking the only pooled connection");
    let started = Instant::now();
    let response = app.get("/api/tasks", Some(&user.token)).await;
    let elapsed = started.elapsed();
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(
        elapsed >= Duration::from_millis(250),
        "answered before the acquire timeout ({elapsed:?}): not a pool wait"
    );
    assert!(elapsed < Duration::from_secs(2), "the 503 took {elapsed:?}");
    assert_error(
        app.get("/readyz", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
    )
    .await;

    drop(held);
    let list = json_body(
        app.get("/api/tasks", Some(&user.token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["total"], 0);
    app.create_task(&user, &json!({ "title": "after the pool freed up" }))
        .await;
}

#[tokio::test]
async fn two_hundred_simultaneous_requests_each_get_an_answer_and_none_hangs() {
    let app = spawn_app_with(&[("DB_POOL_SIZE", "5")]).await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "listed by everyone" }))
        .await;

    let mut requests = JoinSet::new();
    for _ in 0..200 {
        let request = app
            .client
            .get(app.url("/api/tasks"))
            .bearer_auth(&user.token);
        requests.spawn(async move {
            let response = request.send().await.expect("sending the request");
            let status = response.status();
            let body: Value = response.json().await.expect("every answer is JSON");
            (status, body)
        });
    }
    let answers = tokio::time::timeout(Duration::from_secs(20), requests.join_all())
        .await
        .expect("all 200 requests answered within 20 s");

    let mut ok = 0;
    for (status, body) in &answers {
        match *status {
            StatusCode::OK => {
                assert_eq!(body["total"], 1, "{body}");
                ok += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["error"]["code"], "unavailable", "{body}")
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(answers.len(), 200);
    assert!(ok > 0, "no request succeeded");
    json_body(
        app.get("/api/tasks", Some(&user.token)).await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn clients_that_stall_before_the_end_of_the_headers_are_disconnected_after_the_header_read_timeout()
 {
    let app = spawn_app_with(&[("HEADER_READ_TIMEOUT_SECONDS", "1")]).await;
    // (case, bytes sent before going silent)
    let cases: [(&str, &[u8]); 5] = [
        (
            "a partial request line and headers",
            b"GET /healthz HTTP/1.1\r\n",
        ),
        ("nothing at all", b""),
        ("the first byte of a request", b"G"),
        ("the first bytes of an HTTP/2 preface", b"PRI * HTTP/2.0"),
        (
            "an idle keep-alive connection after one request",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
    ];
    let mut stalled = JoinSet::new();
    for (case, bytes) in cases {
        let port = app.port;
        stalled.spawn(async move {
            let mut client = RawClient::connect(port).await;
            client.send(bytes).await;
            if bytes.ends_with(b"\r\n\r\n") {
                let first = client.response(Duration::from_secs(3)).await;
                assert_eq!(first.status, 200, "{case}: {first:?}");
            }
            let started = Instant::now();
            let outcome = tokio::time::timeout(
                Duration::from_secs(3),
                client.outcome(Duration::from_secs(3)),
            )
            .await;
            (case, outcome, started.elapsed())
        });
    }
    for (case, outcome, elapsed) in stalled.join_all().await {
        match outcome {
            Ok(Outcome::Closed) => {}
            Ok(Outcome::Answered(response)) => {
                assert_eq!(response.status, 408, "{case}: {response:?}")
            }
            Err(_) => panic!("{case}: the connection was still open after 3 s"),
        }
        assert!(
            elapsed >= Duration::from_millis(800),
            "{case}: the connection ended before the timeout ({elapsed:?})"
        );
    }

    // The server itself is unaffected.
    json_body(app.get("/healthz", None).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_client_that_stalls_in_the_body_gets_a_408_json_error_after_the_request_timeout() {
    let app = spawn_app_with(&[("REQUEST_TIMEOUT_SECONDS", "1")]).await;
    let mut client = RawClient::connect(app.port).await;
    client
        .send(
            b"POST /api/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"name\":\"Slow",
        )
        .await;
    let started = Instant::now();

    let response = client.response(Duration::from_secs(3)).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status, 408, "{response:?}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json")),
        "{response:?}"
    );
    let body = response.json();
    assert_eq!(body["error"]["code"], "timeout", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(response.header("x-request-id").is_some(), "{response:?}");
    assert!(
        elapsed >= Duration::from_millis(800),
        "answered before the timeout ({elapsed:?})"
    );
}

#[tokio::test]
async fn requests_fail_fast_while_the_database_stops_answering_and_succeed_again_once_it_answers() {
    let proxy = DbProxy::start().await;
    let app = spawn_proxied_app(
        &proxy,
        &[("DB_POOL_SIZE", "10"), ("DB_ACQUIRE_TIMEOUT_MS", "1000")],
    )
    .await;
    app.wait_until_ready().await;
    let user = app.signed_up_user().await;
    app.create_task(&user, &json!({ "title": "written before the freeze" }))
        .await;
    // Fill the pool with idle connections, every one of which will go silent.
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(app.pool.get().await.expect("opening a pooled connection"));
    }
    drop(held);
    assert_eq!(app.pool.status().available, 10, "{:?}", app.pool.status());

    proxy.freeze();
    let started = Instant::now();
    let response = app.get("/api/tasks", Some(&user.token)).await;
    let elapsed = started.elapsed();
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    // One check times out (1 s), the other idle connections are dropped unchecked, and opening
    // a new one times out (1 s): not one acquire timeout per idle connection.
    assert!(elapsed < Duration::from_secs(4), "the 503 took {elapsed:?}");
    let started = Instant::now();
    assert_error(
        app.get("/readyz", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "readiness took {:?}",
        started.elapsed()
    );
    json_body(app.get("/healthz", None).await, StatusCode::OK).await;

    proxy.restore();
    let list = poll_until(
        &app,
        "/api/tasks",
        Some(&user.token),
        StatusCode::OK,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(list["total"], 1, "{list}");
}
