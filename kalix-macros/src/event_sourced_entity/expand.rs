//! Code generated for an event-sourced entity: the keyed kinds' code (`keyed.rs`) with its
//! `EventSourcedComponent` members (the event type, the event handler as `apply`, snapshots, the
//! empty state, an event migration) and its event's link to its state.

use proc_macro2::TokenStream;
use quote::quote;

use super::model::EventSourced;
use crate::codegen;
use crate::exports::KalixCore;
use crate::keyed::{self, KindCode};

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
    let (state, event) = (&entity.keyed.state, &entity.event);
    quote! {
        impl #KalixCore::event_sourced_entity::EntityEvent for #event {
            type State = #state;
        }
    }
}

pub(crate) fn generate(entity: &EventSourced) -> TokenStream {
    let keyed = &entity.keyed;
    let (self_ty, state, event) = (&keyed.self_ty, &keyed.state, &entity.event);
    let snapshot_every = entity.snapshot_every;
    let event_handler = entity
        .event_handler
        .as_ref()
        .expect("generate runs only with the event handler read");
    let empty_state = keyed::empty_state(keyed);
    let migration = keyed::migration(keyed, "EVENT_VERSION", "migrate_event");
    let members = quote! {
        const SNAPSHOT_EVERY: u64 = #snapshot_every;
        type Event = #event;
        fn apply(&self, state: #state, event: &#event) -> #state {
            self.#event_handler(state, event)
        }
        #empty_state
        #migration
    };
    let code = KindCode {
        kind: "EventSourcedEntity",
        component_trait: quote!(#KalixCore::event_sourced_entity::EventSourcedComponent),
        state_param: quote!(&#state),
        runtime: quote!(#KalixCore::__private::EventSourcedRuntime),
        command: quote!(#KalixCore::__private::event_sourced_command),
        context: quote!(#KalixCore::event_sourced_entity::EventSourcedEntityContext),
        default_constructor: quote!(#KalixCore::__private::default_event_sourced),
        constructor: quote!(#KalixCore::__private::construct_event_sourced),
    };
    // The admin API reads the state through the entity's own host.
    let state_reader = quote! {
        #KalixCore::__private::HandlerDescriptor {
            name: #KalixCore::__private::ENTITY_STATE,
            triggers: &[],
            dispatch: #KalixCore::__private::event_sourced_state::<#self_ty>,
            publish: ::core::option::Option::None,
            access: #KalixCore::__private::AccessRules::NONE,
        }
    };
    let component = keyed::generate(keyed, code, members, vec![state_reader]);
    let link = link(entity);
    codegen::wrap(quote! {
        #component

        #[automatically_derived]
        impl #KalixCore::__private::EventsOf<#event> for #self_ty {}

        #link
    })
}
