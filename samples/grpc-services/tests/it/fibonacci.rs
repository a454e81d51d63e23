//! `com.example.fibonacci.Fibonacci` over gRPC and, for `NextNumber`, over HTTP/JSON.

use grpc_services::proto::com::example::fibonacci::Number;
use grpc_services::proto::com::example::fibonacci::fibonacci_client::FibonacciClient;
use kalix_core::grpc::__deps::tonic::Code;
use kalix_testkit::TestKit;

#[tokio::test]
async fn next_number_answers_the_following_fibonacci_number() {
    let testkit = TestKit::start().await;
    let mut client = FibonacciClient::new(testkit.grpc_channel().await);
    for (number, next) in [
        (0, 1),
        (1, 2),
        (5, 8),
        (89, 144),
        (7_540_113_804_746_346_429, i64::MAX),
    ] {
        let reply = client.next_number(Number { value: number }).await;
        match reply {
            Ok(reply) => assert_eq!(reply.into_inner().value, next, "after {number}"),
            // The number after the largest i64 Fibonacci number does not fit.
            Err(status) => {
                assert_eq!(number, 7_540_113_804_746_346_429);
                assert_eq!(status.code(), Code::InvalidArgument);
            }
        }
    }
    let refused = client.next_number(Number { value: 7 }).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        refused.message(),
        "Input number is not a Fibonacci number, received '7'"
    );
    let negative = client.next_number(Number { value: -3 }).await.unwrap_err();
    assert_eq!(negative.code(), Code::InvalidArgument);
    testkit.stop().await;
}

#[tokio::test]
async fn next_numbers_streams_the_five_that_follow() {
    let testkit = TestKit::start().await;
    let mut client = FibonacciClient::new(testkit.grpc_channel().await);
    let mut stream = client
        .next_numbers(Number { value: 5 })
        .await
        .unwrap()
        .into_inner();
    let mut received = Vec::new();
    while let Some(number) = stream.message().await.unwrap() {
        received.push(number.value);
    }
    assert_eq!(received, [8, 13, 21, 34, 55]);

    // A number that is not a Fibonacci number: the stream ends with the error at once.
    let refused = match client.next_numbers(Number { value: 4 }).await {
        Err(status) => status,
        Ok(stream) => stream.into_inner().message().await.unwrap_err(),
    };
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        refused.message(),
        "Input number is not a Fibonacci number, received '4'"
    );
    testkit.stop().await;
}

#[tokio::test]
async fn next_number_is_served_over_http_by_its_google_api_http_option() {
    let testkit = TestKit::start().await;
    let response = testkit.get("/fibonacci/5/next").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    // The proto3 JSON mapping writes an int64 as a string.
    assert_eq!(body, serde_json::json!({"value": "8"}));

    let refused = testkit.get("/fibonacci/7/next").send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "Input number is not a Fibonacci number, received '7'"
    );

    let not_a_number = testkit.get("/fibonacci/five/next").send().await.unwrap();
    assert_eq!(not_a_number.status(), 400);
    let problem: serde_json::Value = not_a_number.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("value"),
        "{problem}"
    );
    testkit.stop().await;
}

#[tokio::test]
async fn an_unknown_method_is_unimplemented_and_a_bad_message_invalid_argument() {
    let testkit = TestKit::start().await;
    let http2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let grpc = |path: &str, body: Vec<u8>| {
        http2
            .post(testkit.url(path))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(body)
            .send()
    };
    let unknown = grpc("/com.example.fibonacci.Fibonacci/Nope", frame(&[]))
        .await
        .unwrap();
    assert_eq!(unknown.headers()["grpc-status"], "12", "UNIMPLEMENTED");

    // Field 1 declared as a length-delimited string of 200 bytes, with 1 byte present.
    let garbage = grpc(
        "/com.example.fibonacci.Fibonacci/NextNumber",
        frame(&[0x0a, 0xc8, 0x01, 0x41]),
    )
    .await
    .unwrap();
    assert_eq!(grpc_status(garbage).await, "3", "INVALID_ARGUMENT");

    // A body that is not one message frame: its prefix declares 10 bytes, 1 follows.
    let truncated = grpc(
        "/com.example.fibonacci.Fibonacci/NextNumber",
        vec![0, 0, 0, 0, 10, 0x08],
    )
    .await
    .unwrap();
    assert_eq!(grpc_status(truncated).await, "3", "INVALID_ARGUMENT");

    // gRPC-Web is not gRPC: it reaches the HTTP routes, which have no such path.
    let web = http2
        .post(testkit.url("/com.example.fibonacci.Fibonacci/NextNumber"))
        .header("content-type", "application/grpc-web+proto")
        .body(frame(&[0x08, 0x05]))
        .send()
        .await
        .unwrap();
    assert_eq!(web.status(), 404);
    assert!(web.headers().get("grpc-status").is_none());

    // gRPC over HTTP/1.1 cannot carry its status: refused, saying why.
    let http1 = reqwest::Client::new()
        .post(testkit.url("/com.example.fibonacci.Fibonacci/NextNumber"))
        .header("content-type", "application/grpc")
        .body(frame(&[0x08, 0x05]))
        .send()
        .await
        .unwrap();
    assert_eq!(http1.status(), 505);
    let problem: serde_json::Value = http1.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("HTTP/2"),
        "{problem}"
    );

    // The service keeps serving.
    let mut client = FibonacciClient::new(testkit.grpc_channel().await);
    assert_eq!(
        client
            .next_number(Number { value: 2 })
            .await
            .unwrap()
            .into_inner()
            .value,
        3
    );
    testkit.stop().await;
}

/// One gRPC message frame: uncompressed, its length, the message.
fn frame(message: &[u8]) -> Vec<u8> {
    let mut frame = vec![0];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    frame
}

/// The `grpc-status` of a response: in its headers (trailers-only), else in its trailers.
async fn grpc_status(response: reqwest::Response) -> String {
    if let Some(status) = response.headers().get("grpc-status") {
        return status.to_str().unwrap().to_owned();
    }
    panic!("no grpc-status header: {:?}", response.headers());
}
