//! A metrics recorder that can be switched off, so a bench measures what recording costs in one
//! run: rounds with recording on and off alternate against the same running service.
//!
//! It wraps a Prometheus recorder configured as the runtime configures its own (histograms with
//! buckets, folded every few seconds), and is installed before the service starts, so the
//! runtime's handles are registered with it. Switched off, a handle's record is one relaxed load.

// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

static RECORDING: AtomicBool = AtomicBool::new(true);
static RENDER: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();

/// Turns recording on or off for every handle.
pub fn set_recording(on: bool) {
    RECORDING.store(on, Ordering::Relaxed);
}

fn recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

/// Installs the switchable recorder as the process's recorder and folds its histogram samples
/// every 5 s on the current runtime, as the runtime's upkeep does. Call before the service starts.
pub fn install() {
    let seconds = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let batch = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
    let inner = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(kalix_core::telemetry::names::STORE_COMMIT_BATCH_SIZE.into()),
                &batch,
            )
        })
        .unwrap()
        .build_recorder();
    let handle = inner.handle();
    let _ = RENDER.set(handle.clone());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            handle.run_upkeep();
        }
    });
    metrics::set_global_recorder(Switchable(inner)).expect("no recorder installed before");
}

/// Figures with recording on or off, and the CPU the whole process (server and client) used
/// per request over those rounds.
pub struct Measured {
    pub figures: crate::load::Figures,
    pub cpu_per_request: Duration,
}

/// Runs four rounds against the same service, recording on, off, off, on (so a drift of the
/// machine weighs on both alike), and returns what was measured with recording on and off.
pub async fn on_and_off<F, R>(mut round: F) -> (Measured, Measured)
where
    F: FnMut() -> R,
    R: std::future::Future<Output = crate::load::Figures>,
{
    let mut on: Option<(crate::load::Figures, Duration)> = None;
    let mut off: Option<(crate::load::Figures, Duration)> = None;
    for recording_on in [true, false, false, true] {
        set_recording(recording_on);
        let cpu_before = process_cpu();
        let figures = round().await;
        let cpu = process_cpu().saturating_sub(cpu_before);
        let slot = if recording_on { &mut on } else { &mut off };
        *slot = Some(match slot.take() {
            Some((before, before_cpu)) => (before.merge(figures), before_cpu + cpu),
            None => (figures, cpu),
        });
    }
    set_recording(true);
    let measured = |(figures, cpu): (crate::load::Figures, Duration)| Measured {
        cpu_per_request: cpu / figures.requests.max(1) as u32,
        figures,
    };
    (
        measured(on.expect("two rounds on")),
        measured(off.expect("two rounds off")),
    )
}

/// The CPU time (user and system) this process has used, from `/proc/self/stat` (Linux; zero
/// elsewhere).
pub fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are the 12th and 13th fields after the name, in clock ticks (100 per
    // second on Linux).
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// What the recording a request makes costs when the recorder is on, timed on handles of the
/// installed recorder: the HTTP and command duration histograms, the active-requests gauge up
/// and down, the command counter's clock read twice. An upper bound of the work done per request
/// (a commit's figures are recorded once per batch of many commands).
pub fn recording_per_request() -> Duration {
    let http = metrics::histogram!("bench_probe_http_seconds", "route" => "/probe/<id>");
    let command = metrics::histogram!("bench_probe_command_seconds", "handler" => "probe");
    let active = metrics::gauge!("bench_probe_active");
    let clock = quanta::Clock::new();
    let rounds = 1_000_000u32;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        let start = clock.raw();
        active.increment(1.0);
        let end = clock.raw();
        let seconds = clock.delta(start, end).as_secs_f64();
        command.record(seconds);
        http.record(seconds);
        active.decrement(1.0);
    }
    let elapsed = started.elapsed();
    if let Some(handle) = RENDER.get() {
        handle.run_upkeep();
    }
    elapsed / rounds
}

/// The sum of the recorded series whose line starts with `prefix` (e.g. a histogram's
/// `_count`), to show that the rounds with recording on did record.
pub fn recorded(prefix: &str) -> f64 {
    let Some(handle) = RENDER.get() else {
        return 0.0;
    };
    handle.run_upkeep();
    handle
        .render()
        .lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

struct Switchable(PrometheusRecorder);

struct Switched<T>(T);

impl CounterFn for Switched<Counter> {
    fn increment(&self, value: u64) {
        if recording() {
            self.0.increment(value);
        }
    }
    fn absolute(&self, value: u64) {
        if recording() {
            self.0.absolute(value);
        }
    }
}

impl GaugeFn for Switched<Gauge> {
    fn increment(&self, value: f64) {
        if recording() {
            self.0.increment(value);
        }
    }
    fn decrement(&self, value: f64) {
        if recording() {
            self.0.decrement(value);
        }
    }
    fn set(&self, value: f64) {
        if recording() {
            self.0.set(value);
        }
    }
}

impl HistogramFn for Switched<Histogram> {
    fn record(&self, value: f64) {
        if recording() {
            self.0.record(value);
        }
    }
}

impl Recorder for Switchable {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_counter(key, unit, description);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_gauge(key, unit, description);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_histogram(key, unit, description);
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Switched(self.0.register_counter(key, metadata))))
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(Switched(self.0.register_gauge(key, metadata))))
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Switched(self.0.register_histogram(key, metadata))))
    }
}
