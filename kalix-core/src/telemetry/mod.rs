//! Metrics: the names the runtime records under ([`names`]), and the Prometheus recorder behind
//! the [`metrics`] facade that the admin listener's `/metrics` renders.
//!
//! The runtime records through the `metrics` facade, as a handler may (`metrics::counter!(..)`):
//! one recorder per process, installed by the first service that starts. A process whose own
//! code installed another recorder first keeps it; its `/metrics` page then says so.

pub mod names;
pub(crate) mod trace_context;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of the `_seconds` histograms: from half a millisecond to ten seconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets of the commit batch size.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
/// How often histogram samples are folded into their buckets: samples wait in a queue until
/// then, so this bounds the memory they take between scrapes.
pub(crate) const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, or `None` if another was installed before.
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
/// The process metrics (memory, CPU, open files), read at each render.
static PROCESS: OnceLock<Mutex<metrics_process::Collector>> = OnceLock::new();

/// Installs the Prometheus recorder as the process's `metrics` recorder, once, and describes
/// the runtime's metrics; `None` if the process installed another recorder first.
pub(crate) fn install() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::STORE_COMMIT_BATCH_SIZE.into()),
                        BATCH_BUCKETS,
                    )
                })
                .expect("the bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => {
                    names::describe();
                    let process = metrics_process::Collector::default();
                    process.describe();
                    let _ = PROCESS.set(Mutex::new(process));
                    Some(handle)
                }
                Err(_) => {
                    tracing::warn!(
                        "another metrics recorder was installed before the service started: the \
                         runtime's metrics go to it, and /metrics serves none"
                    );
                    None
                }
            }
        })
        .as_ref()
}

/// The Prometheus text exposition of every metric, process metrics read now; `None` without
/// the recorder.
pub(crate) fn render() -> Option<String> {
    let handle = install()?;
    if let Some(process) = PROCESS.get() {
        process.lock().unwrap_or_else(|e| e.into_inner()).collect();
    }
    Some(handle.render())
}

/// Folds queued histogram samples into their buckets; run every [`UPKEEP_EVERY`].
pub(crate) fn upkeep() {
    if let Some(handle) = install() {
        handle.run_upkeep();
    }
}
