//! The conformance suite every [`Store`] backend must pass.
//!
//! A backend's tests call [`run`] with a factory of fresh, empty stores (a new schema, database or
//! file each time). Each check names what it verifies; the first failure panics with that name.
//!
//! ```no_run
//! # async fn example() {
//! use kalix_core::store::SqliteStore;
//! kalix_testkit::store_conformance::run(|| async { SqliteStore::memory().unwrap() }).await;
//! # }
//! ```

mod feed;
mod inspect;
mod replica;
mod timer;
mod view;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use kalix_core::store::{
    EventAppend, GroupCommitter, NewEvent, Snapshot, StateWrite, Store, StoredEvent, StoredState,
    Write, WriteError,
};

fn state_write(entity: &str, expected: u64, payload: Option<&str>) -> StateWrite {
    StateWrite {
        type_id: "conformance".to_owned(),
        entity_id: entity.to_owned(),
        expected_version: expected,
        follows_own_write: false,
        payload: payload.map(|p| Bytes::from(p.to_owned())),
        timers: Vec::new(),
        kept_reply: None,
        trace_parent: None,
    }
}

fn write(entity: &str, expected: u64, payload: Option<&str>) -> Write {
    Write::State(state_write(entity, expected, payload))
}

fn append(entity: &str, expected: u64, events: &[&str]) -> EventAppend {
    EventAppend {
        type_id: "journal".to_owned(),
        entity_id: entity.to_owned(),
        expected_seq: expected,
        follows_own_write: false,
        events: events
            .iter()
            .map(|name| NewEvent {
                type_name: (*name).to_owned(),
                payload: Bytes::from(format!("{{\"{name}\":{{}}}}")),
            })
            .collect(),
        snapshot: None,
        delete: false,
        kept_reply: None,
        trace_parent: None,
    }
}

fn names(events: &[StoredEvent]) -> Vec<(u64, &str)> {
    events
        .iter()
        .map(|e| (e.seq, e.type_name.as_str()))
        .collect()
}

fn stored(version: u64, payload: Option<&str>) -> Option<StoredState> {
    Some(StoredState {
        version,
        payload: payload.map(|p| Bytes::from(p.to_owned())),
    })
}

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run<S, F, Fut>(fresh: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    an_unknown_entity_has_no_state(fresh().await).await;
    a_first_write_creates_version_1_and_reads_back(fresh().await).await;
    a_write_expecting_the_current_version_applies(fresh().await).await;
    a_stale_write_is_refused_and_changes_nothing(fresh().await).await;
    a_second_creation_is_refused(fresh().await).await;
    a_delete_keeps_a_tombstone_with_the_next_version(fresh().await).await;
    writes_of_one_batch_apply_in_order_and_a_conflict_spares_the_others(fresh().await).await;
    type_ids_are_separate_namespaces(fresh().await).await;
    concurrent_group_commits_lose_nothing(fresh().await).await;
    an_unknown_journal_is_empty(fresh().await).await;
    events_append_in_sequence_and_read_back_from_any_point(fresh().await).await;
    an_append_expecting_an_old_sequence_is_refused(fresh().await).await;
    loading_starts_from_the_latest_snapshot(fresh().await).await;
    a_delete_is_remembered_with_the_journal(fresh().await).await;
    state_writes_and_appends_share_a_transaction_in_order(fresh().await).await;
    versions_and_last_sequence_numbers_read_back(fresh().await).await;
    a_write_following_its_own_write_applies_on_top_of_it(fresh().await).await;
    a_reply_is_kept_with_its_write_and_a_used_key_refuses_the_next(fresh().await).await;
    a_reply_is_kept_alone_and_replaces_a_claim_and_a_stale_claim_is_taken_over(fresh().await).await;
    a_store_keeps_one_identity(fresh().await).await;
    replica::each_replica_keeps_its_own_row_and_they_load_together(fresh().await).await;
    replica::a_replica_write_keeps_its_reply_and_a_used_key_refuses_the_next(fresh().await).await;
    feed::state_changes_enter_the_feed_in_commit_order_each_at_its_latest(fresh().await).await;
    feed::every_event_enters_the_feed_in_commit_order(fresh().await).await;
    feed::consumer_progress_reads_back_as_saved(fresh().await).await;
    feed::topic_messages_read_back_in_order_once_per_id(fresh().await).await;
    feed::messages_published_with_progress_are_appended_with_it(fresh().await).await;
    feed::topic_retention_removes_old_messages_up_to_a_position(fresh().await).await;
    view::view_rows_and_progress_are_written_together(fresh().await).await;
    view::view_queries_select_order_count_and_page(fresh().await).await;
    view::an_equality_query_is_served_by_an_index(fresh().await).await;
    view::a_join_answers_the_tables_rows_by_alias(fresh().await).await;
    timer::timers_start_replace_cancel_and_respect_the_limit(fresh().await).await;
    timer::due_timers_are_claimed_once_until_the_claim_runs_out(fresh().await).await;
    timer::timers_in_a_state_write_are_stored_only_when_it_applies(fresh().await).await;
    timer::timers_of_a_prefix_are_brought_forward(fresh().await).await;
    inspect::recently_changed_entities_come_newest_first(fresh().await).await;
    inspect::journals_read_back_in_pages(fresh().await).await;
    inspect::timers_are_found_by_name_due_time_and_failures(fresh().await).await;
    inspect::consumers_are_listed_with_their_position_and_lease(fresh().await).await;
}

/// A write keeping a reply under an idempotency key keeps it in its transaction, only if it
/// applies; a later write with the same key for the entity is refused and changes nothing, in
/// the same batch or another; old replies are purged.
async fn a_reply_is_kept_with_its_write_and_a_used_key_refuses_the_next(store: impl Store) {
    let keeping = |write: Write, key: &str, reply: &str| {
        let kept = Some(kept_reply(key, reply));
        match write {
            Write::State(mut state) => {
                state.kept_reply = kept;
                Write::State(state)
            }
            Write::Events(mut events) => {
                events.kept_reply = kept;
                Write::Events(events)
            }
            other => other,
        }
    };
    let results = store
        .commit(vec![
            keeping(write("k", 0, Some("1")), "k1", "\"one\""),
            // The same key again in the batch (a duplicate queued behind its first run).
            keeping(write("k", 1, Some("2")), "k1", "\"two\""),
            // A write that does not apply keeps nothing.
            keeping(write("k", 7, Some("3")), "k2", "\"three\""),
            keeping(append("k", 0, &["A"]).into(), "k1", "\"event\""),
        ])
        .await
        .unwrap();
    assert_eq!(results[0], Ok(1));
    assert_eq!(results[1], Err(WriteError::KeyUsed));
    assert!(
        matches!(results[2], Err(WriteError::Conflict { .. })),
        "{:?}",
        results[2]
    );
    assert_eq!(
        results[3],
        Ok(1),
        "a key is the entity's: the journal's is its own"
    );
    let payload = store
        .load("conformance", "k")
        .await
        .unwrap()
        .unwrap()
        .payload;
    assert_eq!(
        payload.as_deref(),
        Some(&b"1"[..]),
        "the refused write changed nothing"
    );
    let kept = |key: &'static str| store.kept_reply("conformance", "k", key);
    assert_eq!(kept("k1").await.unwrap(), Some(kept_reply("k1", "\"one\"")));
    assert_eq!(kept("k2").await.unwrap(), None);
    assert_eq!(
        store.kept_reply("journal", "k", "k1").await.unwrap(),
        Some(kept_reply("k1", "\"event\""))
    );
    // In a later batch too.
    let again = store
        .commit(vec![keeping(write("k", 1, Some("9")), "k1", "\"nine\"")])
        .await
        .unwrap();
    assert_eq!(again, [Err(WriteError::KeyUsed)]);
    // A batch of keys each once (a store may keep them together): a used key refuses its write
    // alone, a key on another entity is another key, a write that does not apply keeps nothing.
    let mixed = store
        .commit(vec![
            keeping(write("m", 0, Some("m")), "k1", "\"m\""),
            keeping(write("k", 1, Some("8")), "k1", "\"eight\""),
            keeping(write("n", 4, Some("n")), "k3", "\"n\""),
            keeping(write("p", 0, Some("p")), "k4", "\"p\""),
        ])
        .await
        .unwrap();
    assert_eq!(mixed[0], Ok(1));
    assert_eq!(mixed[1], Err(WriteError::KeyUsed));
    assert!(
        matches!(mixed[2], Err(WriteError::Conflict { .. })),
        "{:?}",
        mixed[2]
    );
    assert_eq!(mixed[3], Ok(1));
    assert_eq!(
        store.kept_reply("conformance", "m", "k1").await.unwrap(),
        Some(kept_reply("k1", "\"m\""))
    );
    assert_eq!(kept("k1").await.unwrap(), Some(kept_reply("k1", "\"one\"")));
    assert_eq!(
        store.kept_reply("conformance", "n", "k3").await.unwrap(),
        None
    );
    assert_eq!(
        store.kept_reply("conformance", "p", "k4").await.unwrap(),
        Some(kept_reply("k4", "\"p\""))
    );
    // Purged once old: the key is new again.
    assert_eq!(store.purge_kept_replies(0, 10).await.unwrap(), 0);
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 60_000;
    assert_eq!(store.purge_kept_replies(later, 10).await.unwrap(), 4);
    assert_eq!(kept("k1").await.unwrap(), None);
}

/// A reply kept under `key`: a 200 of JSON `body`, for request digest `f`.
fn kept_reply(key: &str, body: &str) -> kalix_core::store::KeptReply {
    kalix_core::store::KeptReply {
        key: key.to_owned(),
        fingerprint: "f".to_owned(),
        status: 200,
        content_type: Some("application/json".to_owned()),
        body: Bytes::from(body.to_owned()),
    }
}

/// A reply kept on its own (a command that changed nothing, an action's) is kept like one kept
/// with a change, with its status and content type (none for an error); a claim holds a key
/// until a reply replaces it or it is released, and a claim older than the caller's staleness
/// bound is taken over.
async fn a_reply_is_kept_alone_and_replaces_a_claim_and_a_stale_claim_is_taken_over(
    store: impl Store,
) {
    use kalix_core::store::{KeptReply, ReplyWrite};
    let alone = |key: &str, kept: KeptReply| {
        Write::Reply(ReplyWrite {
            type_id: "action".to_owned(),
            entity_id: String::new(),
            kept: KeptReply {
                key: key.to_owned(),
                ..kept
            },
        })
    };
    let refused = KeptReply {
        status: 404,
        content_type: None,
        ..kept_reply("", "no such cart")
    };
    let results = store
        .commit(vec![
            alone("a", kept_reply("", "1")),
            alone("e", refused.clone()),
            alone("a", kept_reply("", "2")),
        ])
        .await
        .unwrap();
    assert_eq!(results, vec![Ok(0), Ok(0), Err(WriteError::KeyUsed)]);
    let read = |key: &'static str| store.kept_reply("action", "", key);
    assert_eq!(read("a").await.unwrap().unwrap().body, Bytes::from("1"));
    assert_eq!(
        read("e").await.unwrap(),
        Some(KeptReply {
            key: "e".to_owned(),
            ..refused
        })
    );
    // A claim: held against a second claim, replaced by the reply.
    let claim = |key: &str| KeptReply {
        status: KeptReply::RUNNING,
        content_type: None,
        body: Bytes::new(),
        ..kept_reply(key, "")
    };
    // A claim older than LIVE ms is stale: none here is.
    const LIVE: u64 = 60_000;
    let claim_now = |key: &'static str, stale_after_ms| {
        store.claim_key("action", "", claim(key), stale_after_ms)
    };
    assert_eq!(claim_now("c", LIVE).await.unwrap(), None);
    let held = claim_now("c", LIVE)
        .await
        .unwrap()
        .expect("a live claim holds the key");
    assert!(held.is_running());
    let done = claim_now("a", 0)
        .await
        .unwrap()
        .expect("a reply holds its key for good");
    assert_eq!(done.body, Bytes::from("1"));
    assert_eq!(
        store
            .commit(vec![alone("c", kept_reply("", "3"))])
            .await
            .unwrap(),
        vec![Ok(0)],
        "the reply replaces the claim"
    );
    assert_eq!(read("c").await.unwrap().unwrap().body, Bytes::from("3"));
    // Released: free again; stale: taken over.
    assert_eq!(claim_now("r", LIVE).await.unwrap(), None);
    store.release_key("action", "", "r").await.unwrap();
    store.release_key("action", "", "a").await.unwrap();
    assert_eq!(read("r").await.unwrap(), None);
    assert!(
        read("a").await.unwrap().is_some(),
        "releasing leaves a reply"
    );
    assert_eq!(claim_now("s", LIVE).await.unwrap(), None);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(
        claim_now("s", 10).await.unwrap(),
        None,
        "a claim older than the bound is taken over"
    );
}

/// A store's identity is made once and read back the same every time.
async fn a_store_keeps_one_identity(store: impl Store) {
    let first = store.store_id().await.unwrap();
    assert!(!first.is_empty());
    assert_eq!(store.store_id().await.unwrap(), first);
}

/// A writer queues writes on top of its own, in one batch and in the next: the store applies
/// them as it applies any write whose expected version matches.
async fn a_write_following_its_own_write_applies_on_top_of_it(store: impl Store) {
    let following = |expected, payload| {
        let mut write = state_write("a", expected, Some(payload));
        write.follows_own_write = true;
        Write::State(write)
    };
    let mut appended = append("a", 1, &["B"]);
    appended.follows_own_write = true;
    let results = store
        .commit(vec![
            write("a", 0, Some("1")),
            following(1, "2"),
            append("a", 0, &["A"]).into(),
            appended.into(),
        ])
        .await
        .unwrap();
    assert_eq!(results, vec![Ok(1), Ok(2), Ok(1), Ok(2)]);
    let mut appended = append("a", 2, &["C"]);
    appended.follows_own_write = true;
    let results = store
        .commit(vec![following(2, "3"), appended.into()])
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![Ok(3), Ok(3)],
        "a write following its own committed write applies"
    );
    assert_eq!(
        store.load("conformance", "a").await.unwrap(),
        stored(3, Some("3"))
    );
    assert_eq!(store.last_seq("journal", "a").await.unwrap(), 3);
}

async fn versions_and_last_sequence_numbers_read_back(store: impl Store) {
    assert_eq!(
        store.state_version("conformance", "a").await.unwrap(),
        0,
        "an unknown entity has version 0"
    );
    store
        .commit(vec![write("a", 0, Some("1")), write("a", 1, Some("2"))])
        .await
        .unwrap();
    assert_eq!(
        store.state_version("conformance", "a").await.unwrap(),
        2,
        "the version counts the writes"
    );
    assert_eq!(
        store.last_seq("journal", "e").await.unwrap(),
        0,
        "an empty journal ends at 0"
    );
    store
        .commit(vec![append("e", 0, &["A", "B", "C"]).into()])
        .await
        .unwrap();
    assert_eq!(
        store.last_seq("journal", "e").await.unwrap(),
        3,
        "the last sequence number of a journal"
    );
}

async fn an_unknown_journal_is_empty(store: impl Store) {
    assert_eq!(
        store.load_events("journal", "nobody").await.unwrap(),
        Default::default(),
        "an unknown journal is empty"
    );
    assert!(
        store
            .read_events("journal", "nobody", 1)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn events_append_in_sequence_and_read_back_from_any_point(store: impl Store) {
    assert_eq!(
        store
            .commit(vec![append("a", 0, &["A", "B"]).into()])
            .await
            .unwrap(),
        vec![Ok(2)],
        "an append returns the last sequence number"
    );
    assert_eq!(
        store
            .commit(vec![append("a", 2, &["C"]).into()])
            .await
            .unwrap(),
        vec![Ok(3)]
    );
    let all = store.read_events("journal", "a", 1).await.unwrap();
    assert_eq!(
        names(&all),
        [(1, "A"), (2, "B"), (3, "C")],
        "events read back in order"
    );
    assert_eq!(
        &all[0].payload[..],
        b"{\"A\":{}}",
        "an event's payload reads back"
    );
    assert_eq!(
        names(&store.read_events("journal", "a", 3).await.unwrap()),
        [(3, "C")],
        "reading starts at a sequence number"
    );
    let log = store.load_events("journal", "a").await.unwrap();
    assert_eq!(
        (log.snapshot, names(&log.events), log.deleted),
        (None, vec![(1, "A"), (2, "B"), (3, "C")], false)
    );
}

async fn an_append_expecting_an_old_sequence_is_refused(store: impl Store) {
    store
        .commit(vec![append("a", 0, &["A", "B"]).into()])
        .await
        .unwrap();
    assert_eq!(
        store
            .commit(vec![append("a", 1, &["X"]).into()])
            .await
            .unwrap(),
        vec![Err(WriteError::Conflict {
            expected: 1,
            found: Some(2)
        })],
        "an append expecting an old sequence number is a conflict"
    );
    assert_eq!(
        store
            .commit(vec![append("b", 3, &["X"]).into()])
            .await
            .unwrap(),
        vec![Err(WriteError::Conflict {
            expected: 3,
            found: None
        })],
        "an append expecting events an empty journal lacks is a conflict"
    );
    assert_eq!(
        names(&store.read_events("journal", "a", 1).await.unwrap()),
        [(1, "A"), (2, "B")],
        "a refused append changes nothing"
    );
}

async fn loading_starts_from_the_latest_snapshot(store: impl Store) {
    let mut first = append("a", 0, &["A", "B"]);
    first.snapshot = Some(Bytes::from_static(b"{\"after\":2}"));
    store.commit(vec![first.into()]).await.unwrap();
    store
        .commit(vec![append("a", 2, &["C"]).into()])
        .await
        .unwrap();
    let log = store.load_events("journal", "a").await.unwrap();
    assert_eq!(
        log.snapshot,
        Some(Snapshot {
            seq: 2,
            payload: Bytes::from_static(b"{\"after\":2}")
        }),
        "the snapshot is kept at its sequence number"
    );
    assert_eq!(
        names(&log.events),
        [(3, "C")],
        "loading reads only the events after the snapshot"
    );
    let mut later = append("a", 3, &["D"]);
    later.snapshot = Some(Bytes::from_static(b"{\"after\":4}"));
    store.commit(vec![later.into()]).await.unwrap();
    let log = store.load_events("journal", "a").await.unwrap();
    assert_eq!(
        (log.snapshot.map(|s| s.seq), log.events.len()),
        (Some(4), 0),
        "a newer snapshot replaces the older"
    );
    assert_eq!(
        store.read_events("journal", "a", 1).await.unwrap().len(),
        4,
        "snapshots keep the journal whole"
    );
}

async fn a_delete_is_remembered_with_the_journal(store: impl Store) {
    let mut last = append("a", 0, &["A", "Deleted"]);
    last.delete = true;
    store.commit(vec![last.into()]).await.unwrap();
    let log = store.load_events("journal", "a").await.unwrap();
    assert!(log.deleted, "a deleted entity is remembered as deleted");
    assert_eq!(log.events.len(), 2, "its events stay");
    assert_eq!(
        store
            .commit(vec![append("a", 2, &["Late"]).into()])
            .await
            .unwrap(),
        vec![Err(WriteError::Deleted)],
        "a deleted journal takes no more events, whoever appends"
    );
    assert_eq!(store.read_events("journal", "a", 1).await.unwrap().len(), 2);
}

async fn state_writes_and_appends_share_a_transaction_in_order(store: impl Store) {
    let results = store
        .commit(vec![
            write("s", 0, Some("1")),
            append("e", 0, &["A"]).into(),
            append("e", 0, &["B"]).into(),
            append("e", 1, &["B"]).into(),
        ])
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![
            Ok(1),
            Ok(1),
            Err(WriteError::Conflict {
                expected: 0,
                found: Some(1)
            }),
            Ok(2)
        ],
        "state writes and appends apply in one batch, in order"
    );
}

async fn an_unknown_entity_has_no_state(store: impl Store) {
    assert_eq!(
        store.load("conformance", "nobody").await.unwrap(),
        None,
        "an unknown entity has no state"
    );
}

async fn a_first_write_creates_version_1_and_reads_back(store: impl Store) {
    let results = store
        .commit(vec![write("a", 0, Some("{\"v\":1}"))])
        .await
        .unwrap();
    assert_eq!(results, vec![Ok(1)], "a first write creates version 1");
    assert_eq!(
        store.load("conformance", "a").await.unwrap(),
        stored(1, Some("{\"v\":1}")),
        "a written state reads back"
    );
}

async fn a_write_expecting_the_current_version_applies(store: impl Store) {
    store.commit(vec![write("a", 0, Some("1"))]).await.unwrap();
    let results = store.commit(vec![write("a", 1, Some("2"))]).await.unwrap();
    assert_eq!(
        results,
        vec![Ok(2)],
        "a write expecting the current version applies"
    );
    assert_eq!(
        store.load("conformance", "a").await.unwrap(),
        stored(2, Some("2"))
    );
}

async fn a_stale_write_is_refused_and_changes_nothing(store: impl Store) {
    store
        .commit(vec![write("a", 0, Some("1")), write("a", 1, Some("2"))])
        .await
        .unwrap();
    let results = store
        .commit(vec![write("a", 1, Some("stale"))])
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![Err(WriteError::Conflict {
            expected: 1,
            found: Some(2)
        })],
        "a write expecting an old version is a conflict"
    );
    assert_eq!(
        store.load("conformance", "a").await.unwrap(),
        stored(2, Some("2")),
        "a refused write changes nothing"
    );
}

async fn a_second_creation_is_refused(store: impl Store) {
    store
        .commit(vec![write("a", 0, Some("first"))])
        .await
        .unwrap();
    let results = store
        .commit(vec![write("a", 0, Some("second"))])
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![Err(WriteError::Conflict {
            expected: 0,
            found: Some(1)
        })],
        "creating an existing entity is a conflict"
    );
    assert_eq!(
        store.load("conformance", "a").await.unwrap(),
        stored(1, Some("first"))
    );
}

async fn a_delete_keeps_a_tombstone_with_the_next_version(store: impl Store) {
    store.commit(vec![write("a", 0, Some("1"))]).await.unwrap();
    assert_eq!(
        store.commit(vec![write("a", 1, None)]).await.unwrap(),
        vec![Ok(2)],
        "a delete is a write"
    );
    assert_eq!(
        store.load("conformance", "a").await.unwrap(),
        stored(2, None),
        "a deleted entity reads as a tombstone"
    );
    assert_eq!(
        store
            .commit(vec![write("a", 2, Some("again"))])
            .await
            .unwrap(),
        vec![Ok(3)],
        "a deleted entity can be written again"
    );
    assert_eq!(
        store.commit(vec![write("b", 0, None)]).await.unwrap(),
        vec![Ok(1)],
        "deleting an unknown entity leaves a tombstone"
    );
}

async fn writes_of_one_batch_apply_in_order_and_a_conflict_spares_the_others(store: impl Store) {
    let results = store
        .commit(vec![
            write("a", 0, Some("a1")),
            write("a", 1, Some("a2")),
            write("b", 5, Some("b?")),
            write("c", 0, Some("c1")),
        ])
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![
            Ok(1),
            Ok(2),
            Err(WriteError::Conflict {
                expected: 5,
                found: None
            }),
            Ok(1)
        ],
        "a batch applies in order, and one conflict spares the other writes"
    );
    assert_eq!(
        store.load("conformance", "a").await.unwrap(),
        stored(2, Some("a2"))
    );
    assert_eq!(store.load("conformance", "b").await.unwrap(), None);
    assert_eq!(
        store.load("conformance", "c").await.unwrap(),
        stored(1, Some("c1"))
    );
}

async fn type_ids_are_separate_namespaces(store: impl Store) {
    store.commit(vec![write("a", 0, Some("1"))]).await.unwrap();
    let other = StateWrite {
        type_id: "other".to_owned(),
        ..state_write("a", 0, Some("x"))
    };
    assert_eq!(
        store.commit(vec![other.into()]).await.unwrap(),
        vec![Ok(1)],
        "type ids are separate namespaces"
    );
    assert_eq!(
        store.load("other", "a").await.unwrap(),
        stored(1, Some("x"))
    );
    assert_eq!(
        store.load("conformance", "a").await.unwrap(),
        stored(1, Some("1"))
    );
}

async fn concurrent_group_commits_lose_nothing(store: impl Store) {
    let store: Arc<dyn Store> = Arc::new(store);
    let committer = GroupCommitter::start(Arc::clone(&store));
    // 20 entities, 25 chained writes each, all queued at once: every one must land, in order.
    let mut commits = Vec::new();
    for entity in 0..20 {
        for version in 0..25u64 {
            commits.push(committer.submit(write(
                &format!("e{entity}"),
                version,
                Some(&format!("{}", version + 1)),
            )));
        }
    }
    for (index, result) in futures_util::future::join_all(
        commits
            .into_iter()
            .map(std::future::IntoFuture::into_future),
    )
    .await
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            result,
            Ok(index as u64 % 25 + 1),
            "every queued write commits, in order"
        );
    }
    for entity in 0..20 {
        assert_eq!(
            store
                .load("conformance", &format!("e{entity}"))
                .await
                .unwrap(),
            stored(25, Some("25"))
        );
    }
}
