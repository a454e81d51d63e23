//! gRPC as a client sees it, for what the sample does not show: a panicking handler, per-method
//! `#[acl]` and `#[jwt]`, limits, a handler that takes too long, headers as metadata, metrics.
//! The service's constants and messages are written out here as `kalix-build` generates them.

use std::time::Duration;

use kalix_core::grpc::{Method, MethodInfo, Unary};
use kalix_core::prelude::*;
use kalix_testkit::TestKit;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Code, Request, Status};
use tonic_prost::ProstCodec;

/// `message Text { string text = 1; }`
#[derive(Clone, PartialEq, prost::Message, serde::Serialize, serde::Deserialize)]
pub struct Text {
    #[prost(string, tag = "1")]
    pub text: String,
}

/// `service Probe { rpc Echo(Text) .. rpc Panic .. rpc Guarded .. rpc Signed .. rpc Slow .. }`
pub struct Probe;

const fn method(path: &'static str) -> MethodInfo {
    MethodInfo {
        service: "test.Probe",
        name: "",
        path,
        server_streaming: false,
        client_streaming: false,
        http: None,
        decode: kalix_core::grpc::decode_message::<Text>,
        encode: kalix_core::grpc::encode_message::<Text>,
    }
}

#[allow(non_upper_case_globals)]
impl Probe {
    pub const Echo: Method<Text, Text, Unary> = Method::new(&method("/test.Probe/Echo"));
    pub const Panic: Method<Text, Text, Unary> = Method::new(&method("/test.Probe/Panic"));
    pub const Guarded: Method<Text, Text, Unary> = Method::new(&method("/test.Probe/Guarded"));
    pub const Signed: Method<Text, Text, Unary> = Method::new(&method("/test.Probe/Signed"));
    pub const Slow: Method<Text, Text, Unary> = Method::new(&method("/test.Probe/Slow"));
    pub const Relay: Method<Text, Text, Unary> = Method::new(&method("/test.Probe/Relay"));
}

#[derive(Default)]
pub struct GrpcProbe;

#[action(forward_headers = ["x-tenant"])]
impl GrpcProbe {
    /// Echoes the text, with the `x-tenant` metadata when there is one.
    #[grpc(Probe::Echo)]
    pub async fn echo(
        &self,
        text: Text,
        #[header("x-tenant")] tenant: Option<String>,
    ) -> action::Effect<Text> {
        let text = match tenant {
            Some(tenant) => format!("{tenant}: {}", text.text),
            None => text.text,
        };
        action::Effect::reply(Text { text })
    }

    /// The same component serves HTTP beside its gRPC methods.
    #[get("/grpc-probe/shout/<text>")]
    pub async fn shout(&self, text: String) -> action::Effect<Text> {
        action::Effect::reply(Text {
            text: text.to_uppercase(),
        })
    }

    #[grpc(Probe::Panic)]
    pub async fn panic(&self, text: Text) -> action::Effect<Text> {
        panic!("the handler failed on {}", text.text)
    }

    #[grpc(Probe::Guarded)]
    #[acl(allow(service = "billing"))]
    pub async fn guarded(&self, text: Text) -> action::Effect<Text> {
        action::Effect::reply(text)
    }

    #[grpc(Probe::Signed)]
    #[jwt(issuer = "https://auth.example.com")]
    pub async fn signed(&self, text: Text, ctx: &ActionContext) -> action::Effect<Text> {
        let subject = ctx.jwt_claims().subject().unwrap_or_default().to_owned();
        action::Effect::reply(Text {
            text: format!("{subject}: {}", text.text),
        })
    }

    /// Calls `Guarded` of the service `echo-service` (or of `nowhere-service`, which has no
    /// address, when the text is "nowhere") through a channel of the component client.
    #[grpc(Probe::Relay)]
    pub async fn relay(&self, text: Text, ctx: &ActionContext) -> action::Effect<Text> {
        let service = if text.text == "nowhere" {
            "nowhere-service"
        } else {
            "echo-service"
        };
        let channel = match ctx.component_client().grpc_channel(service) {
            Ok(channel) => channel,
            Err(error) => {
                return action::Effect::error_with_status(error.description(), error.error_code());
            }
        };
        let mut client = tonic::client::Grpc::new(channel);
        if let Err(error) = client.ready().await {
            return action::Effect::error_with_status(
                error.to_string(),
                ErrorCode::SERVICE_UNAVAILABLE,
            );
        }
        let path = PathAndQuery::from_static("/test.Probe/Guarded");
        match client
            .unary(Request::new(text), path, ProstCodec::default())
            .await
        {
            Ok(reply) => action::Effect::reply(reply.into_inner()),
            Err(status) => {
                action::Effect::error(format!("{:?}: {}", status.code(), status.message()))
            }
        }
    }

    #[grpc(Probe::Slow)]
    pub async fn slow(&self, text: Text) -> action::Effect<Text> {
        tokio::time::sleep(Duration::from_secs(5)).await;
        action::Effect::reply(text)
    }
}

async fn call(
    testkit: &TestKit,
    path: &'static str,
    request: Request<Text>,
) -> Result<Text, Status> {
    let mut client = tonic::client::Grpc::new(testkit.grpc_channel().await);
    client.ready().await.unwrap();
    client
        .unary(
            request,
            PathAndQuery::from_static(path),
            ProstCodec::default(),
        )
        .await
        .map(tonic::Response::into_inner)
}

fn text(text: &str) -> Request<Text> {
    Request::new(Text { text: text.into() })
}

#[tokio::test]
async fn a_panicking_handler_is_internal_with_a_correlation_id_only() {
    let (testkit, _) = crate::start().await;
    let status = call(&testkit, "/test.Probe/Panic", text("secret"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(!status.message().contains("secret"), "{status:?}");
    // Kalix's words, with the id the log line of the panic carries.
    let id = status
        .message()
        .strip_prefix("Unexpected error [")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("{status:?}"));
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{status:?}");
    // The service keeps serving.
    let echoed = call(&testkit, "/test.Probe/Echo", text("still here"))
        .await
        .unwrap();
    assert_eq!(echoed.text, "still here");
    testkit.stop().await;
}

#[tokio::test]
async fn one_component_serves_grpc_and_http_on_one_port() {
    let (testkit, _) = crate::start().await;
    assert_eq!(
        call(&testkit, "/test.Probe/Echo", text("quiet"))
            .await
            .unwrap()
            .text,
        "quiet"
    );
    let shouted = crate::get_json(&testkit, "/grpc-probe/shout/loud").await;
    assert_eq!(shouted, serde_json::json!({"text": "LOUD"}));
    testkit.stop().await;
}

#[tokio::test]
async fn headers_reach_the_handler_as_metadata() {
    let (testkit, _) = crate::start().await;
    let mut request = text("hello");
    request
        .metadata_mut()
        .insert("x-tenant", "acme".parse().unwrap());
    assert_eq!(
        call(&testkit, "/test.Probe/Echo", request)
            .await
            .unwrap()
            .text,
        "acme: hello"
    );
    testkit.stop().await;
}

#[tokio::test]
async fn a_method_acl_and_jwt_guard_its_calls() {
    let (testkit, _) = crate::start().await;
    let denied = call(&testkit, "/test.Probe/Guarded", text("x"))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    let mut signed = text("x");
    let token = testkit
        .client_as_service("billing")
        .token_for("/test.Probe/Guarded");
    signed
        .metadata_mut()
        .insert("kalix-service-token", token.parse().unwrap());
    assert_eq!(
        call(&testkit, "/test.Probe/Guarded", signed)
            .await
            .unwrap()
            .text,
        "x"
    );

    let missing = call(&testkit, "/test.Probe/Signed", text("x"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated, "{missing:?}");
    assert!(missing.message().contains("bearer token"), "{missing:?}");

    let token =
        testkit.bearer(serde_json::json!({"sub": "ann", "iss": "https://auth.example.com"}));
    let mut bearer = text("hi");
    bearer
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert_eq!(
        call(&testkit, "/test.Probe/Signed", bearer)
            .await
            .unwrap()
            .text,
        "ann: hi"
    );

    let other =
        testkit.bearer(serde_json::json!({"sub": "eve", "iss": "https://elsewhere.example.com"}));
    let mut wrong_issuer = text("hi");
    wrong_issuer
        .metadata_mut()
        .insert("authorization", format!("Bearer {other}").parse().unwrap());
    let refused = call(&testkit, "/test.Probe/Signed", wrong_issuer)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    testkit.stop().await;
}

#[tokio::test]
async fn limits_apply_to_messages_and_calls() {
    let testkit = TestKit::builder()
        .dependency(crate::components::Recorder::default())
        .config(|config| {
            config
                .with_max_body_bytes(1024)
                .with_request_timeout(Duration::from_millis(300))
        })
        .start()
        .await;
    let large = call(&testkit, "/test.Probe/Echo", text(&"x".repeat(4096)))
        .await
        .unwrap_err();
    assert_eq!(large.code(), Code::ResourceExhausted, "{large:?}");

    let slow = call(&testkit, "/test.Probe/Slow", text("x"))
        .await
        .unwrap_err();
    assert_eq!(slow.code(), Code::Unavailable, "{slow:?}");
    assert!(slow.message().contains("did not answer"), "{slow:?}");

    assert_eq!(
        call(&testkit, "/test.Probe/Echo", text("small"))
            .await
            .unwrap()
            .text,
        "small"
    );
    testkit.stop().await;
}

#[tokio::test]
async fn the_callers_deadline_ends_a_call_sooner_than_the_services() {
    let (testkit, _) = crate::start().await;
    // Sent as raw HTTP/2: tonic's client would give up at its own deadline before the answer.
    let http2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut frame = vec![0, 0, 0, 0, 3];
    frame.extend_from_slice(&[0x0a, 0x01, b'x']);
    let started = std::time::Instant::now();
    let late = http2
        .post(testkit.url("/test.Probe/Slow"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", "200m")
        .body(frame)
        .send()
        .await
        .unwrap();
    assert_eq!(late.headers()["grpc-status"], "4", "DEADLINE_EXCEEDED");
    // Ended by the deadline, not by the handler's 5 s.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    testkit.stop().await;
}

#[tokio::test]
async fn calls_are_counted_by_method_and_status() {
    let (testkit, _) = crate::start().await;
    call(&testkit, "/test.Probe/Echo", text("x")).await.unwrap();
    call(&testkit, "/test.Probe/Panic", text("x"))
        .await
        .unwrap_err();
    let metrics = testkit
        .http()
        .get(testkit.admin_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = |route: &str, status: &str| {
        metrics.lines().any(|line| {
            line.starts_with("http_server_request_duration_seconds_count")
                && line.contains(&format!("http_route=\"{route}\""))
                && line.contains(&format!("http_response_status_code=\"{status}\""))
        })
    };
    assert!(counted("/test.Probe/Echo", "200"), "{metrics}");
    assert!(counted("/test.Probe/Panic", "500"), "{metrics}");
    testkit.stop().await;
}

#[tokio::test]
async fn a_handler_calls_another_services_method_signed_as_its_service() {
    let (callee, _) = crate::start().await;
    // The caller signs as "billing" with the key the callee trusts for any name (the testkit's).
    let directory = tempfile::tempdir().unwrap();
    let key_file = directory.path().join("billing.pem");
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x5e; 32]);
    let pem = ed25519_dalek::pkcs8::EncodePrivateKey::to_pkcs8_pem(
        &key,
        ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF,
    )
    .unwrap();
    std::fs::write(&key_file, pem.as_bytes()).unwrap();
    let callee_url = callee.base_url().to_owned();
    let caller = TestKit::builder()
        .dependency(crate::components::Recorder::default())
        .config(move |mut config| {
            config.service_key_file = Some(key_file);
            config
                .with_service_name("billing")
                .with_service_url("echo-service", callee_url)
        })
        .start()
        .await;

    // Guarded lets only the service "billing" in: the call went through signed as it.
    let relayed = call(&caller, "/test.Probe/Relay", text("through"))
        .await
        .unwrap();
    assert_eq!(relayed.text, "through");

    let nowhere = call(&caller, "/test.Probe/Relay", text("nowhere"))
        .await
        .unwrap_err();
    assert_eq!(nowhere.code(), Code::Unavailable, "{nowhere:?}");
    assert!(
        nowhere.message().contains("KALIX_SERVICE_NOWHERE_SERVICE"),
        "{nowhere:?}"
    );
    caller.stop().await;
    callee.stop().await;
}
