//! Outcomes as HTTP responses.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use http::{HeaderName, HeaderValue, StatusCode, header};

use super::problem::{problem_body, problem_response};
use crate::dispatch::Outcome;
use crate::metadata::Metadata;

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
        Outcome::Reply { body, metadata } => reply(body, &metadata),
        Outcome::Error(error) => {
            let status =
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            problem_response(status, error.description())
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

fn stream_error(error: &crate::error::CallError) -> Bytes {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    problem_body(status, error.description())
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
    for (key, value) in metadata.iter() {
        match (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
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
