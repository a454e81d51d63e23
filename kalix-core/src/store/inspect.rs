//! What operators read of the store through the admin API (`InspectStore`): recently changed
//! entities, a page of a journal, timers by name, due time and failures. Every read is bounded.

use futures_util::future::BoxFuture;

use super::{FeedOffset, StoreError, StoredEvent, TimerRecord};

/// Which timers [`InspectStore::find_timers`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimerFilter {
    /// Only timers whose name starts with this.
    pub name_prefix: Option<String>,
    /// Only timers due before this (ms since the epoch).
    pub due_before_ms: Option<u64>,
    /// Only timers that failed at least once.
    pub failing: bool,
}

/// Where an entity type keeps what it is: state rows, or journals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityRows {
    /// Value entities and workflows: one state row each.
    State,
    /// Event-sourced entities: a journal each.
    Journal,
    /// Replicated entities: a row per replica each. They keep no order of change, so
    /// [`InspectStore::recent_entities`] gives their ids in order (the first ids, not the newest).
    Replicas,
}

/// How many journal entries [`InspectStore::recent_entities`] reads at most to find the
/// entities of a journal most recently appended to: busy entities fill the newest entries, so
/// fewer ids than asked may come back.
pub const RECENT_JOURNAL_SCAN: usize = 10_000;

/// A consumer as the store keeps it: the position it saved, and who holds its lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The consumer's name (also its lease's).
    pub name: String,
    /// The position it saved, if it saved one.
    pub offset: Option<FeedOffset>,
    /// Its lease, on a store that keeps leases (one shared by processes).
    pub lease: Option<LeaseRecord>,
}

/// Who holds a lease, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The holder (a random id each consumer driver of each process takes at start).
    pub owner: u64,
    /// Milliseconds until it runs out, on the store's clock; negative once it has.
    pub expires_in_ms: i64,
}

/// What the admin API reads. Part of [`super::Store`].
pub trait InspectStore: Send + Sync + 'static {
    /// Up to `limit` ids of entity type `type_id`, the most recently changed first.
    fn recent_entities(
        &self,
        type_id: &str,
        rows: EntityRows,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<String>, StoreError>>;

    /// Up to `limit` events of an entity from sequence number `from_seq` on, in order.
    fn events_page(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>>;

    /// Up to `limit` consumers, by name: every saved position, and every lease.
    fn consumers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ConsumerRecord>, StoreError>>;

    /// Up to `limit` of the timers `filter` selects, earliest due first.
    fn find_timers(
        &self,
        filter: TimerFilter,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>>;
}

/// The first `limit` distinct ids of `ids`, in their order (the newest first, as read).
pub(super) fn distinct_first(ids: impl IntoIterator<Item = String>, limit: usize) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut first: Vec<String> = Vec::new();
    for id in ids {
        if first.len() == limit {
            break;
        }
        if seen.insert(id.clone()) {
            first.push(id);
        }
    }
    first
}
