//! Handler signatures: the route and hook attributes on a method, how each parameter binds
//! (path, query, header, body, context), and what the method returns. Shared by every
//! component kind; the kind says which context and reply types it accepts (`kind.rs`). The
//! attributes are read here; the parameters in `params.rs`, the reply in `reply.rs`, a
//! subscription's rules in `subscription.rs`, and types are read as text in `types.rs`.

mod kind;
mod params;
mod reply;
mod subscription;
mod types;

use syn::{Ident, ImplItemFn, LitStr, Type};

use crate::access::Access;
use crate::diagnostics::Diagnostics;
use crate::options::{PublishTo, StartupOptions, SubscribeOptions, parse_publish};
use crate::route::{Method, Template};

pub(crate) use kind::{ComponentKind, EffectShape, KnownTypes};
use params::{Binding, check_receiver, classify_params};
use reply::reply_type;
pub(crate) use types::{generic_arg, type_span, type_text};

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
    /// Its own `#[acl]` and `#[jwt]`.
    pub access: Access,
    /// Its `///` doc comment: the summary and description of its route in the API description.
    pub doc: String,
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
        let mut access_attributes = Vec::new();
        for attribute in std::mem::take(&mut method.attrs) {
            let name = crate::readers::attribute_name(&attribute);
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
            } else if Access::is_access(&attribute) {
                access_attributes.push(attribute);
            } else {
                kept.push(attribute);
            }
        }
        method.attrs = kept;
        if !is_handler {
            for attribute in &access_attributes {
                diagnostics.error(
                    attribute,
                    "`#[acl]` and `#[jwt]` go on a handler (a method with a route) or on the `impl` block",
                );
            }
            return None;
        }
        let access = Access::take(&mut access_attributes, diagnostics);

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
            access,
            doc: crate::readers::doc_text(&method.attrs),
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
