//! Kalix's five scenarios in-process against the real wallets, over HTTP on the `TestKit` (whose
//! clock is moved by hand), and the contract's error replies.

use std::time::Duration;

use kalix_testkit::TestKit;
use serde_json::json;

use crate::{balance, create_wallet, send, start, status_within};

const WITHIN: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_plain_transfer_completes() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 100).await;
    create_wallet(&http, &base, "b", 100).await;
    assert_eq!(
        start(&http, &base, "t1", "a", "b", 10).await,
        (200, json!({"value": "transfer started"}))
    );
    assert_eq!(
        status_within(&base, "t1", "COMPLETED", WITHIN).await,
        "COMPLETED"
    );
    assert_eq!(
        (
            balance(&http, &base, "a").await,
            balance(&http, &base, "b").await
        ),
        (Some(90), Some(110))
    );
    let (status, body) = send(&http, "GET", format!("{base}/transfer/t1"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"transferId": "t1", "transfer": {"from": "a", "to": "b", "amount": 10}, "status": "COMPLETED"})
    );
}

#[tokio::test]
async fn a_transfer_with_acceptation_completes_once_accepted() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 2000).await;
    create_wallet(&http, &base, "b", 100).await;
    assert_eq!(
        start(&http, &base, "t2", "a", "b", 1001).await,
        (
            200,
            json!({"value": "transfer started, waiting for acceptation"})
        )
    );
    assert_eq!(
        status_within(&base, "t2", "WAITING_FOR_ACCEPTATION", WITHIN).await,
        "WAITING_FOR_ACCEPTATION"
    );
    let (status, body) = send(&http, "PATCH", format!("{base}/transfer/t2/accept"), None).await;
    assert_eq!((status, body), (200, json!({"value": "transfer accepted"})));
    assert_eq!(
        status_within(&base, "t2", "COMPLETED", WITHIN).await,
        "COMPLETED"
    );
    assert_eq!(
        (
            balance(&http, &base, "a").await,
            balance(&http, &base, "b").await
        ),
        (Some(999), Some(1101))
    );
    // A timeout arriving late changes nothing.
    let (status, body) = send(
        &http,
        "PATCH",
        format!("{base}/transfer/t2/acceptation-timeout"),
        None,
    )
    .await;
    assert_eq!((status, body), (200, json!("Ok")));
    assert_eq!(
        status_within(&base, "t2", "COMPLETED", WITHIN).await,
        "COMPLETED"
    );
}

#[tokio::test]
async fn an_acceptation_timeout_through_the_clock_moves_no_money() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 2000).await;
    create_wallet(&http, &base, "b", 100).await;
    start(&http, &base, "t3", "a", "b", 1001).await;
    assert_eq!(
        status_within(&base, "t3", "WAITING_FOR_ACCEPTATION", WITHIN).await,
        "WAITING_FOR_ACCEPTATION"
    );
    // Let the step that starts the timer finish before moving the clock.
    for _ in 0..100 {
        if testkit
            .timers()
            .await
            .iter()
            .any(|t| t.name == "acceptationTimeout-t3")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    testkit
        .clock()
        .advance(Duration::from_secs(8 * 60 * 60))
        .await;
    assert_eq!(
        status_within(&base, "t3", "TRANSFER_ACCEPTATION_TIMED_OUT", WITHIN).await,
        "TRANSFER_ACCEPTATION_TIMED_OUT"
    );
    assert_eq!(
        (
            balance(&http, &base, "a").await,
            balance(&http, &base, "b").await
        ),
        (Some(2000), Some(100))
    );
    let (status, body) = send(&http, "PATCH", format!("{base}/transfer/t3/accept"), None).await;
    assert_eq!(
        (status, &body["detail"]),
        (
            400,
            &json!("Cannot accept transfer with status: TRANSFER_ACCEPTATION_TIMED_OUT")
        )
    );
}

#[tokio::test]
async fn a_deposit_into_a_missing_wallet_is_compensated() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 100).await;
    start(&http, &base, "t4", "a", "missing", 10).await;
    assert_eq!(
        status_within(&base, "t4", "COMPENSATION_COMPLETED", WITHIN).await,
        "COMPENSATION_COMPLETED"
    );
    assert_eq!(balance(&http, &base, "a").await, Some(100));
    assert_eq!(balance(&http, &base, "missing").await, None);
}

#[tokio::test]
async fn a_transfer_between_two_missing_wallets_requires_manual_intervention() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    start(&http, &base, "t5", "x", "y", 10).await;
    assert_eq!(
        status_within(&base, "t5", "REQUIRES_MANUAL_INTERVENTION", WITHIN).await,
        "REQUIRES_MANUAL_INTERVENTION"
    );
}

#[tokio::test]
async fn the_contract_errors() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 100).await;
    create_wallet(&http, &base, "b", 100).await;
    for amount in [0, -1] {
        let (status, body) = start(&http, &base, "e", "a", "b", amount).await;
        assert_eq!(
            (status, &body["detail"]),
            (400, &json!("transfer amount should be greater than zero"))
        );
    }
    for path in ["", "/accept", "/acceptation-timeout"] {
        let method = if path.is_empty() { "GET" } else { "PATCH" };
        let (status, body) = send(&http, method, format!("{base}/transfer/none{path}"), None).await;
        assert_eq!(
            (status, &body["detail"]),
            (400, &json!("transfer not started")),
            "{method} {path}"
        );
    }
    start(&http, &base, "e", "a", "b", 5).await;
    let (status, body) = start(&http, &base, "e", "a", "b", 5).await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("transfer already started"))
    );
    assert_eq!(
        status_within(&base, "e", "COMPLETED", WITHIN).await,
        "COMPLETED"
    );
    let (status, body) = send(&http, "PATCH", format!("{base}/transfer/e/accept"), None).await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("Cannot accept transfer with status: COMPLETED"))
    );
    // Wallet replies of the contract.
    let (status, body) = send(
        &http,
        "PATCH",
        format!("{base}/wallet/a/withdraw/1000"),
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"type": "withdraw-failed", "errorMsg": "Insufficient balance"})
        )
    );
    let (status, body) = send(
        &http,
        "PATCH",
        format!("{base}/wallet/nope/deposit/1"),
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"type": "deposit-failed", "errorMsg": "Wallet [nope] not exists"})
        )
    );
    let (status, _) = send(
        &http,
        "PATCH",
        format!("{base}/wallet/nope/withdraw/1"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_workflow_id_as_long_as_ids_go_waits_for_acceptation_like_any_other() {
    // Its acceptation timer is named after the id: the timer limits leave room for it.
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 2000).await;
    create_wallet(&http, &base, "b", 100).await;
    let id = "t".repeat(1_000);
    assert_eq!(
        start(&http, &base, &id, "a", "b", 1001).await,
        (
            200,
            json!({"value": "transfer started, waiting for acceptation"})
        )
    );
    assert_eq!(
        status_within(&base, &id, "WAITING_FOR_ACCEPTATION", WITHIN).await,
        "WAITING_FOR_ACCEPTATION"
    );
}

/// Every step run twice against the real wallets (the first result dropped, as after a crash
/// between a step's call and its transition): the wallets apply each call once, because the
/// steps call them with idempotency keys and the runtime keeps each reply with the change.
#[tokio::test]
async fn steps_run_twice_move_the_money_once() {
    let testkit = TestKit::builder().run_steps_twice().start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 100).await;
    create_wallet(&http, &base, "b", 100).await;
    start(&http, &base, "twice", "a", "b", 10).await;
    start(&http, &base, "compensated", "a", "missing", 5).await;
    assert_eq!(
        status_within(&base, "twice", "COMPLETED", WITHIN).await,
        "COMPLETED"
    );
    assert_eq!(
        status_within(&base, "compensated", "COMPENSATION_COMPLETED", WITHIN).await,
        "COMPENSATION_COMPLETED"
    );
    assert_eq!(
        (
            balance(&http, &base, "a").await,
            balance(&http, &base, "b").await
        ),
        (Some(90), Some(110)),
        "withdrawn once, deposited once, compensated once"
    );
}
