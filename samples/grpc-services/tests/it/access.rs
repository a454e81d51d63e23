//! gRPC calls pass the same access checks as HTTP requests: here the service's default ACL lets
//! only services in, so a call from the internet is `PERMISSION_DENIED`, a call with a service
//! token goes through, and a token that does not verify is `UNAUTHENTICATED`.

use grpc_services::proto::com::example::fibonacci::Number;
use grpc_services::proto::com::example::fibonacci::fibonacci_client::FibonacciClient;
use kalix_core::access::{Acl, Matcher};
use kalix_core::grpc::__deps::tonic::{Code, Request};
use kalix_testkit::TestKit;

const NEXT_NUMBER: &str = "/com.example.fibonacci.Fibonacci/NextNumber";

fn signed(token: &str) -> Request<Number> {
    let mut request = Request::new(Number { value: 5 });
    request
        .metadata_mut()
        .insert("kalix-service-token", token.parse().unwrap());
    request
}

#[tokio::test]
async fn the_default_acl_guards_grpc_methods_and_their_http_routes() {
    let testkit = TestKit::builder()
        .default_acl(Acl::new().allow(Matcher::service("*")))
        .start()
        .await;
    let mut client = FibonacciClient::new(testkit.grpc_channel().await);

    let denied = client.next_number(Number { value: 5 }).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("access control list"),
        "{denied:?}"
    );

    let token = testkit.client_as_service("billing").token_for(NEXT_NUMBER);
    let allowed = client.next_number(signed(&token)).await.unwrap();
    assert_eq!(allowed.into_inner().value, 8);

    let forged = client.next_number(signed("not-a-token")).await.unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated, "{forged:?}");

    // The token is bound to its path: another method's is refused.
    let other = testkit
        .client_as_service("billing")
        .token_for("/com.example.fibonacci.Fibonacci/NextNumbers");
    let misused = client.next_number(signed(&other)).await.unwrap_err();
    assert_eq!(misused.code(), Code::Unauthenticated, "{misused:?}");

    // The method's HTTP route is guarded alike.
    let response = testkit.get("/fibonacci/5/next").send().await.unwrap();
    assert_eq!(response.status(), 403);
    testkit.stop().await;
}
