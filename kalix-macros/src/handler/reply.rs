//! What a handler returns: its effect type, read for the reply type and, for a stateful kind,
//! the state (and event) type.

use syn::spanned::Spanned;
use syn::{Ident, ReturnType, Type};

use super::kind::UNARY_REPLY;
use super::types::{generic_arg, generic_args};
use super::{ComponentKind, EffectShape, KnownTypes, Reply};
use crate::diagnostics::Diagnostics;
use crate::exports::KalixCoreAt;

/// The state and event types an effect names, for the kinds that have them.
#[derive(Default)]
pub(super) struct EffectTypes {
    pub state: Option<Type>,
    pub event: Option<Type>,
}

/// The handler's reply type, and for a stateful kind its state (and event) type.
pub(super) fn reply_type(
    output: &ReturnType,
    ident: &Ident,
    kind: ComponentKind,
    known: &KnownTypes,
    diagnostics: &mut Diagnostics,
) -> Option<(EffectTypes, Reply)> {
    let unsupported = |diagnostics: &mut Diagnostics, tokens: &dyn quote::ToTokens| {
        diagnostics.error(
            tokens,
            format!(
                "unsupported return type: a `#[{}]` handler returns {}",
                kind.attribute(),
                kind.reply_help()
            ),
        );
    };
    let ReturnType::Type(_, ty) = output else {
        unsupported(diagnostics, ident);
        return None;
    };
    // A query method returns what the query gives: no effect around it.
    if kind == ComponentKind::View {
        return Some(match generic_arg(ty, "QueryStream") {
            Some(row) => (EffectTypes::default(), Reply::Stream(row.clone())),
            None => (EffectTypes::default(), Reply::Unary((**ty).clone())),
        });
    }
    // Another kind's effect (`value_entity::Effect` in a replicated entity): said here, at the
    // type, rather than as a mismatch at the attribute.
    if let Type::Path(path) = ty.as_ref()
        && let [.., module, last] = path.path.segments.iter().collect::<Vec<_>>()[..]
        && last.ident == UNARY_REPLY
    {
        let module = module.ident.to_string();
        // Each kind's effect is in the module named as its attribute (`value_entity::Effect`);
        // a view's query methods return no effect.
        let another_kind = ComponentKind::ALL.iter().any(|other| {
            *other != kind && *other != ComponentKind::View && other.attribute() == module
        });
        if another_kind {
            diagnostics.error(
                ty,
                format!(
                    "`{module}::Effect` is another kind's effect: a `#[{}]` handler returns {}",
                    kind.attribute(),
                    kind.reply_help()
                ),
            );
            return None;
        }
    }
    match kind.effect_shape() {
        EffectShape::StateEventAndReply => {
            if let Some([state, event, reply]) = generic_args::<3>(ty, UNARY_REPLY) {
                let types = EffectTypes {
                    state: Some(state.clone()),
                    event: Some(event.clone()),
                };
                return Some((types, Reply::Unary(reply.clone())));
            }
        }
        EffectShape::WorkflowStateAndReply => {
            if let Some([_, state, reply]) = generic_args::<3>(ty, UNARY_REPLY) {
                let types = EffectTypes {
                    state: Some(state.clone()),
                    event: None,
                };
                return Some((types, Reply::Unary(reply.clone())));
            }
        }
        EffectShape::StateAndReply => {
            if let Some([state, reply]) = generic_args::<2>(ty, UNARY_REPLY) {
                let types = EffectTypes {
                    state: Some(state.clone()),
                    event: None,
                };
                return Some((types, Reply::Unary(reply.clone())));
            }
        }
        EffectShape::Reply => {
            if let Some(inner) = generic_arg(ty, UNARY_REPLY) {
                return Some((EffectTypes::default(), Reply::Unary(inner.clone())));
            }
        }
    }
    if let Some(inner) = kind.stream_reply().and_then(|name| generic_arg(ty, name)) {
        return Some((EffectTypes::default(), Reply::Stream(inner.clone())));
    }
    // A type named `..Effect` may be an alias of the effect, once the state is known from
    // elsewhere; the compiler checks that it is one, and the reply is read through it.
    let evented = kind.effect_shape() == EffectShape::StateEventAndReply;
    let names_an_effect = matches!(ty.as_ref(), Type::Path(path)
        if path.path.segments.last().is_some_and(|last| last.ident.to_string().ends_with(UNARY_REPLY)));
    if names_an_effect
        && kind.effect_shape() != EffectShape::Reply
        && known.state.is_some()
        && (!evented || known.event.is_some())
    {
        let core = KalixCoreAt(ty.span());
        let reply: Type =
            syn::parse_quote_spanned!(ty.span()=> <#ty as #core::__private::EffectReply>::Reply);
        let types = EffectTypes {
            state: known.state.clone(),
            event: known.event.clone(),
        };
        return Some((types, Reply::Unary(reply)));
    }
    unsupported(diagnostics, ty);
    None
}
