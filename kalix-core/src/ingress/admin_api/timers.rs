//! `GET /admin/timers`: pending timers by name, due time and failures.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::*;
use crate::store::TimerFilter;

pub(super) async fn timers(State(api): Api, query: Params) -> Response {
    let answer = async {
        let params = params(query)?;
        let limit = limit(&params)?;
        let failing = match params.get("failing").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(bad_request(format!(
                    "`failing` is true or false, got '{other}'"
                )));
            }
        };
        let filter = TimerFilter {
            name_prefix: params.get("name").cloned(),
            due_before_ms: number(&params, "due_before")?,
            failing,
        };
        let timers = read(api.store.find_timers(filter, limit)).await?;
        let timers: Vec<Value> = timers
            .iter()
            .map(|timer| {
                let call = stored_json(&timer.call);
                json!({
                    "name": timer.name,
                    "due_ms": timer.due_ms,
                    "target": { "component": call["component"], "method": call["method"] },
                    "attempts": timer.attempts,
                    "max_retries": timer.max_retries,
                    "runtime": timer.name.starts_with("kalix."),
                })
            })
            .collect();
        Ok(json!({ "timers": timers }))
    };
    respond(answer.await)
}
