//! The kinds of component and the rules each gives its handlers: the context type, the effect's
//! shape, hooks, whether handlers may be `async`.

use syn::Type;

/// The kinds of component, each with its own rules for its handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ComponentKind {
    Action,
    ValueEntity,
    EventSourcedEntity,
    ReplicatedEntity,
    /// A view's query methods (its update methods are read by the view's own model).
    View,
    /// A workflow's command handlers (its steps are read by the workflow's own model).
    Workflow,
}

/// What a kind's effect type carries before the reply: `Effect<Reply>`,
/// `Effect<State, Reply>` or `Effect<State, Event, Reply>`. The handler then takes the state as
/// `&State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EffectShape {
    Reply,
    StateAndReply,
    StateEventAndReply,
    /// `Effect<Workflow, State, Reply>`; the handler takes the state as `Option<&State>`.
    WorkflowStateAndReply,
}

/// Every kind's effect type ends in this name.
pub(super) const UNARY_REPLY: &str = "Effect";

impl ComponentKind {
    /// Every kind.
    pub const ALL: [ComponentKind; 6] = [
        ComponentKind::Action,
        ComponentKind::ValueEntity,
        ComponentKind::EventSourcedEntity,
        ComponentKind::ReplicatedEntity,
        ComponentKind::View,
        ComponentKind::Workflow,
    ];

    /// The attribute of the component, for messages (`action`).
    pub fn attribute(self) -> &'static str {
        match self {
            ComponentKind::Action => "action",
            ComponentKind::ValueEntity => "value_entity",
            ComponentKind::EventSourcedEntity => "event_sourced_entity",
            ComponentKind::ReplicatedEntity => "replicated_entity",
            ComponentKind::View => "view",
            ComponentKind::Workflow => "workflow",
        }
    }

    /// The context type a handler may take by reference (`ActionContext`).
    pub fn context_type(self) -> &'static str {
        match self {
            ComponentKind::Action => "ActionContext",
            ComponentKind::ValueEntity => "ValueEntityContext",
            ComponentKind::EventSourcedEntity => "EventSourcedEntityContext",
            ComponentKind::ReplicatedEntity => "ReplicatedEntityContext",
            // A query method takes its parameters alone.
            ComponentKind::View => "ViewQueryHasNoContext",
            ComponentKind::Workflow => "WorkflowContext",
        }
    }

    /// The streamed reply type, if the kind has one.
    pub fn stream_reply(self) -> Option<&'static str> {
        match self {
            ComponentKind::Action => Some("EffectStream"),
            ComponentKind::View => Some("QueryStream"),
            ComponentKind::ValueEntity
            | ComponentKind::EventSourcedEntity
            | ComponentKind::ReplicatedEntity
            | ComponentKind::Workflow => None,
        }
    }

    /// The return types in words, for messages.
    pub fn reply_help(self) -> &'static str {
        match self {
            ComponentKind::Action => "`action::Effect<T>` or `action::EffectStream<T>`",
            ComponentKind::ValueEntity => {
                "`value_entity::Effect<State, Reply>`, or an alias of it named `..Effect` once the attribute names the state: `#[value_entity(.., state = State)]`"
            }
            ComponentKind::EventSourcedEntity => {
                "`event_sourced_entity::Effect<State, Event, Reply>`, or an alias of it named `..Effect` once the `#[event_handler]` method names the state and event"
            }
            ComponentKind::ReplicatedEntity => {
                "`replicated_entity::Effect<Data, Reply>` (the data is one of the replicated data types), or an alias of it named `..Effect` once the attribute names the data: `#[replicated_entity(.., state = Data)]`"
            }
            ComponentKind::View => {
                "the row type, a `Vec` of it, a wrapper struct (`SELECT * AS field`) or `view::QueryStream<Row>`"
            }
            ComponentKind::Workflow => {
                "`workflow::Effect<Self, State, Reply>`, or an alias of it named `..Effect` once the attribute names the state: `#[workflow(.., state = State)]`"
            }
        }
    }

    /// Whether `#[grpc]` is allowed: on the kinds clients call with commands.
    pub fn allows_grpc(self) -> bool {
        self != ComponentKind::View
    }

    /// Whether `#[on_startup]` is allowed.
    pub fn allows_on_startup(self) -> bool {
        self == ComponentKind::Action
    }

    /// What the effect carries.
    pub fn effect_shape(self) -> EffectShape {
        match self {
            ComponentKind::Action | ComponentKind::View => EffectShape::Reply,
            ComponentKind::ValueEntity | ComponentKind::ReplicatedEntity => {
                EffectShape::StateAndReply
            }
            ComponentKind::EventSourcedEntity => EffectShape::StateEventAndReply,
            ComponentKind::Workflow => EffectShape::WorkflowStateAndReply,
        }
    }

    /// Whether handlers must be synchronous (entity handlers are pure).
    pub fn synchronous(self) -> bool {
        self != ComponentKind::Action
    }
}

/// The state and event types a component names outside its handlers' return types (in its
/// attribute, or in its event handler). Knowing them lets handlers return an alias of the effect.
#[derive(Clone, Default)]
pub(crate) struct KnownTypes {
    pub state: Option<Type>,
    pub event: Option<Type>,
}
