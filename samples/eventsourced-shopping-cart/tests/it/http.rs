use kalix_core::StoreLocation;
use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::{Value, json};

async fn send(request: kalix_testkit::reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn start_on(path: &std::path::Path) -> TestKit {
    let location = StoreLocation::Sqlite(path.to_owned());
    TestKit::builder()
        .config(|config| config.with_store(location))
        .start()
        .await
}

#[tokio::test]
async fn the_cart_contract_holds_before_and_after_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("carts.db");
    let testkit = start_on(&database).await;
    assert_eq!(
        send(testkit.post("/cart/c1/create")).await,
        (StatusCode::OK, json!("OK"))
    );
    for (product, quantity) in [("tomato", 2), ("apple", 1), ("tomato", 3), ("pear", 4)] {
        let item = json!({"productId": product, "name": product, "quantity": quantity});
        assert_eq!(
            send(testkit.post("/cart/c1/add").json(&item)).await,
            (StatusCode::OK, json!("OK"))
        );
    }
    assert_eq!(
        send(testkit.post("/cart/c1/items/pear/remove")).await,
        (StatusCode::OK, json!("OK"))
    );
    let (status, body) = send(testkit.post("/cart/c1/items/pear/remove")).await;
    assert_eq!(
        (status, body["detail"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Cannot remove item pear because it is not in the cart.")
        )
    );
    let (status, body) = send(
        testkit
            .post("/cart/c1/add")
            .json(&json!({"productId": "x", "name": "x", "quantity": -2})),
    )
    .await;
    assert_eq!(
        (status, body["detail"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Quantity for item x must be greater than zero.")
        )
    );

    let expected = json!({"cartId": "c1", "items": [
        {"productId": "apple", "name": "apple", "quantity": 1},
        {"productId": "tomato", "name": "tomato", "quantity": 5}
    ], "checkedOut": false});
    assert_eq!(
        send(testkit.get("/cart/c1")).await,
        (StatusCode::OK, expected.clone())
    );
    testkit.stop().await;

    let restarted = start_on(&database).await;
    assert_eq!(
        send(restarted.get("/cart/c1")).await,
        (StatusCode::OK, expected),
        "replayed after the restart"
    );
    assert_eq!(
        send(restarted.post("/cart/c1/checkout")).await,
        (StatusCode::OK, json!("OK"))
    );
    let (status, body) = send(
        restarted
            .post("/cart/c1/add")
            .json(&json!({"productId": "y", "name": "y", "quantity": 1})),
    )
    .await;
    assert_eq!(
        (status, body["detail"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Cart is already checked out.")
        )
    );
    let (_, body) = send(restarted.get("/cart/c1")).await;
    assert_eq!(body["checkedOut"], true);
    restarted.stop().await;

    let again = start_on(&database).await;
    let (_, body) = send(again.get("/cart/c1")).await;
    assert_eq!(
        body["checkedOut"], true,
        "the checkout survives a restart too"
    );
}

#[tokio::test]
async fn an_unknown_cart_is_empty() {
    let testkit = TestKit::start().await;
    let (status, body) = send(testkit.get("/cart/nobody")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"cartId": "nobody", "items": [], "checkedOut": false})
        )
    );
}

#[tokio::test]
async fn a_quantity_past_the_range_of_i32_is_a_400_and_the_cart_keeps_its_items() {
    let testkit = TestKit::start().await;
    let item = json!({"productId": "bulk", "name": "Bulk", "quantity": i32::MAX});
    let (status, _) = send(testkit.post("/cart/big/add").json(&item)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(testkit.post("/cart/big/add").json(&item)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Quantity for item bulk would exceed 2147483647."
    );
    let (_, cart) = send(testkit.get("/cart/big")).await;
    assert_eq!(
        cart["items"],
        json!([{"productId": "bulk", "name": "Bulk", "quantity": i32::MAX}])
    );
}
