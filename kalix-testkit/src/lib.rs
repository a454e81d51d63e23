//! Testkits for `kalix-core` services.
//!
//! - [`ActionTestkit`] calls an action's handler directly, without a runtime, and returns an
//!   [`ActionResult`] describing its effect: the reply, the error and its status, the forward's
//!   target, the side effects. The handler and its asynchronous replies run; forwards and side
//!   effects are recorded, not executed.
//! - [`TestKit`] runs the whole service in-process on a free port and gives an HTTP client with
//!   its base URL and a component client.

#![warn(missing_docs)]

mod action;
mod integration;

pub use action::{ActionResult, ActionTestkit};
pub use integration::{TestKit, TestKitBuilder};

/// The HTTP client [`TestKit`] hands out, re-exported so tests need no extra dependency.
pub use reqwest;
