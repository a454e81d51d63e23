//! The service's API description lists the one transcoded method, and only what it serves.

use kalix_testkit::TestKit;

#[tokio::test]
async fn the_api_description_lists_the_transcoded_method() {
    let testkit = TestKit::start().await;
    let document = testkit.check_api_description().await;
    let operation = &document["paths"]["/fibonacci/{value}/next"]["get"];
    assert!(operation["responses"]["200"].is_object(), "{document:#}");
    assert_eq!(
        document["paths"].as_object().unwrap().len(),
        1,
        "{document:#}"
    );
    testkit.stop().await;
}
