//! The wallet: a value entity holding a balance. Withdrawals and deposits may carry a command
//! id (`?command_id=..`): a command whose id the wallet has seen is answered "Ok" again without
//! applying it twice, which makes the workflow's steps (run at least once) safe to repeat.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// A wallet's state; none until it is created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Wallet {
    pub id: String,
    pub balance: i64,
    /// The ids of the last commands applied (at most [`REMEMBERED`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<String>,
}

/// How many command ids a wallet remembers.
pub const REMEMBERED: usize = 64;

impl Wallet {
    fn seen(&self, command_id: &Option<String>) -> bool {
        command_id
            .as_ref()
            .is_some_and(|id| self.applied.contains(id))
    }

    fn applied(&self, balance: i64, command_id: Option<String>) -> Self {
        let mut applied = self.applied.clone();
        if let Some(id) = command_id {
            applied.push(id);
            if applied.len() > REMEMBERED {
                applied.remove(0);
            }
        }
        Self {
            id: self.id.clone(),
            balance,
            applied,
        }
    }
}

type Effect<R> = value_entity::Effect<Option<Wallet>, R>;

#[derive(Default)]
pub struct WalletEntity;

fn not_found(id: &str) -> CallError {
    CallError::new(ErrorCode::NOT_FOUND, format!("Wallet [{id}] not exists"))
}

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
        let id = ctx.entity_id().to_owned();
        Effect::update_state(Some(Wallet {
            id,
            balance: init_balance,
            applied: Vec::new(),
        }))
        .then_reply("Ok".to_owned())
    }

    #[patch("/wallet/<id>/withdraw/<amount>")]
    pub fn withdraw(
        &self,
        wallet: &Option<Wallet>,
        amount: i64,
        #[query] command_id: Option<String>,
        ctx: &ValueEntityContext,
    ) -> Effect<String> {
        let Some(wallet) = wallet else {
            return Effect::error_with_status(
                not_found(ctx.entity_id()).description(),
                ErrorCode::NOT_FOUND,
            );
        };
        if wallet.seen(&command_id) {
            return Effect::reply("Ok".to_owned());
        }
        let Some(balance) = wallet.balance.checked_sub(amount) else {
            return Effect::error("the amount is out of range");
        };
        if balance < 0 {
            return Effect::error("Insufficient balance");
        }
        Effect::update_state(Some(wallet.applied(balance, command_id))).then_reply("Ok".to_owned())
    }

    #[patch("/wallet/<id>/deposit/<amount>")]
    pub fn deposit(
        &self,
        wallet: &Option<Wallet>,
        amount: i64,
        #[query] command_id: Option<String>,
        ctx: &ValueEntityContext,
    ) -> Effect<String> {
        let Some(wallet) = wallet else {
            return Effect::error_with_status(
                not_found(ctx.entity_id()).description(),
                ErrorCode::NOT_FOUND,
            );
        };
        if wallet.seen(&command_id) {
            return Effect::reply("Ok".to_owned());
        }
        let Some(balance) = wallet.balance.checked_add(amount) else {
            return Effect::error("the amount is out of range");
        };
        Effect::update_state(Some(wallet.applied(balance, command_id))).then_reply("Ok".to_owned())
    }

    #[get("/wallet/<id>")]
    pub fn get(&self, wallet: &Option<Wallet>, ctx: &ValueEntityContext) -> Effect<i64> {
        match wallet {
            Some(wallet) => Effect::reply(wallet.balance),
            None => Effect::error_with_status(
                not_found(ctx.entity_id()).description(),
                ErrorCode::NOT_FOUND,
            ),
        }
    }
}
