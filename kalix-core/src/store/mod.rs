//! Durable storage: the [`Store`] trait every backend implements, the SQLite and PostgreSQL
//! backends, and the group committer that batches concurrent writes into one transaction.
//!
//! Entity state is stored as versioned rows keyed by (type id, entity id), events as journals
//! keyed by (type id, entity id, sequence number). Every write names the version or sequence
//! number it expects to build on (optimistic concurrency), so a conflicting writer is detected
//! and never overwritten; that is what lets several processes share one PostgreSQL database.
//! A delete keeps the row as a tombstone with the next version, so versions never go back.

mod feed;
mod group_commit;
mod inspect;
mod intercept;
mod postgres;
pub(crate) mod replica;
mod schema;
mod sqlite;
mod timer;
mod view_table;

use std::fmt;

use bytes::Bytes;
use futures_util::future::BoxFuture;

pub use crate::cloud_events::TopicMessage;
pub use feed::{ConsumerProgress, FeedEntry, FeedKind, FeedOffset, StoredMessage, TopicAppend};
pub use group_commit::{CommitResult, GroupCommitter, PendingCommit};
pub use inspect::{
    ConsumerRecord, EntityRows, InspectStore, LeaseRecord, RECENT_JOURNAL_SCAN, TimerFilter,
};
pub use intercept::{Intercept, Intercepted};
pub use postgres::{PostgresStore, PostgresTimeouts};
pub use replica::{ReplicaNews, ReplicaRow, ReplicaStore, ReplicaWrite};
pub use sqlite::SqliteStore;
pub use timer::{TimerOutcome, TimerRecord, TimerStart};
pub use view_table::{ViewRowWrite, ViewRows, ViewTableSpec};

/// Now, in ms since the epoch, by the system's clock (what a store stamps its rows with).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// The stored state of one entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredState {
    /// How many writes produced it (1 after the first).
    pub version: u64,
    /// The state as JSON, or `None` if the entity was deleted.
    pub payload: Option<Bytes>,
}

/// One state change to commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    /// The entity type's storage namespace.
    pub type_id: String,
    /// The entity id.
    pub entity_id: String,
    /// The version the writer read: 0 if the entity had no row.
    pub expected_version: u64,
    /// Whether the expected version is the writer's own write, queued before this one and
    /// perhaps not yet committed. See [`EntityStore::commit`].
    pub follows_own_write: bool,
    /// The new state as JSON, or `None` to delete the entity.
    pub payload: Option<Bytes>,
    /// Timers stored in the same transaction if the write applies, each replacing a timer of
    /// its name (not counted against the pending limit): a workflow's watchdog, durable exactly
    /// when the transition that needs it is.
    pub timers: Vec<TimerRecord>,
    /// The command's reply, kept under its idempotency key in the same transaction.
    pub kept_reply: Option<KeptReply>,
    /// The W3C `traceparent` of the command that wrote it, kept with the change in the feed so
    /// its subscribers' runs continue that trace.
    pub trace_parent: Option<String>,
}

/// A command's reply kept under its idempotency key (see the runtime's `idempotency` module): a
/// command with the same key for the same entity (or action) is answered with it instead of
/// running again. It is kept with the command's change, in the same transaction, or on its own
/// ([`Write::Reply`]) when the command changed nothing. A write carrying a key kept already is
/// refused ([`WriteError::KeyUsed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptReply {
    /// The command's scope: its handler, its path parameters and the idempotency key.
    pub key: String,
    /// A digest of the request (body and query): the same key with another request is refused.
    /// Empty for replies kept before digests were: those match any request.
    pub fingerprint: String,
    /// The reply's HTTP status; [`KeptReply::RUNNING`] while the command is still running (an
    /// action's claim on its key, see [`EntityStore::claim_key`]).
    pub status: u16,
    /// The reply's content type; `None` for an error, whose body is its description, and for a
    /// forward.
    pub content_type: Option<String>,
    /// The reply's body, or the error's description.
    pub body: Bytes,
}

impl KeptReply {
    /// The status of a claim: the command holding the key is still running.
    pub const RUNNING: u16 = 0;
    /// The status of a command that forwarded (and may have changed its entity): the body is
    /// the forward's call as JSON, made again for a repeat.
    pub const FORWARDED: u16 = 1;

    /// Whether this is a claim of a command still running, not a reply.
    pub fn is_running(&self) -> bool {
        self.status == Self::RUNNING
    }
}

/// A reply kept on its own, without a change: a command that changed nothing, or an action's.
/// It replaces a claim on its key ([`EntityStore::claim_key`]); a reply kept already refuses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyWrite {
    /// The entity type's storage namespace, or the action's component id.
    pub type_id: String,
    /// The entity id; empty for an action.
    pub entity_id: String,
    /// The reply.
    pub kept: KeptReply,
}

/// Events to append to one entity's journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventAppend {
    /// The entity type's storage namespace.
    pub type_id: String,
    /// The entity id.
    pub entity_id: String,
    /// The sequence number of the last event the writer saw: 0 for an empty journal.
    pub expected_seq: u64,
    /// Whether the expected last event is the writer's own append, queued before this one and
    /// perhaps not yet committed. See [`EntityStore::commit`].
    pub follows_own_write: bool,
    /// The events, numbered from `expected_seq + 1`.
    pub events: Vec<NewEvent>,
    /// The state after these events, kept as the entity's snapshot at its new last sequence
    /// number, replacing the previous one.
    pub snapshot: Option<Bytes>,
    /// Whether the entity is deleted with these events.
    pub delete: bool,
    /// The command's reply, kept under its idempotency key in the same transaction.
    pub kept_reply: Option<KeptReply>,
    /// The W3C `traceparent` of the command that appended them, kept with each event in the
    /// feed so its subscribers' runs continue that trace.
    pub trace_parent: Option<String>,
}

/// One event to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's stable type name (its serde tag), stored beside it.
    pub type_name: String,
    /// The event as JSON.
    pub payload: Bytes,
}

/// One event of a journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its sequence number, from 1.
    pub seq: u64,
    /// Its type name.
    pub type_name: String,
    /// The event as JSON.
    pub payload: Bytes,
}

/// A snapshot: the state after the event `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The sequence number of the last event it includes.
    pub seq: u64,
    /// The state as JSON.
    pub payload: Bytes,
}

/// What loading an event-sourced entity needs: its latest snapshot and the events after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventLog {
    /// The latest snapshot, if any.
    pub snapshot: Option<Snapshot>,
    /// The events after the snapshot (all of them if there is none), in order.
    pub events: Vec<StoredEvent>,
    /// Whether the entity was deleted.
    pub deleted: bool,
}

/// One change to commit: a state row or a journal append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Replace (or delete) a value entity's state.
    State(StateWrite),
    /// Append events to an event-sourced entity's journal.
    Events(EventAppend),
    /// Keep a reply under its idempotency key, changing nothing else.
    Reply(ReplyWrite),
    /// Replace a replica's row of a replicated entity.
    Replica(ReplicaWrite),
}

impl Write {
    /// The entity written and the reply kept with the write, if it keeps one.
    pub(crate) fn kept_reply(&self) -> Option<(&str, &str, &KeptReply)> {
        match self {
            Write::State(write) => write
                .kept_reply
                .as_ref()
                .map(|kept| (write.type_id.as_str(), write.entity_id.as_str(), kept)),
            Write::Events(append) => append
                .kept_reply
                .as_ref()
                .map(|kept| (append.type_id.as_str(), append.entity_id.as_str(), kept)),
            Write::Reply(reply) => Some((&reply.type_id, &reply.entity_id, &reply.kept)),
            Write::Replica(write) => write
                .kept_reply
                .as_ref()
                .map(|kept| (write.type_id.as_str(), write.entity_id.as_str(), kept)),
        }
    }

    /// Marks the write as following the writer's own write still in flight.
    pub(crate) fn follow_own_write(&mut self) {
        match self {
            Write::State(write) => write.follows_own_write = true,
            Write::Events(append) => append.follows_own_write = true,
            // Checked against nothing: it changes no entity, or a row only its writer writes.
            Write::Reply(_) | Write::Replica(_) => {}
        }
    }
}

impl From<StateWrite> for Write {
    fn from(write: StateWrite) -> Self {
        Write::State(write)
    }
}

impl From<ReplicaWrite> for Write {
    fn from(write: ReplicaWrite) -> Self {
        Write::Replica(write)
    }
}

impl From<EventAppend> for Write {
    fn from(append: EventAppend) -> Self {
        Write::Events(append)
    }
}

/// Why a write was not applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// Another writer changed the entity first: the stored version (or last sequence number)
    /// is not the one expected.
    Conflict {
        /// The version or sequence number the write expected.
        expected: u64,
        /// The one found, if the entity has any.
        found: Option<u64>,
    },
    /// The entity was deleted: its journal takes no more events.
    Deleted,
    /// The write's idempotency key was kept already by a command committed before: nothing was
    /// applied, and the reply kept then is the answer ([`EntityStore::kept_reply`]).
    KeyUsed,
    /// The store failed; the write may not be durable.
    Store(StoreError),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Conflict { expected, found } => write!(
                f,
                "concurrent update: expected version {expected}, found {}",
                found.map_or("none".to_owned(), |v| v.to_string())
            ),
            WriteError::Deleted => f.write_str("the entity was deleted"),
            WriteError::KeyUsed => {
                f.write_str("the idempotency key was used by a committed command")
            }
            WriteError::Store(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for WriteError {}

/// A failure of the storage backend.
///
/// Most failures are the store's (unreachable, out of space, timed out). A backend marks the
/// failure of a transaction that one write's content caused with [`StoreError::rejected_write`];
/// the group committer then commits the batch's writes one by one, so that write fails alone.
///
/// ```
/// use kalix_core::store::StoreError;
/// let error = StoreError::rejected_write("index row size 3016 exceeds maximum 2704");
/// assert!(error.is_rejected_write());
/// assert_eq!(error.to_string(), "store failure: index row size 3016 exceeds maximum 2704");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    message: String,
    kind: StoreErrorKind,
}

/// What kind of failure a [`StoreError`] is: they exclude each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store failed (unreachable, out of space, timed out): every write of the
    /// transaction fails with it.
    Store,
    /// The database refused one write for its content, failing the transaction it was in.
    RejectedWrite,
    /// A view query cannot run with the parameters it was given: the caller's mistake.
    BadQuery,
    /// A write made under a lease another process holds now.
    LeaseLost,
}

impl StoreError {
    fn of(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind,
        }
    }

    /// A failure of the store itself: every write of the transaction fails with it.
    pub fn new(message: impl Into<String>) -> Self {
        Self::of(StoreErrorKind::Store, message)
    }

    /// A write refused because the lease it was made under is no longer its writer's: another
    /// process took the work over.
    pub fn lease_lost(message: impl Into<String>) -> Self {
        Self::of(StoreErrorKind::LeaseLost, message)
    }

    /// Whether the write was refused for a lease another process holds now.
    pub fn is_lease_lost(&self) -> bool {
        self.kind == StoreErrorKind::LeaseLost
    }

    /// A view query that cannot run with the parameters it was given (a missing one, a bad
    /// page token): the caller's mistake, not the store's.
    pub fn bad_query(message: impl Into<String>) -> Self {
        Self::of(StoreErrorKind::BadQuery, message)
    }

    /// Whether a view query was refused for its parameters.
    pub fn is_bad_query(&self) -> bool {
        self.kind == StoreErrorKind::BadQuery
    }

    /// The database refused a write for its content (a key too long for an index, a character
    /// it cannot store), failing the transaction it was in.
    pub fn rejected_write(message: impl Into<String>) -> Self {
        Self::of(StoreErrorKind::RejectedWrite, message)
    }

    /// Whether the failure was caused by one write's content rather than by the store.
    pub fn is_rejected_write(&self) -> bool {
        self.kind == StoreErrorKind::RejectedWrite
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store failure: {}", self.message)
    }
}

impl std::error::Error for StoreError {}

/// A storage backend. Every backend passes the conformance suite in `kalix-testkit`
/// (`kalix_testkit::store_conformance`).
///
/// Its methods are grouped by concern ([`EntityStore`], [`FeedStore`], [`LeaseStore`],
/// [`ViewStore`], [`TimerStore`], [`ReplicaStore`], and [`InspectStore`] for the admin API), each implemented in the backend's file of that concern; `Store`
/// adds what concerns the store as a whole. A test double wraps a store and changes only what
/// it tests with [`Intercepted`]. Through an `Arc<dyn Store>` every method is at hand; on a
/// backend's own type (`SqliteStore`, `PostgresStore`) a method needs its concern's trait in
/// scope (`use kalix_core::store::EntityStore;`).
pub trait Store:
    EntityStore + FeedStore + LeaseStore + ViewStore + TimerStore + InspectStore + ReplicaStore
{
    /// Whether other processes may write to this store too. Entity hosts then check an entity's
    /// version before replying to a read, so it sees writes acknowledged by other processes, and
    /// do not stack a command on a write still in flight. There is no default: a store that
    /// wraps another says what the wrapped one says, so a wrapper cannot drop these checks.
    fn is_shared(&self) -> bool;

    /// The store's identity: made once when the store is created, the same for every process
    /// sharing it, another for a store made again. A service stream's readers notice a
    /// producer whose store was made again by it.
    fn store_id(&self) -> BoxFuture<'static, Result<String, StoreError>>;

    /// On a store other processes share, a notification their commits to the feed or a topic
    /// wake (PostgreSQL's `LISTEN`/`NOTIFY`), so readers need not poll; `None` where no other
    /// process writes. Like [`Store::is_shared`] it has no default.
    fn commit_news(&self) -> Option<std::sync::Arc<tokio::sync::Notify>>;

    /// Whether the store answers, for the readiness probe: by default a read of the version
    /// of an entity of a reserved type (`kalix.health`), which nothing writes.
    fn ping(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        let read = self.state_version("kalix.health", "ping");
        Box::pin(async move { read.await.map(|_| ()) })
    }
}

/// Entities: value entities' versioned state rows, event-sourced entities' journals, and the
/// replies kept for idempotency keys. Part of [`Store`].
pub trait EntityStore: Send + Sync + 'static {
    /// The state of an entity, or `None` if it was never written.
    fn load(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>>;

    /// Applies `writes` in one transaction, in order, each checked against the version or
    /// sequence number it expects. Returns one result per write: the new version (state) or last
    /// sequence number (events), or why it was refused. A write refused for a conflict does not
    /// stop the others; an `Err` means the transaction failed as a whole and nothing was applied.
    ///
    /// A writer may queue a write on top of its own write still in flight (`follows_own_write`).
    /// If that earlier write fails, the version it would have produced may be produced by another
    /// writer instead, and a bare version check would let the later write overwrite it. So a
    /// shared store records who wrote each version and refuses a write that follows its own
    /// write when another writer produced the version it expects. A store with one writer (see
    /// [`Store::is_shared`]) needs no such record: a failed write leaves its version unproduced.
    fn commit(
        &self,
        writes: Vec<Write>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>>;

    /// The latest snapshot of an event-sourced entity and the events after it.
    fn load_events(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<EventLog, StoreError>>;

    /// The reply a command with idempotency scope `key` got from entity (`type_id`,
    /// `entity_id`), if it was kept (see [`KeptReply`]) and not purged yet; or the claim of the
    /// command still running under it.
    fn kept_reply(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>>;

    /// Claims `claim.key` for a command about to run (an action's, on a store other processes
    /// share): `None` if this caller holds it now, because it was free or its claim is older than
    /// `stale_after_ms` by the store's clock (its holder is taken for dead, so processes' clocks
    /// need not agree); otherwise what holds it, a reply or a live claim. The claim is replaced by
    /// the command's reply ([`Write::Reply`]) or removed ([`EntityStore::release_key`]).
    fn claim_key(
        &self,
        type_id: &str,
        entity_id: &str,
        claim: KeptReply,
        stale_after_ms: u64,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>>;

    /// Removes the claim on `key` (a command whose reply is not kept, such as a 5xx): the key
    /// is free again. A reply kept under it stays.
    fn release_key(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Removes up to `limit` kept replies kept before `before_ms` (ms since the epoch), oldest
    /// first, and says how many: after that a key is new again.
    fn purge_kept_replies(
        &self,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>>;

    /// The events of an entity from sequence number `from_seq` on, in order.
    fn read_events(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>>;

    /// The version of a value entity's state: 0 if it has no row.
    fn state_version(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>>;

    /// The sequence number of an entity's last event: 0 for an empty journal.
    fn last_seq(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>>;
}

/// The change feed of entity types, consumers' progress, and the topics of the embedded broker.
/// Part of [`Store`].
pub trait FeedStore: Send + Sync + 'static {
    /// Up to `limit` entries of entity type `type_id`'s feed after `after`, in feed order; only
    /// entries that no transaction still in flight can precede (see [`FeedOffset`]).
    fn read_feed(
        &self,
        kind: FeedKind,
        type_id: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<FeedEntry>, StoreError>>;

    /// Whether the feed hands entries out in the order they were committed, each final once read
    /// (one writer: SQLite). A consumer's offset then tells alone what it processed, and no entry
    /// of an entity can come ahead of an earlier one, so consumers keep no sequence numbers per
    /// entity: no [`FeedStore::consumer_progress`] read per batch, no row per entity saved.
    fn feed_in_commit_order(&self) -> bool;

    /// The progress `consumer` saved last (the feed's start if none), with the sequence numbers
    /// it saved for `entity_ids` (an entity it never saved is left out).
    fn consumer_progress(
        &self,
        consumer: &str,
        entity_ids: Vec<String>,
    ) -> BoxFuture<'static, Result<ConsumerProgress, StoreError>>;

    /// Saves `consumer`'s progress in one transaction: its offset, and the sequence numbers of
    /// the entities in `progress.seqs` (others keep theirs).
    fn save_consumer_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Appends `appends` to their topics and saves `consumer`'s progress (as
    /// [`FeedStore::save_consumer_progress`]) in one transaction: what a consumer's batch
    /// published moves with its progress, so it is appended exactly once. A message whose id
    /// [`FeedStore::publish`] appended to its topic already is dropped (a consumer that published
    /// one message alone, retrying it, before it saved); ids are not otherwise checked (a store
    /// may keep no index of them for these), as the progress is what keeps them once.
    fn publish_with_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
        appends: std::sync::Arc<[TopicAppend]>,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Appends `messages` to `topic` in one transaction, in order; a message whose id the topic
    /// holds already is dropped, so publishing again after a failure is safe.
    fn publish(
        &self,
        topic: &str,
        messages: Vec<TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Removes up to `limit` messages of `topic` at or before `up_to` that were published
    /// before `before_ms` (ms since the epoch), oldest first, and says how many: a topic's
    /// retention, which never removes what a consumer group has not processed (`up_to`).
    fn prune_topic(
        &self,
        topic: &str,
        up_to: FeedOffset,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>>;

    /// Up to `limit` messages of `topic` after `after`, in order; like [`FeedStore::read_feed`],
    /// only messages that no transaction still in flight can precede.
    fn read_topic(
        &self,
        topic: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredMessage>, StoreError>>;
}

/// Leases: which process does a piece of background work on a shared store. Part of [`Store`].
pub trait LeaseStore: Send + Sync + 'static {
    /// Takes the lease `name` for `owner`, or renews it, until `ttl` from now: `true` if
    /// `owner` holds it. Another owner gets it only once it has expired. A store used by one
    /// process at a time grants every lease. Background work on a shared store runs only where
    /// its lease is held, so one process at a time does it and another takes over when that
    /// one stops renewing.
    fn lease(
        &self,
        name: &str,
        owner: u64,
        ttl: std::time::Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>>;

    /// Gives up the lease `name` if `owner` holds it, so another owner may take it at once.
    fn release_lease(&self, name: &str, owner: u64) -> BoxFuture<'static, Result<(), StoreError>>;

    /// How many leases whose name starts with `prefix` are held now (on a store used by one
    /// process at a time, 1: that process's).
    fn count_leases(&self, prefix: &str) -> BoxFuture<'static, Result<u64, StoreError>>;
}

/// View tables: rows, their definitions and indexes, queries. Part of [`Store`].
pub trait ViewStore: Send + Sync + 'static {
    /// Creates view table `table` if missing, with its indexes (dropping those no longer
    /// derived). If the definition stored for it differs, the table is emptied and the progress
    /// of `table.consumer` removed in the same transaction, so the view is rebuilt from its
    /// source: returns `true` then.
    fn prepare_view_table(
        &self,
        table: ViewTableSpec,
    ) -> BoxFuture<'static, Result<bool, StoreError>>;

    /// The rows of view table `table` with these keys, as (key, JSON).
    fn view_rows(
        &self,
        table: &str,
        keys: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<(String, Bytes)>, StoreError>>;

    /// Applies `writes` to view table `table` and saves `consumer`'s progress (as
    /// [`FeedStore::save_consumer_progress`] does) in one transaction: a view fed by this store's
    /// feed applies each update exactly once. With `owner`, a shared store first checks, in
    /// that transaction, that `owner` still holds the lease named `consumer`, and refuses the
    /// write ([`StoreError::is_lease_lost`]) if another process took it over.
    fn commit_view(
        &self,
        table: &str,
        writes: Vec<ViewRowWrite>,
        consumer: &str,
        progress: ConsumerProgress,
        owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Empties view table `table` and forgets `consumer`'s progress, in one transaction, so
    /// its updater builds it again from the start of its source (an operator's rebuild). With
    /// `owner`, a shared store first checks that `owner` holds the lease named `consumer`, as
    /// [`ViewStore::commit_view`] does.
    fn reset_view(
        &self,
        table: &str,
        consumer: &str,
        owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Runs a view query with `params` (by name, as JSON). A parameter that is missing or
    /// unusable is a [`StoreError::bad_query`].
    fn query_view(
        &self,
        query: &'static crate::view::query::Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<ViewRows, StoreError>>;

    /// How the database would run a view query: its plan, as text (for tests that check an
    /// index serves it).
    fn explain_view_query(
        &self,
        query: &'static crate::view::query::Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<String, StoreError>>;
}

/// Durable timers: stored, claimed when due, settled. Part of [`Store`].
pub trait TimerStore: Send + Sync + 'static {
    /// Stores `timer`, replacing a timer of the same name; refused (`TooMany`) when it is a new
    /// name and `max_pending` timers are stored already, not counting the runtime's own (names
    /// starting with `kalix.`). `u64::MAX` counts nothing.
    fn start_timer(
        &self,
        timer: TimerRecord,
        max_pending: u64,
    ) -> BoxFuture<'static, Result<TimerStart, StoreError>>;

    /// Removes the timer `name`, if there is one.
    fn cancel_timer(&self, name: &str) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Claims for `owner`, until `now_ms + claim_ms`, up to `limit` timers due at `now_ms` that
    /// no one holds a claim on (or whose claim has run out: its holder died), earliest first.
    /// On a shared store each due timer is claimed by one process at a time. A store used by
    /// one process at a time (see [`Store::is_shared`]) may hand out every due timer: its one
    /// driver settles a pass before it claims again.
    fn claim_due_timers(
        &self,
        now_ms: u64,
        claim_ms: u64,
        owner: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>>;

    /// Records what became of fired timers, in one transaction: each is removed, or made due
    /// again after a failure (releasing its claim), if it is still the start that fired.
    fn settle_timers(
        &self,
        outcomes: Vec<TimerOutcome>,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// The earliest due time of a timer nobody holds a claim on at `now_ms`.
    fn next_timer_due(&self, now_ms: u64) -> BoxFuture<'static, Result<Option<u64>, StoreError>>;

    /// Up to `limit` stored timers, earliest first.
    fn list_timers(&self, limit: usize)
    -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>>;

    /// How many timers are pending, not counting the runtime's own (`kalix.` names), for the
    /// `kalix_timers_pending` gauge; `None` where the store does not keep the count.
    fn pending_timers(&self) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    /// Makes every timer whose name starts with `prefix` due at `due_ms` at the latest. A
    /// service on a store used by one process at a time calls it at start for the workflows'
    /// watchdogs: the process that kept them ahead is gone, so they resume at once.
    fn hasten_timers(
        &self,
        prefix: &str,
        due_ms: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>>;
}
