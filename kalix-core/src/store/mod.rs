//! Durable storage: the [`Store`] trait every backend implements, the SQLite backend, and the
//! group committer that batches concurrent writes into one transaction.
//!
//! Entity state is stored as versioned rows keyed by (type id, entity id). Every write names the
//! version it expects to replace (optimistic concurrency), so a conflicting writer is detected
//! and never overwritten; this is what later lets several runtime processes share one database.
//! A delete keeps the row as a tombstone with the next version, so versions never go back.

mod group_commit;
mod sqlite;

use std::fmt;

use bytes::Bytes;
use futures_util::future::BoxFuture;

pub use group_commit::{CommitResult, GroupCommitter, PendingCommit};
pub use sqlite::SqliteStore;

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
    /// The new state as JSON, or `None` to delete the entity.
    pub payload: Option<Bytes>,
}

/// Why a write was not applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// Another writer changed the entity first: the stored version is not the one expected.
    Conflict {
        /// The version the write expected.
        expected: u64,
        /// The version found, if a row exists.
        found: Option<u64>,
    },
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
            WriteError::Store(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for WriteError {}

/// A failure of the storage backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store failure: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// A storage backend. Every backend passes the conformance suite in `kalix-testkit`
/// (`kalix_testkit::store_conformance`).
///
/// Planned additions, in this trait, as their component kinds arrive: an event journal (append
/// with the expected sequence number, read from a sequence number), snapshots, an ordered change
/// feed with durable consumer offsets, timers and view tables.
pub trait Store: Send + Sync + 'static {
    /// The state of an entity, or `None` if it was never written.
    fn load(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>>;

    /// Applies `writes` in one transaction, in order, each checked against the version it expects.
    /// Returns one result per write: its new version or why it was refused. A write refused for a
    /// conflict does not stop the others; an `Err` means the transaction failed as a whole and
    /// nothing was applied.
    fn commit(
        &self,
        writes: Vec<StateWrite>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>>;
}
