//! The eventing contract of the counter sample, on the embedded broker and on NATS JetStream
//! (when `KALIX_TEST_NATS_URL` is set; `.ci/run` sets it and checks the marker): commands from
//! `counter-commands` come out of `counter-events` as events, in order, with CloudEvents
//! attributes; unknown types are skipped, unreadable bodies dead-lettered; on NATS, an outside
//! client's messages reach the service and it sees what the service publishes.

use eventsourced_counter::CounterEvent;
use eventsourced_counter::eventing::{IncreaseCounter, MultiplyCounter};
use kalix_core::BrokerLocation;
use kalix_core::store::TopicMessage;
use kalix_testkit::TestKit;
use serde_json::{Value, json};

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

/// The NATS server to test against, if any, and a subject prefix of this test's own (the
/// server's streams outlive the test).
fn nats() -> Option<(String, String)> {
    let Ok(url) = std::env::var("KALIX_TEST_NATS_URL") else {
        eprintln!("KALIX_TEST_NATS_URL is not set: the NATS eventing tests did not run");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Some((url, format!("test{}x{nanos}.", std::process::id())))
}

async fn on_nats(url: &str, prefix: &str) -> TestKit {
    let broker = BrokerLocation::Nats {
        url: url.to_owned(),
        subject_prefix: prefix.to_owned(),
    };
    TestKit::builder()
        .config(|config| config.with_broker(broker))
        .start()
        .await
}

/// Deletes the streams this test's prefix made: the server keeps them otherwise.
async fn delete_streams(url: &str, prefix: &str) {
    use futures_util::StreamExt;
    let jetstream = async_nats::jetstream::new(async_nats::connect(url).await.unwrap());
    let ours = format!("KALIX_{}", prefix.replace('.', "_"));
    let names: Vec<String> = jetstream
        .stream_names()
        .filter_map(|name| async move { name.ok() })
        .collect()
        .await;
    for name in names.into_iter().filter(|name| name.starts_with(&ours)) {
        let _ = jetstream.delete_stream(&name).await;
    }
}

pub(crate) fn mark_ran(name: &str) {
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(std::path::Path::new(&directory).join(name), "ran").unwrap();
    }
}

#[tokio::test]
async fn commands_from_a_topic_come_out_of_the_events_topic_in_order() {
    commands_come_out_as_events(TestKit::start().await).await;
}

#[tokio::test]
async fn on_nats_commands_from_a_topic_come_out_of_the_events_topic_in_order() {
    let Some((url, prefix)) = nats() else { return };
    commands_come_out_as_events(on_nats(&url, &prefix).await).await;
    delete_streams(&url, &prefix).await;
    mark_ran("nats-eventing");
}

#[tokio::test]
async fn an_unknown_type_is_skipped_and_an_unreadable_body_is_dead_lettered() {
    unknown_and_unreadable(TestKit::start().await).await;
}

#[tokio::test]
async fn on_nats_an_unknown_type_is_skipped_and_an_unreadable_body_is_dead_lettered() {
    let Some((url, prefix)) = nats() else { return };
    unknown_and_unreadable(on_nats(&url, &prefix).await).await;
    delete_streams(&url, &prefix).await;
    mark_ran("nats-dead-letters");
}

async fn commands_come_out_as_events(testkit: TestKit) {
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

async fn unknown_and_unreadable(testkit: TestKit) {
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
    // A command the counter refuses (its id is too long for an entity id) would be refused
    // every time: it goes to the dead letters too, and the commands behind it are applied.
    let poison = "p".repeat(2_000);
    commands.publish(&increase(&poison, 1), &poison).await;
    commands.publish(&increase("c2", 5), "c2").await;

    let poison_body = serde_json::to_vec(&increase(&poison, 1)).unwrap();
    let expected: [(&[u8], &str); 3] = [
        (
            &br#"{"counterId":"c2","value":"lots"}"#[..],
            "its body is not what",
        ),
        (b"not json", "its body is not what"),
        (&poison_body, "refused it: 400 "),
    ];
    for (body, reason) in expected {
        let dead = dead_letters.expect_raw().await;
        assert_eq!(
            &dead.payload[..],
            body,
            "dead letters in order, as published"
        );
        assert_eq!(dead.ce_type(), Some("IncreaseCounter"));
        let said = dead.attribute("kalix-dead-letter-reason").unwrap();
        assert!(said.contains(reason), "{said}");
    }
    dead_letters.expect_none().await;
    let mut events = testkit.outgoing("counter-events");
    let event = events.expect_one::<CounterEvent>().await;
    assert_eq!(event.payload, CounterEvent::ValueIncreased { value: 5 });
    assert_eq!(counter(&testkit, "c2").await, Value::String("5".into()));
    testkit.stop().await;
}

/// An outside NATS client publishes a command with CloudEvents headers; another, subscribed to
/// the events subject, sees the service's event with its attributes as headers.
#[tokio::test]
async fn on_nats_outside_clients_publish_commands_and_read_events() {
    use futures_util::StreamExt;
    let Some((url, prefix)) = nats() else { return };
    let testkit = on_nats(&url, &prefix).await;
    let client = async_nats::connect(&url).await.unwrap();
    let mut events = client
        .subscribe(format!("{prefix}counter-events"))
        .await
        .unwrap();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-type", "IncreaseCounter");
    headers.insert("ce-id", "outside-1");
    headers.insert("Content-Type", "application/json");
    let jetstream = async_nats::jetstream::new(client.clone());
    // The service made the stream at its first read of the topic; wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let published = jetstream
            .publish_with_headers(
                format!("{prefix}counter-commands"),
                headers.clone(),
                r#"{"counterId":"n1","value":7}"#.into(),
            )
            .await;
        let acknowledged = match published {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        };
        match acknowledged {
            true => break,
            false if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            false => panic!("no stream took the outside command"),
        }
    }
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .unwrap();
    let header = |name: &str| {
        event
            .headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_owned())
    };
    assert_eq!(header("ce-type").as_deref(), Some("ValueIncreased"));
    assert_eq!(header("ce-subject").as_deref(), Some("n1"));
    assert_eq!(header("Content-Type").as_deref(), Some("application/json"));
    assert_eq!(&event.payload[..], br#"{"value":7}"#);
    assert_eq!(counter(&testkit, "n1").await, Value::String("7".into()));
    testkit.stop().await;
    delete_streams(&url, &prefix).await;
    mark_ran("nats-outside-clients");
}

/// Counter `id` once it reads `value` (panics after 10 s with what it read).
async fn counter_becomes(testkit: &TestKit, id: &str, value: &str) -> Value {
    kalix_testkit::eventually(|| async {
        let now = counter(testkit, id).await;
        if now == Value::String(value.to_owned()) {
            Ok(now)
        } else {
            Err(now)
        }
    })
    .await
}

/// NATS loses its streams under a running service (a server restarted without its data): the
/// service makes them again, outside publishers can publish again, and the consumer group reads
/// the new stream from its start, while running and after a restart, rather than skipping the
/// new stream's first messages because its saved sequence is past them.
#[tokio::test]
async fn on_nats_streams_made_again_are_noticed_and_read_from_their_start() {
    let Some((url, prefix)) = nats() else { return };
    let directory = tempfile::tempdir().unwrap();
    let store = kalix_core::StoreLocation::Sqlite(directory.path().join("counter.db"));
    let start = || {
        let (broker, store) = (
            BrokerLocation::Nats {
                url: url.clone(),
                subject_prefix: prefix.clone(),
            },
            store.clone(),
        );
        TestKit::builder()
            .config(|config| config.with_broker(broker).with_store(store))
            .start()
    };
    let testkit = start().await;
    let commands = testkit.incoming("counter-commands");
    for _ in 0..3 {
        commands.publish(&increase("r1", 1), "r1").await;
    }
    assert_eq!(counter_becomes(&testkit, "r1", "3").await, json!("3"));

    delete_streams(&url, &prefix).await;
    // An outside publisher gets through again once the service made the stream anew.
    let jetstream = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-type", "IncreaseCounter");
    headers.insert("ce-id", "after-reset-1");
    headers.insert("Content-Type", "application/json");
    // The service's reader finds the stream gone within a second (an idle reader checks that its
    // consumer still exists); reads that fail meanwhile back off 1 s, 2 s, 4 s, .. up to 30 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    loop {
        let published = jetstream
            .publish_with_headers(
                format!("{prefix}counter-commands"),
                headers.clone(),
                r#"{"counterId":"r1","value":10}"#.into(),
            )
            .await;
        if let Ok(ack) = published
            && ack.await.is_ok()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the service did not make the stream again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The new stream's first message is applied, though the group had read up to 3.
    assert_eq!(counter_becomes(&testkit, "r1", "13").await, json!("13"));
    testkit.stop().await;

    // Reset again while the service is down: after its restart it reads the new stream too.
    delete_streams(&url, &prefix).await;
    let testkit = start().await;
    let commands = testkit.incoming("counter-commands");
    commands.publish(&increase("r1", 100), "r1").await;
    // A stop slow enough to cut its consumers short leaves their leases to run out (6 s) before
    // the restarted service takes them: wait past that, not the usual 10 s.
    let applied = kalix_testkit::eventually_within(std::time::Duration::from_secs(30), || async {
        let now = counter(&testkit, "r1").await;
        if now == json!("113") {
            Ok(now)
        } else {
            Err(now)
        }
    })
    .await;
    assert_eq!(applied, json!("113"));
    testkit.stop().await;
    delete_streams(&url, &prefix).await;
    mark_ran("nats-streams-made-again");
}

/// A command delivered twice (a redelivery after a crash carries the same `ce-id`) is applied
/// once: the subscriber sends it with the `ce-id` as its idempotency key.
#[tokio::test]
async fn a_command_redelivered_with_its_ce_id_is_applied_once() {
    let testkit = TestKit::start().await;
    let commands = testkit.incoming("counter-commands");
    let delivery = |message_id: &str| TopicMessage {
        id: message_id.to_owned(),
        attributes: vec![
            ("ce-specversion".into(), "1.0".into()),
            ("ce-type".into(), "IncreaseCounter".into()),
            ("ce-id".into(), "command-1".into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        payload: bytes::Bytes::from_static(br#"{"counterId":"d1","value":4}"#),
    };
    commands.publish_message(delivery("first-delivery")).await;
    commands.publish_message(delivery("redelivery")).await;
    commands.publish(&increase("d1", 1), "d1").await;
    assert_eq!(counter_becomes(&testkit, "d1", "5").await, json!("5"));
    testkit.stop().await;
}
