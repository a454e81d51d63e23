//! Code generated for an event-sourced entity: the `EventSourcedComponent` impl (with the event
//! handler as `apply`), a typed client bound to an entity id, one dispatch function per command
//! handler, and the registration.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::EventSourced;
use crate::codegen::{self, ClientTarget, call_args, dispatch_ident, extractions};
use crate::handler::Handler;

/// What an entity with errors still needs so that code using it reports nothing more: its event
/// type's link to its state.
pub(crate) fn recover(entity: &EventSourced) -> TokenStream {
    let (state, event) = (&entity.state, &entity.event);
    quote! {
        impl ::kalix_core::event_sourced_entity::EntityEvent for #event {
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
        .expect("generate runs only without errors");
    let client = codegen::client_ident(&entity.name);
    let link = recover(entity);
    let component_trait = quote!(::kalix_core::event_sourced_entity::EventSourcedComponent);
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
    let shared = codegen::shared_items(codegen::Generated {
        self_ty,
        name: &entity.name,
        kind: "EventSourcedEntity",
        component_trait,
        client_fields: quote!(entity_id: ::std::string::String,),
        client_methods: entity
            .handlers
            .iter()
            .map(|h| codegen::client_method(&target, h))
            .collect(),
        dispatch_fns: entity
            .handlers
            .iter()
            .map(|h| dispatch_fn(entity, h))
            .collect(),
        handlers: &entity.handlers,
        forward_headers: &entity.options.forward_headers,
        construct: codegen::construct(
            self_ty,
            entity.options.new.as_ref(),
            quote!(::kalix_core::__private::default_event_sourced),
            quote!(::kalix_core::__private::construct_event_sourced),
        ),
    });
    quote! {
        const _: () = {
            impl ::kalix_core::event_sourced_entity::EventSourcedComponent for #self_ty {
                const COMPONENT_ID: &'static str = ::core::concat!(::core::module_path!(), "::", #name);
                const TYPE_ID: &'static str = #type_id;
                const ID_PARAM: &'static str = #id;
                const SNAPSHOT_EVERY: u64 = #snapshot_every;
                type State = #state;
                type Event = #event;
                type Client = #client;
                fn client(client: ::kalix_core::ComponentClient, entity_id: ::std::string::String) -> #client {
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

                                    #link

            #shared
        };
    }
}

/// The function the runtime calls: extracts the entity id and each argument (a 400 on bad
/// input), then runs the command on the entity's slot.
fn dispatch_fn(entity: &EventSourced, handler: &Handler) -> TokenStream {
    let self_ty = &entity.self_ty;
    let state = &entity.state;
    let id = &entity.id;
    let ident = &handler.ident;
    let dispatch = dispatch_ident(handler);
    let extractions = extractions(handler);
    let args = call_args(handler, &quote!(__kalix_context), &quote!(__kalix_state));
    let reply = handler.reply.ty();
    let command = quote_spanned!(reply.span()=> ::kalix_core::__private::event_sourced_command::<#self_ty, #reply>);
    quote! {
        fn #dispatch(
            __kalix_instance: ::kalix_core::__private::Arc<dyn ::kalix_core::__private::Any + ::core::marker::Send + ::core::marker::Sync>,
            mut __kalix_invocation: ::kalix_core::__private::Invocation,
            __kalix_client: ::kalix_core::ComponentClient,
        ) -> ::kalix_core::__private::BoxFuture<'static, ::kalix_core::__private::HandlerOutcome> {
            ::std::boxed::Box::pin(async move {
                let __kalix_runtime = ::kalix_core::__private::downcast::<::kalix_core::__private::EventSourcedRuntime<#self_ty>>(__kalix_instance);
                let __kalix_entity_id = match __kalix_invocation.path_param::<::std::string::String>(#id, "String") {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(error) => return ::kalix_core::__private::HandlerOutcome::error(error),
                };
                #extractions
                let __kalix_metadata = __kalix_invocation.take_metadata();
                #command(
                    &__kalix_runtime,
                    __kalix_entity_id,
                    __kalix_metadata,
                    __kalix_client,
                    move |__kalix_entity: &#self_ty, __kalix_state: &#state, __kalix_context: &::kalix_core::event_sourced_entity::EventSourcedEntityContext| {
                        __kalix_entity.#ident(#(#args),*)
                    },
                ).await
            })
        }
    }
}
