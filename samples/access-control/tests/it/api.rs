//! The service's API description (`/openapi.json` on the admin listener): valid OpenAPI 3.1,
//! listing exactly the routes the service answers.

#[tokio::test]
async fn the_api_description_is_valid_openapi_and_lists_the_routes_served() {
    let testkit = crate::start().await;
    let document = testkit.check_api_description().await;
    let operation = &document["paths"]["/public/hello/{name}"]["get"];
    assert!(operation["responses"]["200"].is_object(), "{document:#}");
    // Open to the internet: no security requirement.
    assert!(operation.get("security").is_none(), "{operation:#}");
    // The service's default ACL lets only services in: a service token is required.
    let internal = &document["paths"]["/internal/hello/{name}"]["get"];
    assert_eq!(
        internal["security"],
        serde_json::json!([{"serviceToken": []}])
    );
    assert!(internal["responses"]["403"].is_object());
    // `#[jwt]`: a bearer token.
    let me = &document["paths"]["/jwt/me"]["get"];
    assert_eq!(me["security"][0]["bearer"], serde_json::json!([]));
    assert!(me["responses"]["401"].is_object());
    testkit.stop().await;
}
