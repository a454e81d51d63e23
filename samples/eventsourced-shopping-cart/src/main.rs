//! Serves the event-sourced shopping cart: `cargo run -p eventsourced-shopping-cart`, then
//! `curl localhost:9000/cart/c1`.

// Link the components of the library so their registrations are part of this binary.
use eventsourced_shopping_cart as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
