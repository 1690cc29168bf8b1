//! Frontend configuration: one flat struct read from the environment with `envy`, validated
//! once. Every field is documented in `docs/configuration.md` and listed in `.env.example`.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use taskflow_common::config::{ConfigError, LogFormat, check_log_filter, parse_http_host};

/// The frontend's settings, read from environment variables of the same name in upper case.
#[derive(Debug, Deserialize)]
pub struct Config {
    /// Base URL of the backend API, e.g. `http://taskflow-backend:8000`.
    pub backend_url: String,
    /// The origin browsers use to reach this service, e.g. `https://tasks.example.com`.
    pub public_origin: String,
    /// IP address to listen on.
    #[serde(default = "default_http_host")]
    pub http_host: String,
    /// Port to listen on.
    #[serde(default = "default_http_port")]
    pub http_port: u16,
    /// Mark cookies `Secure` (sent over HTTPS only). Turn off only for plain-HTTP setups.
    #[serde(default = "default_cookie_secure")]
    pub cookie_secure: bool,
    /// `json` or `text`.
    #[serde(default = "default_log_format")]
    pub log_format: String,
    /// Log filter in `tracing_subscriber::EnvFilter` syntax.
    #[serde(default = "default_rust_log")]
    pub rust_log: String,
    /// Time limit for one backend call, in milliseconds.
    #[serde(default = "default_backend_timeout_ms")]
    pub backend_timeout_ms: u64,
    /// Time limit for connecting to the backend, in milliseconds.
    #[serde(default = "default_backend_connect_timeout_ms")]
    pub backend_connect_timeout_ms: u64,
    /// Longest time a whole request may take, in seconds.
    #[serde(default = "default_request_timeout_seconds")]
    pub request_timeout_seconds: u64,
    /// Longest time a client may take to send the request headers, in seconds.
    #[serde(default = "default_header_read_timeout_seconds")]
    pub header_read_timeout_seconds: u64,
    /// How long in-flight requests may run on after SIGTERM/SIGINT, in seconds.
    #[serde(default = "default_shutdown_grace_seconds")]
    pub shutdown_grace_seconds: u64,
}

fn default_http_host() -> String {
    "0.0.0.0".to_owned()
}
fn default_http_port() -> u16 {
    3000
}
fn default_cookie_secure() -> bool {
    true
}
fn default_log_format() -> String {
    "text".to_owned()
}
fn default_rust_log() -> String {
    "taskflow_frontend=info,taskflow_common=info,tower_http=info".to_owned()
}
fn default_backend_timeout_ms() -> u64 {
    5000
}
fn default_backend_connect_timeout_ms() -> u64 {
    1000
}
fn default_request_timeout_seconds() -> u64 {
    30
}
fn default_header_read_timeout_seconds() -> u64 {
    10
}
fn default_shutdown_grace_seconds() -> u64 {
    20
}

/// `scheme://host[:port]` with nothing after it.
fn is_origin(value: &str, schemes: &[&str]) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else {
        return false;
    };
    schemes.contains(&scheme)
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', ' ', '@'])
        && http::uri::Authority::try_from(rest).is_ok()
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
        let mut config: Self = taskflow_common::config::from_vars(vars)?;
        config.backend_url = config.backend_url.trim().trim_end_matches('/').to_owned();
        config.public_origin = config.public_origin.trim().trim_end_matches('/').to_owned();
        config.validate()?;
        Ok(config)
    }

    /// The environment variables this struct reads.
    pub fn variable_names() -> Vec<String> {
        taskflow_common::config::variable_names::<Self>()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let backend = self.backend_url.strip_prefix("http://").unwrap_or_default();
        if backend.is_empty()
            || http::Uri::try_from(self.backend_url.as_str()).is_err()
            || backend.contains(['?', '#'])
        {
            return Err(ConfigError::new(
                "BACKEND_URL must be an http:// URL such as http://127.0.0.1:8000 (the backend is reached over the cluster network)",
            ));
        }
        if !is_origin(&self.public_origin, &["http", "https"]) {
            return Err(ConfigError::new(
                "PUBLIC_ORIGIN must be an origin such as https://tasks.example.com or http://localhost:3000 (scheme, host and optional port only)",
            ));
        }
        parse_http_host(&self.http_host)?;
        if self.http_port == 0 {
            return Err(ConfigError::new("HTTP_PORT must be between 1 and 65535"));
        }
        LogFormat::parse(&self.log_format)?;
        check_log_filter(&self.rust_log)?;
        let ranges: [(&str, u64, u64, u64); 5] = [
            ("BACKEND_TIMEOUT_MS", self.backend_timeout_ms, 100, 120_000),
            (
                "BACKEND_CONNECT_TIMEOUT_MS",
                self.backend_connect_timeout_ms,
                50,
                60_000,
            ),
            (
                "REQUEST_TIMEOUT_SECONDS",
                self.request_timeout_seconds,
                1,
                600,
            ),
            (
                "HEADER_READ_TIMEOUT_SECONDS",
                self.header_read_timeout_seconds,
                1,
                600,
            ),
            (
                "SHUTDOWN_GRACE_SECONDS",
                self.shutdown_grace_seconds,
                0,
                3600,
            ),
        ];
        for (name, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(ConfigError(format!(
                    "{name} must be between {min} and {max}"
                )));
            }
        }
        Ok(())
    }

    /// The socket address to bind.
    pub fn http_addr(&self) -> SocketAddr {
        let host = parse_http_host(&self.http_host).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        SocketAddr::new(host, self.http_port)
    }

    /// The validated log format.
    pub fn log_format(&self) -> LogFormat {
        LogFormat::parse(&self.log_format).unwrap_or(LogFormat::Text)
    }

    /// Time limit of one backend call.
    pub fn backend_timeout(&self) -> Duration {
        Duration::from_millis(self.backend_timeout_ms)
    }

    /// Time limit for connecting to the backend.
    pub fn backend_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.backend_connect_timeout_ms)
    }

    /// Whole-request time limit.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    /// Serving options.
    pub fn serve_options(&self) -> taskflow_common::server::ServeOptions {
        taskflow_common::server::ServeOptions {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all = vec![
            ("BACKEND_URL".to_owned(), "http://127.0.0.1:8000".to_owned()),
            (
                "PUBLIC_ORIGIN".to_owned(),
                "http://localhost:3000".to_owned(),
            ),
        ];
        for (key, value) in extra {
            all.retain(|(k, _)| k != key);
            all.push(((*key).to_owned(), (*value).to_owned()));
        }
        all
    }

    #[test]
    fn defaults_apply_when_only_the_required_variables_are_set() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(config.http_addr().to_string(), "0.0.0.0:3000");
        assert!(config.cookie_secure);
        assert_eq!(config.backend_timeout(), Duration::from_secs(5));
    }

    #[test]
    fn trailing_slashes_are_dropped() {
        let config = Config::from_vars(vars(&[
            ("BACKEND_URL", "http://api:8000/"),
            ("PUBLIC_ORIGIN", "https://t.example/"),
        ]))
        .unwrap();
        assert_eq!(config.backend_url, "http://api:8000");
        assert_eq!(config.public_origin, "https://t.example");
    }

    #[test]
    fn invalid_values_are_rejected_with_a_message_naming_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("BACKEND_URL", "ftp://x")],
                "BACKEND_URL must be an http:// URL",
            ),
            (
                &[("BACKEND_URL", "https://api.example")],
                "BACKEND_URL must be an http:// URL",
            ),
            (
                &[("BACKEND_URL", "http://")],
                "BACKEND_URL must be an http:// URL",
            ),
            (
                &[("PUBLIC_ORIGIN", "localhost:3000")],
                "PUBLIC_ORIGIN must be an origin",
            ),
            (
                &[("PUBLIC_ORIGIN", "https://t.example/app")],
                "PUBLIC_ORIGIN must be an origin",
            ),
            (&[("HTTP_PORT", "x")], "HTTP_PORT is invalid"),
            (&[("HTTP_PORT", "0")], "HTTP_PORT must be between"),
            (
                &[("HTTP_HOST", "localhost")],
                "HTTP_HOST must be an IP address",
            ),
            (
                &[("COOKIE_SECURE", "sometimes")],
                "COOKIE_SECURE is invalid",
            ),
            (&[("LOG_FORMAT", "xml")], "LOG_FORMAT must be"),
            (&[("RUST_LOG", "=[")], "RUST_LOG is not a valid log filter"),
            (
                &[("BACKEND_TIMEOUT_MS", "5")],
                "BACKEND_TIMEOUT_MS must be between",
            ),
            (
                &[("BACKEND_CONNECT_TIMEOUT_MS", "1")],
                "BACKEND_CONNECT_TIMEOUT_MS must be between",
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
                &[("SHUTDOWN_GRACE_SECONDS", "4000")],
                "SHUTDOWN_GRACE_SECONDS must be between",
            ),
        ];
        for (extra, expected) in cases {
            let err = Config::from_vars(vars(extra))
                .expect_err("should be rejected")
                .to_string();
            assert!(
                err.starts_with(expected),
                "for {extra:?}: expected `{expected}…`, got `{err}`"
            );
        }
        let missing = Config::from_vars(vec![("PUBLIC_ORIGIN".to_owned(), "http://x".to_owned())])
            .unwrap_err();
        assert_eq!(missing.to_string(), "BACKEND_URL is required but not set");
    }

    #[test]
    fn variable_names_list_every_field() {
        let names = Config::variable_names();
        assert_eq!(names.len(), 12);
        assert!(names.contains(&"COOKIE_SECURE".to_owned()));
    }
}
