//! `GET /admin/components`: each component with its kind, routes, subscriptions and topics.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::*;
use crate::registry::PublishTarget;

pub(super) async fn components(State(api): Api) -> Response {
    let components: Vec<Value> = api.components.iter().map(|c| describe(c)).collect();
    axum::Json(json!({ "components": components })).into_response()
}

/// A component as `/admin/components` lists it.
fn describe(component: &ComponentDescriptor) -> Value {
    let mut routes = Vec::new();
    let mut subscriptions = Vec::new();
    let mut topics = Vec::new();
    let mut streams = Vec::new();
    for handler in component.handlers {
        // The runtime's own handlers (a workflow's resume, timeout, admin) are not listed.
        if handler.name.starts_with("__kalix_") {
            continue;
        }
        if let Some(route) = handler.route() {
            routes.push(json!({
                "method": route.method.as_str(),
                "path": route.template,
                "handler": handler.name,
            }));
        }
        if let Some(subscription) = handler.subscription() {
            subscriptions.push(json!({
                "handler": handler.name,
                "entity": subscription.component,
                "type_id": subscription.type_id,
                "deletes": subscription.handles_deletes,
            }));
        }
        if let Some(subscription) = handler.topic_subscription() {
            let mut described = json!({ "handler": handler.name, "type": subscription.type_name });
            match subscription.service {
                Some(service) => {
                    described["stream"] = subscription.topic.into();
                    described["service"] = service.into();
                }
                None => described["topic"] = subscription.topic.into(),
            }
            subscriptions.push(described);
        }
        match handler.publish {
            Some(PublishTarget::Topic(topic)) => {
                topics.push(json!({ "handler": handler.name, "topic": topic }))
            }
            Some(PublishTarget::Stream(stream)) => {
                streams.push(json!({ "handler": handler.name, "stream": stream }))
            }
            None => {}
        }
    }
    json!({
        "id": component.id,
        "kind": component.kind.as_str(),
        "type_id": component.type_id,
        "description": (!component.doc.is_empty()).then_some(component.doc),
        "routes": routes,
        "subscriptions": subscriptions,
        "publishes_to_topics": topics,
        "publishes_to_streams": streams,
    })
}
