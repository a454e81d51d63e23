//! The admin API on the counter's consumers: its consumers and view with their positions, the
//! dead letters of its commands topic, and redelivering one.

use eventsourced_counter::eventing::IncreaseCounter;
use kalix_core::store::TopicMessage;
use kalix_testkit::{TestKit, eventually};
use serde_json::{Value, json};

async fn admin(testkit: &TestKit, path: &str) -> (u16, Value) {
    let response = testkit
        .http()
        .get(testkit.admin_url(path))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn unreadable() -> TopicMessage {
    TopicMessage {
        id: "unreadable-1".to_owned(),
        attributes: vec![
            ("ce-specversion".into(), "1.0".into()),
            ("ce-id".into(), "unreadable-1".into()),
            ("ce-type".into(), "IncreaseCounter".into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        payload: bytes::Bytes::from_static(b"not json"),
    }
}

#[tokio::test]
async fn consumers_views_and_dead_letters_are_listed_and_a_dead_letter_is_redelivered() {
    let testkit = TestKit::start().await;
    let commands = testkit.incoming("counter-commands");
    commands.publish_message(unreadable()).await;
    let increase = IncreaseCounter {
        counter_id: "a1".to_owned(),
        value: 2,
    };
    commands.publish(&increase, "a1").await;
    let dead_letters = eventually(|| async {
        let (status, body) = admin(&testkit, "/admin/topics/counter-commands/dead-letters").await;
        assert_eq!(status, 200, "{body:#}");
        match body["dead_letters"].as_array().map(Vec::len) {
            Some(1) => Ok(body),
            _ => Err(body),
        }
    })
    .await;
    let letter = &dead_letters["dead_letters"][0];
    assert_eq!(letter["id"], "unreadable-1");
    assert_eq!(letter["body"], "not json");
    assert!(
        letter["attributes"]["kalix-dead-letter-reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("not what")),
        "{letter:#}"
    );

    // The commands consumer saves its position past both once its batch is done; its
    // subscription and view too. (Other tests in this process run consumers of the same names:
    // what this process saw of them is shared, the positions are this store's.)
    let body = eventually(|| async {
        let (status, body) = admin(&testkit, "/admin/consumers").await;
        assert_eq!(status, 200);
        let saved = body["consumers"].as_array().unwrap().iter().any(|c| {
            c["kind"] == "topic"
                && c["name"]
                    .as_str()
                    .is_some_and(|name| name.starts_with("topic:counter-commands:"))
                && c["position"]["position"].as_u64().is_some_and(|p| p >= 2)
        });
        if saved { Ok(body) } else { Err(body) }
    })
    .await;
    let consumers = body["consumers"].as_array().unwrap();
    let topic = consumers
        .iter()
        .find(|c| {
            c["name"]
                .as_str()
                .is_some_and(|name| name.starts_with("topic:counter-commands:"))
        })
        .unwrap();
    assert_eq!(topic["this_process"]["runs_it"], true, "{topic:#}");
    let subscription = consumers
        .iter()
        .find(|c| c["kind"] == "subscription")
        .unwrap_or_else(|| panic!("the entity subscriptions are listed: {body:#}"));
    assert_eq!(
        subscription["this_process"]["runs_it"], true,
        "{subscription:#}"
    );
    let view = eventually(|| async {
        let (_, body) = admin(&testkit, "/admin/views").await;
        let view = body["views"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["table"] == "counter_totals")
            .cloned()
            .unwrap_or_default();
        if view["updater"]["position"].is_object() {
            Ok(view)
        } else {
            Err(body)
        }
    })
    .await;
    assert_eq!(view["source"]["type_id"], "counter");
    assert_eq!(view["updater"]["name"], "view:counter_totals");

    // Redelivered under a new id: still unreadable, so dead-lettered again, under that id.
    let redeliver =
        testkit.admin_url("/admin/topics/counter-commands/dead-letters/unreadable-1/redeliver");
    let forged = testkit.http().post(&redeliver).send().await.unwrap();
    assert_eq!(forged.status(), 403, "without X-Kalix-Admin");
    let response = testkit
        .http()
        .post(&redeliver)
        .header("X-Kalix-Admin", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let redelivered: Value = response.json().await.unwrap();
    let new_id = redelivered["redelivered_as"].as_str().unwrap().to_owned();
    assert_eq!(new_id, "unreadable-1~redelivered", "{redelivered:#}");
    // Asked again (a retried request): the same id, which the topic holds already.
    let again: Value = testkit
        .http()
        .post(&redeliver)
        .header("X-Kalix-Admin", "test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["redelivered_as"], "unreadable-1~redelivered");

    eventually(|| async {
        let (_, body) = admin(&testkit, "/admin/topics/counter-commands/dead-letters").await;
        let ids: Vec<&str> = body["dead_letters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["id"].as_str())
            .collect();
        if ids == ["unreadable-1", new_id.as_str()] {
            Ok(())
        } else {
            Err(format!("{ids:?}"))
        }
    })
    .await;

    // Bad input and unknown names.
    let missing = testkit
        .http()
        .post(testkit.admin_url("/admin/topics/counter-commands/dead-letters/nope/redeliver"))
        .header("X-Kalix-Admin", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let (status, body) = admin(&testkit, "/admin/topics/no-such-topic/dead-letters").await;
    assert_eq!((status, body["dead_letters"].clone()), (200, json!([])));
    let (status, body) = admin(&testkit, "/admin/consumers?limit=0").await;
    assert_eq!((status, body["status"].clone()), (400, json!(400)));
    testkit.stop().await;
}

#[tokio::test]
async fn a_view_rebuilt_through_the_admin_api_is_built_again_from_the_events() {
    let store: std::sync::Arc<dyn kalix_core::store::Store> =
        std::sync::Arc::new(kalix_core::store::SqliteStore::memory().unwrap());
    let testkit = TestKit::builder()
        .store(std::sync::Arc::clone(&store))
        .start()
        .await;
    for _ in 0..3 {
        let increased = testkit.post("/counter/r1/increase/5").send().await.unwrap();
        assert_eq!(increased.status(), 200);
    }
    let total = |expected: Value| {
        let testkit = &testkit;
        async move {
            eventually(|| async {
                let row: Value = testkit
                    .get("/counter/r1/total")
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap_or(Value::Null);
                if row == expected { Ok(()) } else { Err(row) }
            })
            .await;
        }
    };
    let right = json!({"counterId": "r1", "value": 15, "events": 3});
    total(right.clone()).await;

    // The row goes wrong behind the updater's back (as a bug in an update method would make it).
    let wrong = json!({"counterId": "r1", "value": -1, "events": 99});
    store
        .commit_view(
            "counter_totals",
            vec![kalix_core::store::ViewRowWrite {
                key: "r1".to_owned(),
                row: Some(bytes::Bytes::from(wrong.to_string())),
            }],
            "a-test-writer",
            kalix_core::store::ConsumerProgress::default(),
            None,
        )
        .await
        .unwrap();
    total(wrong).await;

    let rebuild = testkit.admin_url("/admin/views/counter_totals/rebuild");
    let forged = testkit.http().post(&rebuild).send().await.unwrap();
    assert_eq!(forged.status(), 403, "without X-Kalix-Admin");
    let response = testkit
        .http()
        .post(&rebuild)
        .header("X-Kalix-Admin", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    // Emptied, then built again from the three events.
    total(right).await;

    let unknown = testkit
        .http()
        .post(testkit.admin_url("/admin/views/no_such_table/rebuild"))
        .header("X-Kalix-Admin", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    testkit.stop().await;
}
