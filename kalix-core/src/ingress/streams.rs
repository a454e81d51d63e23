//! `GET /_kalix/streams/<id>?after=<offset>&limit=<n>&wait_ms=<ms>`: a page of a stream this
//! service publishes (`#[publish(stream = "id")]`), for the services that subscribe to it.
//!
//! The answer is `{"messages": [{"offset", "id", "attributes", "body"}]}`; a request waits up to
//! `wait_ms` (at most 1 s) for the first message. A stream no handler publishes is a 404, a bad
//! parameter a 400. Paths under `/_kalix/` are the runtime's: no route may use them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;

use super::problem::problem_response;
use crate::eventing::{MAX_PAGE, PAGE_WAIT, STREAMS_PATH, page, parse_offset};
use crate::store::{FeedOffset, Store};

/// What serving streams needs: the store holding them, and which ids are published.
#[derive(Clone)]
struct Streams {
    store: Arc<dyn Store>,
    ids: Arc<Vec<&'static str>>,
}

/// The route serving the streams `ids` from `store`.
pub(crate) fn route(store: Arc<dyn Store>, ids: Vec<&'static str>) -> Router {
    Router::new()
        .route(&format!("{STREAMS_PATH}/{{id}}"), get(serve_page))
        .with_state(Streams {
            store,
            ids: Arc::new(ids),
        })
}

async fn serve_page(
    State(streams): State<Streams>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !streams.ids.contains(&id.as_str()) {
        return problem_response(
            StatusCode::NOT_FOUND,
            &format!("this service publishes no stream '{id}'"),
        );
    }
    let after = match query.get("after") {
        None => FeedOffset::default(),
        Some(text) => match parse_offset(text) {
            Some(offset) => offset,
            None => {
                return problem_response(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "after: expected an offset of this stream (<transaction>.<position>), got '{text}'"
                    ),
                );
            }
        },
    };
    let number = |name: &str, default: u64, max: u64| match query.get(name) {
        None => Ok(default),
        Some(text) => text
            .parse::<u64>()
            .map(|n| n.min(max))
            .map_err(|_| format!("{name}: expected a number, got '{text}'")),
    };
    let (limit, wait) = match (
        number("limit", 256, MAX_PAGE as u64),
        number("wait_ms", 0, PAGE_WAIT.as_millis() as u64),
    ) {
        (Ok(limit), Ok(wait)) => (limit.max(1) as usize, Duration::from_millis(wait)),
        (Err(problem), _) | (_, Err(problem)) => {
            return problem_response(StatusCode::BAD_REQUEST, &problem);
        }
    };
    match page(&streams.store, &id, after, limit, wait).await {
        Ok(page) => Json(page).into_response(),
        Err(error) => {
            tracing::warn!(stream = %id, %error, "serving a stream page failed");
            problem_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the stream could not be read; retry",
            )
        }
    }
}
