//! The dispatcher: the one path by which HTTP requests, component-client calls, forwards and
//! side effects reach a handler, and by which its effect is carried out.

use std::any::Any;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::action::SideEffect;
use crate::broker::{self, Broker};
use crate::call::{Call, UntypedCall};
use crate::client::{ComponentClient, Transport};
use crate::error::{CallError, StartError};
use crate::idempotency;
use crate::invocation::{Body, Invocation};
use crate::metadata::Metadata;
use crate::outcome::{HandlerOutcome, Next, Outcome, panic_error};
use crate::registry::{ComponentDescriptor, ComponentKind, HandlerDescriptor, PublishTarget};
use crate::runtime::ComponentEnv;
use crate::status::ErrorCode;
use crate::telemetry::trace_context;
use tracing::Instrument;

/// How deep a chain of forwards may go before it is taken for a loop.
const MAX_FORWARDS: usize = 32;

/// How often a command whose write conflicted is run again before its caller gets a 503.
const MAX_CONFLICT_RETRIES: usize = 3;

/// The reply of a `#[publish]` handler, as a message to publish where it says.
#[derive(Clone)]
pub(crate) struct Publication {
    target: PublishTarget,
    message: crate::store::TopicMessage,
}

/// Held replies that go to the service's own store, by topic, and whose readers to wake once
/// they are written ([`Dispatcher::held_in_store`]).
#[derive(Default)]
pub(crate) struct InStore {
    /// Shared, so a retried write does not copy them.
    pub appends: Arc<[crate::store::TopicAppend]>,
    /// Whether any goes to a topic of the embedded broker.
    topics: bool,
    /// The streams they go to.
    streams: Vec<&'static str>,
}

/// A handler together with the instance of its component.
#[derive(Clone)]
pub(crate) struct BoundHandler {
    pub component: &'static ComponentDescriptor,
    pub handler: &'static HandlerDescriptor,
    instance: Arc<dyn Any + Send + Sync>,
    /// Its runs' durations, one histogram per outcome, registered once.
    runs: Arc<RunMetrics>,
}

/// The `kalix_command_duration_seconds` histograms of one handler, one per outcome, each
/// registered at its first use: a page lists the outcomes that happened, not every possible one.
struct RunMetrics {
    component: &'static ComponentDescriptor,
    handler: &'static HandlerDescriptor,
    by_outcome: [std::sync::OnceLock<metrics::Histogram>; 5],
    /// A view's query methods also count as queries (`kalix_view_query_duration_seconds`).
    view_query: std::sync::OnceLock<metrics::Histogram>,
}

/// The values of the `outcome` label, in `RunMetrics::by_outcome`'s order.
const OUTCOMES: [&str; 5] = ["reply", "error", "forward", "conflict", "panic"];
const PANIC: usize = 4;

impl RunMetrics {
    fn new(component: &'static ComponentDescriptor, handler: &'static HandlerDescriptor) -> Self {
        Self {
            component,
            handler,
            by_outcome: Default::default(),
            view_query: std::sync::OnceLock::new(),
        }
    }

    fn record(&self, outcome: usize, took: std::time::Duration) {
        self.by_outcome[outcome]
            .get_or_init(|| {
                metrics::histogram!(
                    crate::telemetry::names::COMMAND_DURATION,
                    "component" => self.component.id,
                    "kind" => self.component.kind.as_str(),
                    "handler" => self.handler.name,
                    "outcome" => OUTCOMES[outcome]
                )
            })
            .record(took);
        if self.component.kind == crate::registry::ComponentKind::View {
            self.view_query
                .get_or_init(|| {
                    metrics::histogram!(
                        crate::telemetry::names::VIEW_QUERY_DURATION,
                        "view" => self.component.id,
                        "query" => self.handler.name
                    )
                })
                .record(took);
        }
    }

    /// The index in `OUTCOMES` of a run that ended with `outcome`.
    fn outcome_of(outcome: &HandlerOutcome) -> usize {
        match &outcome.next {
            Next::Done(Outcome::Error(_)) => 1,
            Next::Done(_) => 0,
            Next::Forward(_) => 2,
            Next::Conflict(_) => 3,
        }
    }
}

impl BoundHandler {
    /// `component::handler`, for messages.
    pub(crate) fn target(&self) -> String {
        format!("{}::{}", self.component.id, self.handler.name)
    }

    pub(crate) fn new(
        component: &'static ComponentDescriptor,
        handler: &'static HandlerDescriptor,
        instance: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        Self {
            component,
            handler,
            instance,
            runs: Arc::new(RunMetrics::new(component, handler)),
        }
    }
}

/// Finds handlers by component id and method name, runs them, and carries out their effects.
pub(crate) struct Dispatcher {
    handlers: HashMap<&'static str, HashMap<&'static str, BoundHandler>>,
    /// Where the replies of `#[publish(topic = ..)]` handlers go.
    broker: Arc<dyn Broker>,
    /// Where the replies of `#[publish(stream = ..)]` handlers go: the service's own store,
    /// which serves them to other services.
    streams: Arc<dyn Broker>,
    /// Notified per stream id after a publish to it.
    stream_news: Arc<crate::news::KeyedNews>,
    /// The `ce-source` of what it publishes.
    service_name: Arc<str>,
    /// The service's timers, for `ctx.timers()` in handlers.
    timers: crate::timers::Timers,
    /// Answers component calls first, if set (a testkit's scripted replies).
    call_router: Option<crate::client::CallRouter>,
    /// Where other services are, for `ComponentClient::grpc_channel`.
    services: broker::ServiceUrls,
    /// One channel per other service, made on first use and shared by every call to it.
    channels: std::sync::Mutex<HashMap<String, crate::grpc::channel::GrpcChannel>>,
    /// The idempotency keys of action calls: runs in flight, and where replies are kept.
    keys: idempotency::ActionKeys,
}

impl Dispatcher {
    /// Builds every component's instance and indexes its handlers.
    pub fn new(
        components: &[&'static ComponentDescriptor],
        env: &ComponentEnv<'_>,
    ) -> Result<Self, StartError> {
        let mut handlers: HashMap<&'static str, HashMap<&'static str, BoundHandler>> =
            HashMap::new();
        for &component in components {
            if let Some(other) = handlers.get(component.id).and_then(|h| h.values().next()) {
                return Err(StartError::DuplicateComponent(format!(
                    "two components have the id `{}` ({}:{} and {}:{}); an id is the module of the \
                     `impl` block and the type's name, so move one `impl` block or rename one type",
                    component.id,
                    other.component.file,
                    other.component.line,
                    component.file,
                    component.line
                )));
            }
            let instance = (component.construct)(env).map_err(StartError::MissingDependency)?;
            for handler in component.handlers {
                let bound = BoundHandler::new(component, handler, Arc::clone(&instance));
                handlers
                    .entry(component.id)
                    .or_default()
                    .insert(handler.name, bound);
            }
        }
        Ok(Self {
            handlers,
            broker: Arc::clone(&env.broker),
            streams: Arc::new(broker::EmbeddedBroker {
                store: Arc::clone(&env.store),
                news: env.committer.news(),
            }),
            stream_news: Arc::clone(&env.stream_news),
            service_name: Arc::clone(&env.service_name),
            timers: env.timers.clone(),
            call_router: env.call_router.clone(),
            services: env.services.clone(),
            channels: std::sync::Mutex::default(),
            keys: idempotency::ActionKeys::new(
                Arc::clone(&env.store),
                env.committer.clone(),
                env.request_timeout,
            ),
        })
    }

    /// Where the replies of `#[publish(topic = ..)]` handlers go: the service's broker.
    pub(crate) fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// Every bound handler, in a stable order.
    pub fn handlers(&self) -> Vec<&BoundHandler> {
        let mut all: Vec<_> = self.handlers.values().flat_map(HashMap::values).collect();
        all.sort_by_key(|bound| (bound.component.id, bound.handler.name));
        all
    }

    fn find(&self, component: &str, method: &str) -> Option<&BoundHandler> {
        self.handlers.get(component)?.get(method)
    }

    /// Runs `bound` with `invocation`, follows its forwards, runs its side effects, and returns
    /// the final outcome.
    ///
    /// A call carrying an idempotency key its handler takes runs once per key (the
    /// `idempotency` module): an entity's host keeps the reply with the change; an action's is
    /// kept here, once the call (forwards included) is over.
    pub async fn invoke(self: &Arc<Self>, bound: &BoundHandler, invocation: Invocation) -> Outcome {
        self.invoke_with(bound, invocation, false).await.0
    }

    /// As [`Dispatcher::invoke`], but the reply of a `#[publish]` handler is returned to be
    /// published later ([`Dispatcher::publish_held`]) instead of at once: a consumer publishes
    /// what a batch of messages led to in one write, before it saves its progress past them.
    pub(crate) async fn invoke_holding_publication(
        self: &Arc<Self>,
        bound: &BoundHandler,
        invocation: Invocation,
    ) -> (Outcome, Option<Publication>) {
        self.invoke_with(bound, invocation, true).await
    }

    async fn invoke_with(
        self: &Arc<Self>,
        bound: &BoundHandler,
        mut invocation: Invocation,
        hold: bool,
    ) -> (Outcome, Option<Publication>) {
        if let Err(error) = idempotency::prepare(bound.component, bound.handler, &mut invocation) {
            return (Outcome::Error(error), None);
        }
        match invocation.metadata().command_key().cloned() {
            // A keyed action publishes before its reply is kept, as it answers. Boxed, as the
            // other rare paths here: a future holds every future it may await, and all of it is
            // copied whenever it moves (unboxed, a request's future was 17.7 KB, now 6.3 KB).
            Some(key) if bound.component.kind == ComponentKind::Action => {
                let run = self
                    .invoke_prepared(bound, invocation, false)
                    .map(|(outcome, _)| outcome);
                (
                    Box::pin(self.keys.run_once(bound.component.id, &key, run)).await,
                    None,
                )
            }
            _ => self.invoke_prepared(bound, invocation, hold).await,
        }
    }

    /// [`Dispatcher::invoke`] once the call's idempotency key is read.
    async fn invoke_prepared(
        self: &Arc<Self>,
        bound: &BoundHandler,
        invocation: Invocation,
        hold: bool,
    ) -> (Outcome, Option<Publication>) {
        // What a published reply's id and subject follow from.
        let incoming = bound
            .handler
            .publish
            .map(|_| broker::Incoming::of(invocation.metadata()));
        let mut current = bound.clone();
        let mut outcome = self.run_handler(&current, invocation).await;
        let mut forwards = 0;
        loop {
            if !outcome.side_effects.is_empty() {
                Box::pin(self.run_side_effects(std::mem::take(&mut outcome.side_effects))).await;
            }
            let call = match outcome.next {
                Next::Done(done) if incoming.is_none() => return (done, None),
                Next::Done(done) => {
                    return Box::pin(self.published(bound, incoming.as_ref(), done, hold)).await;
                }
                Next::Forward(call) => call,
                Next::Conflict(error) => return (Outcome::Error(error), None),
            };
            forwards += 1;
            if forwards > MAX_FORWARDS {
                return (
                    Outcome::Error(CallError::new(
                        ErrorCode::INTERNAL_SERVER_ERROR,
                        format!(
                            "more than {MAX_FORWARDS} forwards in a row, last from {}::{}; is there a forward loop?",
                            current.component.id, current.handler.name
                        ),
                    )),
                    None,
                );
            }
            let mut call = call;
            trace_context::inject_current(call.call.metadata_mut());
            let (next, mut invocation) = match self.resolve(call) {
                Ok(found) => found,
                Err(error) => return (Outcome::Error(error), None),
            };
            if let Err(error) = idempotency::prepare(next.component, next.handler, &mut invocation)
            {
                return (Outcome::Error(error), None);
            }
            current = next;
            outcome = Box::pin(self.run_handler(&current, invocation)).await;
        }
    }

    /// Publishes the reply of a `#[publish]` handler to its topic before it is answered; if
    /// publishing fails, the answer is that error. When `hold`, the message is returned instead,
    /// for the caller to publish.
    async fn published(
        &self,
        bound: &BoundHandler,
        incoming: Option<&broker::Incoming>,
        outcome: Outcome,
        hold: bool,
    ) -> (Outcome, Option<Publication>) {
        let (Some(target), Some(incoming)) = (bound.handler.publish, incoming) else {
            return (outcome, None);
        };
        let Outcome::Reply {
            body,
            metadata,
            payload_type,
        } = &outcome
        else {
            return (outcome, None);
        };
        let mut message = broker::message_of(
            &self.service_name,
            (bound.component.id, bound.handler.name),
            incoming,
            body,
            metadata,
            *payload_type,
        );
        // Its readers' runs continue this trace (the CloudEvents `traceparent` extension).
        let mut trace = Metadata::new();
        trace_context::inject_current(&mut trace);
        message.attributes.extend(
            trace
                .iter()
                .map(|(key, value)| (key.to_owned(), value.to_owned())),
        );
        let publication = Publication { target, message };
        if hold {
            return (outcome, Some(publication));
        }
        match self.publish_held(vec![publication]).await {
            Ok(()) => (outcome, None),
            Err(error) => (Outcome::Error(error), None),
        }
    }

    /// Splits held replies: those that go to the service's own store (the embedded broker's
    /// topics, streams), for a consumer to append in the transaction that saves its progress
    /// ([`Dispatcher::appended`] after it), and those published elsewhere
    /// ([`Dispatcher::publish_held`]).
    pub(crate) fn held_in_store(&self, held: Vec<Publication>) -> (InStore, Vec<Publication>) {
        let mut in_store = InStore::default();
        let mut appends: Vec<crate::store::TopicAppend> = Vec::new();
        let mut elsewhere = Vec::new();
        for Publication { target, message } in held {
            let topic = match target {
                PublishTarget::Topic(topic) if self.broker.in_store() => {
                    in_store.topics = true;
                    topic.to_owned()
                }
                PublishTarget::Stream(id) => {
                    if !in_store.streams.contains(&id) {
                        in_store.streams.push(id);
                    }
                    broker::stream_topic(id)
                }
                PublishTarget::Topic(_) => {
                    elsewhere.push(Publication { target, message });
                    continue;
                }
            };
            match appends.iter_mut().find(|a| a.topic == topic) {
                Some(append) => append.messages.push(message),
                None => appends.push(crate::store::TopicAppend {
                    topic,
                    messages: vec![message],
                }),
            }
        }
        in_store.appends = appends.into();
        (in_store, elsewhere)
    }

    /// Wakes the readers of what `written` appended, once its transaction committed.
    pub(crate) fn appended(&self, written: &InStore) {
        if written.topics {
            self.broker.appended();
        }
        if !written.streams.is_empty() {
            self.streams.appended();
        }
        for id in &written.streams {
            self.stream_news.wrote(id);
        }
    }

    /// Publishes held replies, in order, one write per topic or stream they go to.
    pub(crate) async fn publish_held(&self, held: Vec<Publication>) -> Result<(), CallError> {
        let mut by_target: Vec<(PublishTarget, Vec<crate::store::TopicMessage>)> = Vec::new();
        for Publication { target, message } in held {
            match by_target.iter_mut().find(|(t, _)| *t == target) {
                Some((_, messages)) => messages.push(message),
                None => by_target.push((target, vec![message])),
            }
        }
        for (target, messages) in by_target {
            match target {
                PublishTarget::Topic(topic) => {
                    broker::publish_all(self.broker.as_ref(), topic, messages).await?;
                }
                PublishTarget::Stream(id) => {
                    let topic = broker::stream_topic(id);
                    let published =
                        broker::publish_all(self.streams.as_ref(), &topic, messages).await;
                    // Readers of the stream waiting for its next page look now.
                    self.stream_news.wrote(id);
                    published?;
                }
            }
        }
        Ok(())
    }

    /// Runs a described call: looks the handler up, then as [`Dispatcher::invoke`]. The call
    /// continues the trace of the span current now (the calling handler's).
    pub fn call(self: &Arc<Self>, mut call: UntypedCall) -> BoxFuture<'static, Outcome> {
        trace_context::inject_current(call.call.metadata_mut());
        let dispatcher = Arc::clone(self);
        Box::pin(async move {
            match dispatcher.resolve(call) {
                Ok((bound, invocation)) => dispatcher.invoke(&bound, invocation).await,
                Err(error) => Outcome::Error(error),
            }
        })
    }

    fn resolve(&self, call: UntypedCall) -> Result<(BoundHandler, Invocation), CallError> {
        if let Some(defect) = call.defect {
            return Err(defect);
        }
        let parts = call.call.into_parts();
        let bound = self
            .find(&parts.component, &parts.method)
            .cloned()
            .ok_or_else(|| {
                CallError::new(
                    ErrorCode::NOT_FOUND,
                    format!(
                        "no handler {}::{} in this service",
                        parts.component, parts.method
                    ),
                )
            })?;
        let body = parts
            .body
            .map_or(Body::Absent, |value| Body::Value(Arc::new(value)));
        let invocation = Invocation::new(parts.path_params, parts.query, body, parts.metadata);
        Ok((bound, invocation))
    }

    /// Runs one handler; a command that lost a write race to another writer is run again (its
    /// entity reloaded) up to `MAX_CONFLICT_RETRIES` times, then its caller gets the host's 503.
    async fn run_handler(
        self: &Arc<Self>,
        bound: &BoundHandler,
        invocation: Invocation,
    ) -> HandlerOutcome {
        // Only entities conflict; an action's invocation is not kept for a second run.
        if !bound.component.kind.is_entity() {
            return self.run_handler_once(bound, invocation).await;
        }
        for retry in 1..=MAX_CONFLICT_RETRIES {
            let outcome = self.run_handler_once(bound, invocation.clone()).await;
            if !matches!(outcome.next, Next::Conflict(_)) {
                return outcome;
            }
            tracing::debug!(
                component = bound.component.id,
                handler = bound.handler.name,
                retry,
                "write conflict; running the command again"
            );
        }
        self.run_handler_once(bound, invocation).await
    }

    /// Runs one handler once, turning a panic into a 500 with a correlation id.
    async fn run_handler_once(
        self: &Arc<Self>,
        bound: &BoundHandler,
        invocation: Invocation,
    ) -> HandlerOutcome {
        let client = ComponentClient::new(Arc::clone(self) as Arc<dyn Transport>);
        let instance = Arc::clone(&bound.instance);
        let dispatch = bound.handler.dispatch;
        let span = if trace_context::spans_on() {
            tracing::debug_span!(
                "command",
                otel.name = bound.target(),
                component = bound.component.id,
                kind = bound.component.kind.as_str(),
                handler = bound.handler.name,
            )
        } else {
            tracing::Span::none()
        };
        // Its caller's span, as the call's metadata names it (a trigger's, another handler's).
        trace_context::adopt_parent_of(&span, invocation.metadata());
        let run = AssertUnwindSafe(
            async move { dispatch(instance, invocation, client).await }.instrument(span),
        );
        // The TSC, not the system clock: a clock read per run is on the hot path.
        let started = quanta::Instant::now();
        match run.catch_unwind().await {
            Ok(outcome) => {
                bound
                    .runs
                    .record(RunMetrics::outcome_of(&outcome), started.elapsed());
                outcome
            }
            Err(panic) => {
                bound.runs.record(PANIC, started.elapsed());
                HandlerOutcome::error(panic_error(
                    bound.component.id,
                    bound.handler.name,
                    panic.as_ref(),
                ))
            }
        }
    }

    /// Synchronous side effects complete in order before this returns; asynchronous ones are
    /// spawned. Results are logged and otherwise ignored.
    async fn run_side_effects(self: &Arc<Self>, side_effects: Vec<SideEffect>) {
        for side_effect in side_effects {
            let synchronous = side_effect.is_synchronous();
            let call = side_effect.into_untyped();
            let target = call.call.target();
            let run = self.call(call).map(move |outcome| {
                if let Outcome::Error(error) = outcome {
                    tracing::warn!(%target, %error, "side effect failed");
                }
            });
            if synchronous {
                run.await;
            } else {
                tokio::spawn(run);
            }
        }
    }
}

impl Dispatcher {
    /// The call router's answer to `call` (a testkit's stubs), if it takes it: calls the
    /// runtime makes itself (a timer's) go where handlers' calls go.
    pub(crate) fn routed(
        &self,
        call: &Call,
    ) -> Option<BoxFuture<'static, Result<Bytes, CallError>>> {
        self.call_router.as_ref().and_then(|route| route(call))
    }
}

impl Transport for Dispatcher {
    fn timers(&self) -> Option<crate::timers::Timers> {
        Some(self.timers.clone())
    }

    fn grpc_channel(&self, service: &str) -> Result<crate::grpc::channel::GrpcChannel, CallError> {
        let mut channels = self
            .channels
            .lock()
            .expect("never poisoned: no panics inside");
        if let Some(channel) = channels.get(service) {
            return Ok(channel.clone());
        }
        let unavailable = |detail: String| CallError::new(ErrorCode::SERVICE_UNAVAILABLE, detail);
        let url = match self.services.locate(service).map_err(unavailable)? {
            broker::StreamSource::Remote(url) => url,
            broker::StreamSource::Own => {
                return Err(unavailable(format!(
                    "'{service}' is this service: call its components with their typed clients"
                )));
            }
        };
        let channel =
            crate::grpc::channel::GrpcChannel::connect_lazy(&url, self.services.signer.clone())?;
        channels.insert(service.to_owned(), channel.clone());
        Ok(channel)
    }

    fn execute(self: Arc<Self>, call: Call) -> BoxFuture<'static, Result<Bytes, CallError>> {
        if let Some(answer) = self.routed(&call) {
            return answer;
        }
        let target = call.target();
        let outcome = self.call(UntypedCall { call, defect: None });
        Box::pin(async move {
            match outcome.await {
                Outcome::Reply { body, .. } => Ok(body),
                Outcome::Error(error) => Err(error),
                Outcome::Ignore => Err(CallError::new(
                    ErrorCode::NOT_FOUND,
                    format!("{target} ignored the call"),
                )),
                Outcome::Stream(_) => Err(CallError::new(
                    ErrorCode::BAD_REQUEST,
                    format!(
                        "{target} replies with a stream, which a component client call cannot await"
                    ),
                )),
            }
        })
    }
}
