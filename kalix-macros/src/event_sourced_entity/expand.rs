//! Code generated for an event-sourced entity: the `EventSourcedComponent` impl (with the event
//! handler as `apply`), a typed client bound to an entity id, one dispatch function per command
//! handler, and the registration.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::EventSourced;
use crate::codegen::{self, ClientTarget};
use crate::exports::KalixCore;

/// What an entity with errors still generates, so that code using it reports nothing more: all
/// of it (with the handlers that had no errors) when its event handler was read, otherwise its
/// event type's link to its state.
pub(crate) fn recover(entity: &EventSourced) -> TokenStream {
    match entity.event_handler {
        Some(_) => generate(entity),
        None => link(entity),
    }
}

/// The event type's link to its state.
fn link(entity: &EventSourced) -> TokenStream {
    let (state, event) = (&entity.state, &entity.event);
    quote! {
        impl #KalixCore::event_sourced_entity::EntityEvent for #event {
            type State = #state;
        }
    }
}

pub(crate) fn generate(entity: &EventSourced) -> TokenStream {
    let self_ty = &entity.self_ty;
    let (state, event) = (&entity.state, &entity.event);
    let name = entity.name.to_string();
    let (type_id, id) = (&entity.type_id, &entity.id);
    let snapshot_every = entity.snapshot_every;
    let event_handler = entity
        .event_handler
        .as_ref()
        .expect("generate runs only with the event handler read");
    let client = codegen::client_ident(&entity.name);
    let link = link(entity);
    let component_trait = quote!(#KalixCore::event_sourced_entity::EventSourcedComponent);
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
        runtime: quote!(#KalixCore::__private::EventSourcedRuntime),
        command: quote!(#KalixCore::__private::event_sourced_command),
        context: quote!(#KalixCore::event_sourced_entity::EventSourcedEntityContext),
    };
    let shared = codegen::shared_items(codegen::Generated {
        self_ty,
        name: &entity.name,
        kind: "EventSourcedEntity",
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
            quote!(#KalixCore::__private::default_event_sourced),
            quote!(#KalixCore::__private::construct_event_sourced),
        ),
        internal_handlers: Vec::new(),
    });
    let migration = entity.options.migration.as_ref().map(|migration| {
        let span = syn::spanned::Spanned::span(migration);
        let core = crate::exports::KalixCoreAt(span);
        quote::quote_spanned! {span=>
            const EVENT_VERSION: u32 = <#migration as #core::event_sourced_entity::JsonMigration>::CURRENT_VERSION;
            fn migrate_event(from_version: u32, event: #core::__private::JsonValue) -> #core::__private::JsonValue {
                <#migration as #core::event_sourced_entity::JsonMigration>::transform(from_version, event)
            }
        }
    });
    codegen::wrap(quote! {
        #[automatically_derived]
        impl #KalixCore::event_sourced_entity::EventSourcedComponent for #self_ty {
            #migration
            const COMPONENT_ID: &'static str = ::core::concat!(::core::module_path!(), "::", #name);
            const TYPE_ID: &'static str = #type_id;
            const ID_PARAM: &'static str = #id;
            const SNAPSHOT_EVERY: u64 = #snapshot_every;
            type State = #state;
            type Event = #event;
            type Client = #client;
            fn client(client: #KalixCore::ComponentClient, entity_id: ::std::string::String) -> #client {
                #client { client, entity_id }
            }
            #[allow(unused_variables)]
            fn empty_state(entity_id: &str) -> #state {
                #empty_state
            }
            fn apply(&self, state: #state, event: &#event) -> #state {
                self.#event_handler(state, event)
            }
        }

        #[automatically_derived]
        impl #KalixCore::__private::EventsOf<#event> for #self_ty {}

        #link

        #shared
    })
}
