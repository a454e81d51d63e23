//! Code generated for a value entity: the keyed kinds' code (`keyed.rs`) with its
//! `ValueEntityComponent` members (the empty state, a state migration) and its state's link.

use proc_macro2::TokenStream;
use quote::quote;

use super::model::ValueEntity;
use crate::codegen;
use crate::exports::KalixCore;
use crate::keyed::{self, KindCode};

pub(crate) fn generate(entity: &ValueEntity) -> TokenStream {
    let keyed = &entity.keyed;
    let (self_ty, state) = (&keyed.self_ty, &keyed.state);
    let empty_state = keyed::empty_state(keyed);
    let migration = keyed::migration(keyed, "STATE_VERSION", "migrate_state");
    let code = KindCode {
        kind: "ValueEntity",
        component_trait: quote!(#KalixCore::value_entity::ValueEntityComponent),
        state_param: quote!(&#state),
        runtime: quote!(#KalixCore::__private::ValueEntityRuntime),
        command: quote!(#KalixCore::__private::value_entity_command),
        context: quote!(#KalixCore::value_entity::ValueEntityContext),
        default_constructor: quote!(#KalixCore::__private::default_value_entity),
        constructor: quote!(#KalixCore::__private::construct_value_entity),
    };
    let component = keyed::generate(keyed, code, quote!(#empty_state #migration), Vec::new());
    codegen::wrap(quote! {
        #component

        #[automatically_derived]
        impl #KalixCore::__private::StateOf<#state> for #self_ty {}
    })
}
