//! The settings a service reads at start: each one a `KALIX_*` variable and a flag named after it,
//! parsed by `clap` so that `--help` lists them with their defaults and a bad value is named.

use std::time::Duration;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command};

use super::{BrokerLocation, Config, LogFormat, StoreLocation};
use crate::error::StartError;

/// One setting: its variable, how `--help` shows it, and how its value changes a [`Config`].
struct Setting {
    variable: &'static str,
    /// The flag: the variable without `KALIX_`, in kebab case.
    flag: &'static str,
    value_name: &'static str,
    help: &'static str,
    /// The default as `--help` shows it, read off [`Config::default`] so the two cannot drift.
    shown_default: fn(&Config) -> String,
    /// Parses the value and stores it; the error says what was expected.
    apply: fn(&mut Config, &str) -> Result<(), String>,
}

/// Every setting, in the order they apply: the store comes before the settings of a PostgreSQL
/// store.
const SETTINGS: &[Setting] = &[
    Setting {
        variable: "KALIX_SERVICE_NAME",
        flag: "--service-name",
        value_name: "NAME",
        help: "The service's name: the ce-source of what it publishes, and how other services name it",
        shown_default: |c| c.service_name.clone(),
        apply: |c, raw| {
            if raw.is_empty() {
                return Err("expected a name, got nothing".to_owned());
            }
            c.service_name = raw.to_owned();
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_HTTP_HOST",
        flag: "--http-host",
        value_name: "ADDRESS",
        help: "Address to listen on",
        shown_default: |c| c.http_host.clone(),
        apply: |c, raw| {
            c.http_host = raw.to_owned();
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_HTTP_PORT",
        flag: "--http-port",
        value_name: "PORT",
        help: "Port to listen on (0: any free port)",
        shown_default: |c| c.http_port.to_string(),
        apply: |c, raw| {
            c.http_port = number(raw, "a port number from 0 to 65535")?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_ADMIN_HOST",
        flag: "--admin-host",
        value_name: "ADDRESS",
        help: "Address of the admin listener (metrics, health)",
        shown_default: |c| c.admin_host.clone(),
        apply: |c, raw| {
            c.admin_host = raw.to_owned();
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_ADMIN_PORT",
        flag: "--admin-port",
        value_name: "PORT",
        help: "Port of the admin listener (0: any free port, logged)",
        shown_default: |c| c.admin_port.to_string(),
        apply: |c, raw| {
            c.admin_port = number(raw, "a port number from 0 to 65535")?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_HTTP_MAX_BODY_BYTES",
        flag: "--http-max-body-bytes",
        value_name: "BYTES",
        help: "Largest request body accepted (413 above)",
        shown_default: |c| c.max_body_bytes.to_string(),
        apply: |c, raw| {
            c.max_body_bytes = number(raw, "a number of bytes")?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_HTTP_MAX_BUFFERED_BYTES",
        flag: "--http-max-buffered-bytes",
        value_name: "BYTES",
        help: "Request body bytes held at once across all requests (503 above)",
        shown_default: |c| c.max_buffered_body_bytes.to_string(),
        apply: |c, raw| {
            c.max_buffered_body_bytes = number(raw, "a number of bytes")?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_HTTP_MAX_CONNECTIONS",
        flag: "--http-max-connections",
        value_name: "COUNT",
        help: "Open connections at most; more wait to be accepted",
        shown_default: |c| c.max_connections.to_string(),
        apply: |c, raw| {
            c.max_connections = count(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_HTTP_HEADER_TIMEOUT_MS",
        flag: "--http-header-timeout-ms",
        value_name: "MS",
        help: "An HTTP/1 connection must deliver a request's headers within this time of becoming \
               idle (also the keep-alive idle timeout)",
        shown_default: |c| millis_of(c.header_timeout),
        apply: |c, raw| {
            c.header_timeout = millis(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_HTTP_BODY_TIMEOUT_MS",
        flag: "--http-body-timeout-ms",
        value_name: "MS",
        help: "A request body must arrive in full within this time (408 otherwise)",
        shown_default: |c| millis_of(c.body_timeout),
        apply: |c, raw| {
            c.body_timeout = millis(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_REQUEST_TIMEOUT_MS",
        flag: "--request-timeout-ms",
        value_name: "MS",
        help: "A handler's response must be ready within this time (503 otherwise)",
        shown_default: |c| millis_of(c.request_timeout),
        apply: |c, raw| {
            c.request_timeout = millis(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_STARTUP_RETRY_DELAY_MS",
        flag: "--startup-retry-delay-ms",
        value_name: "MS",
        help: "Pause between retries of a failed #[on_startup] hook",
        shown_default: |c| millis_of(c.startup_retry_delay),
        apply: |c, raw| {
            c.startup_retry_delay = Duration::from_millis(number(raw, "a number of milliseconds")?);
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_STORE",
        flag: "--store",
        value_name: "URL",
        help: "Where entity state is kept: sqlite://<path>, sqlite::memory: or \
               postgres://user@host:port/database",
        shown_default: |c| match &c.store {
            StoreLocation::Sqlite(path) => format!("sqlite://{}", path.display()),
            StoreLocation::SqliteMemory => "sqlite::memory:".to_owned(),
            StoreLocation::Postgres { url, .. } => url.clone(),
        },
        apply: |c, raw| {
            c.store = raw.parse()?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_BROKER",
        flag: "--broker",
        value_name: "URL",
        help: "Where topics live: embedded (in the store) or nats://host:port (NATS JetStream)",
        shown_default: |c| match &c.broker {
            BrokerLocation::Embedded => "embedded".to_owned(),
            BrokerLocation::Nats { url, .. } => url.clone(),
        },
        apply: |c, raw| {
            let prefix = match &c.broker {
                BrokerLocation::Nats { subject_prefix, .. } => subject_prefix.clone(),
                BrokerLocation::Embedded => String::new(),
            };
            c.broker = raw.parse()?;
            if let BrokerLocation::Nats { subject_prefix, .. } = &mut c.broker {
                *subject_prefix = prefix;
            }
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_NATS_SUBJECT_PREFIX",
        flag: "--nats-subject-prefix",
        value_name: "PREFIX",
        help: "Put before each topic's name to make its NATS subject",
        shown_default: |_| String::new(),
        apply: |c, raw| match &mut c.broker {
            BrokerLocation::Nats { subject_prefix, .. } => {
                *subject_prefix = raw.to_owned();
                Ok(())
            }
            BrokerLocation::Embedded => {
                Err("a subject prefix needs KALIX_BROKER=nats://..".to_owned())
            }
        },
    },
    Setting {
        variable: "KALIX_POSTGRES_SCHEMA",
        flag: "--postgres-schema",
        value_name: "NAME",
        help: "The PostgreSQL schema holding the tables",
        shown_default: |_| "kalix".to_owned(),
        apply: |c, raw| {
            if let StoreLocation::Postgres { schema, .. } = &mut c.store {
                *schema = raw.to_owned();
            }
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_POSTGRES_STATEMENT_TIMEOUT_MS",
        flag: "--postgres-statement-timeout-ms",
        value_name: "MS",
        help: "Longest a PostgreSQL statement may run or wait for a lock",
        shown_default: |_| millis_of(crate::store::PostgresTimeouts::default().statement),
        apply: |c, raw| {
            let timeout = millis(raw)?;
            if let StoreLocation::Postgres { timeouts, .. } = &mut c.store {
                timeouts.statement = timeout;
            }
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_POSTGRES_POOL_TIMEOUT_MS",
        flag: "--postgres-pool-timeout-ms",
        value_name: "MS",
        help: "Longest a request waits for, or to open, a PostgreSQL connection",
        shown_default: |_| millis_of(crate::store::PostgresTimeouts::default().pool),
        apply: |c, raw| {
            let timeout = millis(raw)?;
            if let StoreLocation::Postgres { timeouts, .. } = &mut c.store {
                timeouts.pool = timeout;
            }
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_PASSIVATION_TIMEOUT_MS",
        flag: "--passivation-timeout-ms",
        value_name: "MS",
        help: "An entity idle this long leaves memory",
        shown_default: |c| millis_of(c.passivation_timeout),
        apply: |c, raw| {
            c.passivation_timeout = Duration::from_millis(number(raw, "a number of milliseconds")?);
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_MAX_ACTIVE_ENTITIES",
        flag: "--max-active-entities",
        value_name: "COUNT",
        help: "Entities of one type kept in memory at most",
        shown_default: |c| c.max_active_entities.to_string(),
        apply: |c, raw| {
            c.max_active_entities = count(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_TIMERS_MAX_PENDING",
        flag: "--timers-max-pending",
        value_name: "COUNT",
        help: "Timers pending at most in the service; starting one more is refused",
        shown_default: |c| c.max_pending_timers.to_string(),
        apply: |c, raw| {
            c.max_pending_timers = count(raw)? as u64;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_TOPIC_RETENTION_MS",
        flag: "--topic-retention-ms",
        value_name: "MS",
        help: "How long topics and streams keep a message: the embedded broker removes older ones \
               once this service's consumer groups processed them; NATS streams the service \
               makes get it as their max age",
        shown_default: |c| millis_of(c.topic_retention),
        apply: |c, raw| {
            c.topic_retention = millis(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_IDEMPOTENCY_RETENTION",
        flag: "--idempotency-retention",
        value_name: "DURATION",
        help: "How long a command's reply is kept under its idempotency key (e.g. 24h, 90m, 30s): \
               the same key again within it is answered with that reply and runs nothing",
        shown_default: |c| duration_of(c.idempotency_retention),
        apply: |c, raw| {
            c.idempotency_retention = duration(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_TOPIC_MAX_BYTES",
        flag: "--topic-max-bytes",
        value_name: "BYTES",
        help: "The bytes a NATS stream the service makes keeps at most (the oldest messages go \
               first)",
        shown_default: |c| c.topic_max_bytes.to_string(),
        apply: |c, raw| {
            c.topic_max_bytes = number(raw, "a number of bytes")?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_WORKFLOW_MAX_RUNNING_STEPS",
        flag: "--workflow-max-running-steps",
        value_name: "COUNT",
        help: "Workflow steps running (or committing their result) at once in this process; more \
               wait their turn, so retrying workflows leave commands their share of the store",
        shown_default: |c| c.max_running_steps.to_string(),
        apply: |c, raw| {
            c.max_running_steps = count(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_TIMERS_MAX_PAYLOAD_BYTES",
        flag: "--timers-max-payload-bytes",
        value_name: "BYTES",
        help: "Largest call (its JSON) a timer may carry",
        shown_default: |c| c.max_timer_payload_bytes.to_string(),
        apply: |c, raw| {
            c.max_timer_payload_bytes = count(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_SERVICE_KEY_FILE",
        flag: "--service-key-file",
        value_name: "PATH",
        help: "An Ed25519 private key (PKCS#8 PEM) this service signs its calls to other services \
               with; `--print-public-key` prints its public key",
        shown_default: |_| String::new(),
        apply: |c, raw| {
            c.service_key_file = (!raw.is_empty()).then(|| raw.into());
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_TRUSTED_SERVICES",
        flag: "--trusted-services",
        value_name: "LIST",
        help: "The services whose signed calls are accepted as theirs: `billing=<public key>,..`",
        shown_default: |_| String::new(),
        apply: |c, raw| {
            crate::access::TrustedServices::parse(raw)?;
            c.trusted_services = raw.to_owned();
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_JWT_KEYS",
        flag: "--jwt-keys",
        value_name: "PATH",
        help: "A JWKS file (`{\"keys\": [..]}`) whose keys verify bearer tokens",
        shown_default: |_| String::new(),
        apply: |c, raw| {
            c.jwt_keys_file = (!raw.is_empty()).then(|| raw.into());
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_JWT_JWKS_URL",
        flag: "--jwt-jwks-url",
        value_name: "URL",
        help: "Where an identity provider publishes the JWKS whose keys verify bearer tokens",
        shown_default: |_| String::new(),
        apply: |c, raw| {
            c.jwt_jwks_url = match raw {
                "" => None,
                raw => Some(jwks_url(raw)?),
            };
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_JWT_JWKS_REFRESH_MS",
        flag: "--jwt-jwks-refresh-ms",
        value_name: "MS",
        help: "How often the keys at KALIX_JWT_JWKS_URL are fetched again",
        shown_default: |c| millis_of(c.jwt_jwks_refresh),
        apply: |c, raw| {
            c.jwt_jwks_refresh = millis(raw)?;
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_LOG_FORMAT",
        flag: "--log-format",
        value_name: "FORMAT",
        help: "How logs are written: text, or json (one object per line)",
        shown_default: |c| match c.log_format {
            LogFormat::Text => "text".to_owned(),
            LogFormat::Json => "json".to_owned(),
        },
        apply: |c, raw| {
            c.log_format = match raw {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(format!("expected text or json, got '{raw}'")),
            };
            Ok(())
        },
    },
    Setting {
        variable: "KALIX_TIMERS_MAX_NAME_BYTES",
        flag: "--timers-max-name-bytes",
        value_name: "BYTES",
        help: "Longest timer name",
        shown_default: |c| c.max_timer_name_bytes.to_string(),
        apply: |c, raw| {
            c.max_timer_name_bytes = count(raw)?;
            Ok(())
        },
    },
];

/// The flag that prints the service key's public key instead of serving.
pub(super) const PRINT_PUBLIC_KEY: &str = "print-public-key";

/// The flag that prints the service's API description instead of serving.
pub(crate) const PRINT_OPENAPI: &str = "openapi";

/// The command line of a service binary: a flag per setting, each also read from its variable.
pub(super) fn command(name: String, version: String) -> Command {
    let defaults = Config::default();
    let arguments = SETTINGS.iter().map(|setting| {
        Arg::new(setting.variable)
            .long(setting.flag.trim_start_matches("--"))
            .env(setting.variable)
            .value_name(setting.value_name)
            .help(setting.help)
            .default_value((setting.shown_default)(&defaults))
    });
    Command::new(name)
        .version(version)
        .about("A Kalix service. Each flag can also be set by the variable shown beside it.")
        .args(arguments)
        .arg(
            Arg::new(PRINT_PUBLIC_KEY)
                .long(PRINT_PUBLIC_KEY)
                .action(clap::ArgAction::SetTrue)
                .help(
                    "Print the public key of KALIX_SERVICE_KEY_FILE, as other services list it \
                     in KALIX_TRUSTED_SERVICES, and exit",
                ),
        )
        .arg(
            Arg::new(PRINT_OPENAPI)
                .long(PRINT_OPENAPI)
                .action(clap::ArgAction::SetTrue)
                .help(
                    "Print the service's API description (OpenAPI 3.1, JSON), as the admin \
                     listener serves it at /openapi.json, and exit",
                ),
        )
}

/// The config the matches describe: the defaults, with each setting given by a flag or a
/// variable applied in turn. A bad value is named as the user gave it, by flag or by variable.
pub(super) fn config_of(matches: &ArgMatches) -> Result<Config, StartError> {
    // A renamed setting is refused, not ignored: its value would silently not apply.
    if std::env::var_os("KALIX_IDEMPOTENCY_RETENTION_MS").is_some() {
        return Err(StartError::Config {
            variable: "KALIX_IDEMPOTENCY_RETENTION_MS",
            problem: "renamed: set KALIX_IDEMPOTENCY_RETENTION to a duration such as 24h"
                .to_owned(),
        });
    }
    let mut config = Config::default();
    for setting in SETTINGS {
        let source = matches.value_source(setting.variable);
        let given_as = match source {
            Some(ValueSource::CommandLine) => setting.flag,
            Some(ValueSource::EnvVariable) => setting.variable,
            _ => continue,
        };
        let raw = matches
            .get_one::<String>(setting.variable)
            .map_or("", |raw| raw.trim());
        (setting.apply)(&mut config, raw).map_err(|problem| StartError::Config {
            variable: given_as,
            problem,
        })?;
    }
    Ok(config)
}

fn number<T: std::str::FromStr>(raw: &str, expected: &str) -> Result<T, String> {
    raw.parse()
        .map_err(|_| format!("expected {expected}, got '{raw}'"))
}

/// An `http://` or `https://` URL with a host.
fn jwks_url(raw: &str) -> Result<http::Uri, String> {
    let expected = || format!("expected an http:// or https:// URL, got '{raw}'");
    let uri: http::Uri = raw.parse().map_err(|_| expected())?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(uri),
        _ => Err(expected()),
    }
}

/// A count of at least one (0 reads as 1).
fn count(raw: &str) -> Result<usize, String> {
    number::<usize>(raw, "a positive number").map(|n| n.max(1))
}

/// A positive number of milliseconds.
fn millis(raw: &str) -> Result<Duration, String> {
    match number::<u64>(raw, "a positive number of milliseconds")? {
        0 => Err("expected a positive number of milliseconds, got '0'".to_owned()),
        ms => Ok(Duration::from_millis(ms)),
    }
}

fn millis_of(duration: Duration) -> String {
    duration.as_millis().to_string()
}

/// A positive duration: a whole number with its unit, `ms`, `s`, `m`, `h` or `d` (`24h`).
fn duration(raw: &str) -> Result<Duration, String> {
    let expected = || format!("expected a duration such as 24h, 90m, 30s or 500ms, got '{raw}'");
    let digits = raw
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &raw.trim()[digits.len()..];
    let count: u64 = digits.parse().map_err(|_| expected())?;
    let millis = match unit {
        "ms" => Some(count),
        "s" => count.checked_mul(1_000),
        "m" => count.checked_mul(60_000),
        "h" => count.checked_mul(3_600_000),
        "d" => count.checked_mul(86_400_000),
        _ => None,
    };
    match millis {
        Some(0) | None => Err(expected()),
        Some(millis) => Ok(Duration::from_millis(millis)),
    }
}

/// A duration as [`duration`] reads it, in the largest unit that shows it whole.
fn duration_of(duration: Duration) -> String {
    let millis = duration.as_millis();
    [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ]
    .into_iter()
    .find(|(unit, _)| millis > 0 && millis.is_multiple_of(*unit))
    .map_or(format!("{millis}ms"), |(unit, name)| {
        format!("{}{name}", millis / unit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guide's configuration table lists every setting, in order, and each default it
    /// shows as code is the one the service applies.
    #[test]
    fn a_duration_has_a_unit_and_reads_back_as_shown() {
        for (raw, ms) in [
            ("24h", 86_400_000),
            ("90m", 5_400_000),
            ("30s", 30_000),
            ("500ms", 500),
            ("2d", 172_800_000),
        ] {
            let read = duration(raw).unwrap();
            assert_eq!(read, Duration::from_millis(ms), "{raw}");
            assert_eq!(duration(&duration_of(read)).unwrap(), read, "{raw}");
        }
        assert_eq!(duration_of(Duration::from_secs(86_400)), "1d");
        for bad in [
            "",
            "24",
            "h",
            "0s",
            "-1h",
            "1.5h",
            "3 weeks",
            "99999999999999999999d",
        ] {
            assert!(
                duration(bad).unwrap_err().contains("expected a duration"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_jwks_url_is_http_or_https_with_a_host() {
        let config = |url: &str| Config::from_env_and_args([format!("--jwt-jwks-url={url}")]);
        let good = config("https://auth.example.com/.well-known/jwks.json").unwrap();
        assert_eq!(
            good.jwt_jwks_url.map(|u| u.to_string()).as_deref(),
            Some("https://auth.example.com/.well-known/jwks.json")
        );
        for bad in [
            "ftp://auth.example.com/jwks",
            "/jwks",
            "auth.example.com",
            "https://",
        ] {
            let error = config(bad).unwrap_err().to_string();
            assert!(
                error.contains("expected an http:// or https:// URL"),
                "{bad}: {error}"
            );
        }
        assert_eq!(config("").unwrap().jwt_jwks_url, None);
    }

    #[test]
    fn the_guide_table_is_the_settings_table() {
        let section = include_str!("../guide/configuration.md");
        let rows: Vec<(&str, &str)> = section
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .skip(2)
            .map(|row| {
                let cells: Vec<&str> = row.split('|').map(str::trim).collect();
                (cells[1].trim_matches('`'), cells[2])
            })
            // `RUST_LOG` is read by the log filter, not a setting.
            .filter(|(variable, _)| variable.starts_with("KALIX_"))
            .collect();
        let documented: Vec<&str> = rows.iter().map(|(variable, _)| *variable).collect();
        let settings: Vec<&str> = SETTINGS.iter().map(|s| s.variable).collect();
        assert_eq!(
            documented, settings,
            "the guide's table and the settings differ"
        );
        let defaults = Config::default();
        for ((variable, shown), setting) in rows.iter().zip(SETTINGS) {
            if let Some(code) = shown.strip_prefix('`').and_then(|s| s.split('`').next()) {
                assert_eq!(
                    code,
                    (setting.shown_default)(&defaults),
                    "the guide's default of {variable}"
                );
            }
        }
    }
}
