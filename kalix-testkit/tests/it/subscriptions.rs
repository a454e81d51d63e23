//! Subscriptions as a user sees them: a failing or panicking handler gets the same message again,
//! after a pause, until it succeeds; it holds back its own subscription only; the unit testkit
//! calls a subscription handler with its event's metadata.

use std::time::{Duration, Instant};

use crate::components::{Payload, Recorder, SteadySubscriber};
use crate::start;

async fn put(testkit: &kalix_testkit::TestKit, id: &str, text: &str) {
    let response = testkit
        .put(&format!("/signal/{id}"))
        .json(&serde_json::json!({"text": text}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

/// Waits until `recorder` holds `entry`, at most 20 s.
async fn until_recorded(recorder: &Recorder, entry: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while recorder.count(entry) == 0 {
        assert!(
            Instant::now() < deadline,
            "never recorded `{entry}`: {:?}",
            recorder.entries()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The test's store serves one process, so a subscription is one slice: a message that fails
/// holds back the messages after it (on a shared store, only those of its slice of entities).
#[tokio::test]
async fn a_failing_handler_gets_the_same_message_again_and_holds_back_only_its_subscription() {
    let (testkit, recorder) = start().await;
    put(&testkit, "a", "fail-2").await;
    until_recorded(&recorder, "flaky attempt a:fail-2").await;
    // A later change of the same entity, and a change of another one.
    put(&testkit, "a", "after").await;
    put(&testkit, "b", "ok").await;

    // The other subscription to the same entity goes on at once.
    until_recorded(&recorder, "steady a:after").await;
    until_recorded(&recorder, "steady b:ok").await;
    assert_eq!(
        recorder.count("flaky done b:ok"),
        0,
        "a message after a failing one waits for it: {:?}",
        recorder.entries()
    );

    until_recorded(&recorder, "flaky done b:ok").await;
    let flaky: Vec<String> = recorder
        .entries()
        .into_iter()
        .filter(|e| e.starts_with("flaky"))
        .collect();
    assert_eq!(
        flaky,
        [
            "flaky attempt a:fail-2",
            "flaky attempt a:fail-2",
            "flaky attempt a:fail-2",
            "flaky done a:fail-2",
            "flaky attempt a:after",
            "flaky done a:after",
            "flaky attempt b:ok",
            "flaky done b:ok",
        ],
        "the same message until it succeeds, then the next, in order"
    );
    testkit.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_gets_the_message_again_and_the_service_keeps_serving() {
    let (testkit, recorder) = start().await;
    put(&testkit, "p", "panic-1").await;
    until_recorded(&recorder, "flaky done p:panic-1").await;
    assert_eq!(recorder.count("flaky attempt p:panic-1"), 2);
    put(&testkit, "p", "after").await;
    until_recorded(&recorder, "flaky done p:after").await;
    testkit.stop().await;
}

#[tokio::test]
async fn the_unit_testkit_calls_a_subscription_handler_with_its_event() {
    let recorder = Recorder::default();
    let dependencies = kalix_core::Dependencies::default().with(recorder.clone());
    let subscriber = SteadySubscriber::new(&dependencies).unwrap();
    let testkit = kalix_testkit::ActionTestKit::new(subscriber).with_event("s1", 4);
    let note = Payload {
        text: "hello".into(),
    };
    let result = testkit
        .call(async |action, ctx| action.on_signal(note, ctx).await)
        .await;
    assert!(result.is_reply());
    assert_eq!(recorder.entries(), ["steady s1:hello"]);
}

#[tokio::test]
async fn a_route_handler_with_publish_answers_and_publishes_its_reply() {
    let testkit = kalix_testkit::TestKit::builder()
        .dependency(Recorder::default())
        .config(|config| config.with_service_name("notice-board"))
        .start()
        .await;
    let mut announcements = testkit.outgoing("announcements");
    let response = testkit
        .post("/announce")
        .json(&serde_json::json!({"text": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"text": "hello"}));
    let published = announcements.expect_one::<Payload>().await;
    assert_eq!(published.payload.text, "hello");
    assert_eq!(published.ce_type(), Some("Payload"));
    assert_eq!(published.subject(), Some("board"));
    assert_eq!(published.attribute("ce-specversion"), Some("1.0"));
    assert!(
        published
            .attribute("ce-id")
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(
        published.attribute("ce-source"),
        Some("notice-board"),
        "the service's name"
    );
    announcements.expect_none().await;
    testkit.stop().await;
}

/// A consumer tested alone: changes and events written straight to the store, no entity run.
#[tokio::test]
async fn injected_changes_and_events_reach_the_subscribers() {
    use crate::components::{Ledger, LedgerEvent, Signal};
    let (testkit, recorder) = start().await;
    let note = Payload {
        text: "injected".into(),
    };
    testkit.inject_state::<Signal>("i1", Some(&note)).await;
    until_recorded(&recorder, "steady i1:injected").await;
    testkit
        .inject_events::<Ledger>(
            "l1",
            &[
                LedgerEvent::Credited { amount: 5 },
                LedgerEvent::ClosedForGood,
            ],
        )
        .await;
    until_recorded(&recorder, "ledger l1#1: Credited { amount: 5 }").await;
    until_recorded(&recorder, "ledger l1#2: ClosedForGood").await;
    testkit.stop().await;
}

/// Bytes travel as they are: `application/octet-stream`, no `ce-type`, both ways.
#[tokio::test]
async fn bytes_are_published_and_consumed_as_octet_streams() {
    use kalix_core::store::TopicMessage;
    let (testkit, recorder) = start().await;
    let mut out = testkit.outgoing("raw-out");
    let response = testkit.post("/raw/4").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let published = out.expect_raw().await;
    assert_eq!(&published.payload[..], &[0u8, 1, 2, 3]);
    assert_eq!(
        published.attribute("Content-Type"),
        Some("application/octet-stream")
    );
    assert_eq!(published.ce_type(), None);

    let raw = TopicMessage {
        id: "raw-1".into(),
        attributes: vec![("Content-Type".into(), "application/octet-stream".into())],
        payload: bytes::Bytes::from_static(&[0, 255, b'a']),
    };
    testkit.incoming("raw-in").publish_message(raw).await;
    until_recorded(&recorder, "raw [0, 255, 97]").await;
    testkit.stop().await;
}
