//! The gRPC code of an error: the table from HTTP statuses, the one place it is written.

use tonic::Code;

/// The gRPC code an error with HTTP `status` is answered with.
///
/// | HTTP status | gRPC code |
/// |---|---|
/// | 400 (`Effect::error`, a message that does not decode) | `INVALID_ARGUMENT` |
/// | 401 (no or a bad token) | `UNAUTHENTICATED` |
/// | 403 (ACL denial, token without the claims) | `PERMISSION_DENIED` |
/// | 404 | `NOT_FOUND` |
/// | 408, 504 | `DEADLINE_EXCEEDED` |
/// | 409 (the entity changed under the command) | `ABORTED` |
/// | 412 | `FAILED_PRECONDITION` |
/// | 413, 429 | `RESOURCE_EXHAUSTED` |
/// | 415, 422 and other 4xx | `INVALID_ARGUMENT` |
/// | 499 | `CANCELLED` |
/// | 501 | `UNIMPLEMENTED` |
/// | 503 | `UNAVAILABLE` |
/// | 500 (a panic: the message is the correlation id only) and other 5xx | `INTERNAL` |
///
/// ```
/// use kalix_core::grpc::status_code;
/// assert_eq!(status_code(404), tonic::Code::NotFound);
/// assert_eq!(status_code(400), tonic::Code::InvalidArgument);
/// ```
pub fn status_code(status: u16) -> Code {
    match status {
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        408 | 504 => Code::DeadlineExceeded,
        409 => Code::Aborted,
        412 => Code::FailedPrecondition,
        413 | 429 => Code::ResourceExhausted,
        499 => Code::Cancelled,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        // 400 (`Effect::error`, a message that does not decode), 415, 422, ...
        400..=499 => Code::InvalidArgument,
        _ => Code::Internal,
    }
}

/// The HTTP status a gRPC code corresponds to (the table read back), for what is recorded of
/// a call that tonic failed itself.
pub(crate) fn http_status(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::InvalidArgument | Code::OutOfRange => 400,
        Code::Unauthenticated => 401,
        Code::PermissionDenied => 403,
        Code::NotFound => 404,
        Code::DeadlineExceeded => 504,
        Code::Aborted | Code::AlreadyExists => 409,
        Code::FailedPrecondition => 412,
        Code::ResourceExhausted => 429,
        Code::Cancelled => 499,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::Internal | Code::Unknown | Code::DataLoss => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_of_kalix_has_its_grpc_code() {
        let expected = [
            (400, Code::InvalidArgument),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::NotFound),
            (409, Code::Aborted),
            (429, Code::ResourceExhausted),
            (500, Code::Internal),
            (503, Code::Unavailable),
            (504, Code::DeadlineExceeded),
        ];
        for code in crate::ErrorCode::ALL {
            let (_, grpc) = expected
                .iter()
                .find(|(status, _)| *status == code.as_u16())
                .expect("every ErrorCode is in the table");
            assert_eq!(status_code(code.as_u16()), *grpc, "{code}");
        }
    }
}
