//! Kalix's five scenarios in the workflow unit testkit: the wallets are stubs keeping balances
//! in a map, the clock is moved by hand, and each transition is checked.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kalix_core::value_entity::ValueEntityComponent;
use kalix_core::workflow::Position;
use kalix_core::{Call, CallError, ErrorCode};
use kalix_testkit::WorkflowTestKit;
use transfer_workflow_compensation::transfer::{
    ACCEPTATION_TIMEOUT, Transfer, TransferStatus, TransferWorkflow, acceptation_timer,
};
use transfer_workflow_compensation::wallet::{DepositResult, WalletEntity, WithdrawResult};

type Wallets = Arc<Mutex<HashMap<String, i64>>>;

fn amount(call: &Call) -> i64 {
    call.path_param("amount").unwrap().parse().unwrap()
}

/// The call's idempotency key, under which the runtime keeps the wallet's reply.
fn command_id(call: &Call) -> Option<String> {
    call.metadata()
        .get(kalix_core::Metadata::IDEMPOTENCY_KEY)
        .map(str::to_owned)
}

/// A testkit whose wallet stubs hold `wallets`, as the wallet entity in the runtime would: each
/// idempotency key applied once.
async fn testkit(wallets: &[(&str, i64)]) -> (WorkflowTestKit<TransferWorkflow>, Wallets) {
    stubbed(WorkflowTestKit::<TransferWorkflow>::start().await, wallets)
}

/// As [`testkit`], with every step run twice (the first result dropped, as after a crash
/// between a step's calls and its transition): a step that is not idempotent moves money twice.
async fn testkit_running_steps_twice(
    wallets: &[(&str, i64)],
) -> (WorkflowTestKit<TransferWorkflow>, Wallets) {
    let testkit =
        WorkflowTestKit::<TransferWorkflow>::start_with(|builder| builder.run_steps_twice()).await;
    stubbed(testkit, wallets)
}

fn stubbed(
    testkit: WorkflowTestKit<TransferWorkflow>,
    wallets: &[(&str, i64)],
) -> (WorkflowTestKit<TransferWorkflow>, Wallets) {
    let balances: Wallets = Arc::new(Mutex::new(
        wallets.iter().map(|(id, b)| (id.to_string(), *b)).collect(),
    ));
    let applied: Arc<Mutex<HashSet<String>>> = Arc::default();
    let (held, seen) = (Arc::clone(&balances), Arc::clone(&applied));
    testkit.stub::<WalletEntity>().withdraw(move |call| {
        let id = call.path_param("id").unwrap();
        let mut wallets = held.lock().unwrap();
        let Some(balance) = wallets.get_mut(id) else {
            return Err(CallError::new(
                ErrorCode::NOT_FOUND,
                format!("Wallet [{id}] not exists"),
            ));
        };
        if command_id(call).is_some_and(|command| !seen.lock().unwrap().insert(command)) {
            return Ok(WithdrawResult::WithdrawSucceed);
        }
        if *balance < amount(call) {
            return Ok(WithdrawResult::WithdrawFailed {
                error_msg: "Insufficient balance".into(),
            });
        }
        *balance -= amount(call);
        Ok(WithdrawResult::WithdrawSucceed)
    });
    let (held, seen) = (Arc::clone(&balances), Arc::clone(&applied));
    testkit.stub::<WalletEntity>().deposit(move |call| {
        let id = call.path_param("id").unwrap();
        let mut wallets = held.lock().unwrap();
        let Some(balance) = wallets.get_mut(id) else {
            return Ok(DepositResult::DepositFailed {
                error_msg: format!("Wallet [{id}] not exists"),
            });
        };
        if command_id(call).is_some_and(|command| !seen.lock().unwrap().insert(command)) {
            return Ok(DepositResult::DepositSucceed);
        }
        *balance += amount(call);
        Ok(DepositResult::DepositSucceed)
    });
    (testkit, balances)
}

fn transfer(from: &str, to: &str, amount: i64) -> Transfer {
    Transfer {
        from: from.into(),
        to: to.into(),
        amount,
    }
}

fn balance(wallets: &Wallets, id: &str) -> Option<i64> {
    wallets.lock().unwrap().get(id).copied()
}

/// The statuses the workflow went through, one per committed record.
fn statuses(testkit: &WorkflowTestKit<TransferWorkflow>, id: &str) -> Vec<TransferStatus> {
    testkit
        .transitions(id)
        .iter()
        .filter_map(|r| r.state.as_ref().map(|s| s.status))
        .collect()
}

#[tokio::test]
async fn a_plain_transfer_withdraws_deposits_and_completes() {
    let (testkit, wallets) = testkit(&[("a", 100), ("b", 100)]).await;
    let reply = testkit
        .client("t1")
        .start_transfer(transfer("a", "b", 10))
        .await
        .unwrap();
    assert_eq!(reply.value, "transfer started");
    let record = testkit.settled("t1").await;
    assert_eq!(record.position, Position::Ended);
    assert_eq!(record.state.unwrap().status, TransferStatus::Completed);
    assert_eq!(testkit.steps("t1"), ["withdraw", "deposit"]);
    use TransferStatus::*;
    assert_eq!(
        statuses(&testkit, "t1"),
        [Started, WithdrawSucceed, Completed]
    );
    let calls: Vec<(String, String)> = testkit
        .calls()
        .iter()
        .map(|c| {
            (
                c.method().to_owned(),
                c.path_param("id").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("withdraw".into(), "a".into()),
            ("deposit".into(), "b".into())
        ]
    );
    assert!(
        testkit
            .calls()
            .iter()
            .all(|c| c.component() == WalletEntity::COMPONENT_ID)
    );
    assert_eq!(
        (balance(&wallets, "a"), balance(&wallets, "b")),
        (Some(90), Some(110))
    );
}

#[tokio::test]
async fn a_transfer_above_1000_waits_for_acceptation_then_completes() {
    let (testkit, wallets) = testkit(&[("a", 2000), ("b", 100)]).await;
    let reply = testkit
        .client("t2")
        .start_transfer(transfer("a", "b", 1001))
        .await
        .unwrap();
    assert_eq!(reply.value, "transfer started, waiting for acceptation");
    let record = testkit.settled("t2").await;
    assert_eq!(record.position, Position::Paused);
    assert_eq!(
        record.state.unwrap().status,
        TransferStatus::WaitingForAcceptation
    );
    let timers = testkit.timers().await;
    let timer = timers
        .iter()
        .find(|t| t.name == acceptation_timer("t2"))
        .expect("the acceptation timer");
    assert!(
        timer
            .target
            .ends_with("TransferWorkflow::acceptation_timeout"),
        "{timer:?}"
    );
    assert_eq!(
        timer.due_ms - testkit.clock().now_ms(),
        ACCEPTATION_TIMEOUT.as_millis() as u64
    );
    assert!(
        testkit.calls().is_empty(),
        "nothing withdrawn before acceptation"
    );

    let accepted = testkit.client("t2").accept().await.unwrap();
    assert_eq!(accepted.value, "transfer accepted");
    let record = testkit.settled("t2").await;
    assert_eq!(record.state.unwrap().status, TransferStatus::Completed);
    assert_eq!(
        (balance(&wallets, "a"), balance(&wallets, "b")),
        (Some(999), Some(1101))
    );
    assert!(
        testkit
            .timers()
            .await
            .iter()
            .all(|t| t.name != acceptation_timer("t2")),
        "withdrawing cancelled the acceptation timer"
    );
    let again = testkit.client("t2").accept().await.unwrap_err();
    assert_eq!(
        again.description(),
        "Cannot accept transfer with status: COMPLETED"
    );
}

#[tokio::test]
async fn a_transfer_not_accepted_within_8_hours_times_out_and_moves_nothing() {
    let (testkit, wallets) = testkit(&[("a", 2000), ("b", 100)]).await;
    testkit
        .client("t3")
        .start_transfer(transfer("a", "b", 1001))
        .await
        .unwrap();
    testkit.settled("t3").await;
    // The 5 s workflow timeout does not count time spent paused.
    testkit.advance(Duration::from_secs(60)).await;
    assert_eq!(
        testkit.settled("t3").await.state.unwrap().status,
        TransferStatus::WaitingForAcceptation
    );
    testkit.advance(ACCEPTATION_TIMEOUT).await;
    let record = testkit.settled("t3").await;
    assert_eq!(record.position, Position::Ended);
    assert_eq!(
        record.state.unwrap().status,
        TransferStatus::TransferAcceptationTimedOut
    );
    assert!(testkit.calls().is_empty());
    assert_eq!(
        (balance(&wallets, "a"), balance(&wallets, "b")),
        (Some(2000), Some(100))
    );
    let late = testkit.client("t3").accept().await.unwrap_err();
    assert_eq!(
        late.description(),
        "Cannot accept transfer with status: TRANSFER_ACCEPTATION_TIMED_OUT"
    );
}

#[tokio::test]
async fn a_deposit_into_a_missing_wallet_is_compensated() {
    let (testkit, wallets) = testkit(&[("a", 100)]).await;
    testkit
        .client("t4")
        .start_transfer(transfer("a", "missing", 10))
        .await
        .unwrap();
    let record = testkit.settled("t4").await;
    assert_eq!(
        record.state.unwrap().status,
        TransferStatus::CompensationCompleted
    );
    assert_eq!(
        testkit.steps("t4"),
        ["withdraw", "deposit", "compensate-withdraw"]
    );
    use TransferStatus::*;
    assert_eq!(
        statuses(&testkit, "t4"),
        [
            Started,
            WithdrawSucceed,
            DepositFailed,
            CompensationCompleted
        ]
    );
    assert_eq!(balance(&wallets, "a"), Some(100));
}

#[tokio::test]
async fn a_transfer_between_two_missing_wallets_requires_manual_intervention() {
    let (testkit, _) = testkit(&[]).await;
    testkit
        .client("t5")
        .start_transfer(transfer("x", "y", 10))
        .await
        .unwrap();
    let record = testkit.settled("t5").await;
    assert_eq!(record.position, Position::Ended);
    assert_eq!(
        record.state.unwrap().status,
        TransferStatus::RequiresManualIntervention
    );
    // The withdrawal fails, is retried once, then the workflow fails over.
    assert_eq!(
        testkit.steps("t5"),
        ["withdraw", "withdraw", "failover-handler"]
    );
    assert_eq!(testkit.calls().len(), 2);
}

#[tokio::test]
async fn a_deposit_that_never_answers_times_out_and_the_workflow_timeout_fails_over() {
    let (testkit, wallets) = testkit(&[("a", 100), ("b", 0)]).await;
    testkit.never_answer(WalletEntity::COMPONENT_ID, "deposit");
    testkit
        .client("t6")
        .start_transfer(transfer("a", "b", 10))
        .await
        .unwrap();
    let record = testkit.settled("t6").await;
    assert_eq!(
        record
            .running()
            .map(|(step, _, attempt)| (step.to_owned(), attempt)),
        Some(("deposit".into(), 0))
    );
    // Each 2 s the deposit times out and is retried (twice at most) ...
    testkit.advance(Duration::from_secs(2)).await;
    assert_eq!(
        testkit.settled("t6").await.running().map(|(_, _, a)| a),
        Some(1)
    );
    testkit.advance(Duration::from_secs(2)).await;
    assert_eq!(
        testkit.settled("t6").await.running().map(|(_, _, a)| a),
        Some(2)
    );
    // ... until the workflow has run 5 s: its timeout fails over to failover-handler.
    testkit.advance(Duration::from_millis(1500)).await;
    let record = testkit.settled("t6").await;
    assert_eq!(record.position, Position::Ended);
    assert_eq!(
        record.state.unwrap().status,
        TransferStatus::RequiresManualIntervention
    );
    assert_eq!(
        testkit.steps("t6"),
        [
            "withdraw",
            "deposit",
            "deposit",
            "deposit",
            "failover-handler"
        ]
    );
    assert_eq!(
        balance(&wallets, "a"),
        Some(90),
        "withdrawn, and the failover leaves it to a human"
    );
}

#[tokio::test]
async fn steps_run_twice_move_the_money_once() {
    // A plain transfer, and one whose deposit fails and is compensated.
    let (testkit, wallets) = testkit_running_steps_twice(&[("a", 100), ("b", 0)]).await;
    testkit
        .client("t1")
        .start_transfer(transfer("a", "b", 10))
        .await
        .unwrap();
    testkit
        .client("t2")
        .start_transfer(transfer("a", "missing", 30))
        .await
        .unwrap();
    let plain = testkit.settled("t1").await;
    let compensated = testkit.settled("t2").await;
    assert_eq!(plain.state.unwrap().status, TransferStatus::Completed);
    assert_eq!(
        compensated.state.unwrap().status,
        TransferStatus::CompensationCompleted
    );
    assert_eq!(
        testkit.calls().len(),
        10,
        "each step's call was made twice: 2 x (withdraw, deposit) + 2 x (withdraw, deposit, compensation)"
    );
    assert_eq!(
        balance(&wallets, "a"),
        Some(90),
        "withdrawn once, refunded once"
    );
    assert_eq!(balance(&wallets, "b"), Some(10), "deposited once");
}
