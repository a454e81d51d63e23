//! The model of an event-sourced entity: like a value entity's, plus the event type and the one
//! `#[event_handler]` method that folds an event into the state.

use proc_macro2::TokenStream;
use syn::{FnArg, Ident, ImplItem, ItemImpl, ReturnType, Type};

use crate::diagnostics::Diagnostics;
use crate::entity::{Header, agreed_type};
use crate::handler::{ComponentKind, KnownTypes, type_text};
use crate::keyed::Keyed;
use crate::options::{EMPTY_STATE, FORWARD_HEADERS, ID, MIGRATION, NEW, SNAPSHOT_EVERY, TYPE_ID};
use crate::readers::command_handlers;

const EVENT_HANDLER: &str = "event_handler";
const KIND: &str = "event sourced entity";

pub(crate) struct EventSourced {
    pub keyed: Keyed,
    pub event: Type,
    /// `None` when missing or malformed (already reported).
    pub event_handler: Option<Ident>,
    pub snapshot_every: u64,
}

/// The `#[event_handler]` method: `fn name(&self, state: State, event: &Event) -> State`.
struct EventHandler {
    ident: Ident,
    state: Type,
    event: Type,
}

impl EventSourced {
    pub fn from_impl(
        args: TokenStream,
        item: &mut ItemImpl,
        diagnostics: &mut Diagnostics,
    ) -> Option<Self> {
        let header = Header::read(
            args,
            item,
            "event_sourced_entity",
            &[
                TYPE_ID,
                ID,
                NEW,
                EMPTY_STATE,
                FORWARD_HEADERS,
                SNAPSHOT_EVERY,
                MIGRATION,
            ],
            ("\"cart\"", "\"cart_id\""),
            diagnostics,
        );
        let event_handler = event_handler(item, diagnostics);
        let before = diagnostics.count();
        // The event handler names the state and the event, so handlers may return an alias.
        let known = KnownTypes {
            state: event_handler.as_ref().map(|h| h.state.clone()),
            event: event_handler.as_ref().map(|h| h.event.clone()),
        };
        let handlers = command_handlers(
            item,
            ComponentKind::EventSourcedEntity,
            header.id.as_ref(),
            &known,
            diagnostics,
        );
        let failed = diagnostics.count() > before;
        let state = agreed_type(
            KIND,
            "state",
            handlers
                .iter()
                .filter_map(|h| h.state.as_ref())
                .chain(event_handler.as_ref().map(|h| &h.state)),
            &item.self_ty,
            failed,
            diagnostics,
        );
        let event = agreed_type(
            KIND,
            "event",
            handlers
                .iter()
                .filter_map(|h| h.event.as_ref())
                .chain(event_handler.as_ref().map(|h| &h.event)),
            &item.self_ty,
            true,
            diagnostics,
        );
        let snapshot_every = header
            .options
            .snapshot_every
            .as_ref()
            .and_then(|every| every.base10_parse().ok())
            .unwrap_or(100);
        let event = event?;
        let keyed = Keyed::assemble(item, KIND, header, state, handlers, diagnostics)?;
        Some(EventSourced {
            keyed,
            event,
            event_handler: event_handler.map(|handler| handler.ident),
            snapshot_every,
        })
    }
}

/// Finds the one `#[event_handler]` method, removes the attribute, and checks its signature.
fn event_handler(item: &mut ItemImpl, diagnostics: &mut Diagnostics) -> Option<EventHandler> {
    let mut found: Option<EventHandler> = None;
    let mut any = false;
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let before = method.attrs.len();
        method
            .attrs
            .retain(|attribute| !attribute.path().is_ident(EVENT_HANDLER));
        if method.attrs.len() == before {
            continue;
        }
        if any {
            diagnostics.error(&method.sig.ident, "an event sourced entity has one `#[event_handler]`; match on the event enum inside it");
            continue;
        }
        any = true;
        found = event_handler_signature(method, diagnostics);
    }
    if !any {
        diagnostics.error(
            &item.self_ty,
            "an event sourced entity needs one `#[event_handler] fn apply(&self, state: State, event: &Event) -> State`",
        );
    }
    found
}

fn event_handler_signature(
    method: &syn::ImplItemFn,
    diagnostics: &mut Diagnostics,
) -> Option<EventHandler> {
    let shape = "an `#[event_handler]` is `fn apply(&self, state: State, event: &Event) -> State`";
    let signature = &method.sig;
    let receiver_ok = signature
        .receiver()
        .is_some_and(|r| r.reference.is_some() && r.mutability.is_none());
    let typed: Vec<&syn::PatType> = signature
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => Some(typed),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let ([state, event], ReturnType::Type(_, returned)) = (typed.as_slice(), &signature.output)
    else {
        diagnostics.error(&signature.ident, shape);
        return None;
    };
    let Type::Reference(event_ref) = event.ty.as_ref() else {
        diagnostics.error(&event.ty, format!("{shape}: take the event by reference"));
        return None;
    };
    if !receiver_ok || signature.asyncness.is_some() {
        diagnostics.error(&signature.ident, shape);
        return None;
    }
    if type_text(&state.ty) != type_text(returned) {
        diagnostics.error(
            returned,
            format!(
                "{shape}: it returns the state type it takes, `{}`",
                type_text(&state.ty)
            ),
        );
        return None;
    }
    Some(EventHandler {
        ident: signature.ident.clone(),
        state: (*state.ty).clone(),
        event: (*event_ref.elem).clone(),
    })
}
