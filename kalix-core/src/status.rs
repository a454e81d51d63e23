//! The status codes an effect may choose: Kalix's error table and the 2xx codes of a reply.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The status of an error effect, from Kalix's table (`StatusCode.ErrorCode`).
///
/// Only these codes exist, so a handler cannot answer an error with a success code by mistake.
///
/// ```
/// use kalix_core::ErrorCode;
/// assert_eq!(ErrorCode::NOT_FOUND.as_u16(), 404);
/// assert_eq!(ErrorCode::default(), ErrorCode::BAD_REQUEST);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u16", try_from = "u16")]
pub struct ErrorCode(u16);

impl ErrorCode {
    /// 400, the default of [`crate::action::Effect::error`].
    pub const BAD_REQUEST: Self = Self(400);
    /// 401.
    pub const UNAUTHORIZED: Self = Self(401);
    /// 403.
    pub const FORBIDDEN: Self = Self(403);
    /// 404.
    pub const NOT_FOUND: Self = Self(404);
    /// 409.
    pub const CONFLICT: Self = Self(409);
    /// 429.
    pub const TOO_MANY_REQUESTS: Self = Self(429);
    /// 500.
    pub const INTERNAL_SERVER_ERROR: Self = Self(500);
    /// 503.
    pub const SERVICE_UNAVAILABLE: Self = Self(503);
    /// 504.
    pub const GATEWAY_TIMEOUT: Self = Self(504);

    /// Every code of the table.
    pub const ALL: [Self; 9] = [
        Self::BAD_REQUEST,
        Self::UNAUTHORIZED,
        Self::FORBIDDEN,
        Self::NOT_FOUND,
        Self::CONFLICT,
        Self::TOO_MANY_REQUESTS,
        Self::INTERNAL_SERVER_ERROR,
        Self::SERVICE_UNAVAILABLE,
        Self::GATEWAY_TIMEOUT,
    ];

    /// The numeric HTTP status.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The code of the table for an HTTP status, if it is one.
    pub const fn from_u16(status: u16) -> Option<Self> {
        let mut at = 0;
        while at < Self::ALL.len() {
            if Self::ALL[at].0 == status {
                return Some(Self::ALL[at]);
            }
            at += 1;
        }
        None
    }

    /// The HTTP status.
    pub fn to_http(self) -> http::StatusCode {
        http::StatusCode::from_u16(self.0).expect("the table holds valid statuses")
    }
}

impl Default for ErrorCode {
    fn default() -> Self {
        Self::BAD_REQUEST
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_http(), f)
    }
}

impl From<ErrorCode> for u16 {
    fn from(code: ErrorCode) -> u16 {
        code.0
    }
}

impl TryFrom<u16> for ErrorCode {
    type Error = String;
    fn try_from(status: u16) -> Result<Self, String> {
        Self::from_u16(status).ok_or_else(|| format!("{status} is not a Kalix error code"))
    }
}

/// A 2xx status a reply may carry through [`crate::Metadata::with_status_code`].
///
/// ```
/// use kalix_core::SuccessCode;
/// assert_eq!(SuccessCode::CREATED.as_u16(), 201);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u16", try_from = "u16")]
pub struct SuccessCode(u16);

impl SuccessCode {
    /// 200, what a reply gets unless told otherwise.
    pub const OK: Self = Self(200);
    /// 201.
    pub const CREATED: Self = Self(201);
    /// 202.
    pub const ACCEPTED: Self = Self(202);
    /// 203.
    pub const NON_AUTHORITATIVE_INFORMATION: Self = Self(203);
    /// 204: the reply's body is not sent.
    pub const NO_CONTENT: Self = Self(204);
    /// 205: the reply's body is not sent.
    pub const RESET_CONTENT: Self = Self(205);

    /// The numeric HTTP status.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The HTTP status.
    pub fn to_http(self) -> http::StatusCode {
        http::StatusCode::from_u16(self.0).expect("success codes are valid statuses")
    }
}

impl From<SuccessCode> for u16 {
    fn from(code: SuccessCode) -> u16 {
        code.0
    }
}

impl TryFrom<u16> for SuccessCode {
    type Error = String;
    fn try_from(status: u16) -> Result<Self, String> {
        match status {
            200..=205 => Ok(Self(status)),
            _ => Err(format!("{status} is not a success code a reply may carry")),
        }
    }
}
