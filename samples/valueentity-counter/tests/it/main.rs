//! The counter sample's tests: unit tests through `ValueEntityTestKit`, the HTTP contract and the
//! component client through `TestKit`, and durability: restarts, concurrency, SIGKILL.

mod api;
mod client;
mod hardening;
mod http;
mod idempotency;
mod kill;
mod reliability;
mod subscription;
mod two_processes;
mod unit;
