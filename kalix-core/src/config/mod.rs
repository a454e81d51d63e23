//! Service configuration, read from the environment and the command line.

mod settings;

use std::time::Duration;

use crate::error::StartError;
use crate::store::PostgresTimeouts;

/// How the service listens and what it accepts.
///
/// [`Config::from_env`] reads the `KALIX_*` variables, and a service binary also takes each as
/// a flag (`--http-port 8080`; `--help` lists them). The guide's
/// [configuration chapter](crate::guide::configuration) lists every variable with its default;
/// a test holds that table to the settings read here.
///
/// ```
/// let config = kalix_core::Config::default().with_port(0).with_admin_port(0);
/// assert_eq!(config.http_host, "127.0.0.1");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The service's name: the `ce-source` of the messages it publishes.
    pub service_name: String,
    /// Address to listen on.
    pub http_host: String,
    /// Port to listen on; 0 picks a free one.
    pub http_port: u16,
    /// Address of the admin listener (metrics, health): operators' port, never the service's.
    pub admin_host: String,
    /// Port of the admin listener; 0 picks a free one (logged).
    pub admin_port: u16,
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
    /// Where topics live.
    pub broker: BrokerLocation,
    /// Where other services of the project are, by name, for subscriptions to their streams;
    /// a service not listed is looked up in `KALIX_SERVICE_<NAME>`.
    pub service_urls: Vec<(String, String)>,
    /// An entity idle this long leaves memory.
    pub passivation_timeout: Duration,
    /// Entities of one type kept in memory at most.
    pub max_active_entities: usize,
    /// Timers pending at most in the service.
    pub max_pending_timers: u64,
    /// The largest call a timer may carry, in bytes of JSON.
    pub max_timer_payload_bytes: usize,
    /// How long topics and streams keep a message (see `KALIX_TOPIC_RETENTION_MS`).
    pub topic_retention: Duration,
    /// The bytes a NATS stream the service makes keeps at most.
    pub topic_max_bytes: u64,
    /// How long an entity keeps a command's reply under its idempotency key.
    pub idempotency_retention: Duration,
    /// Workflow steps running (or committing their result) at once in this process: background
    /// work that retries a failing call cannot take more of the store than this.
    pub max_running_steps: usize,
    /// The longest timer name, in bytes.
    pub max_timer_name_bytes: usize,
    /// The Ed25519 private key (PKCS#8 PEM) this service signs its calls to other services with.
    pub service_key_file: Option<std::path::PathBuf>,
    /// The services whose signed calls are accepted: `billing=<public key>,..`.
    pub trusted_services: String,
    /// A JWKS file whose keys verify bearer tokens.
    pub jwt_keys_file: Option<std::path::PathBuf>,
    /// Where an identity provider publishes its JWKS: fetched at start, every
    /// [`Config::jwt_jwks_refresh`] and (at most once a minute) on a token with an unknown `kid`.
    pub jwt_jwks_url: Option<http::Uri>,
    /// How often the keys at [`Config::jwt_jwks_url`] are fetched again.
    pub jwt_jwks_refresh: Duration,
    /// How a service binary's logs are written ([`Service::run`](crate::Service::run)).
    pub log_format: LogFormat,
}

/// How a service binary writes its logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object per line, with its spans' fields: for log collectors.
    Json,
}

/// The value of the file `path` that `variable` names, or an error naming both.
fn read_setting_file<T>(
    variable: &'static str,
    path: &std::path::Path,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, StartError> {
    let problem = |problem: String| StartError::Config { variable, problem };
    let text = std::fs::read_to_string(path)
        .map_err(|error| problem(format!("cannot read {}: {error}", path.display())))?;
    parse(&text).map_err(|why| problem(format!("{}: {why}", path.display())))
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

/// Where topics live.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum BrokerLocation {
    /// In the service's store (`embedded`, the default): durable as the store is.
    #[default]
    Embedded,
    /// NATS JetStream (`nats://host:port`): topic `T` is the subject `T`, after a prefix.
    Nats {
        /// The server's URL.
        url: String,
        /// Put before each topic's name to make its subject (`KALIX_NATS_SUBJECT_PREFIX`).
        subject_prefix: String,
    },
}

impl std::str::FromStr for BrokerLocation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "embedded" {
            return Ok(BrokerLocation::Embedded);
        }
        if text.starts_with("nats://") {
            return Ok(BrokerLocation::Nats {
                url: text.to_owned(),
                subject_prefix: String::new(),
            });
        }
        Err(format!(
            "expected embedded or nats://host:port, got '{text}'"
        ))
    }
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
            service_name: binary_name(),
            http_host: "127.0.0.1".to_owned(),
            http_port: 9000,
            admin_host: "127.0.0.1".to_owned(),
            admin_port: 9001,
            max_body_bytes: 1024 * 1024,
            max_buffered_body_bytes: 64 * 1024 * 1024,
            max_connections: 10_000,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            startup_retry_delay: Duration::from_secs(1),
            store: StoreLocation::Sqlite("kalix-data/kalix.db".into()),
            broker: BrokerLocation::Embedded,
            service_urls: Vec::new(),
            passivation_timeout: Duration::from_secs(30),
            max_active_entities: 10_000,
            max_pending_timers: 100_000,
            max_timer_payload_bytes: 64 * 1024,
            max_running_steps: 256,
            topic_retention: Duration::from_secs(7 * 24 * 60 * 60),
            topic_max_bytes: 1024 * 1024 * 1024,
            idempotency_retention: Duration::from_secs(24 * 60 * 60),
            max_timer_name_bytes: 1536,
            service_key_file: None,
            trusted_services: String::new(),
            jwt_keys_file: None,
            jwt_jwks_url: None,
            jwt_jwks_refresh: Duration::from_secs(60 * 60),
            log_format: LogFormat::Text,
        }
    }
}

/// The running binary's file name without extension, or `kalix-service`.
fn binary_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "kalix-service".to_owned())
}

impl Config {
    /// The defaults, overridden by the `KALIX_*` environment variables.
    pub fn from_env() -> Result<Self, StartError> {
        Self::from_env_and_args(std::iter::empty())
    }

    /// The defaults, overridden by the `KALIX_*` environment variables, overridden in turn by
    /// command-line flags (`args` without the program's name): each variable has a flag named
    /// after it (`KALIX_HTTP_PORT` is `--http-port 8080` or `--http-port=8080`).
    ///
    /// ```
    /// let args = ["--http-port=8080", "--store", "sqlite::memory:"].map(String::from);
    /// let config = kalix_core::Config::from_env_and_args(args).unwrap();
    /// assert_eq!(config.http_port, 8080);
    ///
    /// let error = kalix_core::Config::from_env_and_args(["--http-port=x".to_owned()]);
    /// assert_eq!(
    ///     error.unwrap_err().to_string(),
    ///     "--http-port: expected a port number from 0 to 65535, got 'x'"
    /// );
    /// ```
    pub fn from_env_and_args(args: impl IntoIterator<Item = String>) -> Result<Self, StartError> {
        let program = "service".to_owned();
        let matches = settings::command(program.clone(), env!("CARGO_PKG_VERSION").to_owned())
            .try_get_matches_from(std::iter::once(program).chain(args))
            .map_err(|error| StartError::CommandLine(error.render().to_string()))?;
        settings::config_of(&matches)
    }

    /// The config of a service binary's command line, or the help, version or usage error that
    /// clap prints before it exits (status 0 for help and version, 2 for a mistake); and whether
    /// `--openapi` asks for the API description instead of serving.
    pub(crate) fn from_command_line(version: Option<&str>) -> Result<(Self, bool), StartError> {
        let mut args = std::env::args_os();
        let program = args
            .next()
            .map(std::path::PathBuf::from)
            .and_then(|path| {
                path.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "service".to_owned());
        let core = concat!("(kalix-core ", env!("CARGO_PKG_VERSION"), ")");
        let version = match version {
            Some(version) => format!("{version} {core}"),
            None => core.to_owned(),
        };
        let matches = settings::command(program.clone(), version)
            .get_matches_from(std::iter::once(program.into()).chain(args));
        let config = settings::config_of(&matches)?;
        if matches.get_flag(settings::PRINT_PUBLIC_KEY) {
            let key = config.service_key()?.ok_or(StartError::Config {
                variable: "KALIX_SERVICE_KEY_FILE",
                problem: "--print-public-key prints the public key of this file: set it".to_owned(),
            })?;
            println!("{}", key.public_key());
            std::process::exit(0);
        }
        Ok((config, matches.get_flag(settings::PRINT_OPENAPI)))
    }

    /// The key of [`Config::service_key_file`], read and checked, signing as the service's name.
    pub fn service_key(&self) -> Result<Option<crate::access::ServiceKey>, StartError> {
        self.service_key_file
            .as_deref()
            .map(|path| {
                read_setting_file("KALIX_SERVICE_KEY_FILE", path, |pem| {
                    crate::access::ServiceKey::from_pkcs8_pem(&self.service_name, pem)
                })
            })
            .transpose()
    }

    /// The keys of [`Config::jwt_keys_file`], read and checked.
    pub fn jwt_keys(&self) -> Result<crate::access::JwtKeys, StartError> {
        match &self.jwt_keys_file {
            None => Ok(crate::access::JwtKeys::default()),
            Some(path) => {
                read_setting_file("KALIX_JWT_KEYS", path, crate::access::JwtKeys::from_jwks)
            }
        }
    }

    /// The services of [`Config::trusted_services`].
    pub fn trusted_services(&self) -> Result<crate::access::TrustedServices, StartError> {
        crate::access::TrustedServices::parse(&self.trusted_services).map_err(|problem| {
            StartError::Config {
                variable: "KALIX_TRUSTED_SERVICES",
                problem,
            }
        })
    }

    /// Returns the config with another port.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.http_port = port;
        self
    }

    /// Returns the config with another admin port (0 picks a free one: what tests want, so
    /// services started side by side do not contend for the default).
    #[must_use]
    pub fn with_admin_port(mut self, port: u16) -> Self {
        self.admin_port = port;
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

    /// Returns the config with another service name (the `ce-source` of what it publishes).
    #[must_use]
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// Returns the config with another broker.
    #[must_use]
    pub fn with_broker(mut self, broker: BrokerLocation) -> Self {
        self.broker = broker;
        self
    }

    /// Returns the config with the address of the service `name`, whose streams it subscribes
    /// to (otherwise read from `KALIX_SERVICE_<NAME>`, the name upper-cased with `-` as `_`).
    #[must_use]
    pub fn with_service_url(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.service_urls.push((name.into(), url.into()));
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

    /// Returns the config with another retention of topic and stream messages.
    #[must_use]
    pub fn with_topic_retention(mut self, retention: Duration) -> Self {
        self.topic_retention = retention;
        self
    }

    /// Returns the config with another bound on workflow steps running at once.
    ///
    /// ```
    /// let config = kalix_core::Config::default().with_max_running_steps(8);
    /// assert_eq!(config.max_running_steps, 8);
    /// ```
    #[must_use]
    pub fn with_max_running_steps(mut self, count: usize) -> Self {
        self.max_running_steps = count.max(1);
        self
    }

    /// Returns the config with another pause between start-up hook retries.
    #[must_use]
    pub fn with_startup_retry_delay(mut self, delay: Duration) -> Self {
        self.startup_retry_delay = delay;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_args(list: &[&str]) -> Result<Config, StartError> {
        Config::from_env_and_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_name_the_variables_and_mistakes_are_named() {
        let config = from_args(&["--http-port", "9001", "--max-active-entities=7"]).unwrap();
        assert_eq!((config.http_port, config.max_active_entities), (9001, 7));
        assert_eq!(
            config.max_body_bytes,
            1024 * 1024,
            "the others keep their defaults"
        );

        let error = from_args(&["--port", "1"]).unwrap_err().to_string();
        assert!(
            error.starts_with("error: unexpected argument '--port' found"),
            "{error}"
        );
        assert!(error.contains("try '--help'"), "{error}");
        let error = from_args(&["--http-port"]).unwrap_err().to_string();
        assert!(
            error.starts_with("error: a value is required for '--http-port <PORT>'"),
            "{error}"
        );
        let error = from_args(&["--http-port=x"]).unwrap_err().to_string();
        assert_eq!(
            error,
            "--http-port: expected a port number from 0 to 65535, got 'x'"
        );
    }

    #[test]
    fn limits_and_timeouts_are_read_and_a_zero_timeout_is_refused() {
        let config = from_args(&[
            "--http-max-buffered-bytes=1000",
            "--http-max-connections=50",
            "--http-header-timeout-ms=1500",
            "--request-timeout-ms=2000",
            "--postgres-statement-timeout-ms=700",
            "--store=postgres://u@h/db",
            "--postgres-schema=tenant_a",
        ])
        .unwrap();
        assert_eq!(config.max_buffered_body_bytes, 1000);
        assert_eq!(config.max_connections, 50);
        assert_eq!(config.header_timeout, Duration::from_millis(1500));
        assert_eq!(config.body_timeout, Duration::from_secs(30));
        assert_eq!(config.request_timeout, Duration::from_secs(2));
        let StoreLocation::Postgres {
            timeouts, schema, ..
        } = config.store
        else {
            panic!("a PostgreSQL store")
        };
        assert_eq!(schema, "tenant_a");
        assert_eq!(
            timeouts,
            PostgresTimeouts::new(Duration::from_millis(700), Duration::from_secs(5))
        );

        let error = from_args(&["--http-body-timeout-ms", "0"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--http-body-timeout-ms: expected a positive number of milliseconds, got '0'"
        );
    }
}
