//! Access control: who a call comes from ([`Principals`]), who may call a handler ([`Acl`]),
//! how services prove who they are to each other ([`ServiceKey`], [`TrustedServices`]), and
//! bearer tokens ([`JwtKeys`], [`JwtRule`], [`JwtClaims`]).
//!
//! A request is checked at the ingress, before its body is read, in this order:
//! 1. a `Kalix-Service-Token` header, if present, must verify (401 otherwise); the request is
//!    then from that service, else from the `internet`;
//! 2. the handler's ACL (its own, else its component's, else the service's default; with none
//!    anywhere, everything is allowed) must allow it: a denied call gets the ACL's `deny_code`
//!    (403 unless set);
//! 3. if the handler (or its component) has `#[jwt]`, an `Authorization: Bearer` token must
//!    verify with the service's keys (401 with `WWW-Authenticate`) and satisfy its issuers and
//!    claims (403).
//!
//! Calls made inside the service (component client, timers, subscriptions, workflow steps,
//! start-up hooks) are from `self` and never checked. Details are logged at debug level, never
//! a token.

mod acl;
mod jwt;
mod principals;
mod service_token;

pub use acl::{Acl, Matcher};
pub use jwt::{BearerRefused, ClaimCheck, ClaimRule, JwtClaims, JwtKeys, JwtRule};
pub use principals::Principals;
pub use service_token::{SERVICE_TOKEN_HEADER, ServiceKey, TokenRefused, TrustedServices};

/// Who made a call and what its verified token claims: kept with the call's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Caller {
    pub principals: Principals,
    pub claims: JwtClaims,
}
