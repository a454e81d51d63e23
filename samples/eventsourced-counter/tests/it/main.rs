//! The event-sourced counter's tests: unit tests through `EventSourcedTestKit`, the HTTP contract
//! and component client through `TestKit`, and replay after a restart with snapshots.

mod admin;
mod api;
mod eventing;
mod http;
mod reliability;
mod replay;
mod streams;
mod subscription;
mod tracing;
mod two_processes;
mod unit;
mod view;
