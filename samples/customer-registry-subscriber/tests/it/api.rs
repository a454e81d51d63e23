//! The service's API description (`/openapi.json` on the admin listener): valid OpenAPI 3.1,
//! listing exactly the routes the service answers.

use kalix_testkit::ServiceProcess;

#[tokio::test]
async fn the_api_description_is_valid_openapi_and_lists_the_routes_served() {
    let directory = tempfile::tempdir().unwrap();
    let registry_store = format!(
        "sqlite://{}",
        directory.path().join("registry.db").display()
    );
    let registry = ServiceProcess::spawn(
        crate::registry_binary().to_str().unwrap(),
        &[("KALIX_STORE", registry_store.as_str())],
    );
    let store = format!(
        "sqlite://{}",
        directory.path().join("subscriber.db").display()
    );
    let service = crate::subscriber(registry.base_url(), &store);
    let document = service.check_api_description().await;
    let operation = &document["paths"]["/customers/by_name/{name}"]["get"];
    assert!(operation["responses"]["200"].is_object(), "{document:#}");
}
