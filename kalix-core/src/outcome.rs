//! What running a handler comes to: the vocabulary shared by the hosts (which produce it), the
//! dispatcher (which carries out its forwards and side effects) and the transports (which turn
//! it into a response).

use std::any::Any;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::action::SideEffect;
use crate::call::UntypedCall;
use crate::client::DeferredCall;
use crate::cloud_events::PayloadType;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::status::ErrorCode;

/// What a handler answers its caller, once its effect's asynchronous parts have run: the part of
/// an effect every component kind shares. The runtime carries it out; a unit test inspects it.
// A forward's call is the large variant; an answer is made once per command and moved little,
// so boxing it would cost more than it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Answer<T> {
    /// Reply with this value; the metadata's entries become response headers.
    Reply(T, Metadata),
    /// Fail with this status and description.
    Error(CallError),
    /// Let this call produce the reply.
    Forward(DeferredCall<T>),
    /// Send no reply (404 over HTTP). Only actions ignore a call.
    Ignore,
}

impl<T> Answer<T> {
    /// What the answer is, in a few words, for messages: "a reply", "an error (..)", ...
    pub fn describe(&self) -> String {
        match self {
            Answer::Reply(..) => "a reply".to_owned(),
            Answer::Error(error) => format!("an error ({error})"),
            Answer::Forward(call) => format!("a forward to {}", call.call().target()),
            Answer::Ignore => "ignore".to_owned(),
        }
    }
}

/// What a handler call came to, once its effect has been carried out.
pub enum Outcome {
    /// A JSON reply.
    Reply {
        /// The reply, serialized.
        body: Bytes,
        /// Response headers and status.
        metadata: Metadata,
        /// What the reply is, should it be published to a topic.
        payload_type: PayloadType,
    },
    /// A failure.
    Error(CallError),
    /// No reply.
    Ignore,
    /// Many replies, each JSON, or an error that ends them.
    Stream(BoxStream<'static, Result<Bytes, CallError>>),
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Reply { body, .. } => write!(f, "Reply({})", String::from_utf8_lossy(body)),
            Outcome::Error(error) => write!(f, "Error({error})"),
            Outcome::Ignore => f.write_str("Ignore"),
            Outcome::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// What a handler returned, before forwards and side effects are carried out.
pub struct HandlerOutcome {
    pub(crate) next: Next,
    pub(crate) side_effects: Vec<SideEffect>,
    /// Whether it is the reply kept under the command's idempotency key, answered again: the
    /// command ran nothing now.
    pub(crate) replayed: bool,
}

/// What the dispatcher does next with a handler's outcome.
pub(crate) enum Next {
    /// Answer the caller.
    Done(Outcome),
    /// Run this call; its answer is the caller's.
    Forward(UntypedCall),
    /// The command lost a write race (its entity changed elsewhere, or under a failed write):
    /// run it again on the reloaded entity; the error is the caller's once retries run out.
    Conflict(CallError),
}

impl HandlerOutcome {
    /// A finished outcome with side effects.
    pub(crate) fn new(outcome: Outcome, side_effects: Vec<SideEffect>) -> Self {
        Self {
            next: Next::Done(outcome),
            side_effects,
            replayed: false,
        }
    }

    /// A command whose write conflicted; the dispatcher runs it again on fresh state.
    pub(crate) fn conflict(error: CallError) -> Self {
        Self {
            next: Next::Conflict(error),
            side_effects: Vec::new(),
            replayed: false,
        }
    }

    /// A forward to another handler, with side effects.
    pub(crate) fn forward(call: UntypedCall, side_effects: Vec<SideEffect>) -> Self {
        Self {
            next: Next::Forward(call),
            side_effects,
            replayed: false,
        }
    }

    /// A failure before the handler ran (bad input).
    pub fn error(error: CallError) -> Self {
        Self::new(Outcome::Error(error), Vec::new())
    }

    /// The outcome marked as a kept reply answered again.
    pub(crate) fn replayed(mut self) -> Self {
        self.replayed = true;
        self
    }

    /// Whether this is a reply kept under the command's idempotency key, answered again (so
    /// the command ran nothing now).
    pub(crate) fn is_replayed(&self) -> bool {
        self.replayed
    }

    /// Whether the command failed or lost a write race (so nothing it decided was committed).
    pub(crate) fn is_failure(&self) -> bool {
        matches!(self.next, Next::Conflict(_) | Next::Done(Outcome::Error(_)))
    }
}

/// The error a panicking handler's caller gets: a 500 with a correlation id, whose details go to
/// the log under that id.
pub(crate) fn panic_error(component: &str, context: &str, panic: &(dyn Any + Send)) -> CallError {
    let correlation_id = uuid::Uuid::new_v4();
    tracing::error!(
        %correlation_id,
        component,
        context,
        panic = panic_message(panic),
        "handler panicked"
    );
    CallError::new(
        ErrorCode::INTERNAL_SERVER_ERROR,
        format!("Unexpected error [{correlation_id}]"),
    )
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic with a non-string payload)")
}
