//! Entities: recently changed ids of a type, an entity's state, an event-sourced entity's events.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::*;
use crate::call::Call;
use crate::registry::ComponentKind;
use crate::store::EntityRows;

/// How far back from an entity's last event a page of its events may start.
const MAX_EVENTS_BACK: u64 = 100_000;

/// Where an entity kind keeps what it is.
fn rows_of(kind: ComponentKind) -> EntityRows {
    match kind {
        ComponentKind::EventSourcedEntity => EntityRows::Journal,
        ComponentKind::ReplicatedEntity => EntityRows::Replicas,
        _ => EntityRows::State,
    }
}

pub(super) async fn recent_entities(
    State(api): Api,
    type_id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Response {
    let answer = async {
        let type_id = path(type_id)?;
        let limit = limit(&params(query)?)?;
        let component = api.keyed(&type_id)?;
        let ids = read(
            api.store
                .recent_entities(&type_id, rows_of(component.kind), limit),
        )
        .await?;
        Ok::<_, Refused>(json!({
            "type_id": type_id,
            "component": component.id,
            "kind": component.kind.as_str(),
            "ids": ids,
        }))
    };
    respond(answer.await)
}

pub(super) async fn entity(
    State(api): Api,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let answer = async {
        let (type_id, id) = path(ids)?;
        let component = api.keyed(&type_id)?;
        let mut body = json!({
            "type_id": type_id,
            "id": id,
            "component": component.id,
            "kind": component.kind.as_str(),
        });
        match component.kind {
            ComponentKind::EventSourcedEntity => {
                let last_seq = read(api.store.last_seq(&type_id, &id)).await?;
                if last_seq == 0 {
                    return Err(not_found(format!("{type_id} '{id}' has no events")));
                }
                // The state is the fold of the events by the entity's own event handlers:
                // read through its host, as a command would see it.
                let call = Call::new(component.id, crate::host::event_sourced::STATE)
                    .with_path_param("id", id.clone());
                let folded = api.call_internal(call).await?;
                body["state"] = folded["state"].clone();
                body["deleted"] = folded["deleted"].clone();
                body["seq"] = last_seq.into();
                body["events"] = format!(
                    "/admin/entities/{}/{}/events",
                    encode(&type_id),
                    encode(&id)
                )
                .into();
            }
            // Each replica's row as it wrote it (the data in its stored form, with the
            // replicas' clocks): the store does not know the data type that merges them.
            ComponentKind::ReplicatedEntity => {
                let rows = read(api.store.load_replicas(&type_id, &id)).await?;
                if rows.is_empty() {
                    return Err(not_found(format!("{type_id} '{id}' was never written")));
                }
                let replicas: Vec<Value> = rows
                    .iter()
                    .map(|row| {
                        let stored = stored_json(&row.payload);
                        json!({
                            "replica": row.replica,
                            "version": row.version,
                            "data": stored.get("data").cloned().unwrap_or(Value::Null),
                            "deleted": stored.get("deleted").cloned().unwrap_or(false.into()),
                        })
                    })
                    .collect();
                body["replicas"] = replicas.into();
            }
            _ => {
                let stored = read(api.store.load(&type_id, &id)).await?;
                let Some(stored) = stored else {
                    return Err(not_found(format!("{type_id} '{id}' was never written")));
                };
                body["version"] = stored.version.into();
                body["deleted"] = stored.payload.is_none().into();
                body["state"] = stored.payload.as_deref().map_or(Value::Null, stored_json);
            }
        }
        Ok(body)
    };
    respond(answer.await)
}

pub(super) async fn events(
    State(api): Api,
    ids: Result<Path<(String, String)>, PathRejection>,
    query: Params,
) -> Response {
    let answer = async {
        let (type_id, id) = path(ids)?;
        let params = params(query)?;
        let limit = limit(&params)?;
        let asked_from = number(&params, "from")?;
        if asked_from.is_some_and(|from| from > i64::MAX as u64) {
            return Err(bad_request("`from` is a sequence number, at most 2^63 - 1"));
        }
        let component = api.keyed(&type_id)?;
        if component.kind != ComponentKind::EventSourcedEntity {
            return Err(bad_request(format!(
                "{} is a {}, which keeps no events; GET /admin/entities/{type_id}/<id> has its state",
                component.id,
                component.kind.as_str()
            )));
        }
        let last = read(api.store.last_seq(&type_id, &id)).await?;
        // Without `from`, the newest page. A journal may be read from its end (SQLite walks
        // it back from its newest event), so a page starts at most so far back.
        let from = asked_from
            .unwrap_or_else(|| last.saturating_sub(limit as u64 - 1))
            .max(1);
        if last.saturating_sub(from) > MAX_EVENTS_BACK {
            return Err(bad_request(format!(
                "`from` is {} events before the last ({last}); a page starts at most \
                 {MAX_EVENTS_BACK} events back: ask from {} on",
                last - from,
                last - MAX_EVENTS_BACK
            )));
        }
        let page = read(api.store.events_page(&type_id, &id, from, limit)).await?;
        let next = page
            .last()
            .filter(|event| event.seq < last)
            .map(|e| e.seq + 1);
        let events: Vec<Value> = page
            .iter()
            .map(|event| {
                json!({
                    "seq": event.seq,
                    "type": event.type_name,
                    "event": stored_json(&event.payload),
                })
            })
            .collect();
        Ok(json!({
            "type_id": type_id,
            "id": id,
            "from": from,
            "events": events,
            "next_from": next,
        }))
    };
    respond(answer.await)
}
