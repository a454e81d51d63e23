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
