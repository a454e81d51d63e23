//! `application/problem+json` bodies (RFC 9457) for every error the service answers with.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

/// The media type of problem bodies.
const PROBLEM_JSON: HeaderValue = HeaderValue::from_static("application/problem+json");

/// A problem object: `{"type","title","status","detail"}`.
pub(crate) fn problem_body(status: StatusCode, detail: &str) -> Bytes {
    #[derive(serde::Serialize)]
    struct Problem<'a> {
        r#type: &'static str,
        title: &'static str,
        status: u16,
        detail: &'a str,
    }
    let problem = Problem {
        r#type: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
    };
    Bytes::from(serde_json::to_vec(&problem).expect("a problem always serializes"))
}

/// The 404 of a path no route matches (also what an ACL with `deny_code = 404` answers, so a
/// hidden route looks like none).
pub(crate) fn no_route(path: &str) -> Response {
    problem_response(
        StatusCode::NOT_FOUND,
        &format!("Could not find path: {path}"),
    )
}

/// A problem's `detail`, kept beside its body in the response's extensions: what the gRPC
/// ingress turns a refusal into a status with, without reading the body back.
#[derive(Clone, Debug)]
pub(crate) struct ProblemDetail(pub String);

/// A response carrying a problem object.
pub(crate) fn problem_response(status: StatusCode, detail: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, PROBLEM_JSON)],
        axum::Extension(ProblemDetail(detail.to_owned())),
        problem_body(status, detail),
    )
        .into_response()
}
