//! The admin API's reads (`InspectStore`): recently changed entities, pages of a journal,
//! timers by name, due time and failures.

use bytes::Bytes;
use kalix_core::store::{
    ConsumerProgress, EntityRows, FeedOffset, ReplicaWrite, Store, TimerFilter, TimerOutcome,
    TimerRecord, Write,
};

use super::{append, names, write};

/// State rows come newest first by their latest change; journals by their latest append.
pub(super) async fn recently_changed_entities_come_newest_first(store: impl Store) {
    for (entity, expected) in [("a", 0), ("b", 0), ("c", 0), ("a", 1)] {
        let applied = store
            .commit(vec![write(entity, expected, Some("{}"))])
            .await
            .unwrap();
        assert!(applied[0].is_ok(), "{applied:?}");
    }
    let recent = store
        .recent_entities("conformance", EntityRows::State, 10)
        .await
        .unwrap();
    assert_eq!(recent, ["a", "c", "b"], "each once, by its latest change");
    let two = store
        .recent_entities("conformance", EntityRows::State, 2)
        .await
        .unwrap();
    assert_eq!(two, ["a", "c"], "at most the limit");

    for (entity, expected) in [("x", 0), ("y", 0), ("x", 1)] {
        store
            .commit(vec![append(entity, expected, &["E"]).into()])
            .await
            .unwrap();
    }
    let recent = store
        .recent_entities("journal", EntityRows::Journal, 10)
        .await
        .unwrap();
    assert_eq!(recent, ["x", "y"]);
    assert!(
        store
            .recent_entities("other", EntityRows::State, 10)
            .await
            .unwrap()
            .is_empty(),
        "type ids are separate"
    );

    // Replicas keep no order of change: their ids come in order, each once.
    let replica = |entity: &str, replica: u64| {
        Write::Replica(ReplicaWrite {
            type_id: "replicated".to_owned(),
            entity_id: entity.to_owned(),
            replica,
            payload: Bytes::from_static(b"{}"),
            token: None,
            kept_reply: None,
        })
    };
    let written = store
        .commit(vec![replica("r2", 1), replica("r1", 1), replica("r2", 2)])
        .await
        .unwrap();
    assert!(written.iter().all(Result::is_ok), "{written:?}");
    let ids = |limit| store.recent_entities("replicated", EntityRows::Replicas, limit);
    assert_eq!(
        ids(10).await.unwrap(),
        ["r1", "r2"],
        "each id once, in order"
    );
    assert_eq!(ids(1).await.unwrap(), ["r1"], "at most the limit");
}

/// A journal reads back a page at a time from any sequence number.
pub(super) async fn journals_read_back_in_pages(store: impl Store) {
    store
        .commit(vec![append("p", 0, &["A", "B", "C", "D", "E"]).into()])
        .await
        .unwrap();
    let page = store.events_page("journal", "p", 2, 2).await.unwrap();
    assert_eq!(names(&page), [(2, "B"), (3, "C")]);
    let last = store.events_page("journal", "p", 5, 2).await.unwrap();
    assert_eq!(names(&last), [(5, "E")]);
    assert!(
        store
            .events_page("journal", "p", 6, 2)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .events_page("journal", "none", 1, 2)
            .await
            .unwrap()
            .is_empty()
    );
}

fn timer(name: &str, due_ms: u64) -> TimerRecord {
    TimerRecord {
        name: name.to_owned(),
        generation: "1".to_owned(),
        due_ms,
        call: Bytes::from_static(b"{}"),
        attempts: 0,
        max_retries: None,
    }
}

/// Timers are found by a name prefix, a due time and whether they failed, earliest first.
pub(super) async fn timers_are_found_by_name_due_time_and_failures(store: impl Store) {
    for (name, due) in [("orders/1", 3_000), ("orders/2", 1_000), ("mail/1", 2_000)] {
        store.start_timer(timer(name, due), 100).await.unwrap();
    }
    let names = |timers: Vec<TimerRecord>| -> Vec<String> {
        timers.into_iter().map(|timer| timer.name).collect()
    };
    let all = store.find_timers(TimerFilter::default(), 10).await.unwrap();
    assert_eq!(
        names(all),
        ["orders/2", "mail/1", "orders/1"],
        "earliest due first"
    );
    let orders = TimerFilter {
        name_prefix: Some("orders/".to_owned()),
        ..TimerFilter::default()
    };
    let found = store.find_timers(orders, 10).await.unwrap();
    assert_eq!(names(found), ["orders/2", "orders/1"]);
    let due = TimerFilter {
        due_before_ms: Some(3_000),
        ..TimerFilter::default()
    };
    assert_eq!(
        names(store.find_timers(due, 10).await.unwrap()),
        ["orders/2", "mail/1"]
    );
    assert_eq!(
        names(store.find_timers(TimerFilter::default(), 1).await.unwrap()),
        ["orders/2"],
        "at most the limit"
    );

    // "mail/1" fails once and is due again later.
    let claimed = store.claim_due_timers(2_000, 1_000, 1, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    store
        .settle_timers(vec![TimerOutcome {
            name: "mail/1".to_owned(),
            generation: "1".to_owned(),
            owner: 1,
            retry: Some((5_000, 1)),
        }])
        .await
        .unwrap();
    let failing = TimerFilter {
        failing: true,
        ..TimerFilter::default()
    };
    let found = store.find_timers(failing, 10).await.unwrap();
    assert_eq!(names(found.clone()), ["mail/1"]);
    assert_eq!(found[0].attempts, 1);
}

/// Consumers are listed by name with the position they saved and, on a store that keeps
/// leases, who holds theirs.
pub(super) async fn consumers_are_listed_with_their_position_and_lease(store: impl Store) {
    let offset = FeedOffset {
        transaction: 0,
        position: 7,
    };
    store
        .save_consumer_progress(
            "b-consumer",
            ConsumerProgress {
                offset,
                seqs: Vec::new(),
            },
        )
        .await
        .unwrap();
    let held = store
        .lease("b-consumer", 42, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert!(held);
    store
        .lease("a-lease-only", 43, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let consumers = store.consumers(10).await.unwrap();
    let saved = consumers
        .iter()
        .find(|c| c.name == "b-consumer")
        .unwrap_or_else(|| panic!("listed: {consumers:?}"));
    assert_eq!(saved.offset.map(|o| o.position), Some(7));
    if store.is_shared() {
        let lease = saved.lease.expect("a shared store keeps leases");
        assert_eq!(lease.owner, 42);
        assert!(lease.expires_in_ms > 50_000, "{lease:?}");
        let names: Vec<&str> = consumers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a-lease-only", "b-consumer"], "by name");
    }
}
