use kalix_testkit::reqwest::StatusCode;
use serde_json::Value;

use crate::start;

#[tokio::test]
async fn a_streamed_reply_is_newline_delimited_json() {
    let (testkit, _) = start().await;
    let response = testkit.get("/effects/stream/3").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    assert_eq!(response.text().await.unwrap(), "1\n2\n3\n");
}

#[tokio::test]
async fn a_streamed_reply_is_server_sent_events_when_asked_for() {
    let (testkit, _) = start().await;
    let response = testkit
        .get("/effects/stream/2")
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.text().await.unwrap(), "data: 1\n\ndata: 2\n\n");
}

#[tokio::test]
async fn an_error_ends_the_response_even_if_the_stream_would_go_on() {
    let (testkit, _) = start().await;
    // Guards against a hang: the stream after the error never yields again.
    let text = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        testkit
            .get("/effects/stream-error-then-silence")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
    .await
    .expect("the response ended at the error");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "1");
    let problem: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(problem["detail"], "stop here");
}

#[tokio::test]
async fn a_panic_while_streaming_ends_the_stream_with_a_500_element() {
    let (testkit, _) = start().await;
    let text = testkit
        .get("/effects/stream-panic")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "1");
    let problem: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(problem["status"], 500);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("Unexpected error [")
    );
    assert_eq!(lines.len(), 2);
    // The service goes on serving.
    assert_eq!(
        testkit
            .get("/effects/stream/1")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "1\n"
    );
}

#[tokio::test]
async fn an_error_ends_a_stream_with_a_problem_and_ignored_elements_are_skipped() {
    let (testkit, _) = start().await;
    let text = testkit
        .get("/effects/stream-with-error/4")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], ["1", "3"]);
    let problem: Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(problem["detail"], "stream failed");
    assert_eq!(lines.len(), 3);
}
