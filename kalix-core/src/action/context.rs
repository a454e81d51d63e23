//! What an action handler can see of its call.

use crate::client::ComponentClient;
use crate::metadata::Metadata;

/// The context of one call to an action handler: its metadata and a component client.
///
/// A handler asks for it by taking a `&ActionContext` parameter.
#[derive(Clone, Debug)]
pub struct ActionContext {
    metadata: Metadata,
    client: ComponentClient,
}

impl ActionContext {
    /// A context with the given metadata and client (the runtime and the testkits build these).
    pub fn new(metadata: Metadata, client: ComponentClient) -> Self {
        Self { metadata, client }
    }

    /// The call's metadata: the request headers listed in the action's `forward_headers`, or the
    /// metadata a caller attached with `DeferredCall::with_metadata`.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Who made the call: the internet, another service (by its verified token), or this
    /// service itself (a component client call, a timer, a subscription, a workflow step).
    pub fn principals(&self) -> &crate::access::Principals {
        self.metadata.principals()
    }

    /// The claims of the call's verified bearer token (empty unless its handler has `#[jwt]`).
    pub fn jwt_claims(&self) -> &crate::access::JwtClaims {
        self.metadata.jwt_claims()
    }

    /// The id of the entity whose change or event a subscription handler is processing (the
    /// CloudEvents `ce-subject`); `None` for other calls.
    pub fn event_subject(&self) -> Option<&str> {
        self.metadata.get(Metadata::CE_SUBJECT)
    }

    /// In a subscription handler, the sequence number of the event (or the version of the
    /// state) being processed (the CloudEvents `ce-sequence`). Delivery is at least once: a
    /// handler can drop what it has seen by this number.
    pub fn event_sequence(&self) -> Option<u64> {
        self.metadata.get(Metadata::CE_SEQUENCE)?.parse().ok()
    }

    /// The service's durable timers: schedule a call for later, or cancel one (see
    /// [`crate::timers`]).
    pub fn timers(&self) -> crate::timers::Timers {
        self.client.timers()
    }

    /// A client for calling other components of the service. It is an owned handle (a cheap
    /// clone), so an asynchronous reply can take it along:
    ///
    /// ```
    /// use kalix_core::prelude::*;
    ///
    /// #[derive(Default)]
    /// pub struct Doubler;
    ///
    /// #[action]
    /// impl Doubler {
    ///     #[get("/double/<n>")]
    ///     async fn double(&self, n: i64) -> action::Effect<i64> {
    ///         action::Effect::reply(n * 2)
    ///     }
    ///
    ///     #[get("/quadruple/<n>")]
    ///     async fn quadruple(&self, n: i64, ctx: &ActionContext) -> action::Effect<i64> {
    ///         let client = ctx.component_client();
    ///         action::Effect::async_reply(async move {
    ///             let doubled = client.action::<Doubler>().double(n).await?;
    ///             client.action::<Doubler>().double(doubled).await
    ///         })
    ///     }
    /// }
    /// ```
    pub fn component_client(&self) -> ComponentClient {
        self.client.clone()
    }
}
