//! Outcomes as HTTP responses.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use http::{HeaderName, HeaderValue, StatusCode, header};

use super::problem::{problem_body, problem_response};
use crate::metadata::Metadata;
use crate::outcome::Outcome;

/// How a streamed reply is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamFormat {
    /// One JSON value per line, `application/x-ndjson` (the default).
    NdJson,
    /// Server-sent events, when the request accepts `text/event-stream`.
    ServerSentEvents,
}

pub(crate) fn outcome_response(outcome: Outcome, format: StreamFormat) -> Response {
    match outcome {
        Outcome::Reply { body, metadata, .. } => reply(body, &metadata),
        Outcome::Error(error) => {
            let mut response = problem_response(status_of(&error), error.description());
            if error.is_replayed() {
                response.headers_mut().insert(
                    HeaderName::from_static("idempotency-replayed"),
                    HeaderValue::from_static("true"),
                );
            }
            response
        }
        Outcome::Ignore => problem_response(StatusCode::NOT_FOUND, "The handler ignored the call"),
        Outcome::Stream(items) => match format {
            StreamFormat::NdJson => {
                let lines = items.map(|item| {
                    let json = item.unwrap_or_else(|error| stream_error(&error));
                    let mut line = BytesMut::with_capacity(json.len() + 1);
                    line.put(json);
                    line.put_u8(b'\n');
                    Ok::<_, Infallible>(line.freeze())
                });
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/x-ndjson"),
                    )],
                    Body::from_stream(lines),
                )
                    .into_response()
            }
            StreamFormat::ServerSentEvents => {
                let events = items.map(|item| {
                    let event = match item {
                        Ok(json) => Event::default().data(String::from_utf8_lossy(&json)),
                        Err(error) => Event::default()
                            .event("error")
                            .data(String::from_utf8_lossy(&stream_error(&error))),
                    };
                    Ok::<_, Infallible>(event)
                });
                Sse::new(events).into_response()
            }
        },
    }
}

/// The HTTP status of an error; statuses HTTP does not know read as 500.
fn status_of(error: &crate::error::CallError) -> StatusCode {
    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn stream_error(error: &crate::error::CallError) -> Bytes {
    let status = status_of(error);
    problem_body(status, error.description())
}

fn is_framing(name: &HeaderName) -> bool {
    [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::UPGRADE,
    ]
    .contains(name)
}

fn reply(body: Bytes, metadata: &Metadata) -> Response {
    let status = metadata
        .status_code()
        .map_or(StatusCode::OK, |code| code.to_http());
    let mut response = if matches!(status, StatusCode::NO_CONTENT | StatusCode::RESET_CONTENT) {
        status.into_response()
    } else {
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response()
    };
    let mut replaced = Vec::new();
    for (key, value) in metadata.iter() {
        match (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            // Framing is the server's business: a handler cannot corrupt the response with it.
            (Ok(name), Ok(_)) if is_framing(&name) => {
                tracing::warn!(key, "reply metadata cannot set a framing header; not sent");
            }
            (Ok(name), Ok(value)) => {
                // A header the handler sets replaces the server's default (Content-Type), and
                // repeated keys of the metadata stay repeated.
                if !replaced.contains(&name) {
                    response.headers_mut().remove(&name);
                    replaced.push(name.clone());
                }
                response.headers_mut().append(name, value);
            }
            _ => tracing::warn!(
                key,
                "reply metadata entry is not a valid HTTP header; not sent"
            ),
        }
    }
    response
}
