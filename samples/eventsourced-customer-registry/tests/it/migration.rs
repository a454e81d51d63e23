//! A journal written before `CustomerCreated` had `address` (flat `street` and `city`, stored
//! without a version) still replays, into the entity and into the view.

use std::sync::Arc;

use bytes::Bytes;
use kalix_core::store::{EntityStore, EventAppend, NewEvent, SqliteStore, Write};
use kalix_testkit::TestKit;
use serde_json::json;

use crate::rows_until;

#[tokio::test]
async fn events_of_the_old_shape_replay_in_the_new_one() {
    let store = SqliteStore::memory().unwrap();
    let old = |name: &str, payload: serde_json::Value| NewEvent {
        type_name: name.to_owned(),
        payload: Bytes::from(payload.to_string()),
    };
    let append = EventAppend {
        type_id: "customer".to_owned(),
        entity_id: "old1".to_owned(),
        expected_seq: 0,
        follows_own_write: false,
        events: vec![
            old(
                "CustomerCreated",
                json!({"CustomerCreated": {"email": "old@x.org", "name": "Olga", "street": "Main 3", "city": "Turku"}}),
            ),
            old("NameChanged", json!({"NameChanged": {"newName": "Olga B"}})),
        ],
        snapshot: None,
        delete: false,
        kept_reply: None,
        trace_parent: None,
    };
    let results = store.commit(vec![Write::Events(append)]).await.unwrap();
    assert!(results[0].is_ok(), "{results:?}");
    let testkit = TestKit::builder().store(Arc::new(store)).start().await;
    let expected = json!({"email": "old@x.org", "name": "Olga B", "address": {"street": "Main 3", "city": "Turku"}});
    let read: serde_json::Value = testkit
        .get("/customer/old1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, expected, "the entity replays the old journal");
    let rows = rows_until(&testkit.url("/customer/by_email/old@x.org"), |rows| {
        !rows.is_empty()
    })
    .await;
    assert_eq!(rows, [expected], "the view reads the old events too");
    // New events are written at the current version and read back as they are.
    testkit
        .post("/customer/old1/changeAddress")
        .json(&json!({"street": "New 1", "city": "Oulu"}))
        .send()
        .await
        .unwrap();
    let read: serde_json::Value = testkit
        .get("/customer/old1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["address"]["city"], "Oulu");
    testkit.stop().await;
}
