//! The transfer: a workflow that withdraws from one wallet, then deposits into the other.

use kalix_core::prelude::*;
use kalix_core::workflow::Effect;
use serde::{Deserialize, Serialize};

use crate::wallet::WalletEntity;

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
    WithdrawSucceed,
    Completed,
}

/// The workflow's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TransferState {
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

#[derive(Default)]
pub struct TransferWorkflow;

#[workflow(type_id = "transfer", id = "transferId")]
impl TransferWorkflow {
    #[put("/transfer/<transferId>")]
    pub fn start_transfer(
        &self,
        state: Option<&TransferState>,
        transfer: Transfer,
    ) -> Effect<Self, TransferState, Message> {
        if transfer.amount <= 0 {
            return Effect::error("transfer amount should be greater than zero");
        }
        if state.is_some() {
            return Effect::error("transfer already started");
        }
        let withdraw = Withdraw {
            from: transfer.from.clone(),
            amount: transfer.amount,
        };
        let started = TransferState {
            transfer,
            status: TransferStatus::Started,
        };
        Effect::update_state(started)
            .transition_to(Self::WITHDRAW, withdraw)
            .then_reply(Message {
                value: "transfer started".to_owned(),
            })
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
        // Run at least once, applied once: the wallet keeps its reply under the key.
        ctx.component_client()
            .value_entity::<WalletEntity>(&withdraw.from)
            .withdraw(withdraw.amount)
            .with_idempotency_key(format!("{}-withdraw", ctx.workflow_id()))
            .await?;
        let deposit = Deposit {
            to: state.transfer.to.clone(),
            amount: state.transfer.amount,
        };
        Ok(
            Transition::update_state(state.with_status(TransferStatus::WithdrawSucceed))
                .transition_to(Self::DEPOSIT, deposit),
        )
    }

    #[step]
    async fn deposit(
        &self,
        state: &TransferState,
        deposit: Deposit,
        ctx: &StepContext,
    ) -> StepResult<Self, TransferState> {
        ctx.component_client()
            .value_entity::<WalletEntity>(&deposit.to)
            .deposit(deposit.amount)
            .with_idempotency_key(format!("{}-deposit", ctx.workflow_id()))
            .await?;
        Ok(Transition::update_state(state.with_status(TransferStatus::Completed)).end())
    }
}
