//! The HTTP metrics: each routed request's duration by method, route and status, the requests
//! being served, and the open connections.

use std::sync::OnceLock;
use std::time::Duration;

use http::StatusCode;
use metrics::{Gauge, Histogram, gauge, histogram};

use crate::telemetry::names;

/// How many statuses a route keeps a histogram handle for.
const STATUS_SLOTS: usize = 8;

/// The metrics of one route.
pub(super) struct RouteMetrics {
    method: &'static str,
    /// The route as the macro wrote it: a bounded label, unlike the path.
    route: String,
    /// `GET /cart/<cart_id>`: the name of its requests' spans.
    span_name: String,
    active: Gauge,
    /// The duration histogram of each status seen so far, each registered on the first response
    /// with that status: reading a slot is an atomic load, so requests on many threads do not
    /// contend (as they would on a lock's counter). A route answering with more statuses than
    /// slots finds the rest through the recorder's registry.
    by_status: [OnceLock<(u16, Histogram)>; STATUS_SLOTS],
}

impl RouteMetrics {
    pub(super) fn new(method: &'static str, route: String) -> Self {
        Self {
            method,
            active: gauge!(names::HTTP_ACTIVE_REQUESTS, "http_request_method" => method, "http_route" => route.clone()),
            span_name: format!("{method} {route}"),
            route,
            by_status: Default::default(),
        }
    }

    pub(super) fn method(&self) -> &'static str {
        self.method
    }

    pub(super) fn route(&self) -> &str {
        &self.route
    }

    pub(super) fn span_name(&self) -> &str {
        &self.span_name
    }

    /// Counts a request as active until the returned guard drops (also when its client goes
    /// away and the request's future is dropped).
    pub(super) fn start(&self) -> Active<'_> {
        self.active.increment(1.0);
        Active(&self.active)
    }

    pub(super) fn record(&self, status: StatusCode, took: Duration) {
        let code = status.as_u16();
        let register = || {
            histogram!(
                names::HTTP_REQUEST_DURATION,
                "http_request_method" => self.method,
                "http_route" => self.route.clone(),
                "http_response_status_code" => code.to_string()
            )
        };
        for slot in &self.by_status {
            // The first empty slot is taken for this status (unless another thread took it for
            // its own status meanwhile: then the next slots are looked at).
            let (seen, histogram) = slot.get_or_init(|| (code, register()));
            if *seen == code {
                histogram.record(took);
                return;
            }
        }
        register().record(took);
    }
}

/// A request being served.
pub(super) struct Active<'a>(&'a Gauge);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// An open connection, counted until it drops.
pub(super) struct OpenConnection(Gauge);

impl OpenConnection {
    pub(super) fn open() -> Self {
        let gauge = gauge!(names::HTTP_OPEN_CONNECTIONS);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
