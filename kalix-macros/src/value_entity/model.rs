//! The model of a value entity: its type, storage namespace, id parameter, state type and
//! handlers, validated as a whole.

use proc_macro2::{Span, TokenStream};
use syn::{Ident, ImplItem, ItemImpl, LitStr, Type};

use crate::diagnostics::Diagnostics;
use crate::handler::{Handler, HandlerRules, ParamKind, type_text};
use crate::options::{ComponentOptions, EMPTY_STATE, FORWARD_HEADERS, ID, NEW, TYPE_ID};

pub(crate) const RULES: HandlerRules = HandlerRules {
    component_attribute: "value_entity",
    context_type: "ValueEntityContext",
    unary_reply: "Effect",
    stream_reply: None,
    reply_help: "`value_entity::Effect<State, Reply>`",
    allows_on_startup: false,
    stateful: true,
    synchronous: true,
};

pub(crate) struct ValueEntity {
    pub self_ty: Type,
    pub name: Ident,
    pub options: ComponentOptions,
    pub type_id: LitStr,
    pub id: LitStr,
    pub state: Type,
    pub handlers: Vec<Handler>,
}

impl ValueEntity {
    pub fn from_impl(
        args: TokenStream,
        item: &mut ItemImpl,
        diagnostics: &mut Diagnostics,
    ) -> Option<Self> {
        let options = ComponentOptions::parse(
            args,
            "value_entity",
            &[TYPE_ID, ID, NEW, EMPTY_STATE, FORWARD_HEADERS],
            diagnostics,
        );
        if let Some((_, trait_path, _)) = &item.trait_ {
            diagnostics.error(
                trait_path,
                "`#[value_entity]` goes on an inherent `impl` block, not a trait impl",
            );
        }
        if !item.generics.params.is_empty() {
            diagnostics.error(&item.generics, "a value entity cannot be generic");
        }
        let name = crate::action::type_name(&item.self_ty, "value_entity", diagnostics);
        let type_id = required(&options.type_id, TYPE_ID, "\"counter\"", diagnostics);
        let id = required(&options.id, ID, "\"counter_id\"", diagnostics);
        if let Some(type_id) = &type_id
            && type_id.value().trim().is_empty()
        {
            diagnostics.error(
                type_id,
                "the type id names the entity's storage and cannot be empty",
            );
        }
        let id_name = id.as_ref().map(LitStr::value);
        let before = diagnostics.count();
        let mut handlers = Vec::new();
        for impl_item in &mut item.items {
            if let ImplItem::Fn(method) = impl_item
                && let Some(handler) =
                    Handler::from_method(method, &RULES, id_name.as_deref(), diagnostics)
            {
                handlers.push(handler);
            }
        }
        let handlers_failed = diagnostics.count() > before;
        let state = state_type(&handlers, &item.self_ty, handlers_failed, diagnostics)?;
        let entity = ValueEntity {
            self_ty: (*item.self_ty).clone(),
            name: name?,
            options,
            type_id: type_id?,
            id: id?,
            state,
            handlers,
        };
        entity.validate(diagnostics);
        Some(entity)
    }

    fn validate(&self, diagnostics: &mut Diagnostics) {
        let id = self.id.value();
        let mut routes: Vec<(String, &Ident)> = Vec::new();
        for handler in &self.handlers {
            let Some(route) = &handler.route else {
                continue;
            };
            if !route.template.params().any(|param| param == id) {
                diagnostics.error(
                    &route.template.literal,
                    format!("every route of this value entity contains its id parameter `<{id}>`, e.g. \"/counter/<{id}>\""),
                );
            }
            let key = format!("{} {}", route.method.as_str(), route.template.shape());
            match routes.iter().find(|(k, _)| *k == key) {
                Some((_, first)) => diagnostics.error(
                    &route.template.literal,
                    format!(
                        "{} {} is already routed to `{first}` in this value entity",
                        route.method.as_str(),
                        route.template.literal.value()
                    ),
                ),
                None => routes.push((key, &handler.ident)),
            }
            for param in &handler.params {
                if let ParamKind::Header { name, .. } = &param.kind
                    && !self
                        .options
                        .forward_headers
                        .iter()
                        .any(|h| h.value().eq_ignore_ascii_case(&name.value()))
                {
                    diagnostics.error(
                        name,
                        format!("header `{0}` is not forwarded to this value entity; add it: `forward_headers = [\"{0}\"]`", name.value()),
                    );
                }
            }
        }
    }
}

fn required(
    option: &Option<LitStr>,
    name: &str,
    example: &str,
    diagnostics: &mut Diagnostics,
) -> Option<LitStr> {
    if option.is_none() {
        diagnostics.push(syn::Error::new(
            Span::call_site(),
            format!("`#[value_entity]` needs `{name} = {example}`"),
        ));
    }
    option.clone()
}

/// The state type: the `S` of every handler's `Effect<S, R>`, which must agree.
fn state_type(
    handlers: &[Handler],
    self_ty: &Type,
    handlers_failed: bool,
    diagnostics: &mut Diagnostics,
) -> Option<Type> {
    let mut states = handlers.iter().filter_map(|h| h.state.as_ref());
    let Some(first) = states.next() else {
        if !handlers_failed {
            diagnostics.error(
                self_ty,
                "a value entity needs at least one command handler with a route",
            );
        }
        return None;
    };
    for other in states {
        if type_text(other) != type_text(first) {
            diagnostics.error(
                other,
                format!("every handler of a value entity has the same state type; this one says `{}`, another `{}`", type_text(other), type_text(first)),
            );
        }
    }
    Some(first.clone())
}
