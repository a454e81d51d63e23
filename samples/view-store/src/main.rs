//! Serves the store: `cargo run -p view-store`, then create a customer, a product and an order
//! (see the crate's documentation) and `curl localhost:9000/nested-customer-orders/C001`.

// Link the components of the library so their registrations are part of this binary.
use view_store as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
