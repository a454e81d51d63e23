//! SIGKILL while commands flow through topic -> entity -> topic, on NATS JetStream (when
//! `KALIX_TEST_NATS_URL` is set): after a restart every command is applied at least once and every
//! event is published at least once, in order per counter.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kalix_testkit::ServiceProcess;
use serde_json::Value;

const COUNTERS: usize = 5;
const PER_COUNTER: usize = 100;

/// The journal sequence number of each published event, per counter, in the order the events
/// topic holds them (a published event's id ends in its source event's sequence number).
async fn published_events(
    jetstream: &async_nats::jetstream::Context,
    subject: &str,
) -> HashMap<String, Vec<u64>> {
    use async_nats::jetstream::consumer;
    let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
    let Ok(name) = jetstream.stream_by_subject(subject).await else {
        return seen;
    };
    let stream = jetstream.get_stream(&name).await.unwrap();
    let reader = stream
        .create_consumer(consumer::pull::Config {
            filter_subject: subject.to_owned(),
            ack_policy: consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    loop {
        let mut batch = reader
            .fetch()
            .max_messages(500)
            .expires(Duration::from_millis(200))
            .messages()
            .await
            .unwrap();
        let mut any = false;
        while let Some(message) = batch.next().await {
            let message = message.unwrap();
            any = true;
            let header = |name: &str| {
                message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            };
            let seq = header("ce-id").rsplit(':').next().unwrap().parse().unwrap();
            seen.entry(header("ce-subject")).or_default().push(seq);
        }
        if !any {
            return seen;
        }
    }
}

async fn value(base: &str, id: &str) -> u64 {
    let body: Value = kalix_testkit::reqwest::get(format!("{base}/counter/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn on_nats_sigkill_mid_chain_loses_no_command_and_no_event() {
    let Ok(url) = std::env::var("KALIX_TEST_NATS_URL") else {
        eprintln!("KALIX_TEST_NATS_URL is not set: the NATS SIGKILL test did not run");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("kill{}x{nanos}.", std::process::id());
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("counter.db").display());
    let env = [
        ("KALIX_STORE", store.as_str()),
        ("KALIX_BROKER", url.as_str()),
        ("KALIX_NATS_SUBJECT_PREFIX", prefix.as_str()),
    ];
    let service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_eventsourced-counter"), &env);
    let client = async_nats::connect(&url).await.unwrap();
    let jetstream = async_nats::jetstream::new(client.clone());
    let mut events = client
        .subscribe(format!("{prefix}counter-events"))
        .await
        .unwrap();

    // The commands, interleaved across counters, each with its own id.
    let commands = format!("{prefix}counter-commands");
    for n in 0..COUNTERS * PER_COUNTER {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("ce-specversion", "1.0");
        headers.insert("ce-type", "IncreaseCounter");
        headers.insert("ce-id", format!("command-{n}").as_str());
        headers.insert("Nats-Msg-Id", format!("command-{n}").as_str());
        headers.insert("Content-Type", "application/json");
        let body = format!(r#"{{"counterId":"k{}","value":1}}"#, n % COUNTERS);
        // The service makes the stream when it first reads the topic.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let published = jetstream
                .publish_with_headers(commands.clone(), headers.clone(), body.clone().into())
                .await;
            let acknowledged = match published {
                Ok(ack) => ack.await.is_ok(),
                Err(_) => false,
            };
            if acknowledged {
                break;
            }
            assert!(Instant::now() < deadline, "no stream took the commands");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Kill it mid-way through the chain.
    let mut delivered = 0;
    while delivered < 150 {
        tokio::time::timeout(Duration::from_secs(20), events.next())
            .await
            .expect("events flow")
            .unwrap();
        delivered += 1;
    }
    service.signal("KILL");
    drop(service);

    let restarted = ServiceProcess::spawn(env!("CARGO_BIN_EXE_eventsourced-counter"), &env);
    let deadline = Instant::now() + Duration::from_secs(60);
    let ids: Vec<String> = (0..COUNTERS).map(|i| format!("k{i}")).collect();
    loop {
        let mut values = HashMap::new();
        for id in &ids {
            values.insert(id.clone(), value(restarted.base_url(), id).await);
        }
        let published = published_events(&jetstream, &format!("{prefix}counter-events")).await;
        let complete = ids.iter().all(|id| {
            let seqs = published.get(id).cloned().unwrap_or_default();
            values[id] >= PER_COUNTER as u64 && seqs.iter().max() == Some(&values[id])
        });
        if complete || Instant::now() > deadline {
            for id in &ids {
                let value = values[id];
                assert!(
                    value >= PER_COUNTER as u64,
                    "counter {id}: {value}, but {PER_COUNTER} commands were published"
                );
                let seqs = published.get(id).cloned().unwrap_or_default();
                let mut first_seen: Vec<u64> = Vec::new();
                for seq in seqs {
                    if !first_seen.contains(&seq) {
                        first_seen.push(seq);
                    }
                }
                assert_eq!(
                    first_seen,
                    (1..=value).collect::<Vec<u64>>(),
                    "counter {id}: every event published, first in order"
                );
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(restarted);
    // The server keeps streams: drop this test's.
    let ours = format!("KALIX_{}", prefix.replace('.', "_"));
    let names: Vec<String> = jetstream
        .stream_names()
        .filter_map(|name| async move { name.ok() })
        .collect()
        .await;
    for name in names.into_iter().filter(|name| name.starts_with(&ours)) {
        let _ = jetstream.delete_stream(&name).await;
    }
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(
            std::path::Path::new(&directory).join("nats-sigkill-chain"),
            "ran",
        )
        .unwrap();
    }
}
