//! The gRPC case of the ingress benchmark: one unary method served by the framework and by a
//! bare tonic server (the code tonic's generator writes, by hand), and a load of tonic clients.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kalix_core::grpc::{Method, MethodInfo, Unary};
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic_prost::ProstCodec;

use crate::load::Figures;

/// `message Number { int64 value = 1; }`, as kalix-build generates it (less its proto3 JSON).
#[derive(Clone, PartialEq, prost::Message, serde::Serialize, serde::Deserialize)]
pub struct Number {
    #[prost(int64, tag = "1")]
    pub value: i64,
}

/// `service Fibonacci { rpc Next(Number) returns (Number); }`
pub struct Fibonacci;

const PATH: &str = "/bench.Fibonacci/Next";

#[allow(non_upper_case_globals)]
impl Fibonacci {
    pub const Next: Method<Number, Number, Unary> = Method::new(&MethodInfo {
        service: "bench.Fibonacci",
        name: "Next",
        path: PATH,
        server_streaming: false,
        client_streaming: false,
        http: None,
        decode: kalix_core::grpc::decode_message::<Number>,
        encode: kalix_core::grpc::encode_message::<Number>,
    });
}

/// The bare server: tonic's routing and codec around the same function.
#[derive(Clone)]
struct BareFibonacci;

impl NamedService for BareFibonacci {
    const NAME: &'static str = "bench.Fibonacci";
}

struct Next;

impl UnaryService<Number> for Next {
    type Response = Number;
    type Future = BoxFuture<tonic::Response<Number>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Number>) -> Self::Future {
        let number = request.into_inner().value as u64;
        Box::pin(async move {
            Ok(tonic::Response::new(Number {
                value: super::next_fibonacci(number) as i64,
            }))
        })
    }
}

impl Service<http::Request<tonic::body::Body>> for BareFibonacci {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = Grpc::new(ProstCodec::<Number, Number>::default());
            Ok(grpc.unary(Next, request).await)
        })
    }
}

/// Starts the bare tonic server; its address.
pub async fn start_bare() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(BareFibonacci)
            .serve_with_incoming(incoming),
    );
    address
}

/// `connections` HTTP/2 connections, each with one call in flight at a time, for `round`.
pub async fn load(address: SocketAddr, connections: usize, round: Duration) -> Figures {
    let mut workers = Vec::new();
    let started = Instant::now();
    for worker in 0..connections {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .expect("the server accepts");
        workers.push(tokio::spawn(async move {
            let mut client = tonic::client::Grpc::new(channel);
            let path = http::uri::PathAndQuery::from_static(PATH);
            let mut latencies = Vec::new();
            let deadline = Instant::now() + round;
            let mut sequence = worker as i64;
            while Instant::now() < deadline {
                let request = tonic::Request::new(Number {
                    value: sequence % 1000,
                });
                let sent = Instant::now();
                client.ready().await.expect("the channel is ready");
                let reply: tonic::Response<Number> = client
                    .unary(request, path.clone(), ProstCodec::default())
                    .await
                    .expect("every call succeeds");
                assert!(reply.get_ref().value > 0);
                latencies.push(sent.elapsed());
                sequence += 1;
            }
            latencies
        }));
    }
    Figures::of_workers(workers, started).await
}
