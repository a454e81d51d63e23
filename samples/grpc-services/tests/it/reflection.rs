//! The reflection services (`v1` and `v1alpha`) describe the service without its `.proto` files,
//! as `grpcurl` and Python's reflection client read them; the health service says `SERVING`.

use kalix_core::grpc::__deps::prost::Message;
use kalix_core::grpc::__deps::tonic::transport::Channel;
use kalix_testkit::TestKit;
use prost_types::FileDescriptorProto;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

async fn ask(channel: &Channel, request: MessageRequest) -> MessageResponse {
    let mut client = ServerReflectionClient::new(channel.clone());
    let requests = tokio_stream::once(ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    });
    let mut responses = client
        .server_reflection_info(requests)
        .await
        .unwrap()
        .into_inner();
    responses
        .message()
        .await
        .unwrap()
        .expect("one response")
        .message_response
        .expect("a response")
}

#[tokio::test]
async fn reflection_lists_the_services_and_describes_their_methods() {
    let testkit = TestKit::start().await;
    let channel = testkit.grpc_channel().await;
    let MessageResponse::ListServicesResponse(listed) =
        ask(&channel, MessageRequest::ListServices(String::new())).await
    else {
        panic!("not a list of services");
    };
    let mut names: Vec<String> = listed.service.into_iter().map(|s| s.name).collect();
    names.sort();
    // The services served here, health and reflection: nothing else of the descriptors.
    assert_eq!(
        names,
        [
            "com.example.fibonacci.Fibonacci",
            "com.example.shoppingcart.ShoppingCartService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );
    // The health service is described too.
    let MessageResponse::FileDescriptorResponse(health) = ask(
        &channel,
        MessageRequest::FileContainingSymbol("grpc.health.v1.Health".into()),
    )
    .await
    else {
        panic!("the health service is not described");
    };
    assert!(!health.file_descriptor_proto.is_empty());

    let MessageResponse::FileDescriptorResponse(files) = ask(
        &channel,
        MessageRequest::FileContainingSymbol("com.example.fibonacci.Fibonacci".into()),
    )
    .await
    else {
        panic!("not a file descriptor");
    };
    let files: Vec<FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).unwrap())
        .collect();
    let fibonacci = files
        .iter()
        .find(|file| file.package() == "com.example.fibonacci")
        .expect("the service's file");
    let service = &fibonacci.service[0];
    let methods: Vec<(&str, &str, bool)> = service
        .method
        .iter()
        .map(|m| (m.name(), m.output_type(), m.server_streaming()))
        .collect();
    assert_eq!(
        methods,
        [
            ("NextNumber", ".com.example.fibonacci.Number", false),
            ("NextNumbers", ".com.example.fibonacci.Number", true)
        ]
    );
    let number = &fibonacci.message_type[0];
    assert_eq!(number.field[0].name(), "value");
    // Its imports are served too, so a client can resolve every type.
    for import in &fibonacci.dependency {
        let MessageResponse::FileDescriptorResponse(found) =
            ask(&channel, MessageRequest::FileByFilename(import.clone())).await
        else {
            panic!("{import} is not served");
        };
        assert!(!found.file_descriptor_proto.is_empty(), "{import}");
    }
    assert!(
        fibonacci
            .dependency
            .iter()
            .any(|d| d == "google/api/annotations.proto")
    );
    testkit.stop().await;
}

#[tokio::test]
async fn reflection_v1alpha_answers_too() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    let testkit = TestKit::start().await;
    let mut client = ServerReflectionClient::new(testkit.grpc_channel().await);
    let requests = tokio_stream::once(ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    });
    let response = client
        .server_reflection_info(requests)
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap()
        .unwrap();
    let Some(MessageResponse::ListServicesResponse(listed)) = response.message_response else {
        panic!("not a list of services");
    };
    assert!(
        listed
            .service
            .iter()
            .any(|s| s.name == "com.example.shoppingcart.ShoppingCartService")
    );
    testkit.stop().await;
}

#[tokio::test]
async fn the_health_service_says_serving() {
    let testkit = TestKit::start().await;
    let mut client = HealthClient::new(testkit.grpc_channel().await);
    let response = client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.status(), ServingStatus::Serving);
    testkit.stop().await;
}

/// Names the Python with `grpcio-reflection` the outside check runs with; when set, the check
/// fails rather than skip when it cannot run (`.ci/run` sets it).
const PYTHON_VARIABLE: &str = "KALIX_TEST_PYTHON_GRPC";

#[tokio::test]
async fn pythons_reflection_client_calls_the_service_without_its_protos() {
    let Ok(python) = std::env::var(PYTHON_VARIABLE) else {
        eprintln!(
            "skipped: set {PYTHON_VARIABLE}=python3 (with grpcio-reflection) to run Python's reflection client"
        );
        return;
    };
    let testkit = TestKit::start().await;
    let address = testkit.base_url().trim_start_matches("http://").to_owned();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reflection_client.py");
    let command = python.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(command)
            .arg(script)
            .arg(address)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|error| panic!("{python} does not run: {error}"));
    assert!(
        output.status.success(),
        "Python's reflection client failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(format!("{directory}/python-grpc-reflection"), "ran").unwrap();
    }
    testkit.stop().await;
}
