use std::time::Duration;

use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::Value;

use crate::components::Recorder;
use crate::start;

async fn total(testkit: &TestKit, id: &str) -> i64 {
    let body = crate::get_json(testkit, &format!("/tally/{id}")).await;
    body.as_i64().unwrap()
}

#[tokio::test]
async fn a_panicking_command_is_a_500_and_leaves_the_entity_and_the_others_intact() {
    let (testkit, _) = start().await;
    testkit.post("/tally/p1/add/5").send().await.unwrap();
    testkit.post("/tally/p2/add/7").send().await.unwrap();
    let response = testkit.post("/tally/p1/add/13").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Unexpected error [")
    );
    // Reloaded from the store: the state before the panic.
    assert_eq!(total(&testkit, "p1").await, 5);
    testkit.post("/tally/p1/add/1").send().await.unwrap();
    assert_eq!(total(&testkit, "p1").await, 6);
    assert_eq!(total(&testkit, "p2").await, 7);
}

#[tokio::test]
async fn entities_evicted_past_the_bound_reload_their_state() {
    let testkit = TestKit::builder()
        .dependency(Recorder::default())
        .config(|config| config.with_max_active_entities(4))
        .start()
        .await;
    for round in 1..=3 {
        for id in 0..100 {
            // Never 13, which panics.
            let n = id + 100;
            let response = testkit
                .post(&format!("/tally/e{id}/add/{n}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.json::<Value>().await.unwrap(), round * n);
        }
    }
    for id in 0..100 {
        assert_eq!(total(&testkit, &format!("e{id}")).await, 3 * (id + 100));
    }
}

#[tokio::test]
async fn passivated_entities_reload_their_state() {
    let testkit = TestKit::builder()
        .dependency(Recorder::default())
        .config(|config| config.with_passivation_timeout(Duration::from_millis(20)))
        .start()
        .await;
    for _ in 0..3 {
        testkit.post("/tally/idle/add/2").send().await.unwrap();
        // Long enough for the sweeper (every 10 ms at this timeout) to drop the idle entity.
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    assert_eq!(total(&testkit, "idle").await, 6);
}

#[tokio::test]
async fn an_unknown_entity_id_reads_as_the_empty_state_and_a_missing_id_is_a_400() {
    let (testkit, _) = start().await;
    assert_eq!(total(&testkit, "never-written").await, 0);
    let response = testkit.get("/tally/").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn balance(testkit: &TestKit, id: &str) -> Value {
    testkit
        .get(&format!("/ledger/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_event_sourced_reply_sees_the_state_after_all_its_events() {
    let (testkit, _) = start().await;
    let body: Value = testkit
        .post("/ledger/l1/credit/5")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, 10, "two events of 5 each");
    // Crossing snapshot boundaries (every 3 events) changes nothing visible.
    for _ in 0..4 {
        testkit.post("/ledger/l1/credit/1").send().await.unwrap();
    }
    assert_eq!(balance(&testkit, "l1").await, 18);
}

#[tokio::test]
async fn a_panicking_command_leaves_the_journal_and_the_entity_rebuilds_from_it() {
    let (testkit, _) = start().await;
    testkit.post("/ledger/p/credit/2").send().await.unwrap();
    let response = testkit.post("/ledger/p/credit/13").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(balance(&testkit, "p").await, 4);
    testkit.post("/ledger/p/credit/1").send().await.unwrap();
    assert_eq!(balance(&testkit, "p").await, 6);
}

#[tokio::test]
async fn a_deleted_event_sourced_entity_keeps_its_state_and_refuses_events() {
    let (testkit, _) = start().await;
    testkit.post("/ledger/d/credit/3").send().await.unwrap();
    let body: Value = testkit
        .post("/ledger/d/close")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, "closed at 6");
    let response = testkit.post("/ledger/d/credit/1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "ledger 'd' was deleted and accepts no more events"
    );
    assert_eq!(balance(&testkit, "d").await, 6);
}

#[tokio::test]
async fn events_are_stored_under_their_serde_tag() {
    use kalix_core::store::{EntityStore, SqliteStore};
    let store = std::sync::Arc::new(SqliteStore::memory().unwrap());
    let testkit = TestKit::builder()
        .dependency(Recorder::default())
        .store(store.clone())
        .start()
        .await;
    testkit.post("/ledger/t/credit/1").send().await.unwrap();
    testkit.post("/ledger/t/close").send().await.unwrap();
    let events = store.read_events("ledger", "t", 1).await.unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.type_name.as_str()).collect();
    // `ClosedForGood` keeps its stored name `Closed` through `serde(rename)`.
    assert_eq!(names, ["Credited", "Credited", "Closed"]);
    assert_eq!(&events[2].payload[..], b"\"Closed\"");
}

#[tokio::test]
async fn a_body_of_the_state_type_marked_body_sets_the_state() {
    let (testkit, _) = start().await;
    let set = testkit
        .put("/tally/marked")
        .header("content-type", "application/json")
        .body("7")
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(total(&testkit, "marked").await, 7);
}

/// Version 1 of a profile splits `name` into `first` and `last`.
pub struct ProfileMigration;

impl kalix_core::event_sourced_entity::JsonMigration for ProfileMigration {
    const CURRENT_VERSION: u32 = 1;

    fn transform(from_version: u32, mut state: Value) -> Value {
        if from_version < 1
            && let Some(fields) = state.as_object_mut()
        {
            let name = fields
                .remove("name")
                .and_then(|name| name.as_str().map(str::to_owned))
                .unwrap_or_default();
            let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
            fields.insert("first".into(), Value::from(first));
            fields.insert("last".into(), Value::from(last));
        }
        state
    }
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    pub first: String,
    pub last: String,
}

#[derive(Default)]
pub struct ProfileEntity;

#[kalix_core::prelude::value_entity(type_id = "it-profile", id = "id", migration = ProfileMigration)]
impl ProfileEntity {
    #[kalix_core::prelude::get("/profile/<id>")]
    pub fn get(&self, profile: &Profile) -> kalix_core::value_entity::Effect<Profile, Profile> {
        kalix_core::value_entity::Effect::reply(profile.clone())
    }

    #[kalix_core::prelude::put("/profile/<id>/last/<last>")]
    pub fn set_last(
        &self,
        profile: &Profile,
        last: String,
    ) -> kalix_core::value_entity::Effect<Profile, Profile> {
        let changed = Profile {
            last,
            ..profile.clone()
        };
        kalix_core::value_entity::Effect::update_state(changed.clone()).then_reply(changed)
    }
}

/// Sees each profile as it changes.
pub struct ProfileChanges {
    recorder: Recorder,
}

impl ProfileChanges {
    pub fn new(
        dependencies: &kalix_core::Dependencies,
    ) -> Result<Self, kalix_core::MissingDependency> {
        Ok(Self {
            recorder: dependencies.get::<Recorder>()?,
        })
    }
}

#[kalix_core::prelude::action(new = ProfileChanges::new)]
impl ProfileChanges {
    #[kalix_core::prelude::subscribe(value_entity = ProfileEntity)]
    pub async fn on_change(&self, profile: Profile) -> kalix_core::action::Effect<()> {
        self.recorder
            .push(format!("profile {} {}", profile.first, profile.last));
        kalix_core::action::Effect::reply(())
    }
}

#[tokio::test]
async fn a_value_entity_state_written_before_a_migration_is_read_in_the_current_shape() {
    use kalix_core::store::{SqliteStore, StateWrite, Store, Write};
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(SqliteStore::memory().unwrap());
    // A profile as the entity stored it before its migration existed (version 0).
    let old = StateWrite {
        type_id: "it-profile".to_owned(),
        entity_id: "p1".to_owned(),
        expected_version: 0,
        follows_own_write: false,
        payload: Some(bytes::Bytes::from_static(br#"{"name":"Ann Lee"}"#)),
        timers: Vec::new(),
        kept_reply: None,
        trace_parent: None,
    };
    store.commit(vec![Write::State(old)]).await.unwrap();
    let recorder = Recorder::default();
    let testkit = TestKit::builder()
        .dependency(recorder.clone())
        .store(std::sync::Arc::clone(&store))
        .start()
        .await;
    assert_eq!(
        crate::get_json(&testkit, "/profile/p1").await,
        serde_json::json!({"first": "Ann", "last": "Lee"})
    );
    // The subscriber got the old state in the current shape too.
    kalix_testkit::eventually(|| async {
        match recorder.count("profile Ann Lee") {
            1 => Ok(()),
            n => Err(n),
        }
    })
    .await;
    // Written again, it is stored at version 1 and read as it is.
    let changed = testkit.put("/profile/p1/last/Lind").send().await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let stored = store.load("it-profile", "p1").await.unwrap().unwrap();
    let stored: Value = serde_json::from_slice(&stored.payload.unwrap()).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"kalix-state-version": 1, "state": {"first": "Ann", "last": "Lind"}})
    );
    assert_eq!(
        crate::get_json(&testkit, "/profile/p1").await,
        serde_json::json!({"first": "Ann", "last": "Lind"})
    );
    kalix_testkit::eventually(|| async {
        match recorder.count("profile Ann Lind") {
            1 => Ok(()),
            n => Err(n),
        }
    })
    .await;
}

/// A keyed command that changes its entity and forwards: a repeat changes nothing again and
/// makes the forward again (its reply is the forward's).
#[tokio::test]
async fn a_keyed_change_that_forwards_applies_once_and_forwards_again() {
    let (testkit, _) = start().await;
    let send = |n: i64| {
        testkit
            .post(&format!("/tally/fwd/add-then-read/{n}"))
            .header("Idempotency-Key", "f1")
            .send()
    };
    let first = send(5).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.json::<i64>().await.unwrap(), 5);
    let again = send(5).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<i64>().await.unwrap(), 5, "not added twice");
    assert_eq!(crate::get_json(&testkit, "/tally/fwd").await, 5);
}
