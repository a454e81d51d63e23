//! Entity slots, shared by the entity hosts: one slot per active entity id, holding what the host
//! keeps of it behind a fair (FIFO) async mutex, in 64 shards.
//!
//! A slot is dropped only when nobody holds it (the map's reference is the only one, and
//! references are only taken under the shard lock) and its last write is committed: by the
//! sweeper once idle past the passivation timeout, or when a shard is over its share of the
//! active bound (least recently used first). A dropped entity reloads from the store.
//!
//! A shard keeps its slots in the order they were last used, so making room for a new entity
//! looks at the few least recently used, not at the whole shard: a service that keeps meeting
//! new ids (a workflow per request) pays the same per id with 10 or 10,000 entities resident.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hashlink::LinkedHashMap;

use crate::runtime::EntitySettings;
use crate::store::PendingCommit;

const SHARDS: usize = 64;
/// How many of a full shard's least recently used slots are looked at for one to drop; if all
/// are busy (held, or a write in flight), the shard goes over its share until a sweep.
const EVICTION_CANDIDATES: usize = 8;

/// What a host keeps of a loaded entity: what its kind keeps (`M`), where it stands, and its last
/// write until that is known to be committed.
pub(crate) struct Resident<M> {
    /// What the entity's kind keeps: a state, or a state and whether the journal is closed.
    pub memory: M,
    /// The version of its state, or the sequence number of its journal's last event.
    pub position: u64,
    /// The entity's last write, until it is known to be committed.
    pub pending: Option<PendingCommit>,
}

impl<M> Resident<M> {
    /// An entity as loaded: nothing in flight.
    pub fn loaded(memory: M, position: u64) -> Self {
        Self {
            memory,
            position,
            pending: None,
        }
    }

    fn forget_committed(&mut self) {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| matches!(p.peek(), Some(Ok(_))))
        {
            self.pending = None;
        }
    }

    /// Whether the entity's last write is known to have failed: what is cached was never
    /// committed, so the entity must be reloaded.
    fn last_write_failed(&self) -> bool {
        self.pending
            .as_ref()
            .and_then(|pending| pending.peek())
            .is_some_and(|result| result.is_err())
    }
}

/// The slots of the ids that hash to one shard, least recently used first.
type Shard<M> = Mutex<LinkedHashMap<String, Arc<Slot<M>>>>;

/// The slots of one entity type.
pub(crate) struct Slots<M> {
    shards: Box<[Shard<M>]>,
    per_shard: usize,
    epoch: Instant,
}

/// One entity's slot.
pub(crate) struct Slot<M> {
    /// What is loaded, if anything; commands hold this lock while they run.
    pub cell: tokio::sync::Mutex<Option<Resident<M>>>,
    /// Set when the cached state may not match the store (a failed commit, a panic).
    pub stale: AtomicBool,
    /// Milliseconds since the epoch of the last command.
    last_used: AtomicU64,
}

impl<M: Send + 'static> Slots<M> {
    /// Slots bounded by `settings`, with a sweeper dropping idle ones and reporting how many
    /// are held (`kalix_entities_active` of `component`).
    pub fn start(settings: EntitySettings, component: &'static str) -> Arc<Self> {
        let slots = Arc::new(Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LinkedHashMap::new()))
                .collect(),
            per_shard: settings.max_active.div_ceil(SHARDS).max(1),
            epoch: Instant::now(),
        });
        let active =
            metrics::gauge!(crate::telemetry::names::ENTITIES_ACTIVE, "component" => component);
        tokio::spawn(sweep(
            Arc::downgrade(&slots),
            settings.passivation_timeout,
            active,
        ));
        slots
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn shard(&self, entity_id: &str) -> &Shard<M> {
        use std::hash::{BuildHasher, RandomState};
        // One hasher for the process: an id only needs a stable shard.
        static SEED: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
        let hash = SEED.get_or_init(RandomState::new).hash_one(entity_id);
        &self.shards[(hash as usize) % self.shards.len()]
    }

    /// The slot of `entity_id`, if it has one.
    pub fn get(&self, entity_id: &str) -> Option<Arc<Slot<M>>> {
        let shard = self
            .shard(entity_id)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        shard.get(entity_id).cloned()
    }

    /// Marks every slot stale.
    pub fn mark_all_stale(&self) {
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for slot in shard.values() {
                slot.stale.store(true, Ordering::Release);
            }
        }
    }

    /// The slot of `entity_id`, created (and the bound enforced) if it has none.
    pub fn get_or_insert(&self, entity_id: &str) -> Arc<Slot<M>> {
        let now = self.now();
        let mut shard = self
            .shard(entity_id)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = shard.to_back(entity_id) {
            slot.last_used.store(now, Ordering::Relaxed);
            return Arc::clone(slot);
        }
        if shard.len() >= self.per_shard {
            evict_least_recently_used(&mut shard);
        }
        let slot = Arc::new(Slot {
            cell: tokio::sync::Mutex::new(None),
            stale: AtomicBool::new(false),
            last_used: AtomicU64::new(now),
        });
        shard.insert(entity_id.to_owned(), Arc::clone(&slot));
        slot
    }
}

fn evictable<M>(slot: &Arc<Slot<M>>) -> bool {
    if Arc::strong_count(slot) != 1 {
        return false;
    }
    match slot.cell.try_lock() {
        Ok(cell) => cell
            .as_ref()
            .and_then(|resident| resident.pending.as_ref())
            .is_none_or(|pending| pending.peek().is_some()),
        Err(_) => false,
    }
}

fn evict_least_recently_used<M>(shard: &mut LinkedHashMap<String, Arc<Slot<M>>>) {
    let oldest = shard
        .iter()
        .take(EVICTION_CANDIDATES)
        .find(|(_, slot)| evictable(slot))
        .map(|(id, _)| id.clone());
    if let Some(id) = oldest {
        shard.remove(&id);
    }
}

impl<M> Slot<M> {
    /// Locks the slot for one command and makes what it holds current: reloads with `load` if
    /// the slot is stale, empty, or its last write failed (waiting for that write first, so the
    /// load sees it).
    pub async fn lock_current<Load>(
        &self,
        load: impl FnOnce() -> Load,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<Resident<M>>>, crate::error::CallError>
    where
        Load: std::future::Future<Output = Result<Resident<M>, crate::error::CallError>>,
    {
        let mut cell = self.cell.lock().await;
        let reload = self.stale.swap(false, Ordering::AcqRel)
            || cell.as_ref().is_none_or(Resident::last_write_failed);
        if reload {
            if let Some(pending) = cell.as_ref().and_then(|r| r.pending.clone()) {
                let _ = pending.await;
            }
            *cell = None;
            *cell = Some(load().await?);
        }
        if let Some(resident) = cell.as_mut() {
            resident.forget_committed();
        }
        Ok(cell)
    }
}

/// Drops the slots of entities idle for longer than the passivation timeout, until the slots are
/// gone.
async fn sweep<M: Send + 'static>(
    slots: Weak<Slots<M>>,
    passivation_timeout: Duration,
    active: metrics::Gauge,
) {
    let period = (passivation_timeout / 2).clamp(Duration::from_millis(10), Duration::from_secs(5));
    let timeout = passivation_timeout.as_millis() as u64;
    loop {
        tokio::time::sleep(period).await;
        let Some(slots) = slots.upgrade() else { return };
        let now = slots.now();
        let mut held = 0;
        for shard in slots.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.retain(|_, slot| {
                let idle = now.saturating_sub(slot.last_used.load(Ordering::Relaxed)) >= timeout;
                !(idle && evictable(slot))
            });
            held += shard.len();
        }
        // Sampled at each sweep (every 5 s at most), not counted per command.
        active.set(held as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` ids that land in the same shard as `first`, `first` among them.
    fn same_shard(slots: &Slots<()>, first: &str, count: usize) -> Vec<String> {
        let shard: *const Shard<()> = slots.shard(first);
        (0..)
            .map(|n| format!("entity-{n}"))
            .filter(|id| std::ptr::eq(slots.shard(id), shard))
            .take(count)
            .collect()
    }

    #[tokio::test]
    async fn a_full_shard_drops_its_least_recently_used_idle_entity() {
        let settings = EntitySettings {
            max_active: 2 * SHARDS,
            passivation_timeout: Duration::from_secs(3600),
        };
        let slots = Slots::<()>::start(settings, "test");
        let ids = same_shard(&slots, "entity-0", 4);
        let (a, b, c, d) = (&ids[0], &ids[1], &ids[2], &ids[3]);
        drop(slots.get_or_insert(a));
        drop(slots.get_or_insert(b));
        // `a` is used again, so `b` is now the least recently used.
        drop(slots.get_or_insert(a));
        drop(slots.get_or_insert(c));
        assert!(slots.get(b).is_none(), "the least recently used is dropped");
        assert!(slots.get(a).is_some() && slots.get(c).is_some());

        // A slot somebody holds is never dropped: the next idle one goes instead.
        let held = slots.get(a).unwrap();
        drop(slots.get_or_insert(d));
        assert!(slots.get(a).is_some(), "a held slot stays");
        assert!(slots.get(c).is_none(), "the idle one goes");
        drop(held);
    }
}
