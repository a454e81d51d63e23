//! The model of a value entity: its type, storage namespace, id parameter, state type and
//! handlers, validated as a whole.

use proc_macro2::TokenStream;
use syn::ItemImpl;

use crate::diagnostics::Diagnostics;
use crate::entity::{Header, handlers_and_state};
use crate::handler::ComponentKind;
use crate::keyed::Keyed;
use crate::options::{EMPTY_STATE, FORWARD_HEADERS, ID, MIGRATION, NEW, STATE, TYPE_ID};

pub(crate) struct ValueEntity {
    pub keyed: Keyed,
}

impl ValueEntity {
    pub fn from_impl(
        args: TokenStream,
        item: &mut ItemImpl,
        diagnostics: &mut Diagnostics,
    ) -> Option<Self> {
        let header = Header::read(
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
            header.id.as_ref(),
            header.options.state.clone(),
            diagnostics,
        );
        let keyed = Keyed::assemble(item, "value entity", header, state, handlers, diagnostics)?;
        Some(ValueEntity { keyed })
    }
}
