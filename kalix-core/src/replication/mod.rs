//! Replication of replicated entities between the service's processes: this process's replica
//! id, the entity types whose copies in memory other processes' writes are merged into, the
//! count of live processes, and the writes waiting for other processes to take them in.
//!
//! The driver (`replication::driver`) feeds it what the store hears from other processes; the
//! hosts ask it for tokens and wait on them (see `host/replicated_entity.rs`).

pub(crate) mod driver;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use crate::replicated_entity::{ReplicaId, WriteConsistency};
use crate::store::{ReplicaNews, Store};

/// An entity type's copies in memory, which other processes' writes are merged into.
pub(crate) trait ReplicaCopies: Send + Sync {
    /// Another process wrote entity `entity_id`: merge what is stored into the copy in memory,
    /// if there is one. `rows` are the rows written, as their notices carried them; `None` when
    /// one did not (then they are read from the store).
    fn changed_elsewhere<'a>(
        &'a self,
        entity_id: &'a str,
        rows: Option<Vec<bytes::Bytes>>,
    ) -> futures_util::future::BoxFuture<'a, ()>;
    /// Other processes may have written any entity (news were missed).
    fn all_changed_elsewhere(&self);
}

/// How long a replica heard from counts as live: as long as a lease lives unrenewed.
const HEARD_FOR: Duration = Duration::from_secs(6);

/// A write waiting for other processes to confirm they took it in.
#[derive(Default)]
struct Waiting {
    confirmed_by: HashSet<ReplicaId>,
    heard: Arc<Notify>,
}

/// This process's part in replication.
pub struct Replication {
    replica: ReplicaId,
    store: Arc<dyn Store>,
    copies: Mutex<HashMap<String, Weak<dyn ReplicaCopies>>>,
    /// Live processes of the service (this one included), as their leases tell.
    live: AtomicU64,
    /// Other replicas heard from (a write or a confirmation), and when: a process is live while
    /// it is heard from, before the lease count shows it.
    heard_from: Mutex<HashMap<ReplicaId, std::time::Instant>>,
    waiting: Mutex<HashMap<u64, Waiting>>,
    next_token: AtomicU64,
    confirm_timeout: Duration,
}

impl Replication {
    /// Replication over `store`: on a store other processes share, a replica id of its own for
    /// this process; on one a process owns (SQLite), the one replica.
    pub(crate) fn new(store: Arc<dyn Store>, request_timeout: Duration) -> Arc<Self> {
        let replica = match store.is_shared() {
            // Never 0, which hand-built data changes.
            true => uuid::Uuid::new_v4().as_u64_pair().0 | 1,
            false => 1,
        };
        Arc::new(Self {
            replica,
            store,
            copies: Mutex::new(HashMap::new()),
            live: AtomicU64::new(1),
            heard_from: Mutex::new(HashMap::new()),
            waiting: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(replica.rotate_left(32)),
            confirm_timeout: request_timeout / 2,
        })
    }

    /// This process's replica id.
    pub(crate) fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// How long a `Majority` or `All` write waits for confirmations: half the request timeout,
    /// so the 503 saying what happened comes before the ingress's deadline.
    pub(crate) fn confirm_timeout(&self) -> Duration {
        self.confirm_timeout
    }

    /// Makes `copies` of type `type_id` hear other processes' writes.
    pub(crate) fn register(&self, type_id: &str, copies: Weak<dyn ReplicaCopies>) {
        lock(&self.copies).insert(type_id.to_owned(), copies);
    }

    /// Whether any replicated entity type is hosted.
    pub(crate) fn hosts_any(&self) -> bool {
        !lock(&self.copies).is_empty()
    }

    /// A token for a write whose reply waits for confirmations; the write's notice carries it.
    pub(crate) fn new_token(&self) -> u64 {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        lock(&self.waiting).insert(token, Waiting::default());
        token
    }

    /// Drops the token of a write that was not made.
    pub(crate) fn forget_token(&self, token: u64) {
        lock(&self.waiting).remove(&token);
    }

    /// The live processes counted by the driver.
    pub(crate) fn set_live(&self, live: u64) {
        self.live.store(live.max(1), Ordering::Relaxed);
    }

    /// Waits until enough other processes confirmed the write of `token` for `consistency`;
    /// else, after `timeout`, how many were missing.
    pub(crate) async fn taken_in(
        &self,
        token: u64,
        consistency: WriteConsistency,
        timeout: Duration,
    ) -> Result<(), usize> {
        let deadline = tokio::time::Instant::now() + timeout;
        let result = loop {
            let needed = self.needed(consistency);
            let (confirmed, heard) = match lock(&self.waiting).get(&token) {
                Some(waiting) => (waiting.confirmed_by.len(), Arc::clone(&waiting.heard)),
                None => (0, Arc::new(Notify::new())),
            };
            if confirmed >= needed {
                break Ok(());
            }
            let notified = heard.notified();
            // Confirmations come in as notices; the live count may also drop.
            if tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            })
            .await
            .is_err()
            {
                break Err(needed - confirmed);
            }
        };
        lock(&self.waiting).remove(&token);
        result
    }

    /// How many other processes must confirm a write of `consistency`.
    fn needed(&self, consistency: WriteConsistency) -> usize {
        let heard = {
            let mut heard_from = lock(&self.heard_from);
            heard_from.retain(|_, at| at.elapsed() < HEARD_FOR);
            heard_from.len() + 1
        };
        let live = (self.live.load(Ordering::Relaxed) as usize).max(heard);
        match consistency {
            WriteConsistency::Local => 0,
            // More than half of the live processes, this one among them.
            WriteConsistency::Majority => live / 2,
            WriteConsistency::All => live - 1,
        }
    }

    /// What the store heard from other processes, in a batch: each entity another process
    /// wrote is merged once (its rows read again and joined into the copy in memory, if there
    /// is one), then the writes waiting for confirmations are confirmed.
    pub(crate) async fn heard(&self, batch: Vec<ReplicaNews>) {
        // Per entity, the rows the notices carried (the last per replica: a replica's row holds
        // everything its earlier ones did), or `None` once a notice carried none.
        type Rows = Option<HashMap<ReplicaId, bytes::Bytes>>;
        let mut changed: HashMap<(String, String), Rows> = HashMap::new();
        let mut tokens = Vec::new();
        for news in batch {
            match news {
                ReplicaNews::Changed {
                    type_id,
                    entity_id,
                    replica,
                    token,
                    data,
                } => {
                    if replica == self.replica {
                        continue;
                    }
                    lock(&self.heard_from).insert(replica, std::time::Instant::now());
                    let rows = changed
                        .entry((type_id, entity_id))
                        .or_insert_with(|| Some(HashMap::new()));
                    match (rows.as_mut(), data) {
                        (Some(rows), Some(data)) => {
                            rows.insert(replica, data);
                        }
                        _ => *rows = None,
                    }
                    tokens.extend(token);
                }
                ReplicaNews::Confirmed { token, replica } => {
                    if replica != self.replica {
                        lock(&self.heard_from).insert(replica, std::time::Instant::now());
                    }
                    if let Some(waiting) = lock(&self.waiting).get_mut(&token) {
                        waiting.confirmed_by.insert(replica);
                        waiting.heard.notify_waiters();
                    }
                }
                ReplicaNews::Missed => {
                    let copies: Vec<_> = lock(&self.copies)
                        .values()
                        .filter_map(Weak::upgrade)
                        .collect();
                    for copies in copies {
                        copies.all_changed_elsewhere();
                    }
                }
            }
        }
        for ((type_id, entity_id), rows) in changed {
            if let Some(copies) = self.copies_of(&type_id) {
                let rows = rows.map(|rows| rows.into_values().collect());
                copies.changed_elsewhere(&entity_id, rows).await;
            }
        }
        // Confirmed once merged: a read here sees the write now.
        for token in tokens {
            if let Err(error) = self.store.confirm_replica_write(token, self.replica).await {
                tracing::warn!(%error, "confirming a replicated write failed");
            }
        }
    }

    fn copies_of(&self, type_id: &str) -> Option<Arc<dyn ReplicaCopies>> {
        lock(&self.copies).get(type_id).and_then(Weak::upgrade)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
