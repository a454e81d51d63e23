//! The model of a value entity: its type, storage namespace, id parameter, state type and
//! handlers, validated as a whole.

use proc_macro2::TokenStream;
use syn::{Ident, ItemImpl, LitStr, Type};

use crate::diagnostics::Diagnostics;
use crate::entity::{Header, handlers_and_state, validate_routes};
use crate::handler::{ComponentKind, Handler};
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
            handlers: crate::readers::sound(handlers),
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
