//! The event-sourced shopping cart's tests: the Kalix unit test through `EventSourcedTestkit`, and
//! the HTTP contract, before and after a restart, through `TestKit`.

mod http;
mod unit;
