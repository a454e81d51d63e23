use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::{Value, json};

async fn get(testkit: &TestKit, path: &str) -> (StatusCode, Value) {
    let response = testkit.get(path).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn post(testkit: &TestKit, path: &str, body: Value) -> (StatusCode, Value) {
    let response = testkit.post(path).json(&body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn get_and_post_reply_with_the_next_number() {
    let testkit = TestKit::start().await;
    assert_eq!(
        get(&testkit, "/fibonacci/5/next").await,
        (StatusCode::OK, json!({"value": 8}))
    );
    assert_eq!(
        get(&testkit, "/fibonacci/0/next").await,
        (StatusCode::OK, json!({"value": 1}))
    );
    assert_eq!(
        post(&testkit, "/fibonacci/next", json!({"value": 144})).await,
        (StatusCode::OK, json!({"value": 233}))
    );
}

#[tokio::test]
async fn a_number_outside_the_sequence_is_a_400_with_the_kalix_message() {
    let testkit = TestKit::start().await;
    let (status, body) = post(&testkit, "/fibonacci/next", json!({"value": 7})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Input number is not a Fibonacci number, received '7'"
    );
    assert_eq!(body["status"], 400);
    let (status, body) = get(&testkit, "/fibonacci/4/next").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Input number is not a Fibonacci number, received '4'"
    );
}

#[tokio::test]
async fn the_limited_routes_forward_or_refuse() {
    let testkit = TestKit::start().await;
    assert_eq!(
        get(&testkit, "/limitedfibonacci/13/next").await,
        (StatusCode::OK, json!({"value": 21}))
    );
    assert_eq!(
        post(&testkit, "/limitedfibonacci/next", json!({"value": 6765})).await,
        (StatusCode::OK, json!({"value": 10946}))
    );
    for (status, body) in [
        get(&testkit, "/limitedfibonacci/10001/next").await,
        post(&testkit, "/limitedfibonacci/next", json!({"value": 20000})).await,
    ] {
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["detail"], "Only numbers between 0 and 10k are allowed");
    }
    // The forwarded call's error reaches the caller.
    let (status, body) = get(&testkit, "/limitedfibonacci/9999/next").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Input number is not a Fibonacci number, received '9999'"
    );
}

#[tokio::test]
async fn bad_input_is_a_4xx_that_says_what_was_wrong() {
    let testkit = TestKit::start().await;
    let (status, body) = get(&testkit, "/fibonacci/five/next").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Path parameter 'number' must be of type u64, received 'five'"
    );

    let (status, body) = get(&testkit, "/fibonacci//next").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Path parameter 'number' is missing; expected a value of type u64"
    );

    let (status, body) = get(&testkit, "/fibonacci/-1/next").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("'number'"));

    let (status, body) = post(&testkit, "/fibonacci/next", json!({"value": "five"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"].as_str().unwrap().contains("field `value`"),
        "{body}"
    );

    let (status, body) = post(&testkit, "/fibonacci/next", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("missing field `value`"),
        "{body}"
    );

    let response = testkit
        .post("/fibonacci/next")
        .header("content-type", "application/json")
        .body("{\"value\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Malformed JSON body"),
        "{body}"
    );

    let (status, body) = get(&testkit, "/fibonacci/5").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "Could not find path: /fibonacci/5");

    let response = testkit.delete("/fibonacci/5/next").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");

    let response = testkit
        .post("/fibonacci/next")
        .header("content-type", "text/plain")
        .body("5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn the_largest_fibonacci_number_of_u64_is_named_as_one() {
    let testkit = TestKit::start().await;
    let largest = 12_200_160_415_121_876_738u64;
    let (status, body) = get(&testkit, &format!("/fibonacci/{largest}/next")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "The Fibonacci number after '12200160415121876738' is larger than 18446744073709551615"
    );
    let (status, body) = get(&testkit, &format!("/fibonacci/{}/next", u64::MAX)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Input number is not a Fibonacci number, received '18446744073709551615'"
    );
}
