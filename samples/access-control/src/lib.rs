//! Access control in Rust: who may call each route, services proving who they are with signed
//! tokens, and JWT bearer tokens.
//!
//! The service's default ACL ([`default_acl`]) lets other services in and the internet out;
//! routes open themselves with `#[acl]`:
//! - `GET /public/hello/<name>` (internet) -> `{"message": "Hello, <name>"}`
//! - `GET /internal/hello/<name>` (the default: any trusted service) -> the same
//! - `GET /hidden/hello/<name>` (only `billing`; others get a 404, as if it did not exist)
//! - `GET /whoami` (anyone) -> `{"internet": true, "service": null}` or the calling service
//! - `GET /jwt/me`, `/jwt/admin`, `/jwt/staff` (internet, with a bearer token from
//!   `https://auth.example.com`; admin needs `role: admin`, staff an `@example.com` email)
//! - `POST /public/greet/<name>` (internet) -> `"Ok"`, and `{"name": "<name>"}` on the service
//!   stream `greetings`, which only `billing` may read (`/_kalix/streams/greetings`).

use kalix_core::access::{Acl, Matcher};
use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// The service's default ACL: any service that proves its name; not the internet.
pub fn default_acl() -> Acl {
    Acl::new().allow(Matcher::service("*"))
}

/// A greeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Greeting {
    /// Its text.
    pub message: String,
}

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WhoAmI {
    /// Whether the call came from the internet.
    pub internet: bool,
    /// The calling service, if a service called.
    pub service: Option<String>,
}

/// What a bearer token says of its holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenHolder {
    /// Its `sub` claim.
    pub subject: Option<String>,
    /// Its `iss` claim (left out where the route does not show it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

fn hello(name: &str) -> action::Effect<Greeting> {
    action::Effect::reply(Greeting {
        message: format!("Hello, {name}"),
    })
}

/// The greeting routes, each with the ACL its path says.
#[derive(Default)]
pub struct Hello;

#[action]
impl Hello {
    /// Anyone on the internet.
    #[get("/public/hello/<name>")]
    #[acl(allow(principal = "internet"))]
    pub async fn public(&self, name: String) -> action::Effect<Greeting> {
        hello(&name)
    }

    /// The service's default ACL: other services only.
    #[get("/internal/hello/<name>")]
    pub async fn internal(&self, name: String) -> action::Effect<Greeting> {
        hello(&name)
    }

    /// Only `billing`; everyone else is told there is no such route.
    #[get("/hidden/hello/<name>")]
    #[acl(allow(service = "billing"), deny_code = 404)]
    pub async fn hidden(&self, name: String) -> action::Effect<Greeting> {
        hello(&name)
    }

    /// Who is calling.
    #[get("/whoami")]
    #[acl(allow(principal = "all"))]
    pub async fn whoami(&self, ctx: &ActionContext) -> action::Effect<WhoAmI> {
        action::Effect::reply(WhoAmI {
            internet: ctx.principals().is_internet(),
            service: ctx.principals().service().map(str::to_owned),
        })
    }
}

/// Routes for holders of a bearer token from `https://auth.example.com`.
#[derive(Default)]
pub struct TokenHolders;

#[action]
#[acl(allow(principal = "internet"))]
#[jwt(issuer = "https://auth.example.com")]
impl TokenHolders {
    /// The token's subject and issuer.
    #[get("/jwt/me")]
    pub async fn me(&self, ctx: &ActionContext) -> action::Effect<TokenHolder> {
        action::Effect::reply(TokenHolder {
            subject: ctx.jwt_claims().subject().map(str::to_owned),
            issuer: ctx.jwt_claims().issuer().map(str::to_owned),
        })
    }

    /// Administrators only: the token's `role` claim is (or holds) `admin`.
    #[get("/jwt/admin")]
    #[jwt(issuer = "https://auth.example.com", claim(name = "role", values = ["admin"]))]
    pub async fn admin(&self, ctx: &ActionContext) -> action::Effect<TokenHolder> {
        subject(ctx)
    }

    /// Staff only: an `email` claim at `example.com`.
    #[get("/jwt/staff")]
    #[jwt(
        issuer = "https://auth.example.com",
        claim(name = "email", pattern = "@example\\.com$")
    )]
    pub async fn staff(&self, ctx: &ActionContext) -> action::Effect<TokenHolder> {
        subject(ctx)
    }
}

fn subject(ctx: &ActionContext) -> action::Effect<TokenHolder> {
    action::Effect::reply(TokenHolder {
        subject: ctx.jwt_claims().subject().map(str::to_owned),
        issuer: None,
    })
}

/// A greeting was asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Greeted {
    /// Whom to greet.
    pub name: String,
}

/// The greetings asked for, one log per name.
#[derive(Default)]
pub struct GreetingLog;

#[event_sourced_entity(type_id = "greetings", id = "name")]
impl GreetingLog {
    /// Records a greeting for `name`; it reaches the stream `greetings`.
    #[post("/public/greet/<name>")]
    #[acl(allow(principal = "internet"))]
    pub fn greet(
        &self,
        _count: &u64,
        ctx: &EventSourcedEntityContext,
    ) -> event_sourced_entity::Effect<u64, Greeted, String> {
        event_sourced_entity::Effect::emit_event(Greeted {
            name: ctx.entity_id().to_owned(),
        })
        .then_reply(|_| "Ok".to_owned())
    }

    /// Counts the greetings.
    #[event_handler]
    pub fn apply(&self, count: u64, _event: &Greeted) -> u64 {
        count + 1
    }
}

/// Publishes each greeting on the stream `greetings`, which only `billing` may read.
#[derive(Default)]
pub struct GreetingsToStream;

#[action]
impl GreetingsToStream {
    /// Each greeting, as it is.
    #[subscribe(event_sourced_entity = GreetingLog)]
    #[publish(stream = "greetings")]
    #[acl(allow(service = "billing"))]
    pub async fn on_greeted(&self, event: Greeted) -> action::Effect<Greeted> {
        action::Effect::reply(event)
    }
}
