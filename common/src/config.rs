//! Helpers for configuration structs read with `envy`: error messages that name the
//! variable, the list of variables a struct reads, and the log format setting.

use serde::Deserialize;

/// A configuration problem, worded for the operator: it names the variable and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Reads `T` from the given variables, rewording envy's errors so that they name the variable
/// and never echo its value (it could be a secret).
pub fn from_vars<T: for<'de> Deserialize<'de>>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    envy::from_iter(vars).map_err(describe_envy_error)
}

fn describe_envy_error(err: envy::Error) -> ConfigError {
    match err {
        envy::Error::MissingValue(field) => {
            ConfigError(format!("{} is required but not set", field.to_uppercase()))
        }
        envy::Error::Custom(message) => ConfigError(reword_parse_error(&message)),
    }
}

/// envy reports `<cause> while parsing value '<value>' provided by <VAR>`; turn that into
/// `<VAR> is invalid: <cause>` without the value.
fn reword_parse_error(message: &str) -> String {
    match message.split_once(" while parsing value '") {
        Some((cause, rest)) => match rest.rsplit_once("' provided by ") {
            Some((_, var)) => format!("{var} is invalid: {cause}"),
            None => format!("invalid configuration: {cause}"),
        },
        None => format!("invalid configuration: {message}"),
    }
}

/// The environment variable of every field of `T`, in declaration order (for docs checks).
pub fn variable_names<T: for<'de> Deserialize<'de>>() -> Vec<String> {
    let mut fields = Vec::new();
    // The derived Deserialize hands its field list to `deserialize_struct`; capture it.
    let _ = T::deserialize(FieldNames(&mut fields));
    fields.iter().map(|field| field.to_uppercase()).collect()
}

struct FieldNames<'a>(&'a mut Vec<&'static str>);

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("only the field names are read"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.extend_from_slice(fields);
        Err(serde::de::Error::custom("only the field names are read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    Json,
    /// Human-readable lines.
    Text,
}

impl LogFormat {
    /// Parses the `LOG_FORMAT` setting.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        match raw {
            "json" => Ok(Self::Json),
            "text" => Ok(Self::Text),
            _ => Err(ConfigError::new("LOG_FORMAT must be `json` or `text`")),
        }
    }
}

/// Checks a `RUST_LOG` filter.
pub fn check_log_filter(filter: &str) -> Result<(), ConfigError> {
    if filter.trim().is_empty() {
        return Err(ConfigError::new(
            "RUST_LOG must not be empty (for example: info)",
        ));
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(|_| ())
        .map_err(|err| ConfigError(format!("RUST_LOG is not a valid log filter: {err}")))
}

/// Checks an `HTTP_HOST` setting.
pub fn parse_http_host(raw: &str) -> Result<std::net::IpAddr, ConfigError> {
    raw.trim().parse().map_err(|_| {
        ConfigError::new("HTTP_HOST must be an IP address such as 0.0.0.0, 127.0.0.1 or ::")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[allow(dead_code)]
        http_port: u16,
        #[serde(default)]
        #[allow(dead_code)]
        log_format: Option<String>,
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_missing_variable_is_named_in_upper_case() {
        let err = from_vars::<Sample>(vars(&[])).unwrap_err();
        assert_eq!(err.to_string(), "HTTP_PORT is required but not set");
    }

    #[test]
    fn a_parse_error_names_the_variable_without_its_value() {
        let err = from_vars::<Sample>(vars(&[("HTTP_PORT", "s3cret")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("HTTP_PORT is invalid"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn variable_names_follow_the_struct() {
        assert_eq!(variable_names::<Sample>(), ["HTTP_PORT", "LOG_FORMAT"]);
    }

    #[test]
    fn log_formats_and_filters_are_checked() {
        assert_eq!(LogFormat::parse("json").unwrap(), LogFormat::Json);
        assert!(LogFormat::parse("xml").is_err());
        assert!(check_log_filter("info,tower_http=debug").is_ok());
        assert!(check_log_filter("=[").is_err());
        assert!(check_log_filter(" ").is_err());
        assert!(parse_http_host("::").is_ok());
        assert!(parse_http_host("localhost").is_err());
    }
}
