//! The contract in-process, on the `TestKit` (its clock is moved by hand).

use std::time::Duration;

use kalix_testkit::TestKit;
use serde_json::json;
use transfer_workflow::transfer::{Transfer, TransferStatus, TransferWorkflow};

use crate::{balance, create_wallet, start, state, status_within};

#[tokio::test]
async fn a_transfer_withdraws_then_deposits_and_completes() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 100).await;
    create_wallet(&http, &base, "b", 100).await;

    let (status, body) = start(&http, &base, "t1", "a", "b", 10).await;
    assert_eq!((status, body), (200, json!({"value": "transfer started"})));
    assert_eq!(
        status_within(&base, "t1", "COMPLETED", Duration::from_secs(5)).await,
        "COMPLETED"
    );
    let (_, body) = state(&http, &base, "t1").await;
    assert_eq!(
        body,
        json!({"transfer": {"from": "a", "to": "b", "amount": 10}, "status": "COMPLETED"})
    );
    assert_eq!(balance(&http, &base, "a").await, Some(90));
    assert_eq!(balance(&http, &base, "b").await, Some(110));

    // Started again, even with other wallets: refused, and nothing moves.
    let (status, body) = start(&http, &base, "t1", "b", "a", 5).await;
    assert_eq!(status, 400);
    assert_eq!(body["detail"], "transfer already started");
    assert_eq!(balance(&http, &base, "a").await, Some(90));
}

#[tokio::test]
async fn bad_transfers_are_refused_and_an_unknown_one_is_not_started() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    for amount in [0, -5] {
        let (status, body) = start(&http, &base, "t", "a", "b", amount).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["detail"],
            "transfer amount should be greater than zero"
        );
    }
    let (status, body) = state(&http, &base, "t").await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("transfer not started"))
    );
    let (status, body) = state(&http, &base, "never").await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("transfer not started"))
    );

    // Malformed bodies are the ingress's 400s, and start nothing.
    let reply = http
        .put(format!("{base}/transfer/t"))
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let reply = http
        .put(format!("{base}/transfer/t"))
        .json(&json!({"from": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    assert_eq!(state(&http, &base, "t").await.0, 400);
}

#[tokio::test]
async fn a_failing_step_is_retried_with_backoff_until_it_succeeds() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 100).await;

    // The deposit fails while wallet "c" does not exist: the transfer waits there, the money
    // withdrawn (once, however often the deposit is retried).
    start(&http, &base, "t2", "a", "c", 30).await;
    assert_eq!(
        status_within(&base, "t2", "WITHDRAW_SUCCEED", Duration::from_secs(5)).await,
        "WITHDRAW_SUCCEED"
    );
    for _ in 0..3 {
        testkit.clock().advance(Duration::from_secs(30)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        state(&http, &base, "t2").await.1["status"],
        "WITHDRAW_SUCCEED"
    );
    assert_eq!(balance(&http, &base, "a").await, Some(70));

    create_wallet(&http, &base, "c", 0).await;
    let mut status = json!(null);
    for _ in 0..20 {
        testkit.clock().advance(Duration::from_secs(30)).await;
        status = status_within(&base, "t2", "COMPLETED", Duration::from_millis(200)).await;
        if status == "COMPLETED" {
            break;
        }
    }
    assert_eq!(status, "COMPLETED");
    assert_eq!(balance(&http, &base, "a").await, Some(70));
    assert_eq!(balance(&http, &base, "c").await, Some(30));
}

#[tokio::test]
async fn the_component_client_starts_and_reads_a_workflow() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 50).await;
    create_wallet(&http, &base, "b", 0).await;
    let client = testkit.component_client();
    let transfer = Transfer {
        from: "a".into(),
        to: "b".into(),
        amount: 50,
    };
    let started = client
        .workflow::<TransferWorkflow>("t3")
        .start_transfer(transfer.clone())
        .await
        .unwrap();
    assert_eq!(started.value, "transfer started");
    assert_eq!(
        status_within(&base, "t3", "COMPLETED", Duration::from_secs(5)).await,
        "COMPLETED"
    );
    let read = client
        .workflow::<TransferWorkflow>("t3")
        .get_transfer_state()
        .await
        .unwrap();
    assert_eq!(
        (read.transfer, read.status),
        (transfer, TransferStatus::Completed)
    );
    let refused = client
        .workflow::<TransferWorkflow>("t4")
        .get_transfer_state()
        .await
        .unwrap_err();
    assert_eq!(refused.description(), "transfer not started");
}

#[tokio::test]
async fn a_step_re_run_after_a_hundred_other_commands_is_still_applied_once() {
    // What a step does on each run: the same deposit with the same idempotency key.
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "busy", 0).await;
    let deposit = |key: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let reply = http
                .patch(format!("{base}/wallet/busy/deposit/1"))
                .header("Idempotency-Key", key)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 200);
        }
    };
    deposit("t0-deposit".to_owned()).await;
    for n in 1..=100 {
        deposit(format!("t{n}-deposit")).await;
    }
    // The first transfer's deposit step runs again (its process died before it moved on).
    deposit("t0-deposit".to_owned()).await;
    assert_eq!(balance(&http, &base, "busy").await, Some(101));
}

/// A start sent again with its `Idempotency-Key` (a client that lost the reply) gets the first
/// reply, marked as replayed, instead of "already started"; the transfer runs once. Another
/// transfer under the key is a 422.
#[tokio::test]
async fn a_start_sent_again_with_its_key_is_answered_as_the_first_and_moves_money_once() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_wallet(&http, &base, "a", 100).await;
    create_wallet(&http, &base, "b", 100).await;
    let send = |amount: i64| {
        http.put(format!("{base}/transfer/keyed"))
            .header("Idempotency-Key", "start-keyed")
            .json(&json!({"from": "a", "to": "b", "amount": amount}))
            .send()
    };
    let first = send(10).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers().get("idempotency-replayed"), None);
    assert_eq!(
        status_within(&base, "keyed", "COMPLETED", Duration::from_secs(5)).await,
        "COMPLETED"
    );
    let again = send(10).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    assert_eq!(
        again.json::<serde_json::Value>().await.unwrap(),
        json!({"value": "transfer started"})
    );
    assert_eq!(send(20).await.unwrap().status(), 422);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(balance(&http, &base, "a").await, Some(90), "moved once");
    assert_eq!(balance(&http, &base, "b").await, Some(110));
}
