use std::time::Duration;

use kalix_core::ErrorCode;
use kalix_testkit::reqwest::StatusCode;
use serde_json::{Value, json};

use crate::components::Effects;
use crate::start;

#[tokio::test]
async fn reply_metadata_sets_response_headers_and_a_2xx_status() {
    let (testkit, _) = start().await;
    let response = testkit.get("/effects/reply-with").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["x-custom"], "yes");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.json::<Value>().await.unwrap(), json!("accepted"));

    let response = testkit.get("/effects/created").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn error_effects_answer_with_every_status_of_the_kalix_table() {
    let (testkit, _) = start().await;
    for code in ErrorCode::ALL {
        let status = code.as_u16();
        let response = testkit
            .get(&format!("/effects/error/{status}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], status);
        assert_eq!(body["detail"], format!("failed with {status}"));
    }
    // `Effect::error` without a status is a 400.
    let response = testkit.get("/effects/error/418").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_ignored_call_is_a_404() {
    let (testkit, _) = start().await;
    let response = testkit.get("/effects/ignore").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let error = testkit
        .component_client()
        .action::<Effects>()
        .ignore()
        .await
        .unwrap_err();
    assert_eq!(error.status(), 404);
}

#[tokio::test]
async fn an_async_reply_takes_the_context_client_along() {
    let (testkit, _) = start().await;
    let added = testkit.post("/tally/doubled/add/21").send().await.unwrap();
    assert_eq!(added.status(), 200);
    let doubled = crate::get_json(&testkit, "/effects/tally-doubled/doubled").await;
    assert_eq!(doubled, json!(42));
}

#[tokio::test]
async fn async_reply_and_async_effect_compose_calls() {
    let (testkit, _) = start().await;
    let body: Value = testkit
        .get("/effects/async-reply/21")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!(42));

    // async_effect that forwards: the forwarded handler's reply is the caller's reply.
    let body: Value = testkit
        .get("/effects/async-effect/9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!(10));
    // async_effect that fails with a chosen status.
    let response = testkit
        .get("/effects/async-effect/-3")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);

    let client = testkit.component_client().action::<Effects>();
    assert_eq!(client.async_reply(-4).await.unwrap(), -8);
    assert_eq!(client.async_effect(1).await.unwrap(), 2);
}

#[tokio::test]
async fn synchronous_side_effects_complete_before_the_reply_and_others_run_beside_it() {
    let (testkit, recorder) = start().await;
    let response = testkit
        .post("/effects/side-effects/a")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The synchronous one is done by the time the reply arrives.
    assert!(
        recorder.entries().contains(&"a-sync".to_owned()),
        "{:?}",
        recorder.entries()
    );
    // The asynchronous one runs on its own; wait for it (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !recorder.entries().contains(&"a-async".to_owned()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the async side effect never ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A failing side effect (the 503) does not change the reply.
    assert_eq!(response.json::<Value>().await.unwrap(), json!("ok"));
}

#[tokio::test]
async fn forwards_chain_up_to_32_deep_and_a_longer_chain_is_refused() {
    let (testkit, _) = start().await;
    let body: Value = testkit
        .get("/effects/countdown/32")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!(0));
    let response = testkit.get("/effects/countdown/33").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("forward loop"),
        "{body}"
    );
}

#[tokio::test]
async fn reply_metadata_replaces_the_content_type_and_cannot_set_framing_headers() {
    let (testkit, _) = start().await;
    let response = testkit.get("/effects/content-type").send().await.unwrap();
    let types: Vec<_> = response.headers().get_all("content-type").iter().collect();
    assert_eq!(types, ["application/vnd.kalix+json"]);
    assert_eq!(response.text().await.unwrap(), "\"typed\"");
}

#[tokio::test]
async fn a_forward_carries_the_metadata_set_on_the_deferred_call() {
    let (testkit, _) = start().await;
    let body: Value = testkit
        .get("/effects/forward-with-metadata")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!("Admin"));
    // Called directly, the header is forwarded only because `Role` is on the allow-list.
    let body: Value = testkit
        .get("/effects/whoami")
        .header("Role", "Guest")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!("Guest"));
}
