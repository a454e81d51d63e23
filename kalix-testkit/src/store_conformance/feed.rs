//! The change feed, consumer progress and topic messages.

use bytes::Bytes;
use kalix_core::store::{
    ConsumerProgress, FeedEntry, FeedKind, FeedOffset, Store, StoredMessage, TopicAppend,
    TopicMessage,
};

use super::{append, write};

/// What a test compares of an entry: entity, sequence number, type name and payload.
fn seen(entries: &[FeedEntry]) -> Vec<(String, u64, Option<String>, Option<String>)> {
    entries
        .iter()
        .map(|entry| {
            (
                entry.entity_id.clone(),
                entry.seq,
                entry.type_name.clone(),
                entry
                    .payload
                    .as_ref()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            )
        })
        .collect()
}

fn change(
    entity: &str,
    version: u64,
    payload: Option<&str>,
) -> (String, u64, Option<String>, Option<String>) {
    (entity.to_owned(), version, None, payload.map(str::to_owned))
}

fn event(entity: &str, seq: u64, name: &str) -> (String, u64, Option<String>, Option<String>) {
    (
        entity.to_owned(),
        seq,
        Some(name.to_owned()),
        Some(format!("{{\"{name}\":{{}}}}")),
    )
}

/// Reads the feed after `after`, `page` entries at a time, until it holds `expected` entries.
/// A shared store hands out an entry only once every transaction that began before its own has
/// ended, so what a test just committed may show up a moment later when other sessions are busy.
async fn read_all(
    store: &impl Store,
    kind: FeedKind,
    type_id: &str,
    after: FeedOffset,
    page: usize,
    expected: usize,
) -> Vec<FeedEntry> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut entries: Vec<FeedEntry> = Vec::new();
    let mut offset = after;
    loop {
        let next = store.read_feed(kind, type_id, offset, page).await.unwrap();
        assert!(next.len() <= page, "a read returns at most the limit");
        match next.last() {
            Some(last) => offset = last.offset,
            None if entries.len() >= expected || std::time::Instant::now() > deadline => {
                return entries;
            }
            None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
        entries.extend(next);
    }
}

pub(super) async fn state_changes_enter_the_feed_in_commit_order_each_at_its_latest(
    store: impl Store,
) {
    assert!(
        read_all(
            &store,
            FeedKind::StateChanges,
            "conformance",
            FeedOffset::default(),
            10,
            0
        )
        .await
        .is_empty(),
        "a new store's feed is empty"
    );
    for batch in [
        vec![write("a", 0, Some("1"))],
        vec![write("b", 0, Some("10"))],
        vec![write("a", 1, Some("2")), write("c", 0, Some("100"))],
        vec![write("b", 1, None)],
    ] {
        store.commit(batch).await.unwrap();
    }
    let entries = read_all(
        &store,
        FeedKind::StateChanges,
        "conformance",
        FeedOffset::default(),
        2,
        3,
    )
    .await;
    let mut order = seen(&entries);
    // One batch's writes to different entities may enter in either order.
    order[..2].sort();
    assert_eq!(
        order,
        vec![
            change("a", 2, Some("2")),
            change("c", 1, Some("100")),
            change("b", 2, None)
        ],
        "each entity once, at its latest change (a delete has no payload), in commit order"
    );
    let offsets: Vec<FeedOffset> = entries.iter().map(|e| e.offset).collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "offsets grow: {offsets:?}"
    );
    let after_first = read_all(
        &store,
        FeedKind::StateChanges,
        "conformance",
        entries[0].offset,
        10,
        2,
    )
    .await;
    assert_eq!(
        after_first,
        entries[1..],
        "a read after an offset starts past it"
    );
    store.commit(vec![write("a", 2, Some("3"))]).await.unwrap();
    let later = read_all(
        &store,
        FeedKind::StateChanges,
        "conformance",
        entries[2].offset,
        10,
        1,
    )
    .await;
    assert_eq!(
        seen(&later),
        vec![change("a", 3, Some("3"))],
        "a later change comes after the offset read last"
    );
    assert!(
        read_all(
            &store,
            FeedKind::StateChanges,
            "elsewhere",
            FeedOffset::default(),
            10,
            0
        )
        .await
        .is_empty(),
        "a type's feed holds only its own entities"
    );
    assert!(
        read_all(
            &store,
            FeedKind::Events,
            "conformance",
            FeedOffset::default(),
            10,
            0
        )
        .await
        .is_empty(),
        "state changes are not events"
    );
}

pub(super) async fn every_event_enters_the_feed_in_commit_order(store: impl Store) {
    store
        .commit(vec![append("x", 0, &["A", "B"]).into()])
        .await
        .unwrap();
    store
        .commit(vec![append("y", 0, &["C"]).into()])
        .await
        .unwrap();
    store
        .commit(vec![append("x", 2, &["D"]).into()])
        .await
        .unwrap();
    let mut deleted = append("y", 1, &["Gone"]);
    deleted.delete = true;
    store.commit(vec![deleted.into()]).await.unwrap();
    let entries = read_all(
        &store,
        FeedKind::Events,
        "journal",
        FeedOffset::default(),
        3,
        5,
    )
    .await;
    assert_eq!(
        seen(&entries),
        vec![
            event("x", 1, "A"),
            event("x", 2, "B"),
            event("y", 1, "C"),
            event("x", 3, "D"),
            event("y", 2, "Gone"),
        ],
        "every event, in commit order, read in pages"
    );
    // A refused append leaves nothing in the feed; the one after it is there.
    store
        .commit(vec![append("x", 1, &["Stale"]).into()])
        .await
        .unwrap();
    store
        .commit(vec![append("z", 0, &["E"]).into()])
        .await
        .unwrap();
    assert_eq!(
        seen(
            &read_all(
                &store,
                FeedKind::Events,
                "journal",
                entries[4].offset,
                10,
                1
            )
            .await
        ),
        vec![event("z", 1, "E")],
        "a refused append is not in the feed"
    );
}

pub(super) async fn consumer_progress_reads_back_as_saved(store: impl Store) {
    let fresh = store
        .consumer_progress("c", vec!["a".into()])
        .await
        .unwrap();
    assert_eq!(
        fresh,
        ConsumerProgress::default(),
        "a new consumer starts at the feed's start"
    );
    store.commit(vec![write("a", 0, Some("1"))]).await.unwrap();
    let entries = read_all(
        &store,
        FeedKind::StateChanges,
        "conformance",
        FeedOffset::default(),
        10,
        1,
    )
    .await;
    let saved = ConsumerProgress {
        offset: entries[0].offset,
        seqs: vec![("a".into(), 1), ("b".into(), 7)],
    };
    store
        .save_consumer_progress("c", saved.clone())
        .await
        .unwrap();
    let mut read = store
        .consumer_progress("c", vec!["a".into(), "b".into(), "z".into()])
        .await
        .unwrap();
    read.seqs.sort();
    assert_eq!(
        read, saved,
        "the offset and the asked entities' sequence numbers read back; unknown ones are left out"
    );
    store
        .save_consumer_progress(
            "c",
            ConsumerProgress {
                offset: entries[0].offset,
                seqs: vec![("a".into(), 2)],
            },
        )
        .await
        .unwrap();
    let mut read = store
        .consumer_progress("c", vec!["a".into(), "b".into()])
        .await
        .unwrap();
    read.seqs.sort();
    assert_eq!(
        read.seqs,
        vec![("a".into(), 2), ("b".into(), 7)],
        "a save updates the entities it names, others keep theirs"
    );
    assert_eq!(
        store
            .consumer_progress("other", vec!["a".into()])
            .await
            .unwrap(),
        ConsumerProgress::default(),
        "consumers are apart"
    );
    // A topic reader saves the identity of the stream it read (in the offset's transaction):
    // it must read back as saved, or a stream made again while the service was down would be
    // taken for the old one and its first messages skipped.
    let topic_reader = ConsumerProgress {
        offset: FeedOffset {
            transaction: 1_765_000_000_123,
            position: 4,
        },
        seqs: Vec::new(),
    };
    store
        .save_consumer_progress("topic-reader", topic_reader.clone())
        .await
        .unwrap();
    assert_eq!(
        store
            .consumer_progress("topic-reader", Vec::new())
            .await
            .unwrap(),
        topic_reader,
        "the offset's transaction reads back as saved"
    );
}

fn message(id: &str, body: &str) -> TopicMessage {
    TopicMessage {
        id: id.to_owned(),
        attributes: vec![("ce-type".to_owned(), "Note".to_owned())],
        payload: Bytes::from(body.to_owned()),
    }
}

/// Reads `topic` after `after` until it holds `expected` messages (see [`read_all`]).
async fn read_topic_all(
    store: &impl Store,
    topic: &str,
    after: FeedOffset,
    expected: usize,
) -> Vec<StoredMessage> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut messages: Vec<StoredMessage> = Vec::new();
    let mut offset = after;
    loop {
        let next = store.read_topic(topic, offset, 2).await.unwrap();
        assert!(next.len() <= 2, "a read returns at most the limit");
        match next.last() {
            Some(last) => offset = last.offset,
            None if messages.len() >= expected || std::time::Instant::now() > deadline => {
                return messages;
            }
            None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
        messages.extend(next);
    }
}

pub(super) async fn topic_messages_read_back_in_order_once_per_id(store: impl Store) {
    store
        .publish("notes", vec![message("1", "\"a\""), message("2", "\"b\"")])
        .await
        .unwrap();
    store
        .publish("other", vec![message("1", "\"elsewhere\"")])
        .await
        .unwrap();
    // A message published again (a retry after a failure) is dropped.
    store
        .publish(
            "notes",
            vec![message("2", "\"b again\""), message("3", "\"c\"")],
        )
        .await
        .unwrap();
    let read = read_topic_all(&store, "notes", FeedOffset::default(), 3).await;
    let bodies: Vec<(String, String)> = read
        .iter()
        .map(|m| {
            (
                m.message.id.clone(),
                String::from_utf8_lossy(&m.message.payload).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        [
            ("1".into(), "\"a\"".into()),
            ("2".into(), "\"b\"".into()),
            ("3".into(), "\"c\"".into())
        ],
        "messages in publish order, each id once, only the topic's own"
    );
    assert_eq!(
        read[0].message.attributes,
        [("ce-type".to_owned(), "Note".to_owned())],
        "attributes read back"
    );
    let after_first = read_topic_all(&store, "notes", read[0].offset, 2).await;
    assert_eq!(
        after_first,
        read[1..],
        "a read after an offset starts past it"
    );
}

/// A consumer's messages are appended in the write that saves its progress, in order, and one
/// a plain publish appended already is not appended again.
pub(super) async fn messages_published_with_progress_are_appended_with_it(store: impl Store) {
    // A retried delivery of the consumer published this one alone before it saved.
    store
        .publish("fanned", vec![message("e2", "\"retried\"")])
        .await
        .unwrap();
    let progress = ConsumerProgress {
        offset: FeedOffset {
            transaction: 0,
            position: 9,
        },
        seqs: Vec::new(),
    };
    let appends = vec![
        TopicAppend {
            topic: "fanned".into(),
            messages: vec![
                message("e1", "\"1\""),
                message("e2", "\"2\""),
                message("e3", "\"3\""),
            ],
        },
        TopicAppend {
            topic: "other".into(),
            messages: vec![message("e1", "\"elsewhere\"")],
        },
    ];
    store
        .publish_with_progress("publisher", progress.clone(), appends.into())
        .await
        .unwrap();
    assert_eq!(
        store
            .consumer_progress("publisher", Vec::new())
            .await
            .unwrap(),
        progress,
        "the progress is saved with the messages"
    );
    let ids = |read: Vec<StoredMessage>| -> Vec<(String, String)> {
        read.iter()
            .map(|m| {
                let body = String::from_utf8_lossy(&m.message.payload).into_owned();
                (m.message.id.clone(), body)
            })
            .collect()
    };
    assert_eq!(
        ids(read_topic_all(&store, "fanned", FeedOffset::default(), 3).await),
        [
            ("e2".into(), "\"retried\"".into()),
            ("e1".into(), "\"1\"".into()),
            ("e3".into(), "\"3\"".into())
        ],
        "appended in order after what was there, the id published already left out"
    );
    assert_eq!(
        ids(read_topic_all(&store, "other", FeedOffset::default(), 1).await),
        [("e1".into(), "\"elsewhere\"".into())],
        "each topic gets its own"
    );
}

/// A topic's retention removes old messages up to a consumer group's position, oldest first,
/// and never a newer message or one of another topic.
pub(super) async fn topic_retention_removes_old_messages_up_to_a_position(store: impl Store) {
    let messages = vec![
        message("1", "\"a\""),
        message("2", "\"b\""),
        message("3", "\"c\""),
    ];
    store.publish("kept", messages.clone()).await.unwrap();
    store.publish("other", messages).await.unwrap();
    let read = read_topic_all(&store, "kept", FeedOffset::default(), 3).await;
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 60_000;
    assert_eq!(
        store
            .prune_topic("kept", read[1].offset, 0, 10)
            .await
            .unwrap(),
        0,
        "nothing was published before the epoch"
    );
    assert_eq!(
        store
            .prune_topic("kept", read[1].offset, later, 1)
            .await
            .unwrap(),
        1,
        "at most the limit, oldest first"
    );
    assert_eq!(
        store
            .prune_topic("kept", read[1].offset, later, 10)
            .await
            .unwrap(),
        1,
        "up to the position, not past it"
    );
    let left = read_topic_all(&store, "kept", FeedOffset::default(), 1).await;
    let ids: Vec<&str> = left.iter().map(|m| m.message.id.as_str()).collect();
    assert_eq!(ids, ["3"]);
    assert_eq!(left[0].offset, read[2].offset, "the rest keeps its offsets");
    let other = read_topic_all(&store, "other", FeedOffset::default(), 3).await;
    assert_eq!(other.len(), 3, "another topic keeps its messages");
}
