//! The model of an action: its type, options and handlers, validated as a whole.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Ident, ImplItem, ItemImpl, Type};

use crate::diagnostics::Diagnostics;
use crate::handler::{ComponentKind, Handler, KnownTypes, ParamKind, check_unique_routes};
use crate::options::{ComponentOptions, FORWARD_HEADERS, NEW, SubscriptionSource};

pub(crate) struct Action {
    pub self_ty: Type,
    /// The `impl` block's doc comment, for the API description.
    pub doc: String,
    pub name: Ident,
    pub options: ComponentOptions,
    pub handlers: Vec<Handler>,
    /// The block's `#[acl]` and `#[jwt]`.
    pub access: crate::access::Access,
}

impl Action {
    pub fn from_impl(
        args: TokenStream,
        item: &mut ItemImpl,
        diagnostics: &mut Diagnostics,
    ) -> Option<Self> {
        let options = ComponentOptions::parse(args, "action", &[NEW, FORWARD_HEADERS], diagnostics);
        if let Some((_, trait_path, _)) = &item.trait_ {
            diagnostics.error(
                trait_path,
                "`#[action]` goes on an inherent `impl` block, not a trait impl",
            );
        }
        if !item.generics.params.is_empty() {
            diagnostics.error(&item.generics, "an action cannot be generic");
        }
        let name = crate::readers::type_name(&item.self_ty, "action", diagnostics);
        let mut handlers = Vec::new();
        for impl_item in &mut item.items {
            if let ImplItem::Fn(method) = impl_item
                && let Some(handler) = Handler::from_method(
                    method,
                    ComponentKind::Action,
                    None,
                    &KnownTypes::default(),
                    diagnostics,
                )
            {
                handlers.push(handler);
            }
        }
        let action = Action {
            access: crate::access::Access::take(&mut item.attrs, diagnostics),
            self_ty: (*item.self_ty).clone(),
            doc: crate::readers::doc_text(&item.attrs),
            name: name?,
            options,
            handlers: crate::readers::sound(handlers),
        };
        action.validate(diagnostics);
        Some(action)
    }

    fn validate(&self, diagnostics: &mut Diagnostics) {
        check_unique_routes(&self.handlers, "action", diagnostics);
        self.check_subscriptions(diagnostics);
        for handler in &self.handlers {
            for param in &handler.params {
                if let ParamKind::Header { name, .. } = &param.kind {
                    let forwarded = self
                        .options
                        .forward_headers
                        .iter()
                        .any(|h| h.value().eq_ignore_ascii_case(&name.value()));
                    if !forwarded {
                        diagnostics.error(
                            name,
                            format!("header `{0}` is not forwarded to this action; add it: `#[action(forward_headers = [\"{0}\"])]`", name.value()),
                        );
                    }
                }
            }
        }
    }
}

impl Action {
    /// An action either serves calls or consumes a source, as Kalix keeps them apart; and one
    /// source has one handler for its changes (or events) and one for its deletes.
    fn check_subscriptions(&self, diagnostics: &mut Diagnostics) {
        let routed = self.handlers.iter().find(|h| h.route.is_some());
        let mut seen: Vec<(String, bool, &Handler)> = Vec::new();
        let mut topics: Vec<&Handler> = Vec::new();
        for handler in &self.handlers {
            let Some(subscription) = &handler.subscription else {
                continue;
            };
            if let Some(routed) = routed {
                diagnostics.error(
                    &subscription.attribute,
                    format!(
                        "this action serves routes (`{}`), so it cannot also subscribe: move the `#[subscribe]` handlers to an action of their own",
                        routed.ident
                    ),
                );
                continue;
            }
            if let Some(topic) = &subscription.topic {
                self.check_topic_handler(handler, topic, &mut topics, diagnostics);
                continue;
            }
            let entity = subscription.entity.to_token_stream().to_string();
            let deletes = subscription.handle_deletes;
            // An event-sourced entity's events may go to several handlers, each taking the
            // events that parse as its parameter (`ignore_unknown` skips the others).
            let payload = |h: &Handler| {
                h.params
                    .iter()
                    .find(|p| matches!(p.kind, ParamKind::Body))
                    .map(|p| p.ty.to_token_stream().to_string())
            };
            let by_type = subscription.source == SubscriptionSource::EventSourcedEntity;
            let same = |(e, d, other): &&(String, bool, &Handler)| {
                *e == entity && *d == deletes && (!by_type || payload(other) == payload(handler))
            };
            if let Some((_, _, first)) = seen.iter().find(same) {
                let what = if deletes {
                    "deletes"
                } else if by_type {
                    "events of this type"
                } else {
                    "changes"
                };
                diagnostics.error(
                    &subscription.attribute,
                    format!(
                        "the {what} of `{entity}` are already handled by `{}` in this action; a source has one handler per type",
                        first.ident
                    ),
                );
                continue;
            }
            seen.push((entity, deletes, handler));
        }
    }
}

impl Action {
    /// The handlers of one topic share its consumer group, and take different message types.
    fn check_topic_handler<'a>(
        &self,
        handler: &'a Handler,
        topic: &syn::LitStr,
        topics: &mut Vec<&'a Handler>,
        diagnostics: &mut Diagnostics,
    ) {
        let subscription = handler.subscription.as_ref().expect("a subscription");
        let group = |h: &Handler| {
            h.subscription
                .as_ref()
                .and_then(|s| s.consumer_group.as_ref())
                .map(syn::LitStr::value)
        };
        let payload = |h: &Handler| {
            h.params
                .iter()
                .find(|p| matches!(p.kind, ParamKind::Body))
                .map(|p| p.ty.to_token_stream().to_string())
        };
        for other in topics.iter().filter(|other| {
            other
                .subscription
                .as_ref()
                .and_then(|s| s.topic.as_ref())
                .map(syn::LitStr::value)
                == Some(topic.value())
        }) {
            if group(other) != group(handler) {
                let span = subscription
                    .consumer_group
                    .as_ref()
                    .map(|g| g.to_token_stream())
                    .unwrap_or_else(|| subscription.attribute.clone());
                diagnostics.error(
                    span,
                    format!(
                        "`{}` subscribes to topic \"{}\" in consumer group {}; every handler of one topic shares its consumer group",
                        other.ident,
                        topic.value(),
                        group(other).map_or("(none: the action's)".to_owned(), |g| format!("\"{g}\"")),
                    ),
                );
                return;
            }
            if payload(other).is_some() && payload(other) == payload(handler) {
                diagnostics.error(
                    &subscription.attribute,
                    format!(
                        "`{}` already takes this message type from topic \"{}\"; a message type has one handler",
                        other.ident,
                        topic.value()
                    ),
                );
                return;
            }
        }
        topics.push(handler);
    }
}
