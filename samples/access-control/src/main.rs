//! Serves the access-control sample: `cargo run -p access-control`, then
//! `curl localhost:9000/public/hello/ann` (200) and `curl localhost:9000/internal/hello/ann` (403:
//! only services that sign their calls, see `KALIX_TRUSTED_SERVICES`).

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .default_acl(access_control::default_acl())
        .run()
}
