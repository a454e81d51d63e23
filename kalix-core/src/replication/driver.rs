//! The replication driver, on a store other processes share: hands what the store hears of
//! other processes' replica writes to `Replication`, and keeps this process's lease, by which
//! processes count each other for `Majority` and `All` writes.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::{broadcast, watch};

use super::Replication;
use crate::background::BackgroundDriver;
use crate::dispatch::Dispatcher;
use crate::eventing::delivery::{LEASE_RENEW, LEASE_TTL, pause};
use crate::store::{ReplicaNews, Store};

/// At most this many notices are merged together.
const MAX_BATCH: usize = 1024;

/// The prefix of the leases by which processes hosting replicated entities count each other.
const PROCESS_LEASE: &str = "process:replicas:";

/// The driver of `replication` over `store`, if the store is shared and hears news.
pub(crate) fn driver(
    replication: Arc<Replication>,
    store: Arc<dyn Store>,
) -> Option<Box<dyn BackgroundDriver>> {
    if !replication.hosts_any() {
        return None;
    }
    let news = store.replica_news()?;
    Some(Box::new(ReplicationDriver {
        replication,
        store,
        news,
    }))
}

struct ReplicationDriver {
    replication: Arc<Replication>,
    store: Arc<dyn Store>,
    news: broadcast::Receiver<ReplicaNews>,
}

impl BackgroundDriver for ReplicationDriver {
    fn name(&self) -> &'static str {
        "replication"
    }

    fn run(
        self: Box<Self>,
        _dispatcher: Arc<Dispatcher>,
        stopping: watch::Receiver<bool>,
    ) -> BoxFuture<'static, ()> {
        let ReplicationDriver {
            replication,
            store,
            mut news,
        } = *self;
        let lease = tokio::spawn(keep_lease(
            Arc::clone(&replication),
            store,
            stopping.clone(),
        ));
        let mut stopping = stopping;
        Box::pin(async move {
            // Whatever was written before this process listened.
            replication.heard(vec![ReplicaNews::Missed]).await;
            loop {
                let heard = tokio::select! {
                    heard = news.recv() => heard,
                    _ = stopping.wait_for(|stopping| *stopping) => break,
                };
                let mut batch = match heard {
                    Ok(heard) => vec![heard],
                    Err(broadcast::error::RecvError::Lagged(_)) => vec![ReplicaNews::Missed],
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                // What came meanwhile, merged together: a hot entity is read once per batch.
                while batch.len() < MAX_BATCH {
                    match news.try_recv() {
                        Ok(heard) => batch.push(heard),
                        Err(broadcast::error::TryRecvError::Lagged(_)) => {
                            batch.push(ReplicaNews::Missed)
                        }
                        Err(_) => break,
                    }
                }
                replication.heard(batch).await;
            }
            let _ = lease.await;
        })
    }
}

/// Keeps this process's lease and counts the live processes, until the service stops; then
/// gives the lease up.
async fn keep_lease(
    replication: Arc<Replication>,
    store: Arc<dyn Store>,
    mut stopping: watch::Receiver<bool>,
) {
    let owner = replication.replica();
    let name = format!("{PROCESS_LEASE}{owner:016x}");
    let started = std::time::Instant::now();
    loop {
        let alive = async {
            store.lease(&name, owner, LEASE_TTL).await?;
            store.count_leases(PROCESS_LEASE).await
        };
        match alive.await {
            Ok(alive) => replication.set_live(alive),
            Err(error) => tracing::warn!(%error, "counting the service's replicas failed"),
        }
        // Counted often at first, while the other processes start too.
        let wait = match started.elapsed() < LEASE_TTL {
            true => LEASE_RENEW / 8,
            false => LEASE_RENEW,
        };
        if pause(&mut stopping, wait).await.is_err() {
            let _ = store.release_lease(&name, owner).await;
            return;
        }
    }
}
