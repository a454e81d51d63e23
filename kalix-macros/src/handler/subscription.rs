//! The rules of a `#[subscribe]` handler: triggered by its subscription alone, one payload.

use super::{ComponentKind, Handler, ParamKind, Reply};
use crate::diagnostics::Diagnostics;
use crate::options::{SubscribeOptions, SubscriptionSource};

impl Handler {
    /// A subscription handler is triggered by nothing else and takes the state or event as its
    /// one parameter besides the context; a delete handler takes none.
    pub(super) fn validate_subscription(
        &self,
        subscription: &SubscribeOptions,
        kind: ComponentKind,
        diagnostics: &mut Diagnostics,
    ) {
        let attribute = &subscription.attribute;
        if self.route.is_some() || self.on_startup.is_some() {
            diagnostics.error(
                attribute,
                "a `#[subscribe]` handler is run by its subscription alone: remove its route or `#[on_startup]`",
            );
            return;
        }
        if matches!(self.reply, Reply::Stream(_)) {
            diagnostics.error(
                &self.ident,
                "a `#[subscribe]` handler returns `action::Effect<T>`, not a stream",
            );
        }
        let context = kind.context_type();
        let mut payloads = self
            .params
            .iter()
            .filter(|p| !matches!(p.kind, ParamKind::Context));
        if subscription.handle_deletes {
            for param in payloads {
                diagnostics.error(
                    &param.ident,
                    format!(
                        "a `handle_deletes` handler takes no state (the entity is gone), only `&{context}`; `ctx.event_subject()` is its id"
                    ),
                );
            }
            return;
        }
        let what = match subscription.source {
            SubscriptionSource::ValueEntity => "the entity's new state",
            SubscriptionSource::EventSourcedEntity => "the entity's event",
            SubscriptionSource::Topic => "the message",
        };
        match payloads.next() {
            None => diagnostics.error(
                &self.ident,
                format!("a `#[subscribe]` handler takes {what} as a parameter: add `value: T` besides `&{context}`"),
            ),
            Some(first) => {
                if !matches!(first.kind, ParamKind::Body) {
                    diagnostics.error(
                        &first.ident,
                        format!("a `#[subscribe]` handler's parameter is {what}, not a query or header"),
                    );
                }
                for extra in payloads {
                    diagnostics.error(
                        &extra.ident,
                        format!(
                            "a `#[subscribe]` handler takes one parameter, {what}, and `{}` is already it",
                            first.ident
                        ),
                    );
                }
            }
        }
    }
}
