//! The entity's contract, its views and the stream it publishes, in-process.

use kalix_testkit::TestKit;
use serde_json::{Value, json};

use crate::rows_until;

#[tokio::test]
async fn commands_answer_done_and_the_views_follow_the_events() {
    let testkit = TestKit::start().await;
    let body = json!({"email": "ann@x.org", "name": "Ann", "address": {"street": "Elm 1", "city": "Oslo"}});
    let created: Value = testkit
        .post("/customer/c1/create")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created, json!({"msg": "done"}));
    let again = testkit
        .post("/customer/c1/create")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    let read: Value = testkit
        .get("/customer/c1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, body);
    assert_eq!(
        testkit.get("/customer/none").send().await.unwrap().status(),
        404
    );
    let renamed = testkit
        .post("/customer/none/changeName/X")
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 404, "an unknown customer is not renamed");

    let by_email = testkit.url("/customer/by_email/ann@x.org");
    let rows = rows_until(&by_email, |rows| rows.len() == 1).await;
    assert_eq!(rows, std::slice::from_ref(&body));

    let renamed: Value = testkit
        .post("/customer/c1/changeName/Anna")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(renamed, json!({"msg": "done"}));
    let moved: Value = testkit
        .post("/customer/c1/changeAddress")
        .json(&json!({"street": "Oak 2", "city": "Bergen"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved, json!({"msg": "done"}));
    let expected = json!({"email": "ann@x.org", "name": "Anna", "address": {"street": "Oak 2", "city": "Bergen"}});
    let rows = rows_until(&testkit.url("/customer/by_name/Anna"), |rows| {
        rows == [expected.clone()]
    })
    .await;
    assert_eq!(rows, std::slice::from_ref(&expected));
    let rows = rows_until(&testkit.url("/customer/by_name/Ann"), |rows| {
        rows.is_empty()
    })
    .await;
    assert!(rows.is_empty(), "the row moved to its new name: {rows:?}");

    // The stream `customer_events` carries the creation and the rename, not the move.
    let published = rows_until(
        &testkit.url("/_kalix/streams/customer_events?limit=10&wait_ms=0"),
        |pages| {
            pages
                .first()
                .is_some_and(|page| page["messages"].as_array().is_some_and(|m| m.len() >= 2))
        },
    )
    .await;
    let page = &published[0];
    let types: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a[0] == "ce-type")
                .unwrap()[1]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(types, ["customer-created", "name-changed"], "{page}");
    testkit.stop().await;
}
