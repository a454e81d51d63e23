//! The admin listener, as an operator sees it: health probes, and a Prometheus page whose
//! families move as requests are served. Metrics are per process and the tests of this binary
//! run at once, so each check is of a change at least as large as what the test did.

use std::time::Duration;

use kalix_testkit::TestKit;
use serde_json::{Value, json};

use crate::start;

/// The admin page at `path`: status and body.
async fn admin(testkit: &TestKit, path: &str) -> (u16, String) {
    let response = testkit
        .http()
        .get(testkit.admin_url(path))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn scrape(testkit: &TestKit) -> String {
    let (status, page) = admin(testkit, "/metrics").await;
    assert_eq!(status, 200, "{page}");
    page
}

/// The sum of the samples of `name` whose labels include `labels`.
fn sample(page: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(key, value)| rest.contains(&format!("{key}=\"{value}\""))))
            .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

#[tokio::test]
async fn health_probes_answer_on_the_admin_port_and_never_on_the_service_port() {
    let (testkit, _) = start().await;
    let (status, body) = admin(&testkit, "/health/live").await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (200, json!({"status": "live"}))
    );
    let (status, body) = admin(&testkit, "/health/ready").await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (200, json!({"status": "ready"}))
    );
    for path in ["/metrics", "/health/ready", "/health/live"] {
        let response = testkit.get(path).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path} on the service's port");
    }
    let (status, body) = admin(&testkit, "/nothing-here").await;
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body["detail"].as_str().unwrap().contains("/nothing-here"));
    testkit.stop().await;
}

#[tokio::test]
async fn the_metrics_page_parses_and_its_families_move_after_requests() {
    let (testkit, _) = start().await;
    let before = scrape(&testkit).await;
    for _ in 0..3 {
        let response = testkit.post("/tally/metrics-1/add/2").send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let response = testkit.get("/effects/panic/boom").send().await.unwrap();
    assert_eq!(response.status(), 500);
    // Histogram samples are folded into buckets at a scrape: no wait needed.
    let after = scrape(&testkit).await;

    let moved = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    let add_route = [
        ("http_request_method", "POST"),
        ("http_route", "/tally/<id>/add/<n>"),
        ("http_response_status_code", "200"),
    ];
    assert!(
        moved("http_server_request_duration_seconds_count", &add_route) >= 3.0,
        "{after}"
    );
    assert!(
        moved(
            "http_server_request_duration_seconds_count",
            &[
                ("http_route", "/effects/panic/<message>"),
                ("http_response_status_code", "500")
            ]
        ) >= 1.0
    );
    let add = [
        ("kind", "value_entity"),
        ("handler", "add"),
        ("outcome", "reply"),
    ];
    assert!(moved("kalix_command_duration_seconds_count", &add) >= 3.0);
    assert!(
        moved(
            "kalix_command_duration_seconds_count",
            &[
                ("kind", "action"),
                ("handler", "panic"),
                ("outcome", "panic")
            ]
        ) >= 1.0
    );
    assert!(moved("kalix_store_commit_duration_seconds_count", &[]) >= 1.0);
    assert!(moved("kalix_store_commit_batch_size_sum", &[]) >= 3.0);
    // Buckets are real Prometheus histogram buckets, not summary quantiles.
    assert!(after.contains("kalix_command_duration_seconds_bucket{"));
    assert!(after.contains("le=\"+Inf\""));
    assert!(sample(&after, "process_resident_memory_bytes", &[]) > 0.0);
    assert!(after.contains("# TYPE http_server_request_duration_seconds histogram"));
    assert!(after.contains("# HELP kalix_command_duration_seconds "));
    assert!(after.contains("# TYPE kalix_consumer_lag_seconds gauge"));
    assert!(after.contains("# TYPE kalix_consumer_lag_events gauge"));

    // A workflow step is counted once it ran.
    let response = testkit
        .put("/flow/metrics-1/stateless")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let done = [("step", "without-state"), ("outcome", "done")];
    let mut steps = 0.0;
    for _ in 0..100 {
        let page = scrape(&testkit).await;
        steps = sample(&page, "kalix_workflow_steps_total", &done)
            - sample(&before, "kalix_workflow_steps_total", &done);
        if steps >= 1.0 {
            assert!(page.contains("# TYPE kalix_workflows_running gauge"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(steps >= 1.0, "no step counted");

    check_with_promtool(&after);
    testkit.stop().await;
}

/// Checks `page` with Prometheus's own parser and linter (`promtool check metrics`), when
/// `KALIX_TEST_PROMTOOL` names it (`.ci/run` installs it and checks the marker this leaves).
fn check_with_promtool(page: &str) {
    use std::io::Write;
    let Some(promtool) = std::env::var("KALIX_TEST_PROMTOOL")
        .ok()
        .filter(|path| !path.is_empty())
    else {
        eprintln!("KALIX_TEST_PROMTOOL is not set: the page was not checked by promtool");
        return;
    };
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool: {}{}\n{page}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    crate::store::mark_ran("promtool-metrics");
}

/// A TCP proxy to PostgreSQL that a test can cut, as a network partition would.
struct Partition {
    address: std::net::SocketAddr,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Partition {
    async fn to(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (cut, is_cut) = tokio::sync::watch::channel(false);
        let target = target.to_owned();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if *is_cut.borrow() {
                    continue; // dropped: refused
                }
                let target = target.clone();
                let mut is_cut = is_cut.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = is_cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { address, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

#[tokio::test]
async fn readiness_turns_503_while_postgres_is_unreachable_and_back_to_200() {
    let Some(url) = crate::store::postgres_url("the readiness check against PostgreSQL") else {
        return;
    };
    let target = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let partition = Partition::to(&target).await;
    let proxied = url.replace(&target, &partition.address.to_string());
    let schema = format!("readiness_{}", crate::store::uuid_like());
    // The schema is made first with the default timeouts: its DDL may take longer than the
    // half second below on a loaded machine, and the start is not what this test is about.
    drop(
        kalix_core::store::PostgresStore::connect(&url, &schema)
            .await
            .expect("the schema is made"),
    );
    let timeouts = kalix_core::store::PostgresTimeouts::new(
        Duration::from_millis(500),
        Duration::from_millis(500),
    );
    let testkit = TestKit::builder()
        .dependency(crate::components::Recorder::default())
        .config(|config| {
            config.with_store(kalix_core::StoreLocation::Postgres {
                url: proxied,
                schema,
                timeouts,
            })
        })
        .start()
        .await;
    assert_eq!(admin(&testkit, "/health/ready").await.0, 200);

    partition.set_cut(true);
    let (status, body) = admin(&testkit, "/health/ready").await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "unready");
    assert!(body["reason"].as_str().unwrap().contains("store"), "{body}");
    assert_eq!(
        admin(&testkit, "/health/live").await.0,
        200,
        "live while unready"
    );

    partition.set_cut(false);
    let mut status = 503;
    for _ in 0..50 {
        status = admin(&testkit, "/health/ready").await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "ready again once PostgreSQL answers");
    testkit.stop().await;
    crate::store::mark_ran("postgres-readiness");
}

/// A fresh trace id and the id of the caller's span, as a `traceparent` header would bring them.
fn remote_parent() -> (String, String) {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = trace[..16].to_owned();
    (trace, span)
}

#[tokio::test]
async fn a_traceparent_makes_one_trace_of_a_request_and_every_handler_it_reaches() {
    kalix_testkit::Spans::install();
    let (testkit, _) = start().await;
    let (trace, caller) = remote_parent();
    // async_effect calls echo in-process, then forwards to echo.
    let response = testkit
        .get("/effects/async-effect/5")
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let found = spans_of(&trace, 4).await;
    let named = |name: &str| -> Vec<kalix_testkit::RecordedSpan> {
        found.iter().filter(|s| s.name == name).cloned().collect()
    };
    let http = named("GET /effects/async-effect/<n>");
    assert_eq!(http.len(), 1, "{found:#?}");
    let http = &http[0];
    assert_eq!(http.parent_span_id.as_deref(), Some(caller.as_str()));
    assert_eq!(
        http.attributes
            .get("http.response.status_code")
            .map(String::as_str),
        Some("200")
    );
    let handler = |method: &str| {
        found
            .iter()
            .filter(|s| s.name.ends_with(&format!("Effects::{method}")))
            .cloned()
            .collect::<Vec<_>>()
    };
    let outer = handler("async_effect");
    assert_eq!(outer.len(), 1, "{found:#?}");
    assert_eq!(outer[0].parent_span_id.as_ref(), Some(&http.span_id));
    let echoes = handler("echo");
    assert_eq!(echoes.len(), 2, "{found:#?}");
    // One called from inside async_effect, one the request forwarded to.
    let parents: Vec<_> = echoes.iter().map(|s| s.parent_span_id.clone()).collect();
    assert!(
        parents.contains(&Some(outer[0].span_id.clone())),
        "{found:#?}"
    );
    assert!(parents.contains(&Some(http.span_id.clone())), "{found:#?}");
    testkit.stop().await;
}

#[tokio::test]
async fn topic_messages_carry_the_trace_of_their_publisher_to_their_readers() {
    let spans = kalix_testkit::Spans::install();
    let (testkit, _) = start().await;

    // Published by a handler: the message's `traceparent` is the request's span.
    let mut out = testkit.outgoing("announcements");
    let (trace, caller) = remote_parent();
    let response = testkit
        .post("/announce")
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let published = out.expect_raw().await;
    let traceparent = published.attribute("traceparent").expect("a traceparent");
    let http = spans
        .of_trace(&trace)
        .into_iter()
        .find(|s| s.name == "POST /announce")
        .expect("the request's span");
    assert_eq!(traceparent, format!("00-{trace}-{}-01", http.span_id));

    // Read by a subscriber: its delivery and its handler's run are in the publisher's trace.
    let (trace, publisher) = remote_parent();
    let message = kalix_core::store::TopicMessage {
        id: format!("traced-{trace}"),
        attributes: vec![
            ("Content-Type".into(), "application/octet-stream".into()),
            ("traceparent".into(), format!("00-{trace}-{publisher}-01")),
        ],
        payload: bytes::Bytes::from_static(&[1, 2]),
    };
    testkit.incoming("raw-in").publish_message(message).await;
    let found = spans_of(&trace, 2).await;
    let delivery = found
        .iter()
        .find(|s| s.name.starts_with("deliver to ") && s.name.ends_with("RawReader::on_bytes"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(delivery.parent_span_id.as_deref(), Some(publisher.as_str()));
    let run = found
        .iter()
        .find(|s| s.name.ends_with("RawReader::on_bytes") && !s.name.starts_with("deliver"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(run.parent_span_id.as_ref(), Some(&delivery.span_id));
    testkit.stop().await;
}

/// The spans of `trace` once `count` have ended (or what ended within 10 s).
async fn spans_of(trace: &str, count: usize) -> Vec<kalix_testkit::RecordedSpan> {
    let spans = kalix_testkit::Spans::install();
    let mut found = Vec::new();
    for _ in 0..500 {
        found = spans.of_trace(trace);
        if found.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    found
}

#[tokio::test]
async fn workflow_steps_and_timers_continue_the_trace_of_the_command_that_made_them() {
    kalix_testkit::Spans::install();
    let (testkit, _) = start().await;

    let (trace, caller) = remote_parent();
    let response = testkit
        .put("/flow/traced-steps/stateless")
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let found = spans_of(&trace, 3).await;
    let start = found
        .iter()
        .find(|s| s.name.ends_with("Flow::stateless"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    let step = found
        .iter()
        .find(|s| s.name.ends_with("step without-state"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(step.parent_span_id.as_ref(), Some(&start.span_id));

    let (trace, caller) = remote_parent();
    let response = testkit
        .put("/flow/traced-timer/remind/5")
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    testkit.clock().advance(Duration::from_secs(6)).await;
    let found = spans_of(&trace, 4).await;
    let scheduling = found
        .iter()
        .find(|s| s.name.ends_with("Flow::remind"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    let timer = found
        .iter()
        .find(|s| s.name == "timer remind-traced-timer")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(timer.parent_span_id.as_ref(), Some(&scheduling.span_id));
    let fired = found
        .iter()
        .find(|s| s.name.ends_with("Flow::end_with"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(fired.parent_span_id.as_ref(), Some(&timer.span_id));
    testkit.stop().await;
}

#[tokio::test]
async fn a_commit_span_links_to_the_commands_whose_writes_it_carries() {
    let spans = kalix_testkit::Spans::install();
    let (testkit, _) = start().await;
    let (trace, caller) = remote_parent();
    let response = testkit
        .post("/tally/traced-commit/add/2")
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let found = spans_of(&trace, 2).await;
    let command = found
        .iter()
        .find(|s| s.name.ends_with("Tally::add"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    // The commit is a trace of its own (it carries many commands' writes), linked to each.
    let mut commit = None;
    for _ in 0..100 {
        commit = spans.all().into_iter().find(|s| {
            s.name == "store.commit" && s.links.contains(&(trace.clone(), command.span_id.clone()))
        });
        if commit.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let commit = commit.expect("a commit span linked to the command");
    assert_ne!(commit.trace_id, trace);
    assert!(commit.attributes.get("writes").is_some_and(|n| n != "0"));
    testkit.stop().await;
}
