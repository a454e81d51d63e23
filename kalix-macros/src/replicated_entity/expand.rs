//! Code generated for a replicated entity: the keyed kinds' code (`keyed.rs`) with the
//! `ReplicatedEntityComponent` trait.

use proc_macro2::TokenStream;
use quote::quote;

use super::model::ReplicatedEntity;
use crate::codegen;
use crate::exports::KalixCore;
use crate::keyed::{self, KindCode};

pub(crate) fn generate(entity: &ReplicatedEntity) -> TokenStream {
    let keyed = &entity.keyed;
    let state = &keyed.state;
    let code = KindCode {
        kind: "ReplicatedEntity",
        component_trait: quote!(#KalixCore::replicated_entity::ReplicatedEntityComponent),
        state_param: quote!(&#state),
        runtime: quote!(#KalixCore::__private::ReplicatedEntityRuntime),
        command: quote!(#KalixCore::__private::replicated_entity_command),
        context: quote!(#KalixCore::replicated_entity::ReplicatedEntityContext),
        default_constructor: quote!(#KalixCore::__private::default_replicated_entity),
        constructor: quote!(#KalixCore::__private::construct_replicated_entity),
    };
    codegen::wrap(keyed::generate(keyed, code, TokenStream::new(), Vec::new()))
}
