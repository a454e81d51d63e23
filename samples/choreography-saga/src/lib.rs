//! Kalix's choreography-saga sample: user registration with unique emails, with no workflow
//! driving it. The controller reserves the email, then creates the user; a subscriber to the
//! users' events confirms the email (or releases the old one on a change); a subscriber to the
//! emails' changes starts a timer that cancels a reservation not confirmed in time
//! (`EMAIL_CONFIRMATION_TIMEOUT_SECS`, default 7200), and cancels that timer on confirmation.
//! A view lists the users by country.

pub mod controller;
pub mod subscribers;
pub mod unique_email;
pub mod user;
pub mod view;

use serde::{Deserialize, Serialize};

/// The empty reply, `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Done {}
