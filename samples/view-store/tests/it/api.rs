//! The service's API description (`/openapi.json` on the admin listener): valid OpenAPI 3.1,
//! listing the entities' routes and the joined views' queries with their result types.

use kalix_testkit::TestKit;

#[tokio::test]
async fn the_api_description_is_valid_openapi_and_lists_the_joined_queries() {
    let testkit = TestKit::start().await;
    let document = testkit.check_api_description().await;
    for path in [
        "/joined-customer-orders/{customer_id}",
        "/nested-customer-orders/{customer_id}",
        "/customer-orders-updates/{customer_id}",
    ] {
        let operation = &document["paths"][path]["get"];
        assert!(
            operation["responses"]["200"].is_object(),
            "{path}: {document:#}"
        );
    }
    assert!(
        document["paths"]["/order/{order_id}/create"]["post"].is_object(),
        "{document:#}"
    );
    testkit.stop().await;
}
