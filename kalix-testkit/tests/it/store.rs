use kalix_core::store::SqliteStore;

#[tokio::test]
async fn sqlite_in_memory_passes_the_store_conformance_suite() {
    kalix_testkit::store_conformance::run(|| async { SqliteStore::memory().unwrap() }).await;
}

#[tokio::test]
async fn sqlite_on_a_file_passes_the_store_conformance_suite() {
    let directory = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    kalix_testkit::store_conformance::run(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = directory.path().join(format!("store-{n}/kalix.db"));
        async move { SqliteStore::open(path).unwrap() }
    })
    .await;
}

#[tokio::test]
async fn a_sqlite_file_keeps_its_state_across_reopening() {
    use kalix_core::store::{EntityStore, StateWrite};
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("kalix.db");
    let write = StateWrite {
        type_id: "t".into(),
        entity_id: "e".into(),
        expected_version: 0,
        follows_own_write: false,
        payload: Some(bytes::Bytes::from_static(b"42")),
        timers: Vec::new(),
        kept_reply: None,
        trace_parent: None,
    };
    assert_eq!(
        SqliteStore::open(&path)
            .unwrap()
            .commit(vec![write.into()])
            .await
            .unwrap(),
        vec![Ok(1)]
    );
    let reopened = SqliteStore::open(&path).unwrap();
    let state = reopened.load("t", "e").await.unwrap().unwrap();
    assert_eq!(
        (state.version, state.payload.as_deref()),
        (1, Some(&b"42"[..]))
    );
}

/// Runs only when `KALIX_TEST_POSTGRES_URL` is set (`.ci/run` sets it and checks the marker this
/// leaves in `KALIX_TEST_MARKERS`); each check gets a fresh schema, so runs never collide.
#[tokio::test]
async fn postgres_passes_the_store_conformance_suite() {
    use kalix_core::store::PostgresStore;
    let Ok(url) = std::env::var("KALIX_TEST_POSTGRES_URL") else {
        eprintln!(
            "KALIX_TEST_POSTGRES_URL is not set: the PostgreSQL conformance suite did not run"
        );
        return;
    };
    kalix_testkit::store_conformance::run(|| {
        let url = url.clone();
        async move {
            let schema = format!("conformance_{}", uuid_like());
            PostgresStore::connect(&url, &schema).await.unwrap()
        }
    })
    .await;
    mark_ran("postgres-conformance");
}

/// A unique enough name for a test's schema.
pub(crate) fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Leaves a file named `name` in `KALIX_TEST_MARKERS`, if set, to prove a suite ran.
pub(crate) fn mark_ran(name: &str) {
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(std::path::Path::new(&directory).join(name), "ran").unwrap();
    }
}

/// A session of its own on the database, as another process or an operator would have.
async fn side_session(url: &str) -> tokio_postgres::Client {
    let (session, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    session
}

/// The state changes of type `t` after `after`, read until there are `count` of them (a shared
/// store hands an entry out once every transaction older than its own has ended, so other
/// sessions' work can hold it back a moment) or 30 s have passed.
async fn read_until(
    store: &kalix_core::store::PostgresStore,
    after: kalix_core::store::FeedOffset,
    count: usize,
) -> Vec<kalix_core::store::FeedEntry> {
    use kalix_core::store::{FeedKind, FeedStore};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let entries = store
            .read_feed(FeedKind::StateChanges, "t", after, 100)
            .await
            .unwrap();
        if entries.len() >= count || std::time::Instant::now() > deadline {
            return entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub(crate) fn postgres_url(what: &str) -> Option<String> {
    let url = std::env::var("KALIX_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("KALIX_TEST_POSTGRES_URL is not set: {what} did not run");
    }
    url
}

fn state_write(entity_id: &str) -> kalix_core::store::StateWrite {
    kalix_core::store::StateWrite {
        type_id: "t".into(),
        entity_id: entity_id.into(),
        expected_version: 0,
        follows_own_write: false,
        payload: Some(bytes::Bytes::from_static(b"1")),
        timers: Vec::new(),
        kept_reply: None,
        trace_parent: None,
    }
}

/// Text that does not compress: PostgreSQL compresses index keys, so a long run of one letter
/// would fit.
fn incompressible(length: usize) -> String {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    (0..length)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            char::from(b'a' + (seed % 26) as u8)
        })
        .collect()
}

/// Two processes' stores on one schema: A queues a write on top of its own write in flight; B
/// takes that version first. A's first write conflicts, and the write on top of it must not
/// land on B's version (a bare version check would let it, losing B's update).
#[tokio::test]
async fn on_postgres_a_write_on_top_of_a_failed_own_write_never_lands_on_another_writers_version() {
    use kalix_core::store::{
        EntityStore, EventAppend, NewEvent, PostgresStore, StateWrite, WriteError,
    };
    let Some(url) = postgres_url("the chained-write check") else {
        return;
    };
    let schema = format!("chained_{}", uuid_like());
    let a = PostgresStore::connect(&url, &schema).await.unwrap();
    let b = PostgresStore::connect(&url, &schema).await.unwrap();
    let state = |expected, follows_own_write, payload: &'static [u8]| StateWrite {
        type_id: "t".into(),
        entity_id: "hot".into(),
        expected_version: expected,
        follows_own_write,
        payload: Some(bytes::Bytes::from_static(payload)),
        timers: Vec::new(),
        kept_reply: None,
        trace_parent: None,
    };
    let events = |expected, follows_own_write, name: &str| EventAppend {
        type_id: "j".into(),
        entity_id: "hot".into(),
        expected_seq: expected,
        follows_own_write,
        events: vec![NewEvent {
            type_name: name.into(),
            payload: bytes::Bytes::from(format!("\"{name}\"")),
        }],
        snapshot: None,
        delete: false,
        kept_reply: None,
        trace_parent: None,
    };
    assert_eq!(
        b.commit(vec![
            state(0, false, b"b1").into(),
            events(0, false, "B1").into()
        ])
        .await
        .unwrap(),
        vec![Ok(1), Ok(1)],
        "B takes version 1 and sequence number 1"
    );
    // A's first writes (expecting 0) conflict; those queued on top of them expect exactly what
    // B produced, in the same batch and in the next.
    let all_refused = |batch: &[Result<u64, WriteError>]| {
        batch
            .iter()
            .all(|r| matches!(r, Err(WriteError::Conflict { .. })))
    };
    let same_batch = vec![
        state(0, false, b"a1").into(),
        state(1, true, b"a2").into(),
        events(0, false, "A1").into(),
        events(1, true, "A2").into(),
    ];
    let results = a.commit(same_batch).await.unwrap();
    assert!(all_refused(&results), "the chain is refused: {results:?}");
    let next_batch = vec![state(1, true, b"a2").into(), events(1, true, "A2").into()];
    let results = a.commit(next_batch).await.unwrap();
    assert!(all_refused(&results), "in the next batch too: {results:?}");
    let stored = a.load("t", "hot").await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.payload.as_deref()),
        (1, Some(&b"b1"[..])),
        "B's write is intact"
    );
    let journal = a.read_events("j", "hot", 1).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].type_name, "B1");
    // The same writes, not marked as following their own, are plain version checks and apply.
    assert_eq!(
        a.commit(vec![
            state(1, false, b"a2").into(),
            events(1, false, "A2").into()
        ])
        .await
        .unwrap(),
        vec![Ok(2), Ok(2)]
    );
    mark_ran("postgres-chained-writes");
}

/// A schema records its version: a second start migrates nothing, and a schema a newer runtime
/// wrote is refused with a message saying so, not written in a layout this runtime does not know.
#[tokio::test]
async fn on_postgres_a_schema_records_its_version_and_a_newer_one_is_refused() {
    use kalix_core::store::{EntityStore, PostgresStore};
    let Some(url) = postgres_url("the schema versions") else {
        return;
    };
    let schema = format!("versions_{}", uuid_like());
    let session = side_session(&url).await;
    let version = || async {
        session
            .query_one(
                &format!("SELECT max(version) FROM {schema}.schema_version"),
                &[],
            )
            .await
            .unwrap()
            .get::<_, Option<i32>>(0)
    };
    let store = PostgresStore::connect(&url, &schema).await.unwrap();
    let latest = version().await.expect("a version is recorded");
    assert!(latest >= 4, "{latest}");
    let write = state_write("e1");
    assert_eq!(store.commit(vec![write.into()]).await.unwrap(), vec![Ok(1)]);
    drop(store);
    let again = PostgresStore::connect(&url, &schema).await.unwrap();
    assert_eq!(version().await, Some(latest));
    assert_eq!(
        again.state_version("t", "e1").await.unwrap(),
        1,
        "the data stays"
    );
    session
        .batch_execute(&format!(
            "UPDATE {schema}.schema_version SET version = version + 1"
        ))
        .await
        .unwrap();
    let error = PostgresStore::connect(&url, &schema)
        .await
        .err()
        .expect("a newer schema");
    assert!(
        error.to_string().contains("newer than this runtime knows"),
        "{error}"
    );
    mark_ran("postgres-schema-versions");
}

/// Tables made before the writer columns get them at connect; once they have them, a process
/// starting beside one that is writing does not wait for its locks.
#[tokio::test]
async fn on_postgres_older_tables_get_writer_columns_and_a_start_does_not_wait_for_writers() {
    use kalix_core::store::{EntityStore, PostgresStore, PostgresTimeouts};
    use std::time::Duration;
    let Some(url) = postgres_url("the writer-column check") else {
        return;
    };
    let schema = format!("columns_{}", uuid_like());
    let session = side_session(&url).await;
    session
        .batch_execute(&format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.entity_state (
                 type_id TEXT NOT NULL, entity_id TEXT NOT NULL, version BIGINT NOT NULL,
                 payload BYTEA, PRIMARY KEY (type_id, entity_id));
             CREATE TABLE {schema}.event_journal (
                 type_id TEXT NOT NULL, entity_id TEXT NOT NULL, seq BIGINT NOT NULL,
                 type_name TEXT NOT NULL, payload BYTEA NOT NULL,
                 PRIMARY KEY (type_id, entity_id, seq));
             INSERT INTO {schema}.entity_state VALUES ('t', 'old', 1, '1');"
        ))
        .await
        .unwrap();
    let store = PostgresStore::connect(&url, &schema).await.unwrap();
    let fed = read_until(&store, Default::default(), 1).await;
    assert_eq!(
        fed.iter()
            .map(|e| (e.entity_id.as_str(), e.seq))
            .collect::<Vec<_>>(),
        [("old", 1)],
        "rows written before the feed existed enter it"
    );
    let mut write = state_write("old");
    write.expected_version = 1;
    assert_eq!(store.commit(vec![write.into()]).await.unwrap(), vec![Ok(2)]);

    // A writer holds its row locks (a transaction in flight); a second process starts.
    session
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {schema}.entity_state, {schema}.event_journal IN ROW EXCLUSIVE MODE"
        ))
        .await
        .unwrap();
    let timeouts = PostgresTimeouts::new(Duration::from_millis(500), Duration::from_secs(2));
    let started = PostgresStore::connect_with(&url, &schema, timeouts).await;
    session.batch_execute("ROLLBACK").await.unwrap();
    assert!(started.is_ok(), "{:?}", started.err());
    mark_ran("postgres-writer-columns");
}

/// The change feed on a shared database: a transaction that took its id first but commits last
/// is still delivered, though a reader already read past a later one. A feed ordered by a
/// sequence or by commit time alone would skip it.
#[tokio::test]
async fn on_postgres_the_feed_never_skips_a_transaction_that_commits_out_of_order() {
    use kalix_core::store::{
        EntityStore, FeedEntry, FeedKind, FeedOffset, FeedStore, PostgresStore,
    };
    let Some(url) = postgres_url("the out-of-order feed check") else {
        return;
    };
    let schema = format!("feed_{}", uuid_like());
    let store = PostgresStore::connect(&url, &schema).await.unwrap();
    let ids = |entries: &[FeedEntry]| {
        entries
            .iter()
            .map(|e| e.entity_id.clone())
            .collect::<Vec<_>>()
    };
    store
        .commit(vec![state_write("first").into()])
        .await
        .unwrap();
    let first = read_until(&store, FeedOffset::default(), 1).await;
    assert_eq!(ids(&first), ["first"]);

    // Another process's transaction writes, and so takes its id, before ours...
    let session = side_session(&url).await;
    session
        .batch_execute(&format!(
            "BEGIN; INSERT INTO {schema}.entity_state \
             (type_id, entity_id, version, payload, feed_tx, feed_position) \
             VALUES ('t', 'early', 1, '1', pg_current_xact_id(), nextval('{schema}.feed_position'))"
        ))
        .await
        .unwrap();
    // ...ours commits first...
    store
        .commit(vec![state_write("later").into()])
        .await
        .unwrap();
    let meanwhile = store
        .read_feed(FeedKind::StateChanges, "t", first[0].offset, 100)
        .await
        .unwrap();
    assert!(
        meanwhile.is_empty(),
        "nothing past a transaction still running is handed out: {:?}",
        ids(&meanwhile)
    );
    // ...and theirs commits last: a reader past `first` gets both.
    session.batch_execute("COMMIT").await.unwrap();
    let both = read_until(&store, first[0].offset, 2).await;
    assert_eq!(ids(&both), ["early", "later"]);
    mark_ran("postgres-feed-out-of-order");
}

/// A lease is one holder's until it expires; its holder renews it, another takes it after.
#[tokio::test]
async fn on_postgres_a_lease_has_one_holder_until_it_expires() {
    use kalix_core::store::{LeaseStore, PostgresStore};
    use std::time::Duration;
    let Some(url) = postgres_url("the lease check") else {
        return;
    };
    let store = PostgresStore::connect(&url, &format!("lease_{}", uuid_like()))
        .await
        .unwrap();
    let ttl = Duration::from_millis(500);
    assert_eq!(
        store.lease("consumer", 1, ttl).await,
        Ok(true),
        "a free lease is taken"
    );
    assert_eq!(
        store.lease("consumer", 2, ttl).await,
        Ok(false),
        "a held lease is refused to another"
    );
    assert_eq!(
        store.lease("other", 2, ttl).await,
        Ok(true),
        "leases are apart"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.lease("consumer", 1, ttl).await,
        Ok(true),
        "the holder renews"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.lease("consumer", 2, ttl).await,
        Ok(false),
        "a renewed lease is still held past the first term"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        store.lease("consumer", 2, ttl).await,
        Ok(true),
        "an expired lease goes to another"
    );
    assert_eq!(
        store.lease("consumer", 1, ttl).await,
        Ok(false),
        "and its old holder has lost it"
    );
    mark_ran("postgres-leases");
}

/// A process hears another's commits and publishes (LISTEN/NOTIFY): its readers wake without
/// polling the database.
#[tokio::test]
async fn on_postgres_a_commit_or_publish_wakes_another_processs_readers() {
    use kalix_core::store::{
        EntityStore, FeedStore, PostgresStore, StateWrite, Store, TopicMessage,
    };
    use std::time::Duration;
    let Some(url) = postgres_url("the commit notification check") else {
        return;
    };
    let schema = format!("news_{}", uuid_like());
    let writer = PostgresStore::connect(&url, &schema).await.unwrap();
    let reader = PostgresStore::connect(&url, &schema).await.unwrap();
    assert!(SqliteStore::memory().unwrap().commit_news().is_none());
    let heard = reader.commit_news().expect("a shared store hears commits");
    // The listening connection is up once the first (re)connection wake-up has passed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let woken = heard.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    let write = StateWrite {
        type_id: "counter".to_owned(),
        entity_id: "c1".to_owned(),
        expected_version: 0,
        follows_own_write: false,
        payload: Some(bytes::Bytes::from_static(b"1")),
        timers: Vec::new(),
        kept_reply: None,
        trace_parent: None,
    };
    writer.commit(vec![write.into()]).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), woken)
        .await
        .expect("the other process's commit is heard");
    let woken = heard.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    let message = TopicMessage {
        id: "m1".to_owned(),
        attributes: Vec::new(),
        payload: bytes::Bytes::from_static(b"{}"),
    };
    writer.publish("orders", vec![message]).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), woken)
        .await
        .expect("the other process's publish is heard");
    mark_ran("postgres-commit-news");
}

#[tokio::test]
async fn on_postgres_a_write_the_database_refuses_fails_alone_in_its_batch() {
    use kalix_core::store::{GroupCommitter, PostgresStore, Store, WriteError};
    let Some(url) = postgres_url("the refused-write check") else {
        return;
    };
    let schema = format!("refused_{}", uuid_like());
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(PostgresStore::connect(&url, &schema).await.unwrap());
    let committer = GroupCommitter::start(store);
    // Queued together, so they share a transaction: an id over the index's row size, and one
    // with a NUL, which text columns cannot hold, among good writes.
    let good = committer.submit(state_write("good"));
    let too_long = committer.submit(state_write(&incompressible(3000)));
    let nul = committer.submit(state_write("a\0b"));
    let other = committer.submit(state_write("other"));
    assert_eq!(good.await, Ok(1));
    assert_eq!(other.await, Ok(1));
    for refused in [too_long, nul] {
        match refused.await {
            Err(WriteError::Store(error)) => {
                assert!(error.is_rejected_write(), "{error}");
                assert!(error.message().starts_with("postgres: ERROR "), "{error}");
            }
            other => panic!("expected the database to refuse the write, got {other:?}"),
        }
    }
    mark_ran("postgres-refused-write");
}

#[tokio::test]
async fn on_postgres_a_lock_held_elsewhere_gets_a_503_instead_of_stalling_writes() {
    use kalix_core::store::{EntityStore, PostgresStore, PostgresTimeouts};
    use kalix_testkit::reqwest::StatusCode;
    use std::time::Duration;
    let Some(url) = postgres_url("the lock-timeout check") else {
        return;
    };
    let schema = format!("timeouts_{}", uuid_like());
    // The schema is made first with the default timeouts: on a loaded machine its DDL may take
    // longer than the two seconds below, and making it is not what this test is about.
    drop(PostgresStore::connect(&url, &schema).await.unwrap());
    let timeouts = PostgresTimeouts::new(Duration::from_millis(300), Duration::from_secs(2));
    let store = PostgresStore::connect_with(&url, &schema, timeouts)
        .await
        .unwrap();
    let testkit = kalix_testkit::TestKit::builder()
        .dependency(crate::components::Recorder::default())
        .config(|config| {
            config.with_store(kalix_core::StoreLocation::Postgres {
                url: url.clone(),
                schema: schema.clone(),
                timeouts,
            })
        })
        .start()
        .await;

    // Another session takes the table, as a migration or a manual `LOCK TABLE` would.
    let session = side_session(&url).await;
    session
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {schema}.entity_state IN ACCESS EXCLUSIVE MODE"
        ))
        .await
        .unwrap();

    let error = tokio::time::timeout(
        Duration::from_secs(20),
        store.commit(vec![state_write("w").into()]),
    )
    .await
    .expect("the commit answers instead of waiting for the lock")
    .unwrap_err();
    // The lock or the statement timeout, whichever PostgreSQL checks first.
    let message = error.message();
    assert!(
        (message.contains("55P03") || message.contains("57014"))
            && message.contains("canceling statement due to"),
        "the database's own error: {error}"
    );
    let response = testkit
        .http()
        .post(testkit.url("/tally/locked/add/1"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("answered instead of waiting for the lock");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

    session.batch_execute("ROLLBACK").await.unwrap();
    let response = testkit.post("/tally/locked/add/1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    mark_ran("postgres-timeouts");
}

/// Two processes (two stores on one schema) claiming due timers at once: each timer is claimed
/// by exactly one of them.
#[tokio::test]
async fn on_postgres_two_claimers_never_claim_one_timer_both() {
    use kalix_core::store::{PostgresStore, TimerRecord, TimerStore};
    let Some(url) = postgres_url("the timer claim check") else {
        return;
    };
    let schema = format!("timers_{}", uuid_like());
    let a = PostgresStore::connect(&url, &schema).await.unwrap();
    let b = PostgresStore::connect(&url, &schema).await.unwrap();
    for n in 0..300 {
        let timer = TimerRecord {
            name: format!("t{n}"),
            generation: "1".to_owned(),
            due_ms: n,
            call: bytes::Bytes::from_static(b"{}"),
            attempts: 0,
            max_retries: None,
        };
        a.start_timer(timer, 1_000).await.unwrap();
    }
    let claim_all = |store: PostgresStore, owner: u64| async move {
        let mut claimed = Vec::new();
        loop {
            let batch = store
                .claim_due_timers(1_000, 60_000, owner, 7)
                .await
                .unwrap();
            if batch.is_empty() {
                return claimed;
            }
            claimed.extend(batch.into_iter().map(|t| t.name));
        }
    };
    let (by_a, by_b) = tokio::join!(claim_all(a, 1), claim_all(b, 2));
    let mut all: Vec<&String> = by_a.iter().chain(&by_b).collect();
    all.sort();
    let total = all.len();
    all.dedup();
    assert_eq!(
        (total, all.len()),
        (300, 300),
        "{} by a, {} by b",
        by_a.len(),
        by_b.len()
    );
    mark_ran("postgres-timer-claims");
}
