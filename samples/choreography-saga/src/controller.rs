//! The application's front door at `/api`: it reserves an email before it gives it to a user.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Done;
use crate::unique_email::{ReserveEmail, UniqueEmail, UniqueEmailEntity};
use crate::user::{ChangeEmail, CreateUser, UserEntity};

/// A user as the API shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUser {
    pub id: String,
    pub name: String,
    pub country: String,
    pub email: String,
}

fn taken(email: &str) -> CallError {
    CallError::new(
        ErrorCode::BAD_REQUEST,
        format!("Email is already reserved '{email}'"),
    )
}

#[derive(Default)]
pub struct ApplicationController;

#[action]
impl ApplicationController {
    /// Reserves the email, then creates the user. A creation that fails leaves the email
    /// reserved until its timer releases it.
    #[post("/api/users/<user_id>")]
    pub async fn create_user(
        &self,
        user_id: String,
        create: CreateUser,
        ctx: &ActionContext,
    ) -> action::Effect<Done> {
        let client = ctx.component_client();
        let reserve = ReserveEmail {
            owner_id: user_id.clone(),
        };
        if client
            .value_entity::<UniqueEmailEntity>(&create.email)
            .reserve(reserve)
            .await
            .is_err()
        {
            return action::Effect::failed(taken(&create.email));
        }
        match client
            .event_sourced_entity::<UserEntity>(&user_id)
            .create(create)
            .await
        {
            Ok(done) => action::Effect::reply(done),
            Err(error) => action::Effect::failed(error),
        }
    }

    /// Reserves the new email, then changes the user's.
    #[put("/api/users/<user_id>/change-email")]
    pub async fn change_email(
        &self,
        user_id: String,
        change: ChangeEmail,
        ctx: &ActionContext,
    ) -> action::Effect<Done> {
        let client = ctx.component_client();
        let reserve = ReserveEmail {
            owner_id: user_id.clone(),
        };
        if client
            .value_entity::<UniqueEmailEntity>(&change.new_email)
            .reserve(reserve)
            .await
            .is_err()
        {
            return action::Effect::failed(taken(&change.new_email));
        }
        match client
            .event_sourced_entity::<UserEntity>(&user_id)
            .change_email(change)
            .await
        {
            Ok(done) => action::Effect::reply(done),
            Err(error) => action::Effect::failed(error),
        }
    }

    #[get("/api/users/<user_id>")]
    pub async fn get_user(&self, user_id: String, ctx: &ActionContext) -> action::Effect<ApiUser> {
        match ctx
            .component_client()
            .event_sourced_entity::<UserEntity>(&user_id)
            .get()
            .await
        {
            Ok(user) => action::Effect::reply(ApiUser {
                id: user_id,
                name: user.name,
                country: user.country,
                email: user.email,
            }),
            Err(error) => action::Effect::failed(error),
        }
    }

    #[get("/api/emails/<address>")]
    pub async fn get_email(
        &self,
        address: String,
        ctx: &ActionContext,
    ) -> action::Effect<UniqueEmail> {
        match ctx
            .component_client()
            .value_entity::<UniqueEmailEntity>(&address)
            .get()
            .await
        {
            Ok(email) => action::Effect::reply(email),
            Err(error) => action::Effect::failed(error),
        }
    }
}
