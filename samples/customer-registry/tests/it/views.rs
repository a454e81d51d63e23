//! The views over HTTP, as a user sees them: every query of the contract, inputs it does not
//! list, streams (NDJSON and server-sent events), updates streamed as they come, paging, and
//! the typed view client.

use std::time::Duration;

use customer_registry::views::{CustomersByCity, CustomersResponse};
use customer_registry::{Customer, CustomerEntity};
use futures_util::StreamExt;
use kalix_testkit::TestKit;
use serde_json::{Value, json};

use crate::{customer, ndjson, until};

async fn create(testkit: &TestKit, body: &Value) {
    let id = body["customerId"].as_str().unwrap();
    let response = testkit
        .post(&format!("/customer/{id}/create"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "creating {id}");
}

#[tokio::test]
async fn each_view_answers_its_query_and_forgets_deleted_customers() {
    let testkit = TestKit::start().await;
    let ann = customer("c1", "ann@example.com", "Ann", Some("Oslo"));
    let bob = customer("c2", "bob@example.com", "Ann", None);
    create(&testkit, &ann).await;
    create(&testkit, &bob).await;

    let by_email = testkit.url("/customer/by_email/ann@example.com");
    let (status, found) = until(&by_email, |status, _| status == 200).await;
    assert_eq!((status, &found), (200, &ann));
    let (status, _) = until(
        &testkit.url("/customer/by_email/nobody@example.com"),
        |_, _| true,
    )
    .await;
    assert_eq!(status, 404, "no row is a 404, as in Kalix");

    let (_, summary) = until(&testkit.url("/summary/by_name/Ann"), |s, _| s == 200).await;
    assert!(
        summary == json!({"id": "ann@example.com", "name": "Ann"})
            || summary == json!({"id": "bob@example.com", "name": "Ann"}),
        "{summary}"
    );

    let (_, wrapped) = until(&testkit.url("/wrapped/by_name/Ann"), |_, body| {
        body["customers"].as_array().is_some_and(|c| c.len() == 2)
    })
    .await;
    let mut names: Vec<&str> = wrapped["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customerId"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["c1", "c2"]);

    let streamed = testkit.get("/customers/by_name/Ann").send().await.unwrap();
    assert_eq!(streamed.status(), 200);
    let rows = ndjson(&streamed.text().await.unwrap());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.contains(&ann) && rows.contains(&bob));

    let sse = testkit
        .get("/customers/by_name/Ann")
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let text = sse.text().await.unwrap();
    assert_eq!(text.matches("data: ").count(), 2, "{text}");

    let nobody = testkit
        .get("/customers/by_name/Nobody")
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), 200);
    assert!(
        nobody.text().await.unwrap().trim().is_empty(),
        "an empty stream"
    );

    testkit.delete("/customer/c1").send().await.unwrap();
    let (status, _) = until(&by_email, |status, _| status == 404).await;
    assert_eq!(status, 404, "a deleted customer leaves the view");
    let (_, summary) = until(&testkit.url("/summary/by_name/Ann"), |_, body| {
        body["id"] == "bob@example.com"
    })
    .await;
    assert_eq!(summary, json!({"id": "bob@example.com", "name": "Ann"}));
    testkit.stop().await;
}

#[tokio::test]
async fn customers_are_found_by_any_of_several_cities_and_paged_by_name() {
    let testkit = TestKit::start().await;
    for i in 0..25 {
        let city = if i % 5 == 0 { "Bergen" } else { "Oslo" };
        let body = customer(
            &format!("p{i:02}"),
            &format!("p{i}@x.org"),
            &format!("Name {i:02}"),
            Some(city),
        );
        create(&testkit, &body).await;
    }
    create(
        &testkit,
        &customer("far", "far@x.org", "Far", Some("Tromsø")),
    )
    .await;
    create(&testkit, &customer("none", "none@x.org", "None", None)).await;

    let url = testkit.url("/wrapped/by_city?cities=Bergen&cities=Tromsø");
    let (_, found) = until(&url, |_, body| {
        body["customers"].as_array().is_some_and(|c| c.len() == 6)
    })
    .await;
    let cities: Vec<&str> = found["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"]["city"].as_str().unwrap())
        .collect();
    assert_eq!(cities.len(), 6, "{found}");
    assert!(cities.iter().all(|c| *c == "Bergen" || *c == "Tromsø"));
    let (_, none) = until(&testkit.url("/wrapped/by_city"), |_, _| true).await;
    assert_eq!(none, json!({"customers": []}), "no city given: nobody");

    // The Oslo customers, 20, in pages of 10 by name.
    let first_url = testkit.url("/customers/by_city/Oslo/page");
    let (_, first) = until(&first_url, |_, body| body["hasMore"] == true).await;
    let names = |page: &Value| -> Vec<String> {
        page["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // Keys in the order of the projection and of the row's fields, not sorted.
    let keys =
        |value: &Value| -> Vec<String> { value.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&first), ["customers", "nextPageToken", "hasMore"]);
    assert_eq!(
        keys(&first["customers"][0]),
        ["customerId", "email", "name", "address"]
    );
    let first_names = names(&first);
    assert_eq!(first_names.len(), 10);
    let mut sorted = first_names.clone();
    sorted.sort();
    assert_eq!(first_names, sorted, "ordered by name");
    let token = first["nextPageToken"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    let second: Value = testkit
        .get(&format!("/customers/by_city/Oslo/page?token={token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_names = names(&second);
    assert_eq!(second_names.len(), 10);
    assert!(
        first_names.last() < second_names.first(),
        "the second page follows the first"
    );
    assert_eq!(second["hasMore"], false);
    assert_eq!(second["nextPageToken"], "");

    // Parameters from the fields of a body.
    let found: Value = testkit
        .post("/customers/search")
        .json(&json!({"name": "Name 05", "city": "Bergen"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["customers"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["customers"][0]["customerId"], "p05");
    let missing = testkit
        .post("/customers/search")
        .json(&json!({"name": "Name 05"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400, "a body without the city is refused");

    let bad = testkit
        .get("/customers/by_city/Oslo/page?token=not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let problem: Value = bad.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not a page token"),
        "{problem}"
    );

    // The typed client of the view.
    let client = testkit.component_client();
    let response: CustomersResponse = client
        .view::<CustomersByCity>()
        .get_customers(vec!["Tromsø".to_owned()])
        .await
        .unwrap();
    assert_eq!(response.customers.len(), 1);
    assert_eq!(response.customers[0].customer_id, "far");
    testkit.stop().await;
}

#[tokio::test]
async fn a_stream_of_updates_sends_the_rows_now_then_each_change_as_it_comes() {
    let store = kalix_testkit::CountingStore::new(std::sync::Arc::new(
        kalix_core::store::SqliteStore::memory().unwrap(),
    ));
    let testkit = TestKit::builder().store(store.store()).start().await;
    create(&testkit, &customer("s1", "s1@x.org", "Sam", None)).await;
    // The stream's own table holds s1 before it opens, so no write of s1 is still to come.
    until(&testkit.url("/wrapped/by_name/Sam"), |s, body| {
        s == 200 && body["customers"].as_array().is_some_and(|c| c.len() == 1)
    })
    .await;
    let response = testkit.get("/stream/by_name/Sam").send().await.unwrap();
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
            let chunk = tokio::time::timeout(Duration::from_secs(20), body.next())
                .await
                .expect("a row within 20 s")
                .expect("the stream stays open")
                .unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    };
    assert_eq!(next_row().await, json!({"id": "s1", "name": "Sam"}));
    // While nothing is written the stream does not run its query again (it polled every 500 ms).
    let queries = store.calls("query_view");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(store.calls("query_view"), queries, "no query while idle");
    create(&testkit, &customer("s2", "s2@x.org", "Sam", None)).await;
    assert_eq!(next_row().await, json!({"id": "s2", "name": "Sam"}));
    assert!(
        store.calls("query_view") > queries,
        "a write to its table runs it"
    );
    // A stopping service ends the stream cleanly (it would never end by itself).
    testkit.stop().await;
    let end = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("the stream ends when the service stops");
    assert!(end.is_none(), "a clean end, not {end:?}");
}

#[tokio::test]
async fn a_view_is_tested_without_its_entity_by_injecting_states() {
    let testkit = TestKit::start().await;
    let injected = Customer {
        customer_id: "i1".to_owned(),
        email: "injected@x.org".to_owned(),
        name: "Ivy".to_owned(),
        address: None,
    };
    testkit
        .inject_state::<CustomerEntity>("i1", Some(&injected))
        .await;
    let (status, found) = until(&testkit.url("/customer/by_email/injected@x.org"), |s, _| {
        s == 200
    })
    .await;
    assert_eq!(status, 200);
    assert_eq!(found, serde_json::to_value(&injected).unwrap());
    testkit.inject_state::<CustomerEntity>("i1", None).await;
    let (status, _) = until(&testkit.url("/customer/by_email/injected@x.org"), |s, _| {
        s == 404
    })
    .await;
    assert_eq!(status, 404);
    testkit.stop().await;
}
