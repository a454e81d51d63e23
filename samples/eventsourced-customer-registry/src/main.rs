//! Serves the event-sourced customer registry: `cargo run -p eventsourced-customer-registry`.
//! Other services read its stream `customer_events` at its URL: the subscriber sample names it
//! the service `customer-registry`, found at `KALIX_SERVICE_CUSTOMER_REGISTRY`.

// Link the components of the library so their registrations are part of this binary.
use eventsourced_customer_registry as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
