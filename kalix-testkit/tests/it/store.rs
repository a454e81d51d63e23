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
    use kalix_core::store::{StateWrite, Store};
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("kalix.db");
    let write = StateWrite {
        type_id: "t".into(),
        entity_id: "e".into(),
        expected_version: 0,
        payload: Some(bytes::Bytes::from_static(b"42")),
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
fn uuid_like() -> String {
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
fn mark_ran(name: &str) {
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(std::path::Path::new(&directory).join(name), "ran").unwrap();
    }
}
