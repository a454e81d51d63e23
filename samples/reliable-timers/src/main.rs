//! Serves the reliable-timers sample: `cargo run -p reliable-timers`, then
//! `curl -X POST localhost:9000/orders/place -H 'Content-Type: application/json' -d '{"item":"tea","quantity":2}'`.

// Link the components of the library so their registrations are part of this binary.
use reliable_timers as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
