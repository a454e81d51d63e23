//! Idempotency keys of actions: the reply is kept when the action completes, and a repeat of
//! its scope waits for a run in flight instead of starting another.
//!
//! In this process the runs in flight are a map of scopes, each with a channel its waiters watch.
//! On a store other processes share, the runner also claims the scope in the store
//! (`EntityStore::claim_key`, a row with status 0): a process that finds a live claim polls until
//! the reply replaces it, or until the claim is older than the request timeout (its holder is
//! taken for dead) and it claims the scope itself. A keyed action's run is bounded by the same
//! timeout (a 504 past it), so a live holder's claim never goes stale.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::{CommandKey, kept_of_outcome, replay, used_for_another_request};
use crate::error::CallError;
use crate::outcome::Outcome;
use crate::status::ErrorCode;
use crate::store::{GroupCommitter, KeptReply, ReplyWrite, Store, Write};

/// Actions keep no entity id: their replies are kept under the component id and this.
const NO_ENTITY: &str = "";

/// The first pause of a process waiting for another process's run; it doubles up to the last.
const POLL_FIRST: Duration = Duration::from_millis(10);
const POLL_LAST: Duration = Duration::from_millis(200);

/// The keys of this process's action runs, and where their replies are kept.
pub(crate) struct ActionKeys {
    store: Arc<dyn Store>,
    committer: GroupCommitter,
    /// (component id, scope) of each run in flight here: its request digest, and a channel that
    /// changes once it is over (its reply kept, or not).
    running: Mutex<HashMap<(&'static str, String), Running>>,
    /// A claim older than this is taken for a dead process's: the request timeout.
    claim_ttl: Duration,
}

#[derive(Clone)]
struct Running {
    fingerprint: String,
    over: watch::Receiver<bool>,
}

/// Removes a run from the map when it is over, however it ends (a reply, a cancelled request,
/// a panic), and wakes its waiters; a claim left in a shared store is released.
struct RunGuard<'a> {
    keys: &'a ActionKeys,
    entry: (&'static str, String),
    over: watch::Sender<bool>,
    claimed: bool,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.keys
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&self.entry);
        let _ = self.over.send(true);
        // Outside a runtime (the service shutting down) the claim frees itself once stale.
        if self.claimed
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let release = self
                .keys
                .store
                .release_key(self.entry.0, NO_ENTITY, &self.entry.1);
            runtime.spawn(async move {
                if let Err(error) = release.await {
                    tracing::warn!(%error, "releasing an idempotency key failed; it frees itself after the request timeout");
                }
            });
        }
    }
}

/// Who runs a scope: this call, or a run it waits for.
enum Turn<'a> {
    Run(RunGuard<'a>),
    Wait(Running),
}

impl ActionKeys {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        committer: GroupCommitter,
        claim_ttl: Duration,
    ) -> Self {
        Self {
            store,
            committer,
            running: Mutex::default(),
            claim_ttl,
        }
    }

    /// Runs `run` (an action's call, forwards included) once for `key`: a kept reply answers
    /// instead, and a run in flight is waited for.
    pub(crate) async fn run_once(
        &self,
        component: &'static str,
        key: &CommandKey,
        run: impl Future<Output = Outcome>,
    ) -> Outcome {
        let mut pause = POLL_FIRST;
        loop {
            // The turn first, then the store: a run that ended before this call took its turn
            // kept its reply before it gave the turn up.
            let mut guard = match self.turn(component, key) {
                Turn::Run(guard) => guard,
                Turn::Wait(running) => {
                    if running.fingerprint != key.fingerprint {
                        return Outcome::Error(used_for_another_request(key));
                    }
                    let mut over = running.over;
                    let _ = over.wait_for(|over| *over).await;
                    continue;
                }
            };
            match self
                .store
                .kept_reply(component, NO_ENTITY, &key.scope)
                .await
            {
                Ok(Some(kept)) if !kept.is_running() => return replay(key, kept),
                Ok(_) => {}
                Err(error) => return Outcome::Error(unavailable(&error)),
            }
            if self.store.is_shared() {
                let claim = KeptReply {
                    key: key.scope.clone(),
                    fingerprint: key.fingerprint.clone(),
                    status: KeptReply::RUNNING,
                    content_type: None,
                    body: bytes::Bytes::new(),
                };
                let stale_after = self.claim_ttl.as_millis() as u64;
                match self
                    .store
                    .claim_key(component, NO_ENTITY, claim, stale_after)
                    .await
                {
                    Ok(None) => guard.claimed = true,
                    Ok(Some(kept)) if !kept.is_running() => return replay(key, kept),
                    Ok(Some(claim)) => {
                        if claim.fingerprint != key.fingerprint {
                            return Outcome::Error(used_for_another_request(key));
                        }
                        // Another process runs it: look again in a while.
                        drop(guard);
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(POLL_LAST);
                        continue;
                    }
                    Err(error) => return Outcome::Error(unavailable(&error)),
                }
            }
            // Bounded by the claim's life: past it another process may take the key over.
            let outcome = match tokio::time::timeout(self.claim_ttl, run).await {
                Ok(outcome) => outcome,
                Err(_) => Outcome::Error(CallError::new(
                    ErrorCode::GATEWAY_TIMEOUT,
                    format!(
                        "the action did not complete within {:?}, how long a call with an \
                         idempotency key may run (the request timeout)",
                        self.claim_ttl
                    ),
                )),
            };
            if let Some(kept) = kept_of_outcome(key, &outcome) {
                let write = Write::Reply(ReplyWrite {
                    type_id: component.to_owned(),
                    entity_id: NO_ENTITY.to_owned(),
                    kept,
                });
                match self.committer.submit(write).await {
                    // The reply replaced the claim.
                    Ok(_) => guard.claimed = false,
                    Err(error) => {
                        tracing::warn!(%error, component, "an action's reply could not be kept under its idempotency key; a repeat runs it again");
                    }
                }
            }
            drop(guard);
            return outcome;
        }
    }

    /// This call's turn for its scope: to run it, or to wait for the run in flight.
    fn turn(&self, component: &'static str, key: &CommandKey) -> Turn<'_> {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = (component, key.scope.clone());
        if let Some(run) = running.get(&entry) {
            return Turn::Wait(run.clone());
        }
        let (over, watched) = watch::channel(false);
        running.insert(
            entry.clone(),
            Running {
                fingerprint: key.fingerprint.clone(),
                over: watched,
            },
        );
        Turn::Run(RunGuard {
            keys: self,
            entry,
            over,
            claimed: false,
        })
    }
}

fn unavailable(error: &crate::store::StoreError) -> CallError {
    CallError::new(
        ErrorCode::SERVICE_UNAVAILABLE,
        format!("the command's idempotency key could not be looked up; retry: {error}"),
    )
}
