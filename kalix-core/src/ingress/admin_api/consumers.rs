//! Consumers, views and dead letters: positions, leases and what this process saw; rebuilding a view; redelivering a dead letter.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::*;

/// What a consumer is, from its name: the runtime names them by what they read.
fn consumer_kind(name: &str) -> &'static str {
    if name.starts_with("view:") {
        "view"
    } else if name.starts_with("topic:") {
        "topic"
    } else if name.starts_with("stream:") {
        "stream"
    } else if name.starts_with("process:") {
        "process"
    } else if name.contains('@') {
        "subscription"
    } else {
        "other"
    }
}

/// A consumer as `/admin/consumers` and `/admin/views` show it: from the store (its saved
/// position, its lease) and from this process (whether it runs it here, its lag at its last
/// read, its last failure).
fn consumer_json(name: &str, stored: Option<&crate::store::ConsumerRecord>) -> Value {
    let seen = crate::eventing::board::seen(name);
    json!({
        "name": name,
        "kind": consumer_kind(name),
        "position": stored.and_then(|c| c.offset).map(|offset| json!({
            "transaction": offset.transaction,
            "position": offset.position,
        })),
        "lease": stored.and_then(|c| c.lease).map(|lease| json!({
            "owner": format!("{:016x}", lease.owner),
            "expires_in_ms": lease.expires_in_ms,
        })),
        "this_process": seen.map(|seen| json!({
            "runs_it": seen.held_here,
            "lag_events": seen.lag_events,
            "lag_seconds": seen.lag_seconds,
            "last_error": seen.last_error.map(|(at_ms, error)| json!({
                "at_ms": at_ms,
                "error": error,
            })),
        })),
    })
}

pub(super) async fn consumers(State(api): Api, query: Params) -> Response {
    let answer = async {
        let limit = limit(&params(query)?)?;
        let stored = read(api.store.consumers(limit)).await?;
        let mut consumers: Vec<Value> = stored
            .iter()
            .map(|consumer| consumer_json(&consumer.name, Some(consumer)))
            .collect();
        // Those this process runs that saved nothing yet (stuck on their first message, say).
        let unsaved = crate::eventing::board::names()
            .into_iter()
            .filter(|name| !stored.iter().any(|c| &c.name == name));
        for name in unsaved {
            if consumers.len() == limit {
                break;
            }
            consumers.push(consumer_json(&name, None));
        }
        Ok(json!({ "consumers": consumers }))
    };
    respond(answer.await)
}

pub(super) async fn views(State(api): Api) -> Response {
    let answer = async {
        let stored = read(api.store.consumers(MAX_LIMIT)).await?;
        let views: Vec<Value> = crate::registry::registered_views()
            .iter()
            .map(|view| {
                let name = format!("view:{}", view.table);
                let consumer = stored.iter().find(|c| c.name == name);
                let source = match view.source.topic {
                    Some(topic) => json!({
                        "topic": topic.topic,
                        "service": topic.service,
                    }),
                    None => json!({
                        "entity": view.source.component,
                        "type_id": view.source.type_id,
                        "kind": match view.source.kind {
                            crate::registry::SubscriptionSource::ValueEntity => "value_entity",
                            crate::registry::SubscriptionSource::EventSourcedEntity => "event_sourced_entity",
                        },
                    }),
                };
                json!({
                    "table": view.table,
                    "component": view.component,
                    "source": source,
                    "updater": consumer_json(&name, consumer),
                })
            })
            .collect();
        Ok(json!({ "views": views }))
    };
    respond(answer.await)
}

impl AdminApi {
    /// Up to `limit` messages of `topic`'s dead-letter topic, oldest first, read by a consumer
    /// group of the admin API's own that never saves a position.
    async fn dead_lettered(
        &self,
        topic: &str,
        limit: usize,
    ) -> Result<Vec<crate::store::StoredMessage>, Refused> {
        let dead_letters = format!("{topic}{}", crate::eventing::DEAD_LETTER_SUFFIX);
        let mut reader = self
            .dispatcher
            .broker()
            .reader(&dead_letters, "kalix-admin");
        read(reader.read(limit)).await
    }
}

pub(super) async fn dead_letters(
    State(api): Api,
    topic: Result<Path<String>, PathRejection>,
    query: Params,
) -> Response {
    let answer = async {
        let topic = path(topic)?;
        let limit = limit(&params(query)?)?;
        let messages = api.dead_lettered(&topic, limit).await?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|stored| {
                let message = &stored.message;
                let attributes: serde_json::Map<String, Value> = message
                    .attributes
                    .iter()
                    .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                    .collect();
                json!({
                    "id": message.id,
                    "attributes": attributes,
                    "body": stored_json(&message.payload),
                })
            })
            .collect();
        Ok(json!({ "topic": topic, "dead_letters": messages }))
    };
    respond(answer.await)
}

/// The attribute a dead letter carries saying why it was moved.
const DEAD_LETTER_REASON: &str = "kalix-dead-letter-reason";

pub(super) async fn redeliver(
    State(api): Api,
    headers: http::HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let answer = async {
        from_operator(&headers)?;
        let (topic, id) = path(ids)?;
        // Another service's stream is read from that service: a message published here would
        // reach nobody.
        let from_stream = api.components.iter().any(|component| {
            component.handlers.iter().any(|handler| {
                handler.topic_subscription().is_some_and(|subscription| {
                    subscription
                        .service
                        .is_some_and(|service| format!("{service}.{}", subscription.topic) == topic)
                })
            })
        });
        if from_stream {
            return Err(bad_request(format!(
                "'{topic}' is another service's stream: its dead letters can be read here, not \
                 redelivered (the stream is that service's to publish)"
            )));
        }
        let messages = api.dead_lettered(&topic, MAX_LIMIT).await?;
        let Some(stored) = messages.into_iter().find(|stored| stored.message.id == id) else {
            return Err(not_found(format!(
                "no dead letter '{id}' among the first {MAX_LIMIT} of topic '{topic}'"
            )));
        };
        // A new id, the topic keeping the first delivery's and dropping it again; derived from
        // the dead letter's, so redelivering it twice (a retried request) publishes it once.
        // A redelivered message dead-lettered again has an id of its own to redeliver.
        let mut message = stored.message;
        let redelivered = format!("{id}~redelivered");
        message.id = redelivered.clone();
        message
            .attributes
            .retain(|(name, _)| name != DEAD_LETTER_REASON);
        for (name, value) in &mut message.attributes {
            if name == crate::metadata::Metadata::CE_ID {
                value.clone_from(&redelivered);
            }
        }
        read(api.dispatcher.broker().publish(&topic, message)).await?;
        tracing::warn!(
            topic,
            dead_letter = id,
            redelivered_as = redelivered,
            "an operator redelivered a dead letter through the admin API"
        );
        Ok(json!({ "topic": topic, "dead_letter": id, "redelivered_as": redelivered }))
    };
    respond(answer.await)
}

pub(super) async fn rebuild_view(
    State(api): Api,
    headers: http::HeaderMap,
    table: Result<Path<String>, PathRejection>,
) -> Response {
    let answer = async {
        from_operator(&headers)?;
        let table = path(table)?;
        let views = crate::registry::registered_views();
        let Some(view) = views.iter().find(|view| view.table == table) else {
            let tables: Vec<&str> = views.iter().map(|view| view.table).collect();
            return Err(not_found(format!(
                "no view keeps the table '{table}'; the service's: {}",
                tables.join(", ")
            )));
        };
        if view.source.topic.is_some() {
            return Err(bad_request(format!(
                "the view table '{table}' is fed by a topic or stream, which may no longer hold \
                 its first messages: it cannot be built again from its source"
            )));
        }
        let name = format!("view:{}", view.table);
        let runs_here = crate::eventing::board::seen(&name).is_some_and(|seen| seen.held_here);
        if !runs_here {
            return Err(problem(
                StatusCode::CONFLICT,
                format!(
                    "the updater of view table '{table}' does not run in this process now \
                     (another process holds its lease, or it has not started): ask the admin \
                     listener of the process that runs it"
                ),
            ));
        }
        let heard = api.view_rebuilds.request(view.table);
        api.view_news.notify_waiters();
        match tokio::time::timeout(STORE_TIMEOUT, heard).await {
            Ok(Ok(Ok(()))) => Ok(json!({ "table": table, "rebuilding": true })),
            Ok(Ok(Err(error))) => Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the view could not be emptied: {error}"),
            )),
            Ok(Err(_)) => Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the view's updater stopped before it got to the rebuild",
            )),
            Err(_) => Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the view's updater did not get to the rebuild within {} s (it is in the \
                     middle of a batch, retrying an update that fails?); it will when it does",
                    STORE_TIMEOUT.as_secs()
                ),
            )),
        }
    };
    respond(answer.await)
}
