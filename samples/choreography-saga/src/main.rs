//! Serves the choreography-saga sample: `cargo run -p choreography-saga`, then
//! `curl -X POST localhost:9000/api/users/u1 -H 'Content-Type: application/json' -d '{"name":"Ann","country":"NL","email":"ann@example.com"}'`
//! and `curl localhost:9000/api/emails/ann@example.com` (CONFIRMED once the subscriber ran).

// Link the components of the library so their registrations are part of this binary.
use choreography_saga as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
