//! Workflows: a workflow's record, and suspending, resuming or terminating it.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::*;
use crate::call::Call;
use crate::registry::ComponentKind;

impl AdminApi {
    /// The workflow storing under `type_id`, or a 404.
    fn workflow(&self, type_id: &str) -> Result<&'static ComponentDescriptor, Refused> {
        let component = self.keyed(type_id)?;
        if component.kind != ComponentKind::Workflow {
            return Err(not_found(format!(
                "{} is a {}, not a workflow",
                component.id,
                component.kind.as_str()
            )));
        }
        Ok(component)
    }

    /// A workflow's stored record, as `GET /admin/workflows/<type_id>/<id>` shows it.
    async fn workflow_record(&self, type_id: &str, id: &str) -> Result<Value, Refused> {
        let component = self.workflow(type_id)?;
        let Some(stored) = read(self.store.load(type_id, id)).await? else {
            return Err(not_found(format!(
                "workflow {type_id} '{id}' was never started"
            )));
        };
        let record = stored.payload.as_deref().map_or(Value::Null, stored_json);
        let position = &record["position"];
        Ok(json!({
            "type_id": type_id,
            "id": id,
            "component": component.id,
            "version": stored.version,
            "state": record["state"],
            "position": position,
            "ended": position["status"] == "ended",
            "suspended": record["suspended"].as_bool().unwrap_or(false),
            "transitions": record["run"],
        }))
    }
}

pub(super) async fn workflow(
    State(api): Api,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let answer = async {
        let (type_id, id) = path(ids)?;
        api.workflow_record(&type_id, &id).await
    };
    respond(answer.await)
}

pub(super) async fn administer(
    State(api): Api,
    headers: http::HeaderMap,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let answer = async {
        from_operator(&headers)?;
        let (type_id, id, action) = path(ids)?;
        let component = api.workflow(&type_id)?;
        if crate::host::workflow::AdminAction::parse(&action).is_none() {
            return Err(not_found(format!(
                "no workflow action '{action}': suspend, resume or terminate"
            )));
        }
        let call = Call::new(component.id, crate::host::workflow::ADMIN)
            .with_path_param("id", id.clone())
            .with_path_param("action", action);
        let changed = api.call_internal(call).await?;
        let mut body = api.workflow_record(&type_id, &id).await?;
        body["changed"] = changed;
        Ok(body)
    };
    respond(answer.await)
}
