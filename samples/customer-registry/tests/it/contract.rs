//! The entity's contract over HTTP.

use kalix_testkit::TestKit;
use serde_json::json;

use crate::customer;

#[tokio::test]
async fn a_customer_is_created_once_read_changed_and_deleted() {
    let testkit = TestKit::start().await;
    let ann = customer("c1", "ann@example.com", "Ann", Some("Oslo"));
    let created = testkit
        .post("/customer/c1/create")
        .json(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    assert_eq!(
        created.json::<serde_json::Value>().await.unwrap(),
        json!("OK")
    );

    let again = testkit
        .post("/customer/c1/create")
        .json(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    let problem: serde_json::Value = again.json().await.unwrap();
    assert_eq!(problem["detail"], "Customer exists already");

    let read: serde_json::Value = testkit
        .get("/customer/c1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, ann);

    let unknown = testkit.get("/customer/nobody").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let problem: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(problem["detail"], "No customer found for id 'nobody'");

    let renamed = testkit
        .post("/customer/c1/changeName/Anna")
        .send()
        .await
        .unwrap();
    assert_eq!(
        renamed.json::<serde_json::Value>().await.unwrap(),
        json!("OK")
    );
    let moved = testkit
        .post("/customer/c1/changeAddress")
        .json(&json!({"street": "Elm 1", "city": "Bergen"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        moved.json::<serde_json::Value>().await.unwrap(),
        json!("OK")
    );
    let read: serde_json::Value = testkit
        .get("/customer/c1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["name"], "Anna");
    assert_eq!(
        read["address"],
        json!({"street": "Elm 1", "city": "Bergen"})
    );

    let bad_address = testkit
        .post("/customer/c1/changeAddress")
        .json(&json!({"street": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_address.status(), 400, "a malformed address is refused");

    let deleted = testkit.delete("/customer/c1").send().await.unwrap();
    assert_eq!(
        deleted.json::<serde_json::Value>().await.unwrap(),
        json!("OK")
    );
    assert_eq!(
        testkit.get("/customer/c1").send().await.unwrap().status(),
        404
    );
    testkit.stop().await;
}
