//! The runtime handle: what building a component may use, the user's dependencies and the
//! services the runtime runs it with (the store, the broker, timers, the clock, limits). Made
//! once per service at start; each component is built with it (see `ComponentDescriptor`).

use std::sync::Arc;
use std::time::Duration;

use crate::dependencies::Dependencies;
use crate::store::{GroupCommitter, Store};

/// What building a component may use: the user's dependencies and the runtime's services.
pub struct ComponentEnv<'a> {
    /// Values supplied with `Service::dependency`.
    pub dependencies: &'a Dependencies,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) committer: GroupCommitter,
    /// How long a request may take: how long an action's claim on an idempotency key holds.
    pub(crate) request_timeout: std::time::Duration,
    /// This process's part in replicating replicated entities.
    pub(crate) replication: Arc<crate::replication::Replication>,
    pub(crate) entities: EntitySettings,
    pub(crate) broker: Arc<dyn crate::broker::Broker>,
    /// The service's name, the source of what it publishes.
    pub(crate) service_name: Arc<str>,
    /// Notified after each view update this process writes.
    pub(crate) view_updates: Arc<crate::view::ViewUpdates>,
    /// The service's timers.
    pub(crate) timers: crate::timers::Timers,
    /// The clock the service reads time through.
    pub(crate) clock: Arc<dyn crate::timers::Clock>,
    /// Shown each record a workflow commits (a testkit's hook).
    pub(crate) workflow_observer: Option<crate::workflow::WorkflowObserver>,
    /// Answers component calls before the dispatcher does (a testkit's scripted replies).
    pub(crate) call_router: Option<crate::client::CallRouter>,
    /// Notified per stream id when this process publishes to one of its streams.
    pub(crate) stream_news: Arc<crate::news::KeyedNews>,
    /// Whether every workflow step runs twice (a testkit's mode).
    pub(crate) steps_twice: bool,
    /// Permits for workflow steps running at once, shared by every workflow type.
    pub(crate) step_slots: Arc<tokio::sync::Semaphore>,
    /// Where the project's other services are, and what calls to them are signed with.
    pub(crate) services: crate::broker::ServiceUrls,
}

/// How entity hosts keep entities in memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntitySettings {
    /// An entity idle this long is dropped from memory.
    pub passivation_timeout: Duration,
    /// At most this many entities of one type are kept in memory.
    pub max_active: usize,
}
