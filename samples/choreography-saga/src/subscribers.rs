//! The choreography: subscribers that keep the emails in step with the users.

use std::time::Duration;

use kalix_core::prelude::*;

use crate::Done;
use crate::unique_email::{EmailStatus, UniqueEmail, UniqueEmailEntity};
use crate::user::{UserEntity, UserEvent};

/// How long a reservation waits for its confirmation: `EMAIL_CONFIRMATION_TIMEOUT_SECS`
/// (default 7200).
pub fn confirmation_timeout() -> Duration {
    let secs = std::env::var("EMAIL_CONFIRMATION_TIMEOUT_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(7200);
    Duration::from_secs(secs)
}

/// The name of the timer that cancels the reservation of `address`.
pub fn reservation_timer(address: &str) -> String {
    format!("timer-{address}")
}

/// Starts a timer for each reservation, cancelling it unless confirmed in time; cancels that
/// timer once the address is confirmed.
#[derive(Default)]
pub struct UniqueEmailSubscriber;

#[action]
impl UniqueEmailSubscriber {
    #[subscribe(value_entity = UniqueEmailEntity)]
    pub async fn on_change(&self, email: UniqueEmail, ctx: &ActionContext) -> action::Effect<Done> {
        let timer = reservation_timer(&email.address);
        let result = match email.status {
            EmailStatus::Reserved => {
                let cancel = ctx
                    .component_client()
                    .value_entity::<UniqueEmailEntity>(&email.address)
                    .cancel_reservation();
                ctx.timers()
                    .start_single_timer(timer, confirmation_timeout(), cancel)
                    .await
            }
            EmailStatus::Confirmed | EmailStatus::NotUsed => ctx.timers().cancel(timer).await,
        };
        match result {
            Ok(()) => action::Effect::reply(Done {}),
            Err(error) => action::Effect::failed(error),
        }
    }

    #[subscribe(value_entity = UniqueEmailEntity, handle_deletes)]
    pub async fn on_delete(&self, ctx: &ActionContext) -> action::Effect<Done> {
        let Some(address) = ctx.event_subject() else {
            return action::Effect::reply(Done {});
        };
        match ctx.timers().cancel(reservation_timer(address)).await {
            Ok(()) => action::Effect::reply(Done {}),
            Err(error) => action::Effect::failed(error),
        }
    }
}

/// Confirms a user's email once the user exists, and releases the old one on a change.
#[derive(Default)]
pub struct UserEventsSubscriber;

#[action]
impl UserEventsSubscriber {
    #[subscribe(event_sourced_entity = UserEntity)]
    pub async fn on_event(&self, event: UserEvent, ctx: &ActionContext) -> action::Effect<Done> {
        let emails = |address: &str| {
            ctx.component_client()
                .value_entity::<UniqueEmailEntity>(address)
        };
        let result = match &event {
            UserEvent::UserWasCreated { email, .. } => emails(email).confirm().await,
            UserEvent::EmailAssigned { new_email } => emails(new_email).confirm().await,
            UserEvent::EmailUnassigned { old_email } => emails(old_email).delete().await,
        };
        match result {
            Ok(done) => action::Effect::reply(done),
            Err(error) => action::Effect::failed(error),
        }
    }
}
