//! A gRPC channel to the service under test, for the tonic clients `kalix-build` generates.

use crate::{ServiceProcess, TestKit};

/// A channel over HTTP/2 (cleartext) to the service at `base_url`
/// (`http://127.0.0.1:<port>`); panics if it cannot connect.
pub async fn grpc_channel(base_url: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(base_url.to_owned())
        .unwrap_or_else(|error| panic!("{base_url} is not a gRPC address: {error}"))
        .connect()
        .await
        .unwrap_or_else(|error| panic!("connecting over gRPC to {base_url} failed: {error}"))
}

impl TestKit {
    /// A gRPC channel to the service, for a generated client:
    /// `FibonacciClient::new(testkit.grpc_channel().await)`.
    pub async fn grpc_channel(&self) -> tonic::transport::Channel {
        grpc_channel(self.base_url()).await
    }
}

impl ServiceProcess {
    /// A gRPC channel to the process, for a generated client.
    pub async fn grpc_channel(&self) -> tonic::transport::Channel {
        grpc_channel(self.base_url()).await
    }
}
