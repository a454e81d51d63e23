//! The wallet: a value entity holding a balance, whose withdrawals and deposits reply with
//! their outcome (succeeded or failed) rather than fail, so the workflow can compensate.
//!
//! Withdrawals and deposits may carry a command id (`?command_id=..`): one the wallet has seen
//! is answered as it was the first time without being applied again, which makes the workflow's
//! steps (run at least once) safe to repeat.

use kalix_core::prelude::*;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A wallet's state; none until it is created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Wallet {
    pub id: String,
    pub balance: i64,
    /// The ids of the commands applied within the last [`DEDUP_WINDOW_MS`], with when each was
    /// applied (ms since the epoch). Bounded by time, not by count: a step re-run after any
    /// number of other commands is still recognised.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub applied_at: BTreeMap<String, u64>,
}

/// How long a wallet remembers a command id: 24 hours. A workflow step is re-run within
/// seconds of a crash (its watchdog), or when the service is back; a service down for longer
/// than this could apply a re-run step twice.
pub const DEDUP_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

impl Wallet {
    fn seen(&self, command_id: &Option<String>) -> bool {
        command_id
            .as_ref()
            .is_some_and(|id| self.applied_at.contains_key(id))
    }

    /// The wallet with `balance`, `command_id` remembered as applied at `now_ms`, and the ids
    /// older than the window forgotten.
    pub fn applied(&self, balance: i64, command_id: Option<String>, now_ms: u64) -> Self {
        let oldest = now_ms.saturating_sub(DEDUP_WINDOW_MS);
        let mut applied_at: BTreeMap<String, u64> = self
            .applied_at
            .iter()
            .filter(|(_, at)| **at >= oldest)
            .map(|(id, at)| (id.clone(), *at))
            .collect();
        if let Some(id) = command_id {
            applied_at.insert(id, now_ms);
        }
        Self {
            id: self.id.clone(),
            balance,
            applied_at,
        }
    }
}

/// Now, in ms since the epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
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
            applied_at: BTreeMap::new(),
        };
        Effect::update_state(Some(wallet)).then_reply("Ok".to_owned())
    }

    #[patch("/wallet/<id>/withdraw/<amount>")]
    pub fn withdraw(
        &self,
        wallet: &Option<Wallet>,
        amount: i64,
        #[query] command_id: Option<String>,
        ctx: &ValueEntityContext,
    ) -> Effect<WithdrawResult> {
        let Some(wallet) = wallet else {
            return Effect::error_with_status(not_exists(ctx.entity_id()), ErrorCode::NOT_FOUND);
        };
        if wallet.seen(&command_id) {
            return Effect::reply(WithdrawResult::WithdrawSucceed);
        }
        let Some(balance) = wallet.balance.checked_sub(amount) else {
            return Effect::error("the amount is out of range");
        };
        if balance < 0 {
            return Effect::reply(WithdrawResult::WithdrawFailed {
                error_msg: "Insufficient balance".to_owned(),
            });
        }
        Effect::update_state(Some(wallet.applied(balance, command_id, now_ms())))
            .then_reply(WithdrawResult::WithdrawSucceed)
    }

    #[patch("/wallet/<id>/deposit/<amount>")]
    pub fn deposit(
        &self,
        wallet: &Option<Wallet>,
        amount: i64,
        #[query] command_id: Option<String>,
        ctx: &ValueEntityContext,
    ) -> Effect<DepositResult> {
        let Some(wallet) = wallet else {
            return Effect::reply(DepositResult::DepositFailed {
                error_msg: not_exists(ctx.entity_id()),
            });
        };
        if wallet.seen(&command_id) {
            return Effect::reply(DepositResult::DepositSucceed);
        }
        let Some(balance) = wallet.balance.checked_add(amount) else {
            return Effect::error("the amount is out of range");
        };
        Effect::update_state(Some(wallet.applied(balance, command_id, now_ms())))
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
