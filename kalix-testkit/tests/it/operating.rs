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
