//! Serves the customer registry: `cargo run -p customer-registry`, then
//! `curl -X POST localhost:9000/customer/c1/create -H 'Content-Type: application/json' \
//!   -d '{"customerId":"c1","email":"ann@example.com","name":"Ann","address":null}'`.

// Link the components of the library so their registrations are part of this binary.
use customer_registry as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
