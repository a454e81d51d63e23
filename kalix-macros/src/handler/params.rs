//! How each parameter of a handler binds: path, query, header, body, context or state.

use syn::{FnArg, ImplItemFn, LitStr, Pat, Type};

use super::types::{generic_arg, is_context, is_state, mistaken_state, type_text};
use super::{ComponentKind, Param, ParamKind, QueryShape, Route};
use crate::diagnostics::Diagnostics;

/// The parameter attributes.
const QUERY: &str = "query";
const HEADER: &str = "header";
const BODY: &str = "body";

pub(super) fn check_receiver(
    method: &ImplItemFn,
    kind: ComponentKind,
    diagnostics: &mut Diagnostics,
) {
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
pub(super) enum Binding<'a> {
    /// A valid route: path parameters by name, a body if the method carries one.
    Route(&'a Route),
    /// A start-up hook without a route: parameters are reported by the hook's own check.
    Hook,
    /// A `.proto` method: the request message is the body; no path or query parameters.
    Grpc,
    /// No route to check against: its template failed to parse, and that is already reported.
    Unknown,
}

pub(super) fn classify_params(
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
        } else if query && matches!(binding, Binding::Grpc) {
            diagnostics.error(
                &ident,
                "a gRPC handler has no query string: its input is the request message",
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
                Binding::Hook | Binding::Route(_) | Binding::Grpc => ParamKind::Body,
            }
        };
        params.push(Param { ident, ty, kind });
    }
    Some(params)
}
