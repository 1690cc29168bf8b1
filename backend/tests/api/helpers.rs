//! Test harness: a PostgreSQL database per test, cloned from a migrated template, and the real
//! service on a random loopback port, driven over HTTP.
//!
//! Needs `TEST_DATABASE_URL` (a superuser connection), which `scripts/with-postgres.sh` sets.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use taskflow_backend::config::Config;
use taskflow_backend::db::{self, DbPool};
use taskflow_backend::startup::Application;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Secret used by every test app.
pub(crate) const JWT_SECRET: &str = "test-secret-test-secret-test-secret!";
/// Password of the users made by [`TestApp::signed_up_user`].
pub(crate) const PASSWORD: &str = "correct horse battery";

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_DATABASE_URL is not set. Run the tests through the PostgreSQL wrapper: \
             scripts/with-postgres.sh cargo nextest run --workspace \
             (it needs the PostgreSQL server binaries: apt-get install postgresql, or nix develop)"
        )
    })
}

/// `url` with its database name replaced by `name`.
pub(crate) fn url_for_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(base, query)| (base, Some(query)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

async fn admin_connection() -> AsyncPgConnection {
    AsyncPgConnection::establish(&admin_url())
        .await
        .expect("connecting to TEST_DATABASE_URL")
}

async fn execute(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|err| panic!("`{sql}` failed: {err}"));
}

/// Name of the migrated template database. It changes whenever the set of migrations
/// changes, so a long-lived server never hands out a stale schema.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        use diesel::migration::MigrationSource;
        let migrations = MigrationSource::<diesel::pg::Pg>::migrations(&db::MIGRATIONS)
            .expect("listing embedded migrations");
        // FNV-1a over the migration names.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for migration in migrations {
            for byte in migration.name().to_string().bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("taskflow_template_{hash:016x}")
    })
}

/// Creates the template once per server; concurrent test processes wait on an advisory lock.
async fn ensure_template() {
    let mut conn = admin_connection().await;
    execute(&mut conn, "SELECT pg_advisory_lock(4242)").await;
    let exists = diesel::sql_query(format!(
        "SELECT 1 AS one FROM pg_database WHERE datname = '{}'",
        template_name()
    ))
    .load::<One>(&mut conn)
    .await
    .expect("querying pg_database");
    if exists.is_empty() {
        let building = format!("{}_building", template_name());
        execute(
            &mut conn,
            &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
        )
        .await;
        execute(&mut conn, &format!("CREATE DATABASE {building}")).await;
        db::run_migrations(&url_for_database(&admin_url(), &building))
            .await
            .expect("migrating the template database");
        // Renaming last means a half-built template is never cloned.
        execute(
            &mut conn,
            &format!("ALTER DATABASE {building} RENAME TO {}", template_name()),
        )
        .await;
    }
    execute(&mut conn, "SELECT pg_advisory_unlock(4242)").await;
}

#[derive(diesel::QueryableByName)]
struct One {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    #[allow(dead_code)]
    one: i32,
}

/// A database that exists for one test and is dropped with it.
#[derive(Debug)]
pub(crate) struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// A fresh database with the current schema (cloned from the template).
    pub(crate) async fn migrated() -> Self {
        ensure_template().await;
        Self::create(&format!("TEMPLATE {}", template_name())).await
    }

    /// A fresh, empty database (for migration tests).
    pub(crate) async fn empty() -> Self {
        Self::create("").await
    }

    async fn create(options: &str) -> Self {
        let name = format!("t_{}", Uuid::new_v4().simple());
        let mut conn = admin_connection().await;
        execute(&mut conn, &format!("CREATE DATABASE {name} {options}")).await;
        let url = url_for_database(&admin_url(), &name);
        Self { name, url }
    }

    /// Connection URL of this database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// A direct connection, for arranging data or checking the outcome.
    pub(crate) async fn connection(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url)
            .await
            .expect("connecting to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside a runtime, which must not block; use a thread with its own.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = AsyncPgConnection::establish(&admin_url()).await?;
                diesel::sql_query(sql).execute(&mut conn).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// The variables of a valid configuration for `database_url`, with generous rate limits.
pub(crate) fn test_env(database_url: &str) -> Vec<(String, String)> {
    [
        ("DATABASE_URL", database_url),
        ("JWT_SECRET", JWT_SECRET),
        ("HTTP_HOST", "127.0.0.1"),
        ("HTTP_PORT", "1"),
        ("AUTH_RATE_LIMIT_PER_IP", "10000"),
        ("AUTH_RATE_LIMIT_PER_ACCOUNT", "10000"),
        ("DB_ACQUIRE_TIMEOUT_MS", "1000"),
        ("SHUTDOWN_GRACE_SECONDS", "5"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect()
}

/// A configuration for `database_url`; `overrides` replace or add variables.
pub(crate) fn test_config(database_url: &str, overrides: &[(&str, &str)]) -> Config {
    let mut vars = test_env(database_url);
    for (key, value) in overrides {
        vars.retain(|(k, _)| k != key);
        vars.push(((*key).to_owned(), (*value).to_owned()));
    }
    let mut config = Config::from_vars(vars).expect("test configuration is valid");
    // Port 0: let the OS choose (the config itself only accepts 1-65535).
    config.http_port = 0;
    config
}

/// A user signed up and signed in through the API.
#[derive(Debug, Clone)]
pub(crate) struct TestUser {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) token: String,
}

/// The real service on a loopback port, with its own database.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub(crate) address: String,
    /// The bound port.
    pub(crate) port: u16,
    /// A client that follows no redirects and uses no proxy.
    pub(crate) client: reqwest::Client,
    /// The service's pool (for tests that inspect it).
    pub(crate) pool: DbPool,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Dropped last, after the server has stopped.
    pub(crate) db: TestDb,
}

/// Starts the service on a fresh migrated database and waits until it is ready.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with configuration overrides.
pub(crate) async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let db = TestDb::migrated().await;
    let config = test_config(db.url(), overrides);
    let app = start(config, db).await;
    app.wait_until_ready().await;
    app
}

/// Starts the service with `config` on `db` without waiting for readiness.
pub(crate) async fn start(config: Config, db: TestDb) -> TestApp {
    let application = Application::build(config)
        .await
        .expect("building the application");
    let port = application.port();
    let pool = application.state().db.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: http_client(),
        pool,
        stop: Some(stop),
        server: Some(server),
        db,
    }
}

/// A reqwest client for loopback tests: no proxy, no redirects, a timeout.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("building the HTTP client")
}

impl TestApp {
    /// Polls `/readyz` until it answers 200 (at most 15 s).
    pub(crate) async fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(response) = self.client.get(self.url("/readyz")).send().await
                && response.status() == StatusCode::OK
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the service did not become ready within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Full URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// GET with an optional bearer token.
    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(reqwest::Method::GET, path, token, None).await
    }

    /// POST a JSON body with an optional bearer token.
    pub(crate) async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// PATCH a JSON body with an optional bearer token.
    pub(crate) async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(reqwest::Method::PATCH, path, token, Some(body))
            .await
    }

    /// DELETE with an optional bearer token.
    pub(crate) async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(reqwest::Method::DELETE, path, token, None)
            .await
    }

    /// Any request; `body` is sent as JSON.
    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("sending the request")
    }

    /// `POST /api/auth/register`.
    pub(crate) async fn register(&self, name: &str, email: &str, password: &str) -> Response {
        self.post(
            "/api/auth/register",
            None,
            &json!({ "name": name, "email": email, "password": password }),
        )
        .await
    }

    /// `POST /api/auth/login`.
    pub(crate) async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers a new user with a unique email and signs them in.
    pub(crate) async fn signed_up_user(&self) -> TestUser {
        let name = "Test User".to_owned();
        let email = format!("user-{}@example.com", Uuid::new_v4().simple());
        let registered = self.register(&name, &email, PASSWORD).await;
        assert_eq!(
            registered.status(),
            StatusCode::CREATED,
            "registering {email}"
        );
        let login = self.login(&email, PASSWORD).await;
        assert_eq!(login.status(), StatusCode::OK, "signing in {email}");
        let body: Value = login.json().await.expect("login body is JSON");
        TestUser {
            id: body["user"]["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .expect("user id in the login answer"),
            name,
            email,
            password: PASSWORD.to_owned(),
            token: body["access_token"]
                .as_str()
                .expect("token in the login answer")
                .to_owned(),
        }
    }

    /// Creates a task from `body` as `user` and returns the created task.
    pub(crate) async fn create_task(&self, user: &TestUser, body: &Value) -> Value {
        let response = self.post("/api/tasks", Some(&user.token), body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating {body}");
        response.json().await.expect("task body is JSON")
    }
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("address", &self.address)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Reads a response as JSON, asserting the status first (with the body in the message).
pub(crate) async fn json_body(response: Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.expect("reading the body");
    assert_eq!(status, expected, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("body is not JSON ({err}): {text}"))
}

/// Asserts the API's error shape and code, and returns the body.
pub(crate) async fn assert_error(response: Response, expected: StatusCode, code: &str) -> Value {
    let body = json_body(response, expected).await;
    assert_eq!(body["error"]["code"], code, "error code; body: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error message; body: {body}"
    );
    body
}

/// The `LLM_API_KEY` of apps started by [`spawn_app_with_provider`].
pub(crate) const TEST_LLM_KEY: &str = "sk-test-key-for-the-fake-provider";

/// Starts the service with a language model provider at `provider` (a fake OpenAI-compatible
/// server serving `/v1/chat/completions`); `overrides` replace or add variables.
pub(crate) async fn spawn_app_with_provider(
    provider: &wiremock::MockServer,
    overrides: &[(&str, &str)],
) -> TestApp {
    let base_url = format!("{}/v1", provider.uri());
    let mut vars = vec![
        ("LLM_BASE_URL", base_url.as_str()),
        ("LLM_API_KEY", TEST_LLM_KEY),
    ];
    vars.extend_from_slice(overrides);
    spawn_app_with(&vars).await
}

/// Another process of the service on an existing test database: a replica next to a
/// [`TestApp`], or the service started again after [`TestApp::stop_server`]. The database
/// stays owned by the `TestApp`.
pub(crate) struct Instance {
    /// `http://127.0.0.1:<port>`.
    pub(crate) address: String,
    /// A client that follows no redirects and uses no proxy.
    pub(crate) client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Starts another instance of the service on `database_url` and waits until it is ready.
pub(crate) async fn start_instance(database_url: &str, overrides: &[(&str, &str)]) -> Instance {
    let config = test_config(database_url, overrides);
    let application = Application::build(config)
        .await
        .expect("building the application");
    let port = application.port();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let instance = Instance {
        address: format!("http://127.0.0.1:{port}"),
        client: http_client(),
        stop: Some(stop),
        server: Some(server),
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(response) = instance.client.get(instance.url("/readyz")).send().await
            && response.status() == StatusCode::OK
        {
            return instance;
        }
        assert!(
            Instant::now() < deadline,
            "the instance did not become ready within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Instance {
    /// Full URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Any request with a bearer token; `body` is sent as JSON.
    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("sending the request")
    }
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl TestApp {
    /// Stops the service (the database stays) and waits until it has exited.
    pub(crate) async fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
            assert!(
                matches!(stopped, Ok(Ok(Ok(())))),
                "the service did not stop cleanly: {stopped:?}"
            );
        }
    }

    /// `POST /api/chat` as `user`, continuing `conversation_id` when given.
    pub(crate) async fn chat(
        &self,
        user: &TestUser,
        message: &str,
        conversation_id: Option<&str>,
    ) -> Response {
        let mut body = json!({ "message": message });
        if let Some(id) = conversation_id {
            body["conversation_id"] = json!(id);
        }
        self.post("/api/chat", Some(&user.token), &body).await
    }

    /// `POST /api/chat` as `user`, expecting 200; returns the answer.
    pub(crate) async fn chat_ok(
        &self,
        user: &TestUser,
        message: &str,
        conversation_id: Option<&str>,
    ) -> Value {
        json_body(
            self.chat(user, message, conversation_id).await,
            StatusCode::OK,
        )
        .await
    }

    /// Every task of `user` (`GET /api/tasks?limit=100`), oldest first.
    pub(crate) async fn all_tasks(&self, user: &TestUser) -> Vec<Value> {
        let page = json_body(
            self.get(
                "/api/tasks?limit=100&sort=created&order=asc",
                Some(&user.token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        page["tasks"]
            .as_array()
            .expect("`tasks` is an array")
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::url_for_database;

    #[test]
    fn the_database_name_is_replaced_in_socket_and_tcp_urls() {
        assert_eq!(
            url_for_database("postgres://postgres@%2Ftmp%2Fx/postgres", "t1"),
            "postgres://postgres@%2Ftmp%2Fx/t1"
        );
        assert_eq!(
            url_for_database("postgres://u:p@127.0.0.1:5432/app?sslmode=disable", "t1"),
            "postgres://u:p@127.0.0.1:5432/t1?sslmode=disable"
        );
        assert_eq!(
            url_for_database("postgres://u@localhost", "t1"),
            "postgres://u@localhost/t1"
        );
    }
}
