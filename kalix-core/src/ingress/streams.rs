//! `GET /_kalix/streams/<id>?after=<offset>&limit=<n>&wait_ms=<ms>`: a page of a stream this
//! service publishes (`#[publish(stream = "id")]`), for the services that subscribe to it.
//!
//! The answer is `{"messages": [{"offset", "id", "attributes", "body"}]}`; a request waits up to
//! `wait_ms` (0 to 1000, default 0) for the first message, and takes `limit` (1 to 1000, default
//! 256) at most. A stream no handler publishes is a 404, a parameter out of its range a 400 that
//! gives the range. At most 64 requests read one stream at once, and 256 all streams together:
//! past that a request is a 503 to retry, so readers cannot crowd out commands. Paths under
//! `/_kalix/` are the runtime's: no route may use them. Who may read a stream is its producer's
//! ACL (the handler's, its component's, or the service's default), as for a route.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::news::KeyedNews;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, Uri};

use super::guard::Guard;
use super::problem::problem_response;
use crate::broker::{MAX_PAGE, PAGE_WAIT, STREAMS_PATH, StreamPage, page, parse_offset};
use crate::store::{FeedOffset, Store};

/// Requests reading one stream at once, at most.
pub(crate) const MAX_READERS_PER_STREAM: usize = 64;
/// Requests reading any stream at once, at most.
pub(crate) const MAX_READERS: usize = 256;

/// What serving streams needs: the store holding them, which ids are published (each with its
/// readers' permits), the permits of all readers, and what says this process published.
#[derive(Clone)]
struct Streams {
    store: Arc<dyn Store>,
    ids: Arc<Vec<(&'static str, Arc<Semaphore>, Guard)>>,
    readers: Arc<Semaphore>,
    news: Arc<KeyedNews>,
    /// The store's identity, served with each page (read once).
    store_id: Arc<tokio::sync::OnceCell<String>>,
}

/// The route serving the streams `ids` from `store`; `news` is notified when this process
/// publishes.
pub(crate) fn route(
    store: Arc<dyn Store>,
    ids: Vec<(&'static str, Guard)>,
    news: Arc<KeyedNews>,
) -> Router {
    let ids = ids
        .into_iter()
        .map(|(id, guard)| (id, Arc::new(Semaphore::new(MAX_READERS_PER_STREAM)), guard))
        .collect();
    Router::new()
        .route(&format!("{STREAMS_PATH}/{{id}}"), get(serve_page))
        .with_state(Streams {
            store,
            ids: Arc::new(ids),
            readers: Arc::new(Semaphore::new(MAX_READERS)),
            news,
            store_id: Arc::default(),
        })
}

/// Permits to read a stream: one of the stream's and one of all readers', or why not.
fn admit(
    streams: &Streams,
    id: &str,
    stream: &Arc<Semaphore>,
) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), String> {
    let one = Arc::clone(stream).try_acquire_owned().map_err(|_| {
        format!("stream '{id}' has {MAX_READERS_PER_STREAM} readers already, its limit; retry")
    })?;
    let all = Arc::clone(&streams.readers)
        .try_acquire_owned()
        .map_err(|_| {
            format!("the service's streams have {MAX_READERS} readers already, their limit; retry")
        })?;
    Ok((one, all))
}

async fn serve_page(
    State(streams): State<Streams>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some((_, stream, guard)) = streams.ids.iter().find(|(known, _, _)| *known == id) else {
        return problem_response(
            StatusCode::NOT_FOUND,
            &format!("this service publishes no stream '{id}'"),
        );
    };
    // Who may read it is its producer's ACL.
    if let Err(response) = guard.admit(&headers, uri.path()).await {
        return *response;
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
    let number = |name: &str, default: u64, min: u64, max: u64| match query.get(name) {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{name}: expected a number from {min} to {max}, got '{text}'"
            )),
        },
    };
    let (limit, wait) = match (
        number("limit", 256, 1, MAX_PAGE as u64),
        number("wait_ms", 0, 0, PAGE_WAIT.as_millis() as u64),
    ) {
        (Ok(limit), Ok(wait)) => (limit as usize, Duration::from_millis(wait)),
        (Err(problem), _) | (_, Err(problem)) => {
            return problem_response(StatusCode::BAD_REQUEST, &problem);
        }
    };
    let _permits = match admit(&streams, &id, stream) {
        Ok(permits) => permits,
        Err(busy) => {
            let mut refused = problem_response(StatusCode::SERVICE_UNAVAILABLE, &busy);
            refused.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
            return refused;
        }
    };
    let published = streams.news.follow(&id);
    let store_id = streams
        .store_id
        .get_or_try_init(|| streams.store.store_id())
        .await
        .cloned();
    let page = match store_id {
        Ok(store_id) => page(&streams.store, published, &id, after, limit, wait)
            .await
            .map(|page| StreamPage {
                store: Some(store_id),
                ..page
            }),
        Err(error) => Err(error),
    };
    match page {
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
