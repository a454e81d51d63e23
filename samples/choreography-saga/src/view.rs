//! The users by country, from the users' events.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::user::{UserEntity, UserEvent};

/// A row: a user with their id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub country: String,
    pub email: String,
}

/// The users of a country.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Users {
    pub users: Vec<UserRow>,
}

#[derive(Default)]
pub struct UsersByCountry;

#[view(table = "users_by_country")]
impl UsersByCountry {
    #[subscribe(event_sourced_entity = UserEntity)]
    pub fn on_event(
        &self,
        row: Option<&UserRow>,
        event: &UserEvent,
        ctx: &UpdateContext,
    ) -> view::Effect<UserRow> {
        match (row, event) {
            (
                _,
                UserEvent::UserWasCreated {
                    name,
                    country,
                    email,
                },
            ) => view::Effect::update_state(UserRow {
                id: ctx.event_subject().unwrap_or_default().to_owned(),
                name: name.clone(),
                country: country.clone(),
                email: email.clone(),
            }),
            (Some(row), UserEvent::EmailAssigned { new_email }) => {
                view::Effect::update_state(UserRow {
                    email: new_email.clone(),
                    ..row.clone()
                })
            }
            _ => view::Effect::ignore(),
        }
    }

    #[get("/users/by-country/<country>")]
    #[query("SELECT * AS users FROM users_by_country WHERE country = :country")]
    pub fn get_users_by_country(&self, country: String) -> Users;
}
