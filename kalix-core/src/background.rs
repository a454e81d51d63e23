//! Background drivers: work the service runs beside its HTTP server, started by something other
//! than a request (start-up hooks now; subscriptions, the timer poller and the workflow resumer as
//! they arrive). Each is given the dispatcher, so what it triggers runs like any other call. They
//! start once the listener is ready and stop in reverse order when the service stops.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::dispatch::Dispatcher;

/// One kind of background work.
pub(crate) trait BackgroundDriver: Send + 'static {
    /// For logs.
    fn name(&self) -> &'static str;

    /// Runs until its work is done or `stopping` turns `true`.
    fn run(
        self: Box<Self>,
        dispatcher: Arc<Dispatcher>,
        stopping: watch::Receiver<bool>,
    ) -> BoxFuture<'static, ()>;
}

/// How long a stopping driver may take before it is aborted.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The drivers of a running service.
#[derive(Debug)]
pub(crate) struct RunningDrivers {
    running: Vec<RunningDriver>,
}

#[derive(Debug)]
struct RunningDriver {
    name: &'static str,
    stopping: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl RunningDrivers {
    /// Starts every driver on the current runtime.
    pub fn start(drivers: Vec<Box<dyn BackgroundDriver>>, dispatcher: &Arc<Dispatcher>) -> Self {
        let running = drivers
            .into_iter()
            .map(|driver| {
                let (stopping, stopping_seen) = watch::channel(false);
                let name = driver.name();
                let handle = tokio::spawn(driver.run(Arc::clone(dispatcher), stopping_seen));
                RunningDriver {
                    name,
                    stopping,
                    handle,
                }
            })
            .collect();
        Self { running }
    }

    /// Waits until the driver named `name` has finished its work (at once if there is none).
    pub async fn finished(&mut self, name: &str) {
        if let Some(position) = self.running.iter().position(|d| d.name == name) {
            let _ = (&mut self.running[position].handle).await;
            self.running.remove(position);
        }
    }

    /// Stops the drivers one at a time, last started first: each is told to stop and waited
    /// for (aborted past the grace period) before the one started before it is told.
    pub async fn stop(mut self) {
        while let Some(mut driver) = self.running.pop() {
            let _ = driver.stopping.send(true);
            if tokio::time::timeout(STOP_GRACE, &mut driver.handle)
                .await
                .is_err()
            {
                tracing::warn!(
                    driver = driver.name,
                    "still running {STOP_GRACE:?} after stop; aborted"
                );
                driver.handle.abort();
            }
        }
    }
}

impl Drop for RunningDrivers {
    fn drop(&mut self) {
        for driver in &self.running {
            driver.handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::dependencies::Dependencies;
    use crate::runtime::{ComponentEnv, EntitySettings};
    use crate::store::{GroupCommitter, SqliteStore, Store};

    /// Records when it starts and when it sees the stop.
    struct Recording {
        name: &'static str,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl BackgroundDriver for Recording {
        fn name(&self) -> &'static str {
            self.name
        }

        fn run(
            self: Box<Self>,
            _: Arc<Dispatcher>,
            mut stopping: watch::Receiver<bool>,
        ) -> BoxFuture<'static, ()> {
            Box::pin(async move {
                self.log
                    .lock()
                    .unwrap()
                    .push(format!("{} started", self.name));
                let _ = stopping.wait_for(|stopping| *stopping).await;
                self.log
                    .lock()
                    .unwrap()
                    .push(format!("{} told to stop", self.name));
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.log
                    .lock()
                    .unwrap()
                    .push(format!("{} stopped", self.name));
            })
        }
    }

    #[tokio::test]
    async fn drivers_start_together_and_stop_last_first() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::memory().unwrap());
        let dependencies = Dependencies::default();
        let env = ComponentEnv {
            dependencies: &dependencies,
            committer: GroupCommitter::start(Arc::clone(&store)),
            request_timeout: Duration::from_secs(30),
            replication: crate::replication::Replication::new(
                Arc::clone(&store),
                Duration::from_secs(30),
            ),
            broker: Arc::new(crate::broker::EmbeddedBroker {
                store: Arc::clone(&store),
                news: Arc::default(),
            }),
            store,
            entities: EntitySettings {
                passivation_timeout: Duration::from_secs(30),
                max_active: 10,
            },
            service_name: Arc::from("test"),
            view_updates: Arc::default(),
            timers: crate::timers::Timers::unavailable(),
            clock: Arc::new(crate::timers::SystemClock),
            workflow_observer: None,
            call_router: None,
            step_slots: Arc::new(tokio::sync::Semaphore::new(1)),
            steps_twice: false,
            stream_news: Arc::default(),
            services: crate::broker::ServiceUrls::default(),
        };
        let dispatcher = Arc::new(Dispatcher::new(&[], &env).unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let drivers: Vec<Box<dyn BackgroundDriver>> = ["first", "second"]
            .into_iter()
            .map(|name| {
                Box::new(Recording {
                    name,
                    log: Arc::clone(&log),
                }) as Box<dyn BackgroundDriver>
            })
            .collect();
        let running = RunningDrivers::start(drivers, &dispatcher);
        tokio::time::sleep(Duration::from_millis(20)).await;
        running.stop().await;
        let log = log.lock().unwrap().clone();
        assert_eq!(
            &log[2..],
            [
                "second told to stop",
                "second stopped",
                "first told to stop",
                "first stopped"
            ],
            "{log:?}"
        );
    }
}
