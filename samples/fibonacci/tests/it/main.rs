//! The Fibonacci sample's tests: unit tests of the actions through `ActionTestKit`, and the HTTP
//! contract and component-client calls through the in-process `TestKit`.

mod api;
mod client;
mod http;
mod otlp;
mod process;
mod unit;
