use kalix_testkit::reqwest::StatusCode;
use serde_json::{Value, json};

use crate::components::{Effects, Payload, Search};
use crate::{get_json, start};

#[tokio::test]
async fn query_parameters_bind_as_required_optional_and_repeated() {
    let (testkit, _) = start().await;
    let body: Value = testkit
        .get("/effects/search?q=rust%20lang&limit=5&tags=a&tags=b")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"q": "rust lang", "limit": 5, "tags": ["a", "b"]})
    );

    let body: Value = testkit
        .get("/effects/search?q=x")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"q": "x", "limit": null, "tags": []}));

    let response = testkit.get("/effects/search?limit=3").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"], "Required request parameter is missing: q");

    let response = testkit
        .get("/effects/search?q=x&limit=many")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "Request parameter 'limit' must be of type u32, received 'many'"
    );
}

#[tokio::test]
async fn the_component_client_sends_query_parameters() {
    let (testkit, _) = start().await;
    let client = testkit.component_client().action::<Effects>();
    let search = client
        .search("q".into(), Some(2), vec!["x".into(), "y".into()])
        .await
        .unwrap();
    assert_eq!(
        search,
        Search {
            q: "q".into(),
            limit: Some(2),
            tags: vec!["x".into(), "y".into()]
        }
    );
}

#[tokio::test]
async fn path_and_query_parameters_may_be_borrowed_str() {
    let (testkit, _) = start().await;
    let body = get_json(&testkit, "/effects/greet/Ada%20L?title=Dr.").await;
    assert_eq!(body, json!("Hello, Dr. Ada L"));
    let response = testkit.get("/effects/greet/Ada").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let client = testkit.component_client().action::<Effects>();
    let greeting = client.greet("Grace", "Adm.").await.unwrap();
    assert_eq!(greeting, "Hello, Adm. Grace");
}

#[tokio::test]
async fn path_parameters_parse_by_type_for_every_method() {
    let (testkit, _) = start().await;
    let response = testkit
        .put("/effects/payload/7")
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!("7:hi"));
    let response = testkit
        .patch("/effects/payload/7/true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!("7:true"));
    let response = testkit
        .delete("/effects/payload/7?ratio=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!("7:Some(0.5)")
    );

    let response = testkit
        .patch("/effects/payload/7/maybe")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "Path parameter 'flag' must be of type bool, received 'maybe'"
    );

    let response = testkit.get("/effects/echo/").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "Path parameter 'n' is missing; expected a value of type i64"
    );

    let client = testkit.component_client().action::<Effects>();
    assert_eq!(
        client
            .payload(3, Payload { text: "x".into() })
            .await
            .unwrap(),
        "3:x"
    );
}

#[tokio::test]
async fn path_parameters_are_percent_decoded() {
    let (testkit, recorder) = start().await;
    let response = testkit
        .post("/record/caf%C3%A9%20au%20lait")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        recorder.count("café au lait"),
        1,
        "{:?}",
        recorder.entries()
    );
}

#[tokio::test]
async fn forwarded_headers_reach_the_handler_and_its_metadata() {
    let (testkit, _) = start().await;
    let body: Value = testkit
        .get("/effects/tenant")
        .header("X-Tenant", "acme")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!(["acme", "acme"]));
    let body: Value = testkit
        .get("/effects/tenant")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!(["-", "-"]));

    let response = testkit.get("/effects/role").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"], "Required request header is missing: Role");

    // The component client passes header parameters as metadata.
    let client = testkit.component_client().action::<Effects>();
    assert_eq!(client.role("Admin".into()).await.unwrap(), "Admin");
    // Metadata added to the call keeps the header parameter's value.
    let call = client
        .role("Admin".into())
        .with_metadata(kalix_core::Metadata::new().add("X-Tenant", "t"));
    assert_eq!(call.await.unwrap(), "Admin");
    assert_eq!(
        client.tenant(Some("t1".into())).await.unwrap(),
        vec!["t1", "t1"]
    );
}
