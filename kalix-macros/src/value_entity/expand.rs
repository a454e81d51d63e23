//! Code generated for a value entity: the `ValueEntityComponent` impl, a typed client bound to an
//! entity id, one dispatch function per handler, and the registration.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::ValueEntity;
use crate::codegen::{self, ClientTarget};
use crate::exports::KalixCore;

pub(crate) fn generate(entity: &ValueEntity) -> TokenStream {
    let self_ty = &entity.self_ty;
    let state = &entity.state;
    let name = entity.name.to_string();
    let (type_id, id) = (&entity.type_id, &entity.id);
    let client = codegen::client_ident(&entity.name);
    let component_trait = quote!(#KalixCore::value_entity::ValueEntityComponent);
    let target = ClientTarget {
        component_trait: component_trait.clone(),
        self_ty,
        name: &entity.name,
        id_param: Some(id.value()),
    };
    let empty_state = match &entity.options.empty_state {
        Some(path) => quote!(#path(entity_id)),
        None => quote_spanned!(state.span()=> <#state as ::core::default::Default>::default()),
    };
    let dispatch = codegen::EntityDispatch {
        self_ty,
        state: quote!(&#state),
        id,
        runtime: quote!(#KalixCore::__private::ValueEntityRuntime),
        command: quote!(#KalixCore::__private::value_entity_command),
        context: quote!(#KalixCore::value_entity::ValueEntityContext),
    };
    let shared = codegen::shared_items(codegen::Generated {
        self_ty,
        name: &entity.name,
        kind: "ValueEntity",
        component_trait,
        stores: true,
        client_fields: quote!(entity_id: ::std::string::String,),
        client_methods: entity
            .handlers
            .iter()
            .map(|h| codegen::client_method(&target, h))
            .collect(),
        dispatch_fns: entity
            .handlers
            .iter()
            .map(|h| codegen::entity_dispatch_fn(&dispatch, h))
            .collect(),
        handlers: &entity.handlers,
        forward_headers: &entity.options.forward_headers,
        construct: codegen::construct(
            self_ty,
            entity.options.new.as_ref(),
            quote!(#KalixCore::__private::default_value_entity),
            quote!(#KalixCore::__private::construct_value_entity),
        ),
        internal_handlers: Vec::new(),
    });
    let migration = entity.options.migration.as_ref().map(|migration| {
        let span = syn::spanned::Spanned::span(migration);
        let core = crate::exports::KalixCoreAt(span);
        quote::quote_spanned! {span=>
            const STATE_VERSION: u32 = <#migration as #core::event_sourced_entity::JsonMigration>::CURRENT_VERSION;
            fn migrate_state(from_version: u32, state: #core::__private::JsonValue) -> #core::__private::JsonValue {
                <#migration as #core::event_sourced_entity::JsonMigration>::transform(from_version, state)
            }
        }
    });
    codegen::wrap(quote! {
        #[automatically_derived]
        impl #KalixCore::value_entity::ValueEntityComponent for #self_ty {
            #migration
            const COMPONENT_ID: &'static str = ::core::concat!(::core::module_path!(), "::", #name);
            const TYPE_ID: &'static str = #type_id;
            const ID_PARAM: &'static str = #id;
            type State = #state;
            type Client = #client;
            fn client(client: #KalixCore::ComponentClient, entity_id: ::std::string::String) -> #client {
                #client { client, entity_id }
            }
            #[allow(unused_variables)]
            fn empty_state(entity_id: &str) -> #state {
                #empty_state
            }
        }

        #[automatically_derived]
        impl #KalixCore::__private::StateOf<#state> for #self_ty {}

        #shared
    })
}
