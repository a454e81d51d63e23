//! Serves the counter sample: `cargo run -p valueentity-counter`, then
//! `curl -X POST localhost:9000/counter/c1/plusone`.

// Link the components of the library so their registrations are part of this binary.
use valueentity_counter as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
