//! A unique email address: a value entity per address, not used, reserved by a user, or
//! confirmed as theirs.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Done;

/// Whether an address is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EmailStatus {
    NotUsed,
    Reserved,
    Confirmed,
}

/// An address's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UniqueEmail {
    pub address: String,
    pub status: EmailStatus,
    #[serde(rename = "ownerId")]
    pub owner_id: Option<String>,
}

impl UniqueEmail {
    /// An address nobody uses.
    pub fn not_used(address: &str) -> Self {
        Self {
            address: address.to_owned(),
            status: EmailStatus::NotUsed,
            owner_id: None,
        }
    }

    fn with(&self, status: EmailStatus) -> Self {
        Self {
            status,
            ..self.clone()
        }
    }
}

/// The body of a reservation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReserveEmail {
    #[serde(rename = "ownerId")]
    pub owner_id: String,
}

type Effect<R> = value_entity::Effect<UniqueEmail, R>;

#[derive(Default)]
pub struct UniqueEmailEntity;

#[value_entity(type_id = "unique-address", id = "id", state = UniqueEmail, empty_state = UniqueEmail::not_used)]
impl UniqueEmailEntity {
    /// Reserves the address for a user; refused if another user holds it.
    #[post("/unique-emails/<id>/reserve")]
    pub fn reserve(&self, email: &UniqueEmail, reserve: ReserveEmail) -> Effect<Done> {
        match (&email.status, &email.owner_id) {
            (EmailStatus::NotUsed, _) => {
                let reserved = UniqueEmail {
                    status: EmailStatus::Reserved,
                    owner_id: Some(reserve.owner_id),
                    ..email.clone()
                };
                Effect::update_state(reserved).then_reply(Done {})
            }
            (_, Some(owner)) if *owner == reserve.owner_id => Effect::reply(Done {}),
            _ => Effect::error("Email is already reserved"),
        }
    }

    /// Confirms a reservation; anything else stays as it is.
    #[post("/unique-emails/<id>/confirm")]
    pub fn confirm(&self, email: &UniqueEmail) -> Effect<Done> {
        if email.status != EmailStatus::Reserved {
            return Effect::reply(Done {});
        }
        Effect::update_state(email.with(EmailStatus::Confirmed)).then_reply(Done {})
    }

    /// Cancels a reservation not confirmed; a confirmed address stays.
    #[post("/unique-emails/<id>/cancel-reservation")]
    pub fn cancel_reservation(&self, email: &UniqueEmail) -> Effect<Done> {
        if email.status != EmailStatus::Reserved {
            return Effect::reply(Done {});
        }
        Effect::delete_entity().then_reply(Done {})
    }

    /// Releases the address.
    #[delete("/unique-emails/<id>")]
    pub fn delete(&self, email: &UniqueEmail) -> Effect<Done> {
        if email.status == EmailStatus::NotUsed {
            return Effect::reply(Done {});
        }
        Effect::delete_entity().then_reply(Done {})
    }

    #[get("/unique-emails/<id>")]
    pub fn get(&self, email: &UniqueEmail) -> Effect<UniqueEmail> {
        Effect::reply(email.clone())
    }
}
