//! `#[on_startup]` hooks: run once the listener is ready, retried with a fixed delay.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use crate::background::BackgroundDriver;
use crate::dispatch::{BoundHandler, Dispatcher};
use crate::invocation::Invocation;
use crate::outcome::Outcome;

/// The background driver running every `#[on_startup]` hook.
pub(crate) struct StartupHooks {
    pub retry_delay: Duration,
}

impl StartupHooks {
    pub const NAME: &'static str = "startup hooks";
}

impl BackgroundDriver for StartupHooks {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn run(
        self: Box<Self>,
        dispatcher: Arc<Dispatcher>,
        mut stopping: watch::Receiver<bool>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            tokio::select! {
                () = run_hooks(dispatcher, self.retry_delay) => {}
                // A hook still retrying when the service stops gives up.
                _ = stopping.wait_for(|stopping| *stopping) => {}
            }
        })
    }
}

/// Runs every start-up hook concurrently and returns when all have succeeded or given up.
async fn run_hooks(dispatcher: Arc<Dispatcher>, retry_delay: Duration) {
    let hooks: Vec<(BoundHandler, u32)> = dispatcher
        .handlers()
        .into_iter()
        .filter_map(|bound| {
            bound
                .handler
                .startup_retries()
                .map(|retries| (bound.clone(), retries))
        })
        .collect();
    let runs = hooks.into_iter().map(|(bound, max_retries)| {
        let dispatcher = Arc::clone(&dispatcher);
        async move { run_hook(&dispatcher, &bound, max_retries, retry_delay).await }
    });
    futures_util::future::join_all(runs).await;
}

async fn run_hook(
    dispatcher: &Arc<Dispatcher>,
    bound: &BoundHandler,
    max_retries: u32,
    delay: Duration,
) {
    let hook = bound.target();
    for attempt in 0..=max_retries {
        match dispatcher.invoke(bound, Invocation::default()).await {
            Outcome::Error(error) => {
                if attempt < max_retries {
                    tracing::warn!(%hook, attempt = attempt + 1, %error, "start-up hook failed; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                } else {
                    tracing::error!(%hook, attempts = attempt + 1, %error, "start-up hook failed; giving up");
                }
            }
            _ => {
                tracing::info!(%hook, attempts = attempt + 1, "start-up hook done");
                return;
            }
        }
    }
}
