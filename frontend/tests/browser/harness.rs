//! Test harness: a database per test ([`crate::database`]), the real backend and the real web
//! app in this process on loopback ports, and a headless Chromium driven over WebDriver by a
//! chromedriver child process.
//!
//! Needs `TEST_DATABASE_URL` (set by `scripts/with-postgres.sh`) and the Debian packages
//! `chromium` and `chromium-driver`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::database::Database;

/// The browser binary (Debian package `chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver server (Debian package `chromium-driver`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Password of every account the tests create.
pub(crate) const PASSWORD: &str = "correct horse battery staple";
/// Longest a test body may run (start-up and clean-up come on top).
const TEST_LIMIT: Duration = Duration::from_secs(25);
/// Longest any single wait for the page may take.
const WAIT: Duration = Duration::from_secs(10);
/// Pause between two looks at the page while waiting.
const POLL: Duration = Duration::from_millis(25);

/// Whether the browser runs page scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Javascript {
    /// Scripts run (the usual case).
    On,
    /// Scripts are blocked by the browser's content settings.
    Off,
}

/// A free loopback port: bound once, read and released.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("finding a free loopback port")
        .port()
}

/// A service running on a task until it is told to stop.
#[derive(Debug)]
struct Server {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    fn spawn<F, R>(run: R) -> Self
    where
        R: FnOnce(oneshot::Receiver<()>) -> F,
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        Self {
            stop: Some(stop),
            task: tokio::spawn(run(stopped)),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

/// The backend and the web app on loopback ports, with their own database.
#[derive(Debug)]
pub(crate) struct Stack {
    /// The web app's origin, `http://127.0.0.1:<port>` (also its `PUBLIC_ORIGIN`).
    pub(crate) frontend: String,
    /// The backend's base URL.
    pub(crate) backend: String,
    http: reqwest::Client,
    /// Kept only to be dropped: that stops the services.
    _servers: Vec<Server>,
    /// Declared last: dropped after the services have been told to stop.
    _database: Database,
}

impl Stack {
    async fn start() -> Self {
        let database = Database::create().await;
        let mut backend_config = taskflow_backend::config::Config::from_vars(vars(&[
            ("DATABASE_URL", &database.url),
            ("JWT_SECRET", "browser-tests-secret-browser-tests-secret"),
            ("HTTP_HOST", "127.0.0.1"),
            ("DB_POOL_SIZE", "4"),
            ("AUTH_RATE_LIMIT_PER_IP", "10000"),
            ("AUTH_RATE_LIMIT_PER_ACCOUNT", "10000"),
            ("SHUTDOWN_GRACE_SECONDS", "1"),
        ]))
        .expect("the backend test configuration is valid");
        backend_config.http_port = 0;
        let backend_app = taskflow_backend::startup::Application::build(backend_config)
            .await
            .expect("building the backend");
        let backend = format!("http://127.0.0.1:{}", backend_app.port());
        let backend_server = Server::spawn(|stopped| {
            backend_app.run_until_stopped(async move {
                let _ = stopped.await;
            })
        });

        let port = free_port();
        let frontend = format!("http://127.0.0.1:{port}");
        let frontend_config = taskflow_frontend::config::Config::from_vars(vars(&[
            ("BACKEND_URL", &backend),
            ("PUBLIC_ORIGIN", &frontend),
            ("HTTP_HOST", "127.0.0.1"),
            ("HTTP_PORT", &port.to_string()),
            ("COOKIE_SECURE", "false"),
            ("SHUTDOWN_GRACE_SECONDS", "1"),
        ]))
        .expect("the web app test configuration is valid");
        let frontend_app = taskflow_frontend::startup::Application::build(frontend_config)
            .await
            .expect("building the web app");
        let frontend_server = Server::spawn(|stopped| {
            frontend_app.run_until_stopped(async move {
                let _ = stopped.await;
            })
        });

        let stack = Self {
            frontend,
            backend,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("building the HTTP client"),
            _servers: vec![frontend_server, backend_server],
            _database: database,
        };
        stack.wait_until_ready().await;
        stack
    }

    /// The web app's `/readyz` is 200 only once the backend's is (schema migrated).
    async fn wait_until_ready(&self) {
        let deadline = Instant::now() + WAIT;
        let url = format!("{}/readyz", self.frontend);
        loop {
            let status = self.http.get(&url).send().await.map(|r| r.status());
            if matches!(status, Ok(StatusCode::OK)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the services were not ready within {WAIT:?} (last answer: {status:?})"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Calls the backend API directly (to arrange data or check the outcome).
    pub(crate) async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.backend));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("{method} {path} failed: {err}"));
        let status = response.status();
        let text = response.text().await.expect("reading the backend answer");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{method} {path}: not JSON ({err}): {text}"))
        };
        (status, value)
    }

    /// Creates an account through the API and returns its email.
    pub(crate) async fn register(&self, name: &str) -> String {
        let email = format!("user-{:016x}@example.com", rand::random::<u64>());
        let (status, body) = self
            .api(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({ "name": name, "email": email, "password": PASSWORD })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "registering {email}: {body}");
        email
    }

    /// Creates a task through the API and returns it.
    pub(crate) async fn create_task(&self, token: &str, task: Value) -> Value {
        let (status, body) = self
            .api(Method::POST, "/api/tasks", Some(token), Some(task.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "creating {task}: {body}");
        body
    }

    /// Every task of the token's owner, as the backend stores them.
    pub(crate) async fn tasks(&self, token: &str) -> Vec<Value> {
        let (status, body) = self
            .api(Method::GET, "/api/tasks?limit=100", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "listing tasks: {body}");
        body["tasks"].as_array().cloned().unwrap_or_default()
    }
}

/// A headless Chromium behind its own chromedriver, with a throwaway profile.
#[derive(Debug)]
struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    async fn launch(javascript: Javascript) -> Self {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: the browser tests need headless Chromium and its driver \
                 (apt-get install chromium chromium-driver)"
            );
        }
        let profile =
            std::env::temp_dir().join(format!("taskflow-chromium-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&profile).expect("creating the browser profile directory");
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start {CHROMEDRIVER} ({err}); install it with \
                     apt-get install chromium chromium-driver"
                )
            });
        let mut browser = Self {
            client: None,
            driver,
            profile,
        };
        wait_for_port(port).await;

        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                format!("--user-data-dir={}", browser.profile.display()),
                "--window-size=1280,900",
                // Date fields then take mm/dd/yyyy whatever the machine's locale.
                "--lang=en-US",
            ],
        });
        if javascript == Javascript::Off {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start a Chromium session through chromedriver ({err}); \
                     apt-get install chromium chromium-driver"
                )
            });
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(20)),
                Some(Duration::from_secs(15)),
                Some(Duration::ZERO),
            ))
            .await
            .expect("setting the WebDriver timeouts");
        browser.client = Some(client);
        browser
    }

    /// Ends the session (chromedriver then quits Chromium), stops chromedriver and removes
    /// the profile.
    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
        }
        let _ = self.driver.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.driver.wait()).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Waits until something accepts connections on the loopback `port`.
async fn wait_for_port(port: u16) {
    let deadline = Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on port {port} within {WAIT:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Starts the services and a browser, runs `test` with a [`Page`], then cleans up (also when
/// the test fails or takes longer than [`TEST_LIMIT`]).
pub(crate) async fn run<F, Fut>(javascript: Javascript, test: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let stack = Arc::new(Stack::start().await);
    let browser = Browser::launch(javascript).await;
    let page = Page {
        client: browser.client.clone().expect("the browser session is open"),
        stack: Arc::clone(&stack),
    };
    let mut task = tokio::spawn(test(page));
    let outcome = tokio::time::timeout(TEST_LIMIT, &mut task).await;
    if outcome.is_err() {
        task.abort();
        let _ = task.await;
    }
    browser.close().await;
    drop(stack);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(err)) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Ok(Err(err)) => panic!("the test task failed: {err}"),
        Err(_) => panic!("the test did not finish within {TEST_LIMIT:?}"),
    }
}

/// The browser's view of the web app, with the services behind it.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    /// The WebDriver session.
    pub(crate) client: Client,
    /// The services.
    pub(crate) stack: Arc<Stack>,
}

impl Page {
    /// Full URL of a path of the web app.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.stack.frontend)
    }

    /// Opens a path of the web app.
    pub(crate) async fn goto(&self, path: &str) {
        self.client
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|err| panic!("opening {path}: {err}"));
    }

    /// The current URL's path and query.
    pub(crate) async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("reading the URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the current path and query are `expected`.
    pub(crate) async fn wait_for_path(&self, expected: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let path = self.path().await;
            if path == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected to reach {expected}, but the browser is on {path}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for an element to be present.
    pub(crate) async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(err) => panic!(
                "no element matches `{css}` on {} ({err})",
                self.path().await
            ),
        }
    }

    /// Every element matching `css` right now.
    pub(crate) async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("looking for `{css}`: {err}"))
    }

    /// Waits until no element matches `css`.
    pub(crate) async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.find_all(css).await.is_empty() {
            assert!(
                Instant::now() < deadline,
                "`{css}` is still on {} after {WAIT:?}",
                self.path().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The visible text of the first element matching `css`.
    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|err| panic!("reading the text of `{css}`: {err}"))
    }

    /// Waits until the text of `css` contains `expected`.
    pub(crate) async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` on {} should contain {expected:?}, but reads {text:?}",
                self.path().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Replaces the value of a text field by typing.
    pub(crate) async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|err| panic!("clearing `{css}`: {err}"));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|err| panic!("typing into `{css}`: {err}"));
    }

    /// Chooses the option with `value` in a select box.
    pub(crate) async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|err| panic!("choosing {value:?} in `{css}`: {err}"));
    }

    /// Clicks the first element matching `css`.
    pub(crate) async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("clicking `{css}`: {err}"));
    }

    /// True when the first element matching `css` is displayed.
    pub(crate) async fn is_displayed(&self, css: &str) -> bool {
        self.find(css)
            .await
            .is_displayed()
            .await
            .unwrap_or_else(|err| panic!("checking whether `{css}` is displayed: {err}"))
    }

    /// The value of an attribute of the first element matching `css`.
    pub(crate) async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css)
            .await
            .attr(name)
            .await
            .unwrap_or_else(|err| panic!("reading `{name}` of `{css}`: {err}"))
    }

    /// Runs a script in the page (WebDriver bypasses the page's CSP) and returns its result.
    pub(crate) async fn eval(&self, script: &str) -> Value {
        self.eval_with(script, Vec::new()).await
    }

    /// Runs a script with `arguments` in the page and returns its result.
    pub(crate) async fn eval_with(&self, script: &str, arguments: Vec<Value>) -> Value {
        self.client
            .execute(script, arguments)
            .await
            .unwrap_or_else(|err| panic!("running `{script}`: {err}"))
    }

    /// Waits until the JavaScript expression `condition` is true in the page.
    pub(crate) async fn wait_until(&self, what: &str, condition: &str) {
        let script = format!("return Boolean({condition});");
        let deadline = Instant::now() + WAIT;
        while self.eval(&script).await != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "{what}: `{condition}` stayed false on {} for {WAIT:?}",
                self.path().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The HTTP status of the document now shown.
    pub(crate) async fn status(&self) -> u16 {
        let status = self
            .eval("return performance.getEntriesByType('navigation')[0].responseStatus;")
            .await;
        status
            .as_u64()
            .and_then(|status| u16::try_from(status).ok())
            .unwrap_or_else(|| panic!("no response status for the page, got {status}"))
    }

    /// The counts at the top of the tasks page: total, pending, completed, overdue. Read in
    /// one script, so that a swap of the counts cannot interleave.
    pub(crate) async fn counts(&self) -> [i64; 4] {
        let cells = self
            .eval("return Array.from(document.querySelectorAll('#stats dd'), (dd) => dd.textContent.trim());")
            .await;
        let numbers: Vec<i64> = cells
            .as_array()
            .map(|cells| {
                cells
                    .iter()
                    .filter_map(|cell| cell.as_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        numbers
            .try_into()
            .unwrap_or_else(|_| panic!("the tasks page shows four numeric counts, got {cells}"))
    }

    /// Waits until the counts are `expected` (total, pending, completed, overdue).
    pub(crate) async fn wait_for_counts(&self, expected: [i64; 4]) {
        let deadline = Instant::now() + WAIT;
        loop {
            let counts = self.counts().await;
            if counts == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "counts (total, pending, completed, overdue) should be {expected:?}, \
                 but are {counts:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Signs in through the login page and waits for the tasks page.
    pub(crate) async fn sign_in(&self, email: &str) {
        self.goto("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.click("main form button[type=submit]").await;
        self.wait_for_path("/tasks").await;
    }

    /// Waits until exactly `expected` elements match `css`.
    pub(crate) async fn wait_for_count(&self, css: &str, expected: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let count = self.find_all(css).await.len();
            if count == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected {expected} elements matching `{css}` on {}, found {count}",
                self.path().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for a JavaScript dialog (`alert`, `confirm`) and returns its text. Only WebDriver's
    /// alert commands may run while it is open: any other command dismisses it.
    pub(crate) async fn wait_for_dialog(&self) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.client.get_alert_text().await {
                Ok(text) => return text,
                Err(err) => assert!(
                    Instant::now() < deadline,
                    "no dialog opened within {WAIT:?} ({err})"
                ),
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The backend token of the browser's session, read through WebDriver's cookie store
    /// (the cookie is `HttpOnly`, so page scripts cannot read it).
    pub(crate) async fn session_token(&self) -> String {
        self.client
            .get_named_cookie("taskflow_session")
            .await
            .expect("the browser holds a session cookie")
            .value()
            .to_owned()
    }

    /// The ids of the task rows now listed, in order.
    pub(crate) async fn listed(&self) -> Vec<i64> {
        let ids = self
            .eval("return Array.from(document.querySelectorAll('li.task'), (li) => li.id);")
            .await;
        ids.as_array()
            .map(|ids| ids.iter().filter_map(task_number).collect())
            .unwrap_or_default()
    }

    /// Waits until the listed task rows are `expected`, in this order.
    pub(crate) async fn wait_for_listed(&self, expected: &[i64], why: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let listed = self.listed().await;
            if listed == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{why}: expected rows {expected:?}, but {} lists {listed:?}",
                self.path().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The id of the task row whose title is `title`.
    pub(crate) async fn task_id(&self, title: &str) -> i64 {
        let id = self
            .eval_with(
                "return Array.from(document.querySelectorAll('li.task'))\
                 .filter((li) => li.dataset.title === arguments[0]).map((li) => li.id);",
                vec![json!(title)],
            )
            .await;
        match id.as_array().map(Vec::as_slice) {
            Some([id]) => {
                task_number(id).unwrap_or_else(|| panic!("row ids look like task-N, got {id}"))
            }
            _ => panic!(
                "expected one task titled {title:?} on {}, found rows {id}",
                self.path().await
            ),
        }
    }
}

/// `N` of a row id `task-N`.
fn task_number(id: &Value) -> Option<i64> {
    id.as_str()?.strip_prefix("task-")?.parse().ok()
}
