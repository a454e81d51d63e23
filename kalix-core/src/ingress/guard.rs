//! The access checks of one route, resolved once at start: who the caller is (a verified
//! service token, else the internet), whether its ACL lets them in, and whether its bearer
//! token satisfies its `#[jwt]`. The rules are in `crate::access`.

use std::sync::Arc;

use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::bearer_keys::BearerKeys;
use super::problem::{no_route, problem_response};
use crate::access::{
    Acl, BearerRefused, ClaimCheck, JwtClaims, JwtRule, Principals, SERVICE_TOKEN_HEADER,
    TrustedServices,
};
use crate::registry::{ComponentDescriptor, HandlerDescriptor};
use crate::status::ErrorCode;

/// What every route's checks share: the service's default ACL, the keys, and whether ACLs are
/// enforced (the testkit may turn them off).
#[derive(Debug, Default)]
pub(crate) struct AccessPolicy {
    pub default_acl: Option<Acl>,
    pub trusted: TrustedServices,
    pub bearer_keys: Arc<BearerKeys>,
    pub enforce_acls: bool,
}

impl AccessPolicy {
    /// Whether any ACL is declared: on the service, or on one of `components` or their handlers.
    pub(crate) fn declares_acls(&self, components: &[&ComponentDescriptor]) -> bool {
        self.default_acl.is_some()
            || components.iter().any(|component| {
                component.access.acl.is_some()
                    || component.handlers.iter().any(|h| h.access.acl.is_some())
            })
    }
}

/// The checks of one route.
pub(crate) struct Guard {
    policy: Arc<AccessPolicy>,
    /// The ACL in force: the handler's, else its component's, else the service's.
    acl: Option<Acl>,
    deny_code: StatusCode,
    jwt: Option<BearerRule>,
}

/// A `#[jwt]` with its patterns compiled.
struct BearerRule {
    rule: &'static JwtRule,
    patterns: Vec<Option<regex::Regex>>,
}

impl Guard {
    /// The checks of `handler` of `component` under `policy`.
    pub(crate) fn new(
        policy: &Arc<AccessPolicy>,
        component: &ComponentDescriptor,
        handler: &HandlerDescriptor,
    ) -> Self {
        let (own, inherited) = (&handler.access, &component.access);
        let acl = own
            .acl
            .or(inherited.acl)
            .cloned()
            .or_else(|| policy.default_acl.clone());
        // The code comes from the nearest ACL that sets one.
        let deny_code = [own.acl, inherited.acl, policy.default_acl.as_ref()]
            .into_iter()
            .flatten()
            .find_map(Acl::denied_status)
            .unwrap_or(ErrorCode::FORBIDDEN)
            .to_http();
        let jwt = own.jwt.or(inherited.jwt).map(|rule| BearerRule {
            rule,
            patterns: rule
                .claims()
                .iter()
                .map(|claim| match claim.check {
                    // The macro checked the pattern; one that still fails matches nothing.
                    ClaimCheck::Pattern(pattern) => regex::Regex::new(pattern).ok(),
                    ClaimCheck::Values(_) => None,
                })
                .collect(),
        });
        Self {
            policy: Arc::clone(policy),
            acl,
            deny_code,
            jwt,
        }
    }

    /// Who is calling `path` with `headers`, or the response that turns them away.
    pub(crate) async fn admit(
        &self,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<(Principals, JwtClaims), Box<Response>> {
        let principals = self.principals(headers, path)?;
        if self.policy.enforce_acls
            && let Some(acl) = &self.acl
            && !acl.allows(&principals)
        {
            tracing::debug!(path, ?principals, "denied by the ACL");
            return Err(Box::new(self.denied(path)));
        }
        let claims = match &self.jwt {
            None => JwtClaims::default(),
            Some(rule) => self.bearer(rule, headers).await.map_err(|refused| {
                tracing::debug!(path, ?refused, "bearer token refused");
                Box::new(bearer_refused(&refused))
            })?,
        };
        Ok((principals, claims))
    }

    /// The caller: the service its token proves, else the internet. A token that is there
    /// but does not verify is a 401, never the internet.
    fn principals(&self, headers: &HeaderMap, path: &str) -> Result<Principals, Box<Response>> {
        let Some(token) = headers.get(SERVICE_TOKEN_HEADER) else {
            return Ok(Principals::internet());
        };
        let verified = token
            .to_str()
            .map_err(|_| {
                crate::access::TokenRefused(format!("the {SERVICE_TOKEN_HEADER} is not text"))
            })
            .and_then(|token| self.policy.trusted.verify(token, path));
        match verified {
            Ok(service) => Ok(Principals::from_service(service)),
            Err(refused) => {
                tracing::debug!(path, %refused, "service token refused");
                Err(Box::new(problem_response(
                    StatusCode::UNAUTHORIZED,
                    &format!("{refused}"),
                )))
            }
        }
    }

    fn denied(&self, path: &str) -> Response {
        if self.deny_code == StatusCode::NOT_FOUND {
            // As if there were no such route.
            return no_route(path);
        }
        problem_response(
            self.deny_code,
            "The caller is not allowed to call this endpoint (its access control list denies it)",
        )
    }

    async fn bearer(
        &self,
        rule: &BearerRule,
        headers: &HeaderMap,
    ) -> Result<JwtClaims, BearerRefused> {
        let token = match headers.get(header::AUTHORIZATION).map(HeaderValue::to_str) {
            None => return Err(BearerRefused::Missing),
            Some(Ok(value)) => match value.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
                _ => {
                    return Err(BearerRefused::Invalid(
                        "the Authorization header is not `Bearer <token>`".to_owned(),
                    ));
                }
            },
            Some(Err(_)) => {
                return Err(BearerRefused::Invalid(
                    "the Authorization header is not text".to_owned(),
                ));
            }
        };
        let claims = self.policy.bearer_keys.verify(token).await?;
        let issuers = rule.rule.issuers();
        if !issuers.is_empty() && !claims.issuer().is_some_and(|iss| issuers.contains(&iss)) {
            return Err(BearerRefused::Invalid(format!(
                "the bearer token's issuer is not {}",
                issuers.join(" or ")
            )));
        }
        for (claim, pattern) in rule.rule.claims().iter().zip(&rule.patterns) {
            if !claim.check.holds(claims.raw(claim.name), pattern.as_ref()) {
                return Err(BearerRefused::Claims(format!(
                    "the bearer token's `{}` claim does not satisfy this endpoint",
                    claim.name
                )));
            }
        }
        Ok(claims)
    }
}

fn bearer_refused(refused: &BearerRefused) -> Response {
    let (status, challenge, detail) = match refused {
        BearerRefused::Missing => (
            StatusCode::UNAUTHORIZED,
            "Bearer",
            "this endpoint requires a bearer token (Authorization: Bearer <jwt>)",
        ),
        BearerRefused::Invalid(why) => (
            StatusCode::UNAUTHORIZED,
            "Bearer error=\"invalid_token\"",
            why.as_str(),
        ),
        BearerRefused::Claims(why) => (
            StatusCode::FORBIDDEN,
            "Bearer error=\"insufficient_scope\"",
            why.as_str(),
        ),
    };
    let mut response = problem_response(status, detail);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}
