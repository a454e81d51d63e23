//! The Kalix gRPC samples in Rust: components that implement `.proto` services.
//!
//! - `com.example.fibonacci.Fibonacci` ([`FibonacciAction`]): `NextNumber` answers the Fibonacci
//!   number after the one given (also `GET /fibonacci/<value>/next` through its
//!   `google.api.http` option), `NextNumbers` streams the five after it.
//! - `com.example.shoppingcart.ShoppingCartService` ([`ShoppingCartEntity`]): a value entity
//!   whose id is the requests' `cart_id`.
//!
//! `build.rs` compiles `proto/*.proto` with `kalix-build`; [`proto`] includes what it generated.

mod fibonacci;
mod shopping_cart;

pub use fibonacci::{FibonacciAction, next_fibonacci};
pub use shopping_cart::ShoppingCartEntity;

/// The messages, method constants and clients generated from `proto/*.proto`, one module per
/// package: `proto::com::example::fibonacci`, `proto::com::example::shoppingcart`.
pub mod proto {
    kalix_core::include_protos!();
}
