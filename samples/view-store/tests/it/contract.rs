//! The sample's contract as the issue writes it, and what it does not list: unknown ids, bad
//! bodies, a customer without orders, an order whose product does not exist yet, a rename.

use kalix_testkit::TestKit;
use serde_json::{Value, json};
use view_store::views::CustomerOrdersView;

use crate::{create, customer, order, order_ids, product, until};

async fn store(testkit: &TestKit) {
    let (http, base) = (testkit.http(), testkit.base_url());
    create(
        http,
        base,
        "/product/P123/create",
        &product("Super Duper Thingamajig", 123),
    )
    .await;
    create(
        http,
        base,
        "/product/P987/create",
        &product("Awesome Whatchamacallit", 987),
    )
    .await;
    create(
        http,
        base,
        "/customer/C001/create",
        &customer("Some Customer"),
    )
    .await;
    create(
        http,
        base,
        "/order/O1234/create",
        &order("P123", "C001", 42),
    )
    .await;
    // Another millisecond, so the two orders' timestamps differ.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    create(http, base, "/order/O5678/create", &order("P987", "C001", 7)).await;
}

#[tokio::test]
async fn the_joined_view_answers_one_row_per_order_with_its_product_and_customer() {
    let testkit = TestKit::start().await;
    store(&testkit).await;
    let (status, found) = until(&testkit.url("/joined-customer-orders/C001"), |_, body| {
        order_ids(&body["orders"]).len() == 2
    })
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        order_ids(&found["orders"]),
        ["O1234", "O5678"],
        "oldest first"
    );
    let first = &found["orders"][0];
    let mut fields: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "address",
            "createdTimestamp",
            "customerId",
            "email",
            "name",
            "orderId",
            "price",
            "productId",
            "productName",
            "quantity"
        ]
    );
    assert_eq!(first["productName"], "Super Duper Thingamajig");
    assert_eq!(
        first["name"], "Some Customer",
        "the customer's name, not the product's"
    );
    assert_eq!(
        first["price"],
        json!({"currency": "USD", "units": 123, "cents": 45})
    );
    assert_eq!(first["quantity"], 42);
    assert_eq!(first["address"]["city"], "Some City");
    let order: Value = testkit
        .get("/order/O1234")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["createdTimestamp"], order["createdTimestamp"]);
    assert!(order["createdTimestamp"].as_u64().unwrap() > 1_700_000_000_000);

    // The typed client answers the same.
    let client = testkit.component_client();
    let typed = client
        .view::<CustomerOrdersView>()
        .joined("C001".to_owned())
        .await
        .unwrap();
    assert_eq!(typed.orders.len(), 2);
    assert_eq!(typed.orders[1].product_name, "Awesome Whatchamacallit");
    testkit.stop().await;
}

#[tokio::test]
async fn the_nested_view_answers_the_customer_with_its_orders_inside() {
    let testkit = TestKit::start().await;
    store(&testkit).await;
    let (status, found) = until(&testkit.url("/nested-customer-orders/C001"), |_, body| {
        order_ids(&body["orders"]).len() == 2
    })
    .await;
    assert_eq!(status, 200);
    assert_eq!(found["customerId"], "C001");
    assert_eq!(found["email"], "some customer@example.com");
    assert_eq!(found["name"], "Some Customer");
    assert_eq!(found["address"]["street"], "123 Some Street");
    assert_eq!(order_ids(&found["orders"]), ["O1234", "O5678"]);
    assert_eq!(
        found["orders"][1],
        json!({
            "orderId": "O5678",
            "productId": "P987",
            "productName": "Awesome Whatchamacallit",
            "price": {"currency": "USD", "units": 987, "cents": 45},
            "quantity": 7,
            "createdTimestamp": found["orders"][1]["createdTimestamp"],
        })
    );

    // A customer without orders, and one that does not exist: 404 with a JSON problem.
    create(
        testkit.http(),
        testkit.base_url(),
        "/customer/C002/create",
        &customer("Lonely"),
    )
    .await;
    until(&testkit.url("/customer/C002"), |s, _| s == 200).await;
    for id in ["C002", "nobody"] {
        let response = testkit
            .get(&format!("/nested-customer-orders/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{id}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 404);
    }
    // The joined view answers an empty list for them.
    let (status, none) = until(&testkit.url("/joined-customer-orders/C002"), |_, _| true).await;
    assert_eq!((status, none), (200, json!({"orders": []})));
    testkit.stop().await;
}

#[tokio::test]
async fn a_renamed_product_shows_its_new_name_in_both_views_and_an_order_waits_for_its_product() {
    let testkit = TestKit::start().await;
    store(&testkit).await;
    let response = testkit
        .put("/product/P123/change-name/Thing%20Supreme")
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "\"Ok\"");
    // Each table of the view has its own updater: the rename may be in before the second
    // order is (views are eventually consistent, table by table), so wait for both.
    let (_, joined) = until(&testkit.url("/joined-customer-orders/C001"), |_, body| {
        body["orders"][0]["productName"] == "Thing Supreme" && order_ids(&body["orders"]).len() == 2
    })
    .await;
    assert_eq!(joined["orders"][0]["productName"], "Thing Supreme");
    assert_eq!(
        joined["orders"][1]["productName"],
        "Awesome Whatchamacallit"
    );
    let (_, nested) = until(&testkit.url("/nested-customer-orders/C001"), |_, body| {
        body["orders"][0]["productName"] == "Thing Supreme" && order_ids(&body["orders"]).len() == 2
    })
    .await;
    assert_eq!(nested["orders"][0]["productName"], "Thing Supreme");

    // An order of a product not created yet joins once the product is there.
    let (http, base) = (testkit.http(), testkit.base_url());
    create(http, base, "/order/O9/create", &order("P-later", "C001", 1)).await;
    until(&testkit.url("/order/O9"), |s, _| s == 200).await;
    let (_, before) = until(&testkit.url("/joined-customer-orders/C001"), |_, _| true).await;
    assert_eq!(order_ids(&before["orders"]), ["O1234", "O5678"]);
    create(http, base, "/product/P-later/create", &product("Later", 1)).await;
    let (_, after) = until(&testkit.url("/joined-customer-orders/C001"), |_, body| {
        order_ids(&body["orders"]).len() == 3
    })
    .await;
    assert_eq!(order_ids(&after["orders"]), ["O1234", "O5678", "O9"]);
    testkit.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_400_that_names_the_fault_and_unknown_ids_are_404() {
    let testkit = TestKit::start().await;
    let cases: [(&str, Value); 4] = [
        (
            "/order/O1/create",
            json!({"productId": "P1", "customerId": "C1", "quantity": -1}),
        ),
        (
            "/order/O1/create",
            json!({"productId": "P1", "quantity": 1}),
        ),
        (
            "/product/P1/create",
            json!({"name": "x", "price": {"currency": "USD", "units": "ten", "cents": 0}}),
        ),
        ("/customer/C1/create", json!({"email": "e", "name": "n"})),
    ];
    for (path, body) in cases {
        let response = testkit.post(path).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path} {body}");
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
    }
    let response = testkit
        .post("/customer/C1/create")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    for path in ["/customer/C1", "/product/P1", "/order/O1"] {
        let response = testkit.get(path).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains("found for id"),
            "{problem}"
        );
    }
    let response = testkit
        .put("/product/P1/change-name/x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "renaming a product never created");
    testkit.stop().await;
}

#[tokio::test]
async fn an_update_stream_over_a_join_sends_a_row_when_any_of_its_tables_changes() {
    use futures_util::StreamExt;
    let testkit = TestKit::start().await;
    store(&testkit).await;
    until(&testkit.url("/joined-customer-orders/C001"), |_, body| {
        order_ids(&body["orders"]).len() == 2
    })
    .await;
    let response = testkit
        .get("/customer-orders-updates/C001")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut next_row = async || -> Value {
        loop {
            if let Some(end) = text.find('\n') {
                let line: String = text.drain(..=end).collect();
                if !line.trim().is_empty() {
                    return serde_json::from_str(&line).unwrap();
                }
                continue;
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), body.next())
                .await
                .expect("a row within 20 s")
                .expect("the stream stays open")
                .unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    };
    let now = [next_row().await, next_row().await];
    assert_eq!(
        now.map(|row| row["orderId"].clone()),
        [json!("O1234"), json!("O5678")]
    );

    // The products table changes: the order of that product comes again, renamed.
    let response = testkit
        .put("/product/P987/change-name/Whatchamacallit%20Two")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let renamed = next_row().await;
    assert_eq!(renamed["orderId"], "O5678");
    assert_eq!(renamed["productName"], "Whatchamacallit Two");

    // The orders table changes: a new order comes.
    let (http, base) = (testkit.http(), testkit.base_url());
    create(http, base, "/order/O9999/create", &order("P123", "C001", 3)).await;
    let placed = next_row().await;
    assert_eq!(placed["orderId"], "O9999");
    assert_eq!(placed["productName"], "Super Duper Thingamajig");
    testkit.stop().await;
}
