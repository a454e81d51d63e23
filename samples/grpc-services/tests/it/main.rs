//! The gRPC samples' tests, from outside as a client sees them: the contract over gRPC with the
//! generated tonic clients, the reflection and health services, HTTP transcoding, the API
//! description, and the cart's durability across a kill -9.

mod access;
mod api;
mod fibonacci;
mod process;
mod reflection;
mod shopping_cart;
