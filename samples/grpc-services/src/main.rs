//! Serves the gRPC samples: `cargo run -p grpc-services`, then
//! `grpcurl -plaintext -d '{"value": 5}' localhost:9000 com.example.fibonacci.Fibonacci/NextNumber`.

// Link the components of the library so their registrations are part of this binary.
use grpc_services as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
