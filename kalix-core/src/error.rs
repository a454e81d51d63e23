//! Errors a user sees: a failed call to a component, and a service that cannot start.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::status::ErrorCode;

/// The failure of a call to a component: the HTTP status and the description the callee gave.
///
/// Awaiting a [`crate::DeferredCall`] yields one when the callee answered with an error effect
/// (its status and description are kept), when it ignored the call (404), or when the call could
/// not be made at all.
///
/// ```
/// use kalix_core::{CallError, ErrorCode};
/// let error = CallError::new(ErrorCode::NOT_FOUND, "no such cart");
/// assert_eq!(error.status(), 404);
/// assert_eq!(error.to_string(), "404 Not Found: no such cart");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallError {
    status: u16,
    description: String,
    /// Whether this is a reply kept under an idempotency key, answered again.
    #[serde(skip)]
    replayed: bool,
}

impl CallError {
    /// An error with a status of Kalix's table.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            status: code.as_u16(),
            description: description.into(),
            replayed: false,
        }
    }

    /// An error with any HTTP status, as a transport may receive it.
    pub fn from_status(status: u16, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
            replayed: false,
        }
    }

    /// The HTTP status of the failure.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The status as a code of Kalix's table; statuses outside it read as 500.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::from_u16(self.status).unwrap_or(ErrorCode::INTERNAL_SERVER_ERROR)
    }

    /// What went wrong, as the callee described it.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the error is the reply kept under the call's idempotency key, answered again
    /// (`Idempotency-Replayed: true`) rather than the outcome of a run.
    pub fn is_replayed(&self) -> bool {
        self.replayed
    }

    /// The error marked as a kept reply answered again.
    pub(crate) fn replayed(mut self) -> Self {
        self.replayed = true;
        self
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        write!(f, "{} {}: {}", self.status, reason, self.description)
    }
}

impl std::error::Error for CallError {}

/// Why a service could not start.
///
/// `Debug` prints the same sentence as `Display`, so `fn main() -> Result<(), StartError>` ends
/// with a readable message.
#[non_exhaustive]
pub enum StartError {
    /// A setting holds a value that cannot be used.
    Config {
        /// Where the value came from: a variable (`KALIX_HTTP_PORT`) or a flag (`--http-port`).
        variable: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// The command line names an unknown flag or lacks a flag's value; the message is clap's.
    CommandLine(String),
    /// Two handlers claim the same method and path.
    ConflictingRoutes(String),
    /// Two components have the same id.
    DuplicateComponent(String),
    /// Two entities store under the same type id.
    SharedTypeId(String),
    /// A view's query reads a column its row type does not store.
    InvalidView(String),
    /// A subscription reads a stream of a service whose address is not set; the message names
    /// the variable to set.
    UnlocatedService(String),
    /// The binary registers no component: the crate that defines them was not linked.
    NoComponents,
    /// A component could not be built because a dependency was not supplied.
    MissingDependency(crate::dependencies::MissingDependency),
    /// The listener could not be bound.
    Bind {
        /// The address asked for.
        address: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Serving failed.
    Serve(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config { variable, problem } => write!(f, "{variable}: {problem}"),
            StartError::CommandLine(message)
            | StartError::ConflictingRoutes(message)
            | StartError::DuplicateComponent(message)
            | StartError::SharedTypeId(message)
            | StartError::InvalidView(message)
            | StartError::UnlocatedService(message) => f.write_str(message),
            StartError::NoComponents => f.write_str(
                "no components are registered in this binary, so every request would get a 404. \
                 Components register themselves when the crate that defines them is linked: if \
                 they live in a library crate that this binary (or test) names nothing from, add \
                 `use my_service as _;` (your crate's name) to it",
            ),
            StartError::MissingDependency(missing) => fmt::Display::fmt(missing, f),
            StartError::Bind { address, source } => write!(
                f,
                "cannot listen on {address} (KALIX_HTTP_HOST, KALIX_HTTP_PORT): {source}"
            ),
            StartError::Serve(source) => write!(f, "serving failed: {source}"),
        }
    }
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Bind { source, .. } | StartError::Serve(source) => Some(source),
            StartError::MissingDependency(missing) => Some(missing),
            _ => None,
        }
    }
}
