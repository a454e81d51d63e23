//! Service configuration, read from the environment.

use std::time::Duration;

use crate::error::StartError;
use crate::store::PostgresTimeouts;

/// How the service listens and what it accepts.
///
/// [`Config::from_env`] reads:
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `KALIX_HTTP_HOST` | `127.0.0.1` | address to listen on |
/// | `KALIX_HTTP_PORT` | `9000` | port to listen on (`0`: any free port) |
/// | `KALIX_HTTP_MAX_BODY_BYTES` | 1 MiB | largest request body accepted (413 above) |
/// | `KALIX_HTTP_MAX_BUFFERED_BYTES` | 64 MiB | request body bytes held at once across all requests (503 above) |
/// | `KALIX_HTTP_MAX_CONNECTIONS` | `10000` | open connections at most; more wait to be accepted |
/// | `KALIX_HTTP_HEADER_TIMEOUT_MS` | `30000` | an HTTP/1 connection that does not deliver a request's headers in full within this time of becoming idle is closed (also the keep-alive idle timeout) |
/// | `KALIX_HTTP_BODY_TIMEOUT_MS` | `30000` | a request body must arrive in full within this time (408 otherwise) |
/// | `KALIX_REQUEST_TIMEOUT_MS` | `30000` | a handler's response must be ready within this time (503 otherwise) |
/// | `KALIX_STARTUP_RETRY_DELAY_MS` | `1000` | pause between retries of a failed `#[on_startup]` hook |
/// | `KALIX_STORE` | `sqlite://kalix-data/kalix.db` | where entity state is kept: `sqlite://<path>`, `sqlite::memory:` or `postgres://user@host:port/database` |
/// | `KALIX_POSTGRES_SCHEMA` | `kalix` | the PostgreSQL schema holding the tables |
/// | `KALIX_POSTGRES_STATEMENT_TIMEOUT_MS` | `5000` | longest a PostgreSQL statement may run or wait for a lock |
/// | `KALIX_POSTGRES_POOL_TIMEOUT_MS` | `5000` | longest a request waits for, or to open, a PostgreSQL connection |
/// | `KALIX_PASSIVATION_TIMEOUT_MS` | `30000` | an entity idle this long leaves memory |
/// | `KALIX_MAX_ACTIVE_ENTITIES` | `10000` | entities of one type kept in memory at most |
///
/// ```
/// let config = kalix_core::Config::default().with_port(0);
/// assert_eq!(config.http_host, "127.0.0.1");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Address to listen on.
    pub http_host: String,
    /// Port to listen on; 0 picks a free one.
    pub http_port: u16,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Request body bytes held at once across all requests; a body that would go over is
    /// refused with a 503.
    pub max_buffered_body_bytes: usize,
    /// Open connections at most; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// How long an HTTP/1 connection may take to deliver a request's headers, counted from when
    /// it became idle; an idle keep-alive connection is closed after it too.
    pub header_timeout: Duration,
    /// How long a request body may take to arrive in full.
    pub body_timeout: Duration,
    /// How long a handler may take to produce its response (a stream's items are not bounded).
    pub request_timeout: Duration,
    /// Pause between retries of a failed start-up hook.
    pub startup_retry_delay: Duration,
    /// Where entity state is kept.
    pub store: StoreLocation,
    /// An entity idle this long leaves memory.
    pub passivation_timeout: Duration,
    /// Entities of one type kept in memory at most.
    pub max_active_entities: usize,
}

/// Where entity state is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file (`sqlite://<path>`).
    Sqlite(std::path::PathBuf),
    /// An SQLite database in memory, gone at exit (`sqlite::memory:`).
    SqliteMemory,
    /// A PostgreSQL database (`postgres://...`), with the schema holding the tables.
    Postgres {
        /// The connection URL.
        url: String,
        /// The schema (`KALIX_POSTGRES_SCHEMA`, default `kalix`).
        schema: String,
        /// How long the service waits for the database.
        timeouts: PostgresTimeouts,
    },
}

impl std::str::FromStr for StoreLocation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "sqlite::memory:" {
            return Ok(StoreLocation::SqliteMemory);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres {
                url: text.to_owned(),
                schema: "kalix".to_owned(),
                timeouts: PostgresTimeouts::default(),
            });
        }
        match text.strip_prefix("sqlite://") {
            Some(path) if !path.is_empty() => Ok(StoreLocation::Sqlite(path.into())),
            _ => Err(format!(
                "expected sqlite://<path>, sqlite::memory: or postgres://..., got '{text}'"
            )),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_host: "127.0.0.1".to_owned(),
            http_port: 9000,
            max_body_bytes: 1024 * 1024,
            max_buffered_body_bytes: 64 * 1024 * 1024,
            max_connections: 10_000,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            startup_retry_delay: Duration::from_secs(1),
            store: StoreLocation::Sqlite("kalix-data/kalix.db".into()),
            passivation_timeout: Duration::from_secs(30),
            max_active_entities: 10_000,
        }
    }
}

impl Config {
    /// The defaults, overridden by the `KALIX_*` environment variables.
    pub fn from_env() -> Result<Self, StartError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The defaults, overridden by the `KALIX_*` environment variables, overridden in turn by
    /// command-line flags: each variable has a flag named after it (`KALIX_HTTP_PORT` is
    /// `--http-port 9001` or `--http-port=9001`). An unknown flag is an error listing the flags.
    ///
    /// ```
    /// let args = ["--http-port=9001", "--store", "sqlite::memory:"].map(String::from);
    /// let config = kalix_core::Config::from_env_and_args(args).unwrap();
    /// assert_eq!(config.http_port, 9001);
    /// ```
    pub fn from_env_and_args(args: impl IntoIterator<Item = String>) -> Result<Self, StartError> {
        let flags = parse_flags(args)?;
        Self::from_lookup(|name| {
            flags
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.clone())
                .or_else(|| std::env::var(name).ok())
        })
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, StartError> {
        let mut config = Self::default();
        if let Some(host) = lookup("KALIX_HTTP_HOST") {
            config.http_host = host;
        }
        if let Some(port) = parse(&lookup, "KALIX_HTTP_PORT", "a port number from 0 to 65535")? {
            config.http_port = port;
        }
        if let Some(bytes) = parse(&lookup, "KALIX_HTTP_MAX_BODY_BYTES", "a number of bytes")? {
            config.max_body_bytes = bytes;
        }
        if let Some(bytes) = parse(
            &lookup,
            "KALIX_HTTP_MAX_BUFFERED_BYTES",
            "a number of bytes",
        )? {
            config.max_buffered_body_bytes = bytes;
        }
        if let Some(count) =
            parse::<usize>(&lookup, "KALIX_HTTP_MAX_CONNECTIONS", "a positive number")?
        {
            config.max_connections = count.max(1);
        }
        if let Some(timeout) = parse_millis(&lookup, "KALIX_HTTP_HEADER_TIMEOUT_MS")? {
            config.header_timeout = timeout;
        }
        if let Some(timeout) = parse_millis(&lookup, "KALIX_HTTP_BODY_TIMEOUT_MS")? {
            config.body_timeout = timeout;
        }
        if let Some(timeout) = parse_millis(&lookup, "KALIX_REQUEST_TIMEOUT_MS")? {
            config.request_timeout = timeout;
        }
        if let Some(ms) = parse(
            &lookup,
            "KALIX_STARTUP_RETRY_DELAY_MS",
            "a number of milliseconds",
        )? {
            config.startup_retry_delay = Duration::from_millis(ms);
        }
        if let Some(store) = lookup("KALIX_STORE") {
            config.store = store.parse().map_err(|problem| StartError::Config {
                variable: "KALIX_STORE",
                problem,
            })?;
        }
        if let StoreLocation::Postgres {
            schema, timeouts, ..
        } = &mut config.store
        {
            if let Some(name) = lookup("KALIX_POSTGRES_SCHEMA") {
                *schema = name;
            }
            if let Some(timeout) = parse_millis(&lookup, "KALIX_POSTGRES_STATEMENT_TIMEOUT_MS")? {
                timeouts.statement = timeout;
            }
            if let Some(timeout) = parse_millis(&lookup, "KALIX_POSTGRES_POOL_TIMEOUT_MS")? {
                timeouts.pool = timeout;
            }
        }
        if let Some(ms) = parse(
            &lookup,
            "KALIX_PASSIVATION_TIMEOUT_MS",
            "a number of milliseconds",
        )? {
            config.passivation_timeout = Duration::from_millis(ms);
        }
        if let Some(count) =
            parse::<usize>(&lookup, "KALIX_MAX_ACTIVE_ENTITIES", "a positive number")?
        {
            config.max_active_entities = count.max(1);
        }
        Ok(config)
    }

    /// Returns the config with another port.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.http_port = port;
        self
    }

    /// Returns the config with another time allowed for an HTTP/1 request's headers, which is
    /// also how long an idle keep-alive connection stays open.
    #[must_use]
    pub fn with_header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Returns the config with another time allowed for a request body to arrive.
    #[must_use]
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Returns the config with another time allowed for a handler's response.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = kalix_core::Config::default().with_request_timeout(Duration::from_secs(5));
    /// assert_eq!(config.request_timeout, Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Returns the config with another bound on request body bytes held at once.
    #[must_use]
    pub fn with_max_buffered_body_bytes(mut self, bytes: usize) -> Self {
        self.max_buffered_body_bytes = bytes;
        self
    }

    /// Returns the config with another bound on open connections.
    #[must_use]
    pub fn with_max_connections(mut self, count: usize) -> Self {
        self.max_connections = count.max(1);
        self
    }

    /// Returns the config with another body limit.
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Returns the config with another store.
    #[must_use]
    pub fn with_store(mut self, store: StoreLocation) -> Self {
        self.store = store;
        self
    }

    /// Returns the config with another passivation timeout.
    #[must_use]
    pub fn with_passivation_timeout(mut self, timeout: Duration) -> Self {
        self.passivation_timeout = timeout;
        self
    }

    /// Returns the config with another bound on entities kept in memory.
    #[must_use]
    pub fn with_max_active_entities(mut self, count: usize) -> Self {
        self.max_active_entities = count.max(1);
        self
    }

    /// Returns the config with another pause between start-up hook retries.
    #[must_use]
    pub fn with_startup_retry_delay(mut self, delay: Duration) -> Self {
        self.startup_retry_delay = delay;
        self
    }
}

/// Every configuration variable; each has a command-line flag.
const VARIABLES: [&str; 15] = [
    "KALIX_HTTP_HOST",
    "KALIX_HTTP_PORT",
    "KALIX_HTTP_MAX_BODY_BYTES",
    "KALIX_HTTP_MAX_BUFFERED_BYTES",
    "KALIX_HTTP_MAX_CONNECTIONS",
    "KALIX_HTTP_HEADER_TIMEOUT_MS",
    "KALIX_HTTP_BODY_TIMEOUT_MS",
    "KALIX_REQUEST_TIMEOUT_MS",
    "KALIX_STARTUP_RETRY_DELAY_MS",
    "KALIX_STORE",
    "KALIX_POSTGRES_SCHEMA",
    "KALIX_POSTGRES_STATEMENT_TIMEOUT_MS",
    "KALIX_POSTGRES_POOL_TIMEOUT_MS",
    "KALIX_PASSIVATION_TIMEOUT_MS",
    "KALIX_MAX_ACTIVE_ENTITIES",
];

/// `KALIX_HTTP_PORT` -> `--http-port`.
fn flag_of(variable: &str) -> String {
    format!(
        "--{}",
        variable
            .trim_start_matches("KALIX_")
            .to_ascii_lowercase()
            .replace('_', "-")
    )
}

/// The flags as (variable, value) pairs; `--flag value` and `--flag=value` both work.
fn parse_flags(
    args: impl IntoIterator<Item = String>,
) -> Result<Vec<(&'static str, String)>, StartError> {
    let mut args = args.into_iter();
    let mut flags = Vec::new();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let Some(variable) = VARIABLES.iter().find(|v| flag_of(v) == flag) else {
            let known: Vec<String> = VARIABLES.iter().map(|v| flag_of(v)).collect();
            return Err(StartError::Config {
                variable: "command line",
                problem: format!("unknown flag '{arg}'; the flags are {}", known.join(", ")),
            });
        };
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => {
                return Err(StartError::Config {
                    variable,
                    problem: format!("{flag} needs a value"),
                });
            }
        };
        flags.push((*variable, value));
    }
    Ok(flags)
}

fn parse<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    expected: &str,
) -> Result<Option<T>, StartError> {
    lookup(variable)
        .map(|raw| {
            raw.trim().parse().map_err(|_| StartError::Config {
                variable,
                problem: format!("expected {expected}, got '{raw}'"),
            })
        })
        .transpose()
}

/// A positive number of milliseconds.
fn parse_millis(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<Duration>, StartError> {
    match parse::<u64>(lookup, variable, "a positive number of milliseconds")? {
        Some(0) => Err(StartError::Config {
            variable,
            problem: "expected a positive number of milliseconds, got '0'".to_owned(),
        }),
        other => Ok(other.map(Duration::from_millis)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_name_the_variables_and_unknown_ones_are_refused() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let config =
            Config::from_env_and_args(args(&["--http-port", "9001", "--max-active-entities=7"]))
                .unwrap();
        assert_eq!((config.http_port, config.max_active_entities), (9001, 7));
        let error = Config::from_env_and_args(args(&["--port", "1"]))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "command line: unknown flag '--port'; the flags are --http-host, --http-port"
            ),
            "{error}"
        );
        let error = Config::from_env_and_args(args(&["--http-port"]))
            .unwrap_err()
            .to_string();
        assert_eq!(error, "KALIX_HTTP_PORT: --http-port needs a value");
        let error = Config::from_env_and_args(args(&["--http-port=x"]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "KALIX_HTTP_PORT: expected a port number from 0 to 65535, got 'x'"
        );
    }

    #[test]
    fn environment_overrides_defaults_and_bad_values_are_named() {
        let config = Config::from_lookup(|name| match name {
            "KALIX_HTTP_PORT" => Some("8080".into()),
            "KALIX_HTTP_HOST" => Some("0.0.0.0".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            (config.http_host.as_str(), config.http_port),
            ("0.0.0.0", 8080)
        );
        assert_eq!(config.max_body_bytes, 1024 * 1024);

        let error = Config::from_lookup(|name| (name == "KALIX_HTTP_PORT").then(|| "http".into()))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "KALIX_HTTP_PORT: expected a port number from 0 to 65535, got 'http'"
        );
    }

    #[test]
    fn limits_and_timeouts_are_read_and_a_zero_timeout_is_refused() {
        let config = Config::from_lookup(|name| match name {
            "KALIX_HTTP_MAX_BUFFERED_BYTES" => Some("1000".into()),
            "KALIX_HTTP_MAX_CONNECTIONS" => Some("50".into()),
            "KALIX_HTTP_HEADER_TIMEOUT_MS" => Some("1500".into()),
            "KALIX_REQUEST_TIMEOUT_MS" => Some("2000".into()),
            "KALIX_STORE" => Some("postgres://u@h/db".into()),
            "KALIX_POSTGRES_STATEMENT_TIMEOUT_MS" => Some("700".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.max_buffered_body_bytes, 1000);
        assert_eq!(config.max_connections, 50);
        assert_eq!(config.header_timeout, Duration::from_millis(1500));
        assert_eq!(config.body_timeout, Duration::from_secs(30));
        assert_eq!(config.request_timeout, Duration::from_secs(2));
        let StoreLocation::Postgres { timeouts, .. } = config.store else {
            panic!("a PostgreSQL store")
        };
        assert_eq!(
            timeouts,
            PostgresTimeouts::new(Duration::from_millis(700), Duration::from_secs(5))
        );

        let error =
            Config::from_lookup(|name| (name == "KALIX_HTTP_BODY_TIMEOUT_MS").then(|| "0".into()))
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "KALIX_HTTP_BODY_TIMEOUT_MS: expected a positive number of milliseconds, got '0'"
        );
    }
}
