//! Serves the subscriber: `KALIX_SERVICE_CUSTOMER_REGISTRY=http://localhost:9000 KALIX_HTTP_PORT=9010
//! KALIX_ADMIN_PORT=9011 cargo run -p customer-registry-subscriber`, with the event-sourced customer registry serving
//! at that URL.

use customer_registry_subscriber::RegistryUrl;

fn main() -> Result<(), kalix_core::StartError> {
    let registry = std::env::var("KALIX_SERVICE_CUSTOMER_REGISTRY")
        .unwrap_or_else(|_| "http://localhost:9000".to_owned());
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .dependency(RegistryUrl(registry))
        .run()
}
