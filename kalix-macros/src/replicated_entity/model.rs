//! The model of a replicated entity: its type, storage namespace, id parameter, data type and
//! handlers, validated as a whole (the value entity's model, with its own options).

use proc_macro2::TokenStream;
use syn::ItemImpl;

use crate::diagnostics::Diagnostics;
use crate::entity::{Header, handlers_and_state};
use crate::handler::ComponentKind;
use crate::keyed::Keyed;
use crate::options::{FORWARD_HEADERS, ID, NEW, STATE, TYPE_ID};

pub(crate) struct ReplicatedEntity {
    pub keyed: Keyed,
}

impl ReplicatedEntity {
    pub fn from_impl(
        args: TokenStream,
        item: &mut ItemImpl,
        diagnostics: &mut Diagnostics,
    ) -> Option<Self> {
        let header = Header::read(
            args,
            item,
            "replicated_entity",
            &[TYPE_ID, ID, STATE, NEW, FORWARD_HEADERS],
            ("\"counter\"", "\"counter_id\""),
            diagnostics,
        );
        let (handlers, state) = handlers_and_state(
            item,
            ComponentKind::ReplicatedEntity,
            "replicated entity",
            header.id.as_ref(),
            header.options.state.clone(),
            diagnostics,
        );
        let keyed = Keyed::assemble(
            item,
            "replicated entity",
            header,
            state,
            handlers,
            diagnostics,
        )?;
        Some(ReplicatedEntity { keyed })
    }
}
