//! The component client: typed calls to other components, over a pluggable transport.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::call::{Call, DeferredCall};
use crate::error::CallError;
use crate::status::ErrorCode;

/// Carries a [`Call`] to the component and brings back its JSON reply.
///
/// Inside a service the transport is the in-process dispatcher (no HTTP hop); outside it (tests,
/// other processes) it can be anything that reaches the service.
pub trait Transport: Send + Sync + 'static {
    /// Runs `call` and returns the reply's JSON, or the error the callee answered with.
    fn execute(self: Arc<Self>, call: Call) -> BoxFuture<'static, Result<Bytes, CallError>>;
}

/// Builds typed calls to the components of the service.
///
/// Get one from a handler's context (`ctx.component_client()`) or from the integration
/// `TestKit`. For each component the macros generate a client with one method per handler;
/// every method returns a [`DeferredCall`].
///
/// ```no_run
/// # use kalix_core::prelude::*;
/// # #[derive(Default)] pub struct Echo;
/// # #[action] impl Echo {
/// #     #[get("/echo/<word>")]
/// #     async fn echo(&self, word: String) -> action::Effect<String> { action::Effect::reply(word) }
/// # }
/// # async fn example(ctx: &ActionContext) {
/// let call: DeferredCall<String> = ctx.component_client().action::<Echo>().echo("hi".into());
/// # }
/// ```
#[derive(Clone)]
pub struct ComponentClient {
    transport: Option<Arc<dyn Transport>>,
}

impl ComponentClient {
    /// A client that sends its calls through `transport`.
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport: Some(transport),
        }
    }

    /// A client that builds calls but cannot run them, as in unit tests: awaiting one of its
    /// calls fails with 500, while forwards and side effects built from it can be inspected.
    pub fn disconnected() -> Self {
        Self { transport: None }
    }

    /// The typed client of action `A`.
    pub fn action<A: crate::action::ActionComponent>(&self) -> A::Client {
        A::client(self.clone())
    }

    /// The typed client of value entity `E` with id `entity_id`.
    pub fn value_entity<E: crate::value_entity::ValueEntityComponent>(
        &self,
        entity_id: impl Into<String>,
    ) -> E::Client {
        E::client(self.clone(), entity_id.into())
    }

    /// The typed client of event-sourced entity `E` with id `entity_id`.
    pub fn event_sourced_entity<E: crate::event_sourced_entity::EventSourcedComponent>(
        &self,
        entity_id: impl Into<String>,
    ) -> E::Client {
        E::client(self.clone(), entity_id.into())
    }

    /// A deferred call with `body` serialized to JSON; used by generated clients.
    pub fn deferred<R, B: Serialize>(&self, call: Call, body: Option<&B>) -> DeferredCall<R> {
        match body.map(serde_json::to_value).transpose() {
            Ok(Some(json)) => DeferredCall::new(call.with_body(json), self.clone()),
            Ok(None) => DeferredCall::new(call, self.clone()),
            Err(error) => {
                let message = format!(
                    "the body of {}::{} cannot be serialized: {error}",
                    call.component(),
                    call.method()
                );
                DeferredCall::failed(
                    call,
                    self.clone(),
                    CallError::new(ErrorCode::INTERNAL_SERVER_ERROR, message),
                )
            }
        }
    }

    pub(crate) async fn execute(&self, call: Call) -> Result<Bytes, CallError> {
        match &self.transport {
            Some(transport) => Arc::clone(transport).execute(call).await,
            None => Err(CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!(
                    "cannot run the call to {}::{}: this component client is not connected to a \
                     service (unit testkits record calls without running them)",
                    call.component(),
                    call.method()
                ),
            )),
        }
    }
}

impl std::fmt::Debug for ComponentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentClient")
            .field("connected", &self.transport.is_some())
            .finish()
    }
}
