//! Checks shared by the entity kinds: required options, routes that carry the id, one handler per
//! route, forwarded headers, and one agreed state (or event) type across handlers.

use proc_macro2::Span;
use syn::{ImplItem, ItemImpl, LitStr, Type};

use crate::diagnostics::Diagnostics;
use crate::handler::{Handler, ParamKind, check_unique_routes, type_text};
use crate::options::{ComponentOptions, ID, TYPE_ID};
use crate::route::{Method, Template};

/// What every keyed kind reads first: its options, its type's name, its `type_id` and its id
/// parameter (checked against the routes).
pub(crate) struct Header {
    pub options: ComponentOptions,
    pub name: Option<syn::Ident>,
    pub type_id: Option<LitStr>,
    pub id: Option<LitStr>,
}

impl Header {
    /// Reads `#[attribute(args)]` on `item`, allowing `allowed` options; `examples` are the
    /// type id and id a message suggests when one is missing.
    pub fn read(
        args: proc_macro2::TokenStream,
        item: &ItemImpl,
        attribute: &str,
        allowed: &[&str],
        examples: (&str, &str),
        diagnostics: &mut Diagnostics,
    ) -> Self {
        let options = ComponentOptions::parse(args, attribute, allowed, diagnostics);
        crate::readers::check_impl(item, attribute, diagnostics);
        let name = crate::readers::type_name(&item.self_ty, attribute, diagnostics);
        let type_id = required(
            &options.type_id,
            attribute,
            TYPE_ID,
            examples.0,
            diagnostics,
        );
        let id = required(&options.id, attribute, ID, examples.1, diagnostics);
        let id = id.map(|id| id_in_routes(id, item, diagnostics));
        Self {
            options,
            name,
            type_id,
            id,
        }
    }
}

/// The command handlers of a kind whose effects name its state, and the one state they agree on
/// (or the `state = ..` option names): `None` after an error.
pub(crate) fn handlers_and_state(
    item: &mut ItemImpl,
    kind: crate::handler::ComponentKind,
    described: &str,
    id: Option<&LitStr>,
    state_option: Option<Type>,
    diagnostics: &mut Diagnostics,
) -> (Vec<Handler>, Option<Type>) {
    let before = diagnostics.count();
    let known = crate::handler::KnownTypes {
        state: state_option,
        event: None,
    };
    let handlers = crate::readers::command_handlers(item, kind, id, &known, diagnostics);
    let handlers_failed = diagnostics.count() > before;
    let state = agreed_type(
        described,
        "state",
        known
            .state
            .iter()
            .chain(handlers.iter().filter_map(|h| h.state.as_ref())),
        &item.self_ty,
        handlers_failed,
        diagnostics,
    );
    (handlers, state)
}

/// The option's value, or an error saying the attribute needs it.
pub(crate) fn required(
    option: &Option<LitStr>,
    attribute: &str,
    name: &str,
    example: &str,
    diagnostics: &mut Diagnostics,
) -> Option<LitStr> {
    if option.is_none() {
        diagnostics.push(syn::Error::new(
            Span::call_site(),
            format!("`#[{attribute}]` needs `{name} = {example}`"),
        ));
    }
    option.clone()
}

/// The id option, checked against the routes before the handlers are read: when no route has
/// the parameter it names but every route shares another one, that is the one mistake reported
/// (at the option), and the shared parameter stands in for it so the handlers report nothing more.
pub(crate) fn id_in_routes(id: LitStr, item: &ItemImpl, diagnostics: &mut Diagnostics) -> LitStr {
    let routes = route_params(item);
    let name = id.value();
    if routes.is_empty() || routes.iter().any(|params| params.contains(&name)) {
        return id;
    }
    let shared: Vec<&String> = routes[0]
        .iter()
        .filter(|param| routes.iter().all(|params| params.contains(param)))
        .collect();
    let [shared] = shared.as_slice() else {
        // No single candidate: each route's own error says what is missing.
        return id;
    };
    diagnostics.error(
        &id,
        format!(
            "`id = \"{name}\"` names a path parameter no route has: every route of an entity holds its id parameter, here `<{name}>`, and the routes hold `<{shared}>` instead; write `<{name}>` in the routes, or `id = \"{shared}\"`"
        ),
    );
    LitStr::new(shared, id.span())
}

/// The path parameters of each route template in the block, read quietly: a template's own
/// errors are reported when its handler is read.
fn route_params(item: &ItemImpl) -> Vec<Vec<String>> {
    let mut scratch = Diagnostics::default();
    let routes = item
        .items
        .iter()
        .filter_map(|item| match item {
            ImplItem::Fn(method) => Some(method),
            _ => None,
        })
        .flat_map(|method| &method.attrs)
        .filter(|attribute| {
            Method::from_attribute(&crate::readers::attribute_name(attribute)).is_some()
        })
        .filter_map(|attribute| attribute.parse_args::<LitStr>().ok())
        .filter_map(|literal| Template::parse(&literal, &mut scratch))
        .map(|template| template.params().map(str::to_owned).collect())
        .collect();
    // Reported again, where they belong, when the handlers are read.
    let _ = scratch.check();
    routes
}

/// Every route carries the id, no two handlers share a route, and header parameters are forwarded.
pub(crate) fn validate_routes(
    kind: &str,
    id: &LitStr,
    handlers: &[Handler],
    forward_headers: &[LitStr],
    diagnostics: &mut Diagnostics,
) {
    let id = id.value();
    check_unique_routes(handlers, kind, diagnostics);
    for handler in handlers {
        if let Some(route) = &handler.route
            && !route.template.params().any(|param| param == id)
        {
            diagnostics.error(
                &route.template.literal,
                format!("every route of this {kind} contains its id parameter `<{id}>`, e.g. \"/counter/<{id}>\""),
            );
        }
        if handler.route.is_none() && handler.grpc.is_none() {
            continue;
        }
        for param in &handler.params {
            if let ParamKind::Header { name, .. } = &param.kind
                && !forward_headers
                    .iter()
                    .any(|h| h.value().eq_ignore_ascii_case(&name.value()))
            {
                diagnostics.error(
                    name,
                    format!("header `{0}` is not forwarded to this {kind}; add it: `forward_headers = [\"{0}\"]`", name.value()),
                );
            }
        }
    }
}

/// The one type all handlers agree on for `what` (the state, the event), reported where they
/// disagree. `None` if no handler names one; then, unless handlers already failed, an error.
pub(crate) fn agreed_type<'a>(
    kind: &str,
    what: &str,
    types: impl IntoIterator<Item = &'a Type>,
    self_ty: &Type,
    handlers_failed: bool,
    diagnostics: &mut Diagnostics,
) -> Option<Type> {
    let mut types = types.into_iter();
    let Some(first) = types.next() else {
        if !handlers_failed {
            diagnostics.error(
                self_ty,
                format!("a {kind} needs at least one command handler with a route"),
            );
        }
        return None;
    };
    for other in types {
        if type_text(other) != type_text(first) {
            diagnostics.error(
                other,
                format!(
                    "every handler of a {kind} has the same {what} type; this one says `{}`, another `{}`",
                    type_text(other),
                    type_text(first)
                ),
            );
        }
    }
    Some(first.clone())
}
