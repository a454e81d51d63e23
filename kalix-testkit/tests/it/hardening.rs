//! What a client cannot do to the service: hold connections or memory without bound, send what
//! HTTP forbids, or make an id no store can keep. Tested over real sockets.

use std::time::Duration;

use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::components::Recorder;

/// Long enough that a connection still open after it was not closed by a timeout of a few
/// hundred milliseconds.
const PATIENCE: Duration = Duration::from_secs(10);

async fn start_with(config: impl FnOnce(kalix_core::Config) -> kalix_core::Config) -> TestKit {
    TestKit::builder()
        .dependency(Recorder::default())
        .config(config)
        .start()
        .await
}

async fn connect(testkit: &TestKit) -> TcpStream {
    TcpStream::connect(testkit.base_url().trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Everything the peer sends until it closes the connection, or `None` if it is still open
/// after `PATIENCE`.
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    });
    read.await.ok()?;
    Some(String::from_utf8_lossy(&received).into_owned())
}

fn short(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[tokio::test]
async fn idle_connections_and_slow_headers_are_closed_after_the_header_timeout() {
    let testkit = start_with(|c| c.with_header_timeout(short(300))).await;

    // A connection that never sends anything.
    let mut idle = connect(&testkit).await;
    assert!(
        read_until_closed(&mut idle).await.is_some(),
        "idle socket closed"
    );

    // Headers that stop half-way.
    let mut partial = connect(&testkit).await;
    partial
        .write_all(b"GET /effects/echo/5 HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut partial).await.is_some(),
        "partial headers closed"
    );

    // Slowloris: a header byte every 50 ms never completes the headers, and does not reset the
    // timeout.
    let mut slow = connect(&testkit).await;
    slow.write_all(b"GET /effects/echo/5 HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = async {
        loop {
            if slow.write_all(b"X").await.is_err() {
                return;
            }
            tokio::time::sleep(short(50)).await;
            let mut probe = [0u8; 1];
            // A read that finds the connection closed ends the trickle.
            if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(short(1), slow.read(&mut probe)).await
            {
                return;
            }
        }
    };
    assert!(
        tokio::time::timeout(PATIENCE, trickle).await.is_ok(),
        "slowloris connection closed"
    );

    // A keep-alive connection left idle after a request.
    let mut keep_alive = connect(&testkit).await;
    keep_alive
        .write_all(b"GET /effects/echo/5 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = read_until_closed(&mut keep_alive)
        .await
        .expect("closed once idle");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // Meanwhile the service serves everyone else.
    let response = testkit.get("/effects/echo/7").send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!(7));
}

#[tokio::test]
async fn a_stalled_upload_gets_a_408_when_the_body_timeout_passes() {
    let testkit = start_with(|c| c.with_body_timeout(short(300))).await;
    let mut stalled = connect(&testkit).await;
    stalled
        .write_all(
            b"PUT /effects/payload/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"text\":",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stalled)
        .await
        .expect("the stalled upload is answered and closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("The request body did not arrive within 0.3 s"),
        "{answer}"
    );
}

#[tokio::test]
async fn bodies_held_at_once_are_bounded_and_a_body_over_the_budget_gets_a_503() {
    let testkit = start_with(|c| {
        c.with_max_body_bytes(800)
            .with_max_buffered_body_bytes(1000)
    })
    .await;
    // A stalled upload holding 700 of the 1000 bytes.
    let mut stalled = connect(&testkit).await;
    let head = "PUT /effects/payload/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 800\r\n\r\n";
    let partial = format!("{{\"text\":\"{}", "x".repeat(690));
    stalled
        .write_all(format!("{head}{partial}").as_bytes())
        .await
        .unwrap();

    let text = "y".repeat(400);
    let put = || {
        testkit
            .put("/effects/payload/2")
            .json(&json!({"text": text}))
            .send()
    };
    // Once the service has read the stalled bytes, there is no room for another 400.
    let mut response = put().await.unwrap();
    for _ in 0..50 {
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(short(100)).await;
        response = put().await.unwrap();
    }
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "The service is receiving too many request bodies at once; retry shortly"
    );

    // The stalled client goes away; its bytes go back to the budget.
    drop(stalled);
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = put().await.unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(short(100)).await;
    }
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn connections_past_the_limit_wait_to_be_accepted() {
    let testkit = start_with(|c| c.with_max_connections(2)).await;
    let held = [connect(&testkit).await, connect(&testkit).await];
    // A client of its own: the testkit's may hold a connection already.
    let http = kalix_testkit::reqwest::Client::new();
    let url = testkit.url("/effects/echo/3");
    let waiting = tokio::spawn(async move { http.get(url).send().await.unwrap().status() });
    tokio::time::sleep(short(500)).await;
    assert!(!waiting.is_finished(), "a third connection is not served");
    drop(held);
    let status = tokio::time::timeout(PATIENCE, waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_handler_slower_than_the_request_timeout_gets_a_503() {
    let testkit = start_with(|c| c.with_request_timeout(short(300))).await;
    let response = testkit.get("/effects/sleep/5000").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "The service did not answer within 0.3 s; the request may or may not have taken effect"
    );
    let response = testkit.get("/effects/sleep/1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// Sends `request` on a fresh connection and returns what comes back.
async fn exchange(testkit: &TestKit, request: &str) -> String {
    let mut stream = connect(testkit).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    read_until_closed(&mut stream).await.expect("answered")
}

#[tokio::test]
async fn an_http_1_1_request_needs_exactly_one_host() {
    let (testkit, _) = crate::start().await;
    let missing = exchange(
        &testkit,
        "GET /effects/echo/5 HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(missing.starts_with("HTTP/1.1 400"), "{missing}");
    assert!(
        missing.contains("An HTTP/1.1 request needs exactly one Host header; this one has 0"),
        "{missing}"
    );
    let twice = exchange(
        &testkit,
        "GET /effects/echo/5 HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(twice.starts_with("HTTP/1.1 400"), "{twice}");
    // HTTP/1.0 has no such rule.
    let old = exchange(&testkit, "GET /effects/echo/5 HTTP/1.0\r\n\r\n").await;
    assert!(old.starts_with("HTTP/1.0 200"), "{old}");
}

#[tokio::test]
async fn http2_cleartext_by_prior_knowledge_is_served() {
    let (testkit, _) = crate::start().await;
    let h2 = kalix_testkit::reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = h2.get(testkit.url("/effects/echo/9")).send().await.unwrap();
    assert_eq!(response.version(), kalix_testkit::reqwest::Version::HTTP_2);
    assert_eq!(response.json::<Value>().await.unwrap(), json!(9));
    let response = h2
        .put(testkit.url("/effects/payload/4"))
        .json(&json!({"text": "over h2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!("4:over h2"));
}

#[tokio::test]
async fn every_response_says_nosniff() {
    let (testkit, _) = crate::start().await;
    for (path, status) in [
        ("/effects/echo/1", StatusCode::OK),
        ("/no/such/path", StatusCode::NOT_FOUND),
        ("/effects/echo/x", StatusCode::BAD_REQUEST),
    ] {
        let response = testkit.get(path).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_body_must_be_plain_json_with_its_content_type() {
    let (testkit, _) = crate::start().await;
    let body = json!({"text": "hi"}).to_string();
    let gzip = testkit
        .put("/effects/payload/1")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let problem: Value = gzip.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "Content-Encoding 'gzip' is not supported; send the body uncompressed"
    );

    let untyped = testkit
        .put("/effects/payload/1")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let problem: Value = untyped.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "A request body needs the header 'Content-Type: application/json'"
    );

    let typed = testkit
        .put("/effects/payload/1")
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(typed.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_entity_id_no_store_can_keep_is_a_400_and_nothing_is_stored() {
    let (testkit, _) = crate::start().await;
    let long = "x".repeat(3000);
    for (path, detail) in [
        (
            format!("/tally/{long}/add/1"),
            "the id of a tally is 3000 bytes long; the limit is 1024 bytes".to_owned(),
        ),
        (
            "/tally/a%00b/add/1".to_owned(),
            "the id of a tally contains the control character U+0000 at byte 1; ids are text \
             without control characters"
                .to_owned(),
        ),
        (
            "/ledger/a%0Ab/credit/1".to_owned(),
            "the id of a ledger contains the control character U+000A at byte 1; ids are text \
             without control characters"
                .to_owned(),
        ),
    ] {
        let response = testkit.post(&path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["detail"], detail.as_str(), "{path}");
    }
    // Ids at the limit, and any other text, are fine.
    let at_limit = "y".repeat(1024);
    let response = testkit
        .post(&format!("/tally/{at_limit}/add/2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!(2));
    let response = testkit.post("/tally/caf%C3%A9/add/3").send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!(3));
}

#[tokio::test]
async fn a_stored_state_that_cannot_be_read_is_a_500_that_does_not_quote_it() {
    use kalix_core::store::{EntityStore, SqliteStore, StateWrite};
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("kalix.db");
    let corrupt = StateWrite {
        type_id: "tally".into(),
        entity_id: "bad".into(),
        expected_version: 0,
        follows_own_write: false,
        payload: Some(bytes::Bytes::from_static(b"\"card 4111-1111-1111-1111\"")),
        timers: Vec::new(),
        kept_reply: None,
        trace_parent: None,
    };
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.commit(vec![corrupt.into()]).await, Ok(vec![Ok(1)]));
    drop(store);

    let location = kalix_core::StoreLocation::Sqlite(path);
    let testkit = start_with(|c| c.with_store(location)).await;
    let response = testkit.get("/tally/bad").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let problem: Value = response.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("the stored state of tally 'bad' cannot be read ["),
        "{detail}"
    );
    assert!(
        !detail.contains("4111"),
        "the stored value stays out: {detail}"
    );
    // Other entities are served.
    let response = testkit.post("/tally/good/add/1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_the_header_timeout() {
    let testkit = start_with(|c| c.with_header_timeout(short(300))).await;
    let mut h2 = connect(&testkit).await;
    // The preface and an empty SETTINGS frame, then nothing.
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut h2).await.is_some(),
        "an idle HTTP/2 connection is closed"
    );
    // A stream that outlives the timeout keeps its connection open.
    let client = kalix_testkit::reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client
        .get(testkit.url("/effects/sleep/1000"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_body_budget_below_the_body_limit_stops_the_start() {
    let config = kalix_core::Config::default()
        .with_port(0)
        .with_admin_port(0)
        .with_store(kalix_core::StoreLocation::SqliteMemory)
        .with_max_body_bytes(1000)
        .with_max_buffered_body_bytes(500);
    let error = kalix_core::Service::new()
        .dependency(Recorder::default())
        .config(config)
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "KALIX_HTTP_MAX_BUFFERED_BYTES: 500 is less than KALIX_HTTP_MAX_BODY_BYTES (1000): a body \
         between the two could never be received"
    );
}
