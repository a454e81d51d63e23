//! Over HTTP against the binary: a transfer waiting for acceptation survives SIGKILL and
//! completes once accepted after the restart; a finished compensation stays as it was.
//! (A transfer killed while a step runs resumes after the restart, but this sample's 5 s
//! workflow timeout counts the time the service was down, so it then fails over to
//! REQUIRES_MANUAL_INTERVENTION, as in Kalix; the transfer-workflow sample's tests kill
//! transfers mid-step.)

use std::time::Duration;

use kalix_testkit::ServiceProcess;
use serde_json::json;

use crate::{balance, create_wallet, send, start, status_within};

const BINARY: &str = env!("CARGO_BIN_EXE_transfer-workflow-compensation");

#[tokio::test]
async fn a_paused_transfer_survives_sigkill_and_completes_once_accepted() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!(
        "sqlite://{}",
        directory.path().join("transfers.db").display()
    );
    let env = [("KALIX_STORE", store.as_str())];
    let http = kalix_testkit::reqwest::Client::new();

    let service = ServiceProcess::spawn(BINARY, &env);
    let base = service.base_url().to_owned();
    create_wallet(&http, &base, "a", 5000).await;
    create_wallet(&http, &base, "b", 0).await;
    start(&http, &base, "big", "a", "b", 2000).await;
    assert_eq!(
        status_within(
            &base,
            "big",
            "WAITING_FOR_ACCEPTATION",
            Duration::from_secs(5)
        )
        .await,
        "WAITING_FOR_ACCEPTATION"
    );
    start(&http, &base, "comp", "a", "nobody", 100).await;
    assert_eq!(
        status_within(
            &base,
            "comp",
            "COMPENSATION_COMPLETED",
            Duration::from_secs(5)
        )
        .await,
        "COMPENSATION_COMPLETED"
    );
    service.signal("KILL");
    drop(service);

    let restarted = ServiceProcess::spawn(BINARY, &env);
    let base = restarted.base_url().to_owned();
    assert_eq!(
        status_within(
            &base,
            "comp",
            "COMPENSATION_COMPLETED",
            Duration::from_secs(20)
        )
        .await,
        "COMPENSATION_COMPLETED"
    );
    let (status, body) = send(&http, "PATCH", format!("{base}/transfer/big/accept"), None).await;
    assert_eq!((status, body), (200, json!({"value": "transfer accepted"})));
    assert_eq!(
        status_within(&base, "big", "COMPLETED", Duration::from_secs(10)).await,
        "COMPLETED"
    );
    assert_eq!(
        balance(&http, &base, "a").await,
        Some(3000),
        "the compensation gave the 100 back"
    );
    assert_eq!(balance(&http, &base, "b").await, Some(2000));
}
