use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::json;

use crate::{cart, send};

#[tokio::test]
async fn create_replies_with_a_new_cart_id() {
    let testkit = TestKit::start().await;
    let (status, id) = send(testkit.post("/carts/create")).await;
    assert_eq!(status, StatusCode::OK);
    let id = id.as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let (status, body) = send(testkit.post(&format!("/cart/{id}/create"))).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the controller created it already"
    );
    assert_eq!(body["detail"], "Cart was already created");
}

#[tokio::test]
async fn carrots_are_refused_and_other_items_forwarded() {
    let testkit = TestKit::start().await;
    for name in ["carrot", "Carrot", "CARROT"] {
        let item = json!({"productId": "c", "name": name, "quantity": 1});
        let (status, body) = send(testkit.post("/carts/k1/items/add").json(&item)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["detail"], "Carrots no longer for sale");
    }
    let item = json!({"productId": "b", "name": "beet", "quantity": 2});
    let (status, body) = send(testkit.post("/carts/k1/items/add").json(&item)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"cartId": "k1", "items": [{"productId": "b", "name": "beet", "quantity": 2}]})
    );
    // The entity's own errors come back through the forward.
    let item = json!({"productId": "b", "name": "beet", "quantity": 0});
    let (status, body) = send(testkit.post("/carts/k1/items/add").json(&item)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Quantity for item b must be greater than zero."
    );
}

#[tokio::test]
async fn a_prepopulated_cart_holds_an_eggplant() {
    let testkit = TestKit::start().await;
    let (status, id) = send(testkit.post("/carts/prepopulated")).await;
    assert_eq!(status, StatusCode::OK);
    let id = id.as_str().unwrap().to_owned();
    assert_eq!(
        cart(&testkit, &id).await,
        json!({"cartId": id, "items": [{"productId": "e", "name": "eggplant", "quantity": 1}]})
    );
}

#[tokio::test]
async fn delete_passes_the_user_role_on_as_metadata() {
    let testkit = TestKit::start().await;
    let item = json!({"productId": "b", "name": "beet", "quantity": 2});
    send(testkit.post("/cart/d1/items/add").json(&item)).await;

    let (status, body) = send(testkit.delete("/carts/d1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Only admin can remove the cart");
    let (status, body) = send(testkit.delete("/carts/d1").header("UserRole", "Guest")).await;
    assert_eq!(
        (status, body["detail"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Only admin can remove the cart")
        )
    );

    let (status, body) = send(testkit.delete("/carts/d1").header("UserRole", "Admin")).await;
    assert_eq!((status, body), (StatusCode::OK, json!("OK")));
    assert_eq!(
        cart(&testkit, "d1").await,
        json!({"cartId": "d1", "items": []})
    );
}
