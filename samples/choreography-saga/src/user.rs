//! The user: an event-sourced entity.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Done;

/// A user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct User {
    pub name: String,
    pub country: String,
    pub email: String,
}

/// What a user's journal holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum UserEvent {
    UserWasCreated {
        name: String,
        country: String,
        email: String,
    },
    EmailAssigned {
        #[serde(rename = "newEmail")]
        new_email: String,
    },
    EmailUnassigned {
        #[serde(rename = "oldEmail")]
        old_email: String,
    },
}

/// The body of a user's creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateUser {
    pub name: String,
    pub country: String,
    pub email: String,
}

/// The body of an email change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChangeEmail {
    #[serde(rename = "newEmail")]
    pub new_email: String,
}

type Effect<R> = event_sourced_entity::Effect<Option<User>, UserEvent, R>;

fn not_found<R: Send + 'static>() -> Effect<R> {
    Effect::error_with_status("User not found", ErrorCode::NOT_FOUND)
}

#[derive(Default)]
pub struct UserEntity;

#[event_sourced_entity(type_id = "user", id = "id")]
impl UserEntity {
    #[post("/users/<id>")]
    pub fn create(&self, user: &Option<User>, create: CreateUser) -> Effect<Done> {
        if create.name.trim().is_empty() {
            return Effect::error("Name is empty");
        }
        if user.is_some() {
            return Effect::reply(Done {});
        }
        let CreateUser {
            name,
            country,
            email,
        } = create;
        Effect::emit_event(UserEvent::UserWasCreated {
            name,
            country,
            email,
        })
        .then_reply(|_| Done {})
    }

    #[put("/users/<id>/change-email")]
    pub fn change_email(&self, user: &Option<User>, change: ChangeEmail) -> Effect<Done> {
        let Some(user) = user else {
            return not_found();
        };
        if user.email == change.new_email {
            return Effect::reply(Done {});
        }
        Effect::emit_events(vec![
            UserEvent::EmailAssigned {
                new_email: change.new_email,
            },
            UserEvent::EmailUnassigned {
                old_email: user.email.clone(),
            },
        ])
        .then_reply(|_| Done {})
    }

    #[get("/users/<id>")]
    pub fn get(&self, user: &Option<User>) -> Effect<User> {
        match user {
            Some(user) => Effect::reply(user.clone()),
            None => not_found(),
        }
    }

    #[event_handler]
    pub fn apply(&self, user: Option<User>, event: &UserEvent) -> Option<User> {
        match (user, event) {
            (
                _,
                UserEvent::UserWasCreated {
                    name,
                    country,
                    email,
                },
            ) => Some(User {
                name: name.clone(),
                country: country.clone(),
                email: email.clone(),
            }),
            (Some(user), UserEvent::EmailAssigned { new_email }) => Some(User {
                email: new_email.clone(),
                ..user
            }),
            (user, _) => user,
        }
    }
}
