//! The admin API (`/admin/..` on the admin listener) over HTTP, as an operator's tool reads it:
//! components, entities and their events, timers; paging and bad input.

use std::time::Duration;

use kalix_testkit::TestKit;
use serde_json::{Value, json};

use crate::start;
use crate::timers::{schedule, start_timer};

async fn admin(testkit: &TestKit, path: &str) -> (u16, Value) {
    let response = testkit
        .http()
        .get(testkit.admin_url(path))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The problem body of a refused request: its status and detail.
fn refused(answer: (u16, Value), status: u16, detail_has: &str) {
    let (got, body) = answer;
    assert_eq!(got, status, "{body:#}");
    assert_eq!(body["status"], status, "a problem body: {body:#}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(detail_has), "{detail}");
}

#[tokio::test]
async fn components_are_listed_with_their_kind_routes_subscriptions_and_topics() {
    let (testkit, _) = start().await;
    let (status, body) = admin(&testkit, "/admin/components").await;
    assert_eq!(status, 200);
    let components = body["components"].as_array().unwrap();
    let find = |id: &str| {
        components
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} is listed: {body:#}"))
    };
    let tally = find("it::components::Tally");
    assert_eq!(tally["kind"], "value_entity");
    assert_eq!(tally["type_id"], "tally");
    assert!(
        tally["routes"]
            .as_array()
            .unwrap()
            .contains(&json!({"method": "POST", "path": "/tally/<id>/add/<n>", "handler": "add"})),
        "{tally:#}"
    );
    let flaky = find("it::components::FlakySubscriber");
    assert_eq!(flaky["subscriptions"][0]["type_id"], "signal");
    let raw = find("it::components::RawReader");
    assert_eq!(raw["subscriptions"][0]["topic"], "raw-in");
    // A workflow's runtime handlers are the runtime's, not listed.
    let flow = find("it::workflows::Flow");
    assert_eq!(flow["kind"], "workflow");
    let listed = serde_json::to_string(flow).unwrap();
    assert!(!listed.contains("__kalix"), "{listed}");
    testkit.stop().await;
}

#[tokio::test]
async fn entities_are_listed_newest_first_with_their_state_and_events_in_pages() {
    let (testkit, _) = start().await;
    for id in ["t1", "t2", "t3"] {
        let added = testkit
            .post(&format!("/tally/{id}/add/1"))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 200);
    }
    testkit.post("/tally/t2/add/4").send().await.unwrap();
    let (status, body) = admin(&testkit, "/admin/entities/tally").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["ids"],
        json!(["t2", "t3", "t1"]),
        "most recently changed first"
    );
    assert_eq!(body["component"], "it::components::Tally");
    let (_, body) = admin(&testkit, "/admin/entities/tally?limit=2").await;
    assert_eq!(body["ids"], json!(["t2", "t3"]));

    let (status, body) = admin(&testkit, "/admin/entities/tally/t2").await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["state"].clone(), body["version"].clone()),
        (json!(5), json!(2))
    );
    assert_eq!(body["deleted"], false);

    // Two events per credit: four, read three at a time.
    for _ in 0..2 {
        let credited = testkit.post("/ledger/l1/credit/5").send().await.unwrap();
        assert_eq!(credited.status(), 200);
    }
    let (_, body) = admin(&testkit, "/admin/entities/ledger").await;
    assert_eq!(body["ids"], json!(["l1"]));
    let (status, body) = admin(&testkit, "/admin/entities/ledger/l1").await;
    assert_eq!(status, 200);
    assert_eq!(body["seq"], 4);
    assert_eq!(
        body["state"], 20,
        "folded by the entity's own event handler: {body:#}"
    );
    assert_eq!(body["deleted"], false);
    let (status, page) = admin(&testkit, "/admin/entities/ledger/l1/events?from=1&limit=3").await;
    assert_eq!(status, 200, "{page:#}");
    let seqs: Vec<&Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["seq"])
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert!(
        page["events"][0]["type"]
            .as_str()
            .unwrap()
            .contains("Credited"),
        "{page:#}"
    );
    assert_eq!(page["next_from"], 4);
    let (_, page) = admin(&testkit, "/admin/entities/ledger/l1/events?from=4&limit=3").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["seq"], 4);
    assert_eq!(page["next_from"], Value::Null, "the last page");
    let (_, newest) = admin(&testkit, "/admin/entities/ledger/l1/events?limit=2").await;
    let seqs: Vec<&Value> = newest["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["seq"])
        .collect();
    assert_eq!(seqs, [3, 4], "without `from`, the newest page");
    refused(
        admin(
            &testkit,
            "/admin/entities/ledger/l1/events?from=9223372036854775808",
        )
        .await,
        400,
        "at most 2^63 - 1",
    );

    // Bad input: a problem body each, and nothing else changes.
    refused(
        admin(&testkit, "/admin/entities/tally?limit=0").await,
        400,
        "`limit` is from 1 to 1000",
    );
    refused(
        admin(&testkit, "/admin/entities/tally?limit=5000").await,
        400,
        "`limit`",
    );
    refused(
        admin(&testkit, "/admin/entities/tally?limit=ten").await,
        400,
        "'ten'",
    );
    refused(
        admin(&testkit, "/admin/entities/ledger/l1/events?from=-1").await,
        400,
        "`from`",
    );
    refused(
        admin(&testkit, "/admin/entities/nope").await,
        404,
        "no entity or workflow stores under the type id 'nope'",
    );
    refused(
        admin(&testkit, "/admin/entities/tally/never").await,
        404,
        "was never written",
    );
    refused(
        admin(&testkit, "/admin/entities/ledger/never").await,
        404,
        "has no events",
    );
    refused(
        admin(&testkit, "/admin/entities/tally/t1/events").await,
        400,
        "keeps no events",
    );
    refused(
        admin(&testkit, "/admin/nothing/here").await,
        404,
        "/admin/nothing/here",
    );
    let posted = testkit
        .http()
        .post(testkit.admin_url("/admin/components"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 405);
    let body: Value = posted.json().await.unwrap();
    assert_eq!(body["status"], 405);
    let (_, body) = admin(&testkit, "/admin/entities/tally").await;
    assert_eq!(body["ids"], json!(["t2", "t3", "t1"]));
    testkit.stop().await;
}

#[tokio::test]
async fn timers_are_listed_by_name_due_time_and_failures() {
    let (testkit, _) = start().await;
    let mut later = schedule("admin-later", "admin-later", 0, None);
    later.delay_ms = 60_000;
    start_timer(&testkit, &later).await;
    start_timer(
        &testkit,
        &schedule("admin-failing", "admin-failing", 100, None),
    )
    .await;
    start_timer(&testkit, &schedule("other", "admin-other", 0, None)).await;
    let now = testkit.clock().now_ms();

    let (status, body) = admin(&testkit, "/admin/timers?name=admin-").await;
    assert_eq!(status, 200, "{body:#}");
    let names: Vec<&Value> = body["timers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert_eq!(
        names,
        ["admin-failing", "admin-later"],
        "earliest due first"
    );
    let failing = &body["timers"][0];
    assert_eq!(failing["target"]["component"], "it::timers::TimerTests");
    assert_eq!(failing["target"]["method"], "target");
    assert_eq!(failing["attempts"], 0);
    assert_eq!(failing["due_ms"], now + 1_000);

    // The failing one fails once when due.
    testkit.clock().advance(Duration::from_millis(1_000)).await;
    let (_, body) = admin(&testkit, "/admin/timers?failing=true").await;
    let names: Vec<&Value> = body["timers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert_eq!(names, ["admin-failing"], "{body:#}");
    assert_eq!(body["timers"][0]["attempts"], 1);
    let due_before = now + 10_000;
    let (_, body) = admin(&testkit, &format!("/admin/timers?due_before={due_before}")).await;
    let names: Vec<&Value> = body["timers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert_eq!(
        names,
        ["admin-failing"],
        "the other timer fired; the later one is not due"
    );
    let (_, body) = admin(&testkit, "/admin/timers?limit=1").await;
    assert_eq!(body["timers"].as_array().unwrap().len(), 1);

    refused(
        admin(&testkit, "/admin/timers?failing=maybe").await,
        400,
        "`failing` is true or false",
    );
    refused(
        admin(&testkit, "/admin/timers?due_before=soon").await,
        400,
        "`due_before`",
    );
    testkit.stop().await;
}

#[tokio::test]
async fn a_failing_subscriber_shows_its_last_failure_among_the_consumers() {
    let (testkit, recorder) = start().await;
    let put = testkit
        .put("/signal/admin-flaky")
        .json(&json!({"text": "fail-3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    // Each failed attempt is recorded; consumers of other tests in this process may record
    // theirs in between, so this waits to see its own.
    kalix_testkit::eventually(|| async {
        let (_, body) = admin(&testkit, "/admin/consumers").await;
        let flaky = body["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("it::components::FlakySubscriber@signal"))
            })
            .cloned()
            .unwrap_or_default();
        let error = flaky["this_process"]["last_error"]["error"]
            .as_str()
            .unwrap_or_default();
        if error.contains("failing admin-flaky:fail-3") && flaky["kind"] == "subscription" {
            Ok(())
        } else {
            Err(body)
        }
    })
    .await;
    assert!(recorder.count("flaky attempt admin-flaky:fail-3") >= 1);
    testkit.stop().await;
}

#[tokio::test]
async fn a_call_through_the_admin_api_goes_through_the_service_router_and_bad_calls_are_refused() {
    let (testkit, _) = start().await;
    testkit.post("/tally/c1/add/7").send().await.unwrap();
    let call = |body: Value, header: bool| {
        let mut request = testkit
            .http()
            .post(testkit.admin_url("/admin/call"))
            .json(&body);
        if header {
            request = request.header("X-Kalix-Admin", "test");
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, answer) = call(json!({"method": "GET", "path": "/tally/c1"}), true).await;
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(
        (answer["status"].clone(), answer["body"].clone()),
        (json!(200), json!(7))
    );
    let (_, answer) = call(
        json!({"method": "put", "path": "/tally/c1", "body": 3}),
        true,
    )
    .await;
    assert_eq!(
        (answer["status"].clone(), answer["body"].clone()),
        (json!(200), json!(3))
    );
    // The service's own answer to a bad request comes back as it is.
    let (_, answer) = call(json!({"method": "POST", "path": "/tally/c1/add/x"}), true).await;
    assert_eq!(answer["status"], 400, "{answer:#}");
    assert_eq!(answer["body"]["status"], 400);

    refused(
        call(json!({"method": "GET", "path": "/tally/c1"}), false).await,
        403,
        "X-Kalix-Admin",
    );
    refused(
        call(json!({"method": "GE T", "path": "/tally/c1"}), true).await,
        400,
        "is not an HTTP method",
    );
    refused(
        call(json!({"method": "GET", "path": "tally/c1"}), true).await,
        400,
        "starts with '/'",
    );
    refused(
        call(json!({"path": "/tally/c1"}), true).await,
        400,
        "does not read",
    );
    let (_, body) = admin(&testkit, "/admin/entities/tally/c1").await;
    assert_eq!(body["state"], 3, "only the PUT changed it");
    testkit.stop().await;
}

#[tokio::test]
async fn the_admin_api_and_console_answer_only_requests_for_the_loopback() {
    let (testkit, _) = start().await;
    let ask = |path: &str, host: &str| {
        testkit
            .http()
            .get(testkit.admin_url(path))
            .header("Host", host)
            .send()
    };
    // A page whose name was made to resolve to 127.0.0.1 (DNS rebinding) names itself.
    for path in ["/admin/components", "/", "/console.js"] {
        let response = ask(path, "rebound.example:9001").await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains("loopback"),
            "{body:#}"
        );
    }
    for host in ["localhost:9001", "127.0.0.1", "[::1]:9001"] {
        assert_eq!(
            ask("/admin/components", host).await.unwrap().status(),
            200,
            "{host}"
        );
    }
    // Probes and scrapers name the address they dial: health and metrics answer any.
    assert_eq!(
        ask("/health/live", "10.0.0.7:9001").await.unwrap().status(),
        200
    );
    testkit.stop().await;
}
