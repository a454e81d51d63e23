//! The eventing contract of the counter sample, on the embedded broker: commands from
//! `counter-commands` come out of `counter-events` as events, in order, with CloudEvents
//! attributes; unknown types are skipped, unreadable bodies dead-lettered.

use eventsourced_counter::CounterEvent;
use eventsourced_counter::eventing::{IncreaseCounter, MultiplyCounter};
use kalix_core::store::TopicMessage;
use kalix_testkit::TestKit;
use serde_json::Value;

fn increase(counter: &str, value: i64) -> IncreaseCounter {
    IncreaseCounter {
        counter_id: counter.to_owned(),
        value,
    }
}

async fn counter(testkit: &TestKit, id: &str) -> Value {
    testkit
        .get(&format!("/counter/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn commands_from_a_topic_come_out_of_the_events_topic_in_order() {
    let testkit = TestKit::start().await;
    let mut events = testkit.outgoing("counter-events");
    let mut with_meta = testkit.outgoing("counter-events-with-meta");
    let commands = testkit.incoming("counter-commands");
    commands.publish(&increase("c1", 3), "c1").await;
    let multiply = MultiplyCounter {
        counter_id: "c1".into(),
        value: 4,
    };
    commands.publish(&multiply, "c1").await;

    let increased = events.expect_one::<CounterEvent>().await;
    assert_eq!(increased.payload, CounterEvent::ValueIncreased { value: 3 });
    assert_eq!(increased.ce_type(), Some("ValueIncreased"));
    assert_eq!(increased.subject(), Some("c1"));
    assert_eq!(increased.attribute("ce-specversion"), Some("1.0"));
    let multiplied = events.expect_one::<CounterEvent>().await;
    assert_eq!(
        multiplied.payload,
        CounterEvent::ValueMultiplied { value: 4 }
    );
    assert_eq!(multiplied.ce_type(), Some("ValueMultiplied"));
    // The body is the event's content, as Kalix publishes it.
    let mut raw = testkit.outgoing("counter-events");
    let first = raw.expect_one::<Value>().await;
    assert_eq!(first.payload, serde_json::json!({"value": 3}));
    assert_eq!(counter(&testkit, "c1").await, Value::String("12".into()));

    for expected in [
        CounterEvent::ValueIncreased { value: 3 },
        CounterEvent::ValueMultiplied { value: 4 },
    ] {
        let message = with_meta.expect_one::<CounterEvent>().await;
        assert_eq!(message.payload, expected);
        assert_eq!(message.subject(), Some("c1"));
        assert_eq!(message.attribute("Content-Type"), Some("application/json"));
    }
    events.expect_none().await;
    testkit.stop().await;
}

#[tokio::test]
async fn an_unknown_type_is_skipped_and_an_unreadable_body_is_dead_lettered() {
    let testkit = TestKit::start().await;
    let commands = testkit.incoming("counter-commands");
    let mut dead_letters = testkit.outgoing("counter-commands.dead-letter");
    let raw = |ce_type: &str, body: &str| TopicMessage {
        id: format!("{ce_type}-{body}"),
        attributes: vec![
            ("ce-specversion".into(), "1.0".into()),
            ("ce-type".into(), ce_type.into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        payload: bytes::Bytes::from(body.to_owned()),
    };
    commands
        .publish_message(raw("ResetCounter", r#"{"counterId":"c2"}"#))
        .await;
    commands
        .publish_message(raw(
            "IncreaseCounter",
            r#"{"counterId":"c2","value":"lots"}"#,
        ))
        .await;
    commands
        .publish_message(raw("IncreaseCounter", "not json"))
        .await;
    commands.publish(&increase("c2", 5), "c2").await;

    for body in [&br#"{"counterId":"c2","value":"lots"}"#[..], b"not json"] {
        let dead = dead_letters.expect_raw().await;
        assert_eq!(
            &dead.payload[..],
            body,
            "dead letters in order, as published"
        );
        assert_eq!(dead.ce_type(), Some("IncreaseCounter"));
        assert!(dead.attribute("kalix-dead-letter-reason").is_some());
    }
    dead_letters.expect_none().await;
    let mut events = testkit.outgoing("counter-events");
    let event = events.expect_one::<CounterEvent>().await;
    assert_eq!(event.payload, CounterEvent::ValueIncreased { value: 5 });
    assert_eq!(counter(&testkit, "c2").await, Value::String("5".into()));
    testkit.stop().await;
}
