//! Timers: start, replace, cancel, claim (once per timer at a time; again once the claim ran
//! out), finish and retry by generation, the limit on pending timers.

use bytes::Bytes;
use kalix_core::store::{Store, TimerOutcome, TimerRecord, TimerStart};

fn timer(name: &str, generation: &str, due_ms: u64) -> TimerRecord {
    TimerRecord {
        name: name.to_owned(),
        generation: generation.to_owned(),
        due_ms,
        call: Bytes::from(format!("{{\"to\":\"{name}\"}}")),
        attempts: 0,
        max_retries: Some(2),
    }
}

fn done(name: &str, generation: &str) -> TimerOutcome {
    TimerOutcome {
        name: name.to_owned(),
        generation: generation.to_owned(),
        owner: 1,
        retry: None,
    }
}

fn retry(name: &str, generation: &str, due_ms: u64, attempts: u32) -> TimerOutcome {
    TimerOutcome {
        retry: Some((due_ms, attempts)),
        ..done(name, generation)
    }
}

fn names(timers: &[TimerRecord]) -> Vec<&str> {
    timers.iter().map(|t| t.name.as_str()).collect()
}

/// Timers are stored, replaced by name, listed earliest first and cancelled; a new name over
/// the limit is refused, a replacement is not.
pub(super) async fn timers_start_replace_cancel_and_respect_the_limit(store: impl Store) {
    assert_eq!(
        store.start_timer(timer("b", "1", 2_000), 2).await.unwrap(),
        TimerStart::Started
    );
    assert_eq!(
        store.start_timer(timer("a", "1", 1_000), 2).await.unwrap(),
        TimerStart::Started
    );
    assert_eq!(
        store.start_timer(timer("c", "1", 500), 2).await.unwrap(),
        TimerStart::TooMany
    );
    assert_eq!(
        store.start_timer(timer("b", "2", 3_000), 2).await.unwrap(),
        TimerStart::Started,
        "replacing a timer is not a new one"
    );
    // The runtime's own timers are neither counted nor refused (`u64::MAX`).
    assert_eq!(
        store
            .start_timer(timer("kalix.workflow/t/w", "1", 9_000), u64::MAX)
            .await
            .unwrap(),
        TimerStart::Started
    );
    store.cancel_timer("b").await.unwrap();
    assert_eq!(
        store.start_timer(timer("b", "2", 3_000), 2).await.unwrap(),
        TimerStart::Started,
        "one user timer and one of the runtime's: room for a second user timer"
    );
    store.cancel_timer("kalix.workflow/t/w").await.unwrap();
    let listed = store.list_timers(10).await.unwrap();
    assert_eq!(names(&listed), ["a", "b"]);
    assert_eq!(
        (listed[1].generation.as_str(), listed[1].due_ms),
        ("2", 3_000)
    );
    assert_eq!(listed[0], timer("a", "1", 1_000), "read back as written");
    store.cancel_timer("a").await.unwrap();
    store.cancel_timer("nothing").await.unwrap();
    assert_eq!(names(&store.list_timers(10).await.unwrap()), ["b"]);
    assert_eq!(store.next_timer_due(0).await.unwrap(), Some(3_000));
}

/// A due timer is claimed by one owner until its claim runs out; finishing and retrying act
/// on the generation claimed only.
pub(super) async fn due_timers_are_claimed_once_until_the_claim_runs_out(store: impl Store) {
    store
        .start_timer(timer("early", "1", 1_000), 100)
        .await
        .unwrap();
    store
        .start_timer(timer("late", "1", 9_000), 100)
        .await
        .unwrap();
    let first = store.claim_due_timers(2_000, 1_000, 1, 10).await.unwrap();
    assert_eq!(names(&first), ["early"], "only what is due");
    if store.is_shared() {
        let second = store.claim_due_timers(2_500, 1_000, 2, 10).await.unwrap();
        assert!(second.is_empty(), "claimed already: {second:?}");
        assert_eq!(store.next_timer_due(2_500).await.unwrap(), Some(9_000));
        let after = store.claim_due_timers(3_500, 1_000, 2, 10).await.unwrap();
        assert_eq!(
            names(&after),
            ["early"],
            "its claim ran out: another owner takes it"
        );
    }
    // Claimed by 1 (again), which settles it below.
    store.claim_due_timers(3_600, 1_000, 1, 10).await.unwrap();

    // Started again while it fires: the old generation's outcome leaves the new one alone.
    store
        .start_timer(timer("early", "2", 5_000), 100)
        .await
        .unwrap();
    store
        .settle_timers(vec![done("early", "1"), retry("early", "1", 4_000, 1)])
        .await
        .unwrap();
    let listed = store.list_timers(10).await.unwrap();
    assert_eq!(
        (listed[0].generation.as_str(), listed[0].due_ms),
        ("2", 5_000)
    );

    let claimed = store.claim_due_timers(5_000, 1_000, 1, 10).await.unwrap();
    assert_eq!(names(&claimed), ["early"]);
    store
        .settle_timers(vec![retry("early", "2", 6_000, 1)])
        .await
        .unwrap();
    let retried = store.claim_due_timers(6_000, 1_000, 1, 10).await.unwrap();
    assert_eq!(
        (retried[0].attempts, retried[0].due_ms),
        (1, 6_000),
        "released and due again"
    );
    store.settle_timers(vec![done("early", "2")]).await.unwrap();
    assert_eq!(names(&store.list_timers(10).await.unwrap()), ["late"]);
}

/// Timers carried by a state write are stored in its transaction when it applies (replacing a
/// timer of their name), and not at all when it conflicts; they count against the limit like
/// any other, and one that fired leaves room.
pub(super) async fn timers_in_a_state_write_are_stored_only_when_it_applies(store: impl Store) {
    let write = |expected, timers| kalix_core::store::StateWrite {
        type_id: "flow".to_owned(),
        entity_id: "w".to_owned(),
        expected_version: expected,
        follows_own_write: false,
        payload: Some(Bytes::from_static(b"1")),
        timers,
        kept_reply: None,
        trace_parent: None,
    };
    store
        .start_timer(timer("watchdog", "old", 1_000), 100)
        .await
        .unwrap();
    let applied = store
        .commit(vec![
            write(
                0,
                vec![timer("watchdog", "new", 5_000), timer("other", "g", 9_000)],
            )
            .into(),
        ])
        .await
        .unwrap();
    assert_eq!(applied, vec![Ok(1)]);
    let listed = store.list_timers(10).await.unwrap();
    assert_eq!(names(&listed), ["watchdog", "other"]);
    assert_eq!(
        (listed[0].generation.as_str(), listed[0].due_ms),
        ("new", 5_000)
    );

    let refused = store
        .commit(vec![write(0, vec![timer("lost", "g", 1)]).into()])
        .await
        .unwrap();
    assert!(refused[0].is_err(), "a conflicting write: {refused:?}");
    let listed = store.list_timers(10).await.unwrap();
    assert!(!names(&listed).contains(&"lost"), "{:?}", names(&listed));

    assert_eq!(
        store
            .start_timer(timer("third", "g", 9_000), 2)
            .await
            .unwrap(),
        TimerStart::TooMany,
        "the two timers the write stored count"
    );
    let due = store.claim_due_timers(5_000, 1_000, 1, 10).await.unwrap();
    assert_eq!(names(&due), ["watchdog"]);
    store
        .settle_timers(vec![done("watchdog", "new")])
        .await
        .unwrap();
    assert_eq!(
        store
            .start_timer(timer("third", "g", 9_000), 2)
            .await
            .unwrap(),
        TimerStart::Started,
        "the fired timer left room"
    );
}

/// Timers of a prefix are brought forward to a time, unless they are due sooner; the others
/// stay as they are.
pub(super) async fn timers_of_a_prefix_are_brought_forward(store: impl Store) {
    for (name, due) in [
        ("kalix.workflow/t/a", 10_000),
        ("kalix.workflow/t/b", 3),
        ("mine", 10_000),
    ] {
        store.start_timer(timer(name, "g", due), 100).await.unwrap();
    }
    store.hasten_timers("kalix.workflow/", 5).await.unwrap();
    let due: Vec<(String, u64)> = store
        .list_timers(10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.due_ms))
        .collect();
    assert_eq!(
        due,
        [
            ("kalix.workflow/t/b".to_owned(), 3),
            ("kalix.workflow/t/a".to_owned(), 5),
            ("mine".to_owned(), 10_000)
        ]
    );
}
