//! Service configuration: one flat struct read from the environment with `envy`, validated once.
//!
//! Every field here is documented in `docs/configuration.md` and listed in `.env.example`;
//! a test keeps the three in agreement.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
pub use taskflow_common::config::{ConfigError, LogFormat};

/// Shortest accepted `JWT_SECRET`, in bytes (HS256 wants at least the hash size).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// The backend's settings, read from environment variables of the same name in upper case.
#[derive(Debug, Deserialize)]
pub struct Config {
    /// PostgreSQL connection URL (may carry a password, so it is kept secret).
    pub database_url: SecretString,
    /// Key that signs session tokens (HS256); at least 32 bytes.
    pub jwt_secret: SecretString,
    /// How long a session token stays valid, in seconds.
    #[serde(default = "default_jwt_ttl_seconds")]
    pub jwt_ttl_seconds: u64,
    /// IP address to listen on.
    #[serde(default = "default_http_host")]
    pub http_host: String,
    /// Port to listen on.
    #[serde(default = "default_http_port")]
    pub http_port: u16,
    /// `json` or `text`.
    #[serde(default = "default_log_format")]
    pub log_format: String,
    /// Log filter in `tracing_subscriber::EnvFilter` syntax.
    #[serde(default = "default_rust_log")]
    pub rust_log: String,
    /// Largest number of open database connections.
    #[serde(default = "default_db_pool_size")]
    pub db_pool_size: usize,
    /// How long a request waits for a database connection before it gets a 503, in milliseconds.
    #[serde(default = "default_db_acquire_timeout_ms")]
    pub db_acquire_timeout_ms: u64,
    /// Longest time a whole request (body included) may take, in seconds.
    #[serde(default = "default_request_timeout_seconds")]
    pub request_timeout_seconds: u64,
    /// Longest time a client may take to send the request headers, in seconds.
    #[serde(default = "default_header_read_timeout_seconds")]
    pub header_read_timeout_seconds: u64,
    /// Largest accepted request body, in bytes.
    #[serde(default = "default_body_limit_bytes")]
    pub body_limit_bytes: usize,
    /// How long in-flight requests may run on after SIGTERM/SIGINT, in seconds.
    #[serde(default = "default_shutdown_grace_seconds")]
    pub shutdown_grace_seconds: u64,
    /// Browser origins allowed to call the API cross-origin (comma-separated; empty = none).
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Login and registration attempts allowed per client address per minute.
    #[serde(default = "default_auth_rate_limit_per_ip")]
    pub auth_rate_limit_per_ip: u32,
    /// Login and registration attempts allowed per email address per minute.
    #[serde(default = "default_auth_rate_limit_per_account")]
    pub auth_rate_limit_per_account: u32,
    /// Take the client address from the last `X-Forwarded-For` entry (only behind a proxy that sets it).
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Base URL of an OpenAI-compatible API; `/chat/completions` is appended.
    #[serde(default = "default_llm_base_url")]
    pub llm_base_url: String,
    /// The provider's API key; absent or blank means the built-in offline assistant answers.
    #[serde(default)]
    pub llm_api_key: Option<SecretString>,
    /// Model name sent to the provider.
    #[serde(default = "default_llm_model")]
    pub llm_model: String,
    /// Longest time one provider call may take, in seconds.
    #[serde(default = "default_llm_timeout_seconds")]
    pub llm_timeout_seconds: u64,
    /// Most rounds of tool calls the model may ask for while answering one message.
    #[serde(default = "default_llm_max_tool_rounds")]
    pub llm_max_tool_rounds: u32,
    /// How many earlier messages of a conversation are sent to the model with a new one.
    #[serde(default = "default_chat_history_messages")]
    pub chat_history_messages: u32,
    /// `Host` header values accepted by `/mcp` (comma-separated; `*` accepts any).
    #[serde(default = "default_mcp_allowed_hosts")]
    pub mcp_allowed_hosts: Vec<String>,
}

fn default_jwt_ttl_seconds() -> u64 {
    7 * 24 * 60 * 60
}
fn default_http_host() -> String {
    Ipv4Addr::UNSPECIFIED.to_string()
}
fn default_http_port() -> u16 {
    8000
}
fn default_log_format() -> String {
    "text".to_owned()
}
fn default_rust_log() -> String {
    "taskflow_backend=info,taskflow_common=info,tower_http=info".to_owned()
}
fn default_db_pool_size() -> usize {
    10
}
fn default_db_acquire_timeout_ms() -> u64 {
    2000
}
fn default_request_timeout_seconds() -> u64 {
    30
}
fn default_header_read_timeout_seconds() -> u64 {
    10
}
fn default_body_limit_bytes() -> usize {
    64 * 1024
}
fn default_shutdown_grace_seconds() -> u64 {
    20
}
fn default_auth_rate_limit_per_ip() -> u32 {
    30
}
fn default_auth_rate_limit_per_account() -> u32 {
    10
}
fn default_llm_base_url() -> String {
    "https://api.openai.com/v1".to_owned()
}
fn default_llm_model() -> String {
    "gpt-4o-mini".to_owned()
}
fn default_llm_timeout_seconds() -> u64 {
    30
}
fn default_llm_max_tool_rounds() -> u32 {
    5
}
fn default_chat_history_messages() -> u32 {
    20
}
fn default_mcp_allowed_hosts() -> Vec<String> {
    ["localhost", "127.0.0.1", "::1"]
        .map(str::to_owned)
        .to_vec()
}

impl Config {
    /// Reads and validates the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads and validates the configuration from the given variables (used by tests).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let config: Self = taskflow_common::config::from_vars(vars)?;
        config.validate()?;
        Ok(config)
    }

    /// The environment variable of every field, in declaration order (for docs checks).
    pub fn variable_names() -> Vec<String> {
        taskflow_common::config::variable_names::<Self>()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let fail = |message: &str| Err(ConfigError::new(message));
        if self.database_url.expose_secret().trim().is_empty() {
            return fail("DATABASE_URL must not be empty");
        }
        let url = self.database_url.expose_secret();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return fail("DATABASE_URL must start with postgres:// or postgresql://");
        }
        if self.jwt_secret.expose_secret().len() < MIN_JWT_SECRET_BYTES {
            return fail(
                "JWT_SECRET must be at least 32 bytes (generate one with: openssl rand -hex 32)",
            );
        }
        if !(60..=90 * 24 * 60 * 60).contains(&self.jwt_ttl_seconds) {
            return fail("JWT_TTL_SECONDS must be between 60 and 7776000 (90 days)");
        }
        if self.http_host.trim().parse::<IpAddr>().is_err() {
            return fail("HTTP_HOST must be an IP address such as 0.0.0.0, 127.0.0.1 or ::");
        }
        if self.http_port == 0 {
            return fail("HTTP_PORT must be between 1 and 65535");
        }
        if !matches!(self.log_format.as_str(), "json" | "text") {
            return fail("LOG_FORMAT must be `json` or `text`");
        }
        if self.rust_log.trim().is_empty() {
            return fail("RUST_LOG must not be empty (for example: info)");
        }
        if let Err(err) = tracing_subscriber::EnvFilter::try_new(&self.rust_log) {
            return Err(ConfigError(format!(
                "RUST_LOG is not a valid log filter: {err}"
            )));
        }
        if !(1..=1000).contains(&self.db_pool_size) {
            return fail("DB_POOL_SIZE must be between 1 and 1000");
        }
        if !(100..=60_000).contains(&self.db_acquire_timeout_ms) {
            return fail("DB_ACQUIRE_TIMEOUT_MS must be between 100 and 60000");
        }
        if !(1..=600).contains(&self.request_timeout_seconds) {
            return fail("REQUEST_TIMEOUT_SECONDS must be between 1 and 600");
        }
        if !(1..=600).contains(&self.header_read_timeout_seconds) {
            return fail("HEADER_READ_TIMEOUT_SECONDS must be between 1 and 600");
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.body_limit_bytes) {
            return fail("BODY_LIMIT_BYTES must be between 1024 and 16777216");
        }
        if self.shutdown_grace_seconds > 3600 {
            return fail("SHUTDOWN_GRACE_SECONDS must be at most 3600");
        }
        for origin in self.cors_allowed_origins.iter().map(|origin| origin.trim()) {
            if origin.is_empty() {
                continue;
            }
            if origin == "*" {
                return fail(
                    "CORS_ALLOWED_ORIGINS must list origins explicitly; `*` is not accepted",
                );
            }
            if http::HeaderValue::from_str(origin).is_err()
                || !(origin.starts_with("http://") || origin.starts_with("https://"))
            {
                return Err(ConfigError(format!(
                    "CORS_ALLOWED_ORIGINS entry `{origin}` must look like https://example.com"
                )));
            }
        }
        if self.auth_rate_limit_per_ip == 0 {
            return fail("AUTH_RATE_LIMIT_PER_IP must be at least 1");
        }
        if self.auth_rate_limit_per_account == 0 {
            return fail("AUTH_RATE_LIMIT_PER_ACCOUNT must be at least 1");
        }
        self.validate_assistant()
    }

    fn validate_assistant(&self) -> Result<(), ConfigError> {
        let fail = |message: &str| Err(ConfigError::new(message));
        let base = self.llm_base_url.trim();
        let uri = base.parse::<http::Uri>().ok();
        let shaped = uri.as_ref().is_some_and(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.authority().is_some()
                && uri.query().is_none()
        });
        if !shaped || base.contains('#') {
            return fail(
                "LLM_BASE_URL must be an http:// or https:// URL such as https://api.openai.com/v1",
            );
        }
        if base.trim_end_matches('/').ends_with("/chat/completions") {
            return fail(
                "LLM_BASE_URL must be the API base such as https://api.openai.com/v1, without /chat/completions",
            );
        }
        if self.llm_key().is_some_and(|key| {
            !key.expose_secret()
                .trim()
                .chars()
                .all(|c| c.is_ascii_graphic())
        }) {
            return fail("LLM_API_KEY must consist of printable ASCII characters without spaces");
        }
        let model = self.llm_model.trim();
        if model.is_empty() || model.chars().count() > 200 || model.chars().any(char::is_whitespace)
        {
            return fail("LLM_MODEL must be a model name of 1 to 200 characters without spaces");
        }
        if !(1..=600).contains(&self.llm_timeout_seconds) {
            return fail("LLM_TIMEOUT_SECONDS must be between 1 and 600");
        }
        if !(1..=20).contains(&self.llm_max_tool_rounds) {
            return fail("LLM_MAX_TOOL_ROUNDS must be between 1 and 20");
        }
        if self.chat_history_messages > 200 {
            return fail("CHAT_HISTORY_MESSAGES must be between 0 and 200");
        }
        let hosts: Vec<&str> = self
            .mcp_allowed_hosts
            .iter()
            .map(|host| host.trim())
            .filter(|host| !host.is_empty())
            .collect();
        if hosts.is_empty() {
            return fail("MCP_ALLOWED_HOSTS must name at least one host, or * to accept any");
        }
        for host in hosts {
            let bad = host.contains("://")
                || host.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '?' | '#')
                })
                || (host.contains('*') && host != "*");
            if bad {
                return Err(ConfigError(format!(
                    "MCP_ALLOWED_HOSTS entry `{host}` must be a host name or address, optionally with :port (no scheme or path)"
                )));
            }
        }
        Ok(())
    }

    /// The socket address to bind.
    pub fn http_addr(&self) -> SocketAddr {
        let host = self
            .http_host
            .trim()
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        SocketAddr::new(host, self.http_port)
    }

    /// The validated log format.
    pub fn log_format(&self) -> LogFormat {
        if self.log_format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Text
        }
    }

    /// Session token lifetime.
    pub fn jwt_ttl(&self) -> Duration {
        Duration::from_secs(self.jwt_ttl_seconds)
    }

    /// How long a request waits for a pooled database connection.
    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }

    /// Whole-request time limit.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    /// Time limit for receiving the request headers.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }

    /// How long in-flight requests may finish after a stop signal.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }

    /// The provider's API key, unless it is absent or blank (then the offline assistant answers).
    pub fn llm_key(&self) -> Option<&SecretString> {
        self.llm_api_key
            .as_ref()
            .filter(|key| !key.expose_secret().trim().is_empty())
    }

    /// The chat-completions endpoint of the provider.
    pub fn llm_chat_completions_url(&self) -> String {
        format!(
            "{}/chat/completions",
            self.llm_base_url.trim().trim_end_matches('/')
        )
    }

    /// Time limit of one provider call.
    pub fn llm_timeout(&self) -> Duration {
        Duration::from_secs(self.llm_timeout_seconds)
    }

    /// How long the assistant may work on one message in total: nine tenths of the request
    /// timeout, so that a slow provider still gets the client a JSON answer (504) rather than
    /// the generic 408.
    pub fn chat_deadline(&self) -> Duration {
        self.request_timeout() * 9 / 10
    }

    /// The `Host` values `/mcp` accepts, or `None` when any host is accepted (`*`).
    pub fn mcp_host_allowlist(&self) -> Option<Vec<String>> {
        let hosts: Vec<String> = self
            .mcp_allowed_hosts
            .iter()
            .map(|host| host.trim().to_owned())
            .filter(|host| !host.is_empty())
            .collect();
        (!hosts.iter().any(|host| host == "*")).then_some(hosts)
    }

    /// Allowed CORS origins, blanks removed.
    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_allowed_origins
            .iter()
            .map(|origin| origin.trim().to_owned())
            .filter(|origin| !origin.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all = vec![
            (
                "DATABASE_URL".to_owned(),
                "postgres://app@localhost/app".to_owned(),
            ),
            ("JWT_SECRET".to_owned(), SECRET.to_owned()),
        ];
        for (key, value) in extra {
            all.retain(|(k, _)| k != key);
            all.push(((*key).to_owned(), (*value).to_owned()));
        }
        all
    }

    fn error_for(extra: &[(&str, &str)]) -> String {
        Config::from_vars(vars(extra))
            .expect_err("configuration should be rejected")
            .to_string()
    }

    #[test]
    fn defaults_apply_when_only_the_required_variables_are_set() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(config.http_addr().to_string(), "0.0.0.0:8000");
        assert_eq!(config.log_format(), LogFormat::Text);
        assert_eq!(config.jwt_ttl(), Duration::from_secs(604_800));
        assert!(config.cors_origins().is_empty());
        assert!(!config.trust_forwarded_for);
        assert!(
            config.llm_key().is_none(),
            "no key means the offline assistant"
        );
        assert_eq!(
            config.llm_chat_completions_url(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(config.llm_model, "gpt-4o-mini");
        assert_eq!(config.llm_timeout(), Duration::from_secs(30));
        assert_eq!(
            (config.llm_max_tool_rounds, config.chat_history_messages),
            (5, 20)
        );
        assert_eq!(
            config.mcp_host_allowlist(),
            Some(
                ["localhost", "127.0.0.1", "::1"]
                    .map(str::to_owned)
                    .to_vec()
            )
        );
    }

    #[test]
    fn a_blank_llm_api_key_means_the_offline_assistant() {
        let config = Config::from_vars(vars(&[("LLM_API_KEY", "  ")])).unwrap();
        assert!(config.llm_key().is_none());
        let config = Config::from_vars(vars(&[("LLM_API_KEY", "sk-test")])).unwrap();
        assert_eq!(
            config.llm_key().map(ExposeSecret::expose_secret),
            Some("sk-test")
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("sk-test"), "{debug}");
    }

    #[test]
    fn the_llm_base_url_may_end_with_a_slash_and_point_at_a_local_server() {
        let config =
            Config::from_vars(vars(&[("LLM_BASE_URL", "http://127.0.0.1:11434/v1/")])).unwrap();
        assert_eq!(
            config.llm_chat_completions_url(),
            "http://127.0.0.1:11434/v1/chat/completions"
        );
    }

    #[test]
    fn mcp_hosts_are_trimmed_and_a_star_accepts_any_host() {
        let config = Config::from_vars(vars(&[(
            "MCP_ALLOWED_HOSTS",
            " taskflow-backend , taskflow-backend:8000,[::1]:8000,",
        )]))
        .unwrap();
        assert_eq!(
            config.mcp_host_allowlist(),
            Some(
                ["taskflow-backend", "taskflow-backend:8000", "[::1]:8000"]
                    .map(str::to_owned)
                    .to_vec()
            )
        );
        let any = Config::from_vars(vars(&[("MCP_ALLOWED_HOSTS", "*")])).unwrap();
        assert_eq!(any.mcp_host_allowlist(), None);
    }

    #[test]
    fn the_chat_deadline_leaves_room_inside_the_request_timeout() {
        let config = Config::from_vars(vars(&[("REQUEST_TIMEOUT_SECONDS", "10")])).unwrap();
        assert_eq!(config.chat_deadline(), Duration::from_secs(9));
    }

    #[test]
    fn a_missing_required_variable_is_named() {
        let err = Config::from_vars(vec![("JWT_SECRET".to_owned(), SECRET.to_owned())])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "DATABASE_URL is required but not set");
    }

    #[test]
    fn invalid_values_are_rejected_with_a_message_naming_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("JWT_SECRET", "short")],
                "JWT_SECRET must be at least 32 bytes",
            ),
            (
                &[("DATABASE_URL", "mysql://x")],
                "DATABASE_URL must start with postgres://",
            ),
            (&[("DATABASE_URL", " ")], "DATABASE_URL must not be empty"),
            (&[("HTTP_PORT", "eighty")], "HTTP_PORT is invalid"),
            (&[("HTTP_PORT", "70000")], "HTTP_PORT is invalid"),
            (
                &[("HTTP_PORT", "0")],
                "HTTP_PORT must be between 1 and 65535",
            ),
            (
                &[("HTTP_HOST", "localhost")],
                "HTTP_HOST must be an IP address",
            ),
            (
                &[("LOG_FORMAT", "xml")],
                "LOG_FORMAT must be `json` or `text`",
            ),
            (&[("RUST_LOG", "=[")], "RUST_LOG is not a valid log filter"),
            (&[("RUST_LOG", " ")], "RUST_LOG must not be empty"),
            (
                &[("JWT_TTL_SECONDS", "5")],
                "JWT_TTL_SECONDS must be between",
            ),
            (&[("DB_POOL_SIZE", "0")], "DB_POOL_SIZE must be between"),
            (
                &[("DB_ACQUIRE_TIMEOUT_MS", "10")],
                "DB_ACQUIRE_TIMEOUT_MS must be between",
            ),
            (
                &[("REQUEST_TIMEOUT_SECONDS", "0")],
                "REQUEST_TIMEOUT_SECONDS must be between",
            ),
            (
                &[("HEADER_READ_TIMEOUT_SECONDS", "0")],
                "HEADER_READ_TIMEOUT_SECONDS must be between",
            ),
            (
                &[("BODY_LIMIT_BYTES", "10")],
                "BODY_LIMIT_BYTES must be between",
            ),
            (
                &[("SHUTDOWN_GRACE_SECONDS", "-1")],
                "SHUTDOWN_GRACE_SECONDS is invalid",
            ),
            (
                &[("CORS_ALLOWED_ORIGINS", "*")],
                "CORS_ALLOWED_ORIGINS must list origins",
            ),
            (
                &[("CORS_ALLOWED_ORIGINS", "example.com")],
                "CORS_ALLOWED_ORIGINS entry `example.com`",
            ),
            (
                &[("AUTH_RATE_LIMIT_PER_IP", "0")],
                "AUTH_RATE_LIMIT_PER_IP must be at least 1",
            ),
            (
                &[("AUTH_RATE_LIMIT_PER_ACCOUNT", "0")],
                "AUTH_RATE_LIMIT_PER_ACCOUNT must be at least 1",
            ),
            (
                &[("TRUST_FORWARDED_FOR", "maybe")],
                "TRUST_FORWARDED_FOR is invalid",
            ),
            (
                &[("LLM_BASE_URL", "api.openai.com/v1")],
                "LLM_BASE_URL must be an http:// or https:// URL",
            ),
            (
                &[("LLM_BASE_URL", "ftp://models.example/v1")],
                "LLM_BASE_URL must be an http:// or https:// URL",
            ),
            (
                &[("LLM_BASE_URL", "https://api.openai.com/v1?x=1")],
                "LLM_BASE_URL must be an http:// or https:// URL",
            ),
            (
                &[("LLM_BASE_URL", "https://api.openai.com/v1/chat/completions")],
                "LLM_BASE_URL must be the API base",
            ),
            (
                &[("LLM_API_KEY", "sk-with space")],
                "LLM_API_KEY must consist of printable ASCII",
            ),
            (
                &[("LLM_API_KEY", "sk-ünicode")],
                "LLM_API_KEY must consist of printable ASCII",
            ),
            (&[("LLM_MODEL", " ")], "LLM_MODEL must be a model name"),
            (&[("LLM_MODEL", "gpt 4")], "LLM_MODEL must be a model name"),
            (
                &[("LLM_TIMEOUT_SECONDS", "0")],
                "LLM_TIMEOUT_SECONDS must be between 1 and 600",
            ),
            (
                &[("LLM_TIMEOUT_SECONDS", "soon")],
                "LLM_TIMEOUT_SECONDS is invalid",
            ),
            (
                &[("LLM_MAX_TOOL_ROUNDS", "0")],
                "LLM_MAX_TOOL_ROUNDS must be between 1 and 20",
            ),
            (
                &[("LLM_MAX_TOOL_ROUNDS", "21")],
                "LLM_MAX_TOOL_ROUNDS must be between 1 and 20",
            ),
            (
                &[("CHAT_HISTORY_MESSAGES", "201")],
                "CHAT_HISTORY_MESSAGES must be between 0 and 200",
            ),
            (
                &[("CHAT_HISTORY_MESSAGES", "-1")],
                "CHAT_HISTORY_MESSAGES is invalid",
            ),
            (
                &[("MCP_ALLOWED_HOSTS", "")],
                "MCP_ALLOWED_HOSTS must name at least one host",
            ),
            (
                &[("MCP_ALLOWED_HOSTS", "https://tasks.example.com")],
                "MCP_ALLOWED_HOSTS entry `https://tasks.example.com`",
            ),
            (
                &[("MCP_ALLOWED_HOSTS", "localhost,tasks.example.com/mcp")],
                "MCP_ALLOWED_HOSTS entry `tasks.example.com/mcp`",
            ),
            (
                &[("MCP_ALLOWED_HOSTS", "*.example.com")],
                "MCP_ALLOWED_HOSTS entry `*.example.com`",
            ),
        ];
        for (extra, expected) in cases {
            let err = error_for(extra);
            assert!(
                err.starts_with(expected),
                "for {extra:?}: expected `{expected}…`, got `{err}`"
            );
        }
    }

    #[test]
    fn parse_errors_do_not_echo_the_value() {
        let err = error_for(&[("HTTP_PORT", "s3cr3t-value")]);
        assert!(!err.contains("s3cr3t-value"), "{err}");
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let config = Config::from_vars(vars(&[(
            "DATABASE_URL",
            "postgres://app:hunter2hunter2@db/app",
        )]))
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(!debug.contains("hunter2hunter2"), "{debug}");
    }

    #[test]
    fn variable_names_list_every_field() {
        let names = Config::variable_names();
        assert_eq!(names.first().map(String::as_str), Some("DATABASE_URL"));
        assert!(names.contains(&"TRUST_FORWARDED_FOR".to_owned()));
        assert!(names.contains(&"MCP_ALLOWED_HOSTS".to_owned()));
        assert_eq!(names.len(), 24);
    }

    #[test]
    fn cors_origins_are_split_on_commas_and_trimmed() {
        let config = Config::from_vars(vars(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://a.example, http://localhost:3000,",
        )]))
        .unwrap();
        assert_eq!(
            config.cors_origins(),
            ["https://a.example", "http://localhost:3000"]
        );
    }
}
