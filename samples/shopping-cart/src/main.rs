//! Serves the shopping cart sample: `cargo run -p shopping-cart`, then
//! `curl -X POST localhost:9000/carts/create`.

// Link the components of the library so their registrations are part of this binary.
use shopping_cart as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
