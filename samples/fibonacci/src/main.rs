//! Serves the Fibonacci sample: `cargo run -p fibonacci`, then
//! `curl localhost:9000/fibonacci/5/next`.

// Link the components of the library so their registrations are part of this binary.
use fibonacci as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
