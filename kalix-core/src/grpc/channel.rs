//! A gRPC channel to another service of the project, for the tonic clients `kalix-build`
//! generates: `FibonacciClient::new(ctx.component_client().grpc_channel("fibonacci")?)`.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::HeaderValue;
use tonic::transport::{Channel, Endpoint};

use crate::access::{SERVICE_TOKEN_HEADER, ServiceKey};
use crate::error::CallError;
use crate::status::ErrorCode;

/// How long connecting to another service may take before a call fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A channel to another service: HTTP/2 to its address, connected on first use and shared by
/// every call (and every clone). When this service has a key (`KALIX_SERVICE_KEY_FILE`), each
/// call carries a service token for its method's path, so the callee's ACLs see this service by
/// name; a call made inside a handler's span continues its trace (`traceparent`). A generated
/// client takes it as its transport:
///
/// ```ignore
/// let channel = ctx.component_client().grpc_channel("fibonacci")?;
/// let next = FibonacciClient::new(channel).next_number(Number { value: 5 }).await?;
/// ```
#[derive(Clone)]
pub struct GrpcChannel {
    channel: Channel,
    signer: Option<Arc<ServiceKey>>,
}

impl std::fmt::Debug for GrpcChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcChannel")
            .field("signed", &self.signer.is_some())
            .finish_non_exhaustive()
    }
}

impl GrpcChannel {
    /// A channel to the service at `url` (`http://host:port`), signing with `signer`. It
    /// connects when the first call is made (and again after the connection is lost).
    pub fn connect_lazy(url: &str, signer: Option<Arc<ServiceKey>>) -> Result<Self, CallError> {
        let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|error| {
            CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!("'{url}' is not a service address: {error}"),
            )
        })?;
        Ok(Self {
            channel: endpoint.connect_timeout(CONNECT_TIMEOUT).connect_lazy(),
            signer,
        })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for GrpcChannel {
    type Response = http::Response<tonic::body::Body>;
    type Error = tonic::transport::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.channel.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        // The call continues the caller's trace (the handler's span, when spans are exported).
        if let Some(traceparent) = crate::telemetry::trace_context::current_traceparent()
            .and_then(|value| HeaderValue::from_str(&value).ok())
        {
            request.headers_mut().insert("traceparent", traceparent);
        }
        if let Some(signer) = &self.signer
            && let Ok(token) = HeaderValue::from_str(&signer.token_for(request.uri().path()))
        {
            request.headers_mut().insert(SERVICE_TOKEN_HEADER, token);
        }
        Box::pin(self.channel.call(request))
    }
}
