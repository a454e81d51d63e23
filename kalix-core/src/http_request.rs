//! A [`Call`] as an HTTP request, for transports that reach a service over HTTP: the handler's
//! method and its route, found in the registry, with the path parameters filled in.

use crate::call::Call;
use crate::error::CallError;
use crate::registry::RouteSegment;
use crate::status::ErrorCode;

/// The HTTP form of a [`Call`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// The path with its parameters filled in, and the query string if any.
    pub path_and_query: String,
}

impl HttpRequest {
    /// The HTTP request that makes this call: the handler's method, and its route with the path
    /// parameters filled in (percent-encoded) and the query appended. Fails if the handler is not
    /// registered in this binary or has no route.
    pub fn of(call: &Call) -> Result<Self, CallError> {
        let route =
            crate::registry::route_of(call.component(), call.method()).ok_or_else(|| {
                CallError::new(
                    ErrorCode::NOT_FOUND,
                    format!("{} has no HTTP route in this binary", call.target()),
                )
            })?;
        let mut path = String::new();
        for segment in route.segments {
            path.push('/');
            match *segment {
                RouteSegment::Param(name) => {
                    let value = call
                        .path_params()
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value)
                        .ok_or_else(|| {
                            CallError::new(
                                ErrorCode::BAD_REQUEST,
                                format!("the call to {} has no value for `{name}`", call.target()),
                            )
                        })?;
                    percent_encode_segment(value, &mut path);
                }
                RouteSegment::Literal(text) => path.push_str(text),
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        if !call.query().is_empty() {
            path.push('?');
            path.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(call.query())
                    .finish(),
            );
        }
        Ok(Self {
            method: route.method.as_str(),
            path_and_query: path,
        })
    }
}

/// Appends `value` to `path`, percent-encoding all but the unreserved characters (RFC 3986).
pub(crate) fn percent_encode_segment(value: &str, path: &mut String) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            path.push(byte as char);
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
}
