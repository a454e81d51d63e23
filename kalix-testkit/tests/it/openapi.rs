//! The API description (`GET /openapi.json` on the admin listener) of the components of this
//! test binary: validated by a real OpenAPI 3.1 validator and compared with the routes the
//! service answers, then read as a client generator would read it.

use kalix_core::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::start;

/// A greeting to record.
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Greeting {
    /// Who is greeted.
    pub name: String,
    /// How many times.
    pub times: u32,
}

/// A type without `JsonSchema`: described as any JSON that names it.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Opaque {
    pub anything: Value,
}

#[derive(Default)]
pub struct Greeter;

/// Greets and keeps the last greeting.
///
/// The API description carries this text, from the `impl` block the attribute is on, as the
/// component's tag description.
#[value_entity(type_id = "openapi-greeter", id = "greeter_id", forward_headers = ["X-Caller"])]
impl Greeter {
    /// Replaces the greeting.
    ///
    /// The body is the new greeting; the reply is the greeting kept.
    #[put("/openapi/greeters/<greeter_id>")]
    pub fn set(
        &self,
        _current: &Greeting,
        #[body] greeting: Greeting,
    ) -> value_entity::Effect<Greeting, Greeting> {
        value_entity::Effect::update_state(greeting.clone()).then_reply(greeting)
    }

    /// The greeting, shouted when asked.
    #[get("/openapi/greeters/<greeter_id>")]
    pub fn get(
        &self,
        greeting: &Greeting,
        #[query] loud: Option<bool>,
        #[query] tags: Vec<String>,
        #[header("X-Caller")] caller: Option<String>,
    ) -> value_entity::Effect<Greeting, Greeting> {
        let _ = (loud, tags, caller);
        value_entity::Effect::reply(greeting.clone())
    }
}

#[derive(Default)]
pub struct Opaques;

#[action]
impl Opaques {
    #[post("/openapi/opaque/<count>")]
    pub fn echo(&self, count: u64, #[body] body: Opaque) -> action::Effect<Opaque> {
        let _ = count;
        action::Effect::reply(body)
    }
}

#[tokio::test]
async fn the_api_description_is_valid_openapi_and_lists_every_route_the_service_answers() {
    let (testkit, _) = start().await;
    let document = testkit.check_api_description().await;

    let tag = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tag| tag["name"] == "it::openapi::Greeter")
        .unwrap_or_else(|| panic!("no tag of the entity: {:#}", document["tags"]));
    assert_eq!(
        tag["description"],
        "Greets and keeps the last greeting.\n\nThe API description carries this text, from the \
         `impl` block the attribute is on, as the\ncomponent's tag description."
    );

    let item = &document["paths"]["/openapi/greeters/{greeter_id}"];
    let put = &item["put"];
    assert_eq!(put["summary"], "Replaces the greeting.");
    assert_eq!(
        put["description"],
        "The body is the new greeting; the reply is the greeting kept."
    );
    assert_eq!(put["operationId"], "it.openapi.Greeter.set");
    assert_eq!(
        put["requestBody"]["content"]["application/json"]["schema"],
        json!({ "$ref": "#/components/schemas/Greeting" })
    );
    assert_eq!(
        put["responses"]["200"]["content"]["application/json"]["schema"],
        json!({ "$ref": "#/components/schemas/Greeting" })
    );
    let greeting = &document["components"]["schemas"]["Greeting"];
    assert_eq!(
        greeting["properties"]["name"]["description"],
        "Who is greeted."
    );
    assert_eq!(greeting["properties"]["times"]["type"], "integer");
    // The runtime's own errors for a body route of an entity, and the handler's.
    for code in ["400", "408", "413", "415", "500", "503", "default"] {
        assert!(put["responses"][code].is_object(), "{code}: {put:#}");
    }
    assert_eq!(put["parameters"][0]["name"], "greeter_id");
    assert_eq!(put["parameters"][0]["in"], "path");
    assert_eq!(put["parameters"][0]["description"], "The entity's id.");

    let get = &item["get"];
    let parameter = |name: &str| {
        get["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no parameter {name}: {get:#}"))
    };
    assert_eq!(parameter("loud")["in"], "query");
    assert_eq!(parameter("loud")["required"], false);
    assert_eq!(parameter("loud")["schema"]["type"], "boolean");
    assert_eq!(parameter("tags")["schema"]["type"], "array");
    assert_eq!(parameter("X-Caller")["in"], "header");
    assert!(get.get("requestBody").is_none());
    assert!(get["responses"].get("415").is_none(), "no body, no 415");

    let echo = &document["paths"]["/openapi/opaque/{count}"]["post"];
    assert_eq!(echo["parameters"][0]["schema"]["type"], "integer");
    let opaque = &echo["requestBody"]["content"]["application/json"]["schema"];
    assert!(
        opaque["x-rust-type"]
            .as_str()
            .unwrap()
            .ends_with("openapi::Opaque"),
        "{opaque:#}"
    );
    assert!(opaque.get("type").is_none(), "any JSON: {opaque:#}");

    // A stream is described per element, in both framings.
    let stream = &document["paths"]["/effects/stream/{n}"]["get"]["responses"]["200"]["content"];
    assert_eq!(stream["application/x-ndjson"]["schema"]["type"], "integer");
    assert!(stream["text/event-stream"].is_object());

    testkit.stop().await;
}

#[tokio::test]
async fn the_api_description_is_not_served_on_the_service_port() {
    let (testkit, _) = start().await;
    let response = testkit.get("/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), 404);
    testkit.stop().await;
}
