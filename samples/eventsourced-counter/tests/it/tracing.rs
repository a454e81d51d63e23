//! One trace from a caller's `traceparent` through the command, the event it emits, the
//! subscriber that publishes the event to a topic, and that topic's reader: exported by the
//! binary over OTLP to a stand-in collector, on the embedded broker and on NATS.

use kalix_testkit::{OtlpCollector, RecordedSpan, ServiceProcess};

async fn one_trace_through_an_event_and_a_topic(extra_env: &[(&str, &str)]) {
    let collector = OtlpCollector::start().await;
    let mut env = vec![
        ("KALIX_STORE", "sqlite::memory:"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    env.extend_from_slice(extra_env);
    let service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_eventsourced-counter"), &env);
    let trace = uuid_like();
    let caller = &trace[..16];
    let response = reqwest::Client::new()
        .post(format!("{}/counter/traced/increase/3", service.base_url()))
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // The request, the command, the subscriber's delivery and run, the topic reader's delivery
    // and run, at least.
    let spans = collector.wait_for_trace(&trace, 6).await;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let find = |what: &str, test: &dyn Fn(&RecordedSpan) -> bool| -> RecordedSpan {
        spans
            .iter()
            .find(|s| test(s))
            .cloned()
            .unwrap_or_else(|| panic!("no {what} span in {names:?}"))
    };
    let http = find("request", &|s| {
        s.name == "POST /counter/<counter_id>/increase/<value>"
    });
    assert_eq!(http.parent_span_id.as_deref(), Some(caller));
    let command = find("command", &|s| s.name.ends_with("CounterEntity::increase"));
    assert_eq!(command.parent_span_id, Some(http.span_id.clone()));
    let journal_delivery = find("event delivery", &|s| {
        s.name.starts_with("deliver to ") && s.name.ends_with("CounterJournalToTopic::on_event")
    });
    assert_eq!(
        journal_delivery.parent_span_id,
        Some(command.span_id.clone()),
        "the event keeps the trace of the command that emitted it"
    );
    let subscriber = find("subscriber run", &|s| {
        !s.name.starts_with("deliver") && s.name.ends_with("CounterJournalToTopic::on_event")
    });
    assert_eq!(
        subscriber.parent_span_id,
        Some(journal_delivery.span_id.clone())
    );
    let topic_delivery = find("topic delivery", &|s| {
        s.name.starts_with("deliver to ") && s.name.ends_with("CounterTopicSubscription::on_event")
    });
    assert_eq!(
        topic_delivery.parent_span_id,
        Some(journal_delivery.span_id.clone()),
        "the topic message carries the trace of the delivery that published it"
    );
    assert!(spans.iter().all(|s| s.service == "eventsourced-counter"));
}

/// 32 hex digits, new each time.
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:032x}", nanos ^ (u128::from(std::process::id()) << 96))
}

#[tokio::test]
async fn a_traced_command_its_event_and_the_topic_it_reaches_are_one_trace() {
    one_trace_through_an_event_and_a_topic(&[]).await;
}

#[tokio::test]
async fn on_nats_the_topic_message_carries_the_trace_as_a_header() {
    let Ok(url) = std::env::var("KALIX_TEST_NATS_URL") else {
        eprintln!("KALIX_TEST_NATS_URL is not set: the NATS tracing test did not run");
        return;
    };
    let prefix = format!("trace{}x{}.", std::process::id(), &uuid_like()[..12]);
    one_trace_through_an_event_and_a_topic(&[
        ("KALIX_BROKER", url.as_str()),
        ("KALIX_NATS_SUBJECT_PREFIX", prefix.as_str()),
    ])
    .await;
    crate::eventing::mark_ran("nats-tracing");
}
