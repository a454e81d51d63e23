//! Serves the replicated entities sample: `cargo run -p replicated-entities`, then
//! `curl -X POST localhost:9000/counter/c1/increase -H 'Content-Type: application/json' -d '{"value": 2}'`.

// Link the components of the library so their registrations are part of this binary.
use replicated_entities as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
