//! The wallet: a value entity holding a balance, whose withdrawals and deposits reply with
//! their outcome (succeeded or failed) rather than fail, so the workflow can compensate.
//!
//! The workflow's steps (run at least once) call it with an idempotency key made of the workflow
//! id and the step: the runtime keeps each reply with the wallet's change, so a repeated call is
//! answered as it was the first time and applied once, with nothing in the wallet for it.

use kalix_core::prelude::*;

use serde::{Deserialize, Serialize};

/// A wallet's state; none until it is created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Wallet {
    pub id: String,
    pub balance: i64,
}

/// What a withdrawal came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WithdrawResult {
    WithdrawSucceed,
    WithdrawFailed {
        #[serde(rename = "errorMsg")]
        error_msg: String,
    },
}

/// What a deposit came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum DepositResult {
    DepositSucceed,
    DepositFailed {
        #[serde(rename = "errorMsg")]
        error_msg: String,
    },
}

type Effect<R> = value_entity::Effect<Option<Wallet>, R>;

fn not_exists(id: &str) -> String {
    format!("Wallet [{id}] not exists")
}

#[derive(Default)]
pub struct WalletEntity;

#[value_entity(type_id = "wallet", id = "id", state = Option<Wallet>)]
impl WalletEntity {
    #[post("/wallet/<id>/create/<init_balance>")]
    pub fn create(
        &self,
        wallet: &Option<Wallet>,
        init_balance: i64,
        ctx: &ValueEntityContext,
    ) -> Effect<String> {
        if wallet.is_some() {
            return Effect::error("Wallet already exists");
        }
        let wallet = Wallet {
            id: ctx.entity_id().to_owned(),
            balance: init_balance,
        };
        Effect::update_state(Some(wallet)).then_reply("Ok".to_owned())
    }

    #[patch("/wallet/<id>/withdraw/<amount>")]
    pub fn withdraw(
        &self,
        wallet: &Option<Wallet>,
        amount: i64,
        ctx: &ValueEntityContext,
    ) -> Effect<WithdrawResult> {
        let Some(wallet) = wallet else {
            return Effect::error_with_status(not_exists(ctx.entity_id()), ErrorCode::NOT_FOUND);
        };
        let Some(balance) = wallet.balance.checked_sub(amount) else {
            return Effect::error("the amount is out of range");
        };
        if balance < 0 {
            return Effect::reply(WithdrawResult::WithdrawFailed {
                error_msg: "Insufficient balance".to_owned(),
            });
        }
        Effect::update_state(Some(Wallet {
            balance,
            ..wallet.clone()
        }))
        .then_reply(WithdrawResult::WithdrawSucceed)
    }

    #[patch("/wallet/<id>/deposit/<amount>")]
    pub fn deposit(
        &self,
        wallet: &Option<Wallet>,
        amount: i64,
        ctx: &ValueEntityContext,
    ) -> Effect<DepositResult> {
        let Some(wallet) = wallet else {
            return Effect::reply(DepositResult::DepositFailed {
                error_msg: not_exists(ctx.entity_id()),
            });
        };
        let Some(balance) = wallet.balance.checked_add(amount) else {
            return Effect::error("the amount is out of range");
        };
        Effect::update_state(Some(Wallet {
            balance,
            ..wallet.clone()
        }))
        .then_reply(DepositResult::DepositSucceed)
    }

    #[get("/wallet/<id>")]
    pub fn get(&self, wallet: &Option<Wallet>, ctx: &ValueEntityContext) -> Effect<i64> {
        match wallet {
            Some(wallet) => Effect::reply(wallet.balance),
            None => Effect::error_with_status(not_exists(ctx.entity_id()), ErrorCode::NOT_FOUND),
        }
    }
}
