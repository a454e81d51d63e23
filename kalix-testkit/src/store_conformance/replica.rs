//! Replicated entities' rows: one per entity and replica, each replica's last write the one
//! kept, read back together; a reply kept with a replica's write.

use bytes::Bytes;
use kalix_core::store::{ReplicaRow, ReplicaWrite, Store, Write, WriteError};

fn replica_write(entity: &str, replica: u64, payload: &str) -> ReplicaWrite {
    ReplicaWrite {
        type_id: "replicated".to_owned(),
        entity_id: entity.to_owned(),
        replica,
        payload: Bytes::from(payload.to_owned()),
        token: None,
        kept_reply: None,
    }
}

/// The rows of `entity` by replica: (replica, version, payload).
async fn rows(store: &impl Store, entity: &str) -> Vec<(u64, u64, String)> {
    let mut rows: Vec<(u64, u64, String)> = store
        .load_replicas("replicated", entity)
        .await
        .expect("load_replicas")
        .into_iter()
        .map(
            |ReplicaRow {
                 replica,
                 version,
                 payload,
             }| {
                (
                    replica,
                    version,
                    String::from_utf8(payload.to_vec()).unwrap(),
                )
            },
        )
        .collect();
    rows.sort();
    rows
}

/// Each replica's row holds its last write, in a batch or across batches, with a version that
/// grows; rows of other entities and replicas are apart; an entity never written has none.
pub(super) async fn each_replica_keeps_its_own_row_and_they_load_together(store: impl Store) {
    let check = "each_replica_keeps_its_own_row_and_they_load_together";
    assert!(
        rows(&store, "r1").await.is_empty(),
        "{check}: an unknown entity has no rows"
    );
    let batch = vec![
        replica_write("r1", 1, "{\"a\":1}"),
        replica_write("r1", 2, "{\"x\":1}"),
        replica_write("r1", 1, "{\"a\":2}"),
        replica_write("r2", 1, "{\"other\":1}"),
    ];
    let results = store
        .commit(batch.into_iter().map(Write::from).collect())
        .await
        .expect("commit");
    assert!(results.iter().all(Result::is_ok), "{check}: {results:?}");
    let first = rows(&store, "r1").await;
    assert_eq!(
        first
            .iter()
            .map(|(r, _, p)| (*r, p.as_str()))
            .collect::<Vec<_>>(),
        [(1, "{\"a\":2}"), (2, "{\"x\":1}")],
        "{check}: the last write of each replica"
    );
    store
        .commit(vec![replica_write("r1", 1, "{\"a\":3}").into()])
        .await
        .expect("commit")[0]
        .as_ref()
        .expect("a replica's write applies");
    let second = rows(&store, "r1").await;
    assert_eq!(second[0].2, "{\"a\":3}", "{check}");
    assert!(
        second[0].1 > first[0].1,
        "{check}: the version grows: {first:?} then {second:?}"
    );
    assert_eq!(
        second[1], first[1],
        "{check}: the other replica's row is untouched"
    );
    assert_eq!(
        rows(&store, "r2").await.len(),
        1,
        "{check}: another entity's rows are apart"
    );
}

/// A replica's write keeps its command's reply in its transaction; a later write with the same
/// key for the entity is refused and changes nothing.
pub(super) async fn a_replica_write_keeps_its_reply_and_a_used_key_refuses_the_next(
    store: impl Store,
) {
    let check = "a_replica_write_keeps_its_reply_and_a_used_key_refuses_the_next";
    let keyed = |payload: &str| {
        let mut write = replica_write("k1", 1, payload);
        write.kept_reply = Some(super::kept_reply("key-1", "\"Ok\""));
        Write::from(write)
    };
    let results = store
        .commit(vec![keyed("{\"n\":1}")])
        .await
        .expect("commit");
    assert!(results[0].is_ok(), "{check}: {results:?}");
    let kept = store
        .kept_reply("replicated", "k1", "key-1")
        .await
        .expect("kept_reply")
        .expect("the reply is kept");
    assert_eq!(kept.body, Bytes::from_static(b"\"Ok\""), "{check}");
    let results = store
        .commit(vec![keyed("{\"n\":2}")])
        .await
        .expect("commit");
    assert_eq!(results[0], Err(WriteError::KeyUsed), "{check}");
    assert_eq!(
        rows(&store, "k1").await[0].2,
        "{\"n\":1}",
        "{check}: nothing changed"
    );
}
