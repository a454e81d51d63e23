//! The service's API description: an OpenAPI 3.1 document of every route the components
//! registered, served as `GET /openapi.json` on the admin listener and printed by
//! `<service> --openapi`.
//!
//! Everything comes from what the macros wrote down at compile time: each route's method and
//! template (`<id>` becomes `{id}`), its path, query and header parameters, its body and reply
//! types, the handler's and the `impl` block's doc comments, and its `#[acl]` and `#[jwt]`.
//! Schemas are the types' `schemars::JsonSchema` (JSON Schema 2020-12, OpenAPI 3.1's dialect),
//! kept under `components/schemas`; a type without one is described as any JSON that names the
//! type ([`schema`]). The errors listed are those the runtime itself may answer for that route,
//! as `application/problem+json`, and a `default` one for the handler's own error effects.

pub mod schema;

use serde_json::{Map, Value, json};

use crate::access::{Acl, Principals, SERVICE_TOKEN_HEADER};
use crate::registry::{
    ApiParamIn, ComponentDescriptor, ComponentKind, HandlerDescriptor, RouteDescriptor,
    RouteSegment,
};

/// What the document says of the service as a whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApiInfo<'a> {
    /// `info.title`: the service's name.
    pub title: &'a str,
    /// `info.version`: the version given to `Service::version`, if any.
    pub version: Option<&'a str>,
    /// The service's default ACL, for the routes without their own.
    pub default_acl: Option<&'a Acl>,
}

/// The OpenAPI 3.1 document of `components`' routes.
pub(crate) fn document(info: ApiInfo<'_>, components: &[&'static ComponentDescriptor]) -> Value {
    let mut generator = schemars::SchemaGenerator::new(
        schemars::generate::SchemaSettings::draft2020_12().with(|settings| {
            settings.definitions_path = "/components/schemas".into();
            settings.meta_schema = None;
        }),
    );
    let mut paths = Map::new();
    let mut tags = Vec::new();
    let mut uses_bearer = false;
    let mut uses_service_token = false;
    for &component in components {
        let routed: Vec<_> = component
            .handlers
            .iter()
            .filter_map(|handler| handler.route().map(|route| (handler, route)))
            .collect();
        if routed.is_empty() {
            continue;
        }
        let mut tag = json!({ "name": component.id });
        if !component.doc.is_empty() {
            tag["description"] = component.doc.into();
        }
        tags.push(tag);
        for (handler, route) in routed {
            let access = Access::of(component, handler, info.default_acl);
            uses_bearer |= access.bearer;
            uses_service_token |= access.service_token;
            let operation = operation(component, handler, route, access, &mut generator);
            let path = paths
                .entry(openapi_path(route.segments))
                .or_insert_with(|| json!({}));
            path[route.method.as_str().to_ascii_lowercase()] = operation;
        }
    }
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    schemas.insert("Problem".to_owned(), problem_schema());
    let mut security_schemes = Map::new();
    if uses_bearer {
        security_schemes.insert(
            "bearer".to_owned(),
            json!({
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A signed JWT whose issuer and claims the route's `#[jwt]` checks.",
            }),
        );
    }
    if uses_service_token {
        security_schemes.insert(
            "serviceToken".to_owned(),
            json!({
                "type": "apiKey",
                "in": "header",
                "name": SERVICE_TOKEN_HEADER,
                "description": "A token signed by a calling service of the project; the route's \
                                ACL does not let calls from the internet in.",
            }),
        );
    }
    let mut components_object = json!({ "schemas": schemas, "responses": responses() });
    if !security_schemes.is_empty() {
        components_object["securitySchemes"] = security_schemes.into();
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": info.title,
            "version": info.version.unwrap_or("unversioned"),
            "description": "Every route of the service, from its components' handlers. Errors \
                            are `application/problem+json`; a method a path does not answer \
                            gets 405 with the methods it does in `Allow`.",
        },
        "tags": tags,
        "paths": paths,
        "components": components_object,
    })
}

/// What calling a route takes beyond its inputs, and what it may be refused with.
#[derive(Debug, Clone, Copy)]
struct Access {
    /// A `#[jwt]` applies: a bearer token is needed (401 without a valid one, 403 when a claim
    /// does not match).
    bearer: bool,
    /// The ACL in force lets no call from the internet in: a service token is needed.
    service_token: bool,
    /// The status an ACL denies with, if an ACL applies.
    denied_with: Option<u16>,
}

impl Access {
    /// As the route's guard resolves it: the handler's own, else its component's, else the
    /// service's default ACL; the handler's `#[jwt]`, else its component's.
    fn of(
        component: &ComponentDescriptor,
        handler: &HandlerDescriptor,
        default_acl: Option<&Acl>,
    ) -> Self {
        let acls = [handler.access.acl, component.access.acl, default_acl];
        let acl = acls.into_iter().flatten().next();
        Self {
            bearer: handler.access.jwt.or(component.access.jwt).is_some(),
            service_token: acl.is_some_and(|acl| !acl.allows(&Principals::internet())),
            denied_with: acl.map(|_| {
                acls.into_iter()
                    .flatten()
                    .find_map(Acl::denied_status)
                    .map_or(403, |code| code.as_u16())
            }),
        }
    }
}

/// The path of a route as OpenAPI writes it: `/cart/{cart_id}/items`.
fn openapi_path(segments: &[RouteSegment]) -> String {
    if segments.is_empty() {
        return "/".to_owned();
    }
    segments
        .iter()
        .map(|segment| match segment {
            RouteSegment::Literal(text) => format!("/{text}"),
            RouteSegment::Param(name) => format!("/{{{name}}}"),
        })
        .collect()
}

fn operation(
    component: &ComponentDescriptor,
    handler: &HandlerDescriptor,
    route: &RouteDescriptor,
    access: Access,
    generator: &mut schemars::SchemaGenerator,
) -> Value {
    let api = route.api;
    let mut operation = json!({
        "operationId": format!("{}.{}", component.id.replace("::", "."), handler.name),
        "tags": [component.id],
    });
    if !api.summary.is_empty() {
        operation["summary"] = api.summary.into();
    }
    if !api.description.is_empty() {
        operation["description"] = api.description.into();
    }
    let mut parameters = Vec::new();
    for segment in route.segments {
        let RouteSegment::Param(name) = segment else {
            continue;
        };
        // An entity's id need not be an argument of its handlers: it is the entity's key.
        let described = api
            .params
            .iter()
            .find(|p| p.location == ApiParamIn::Path && p.name == *name);
        let schema = match described {
            Some(param) => (param.schema)(generator).to_value(),
            None => json!({ "type": "string", "minLength": 1, "maxLength": 1024 }),
        };
        let mut parameter =
            json!({ "name": name, "in": "path", "required": true, "schema": schema });
        if described.is_none() && component.kind.is_entity() {
            parameter["description"] = "The entity's id.".into();
        }
        parameters.push(parameter);
    }
    for param in api.params.iter().filter(|p| p.location != ApiParamIn::Path) {
        let mut parameter = json!({
            "name": param.name,
            "in": param.location.as_str(),
            "required": param.required,
            "schema": (param.schema)(generator).to_value(),
        });
        if param.location == ApiParamIn::Query {
            // A repeated parameter is given once per value (`?tag=a&tag=b`).
            parameter["explode"] = true.into();
        }
        parameters.push(parameter);
    }
    if !parameters.is_empty() {
        operation["parameters"] = parameters.into();
    }
    if let Some(body) = api.body {
        operation["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": body(generator).to_value() } },
        });
    }
    let reply = (api.reply)(generator).to_value();
    let success = if api.streams {
        json!({
            "description": "A stream of replies: one JSON value per line (NDJSON, the default), \
                            or server-sent events whose `data` is one JSON value each when the \
                            request accepts `text/event-stream`.",
            "content": {
                "application/x-ndjson": { "schema": reply },
                "text/event-stream": { "schema": { "type": "string" } },
            },
        })
    } else {
        json!({
            "description": "The reply.",
            "content": { "application/json": { "schema": reply } },
        })
    };
    let mut responses = Map::new();
    responses.insert("200".to_owned(), success);
    let inputs = !api.params.is_empty() || component.kind.is_entity() || route.takes_body;
    let mut refer = |code: u16, name: &str| {
        responses.insert(
            code.to_string(),
            json!({ "$ref": format!("#/components/responses/{name}") }),
        );
    };
    if inputs {
        refer(400, "BadRequest");
    }
    if access.bearer || access.service_token {
        refer(401, "Unauthorized");
    }
    if access.bearer {
        refer(403, "Forbidden");
    }
    match access.denied_with {
        Some(404) => refer(404, "NotFound"),
        Some(_) => refer(403, "Forbidden"),
        None => {}
    }
    if component.kind == ComponentKind::View && !api.streams {
        refer(404, "NotFound");
    }
    if component.kind == ComponentKind::EventSourcedEntity {
        refer(409, "Conflict");
    }
    if route.takes_body {
        refer(408, "RequestTimeout");
        refer(413, "PayloadTooLarge");
        refer(415, "UnsupportedMediaType");
    }
    refer(500, "InternalServerError");
    refer(503, "ServiceUnavailable");
    responses.insert(
        "default".to_owned(),
        json!({
            "description": "An error effect of the handler, with the status it chose.",
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } },
        }),
    );
    operation["responses"] = responses.into();
    let mut requirement = Map::new();
    if access.bearer {
        requirement.insert("bearer".to_owned(), json!([]));
    }
    if access.service_token {
        requirement.insert("serviceToken".to_owned(), json!([]));
    }
    if !requirement.is_empty() {
        operation["security"] = json!([requirement]);
    }
    operation
}

/// The problem+json body of every error the runtime answers (RFC 9457).
fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "An error (RFC 9457 problem details).",
        "properties": {
            "type": { "type": "string" },
            "title": { "type": "string" },
            "status": { "type": "integer" },
            "detail": { "type": "string", "description": "What was wrong." },
        },
        "required": ["type", "title", "status", "detail"],
    })
}

/// The runtime's own error responses, referred to by each operation they apply to.
fn responses() -> Value {
    let problem = |description: &str| {
        json!({
            "description": description,
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } },
        })
    };
    json!({
        "BadRequest": problem("A path parameter, query parameter, header or body that does not read as its type; an entity id that is empty, too long or holds control characters."),
        "Unauthorized": problem("A missing or invalid bearer token or service token."),
        "Forbidden": problem("The caller is not let in: by the route's ACL, or by a claim of its bearer token."),
        "NotFound": problem("Nothing found: no view row matches (or the ACL denies with 404)."),
        "Conflict": problem("The entity was deleted."),
        "RequestTimeout": problem("The body did not arrive in time."),
        "PayloadTooLarge": problem("The body is larger than the service accepts."),
        "UnsupportedMediaType": problem("The body is not JSON, or is encoded in a way the service does not read."),
        "InternalServerError": problem("The handler panicked; the body holds a correlation id to find it in the log."),
        "ServiceUnavailable": problem("The service is overloaded, stopping, or its store did not answer in time; try again."),
    })
}
