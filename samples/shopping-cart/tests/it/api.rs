//! The service's API description (`/openapi.json` on the admin listener): valid OpenAPI 3.1,
//! listing exactly the routes the service answers.

use kalix_testkit::TestKit;

#[tokio::test]
async fn the_api_description_is_valid_openapi_and_lists_the_routes_served() {
    let testkit = TestKit::start().await;
    let document = testkit.check_api_description().await;
    let operation = &document["paths"]["/carts/{cart_id}/items/add"]["post"];
    assert!(operation["responses"]["200"].is_object(), "{document:#}");
    testkit.stop().await;
}
