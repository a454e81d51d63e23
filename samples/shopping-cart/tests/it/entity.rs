use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::json;

use crate::{cart, send};

#[tokio::test]
async fn the_cart_entity_contract() {
    let testkit = TestKit::start().await;
    assert_eq!(
        cart(&testkit, "c1").await,
        json!({"cartId": "c1", "items": []})
    );

    let (status, body) = send(testkit.post("/cart/c1/create")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"cartId": "c1", "items": []}));
    let (status, body) = send(testkit.post("/cart/c1/create")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Cart was already created");

    for (product, quantity) in [("tomato", 2), ("apple", 1), ("tomato", 3)] {
        let item =
            json!({"productId": product, "name": product.to_uppercase(), "quantity": quantity});
        let (status, _) = send(testkit.post("/cart/c1/items/add").json(&item)).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(
        cart(&testkit, "c1").await,
        json!({"cartId": "c1", "items": [
            {"productId": "apple", "name": "APPLE", "quantity": 1},
            {"productId": "tomato", "name": "TOMATO", "quantity": 5}
        ]})
    );

    let (status, body) = send(
        testkit
            .post("/cart/c1/items/add")
            .json(&json!({"productId": "p", "name": "P", "quantity": -1})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Quantity for item p must be greater than zero."
    );

    let (status, body) = send(testkit.post("/cart/c1/items/apple/remove")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (status, body) = send(testkit.post("/cart/c1/items/apple/remove")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Cannot remove item apple because it is not in the cart."
    );

    let (status, body) = send(testkit.post("/cart/c1/remove")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Only admin can remove the cart");
    let (status, body) = send(testkit.post("/cart/c1/remove").header("Role", "Admin")).await;
    assert_eq!((status, body), (StatusCode::OK, json!("OK")));
    assert_eq!(
        cart(&testkit, "c1").await,
        json!({"cartId": "c1", "items": []})
    );
}

#[tokio::test]
async fn a_missing_field_in_an_item_is_named() {
    let testkit = TestKit::start().await;
    let (status, body) = send(
        testkit
            .post("/cart/c2/items/add")
            .json(&json!({"productId": "p", "quantity": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("missing field `name`"),
        "{body}"
    );
}

#[tokio::test]
async fn a_quantity_past_the_range_of_i32_is_a_400_and_the_cart_keeps_its_items() {
    let testkit = TestKit::start().await;
    let item = json!({"productId": "bulk", "name": "Bulk", "quantity": i32::MAX});
    let (status, _) = send(testkit.post("/cart/big/items/add").json(&item)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(testkit.post("/cart/big/items/add").json(&item)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Quantity for item bulk would exceed 2147483647."
    );
    assert_eq!(
        cart(&testkit, "big").await["items"],
        json!([{"productId": "bulk", "name": "Bulk", "quantity": i32::MAX}])
    );
}
