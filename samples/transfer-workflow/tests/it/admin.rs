//! Suspending, resuming and terminating transfers through the admin API, across SIGKILL: a
//! suspended workflow stays suspended after a restart, runs no step until it is resumed, and a
//! terminated one ends without running its step.

use std::time::Duration;

use kalix_testkit::ServiceProcess;
use serde_json::Value;

use crate::{balance, create_wallet, start, status_within};

const BINARY: &str = env!("CARGO_BIN_EXE_transfer-workflow");

async fn admin(
    http: &kalix_testkit::reqwest::Client,
    service: &ServiceProcess,
    method: &str,
    path: &str,
) -> (u16, Value) {
    let url = format!("{}{path}", service.admin_url());
    let request = match method {
        "POST" => http.post(url).header("X-Kalix-Admin", "test"),
        _ => http.get(url),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_suspended_transfer_stays_suspended_across_a_kill_until_resumed_and_a_terminated_one_ends()
 {
    let directory = tempfile::tempdir().unwrap();
    let store = format!(
        "sqlite://{}",
        directory.path().join("transfers.db").display()
    );
    let env = [("KALIX_STORE", store.as_str())];
    let http = kalix_testkit::reqwest::Client::new();

    let service = ServiceProcess::spawn(BINARY, &env);
    let base = service.base_url().to_owned();
    create_wallet(&http, &base, "a", 1000).await;
    // Both transfers withdraw, then retry their deposit: their wallets do not exist yet.
    for (id, to) in [("held", "c"), ("dropped", "d")] {
        assert_eq!(start(&http, &base, id, "a", to, 100).await.0, 200);
        assert_eq!(
            status_within(&base, id, "WITHDRAW_SUCCEED", Duration::from_secs(5)).await,
            "WITHDRAW_SUCCEED"
        );
    }
    let (status, body) = admin(
        &http,
        &service,
        "POST",
        "/admin/workflows/transfer/held/suspend",
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        (body["changed"].clone(), body["suspended"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(body["position"]["step"], "deposit");
    let (_, again) = admin(
        &http,
        &service,
        "POST",
        "/admin/workflows/transfer/held/suspend",
    )
    .await;
    assert_eq!(again["changed"], false, "suspending twice changes nothing");

    let (status, body) = admin(
        &http,
        &service,
        "POST",
        "/admin/workflows/transfer/dropped/terminate",
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        (body["changed"].clone(), body["ended"].clone()),
        (true.into(), true.into())
    );

    service.signal("KILL");
    drop(service);
    let restarted = ServiceProcess::spawn(BINARY, &env);
    let base = restarted.base_url().to_owned();
    create_wallet(&http, &base, "c", 0).await;
    create_wallet(&http, &base, "d", 0).await;
    // With its wallet there now, a running transfer would deposit within a retry or two.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, held) = admin(&http, &restarted, "GET", "/admin/workflows/transfer/held").await;
    assert_eq!(
        held["suspended"], true,
        "still suspended after the restart: {held:#}"
    );
    assert_eq!(held["state"]["status"], "WITHDRAW_SUCCEED");
    assert_eq!(balance(&http, &base, "c").await, Some(0), "no step ran");
    let (_, dropped) = admin(
        &http,
        &restarted,
        "GET",
        "/admin/workflows/transfer/dropped",
    )
    .await;
    assert_eq!(dropped["ended"], true, "{dropped:#}");
    assert_eq!(
        balance(&http, &base, "d").await,
        Some(0),
        "a terminated transfer deposits nothing"
    );

    // Without the operator's header (as a page of another site would send it): refused.
    let forged = http
        .post(format!(
            "{}/admin/workflows/transfer/held/resume",
            restarted.admin_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let (_, held) = admin(&http, &restarted, "GET", "/admin/workflows/transfer/held").await;
    assert_eq!(held["suspended"], true, "a refused request changes nothing");

    let (status, body) = admin(
        &http,
        &restarted,
        "POST",
        "/admin/workflows/transfer/held/resume",
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        (body["changed"].clone(), body["suspended"].clone()),
        (true.into(), false.into())
    );
    assert_eq!(
        status_within(&base, "held", "COMPLETED", Duration::from_secs(20)).await,
        "COMPLETED"
    );
    assert_eq!(balance(&http, &base, "c").await, Some(100));
    assert_eq!(balance(&http, &base, "a").await, Some(800));

    // Bad input: a problem body each.
    for (method, path, status, detail) in [
        (
            "POST",
            "/admin/workflows/transfer/held/pause",
            404,
            "no workflow action 'pause'",
        ),
        (
            "POST",
            "/admin/workflows/transfer/dropped/suspend",
            409,
            "has ended",
        ),
        (
            "POST",
            "/admin/workflows/transfer/never/suspend",
            404,
            "never started",
        ),
        (
            "GET",
            "/admin/workflows/transfer/never",
            404,
            "never started",
        ),
        ("GET", "/admin/workflows/wallet/a", 404, "not a workflow"),
        (
            "GET",
            "/admin/workflows/transfer/held/suspend",
            405,
            "does not answer GET",
        ),
    ] {
        let (got, body) = admin(&http, &restarted, method, path).await;
        assert_eq!(got, status, "{method} {path}: {body:#}");
        let text = body["detail"].as_str().unwrap_or_default();
        assert!(text.contains(detail), "{method} {path}: {text}");
    }
}
