//! The model of a value entity: its type, storage namespace, id parameter, state type and
//! handlers, validated as a whole.

use proc_macro2::TokenStream;
use syn::{Ident, ImplItem, ItemImpl, LitStr, Type};

use crate::diagnostics::Diagnostics;
use crate::entity::{Header, handlers_and_state, validate_routes};
use crate::handler::{ComponentKind, Handler, KnownTypes};
use crate::options::{
    ComponentOptions, EMPTY_STATE, FORWARD_HEADERS, ID, MIGRATION, NEW, STATE, TYPE_ID,
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
        let Header {
            options,
            name,
            type_id,
            id,
        } = Header::read(
            args,
            item,
            "value_entity",
            &[
                TYPE_ID,
                ID,
                STATE,
                NEW,
                EMPTY_STATE,
                FORWARD_HEADERS,
                MIGRATION,
            ],
            ("\"counter\"", "\"counter_id\""),
            diagnostics,
        );
        let (handlers, state) = handlers_and_state(
            item,
            ComponentKind::ValueEntity,
            "value entity",
            id.as_ref(),
            options.state.clone(),
            diagnostics,
        );
        let state = state?;
        let entity = ValueEntity {
            self_ty: (*item.self_ty).clone(),
            name: name?,
            options,
            type_id: type_id?,
            id: id?,
            state,
            handlers: sound(handlers),
        };
        validate_routes(
            "value entity",
            &entity.id,
            &entity.handlers,
            &entity.options.forward_headers,
            diagnostics,
        );
        Some(entity)
    }
}

/// An entity goes on an inherent, non-generic `impl` block with a non-empty type id.
pub(crate) fn check_impl(item: &ItemImpl, attribute: &str, diagnostics: &mut Diagnostics) {
    if let Some((_, trait_path, _)) = &item.trait_ {
        diagnostics.error(
            trait_path,
            format!("`#[{attribute}]` goes on an inherent `impl` block, not a trait impl"),
        );
    }
    if !item.generics.params.is_empty() {
        diagnostics.error(&item.generics, "an entity cannot be generic");
    }
}

/// The handlers that generate code: those without errors. The others were reported, and left
/// out of the generated client so the rest of the crate still sees the component.
pub(crate) fn sound(mut handlers: Vec<Handler>) -> Vec<Handler> {
    handlers.retain(|handler| !handler.failed);
    handlers
}

/// The command handlers of the block; the id parameter need not be an argument.
pub(crate) fn command_handlers(
    item: &mut ItemImpl,
    kind: ComponentKind,
    id: Option<&LitStr>,
    known: &KnownTypes,
    diagnostics: &mut Diagnostics,
) -> Vec<Handler> {
    let id_name = id.map(LitStr::value);
    let mut handlers = Vec::new();
    for impl_item in &mut item.items {
        if let ImplItem::Fn(method) = impl_item
            && let Some(handler) =
                Handler::from_method(method, kind, id_name.as_deref(), known, diagnostics)
        {
            handlers.push(handler);
        }
    }
    handlers
}
