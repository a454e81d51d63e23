//! The component registry: what each macro submits through `inventory`, and how the runtime
//! collects it.

use std::any::Any;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::client::ComponentClient;
use crate::dependencies::MissingDependency;
use crate::invocation::Invocation;
use crate::outcome::HandlerOutcome;
use crate::runtime::ComponentEnv;

/// The kinds of component the runtime hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    /// A stateless action.
    Action,
    /// A value entity.
    ValueEntity,
    /// An event-sourced entity.
    EventSourcedEntity,
    /// A replicated entity.
    ReplicatedEntity,
    /// A view: its query methods are its handlers.
    View,
    /// A workflow.
    Workflow,
}

impl ComponentKind {
    /// Its name in metrics and logs: `action`, `value_entity`, `event_sourced_entity`,
    /// `replicated_entity`, `view`, `workflow`.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Action => "action",
            ComponentKind::ValueEntity => "value_entity",
            ComponentKind::EventSourcedEntity => "event_sourced_entity",
            ComponentKind::ReplicatedEntity => "replicated_entity",
            ComponentKind::View => "view",
            ComponentKind::Workflow => "workflow",
        }
    }

    /// Whether its components are keyed, durable entities (whose commands may conflict).
    pub fn is_entity(self) -> bool {
        match self {
            ComponentKind::Action | ComponentKind::View => false,
            ComponentKind::ValueEntity
            | ComponentKind::EventSourcedEntity
            | ComponentKind::ReplicatedEntity
            | ComponentKind::Workflow => true,
        }
    }
}

/// An HTTP method a route answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl HttpMethod {
    /// The method's name, e.g. `GET`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// Runs one handler: the instance, the raw arguments and a client for the handler's context.
pub type HandlerFn = fn(
    Arc<dyn Any + Send + Sync>,
    Invocation,
    ComponentClient,
) -> BoxFuture<'static, HandlerOutcome>;

/// Builds a component's instance from the service's dependencies and runtime services.
pub type ConstructFn =
    fn(&ComponentEnv<'_>) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency>;

/// One component, as a macro describes it.
#[derive(Debug)]
pub struct ComponentDescriptor {
    /// What kind of component.
    pub kind: ComponentKind,
    /// The component id: the module of the `impl` block and the type's name (`module::Type`);
    /// two components with one id are refused at start.
    pub id: &'static str,
    /// Where an entity stores its state or journal (its `type_id`); none for an action.
    pub type_id: Option<&'static str>,
    /// The source file of the `impl` block.
    pub file: &'static str,
    /// The line of the `impl` block.
    pub line: u32,
    /// Request headers copied into the metadata of its calls.
    pub forward_headers: &'static [&'static str],
    /// Builds the instance.
    pub construct: ConstructFn,
    /// Its handlers.
    pub handlers: &'static [HandlerDescriptor],
    /// Its `#[acl]` and `#[jwt]`, for the handlers without their own.
    pub access: AccessRules,
    /// The `impl` block's doc comment (empty without one): its description in the API
    /// description.
    pub doc: &'static str,
}

/// One handler of a component.
#[derive(Debug)]
pub struct HandlerDescriptor {
    /// The method's name.
    pub name: &'static str,
    /// What makes it run: a route, the service's start (and, as kinds arrive, subscriptions,
    /// timers, workflow steps).
    pub triggers: &'static [Trigger],
    /// Runs it.
    pub dispatch: HandlerFn,
    /// Where its replies are published (`#[publish(topic = "..")]`, `#[publish(stream = "..")]`).
    pub publish: Option<PublishTarget>,
    /// Its own `#[acl]` and `#[jwt]`, each replacing its component's.
    pub access: AccessRules,
}

/// The `#[acl]` and `#[jwt]` written on a component or a handler.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessRules {
    /// Who may call.
    pub acl: Option<&'static crate::access::Acl>,
    /// What bearer token a call must carry.
    pub jwt: Option<&'static crate::access::JwtRule>,
}

impl AccessRules {
    /// Neither written.
    pub const NONE: Self = Self {
        acl: None,
        jwt: None,
    };
}

/// Where a handler's replies are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishTarget {
    /// A topic of the service's broker.
    Topic(&'static str),
    /// A stream other services of the project subscribe to, served by this service over HTTP.
    Stream(&'static str),
}

impl HandlerDescriptor {
    /// Its HTTP route, if one of its triggers is a route (or a gRPC method with a
    /// `google.api.http` option).
    pub fn route(&'static self) -> Option<&'static RouteDescriptor> {
        self.triggers.iter().find_map(|trigger| match trigger {
            Trigger::Http(route) => Some(route),
            Trigger::Grpc(method) => method.http,
            Trigger::Startup { .. } | Trigger::Subscription(_) | Trigger::Topic(_) => None,
        })
    }

    /// The `.proto` method it implements, if it implements one.
    pub fn grpc(&self) -> Option<&'static MethodInfo> {
        self.triggers.iter().find_map(|trigger| match trigger {
            Trigger::Grpc(method) => Some(*method),
            _ => None,
        })
    }

    /// `Some(max_retries)` if it runs at start-up.
    pub fn startup_retries(&self) -> Option<u32> {
        self.triggers.iter().find_map(|trigger| match trigger {
            Trigger::Startup { max_retries } => Some(*max_retries),
            Trigger::Http(_) | Trigger::Subscription(_) | Trigger::Topic(_) | Trigger::Grpc(_) => {
                None
            }
        })
    }

    /// Its subscription, if it has one.
    pub fn subscription(&self) -> Option<&SubscriptionDescriptor> {
        self.triggers.iter().find_map(|trigger| match trigger {
            Trigger::Subscription(subscription) => Some(subscription),
            Trigger::Http(_) | Trigger::Startup { .. } | Trigger::Topic(_) | Trigger::Grpc(_) => {
                None
            }
        })
    }

    /// Its subscription to a topic, if it has one.
    pub fn topic_subscription(&self) -> Option<&TopicSubscriptionDescriptor> {
        self.triggers.iter().find_map(|trigger| match trigger {
            Trigger::Topic(subscription) => Some(subscription),
            _ => None,
        })
    }
}

/// What makes a handler run.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Trigger {
    /// An HTTP request on a route.
    Http(RouteDescriptor),
    /// The service's start, retried up to `max_retries` times after a failure.
    Startup {
        /// Retries after the first attempt.
        max_retries: u32,
    },
    /// Each change of an entity type, delivered at least once, in order per entity.
    Subscription(SubscriptionDescriptor),
    /// Each message of a topic whose type the handler takes, at least once, in order.
    Topic(TopicSubscriptionDescriptor),
    /// A call of a `.proto` service's method over gRPC (and over HTTP, if the method has a
    /// `google.api.http` option).
    Grpc(&'static MethodInfo),
}

/// A handler's subscription to a topic (`#[subscribe(topic = "..")]`) or to another service's
/// stream (`#[subscribe(stream = "..", service = "..")]`).
#[derive(Debug, Clone, Copy)]
pub struct TopicSubscriptionDescriptor {
    /// The topic, or the stream's id.
    pub topic: &'static str,
    /// For a stream, the service that publishes it.
    pub service: Option<&'static str>,
    /// The consumer group; every process of the service in one group shares the messages, and
    /// another group gets them all again. The action's id when not named.
    pub consumer_group: Option<&'static str>,
    /// Whether a message of a type no handler takes is skipped (else it is dead-lettered).
    pub ignore_unknown: bool,
    /// The type the handler takes, by its name: messages whose `ce-type` is this name.
    pub type_name: &'static str,
    /// Reads a message body (of the `ce-type` given; as that variant of an enum when asked) as
    /// the handler's parameter, as JSON; `None` if it does not parse.
    pub decode: fn(&str, &[u8], bool) -> Option<serde_json::Value>,
}

/// A handler's subscription to an entity type's changes (`#[subscribe(..)]`).
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionDescriptor {
    /// What kind of entity, so which of its feeds.
    pub source: SubscriptionSource,
    /// The entity's component id, for messages.
    pub component: &'static str,
    /// The entity's type id: where its changes are stored.
    pub type_id: &'static str,
    /// Whether this is the handler of the entity's deletes (a value entity's, taking no state).
    pub handles_deletes: bool,
    /// Whether an event that does not parse as the handler's parameter is skipped (else it is
    /// delivered, fails, and is retried).
    pub ignore_unknown: bool,
    /// Reads a change's or event's JSON as the handler's parameter; `None` if it does not parse.
    pub decode: fn(&str, &[u8], bool) -> Option<serde_json::Value>,
    /// A stored change or event (by its stored type name) in the current shape: an event
    /// written before a migration is transformed (see `JsonMigration`).
    pub migrate: fn(&str, &bytes::Bytes) -> bytes::Bytes,
}

/// The source of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionSource {
    /// A value entity: its state after each change, and its deletes.
    ValueEntity,
    /// An event-sourced entity: each event.
    EventSourcedEntity,
}

/// A handler's HTTP route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDescriptor {
    /// The method.
    pub method: HttpMethod,
    /// The template as written, e.g. `/fibonacci/<number>/next` (validated by the macro), for
    /// messages.
    pub template: &'static str,
    /// The template as the macro parsed it: `[Literal("fibonacci"), Param("number"),
    /// Literal("next")]`. Routing and calls use these; nothing parses the template again.
    pub segments: &'static [RouteSegment],
    /// Each path parameter's name and Rust type, for messages: `[("number", "u64")]`.
    pub params: &'static [(&'static str, &'static str)],
    /// Whether the handler takes a JSON body.
    pub takes_body: bool,
    /// Whether the handler reads the query string.
    pub reads_query: bool,
    /// What the API description says of it.
    pub api: &'static RouteApi,
}

/// A route in the API description (`GET /openapi.json` on the admin listener): its handler's
/// doc comment and the schemas of what it takes and replies.
#[derive(Debug)]
pub struct RouteApi {
    /// The doc comment's first paragraph; empty without one.
    pub summary: &'static str,
    /// The rest of the doc comment.
    pub description: &'static str,
    /// The parameters the handler takes from the path, the query and the headers.
    pub params: &'static [ApiParam],
    /// The JSON body's schema, if it takes one.
    pub body: Option<crate::openapi::schema::SchemaFn>,
    /// The reply's schema (of each element, for a stream).
    pub reply: crate::openapi::schema::SchemaFn,
    /// Whether it replies with a stream (NDJSON, or server-sent events).
    pub streams: bool,
}

impl RouteApi {
    /// A route described by nothing but its template (for routes made by hand in tests).
    pub const UNDESCRIBED: Self = Self {
        summary: "",
        description: "",
        params: &[],
        body: None,
        reply: |generator| generator.subschema_for::<serde_json::Value>(),
        streams: false,
    };
}

/// A parameter of a route in the API description.
#[derive(Debug)]
pub struct ApiParam {
    /// Its name: the path parameter's or query parameter's, or the header's.
    pub name: &'static str,
    /// Where it is read from.
    pub location: ApiParamIn,
    /// Whether a call must give it.
    pub required: bool,
    /// Its schema.
    pub schema: crate::openapi::schema::SchemaFn,
}

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiParamIn {
    /// A path segment.
    Path,
    /// The query string (a repeated parameter is given once per value).
    Query,
    /// A request header.
    Header,
}

impl ApiParamIn {
    /// Its name in OpenAPI: `path`, `query`, `header`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiParamIn::Path => "path",
            ApiParamIn::Query => "query",
            ApiParamIn::Header => "header",
        }
    }
}

/// One `/`-separated part of a route template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteSegment {
    /// Text the path must hold as it is.
    Literal(&'static str),
    /// A path parameter, by name.
    Param(&'static str),
}

inventory::collect!(ComponentDescriptor);

/// A method of a `.proto` service, as the runtime serves it.
#[derive(Debug)]
pub struct MethodInfo {
    /// The service's full name: `com.example.fibonacci.Fibonacci`.
    pub service: &'static str,
    /// The method's name: `NextNumber`.
    pub name: &'static str,
    /// The path its requests come on: `/com.example.fibonacci.Fibonacci/NextNumber`.
    pub path: &'static str,
    /// Whether it answers with a stream.
    pub server_streaming: bool,
    /// Whether it takes a stream.
    pub client_streaming: bool,
    /// Its HTTP route from a `google.api.http` option, if it has one.
    pub http: Option<&'static RouteDescriptor>,
    /// A request message in protobuf as the JSON handlers read (the proto3 JSON mapping).
    pub decode: fn(&[u8]) -> Result<serde_json::Value, String>,
    /// A reply as handlers write it (JSON) in protobuf.
    pub encode: fn(&[u8]) -> Result<Vec<u8>, String>,
}

/// The `FileDescriptorSet` of a crate's `.proto` files (with their imports), registered by the
/// code `kalix-build` generates: what the reflection service answers with.
#[derive(Debug)]
pub struct DescriptorSet {
    /// The encoded `google.protobuf.FileDescriptorSet`.
    pub bytes: &'static [u8],
}

inventory::collect!(DescriptorSet);

/// A view table, as `#[view]` describes it beside its component (whose handlers are the
/// queries).
#[derive(Debug)]
pub struct ViewDescriptor {
    /// The view's component id.
    pub component: &'static str,
    /// The table's name.
    pub table: &'static str,
    /// The row type's name, for the table's fingerprint.
    pub row_type: fn() -> &'static str,
    /// The row type's fields (read from its `Deserialize`): in the fingerprint, and what the
    /// queries' columns are checked against at start.
    pub row_shape: fn() -> crate::view::shape::Shape,
    /// Where its rows come from.
    pub source: ViewSourceDescriptor,
    /// Its update methods (none when the row is the entity's state as it is).
    pub updates: &'static [ViewUpdateDescriptor],
    /// Its queries, whose indexes the table gets.
    pub queries: &'static [&'static crate::view::query::ViewQuery],
    /// Builds the instance update methods run on.
    pub construct: fn() -> Box<dyn Any + Send + Sync>,
}

/// The source of a view table.
#[derive(Debug, Clone, Copy)]
pub struct ViewSourceDescriptor {
    /// A value entity's changes, or an event-sourced entity's events.
    pub kind: SubscriptionSource,
    /// The entity's component id, for messages.
    pub component: &'static str,
    /// The entity's type id.
    pub type_id: &'static str,
    /// Whether the row is the entity's state as it is (no update methods).
    pub as_is: bool,
    /// For a row kept as it is: whether it is removed when the entity is deleted.
    pub handles_deletes: bool,
    /// A stored change or event in the current shape (see `SubscriptionDescriptor::migrate`).
    pub migrate: fn(&str, &bytes::Bytes) -> bytes::Bytes,
    /// For a view fed by a topic or another service's stream: which (`kind`, `component` and
    /// `type_id` are then unused).
    pub topic: Option<ViewTopicSource>,
}

/// The topic, or other service's stream, a view table is fed by.
#[derive(Debug, Clone, Copy)]
pub struct ViewTopicSource {
    /// The topic, or the stream's id.
    pub topic: &'static str,
    /// For a stream, the service that publishes it.
    pub service: Option<&'static str>,
    /// The consumer group (the table's updater's name when not named).
    pub consumer_group: Option<&'static str>,
}

/// One update method of a view table.
#[derive(Debug)]
pub struct ViewUpdateDescriptor {
    /// The method's name.
    pub name: &'static str,
    /// Whether it handles deletes (and takes no state).
    pub deletes: bool,
    /// For a topic source: reads a message (of the `ce-type` given; as that variant of an enum
    /// when asked) as the method's parameter, `None` if it does not parse.
    pub decode: Option<DecodeFn>,
    /// For a topic source: whether messages no update method takes are skipped quietly.
    pub ignore_unknown: bool,
    /// Runs it.
    pub apply: ViewUpdateFn,
}

/// Reads a message body (of the `ce-type` given; as that variant of an enum when asked) as a
/// handler's parameter, as JSON; `None` if it does not parse.
pub type DecodeFn = fn(&str, &[u8], bool) -> Option<serde_json::Value>;

/// Runs an update method on the view's instance: the new row, its removal, or nothing; `Err`
/// with why it failed (the same update is tried again).
pub type ViewUpdateFn =
    fn(&(dyn Any + Send + Sync), &ViewUpdateInput<'_>) -> Result<RowUpdate, String>;

/// What an update method is run with.
#[derive(Debug, Clone, Copy)]
pub struct ViewUpdateInput<'a> {
    /// The source entity's id: the row's key.
    pub subject: &'a str,
    /// The event's type name (events only).
    pub event_name: Option<&'a str>,
    /// The new state or the event as JSON; `None` for a delete.
    pub payload: Option<&'a [u8]>,
    /// The current row as JSON, if there is one.
    pub row: Option<&'a [u8]>,
}

/// What an update did to its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowUpdate {
    /// The row is now this JSON.
    Set(bytes::Bytes),
    /// The row is removed.
    Delete,
    /// The row stays as it is.
    Keep,
}

impl RowUpdate {
    /// The row to write: `Some(Some(json))` to set it, `Some(None)` to delete it, `None` to
    /// leave it.
    /// A NUL character in the row is written as U+FFFD on every store (PostgreSQL cannot hold
    /// it), and query parameters are read the same way, so one rule holds everywhere.
    pub(crate) fn into_row(self) -> Option<Option<bytes::Bytes>> {
        match self {
            RowUpdate::Set(row) => Some(Some(crate::view::without_nul(row))),
            RowUpdate::Delete => Some(None),
            RowUpdate::Keep => None,
        }
    }
}

inventory::collect!(ViewDescriptor);

/// Refuses two views of one table: they would write each other's rows under one consumer.
pub(crate) fn check_view_tables(
    views: &[&'static ViewDescriptor],
) -> Result<(), crate::error::StartError> {
    for (i, view) in views.iter().enumerate() {
        if let Some(other) = views[..i].iter().find(|other| other.table == view.table) {
            return Err(crate::error::StartError::DuplicateComponent(format!(
                "two views keep the table `{}` ({} and {}); give each view a table of its own",
                view.table, other.component, view.component
            )));
        }
    }
    Ok(())
}

/// Every view table registered in this binary, by table name.
pub(crate) fn registered_views() -> Vec<&'static ViewDescriptor> {
    let mut views: Vec<_> = inventory::iter::<ViewDescriptor>.into_iter().collect();
    views.sort_by_key(|view| view.table);
    views
}

/// The route of a registered handler.
pub(crate) fn route_of(component: &str, method: &str) -> Option<RouteDescriptor> {
    inventory::iter::<ComponentDescriptor>
        .into_iter()
        .find(|descriptor| descriptor.id == component)?
        .handlers
        .iter()
        .find(|handler| handler.name == method)?
        .route()
        .copied()
}

/// Refuses two entities that store under one type id: they would read each other's state (and
/// fail to decode it) at run time.
pub(crate) fn check_type_ids(
    components: &[&'static ComponentDescriptor],
) -> Result<(), crate::error::StartError> {
    let mut stores: std::collections::HashMap<&str, &ComponentDescriptor> =
        std::collections::HashMap::new();
    for &component in components {
        let Some(type_id) = component.type_id else {
            continue;
        };
        if let Some(other) = stores.insert(type_id, component) {
            return Err(crate::error::StartError::SharedTypeId(format!(
                "two entities store under the type id `{type_id}` ({} at {}:{} and {} at {}:{}); \
                 a type id is where an entity keeps its state or journal, so give each entity \
                 type its own",
                other.id, other.file, other.line, component.id, component.file, component.line
            )));
        }
    }
    Ok(())
}

/// Every component registered in this binary, in a stable order.
pub(crate) fn registered_components() -> Vec<&'static ComponentDescriptor> {
    let mut components: Vec<_> = inventory::iter::<ComponentDescriptor>.into_iter().collect();
    components.sort_by_key(|component| component.id);
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn construct(_: &ComponentEnv<'_>) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
        unreachable!("not built in this test")
    }

    const fn entity(
        id: &'static str,
        type_id: Option<&'static str>,
        line: u32,
    ) -> ComponentDescriptor {
        ComponentDescriptor {
            kind: ComponentKind::ValueEntity,
            id,
            type_id,
            file: "src/customer.rs",
            line,
            forward_headers: &[],
            construct,
            handlers: &[],
            access: AccessRules::NONE,
            doc: "",
        }
    }

    static CUSTOMER: ComponentDescriptor = entity("customer::CustomerEntity", Some("customer"), 10);
    static CUSTOMER_ES: ComponentDescriptor =
        entity("customer::CustomerEsEntity", Some("customer"), 40);
    static ORDERS: ComponentDescriptor = entity("orders::OrderEntity", Some("order"), 7);
    static ACTION: ComponentDescriptor = entity("customer::Registry", None, 70);

    #[test]
    fn two_entities_with_one_type_id_stop_the_start_naming_both() {
        let error = check_type_ids(&[&CUSTOMER, &ORDERS, &ACTION, &CUSTOMER_ES])
            .unwrap_err()
            .to_string();
        assert!(error.contains("type id `customer`"), "{error}");
        assert!(
            error.contains("customer::CustomerEntity at src/customer.rs:10"),
            "{error}"
        );
        assert!(
            error.contains("customer::CustomerEsEntity at src/customer.rs:40"),
            "{error}"
        );
        assert!(check_type_ids(&[&CUSTOMER, &ORDERS, &ACTION]).is_ok());
    }
}
