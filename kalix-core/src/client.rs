//! The component client: typed calls to other components ([`DeferredCall`]), over a pluggable
//! transport.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::call::{Call, TimerCall, UntypedCall};
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::status::ErrorCode;

/// Carries a [`Call`] to the component and brings back its JSON reply.
///
/// Inside a service the transport is the in-process dispatcher (no HTTP hop); outside it (tests,
/// other processes) it can be anything that reaches the service.
pub trait Transport: Send + Sync + 'static {
    /// Runs `call` and returns the reply's JSON, or the error the callee answered with.
    fn execute(self: Arc<Self>, call: Call) -> BoxFuture<'static, Result<Bytes, CallError>>;

    /// The timers of the runtime behind this transport, if it keeps any (the service's
    /// dispatcher does; a transport over HTTP does not).
    fn timers(&self) -> Option<crate::timers::Timers> {
        None
    }

    /// A gRPC channel to `service`, another service of the project, if this transport reaches
    /// other services (the service's dispatcher does, by their configured addresses).
    fn grpc_channel(&self, service: &str) -> Result<crate::grpc::channel::GrpcChannel, CallError> {
        Err(CallError::new(
            ErrorCode::SERVICE_UNAVAILABLE,
            format!("this client reaches no other service (asked for '{service}')"),
        ))
    }
}

/// Answers a component call in place of the service's components, or passes it on (`None`):
/// how a testkit scripts the replies of the components a workflow's steps call.
pub type CallRouter =
    Arc<dyn Fn(&Call) -> Option<BoxFuture<'static, Result<Bytes, CallError>>> + Send + Sync>;

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

    /// The timers of the runtime this client calls into (see [`crate::timers`]); unavailable
    /// (each call fails) for a disconnected client or one over HTTP.
    pub fn timers(&self) -> crate::timers::Timers {
        self.transport
            .as_ref()
            .and_then(|transport| transport.timers())
            .unwrap_or_else(crate::timers::Timers::unavailable)
    }

    /// A gRPC channel to `service`, another service of the project, for the tonic clients
    /// `kalix-build` generates: its address is the configured one
    /// (`Config::with_service_url`, `KALIX_SERVICE_<NAME>`), the channel is shared by every call
    /// to it, and its calls are signed as this service when it has a key. An error (503) when
    /// the service has no address, or for a client that reaches no other service.
    ///
    /// ```ignore
    /// let channel = ctx.component_client().grpc_channel("fibonacci")?;
    /// let next = FibonacciClient::new(channel).next_number(Number { value: 5 }).await;
    /// ```
    pub fn grpc_channel(
        &self,
        service: &str,
    ) -> Result<crate::grpc::channel::GrpcChannel, CallError> {
        match &self.transport {
            Some(transport) => transport.grpc_channel(service),
            None => Err(CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!("a disconnected client reaches no other service (asked for '{service}')"),
            )),
        }
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

    /// The typed client of replicated entity `E` with id `entity_id`.
    pub fn replicated_entity<E: crate::replicated_entity::ReplicatedEntityComponent>(
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

    /// The typed client of workflow `W` with id `workflow_id`.
    pub fn workflow<W: crate::workflow::WorkflowComponent>(
        &self,
        workflow_id: impl Into<String>,
    ) -> W::Client {
        W::client(self.clone(), workflow_id.into())
    }

    /// The typed client of view `V`: one method per query method (streamed queries are read
    /// over HTTP instead).
    pub fn view<V: crate::view::ViewComponent>(&self) -> V::Client {
        V::client(self.clone())
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

/// A call to a component that has been described but not run; `R` is the type of its reply.
///
/// Generated component clients return one per handler. `.await` it to run the call and get the
/// reply (`Result<R, CallError>`), or hand it to [`crate::action::Effect::forward`] or
/// [`crate::action::SideEffect::of`].
///
/// ```no_run
/// # use kalix_core::prelude::*;
/// # #[derive(Default)] pub struct Echo;
/// # #[action] impl Echo {
/// #     #[get("/echo/<word>")]
/// #     async fn echo(&self, word: String) -> action::Effect<String> { action::Effect::reply(word) }
/// # }
/// # async fn example(client: ComponentClient) -> Result<(), CallError> {
/// let call = client.action::<Echo>().echo("hi".to_string());
/// let reply: String = call.with_metadata(Metadata::new().add("Role", "Admin")).await?;
/// # Ok(()) }
/// ```
#[must_use = "a DeferredCall does nothing until it is awaited, forwarded or used as a side effect"]
pub struct DeferredCall<R> {
    call: Call,
    defect: Option<CallError>,
    client: ComponentClient,
    reply: PhantomData<fn() -> R>,
}

impl<R> DeferredCall<R> {
    /// A deferred call that `client` will run when awaited.
    pub fn new(call: Call, client: ComponentClient) -> Self {
        Self {
            call,
            defect: None,
            client,
            reply: PhantomData,
        }
    }

    /// A call that could not be described (for example a body that failed to serialize); running
    /// it yields `error`.
    pub fn failed(call: Call, client: ComponentClient, error: CallError) -> Self {
        Self {
            defect: Some(error),
            ..Self::new(call, client)
        }
    }

    /// Adds `metadata` to the call's metadata, replacing the values of keys it sets (values set
    /// by the call's own header parameters stay unless `metadata` sets the same key).
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.call.merge_metadata(metadata);
        self
    }

    /// Makes the call once: an entity (or workflow) keeps its reply under `key` with the change,
    /// in one transaction, and answers the same key again with that reply, running nothing (for
    /// `KALIX_IDEMPOTENCY_RETENTION`, a day by default); an action keeps its reply once it
    /// completes. For calls that may run again: a workflow step's (run at least once), a
    /// subscriber's (delivered at least once). A key is 1 to 255 printable ASCII characters,
    /// scoped by the method and the call's path parameters; make it name what it makes once,
    /// e.g. the workflow and the step.
    ///
    /// ```no_run
    /// # use kalix_core::prelude::*;
    /// # #[derive(Default)] pub struct Wallet;
    /// # #[value_entity(type_id = "wallet", id = "id")]
    /// # impl Wallet {
    /// #     #[post("/wallet/<id>/deposit/<amount>")]
    /// #     pub fn deposit(&self, balance: &i64, amount: i64) -> value_entity::Effect<i64, i64> {
    /// #         value_entity::Effect::update_state(balance + amount).then_reply(balance + amount)
    /// #     }
    /// # }
    /// # async fn step(ctx: &StepContext) -> Result<i64, CallError> {
    /// ctx.component_client()
    ///     .value_entity::<Wallet>("w1")
    ///     .deposit(10)
    ///     .with_idempotency_key(format!("{}-deposit", ctx.workflow_id()))
    ///     .await
    /// # }
    /// ```
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        let mut metadata = Metadata::new();
        metadata.set(Metadata::IDEMPOTENCY_KEY, key.into());
        self.call.merge_metadata(metadata);
        self
    }

    /// The description of the call.
    pub fn call(&self) -> &Call {
        &self.call
    }

    pub(crate) fn into_untyped(self) -> UntypedCall {
        UntypedCall {
            call: self.call,
            defect: self.defect,
        }
    }
}

impl<R> crate::call::sealed::Sealed for DeferredCall<R> {}

impl<R> TimerCall for DeferredCall<R> {
    /// The call, or why it could not be described (its body did not serialize).
    fn into_call(self) -> Result<Call, CallError> {
        match self.defect {
            Some(defect) => Err(defect),
            None => Ok(self.call),
        }
    }
}

impl<R> std::fmt::Debug for DeferredCall<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredCall")
            .field("call", &self.call)
            .field("defect", &self.defect)
            .finish()
    }
}

impl<R: DeserializeOwned + Send + 'static> IntoFuture for DeferredCall<R> {
    type Output = Result<R, CallError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<R, CallError>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            if let Some(defect) = self.defect {
                return Err(defect);
            }
            let target = self.call.target();
            let reply = self.client.execute(self.call).await?;
            serde_json::from_slice(&reply).map_err(|error| {
                CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "the reply of {target} is not a valid {}: {error}",
                        std::any::type_name::<R>()
                    ),
                )
            })
        })
    }
}
