//! The application's front door at `/api`: it reserves an email before it gives it to a user.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Done;
use crate::unique_email::{ReserveEmail, UniqueEmail, UniqueEmailEntity};
use crate::user::{ChangeEmail, CreateUser, UserEntity};

/// A user as the API shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// Reserves `email` for `user_id`, then makes `call`: refused with a 400 naming the email if
/// another user holds it.
async fn reserve_then(
    ctx: &ActionContext,
    email: &str,
    user_id: &str,
    call: DeferredCall<Done>,
) -> action::Effect<Done> {
    let reserve = ReserveEmail {
        owner_id: user_id.to_owned(),
    };
    let emails = ctx
        .component_client()
        .value_entity::<UniqueEmailEntity>(email);
    if emails.reserve(reserve).await.is_err() {
        return action::Effect::failed(taken(email));
    }
    match call.await {
        Ok(done) => action::Effect::reply(done),
        Err(error) => action::Effect::failed(error),
    }
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
        let user = ctx
            .component_client()
            .event_sourced_entity::<UserEntity>(&user_id);
        let email = create.email.clone();
        reserve_then(ctx, &email, &user_id, user.create(create)).await
    }

    /// Reserves the new email, then changes the user's.
    #[put("/api/users/<user_id>/change-email")]
    pub async fn change_email(
        &self,
        user_id: String,
        change: ChangeEmail,
        ctx: &ActionContext,
    ) -> action::Effect<Done> {
        let user = ctx
            .component_client()
            .event_sourced_entity::<UserEntity>(&user_id);
        let email = change.new_email.clone();
        reserve_then(ctx, &email, &user_id, user.change_email(change)).await
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
