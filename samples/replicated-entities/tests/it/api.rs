//! The service's API description: valid OpenAPI 3.1, listing the routes served.

use kalix_testkit::TestKit;

#[tokio::test]
async fn the_api_description_is_valid_openapi_and_lists_the_routes_served() {
    let testkit = TestKit::start().await;
    let document = testkit.check_api_description().await;
    for (path, method) in [
        ("/counter/{counter_id}/increase-all", "post"),
        ("/set/{set_id}", "get"),
        ("/register/{register_id}", "put"),
        ("/cart/{cart_id}/remove/{product_id}", "post"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{path}: {document:#}"
        );
    }
    testkit.stop().await;
}
