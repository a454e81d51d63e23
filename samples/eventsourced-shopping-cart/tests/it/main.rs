//! The event-sourced shopping cart's tests: the Kalix unit test through `EventSourcedTestKit`, and
//! the HTTP contract, before and after a restart, through `TestKit`.

mod api;
mod http;
mod unit;
