//! The wallet: a value entity holding a balance. The workflow's steps (run at least once) call
//! it with an idempotency key, so the wallet applies each withdrawal and deposit once with no
//! bookkeeping of its own: the runtime keeps each keyed command's reply with its change.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// A wallet's state; none until it is created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Wallet {
    pub id: String,
    pub balance: i64,
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
        }))
        .then_reply("Ok".to_owned())
    }

    #[patch("/wallet/<id>/withdraw/<amount>")]
    pub fn withdraw(
        &self,
        wallet: &Option<Wallet>,
        amount: i64,
        ctx: &ValueEntityContext,
    ) -> Effect<String> {
        let Some(wallet) = wallet else {
            return Effect::error_with_status(
                not_found(ctx.entity_id()).description(),
                ErrorCode::NOT_FOUND,
            );
        };
        let Some(balance) = wallet.balance.checked_sub(amount) else {
            return Effect::error("the amount is out of range");
        };
        if balance < 0 {
            return Effect::error("Insufficient balance");
        }
        Effect::update_state(Some(Wallet {
            balance,
            ..wallet.clone()
        }))
        .then_reply("Ok".to_owned())
    }

    #[patch("/wallet/<id>/deposit/<amount>")]
    pub fn deposit(
        &self,
        wallet: &Option<Wallet>,
        amount: i64,
        ctx: &ValueEntityContext,
    ) -> Effect<String> {
        let Some(wallet) = wallet else {
            return Effect::error_with_status(
                not_found(ctx.entity_id()).description(),
                ErrorCode::NOT_FOUND,
            );
        };
        let Some(balance) = wallet.balance.checked_add(amount) else {
            return Effect::error("the amount is out of range");
        };
        Effect::update_state(Some(Wallet {
            balance,
            ..wallet.clone()
        }))
        .then_reply("Ok".to_owned())
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
