//! The transfer workflow: above 1000 it waits for acceptation (8 hours at most), then it
//! withdraws and deposits. A failed deposit is compensated by depositing the amount back; a
//! failure nothing recovers from, or a workflow running longer than 5 s, ends in
//! REQUIRES_MANUAL_INTERVENTION.

use std::time::Duration;

use kalix_core::prelude::*;
use kalix_core::workflow::{Effect, Recovery, Settings};
use serde::{Deserialize, Serialize};

use crate::wallet::{DepositResult, WalletEntity, WithdrawResult};

/// What to transfer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Transfer {
    pub from: String,
    pub to: String,
    pub amount: i64,
}

/// Where a transfer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferStatus {
    Started,
    WithdrawFailed,
    WithdrawSucceed,
    DepositFailed,
    Completed,
    CompensationCompleted,
    WaitingForAcceptation,
    TransferAcceptationTimedOut,
    RequiresManualIntervention,
}

impl std::fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        f.write_str(json.as_str().unwrap_or_default())
    }
}

/// The workflow's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferState {
    pub transfer_id: String,
    pub transfer: Transfer,
    pub status: TransferStatus,
}

impl TransferState {
    fn with_status(&self, status: TransferStatus) -> Self {
        Self {
            status,
            ..self.clone()
        }
    }
}

/// A reply: `{"value": "..."}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    pub value: String,
}

fn message(value: &str) -> Message {
    Message {
        value: value.to_owned(),
    }
}

/// The input of the `withdraw` step.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Withdraw {
    pub from: String,
    pub amount: i64,
}

/// The input of the `deposit` step.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Deposit {
    pub to: String,
    pub amount: i64,
}

/// The name of the timer that times the acceptation out.
pub fn acceptation_timer(transfer_id: &str) -> String {
    format!("acceptationTimeout-{transfer_id}")
}

/// How long a transfer waits for acceptation.
pub const ACCEPTATION_TIMEOUT: Duration = Duration::from_secs(8 * 60 * 60);

#[derive(Default)]
pub struct TransferWorkflow;

#[workflow(type_id = "transfer", id = "transferId")]
impl TransferWorkflow {
    #[settings]
    fn settings() -> Settings<Self> {
        Settings::new()
            .timeout(Duration::from_secs(5))
            .failover_to(Self::FAILOVER_HANDLER, (), 0)
            .default_step_timeout(Duration::from_secs(2))
            .default_step_recovery(Recovery::max_retries(1).failover_to(Self::FAILOVER_HANDLER, ()))
            .step_recovery(
                Self::DEPOSIT,
                Recovery::max_retries(2).failover_to(Self::COMPENSATE_WITHDRAW, ()),
            )
    }

    #[put("/transfer/<transferId>")]
    pub fn start_transfer(
        &self,
        state: Option<&TransferState>,
        transfer: Transfer,
        ctx: &WorkflowContext,
    ) -> Effect<Self, TransferState, Message> {
        if state.is_some() {
            return Effect::error("transfer already started");
        }
        if transfer.amount <= 0 {
            return Effect::error("transfer amount should be greater than zero");
        }
        let transfer_id = ctx.workflow_id().to_owned();
        if transfer.amount > 1000 {
            let waiting = TransferState {
                transfer_id,
                transfer,
                status: TransferStatus::WaitingForAcceptation,
            };
            return Effect::update_state(waiting)
                .transition_to(Self::WAIT_FOR_ACCEPTATION, ())
                .then_reply(message("transfer started, waiting for acceptation"));
        }
        let withdraw = Withdraw {
            from: transfer.from.clone(),
            amount: transfer.amount,
        };
        let started = TransferState {
            transfer_id,
            transfer,
            status: TransferStatus::Started,
        };
        Effect::update_state(started)
            .transition_to(Self::WITHDRAW, withdraw)
            .then_reply(message("transfer started"))
    }

    #[patch("/transfer/<transferId>/accept")]
    pub fn accept(&self, state: Option<&TransferState>) -> Effect<Self, TransferState, Message> {
        let Some(state) = state else {
            return Effect::error("transfer not started");
        };
        if state.status != TransferStatus::WaitingForAcceptation {
            return Effect::error(format!(
                "Cannot accept transfer with status: {}",
                state.status
            ));
        }
        let withdraw = Withdraw {
            from: state.transfer.from.clone(),
            amount: state.transfer.amount,
        };
        Effect::transition_to(Self::WITHDRAW, withdraw).then_reply(message("transfer accepted"))
    }

    #[patch("/transfer/<transferId>/acceptation-timeout")]
    pub fn acceptation_timeout(
        &self,
        state: Option<&TransferState>,
    ) -> Effect<Self, TransferState, String> {
        let Some(state) = state else {
            return Effect::error("transfer not started");
        };
        if state.status != TransferStatus::WaitingForAcceptation {
            return Effect::reply("Ok".to_owned());
        }
        Effect::update_state(state.with_status(TransferStatus::TransferAcceptationTimedOut))
            .end()
            .then_reply("timed out".to_owned())
    }

    #[get("/transfer/<transferId>")]
    pub fn get_transfer_state(
        &self,
        state: Option<&TransferState>,
    ) -> Effect<Self, TransferState, TransferState> {
        match state {
            Some(state) => Effect::reply(state.clone()),
            None => Effect::error("transfer not started"),
        }
    }

    #[step]
    async fn withdraw(
        &self,
        state: &TransferState,
        withdraw: Withdraw,
        ctx: &StepContext,
    ) -> StepResult<Self, TransferState> {
        ctx.timers()
            .cancel(acceptation_timer(ctx.workflow_id()))
            .await?;
        let result = ctx
            .component_client()
            .value_entity::<WalletEntity>(&withdraw.from)
            .withdraw(withdraw.amount)
            .with_idempotency_key(format!("{}-withdraw", ctx.workflow_id()))
            .await?;
        Ok(match result {
            WithdrawResult::WithdrawSucceed => {
                let deposit = Deposit {
                    to: state.transfer.to.clone(),
                    amount: state.transfer.amount,
                };
                Transition::update_state(state.with_status(TransferStatus::WithdrawSucceed))
                    .transition_to(Self::DEPOSIT, deposit)
            }
            WithdrawResult::WithdrawFailed { .. } => {
                Transition::update_state(state.with_status(TransferStatus::WithdrawFailed)).end()
            }
        })
    }

    #[step]
    async fn deposit(
        &self,
        state: &TransferState,
        deposit: Deposit,
        ctx: &StepContext,
    ) -> StepResult<Self, TransferState> {
        let result = ctx
            .component_client()
            .value_entity::<WalletEntity>(&deposit.to)
            .deposit(deposit.amount)
            .with_idempotency_key(format!("{}-deposit", ctx.workflow_id()))
            .await?;
        Ok(match result {
            DepositResult::DepositSucceed => {
                Transition::update_state(state.with_status(TransferStatus::Completed)).end()
            }
            DepositResult::DepositFailed { .. } => {
                Transition::update_state(state.with_status(TransferStatus::DepositFailed))
                    .transition_to(Self::COMPENSATE_WITHDRAW, ())
            }
        })
    }

    #[step]
    async fn compensate_withdraw(
        &self,
        state: &TransferState,
        ctx: &StepContext,
    ) -> StepResult<Self, TransferState> {
        let result = ctx
            .component_client()
            .value_entity::<WalletEntity>(&state.transfer.from)
            .deposit(state.transfer.amount)
            .with_idempotency_key(format!("{}-compensation", ctx.workflow_id()))
            .await?;
        match result {
            DepositResult::DepositSucceed => Ok(Transition::update_state(
                state.with_status(TransferStatus::CompensationCompleted),
            )
            .end()),
            failed => Err(CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!("Expecting succeed operation but received: {failed:?}"),
            )),
        }
    }

    #[step]
    async fn wait_for_acceptation(&self, ctx: &StepContext) -> StepResult<Self, TransferState> {
        let timeout = ctx
            .component_client()
            .workflow::<TransferWorkflow>(ctx.workflow_id())
            .acceptation_timeout();
        ctx.timers()
            .start_single_timer(
                acceptation_timer(ctx.workflow_id()),
                ACCEPTATION_TIMEOUT,
                timeout,
            )
            .await?;
        Ok(Transition::pause())
    }

    #[step]
    async fn failover_handler(&self, state: &TransferState) -> StepResult<Self, TransferState> {
        Ok(
            Transition::update_state(state.with_status(TransferStatus::RequiresManualIntervention))
                .end(),
        )
    }
}
