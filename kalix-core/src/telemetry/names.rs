//! The names of the runtime's metrics, and their labels. The guide's operating chapter lists
//! them; these are the one place they are spelled.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Histogram: a routed request, from its arrival to its response's head. Labels
/// `http_request_method`, `http_route` (the route as the macro wrote it), and
/// `http_response_status_code`.
pub const HTTP_REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// Gauge: routed requests being served.
pub const HTTP_ACTIVE_REQUESTS: &str = "http_server_active_requests";
/// Gauge: open connections to the service's port.
pub const HTTP_OPEN_CONNECTIONS: &str = "http_server_open_connections";
/// Histogram: one run of a handler. Labels `component`, `kind`, `handler`, `outcome` (`reply`,
/// `error`, `forward`, `conflict`, `panic`).
pub const COMMAND_DURATION: &str = "kalix_command_duration_seconds";
/// Gauge: entities held in memory, label `component`.
pub const ENTITIES_ACTIVE: &str = "kalix_entities_active";
/// Histogram: one commit of the entity writes batched together.
pub const STORE_COMMIT_DURATION: &str = "kalix_store_commit_duration_seconds";
/// Histogram: the writes in one commit.
pub const STORE_COMMIT_BATCH_SIZE: &str = "kalix_store_commit_batch_size";
/// Counter: entity writes that failed, label `kind` (`conflict`: another writer changed the
/// entity first; `store`: the database failed or refused the write).
pub const STORE_COMMIT_FAILURES: &str = "kalix_store_commit_failures_total";
/// Gauge: timers waiting to fire.
pub const TIMERS_PENDING: &str = "kalix_timers_pending";
/// Histogram: how late a timer fired, after its due time.
pub const TIMER_LATENESS: &str = "kalix_timer_lateness_seconds";
/// Counter: timer calls that failed (each is retried).
pub const TIMER_FAILURES: &str = "kalix_timer_failures_total";
/// Gauge: messages a consumer (subscription, view updater, topic or stream reader, label
/// `consumer`) has read and not processed yet: its last read batch, zero once it is caught
/// up. A lower bound while it reads full batches (up to a few hundred messages).
pub const CONSUMER_LAG_EVENTS: &str = "kalix_consumer_lag_events";
/// Gauge: seconds since a consumer (label `consumer`) was last caught up, zero while it is:
/// an upper bound on the age of the oldest message it has not processed (each was written
/// after that moment). Read at each batch it reads.
pub const CONSUMER_LAG_SECONDS: &str = "kalix_consumer_lag_seconds";
/// Counter: deliveries a consumer made again after its handler failed, label `consumer`.
pub const CONSUMER_RETRIES: &str = "kalix_consumer_retries_total";
/// Counter: messages no handler takes, moved to the topic's dead-letter topic, label `topic`.
pub const DEAD_LETTERS: &str = "kalix_dead_letters_total";
/// Counter: workflow steps run. Labels `workflow`, `step`, `outcome` (`done`, `failed`,
/// `timed_out`).
pub const WORKFLOW_STEPS: &str = "kalix_workflow_steps_total";
/// Gauge: workflows whose step this process is running or retrying, label `workflow`.
pub const WORKFLOWS_RUNNING: &str = "kalix_workflows_running";
/// Histogram: one view query. Labels `view`, `query`.
pub const VIEW_QUERY_DURATION: &str = "kalix_view_query_duration_seconds";

/// Describes every metric to the recorder (the `# HELP` and `# TYPE` lines).
pub(crate) fn describe() {
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Routed HTTP requests, from arrival to the response's head"
    );
    describe_gauge!(HTTP_ACTIVE_REQUESTS, "Routed HTTP requests being served");
    describe_gauge!(HTTP_OPEN_CONNECTIONS, "Open HTTP connections");
    describe_histogram!(
        COMMAND_DURATION,
        Unit::Seconds,
        "Handler runs, by component, kind, handler and outcome"
    );
    describe_gauge!(ENTITIES_ACTIVE, "Entities held in memory, by component");
    describe_histogram!(
        STORE_COMMIT_DURATION,
        Unit::Seconds,
        "Commits of batched entity writes"
    );
    describe_histogram!(
        STORE_COMMIT_BATCH_SIZE,
        Unit::Count,
        "Entity writes per commit"
    );
    describe_counter!(STORE_COMMIT_FAILURES, "Failed entity writes, by kind");
    describe_gauge!(TIMERS_PENDING, "Timers waiting to fire");
    describe_histogram!(
        TIMER_LATENESS,
        Unit::Seconds,
        "How long after its due time a timer fired"
    );
    describe_counter!(TIMER_FAILURES, "Timer calls that failed and are retried");
    describe_gauge!(
        CONSUMER_LAG_EVENTS,
        "Messages a consumer read and has not processed yet"
    );
    describe_gauge!(
        CONSUMER_LAG_SECONDS,
        "Seconds since a consumer was last caught up (0 while it is)"
    );
    describe_counter!(
        CONSUMER_RETRIES,
        "Deliveries made again after a handler failed"
    );
    describe_counter!(DEAD_LETTERS, "Messages moved to a dead-letter topic");
    describe_counter!(
        WORKFLOW_STEPS,
        "Workflow steps run, by workflow, step and outcome"
    );
    describe_gauge!(
        WORKFLOWS_RUNNING,
        "Workflows whose step this process is running or retrying"
    );
    describe_histogram!(
        VIEW_QUERY_DURATION,
        Unit::Seconds,
        "View queries, by view and query"
    );
}
