//! Handler signatures: the route and hook attributes on a method, how each parameter binds
//! (path, query, header, body, context), and what the method returns. Shared by every
//! component kind; the kind says which context and reply types it accepts.

use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, Ident, ImplItemFn, LitStr, Pat, PathArguments, ReturnType, Type,
};

use crate::diagnostics::Diagnostics;
use crate::exports::KalixCoreAt;
use crate::options::{
    PublishTo, StartupOptions, SubscribeOptions, SubscriptionSource, parse_publish,
};
use crate::route::{Method, Template};

/// The kinds of component, each with its own rules for its handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ComponentKind {
    Action,
    ValueEntity,
    EventSourcedEntity,
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
const UNARY_REPLY: &str = "Effect";

impl ComponentKind {
    /// The attribute of the component, for messages (`action`).
    pub fn attribute(self) -> &'static str {
        match self {
            ComponentKind::Action => "action",
            ComponentKind::ValueEntity => "value_entity",
            ComponentKind::EventSourcedEntity => "event_sourced_entity",
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
            ComponentKind::View => {
                "the row type, a `Vec` of it, a wrapper struct (`SELECT * AS field`) or `view::QueryStream<Row>`"
            }
            ComponentKind::Workflow => {
                "`workflow::Effect<Self, State, Reply>`, or an alias of it named `..Effect` once the attribute names the state: `#[workflow(.., state = State)]`"
            }
        }
    }

    /// Whether `#[on_startup]` is allowed.
    pub fn allows_on_startup(self) -> bool {
        self == ComponentKind::Action
    }

    /// What the effect carries.
    pub fn effect_shape(self) -> EffectShape {
        match self {
            ComponentKind::Action | ComponentKind::View => EffectShape::Reply,
            ComponentKind::ValueEntity => EffectShape::StateAndReply,
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

/// A method that handles calls.
pub(crate) struct Handler {
    pub ident: Ident,
    /// The method's visibility; its client method gets the same, or `pub(crate)` if private,
    /// so a private handler's types never leak into a public interface.
    pub vis: syn::Visibility,
    pub is_async: bool,
    /// The state type of a stateful kind's effect.
    pub state: Option<Type>,
    /// The event type of an evented kind's effect.
    pub event: Option<Type>,
    pub route: Option<Route>,
    pub on_startup: Option<StartupOptions>,
    pub subscription: Option<SubscribeOptions>,
    /// The topic or stream its replies are published to.
    pub publish: Option<PublishTo>,
    pub params: Vec<Param>,
    pub reply: Reply,
    /// Whether an error was reported for it. A failed handler still tells its component's state
    /// type, but gets no generated code.
    pub failed: bool,
}

pub(crate) struct Route {
    pub method: Method,
    pub template: Template,
}

pub(crate) struct Param {
    pub ident: Ident,
    pub ty: Type,
    pub kind: ParamKind,
}

pub(crate) enum ParamKind {
    Path,
    Query(QueryShape),
    Header {
        name: LitStr,
        optional: bool,
    },
    Body,
    Context,
    /// The entity's current state, `&State`.
    State,
}

pub(crate) enum QueryShape {
    Required,
    Optional(Box<Type>),
    Repeated(Box<Type>),
}

/// What a handler replies with: the `T` of `Effect<T>` or of a stream of them.
pub(crate) enum Reply {
    Unary(Type),
    Stream(Type),
}

impl Reply {
    pub fn ty(&self) -> &Type {
        match self {
            Reply::Unary(ty) | Reply::Stream(ty) => ty,
        }
    }
}

const QUERY: &str = "query";
const HEADER: &str = "header";
const BODY: &str = "body";
const ON_STARTUP: &str = "on_startup";
const SUBSCRIBE: &str = "subscribe";
const PUBLISH: &str = "publish";

impl Handler {
    /// Reads a method's handler attributes and signature, removing the attributes. Returns `None`
    /// for a method that is not a handler (no route, no hook) or whose return type is not
    /// understood; a handler with other errors comes back marked `failed`.
    /// `implicit` names path parameters a handler need not take as arguments (an entity's id).
    pub fn from_method(
        method: &mut ImplItemFn,
        kind: ComponentKind,
        implicit: Option<&str>,
        known: &KnownTypes,
        diagnostics: &mut Diagnostics,
    ) -> Option<Self> {
        let before = diagnostics.count();
        let mut route: Option<Route> = None;
        let mut on_startup = None;
        let mut subscription: Option<SubscribeOptions> = None;
        let mut publish: Option<PublishTo> = None;
        let mut is_handler = false;
        let mut kept = Vec::new();
        for attribute in std::mem::take(&mut method.attrs) {
            let name = attribute
                .path()
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            if let Some(http) = Method::from_attribute(&name) {
                is_handler = true;
                let parsed = match attribute.parse_args::<LitStr>() {
                    Ok(literal) => Template::parse(&literal, diagnostics),
                    Err(_) => {
                        diagnostics.error(
                            &attribute,
                            format!("expected a route template: `#[{name}(\"/items/<id>\")]`"),
                        );
                        None
                    }
                };
                if route.is_some() {
                    diagnostics.error(
                        &attribute,
                        "a handler has one route; this method already has one",
                    );
                } else if let Some(template) = parsed {
                    route = Some(Route {
                        method: http,
                        template,
                    });
                }
            } else if name == ON_STARTUP {
                is_handler = true;
                if !kind.allows_on_startup() {
                    diagnostics.error(
                        &attribute,
                        format!(
                            "`#[on_startup]` is for actions, not `#[{}]`",
                            kind.attribute()
                        ),
                    );
                }
                on_startup = Some(StartupOptions::parse(&attribute, diagnostics));
            } else if name == SUBSCRIBE {
                is_handler = true;
                if !kind.allows_on_startup() {
                    diagnostics.error(
                        &attribute,
                        format!(
                            "`#[subscribe]` is for actions, not `#[{}]`",
                            kind.attribute()
                        ),
                    );
                } else if subscription.is_some() {
                    diagnostics.error(
                        &attribute,
                        "a handler has one subscription; this method already has one",
                    );
                } else {
                    subscription = SubscribeOptions::parse(&attribute, diagnostics);
                }
            } else if name == PUBLISH {
                if !kind.allows_on_startup() {
                    diagnostics.error(
                        &attribute,
                        format!("`#[publish]` is for actions, not `#[{}]`", kind.attribute()),
                    );
                } else if publish.is_some() {
                    diagnostics.error(&attribute, "a handler publishes to one topic");
                } else {
                    publish = parse_publish(&attribute, diagnostics);
                }
            } else {
                kept.push(attribute);
            }
        }
        method.attrs = kept;
        if !is_handler {
            return None;
        }

        let signature = &method.sig;
        if !signature.generics.params.is_empty() {
            diagnostics.error(&signature.generics, "a handler cannot be generic");
        }
        check_receiver(method, kind, diagnostics);
        if kind.synchronous()
            && let Some(asyncness) = &method.sig.asyncness
        {
            diagnostics.error(
                asyncness,
                format!("a `#[{}]` handler is synchronous and pure: remove `async`; do I/O in an action", kind.attribute()),
            );
        }
        let reply = reply_type(
            &method.sig.output,
            &method.sig.ident,
            kind,
            known,
            diagnostics,
        );
        let state = reply.as_ref().and_then(|(types, _)| types.state.clone());
        let event = reply.as_ref().and_then(|(types, _)| types.event.clone());
        // Without a valid route (its template's errors are already reported) parameters cannot
        // be checked, and reporting them would only echo the first error.
        // Nor can they when the return type is not understood: the state is not known then.
        let hook = on_startup.is_some() || subscription.is_some();
        let binding = match (&route, hook) {
            _ if reply.is_none() => Binding::Unknown,
            (Some(route), _) => Binding::Route(route),
            (None, true) => Binding::Hook,
            (None, false) => Binding::Unknown,
        };
        let params = classify_params(method, binding, state.as_ref(), kind, diagnostics);

        let handler = Handler {
            ident: method.sig.ident.clone(),
            vis: method.vis.clone(),
            is_async: method.sig.asyncness.is_some(),
            state,
            event,
            route,
            on_startup,
            subscription,
            publish,
            params: params.unwrap_or_default(),
            reply: reply?.1,
            failed: false,
        };
        handler.validate(kind, implicit, diagnostics);
        Some(Handler {
            failed: diagnostics.count() != before,
            ..handler
        })
    }

    fn validate(&self, kind: ComponentKind, implicit: Option<&str>, diagnostics: &mut Diagnostics) {
        if let Some(route) = &self.route {
            for name in route
                .template
                .params()
                .filter(|name| Some(*name) != implicit)
            {
                if !self
                    .params
                    .iter()
                    .any(|p| matches!(p.kind, ParamKind::Path) && p.ident == name)
                {
                    diagnostics.push(route.template.param_error(
                        name,
                        &format!(
                            "path parameter `{name}` has no argument; add `{name}: T` to `fn {}`",
                            self.ident
                        ),
                    ));
                }
            }
        }
        let mut bodies = self
            .params
            .iter()
            .filter(|p| matches!(p.kind, ParamKind::Body));
        if let Some(first) = bodies.next() {
            for extra in bodies {
                diagnostics.error(
                    &extra.ident,
                    format!(
                        "a handler takes at most one JSON body, and `{}` is already the body; bind `{}` to a path parameter `<{}>` or mark it `#[query]`",
                        first.ident, extra.ident, extra.ident
                    ),
                );
            }
        }
        if let Some(subscription) = &self.subscription {
            self.validate_subscription(subscription, kind, diagnostics);
        }
        if self.on_startup.is_some() && matches!(self.reply, Reply::Stream(_)) {
            diagnostics.error(
                &self.ident,
                "an `#[on_startup]` handler returns `action::Effect<T>`, not a stream",
            );
        }
        if self.on_startup.is_some() {
            for param in self
                .params
                .iter()
                .filter(|p| !matches!(p.kind, ParamKind::Context))
            {
                diagnostics.error(
                    &param.ident,
                    format!(
                        "an `#[on_startup]` handler takes no parameters besides `&{}`",
                        kind.context_type()
                    ),
                );
            }
        }
    }
}

impl Handler {
    /// A subscription handler is triggered by nothing else and takes the state or event as its
    /// one parameter besides the context; a delete handler takes none.
    fn validate_subscription(
        &self,
        subscription: &SubscribeOptions,
        kind: ComponentKind,
        diagnostics: &mut Diagnostics,
    ) {
        let attribute = &subscription.attribute;
        if self.route.is_some() || self.on_startup.is_some() {
            diagnostics.error(
                attribute,
                "a `#[subscribe]` handler is run by its subscription alone: remove its route or `#[on_startup]`",
            );
            return;
        }
        if matches!(self.reply, Reply::Stream(_)) {
            diagnostics.error(
                &self.ident,
                "a `#[subscribe]` handler returns `action::Effect<T>`, not a stream",
            );
        }
        let context = kind.context_type();
        let mut payloads = self
            .params
            .iter()
            .filter(|p| !matches!(p.kind, ParamKind::Context));
        if subscription.handle_deletes {
            for param in payloads {
                diagnostics.error(
                    &param.ident,
                    format!(
                        "a `handle_deletes` handler takes no state (the entity is gone), only `&{context}`; `ctx.event_subject()` is its id"
                    ),
                );
            }
            return;
        }
        let what = match subscription.source {
            SubscriptionSource::ValueEntity => "the entity's new state",
            SubscriptionSource::EventSourcedEntity => "the entity's event",
            SubscriptionSource::Topic => "the message",
        };
        match payloads.next() {
            None => diagnostics.error(
                &self.ident,
                format!("a `#[subscribe]` handler takes {what} as a parameter: add `value: T` besides `&{context}`"),
            ),
            Some(first) => {
                if !matches!(first.kind, ParamKind::Body) {
                    diagnostics.error(
                        &first.ident,
                        format!("a `#[subscribe]` handler's parameter is {what}, not a query or header"),
                    );
                }
                for extra in payloads {
                    diagnostics.error(
                        &extra.ident,
                        format!(
                            "a `#[subscribe]` handler takes one parameter, {what}, and `{}` is already it",
                            first.ident
                        ),
                    );
                }
            }
        }
    }
}

fn check_receiver(method: &ImplItemFn, kind: ComponentKind, diagnostics: &mut Diagnostics) {
    match method.sig.receiver() {
        Some(receiver) if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        Some(receiver) => diagnostics.error(
            receiver,
            format!(
                "a handler takes `&self`: one `#[{}]` instance serves concurrent calls",
                kind.attribute()
            ),
        ),
        None => diagnostics.error(
            &method.sig.ident,
            "a handler takes `&self` as its first parameter",
        ),
    }
}

/// What the parameters of a method bind against.
#[derive(Clone, Copy)]
enum Binding<'a> {
    /// A valid route: path parameters by name, a body if the method carries one.
    Route(&'a Route),
    /// A start-up hook without a route: parameters are reported by the hook's own check.
    Hook,
    /// No route to check against: its template failed to parse, and that is already reported.
    Unknown,
}

fn classify_params(
    method: &mut ImplItemFn,
    binding: Binding,
    state: Option<&Type>,
    kind: ComponentKind,
    diagnostics: &mut Diagnostics,
) -> Option<Vec<Param>> {
    let path_names: Vec<String> = match binding {
        Binding::Route(route) => route.template.params().map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let mut params = Vec::new();
    for input in method.sig.inputs.iter_mut() {
        let FnArg::Typed(typed) = input else { continue };
        let mut query = false;
        let mut body = false;
        let mut header: Option<LitStr> = None;
        let mut kept = Vec::new();
        for attribute in std::mem::take(&mut typed.attrs) {
            if attribute.path().is_ident(QUERY) {
                if !matches!(attribute.meta, syn::Meta::Path(_)) {
                    diagnostics.error(
                        &attribute,
                        "`#[query]` takes no options; the parameter's name is the query key",
                    );
                }
                query = true;
            } else if attribute.path().is_ident(BODY) {
                if !matches!(attribute.meta, syn::Meta::Path(_)) {
                    diagnostics.error(&attribute, "`#[body]` takes no options");
                }
                body = true;
            } else if attribute.path().is_ident(HEADER) {
                match attribute.parse_args::<LitStr>() {
                    Ok(name) => header = Some(name),
                    Err(_) => diagnostics.error(
                        &attribute,
                        "expected the header's name: `#[header(\"UserRole\")]`",
                    ),
                }
            } else {
                kept.push(attribute);
            }
        }
        typed.attrs = kept;
        let Pat::Ident(pattern) = typed.pat.as_ref() else {
            diagnostics.error(
                &typed.pat,
                "a handler parameter is a plain name, bound by that name",
            );
            continue;
        };
        let ident = pattern.ident.clone();
        let ty = (*typed.ty).clone();
        let kind = if query && header.is_some() {
            diagnostics.error(
                &ident,
                "a parameter is either `#[query]` or `#[header]`, not both",
            );
            continue;
        } else if query {
            ParamKind::Query(
                match (generic_arg(&ty, "Option"), generic_arg(&ty, "Vec")) {
                    (Some(inner), _) => QueryShape::Optional(Box::new(inner.clone())),
                    (_, Some(inner)) => QueryShape::Repeated(Box::new(inner.clone())),
                    _ => QueryShape::Required,
                },
            )
        } else if let Some(name) = header {
            let optional = generic_arg(&ty, "Option").is_some();
            ParamKind::Header { name, optional }
        } else if kind == ComponentKind::Workflow && state.is_some_and(|state| is_state(&ty, state))
        {
            diagnostics.error(
                &ty,
                format!(
                    "a workflow's command handler takes its state as `Option<&{}>`: it has none before its first update",
                    type_text(state.expect("checked"))
                ),
            );
            continue;
        } else if state.is_some_and(|state| {
            is_state(&ty, state)
                || (kind == ComponentKind::Workflow
                    && generic_arg(&ty, "Option").is_some_and(|inner| is_state(inner, state)))
        }) && !body
        {
            ParamKind::State
        } else if is_context(&ty, kind.context_type()) {
            if !matches!(ty, Type::Reference(_)) {
                diagnostics.error(
                    &ty,
                    format!("take the context by reference: `&{}`", kind.context_type()),
                );
            }
            ParamKind::Context
        } else if path_names.iter().any(|name| ident == name) {
            ParamKind::Path
        } else if let Some(state) = state.filter(|state| mistaken_state(&ty, state, body)) {
            // By value it would be read from the request body, so any client could set the
            // state; `&mut` suggests changing it in place, which a handler never does.
            let could_be_body = !matches!(ty, Type::Reference(_))
                && matches!(binding, Binding::Route(route) if route.method.carries_body());
            let or_body = if could_be_body {
                "; if it is the request body, mark it `#[body]`"
            } else {
                ""
            };
            diagnostics.error(
                &ty,
                format!(
                    "`{ident}` has the entity's state type: take the state by reference, `&{}` \
                     (a handler returns the new state in its effect){or_body}",
                    type_text(state)
                ),
            );
            continue;
        } else {
            match binding {
                Binding::Route(route) if body && !route.method.carries_body() => {
                    diagnostics.error(
                        &ident,
                        format!(
                            "`#[body]` on a {} handler: such requests carry no body",
                            route.method.as_str()
                        ),
                    );
                    continue;
                }
                Binding::Route(route) if !route.method.carries_body() => {
                    diagnostics.error(
                        &ident,
                        format!(
                            "argument `{ident}` is bound to nothing: {} requests carry no body; add `<{ident}>` to the route, mark it `#[query]`, or take `&{}`",
                            route.method.as_str(),
                            kind.context_type()
                        ),
                    );
                    continue;
                }
                Binding::Unknown => continue,
                Binding::Hook | Binding::Route(_) => ParamKind::Body,
            }
        };
        params.push(Param { ident, ty, kind });
    }
    Some(params)
}

/// The state and event types an effect names, for the kinds that have them.
#[derive(Default)]
struct EffectTypes {
    state: Option<Type>,
    event: Option<Type>,
}

/// The handler's reply type, and for a stateful kind its state (and event) type.
fn reply_type(
    output: &ReturnType,
    ident: &Ident,
    kind: ComponentKind,
    known: &KnownTypes,
    diagnostics: &mut Diagnostics,
) -> Option<(EffectTypes, Reply)> {
    let unsupported = |diagnostics: &mut Diagnostics, tokens: &dyn quote::ToTokens| {
        diagnostics.error(
            tokens,
            format!(
                "unsupported return type: a `#[{}]` handler returns {}",
                kind.attribute(),
                kind.reply_help()
            ),
        );
    };
    let ReturnType::Type(_, ty) = output else {
        unsupported(diagnostics, ident);
        return None;
    };
    // A query method returns what the query gives: no effect around it.
    if kind == ComponentKind::View {
        return Some(match generic_arg(ty, "QueryStream") {
            Some(row) => (EffectTypes::default(), Reply::Stream(row.clone())),
            None => (EffectTypes::default(), Reply::Unary((**ty).clone())),
        });
    }
    match kind.effect_shape() {
        EffectShape::StateEventAndReply => {
            if let Some([state, event, reply]) = generic_args::<3>(ty, UNARY_REPLY) {
                let types = EffectTypes {
                    state: Some(state.clone()),
                    event: Some(event.clone()),
                };
                return Some((types, Reply::Unary(reply.clone())));
            }
        }
        EffectShape::WorkflowStateAndReply => {
            if let Some([_, state, reply]) = generic_args::<3>(ty, UNARY_REPLY) {
                let types = EffectTypes {
                    state: Some(state.clone()),
                    event: None,
                };
                return Some((types, Reply::Unary(reply.clone())));
            }
        }
        EffectShape::StateAndReply => {
            if let Some([state, reply]) = generic_args::<2>(ty, UNARY_REPLY) {
                let types = EffectTypes {
                    state: Some(state.clone()),
                    event: None,
                };
                return Some((types, Reply::Unary(reply.clone())));
            }
        }
        EffectShape::Reply => {
            if let Some(inner) = generic_arg(ty, UNARY_REPLY) {
                return Some((EffectTypes::default(), Reply::Unary(inner.clone())));
            }
        }
    }
    if let Some(inner) = kind.stream_reply().and_then(|name| generic_arg(ty, name)) {
        return Some((EffectTypes::default(), Reply::Stream(inner.clone())));
    }
    // A type named `..Effect` may be an alias of the effect, once the state is known from
    // elsewhere; the compiler checks that it is one, and the reply is read through it.
    let evented = kind.effect_shape() == EffectShape::StateEventAndReply;
    let names_an_effect = matches!(ty.as_ref(), Type::Path(path)
        if path.path.segments.last().is_some_and(|last| last.ident.to_string().ends_with(UNARY_REPLY)));
    if names_an_effect
        && kind.effect_shape() != EffectShape::Reply
        && known.state.is_some()
        && (!evented || known.event.is_some())
    {
        let core = KalixCoreAt(ty.span());
        let reply: Type =
            syn::parse_quote_spanned!(ty.span()=> <#ty as #core::__private::EffectReply>::Reply);
        let types = EffectTypes {
            state: known.state.clone(),
            event: known.event.clone(),
        };
        return Some((types, Reply::Unary(reply)));
    }
    unsupported(diagnostics, ty);
    None
}

/// The single type argument of `ty` if its path ends in `Name<T>`.
pub(crate) fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    generic_args::<1>(ty, name).map(|[inner]| inner)
}

/// Whether `ty` names the state in a way a handler cannot take it: by value (unless marked as
/// the body) or by `&mut`.
fn mistaken_state(ty: &Type, state: &Type, marked_body: bool) -> bool {
    let state = type_text(state);
    match ty {
        Type::Reference(reference) => {
            reference.mutability.is_some() && type_text(&reference.elem) == state
        }
        _ => !marked_body && type_text(ty) == state,
    }
}

/// Whether `ty` is `&State`.
fn is_state(ty: &Type, state: &Type) -> bool {
    matches!(ty, Type::Reference(reference) if reference.mutability.is_none() && type_text(&reference.elem) == type_text(state))
}

/// The `N` type arguments of `ty` if its path ends in `Name<T1, .., TN>`.
fn generic_args<'a, const N: usize>(ty: &'a Type, name: &str) -> Option<[&'a Type; N]> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let types: Vec<&Type> = args
        .args
        .iter()
        .map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .collect::<Option<_>>()?;
    types.try_into().ok()
}

fn is_context(ty: &Type, context: &str) -> bool {
    let ty = match ty {
        Type::Reference(reference) => reference.elem.as_ref(),
        other => other,
    };
    matches!(ty, Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == context))
}

/// A type as readable text for runtime messages, e.g. `Vec<u8>`.
pub(crate) fn type_text(ty: &Type) -> String {
    quote::quote!(#ty)
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
}

/// The span of a parameter's type, for errors about it.
pub(crate) fn type_span(ty: &Type) -> proc_macro2::Span {
    ty.span()
}

/// No two handlers of one component share a method and route shape: each duplicate is an error
/// at its route, with a second pointing at the route it repeats.
pub(crate) fn check_unique_routes(handlers: &[Handler], kind: &str, diagnostics: &mut Diagnostics) {
    let mut routes: Vec<(String, &Handler)> = Vec::new();
    for handler in handlers {
        let Some(route) = &handler.route else {
            continue;
        };
        let key = format!("{} {}", route.method.as_str(), route.template.shape());
        let Some((_, first)) = routes.iter().find(|(k, _)| *k == key) else {
            routes.push((key, handler));
            continue;
        };
        let described = format!(
            "{} {}",
            route.method.as_str(),
            route.template.literal.value()
        );
        diagnostics.error(
            &route.template.literal,
            format!(
                "{described} is already routed to `{}` in this {kind}",
                first.ident
            ),
        );
        if let Some(first_route) = &first.route {
            diagnostics.error(
                &first_route.template.literal,
                format!("first defined here, on `{}`", first.ident),
            );
        }
    }
}
