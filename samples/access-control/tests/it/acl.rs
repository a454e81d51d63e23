//! Who may call which route: the internet, trusted services, and forged or replayed tokens.

use std::time::Duration;

use kalix_core::access::ServiceKey;
use serde_json::{Value, json};

use crate::{billing_key, now, read, start};

#[tokio::test]
async fn the_internet_reaches_public_routes_only() {
    let testkit = start().await;
    let (status, _, body) = read(testkit.get("/public/hello/ann").send().await.unwrap()).await;
    assert_eq!((status, body), (200, json!({"message": "Hello, ann"})));
    // The default ACL lets services in, not the internet.
    let (status, _, body) = read(testkit.get("/internal/hello/ann").send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_eq!(body["status"], 403, "a problem body: {body}");
    assert!(body["detail"].as_str().unwrap().contains("not allowed"));
    // A hidden route looks like no route at all.
    let (status, _, hidden) = read(testkit.get("/hidden/hello/ann").send().await.unwrap()).await;
    let (_, _, missing) = read(testkit.get("/no/such/route").send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(
        hidden["detail"]
            .as_str()
            .unwrap()
            .replace("/hidden/hello/ann", "<path>"),
        missing["detail"]
            .as_str()
            .unwrap()
            .replace("/no/such/route", "<path>"),
    );
    let (status, _, body) = read(testkit.get("/whoami").send().await.unwrap()).await;
    assert_eq!(
        (status, body),
        (200, json!({"internet": true, "service": null}))
    );
}

#[tokio::test]
async fn a_trusted_service_is_let_in_by_its_signed_token() {
    let testkit = start().await;
    let billing = billing_key();
    let call = |path: &str| {
        testkit
            .get(path)
            .header("Kalix-Service-Token", billing.token_for(path))
    };
    let (status, _, body) = read(call("/internal/hello/ann").send().await.unwrap()).await;
    assert_eq!((status, body), (200, json!({"message": "Hello, ann"})));
    let (status, _, body) = read(call("/hidden/hello/bob").send().await.unwrap()).await;
    assert_eq!((status, body), (200, json!({"message": "Hello, bob"})));
    let (status, _, body) = read(call("/whoami").send().await.unwrap()).await;
    assert_eq!(
        (status, body),
        (200, json!({"internet": false, "service": "billing"}))
    );
    // The testkit signs as any service: another service is let in by the default ACL but
    // not by the hidden route's.
    let shipping = testkit.client_as_service("shipping");
    let (status, _, _) = read(shipping.get("/internal/hello/ann").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, _, _) = read(shipping.get("/hidden/hello/ann").send().await.unwrap()).await;
    assert_eq!(status, 404);
    // The query is not part of what the token is for.
    let (status, _, _) = read(
        testkit
            .get("/internal/hello/ann?x=1")
            .header(
                "Kalix-Service-Token",
                billing.token_for("/internal/hello/ann"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_plain_header_never_makes_a_call_a_services() {
    let testkit = start().await;
    for (name, value) in [
        ("Kalix-Service", "billing"),
        ("X-Kalix-Service", "billing"),
        ("Kalix-Principal", "service:billing"),
        ("Impersonate-Service", "billing"),
    ] {
        let response = testkit
            .get("/whoami")
            .header(name, value)
            .send()
            .await
            .unwrap();
        let (status, _, body) = read(response).await;
        assert_eq!(
            (status, &body),
            (200, &json!({"internet": true, "service": null})),
            "{name}"
        );
        let response = testkit
            .get("/internal/hello/a")
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}");
    }
}

/// A token that is there but does not hold is a 401 saying why, never the internet.
#[tokio::test]
async fn forged_replayed_expired_or_untrusted_service_tokens_are_refused() {
    let testkit = start().await;
    let path = "/internal/hello/ann";
    let iat = now();
    let claims = |iss: &str, aud: &str, iat: u64, exp: u64| json!({"iss": iss, "aud": aud, "iat": iat, "exp": exp});
    let billing = billing_key();
    // Signed as billing with another key.
    let forged = ServiceKey::from_secret_bytes("billing", &[8; 32]);
    let cases: Vec<(&str, String, &str)> = vec![
        ("forged", forged.token_for(path), "signature"),
        (
            "another path",
            billing.token_for("/hidden/hello/ann"),
            "another path",
        ),
        (
            "expired",
            billing.sign_claims("k", &claims("billing", path, iat - 200, iat - 140)),
            "expired",
        ),
        (
            "from the future",
            billing.sign_claims("k", &claims("billing", path, iat + 120, iat + 150)),
            "future",
        ),
        (
            "too long-lived",
            billing.sign_claims("k", &claims("billing", path, iat, iat + 3600)),
            "60 seconds",
        ),
        (
            "untrusted issuer",
            // The testkit trusts its own key under any name, so here it is the signature.
            ServiceKey::from_secret_bytes("stranger", &[9; 32]).token_for(path),
            "signature",
        ),
        ("not a JWT", "garbage".to_owned(), "not a JWT"),
        (
            "alg none",
            unsigned(&claims("billing", path, iat, iat + 60)),
            "not",
        ),
    ];
    for (case, token, says) in cases {
        let response = testkit
            .get(path)
            .header("Kalix-Service-Token", &token)
            .send()
            .await
            .unwrap();
        let (status, _, body) = read(response).await;
        assert_eq!(status, 401, "{case}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{case}: {detail}");
        assert!(
            !detail.contains(&token),
            "{case}: the token is never echoed"
        );
        // Even on a route the internet may call.
        let response = testkit
            .get("/public/hello/ann")
            .header("Kalix-Service-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{case} on a public route");
    }
}

/// `{"alg":"none"}` with `claims` and no signature.
pub fn unsigned(claims: &Value) -> String {
    use base64::Engine;
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "JWT"})),
        encode(claims)
    )
}

#[tokio::test]
async fn a_stream_is_read_only_as_its_producers_acl_allows() {
    let testkit = start().await;
    let response = testkit.post("/public/greet/ann").send().await.unwrap();
    assert_eq!(read(response).await.0, 200);
    let path = "/_kalix/streams/greetings";
    let (status, _, _) = read(testkit.get(path).send().await.unwrap()).await;
    assert_eq!(status, 403, "the internet may not read it");
    let shipping = testkit.client_as_service("shipping");
    assert_eq!(read(shipping.get(path).send().await.unwrap()).await.0, 403);
    let billing = testkit.client_as_service("billing");
    let read_page = || async {
        let (status, _, page) = read(
            billing
                .get(&format!("{path}?wait_ms=500"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].clone())
            .collect::<Vec<Value>>()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let bodies = read_page().await;
        if bodies
            .iter()
            .any(|b| b == &json!({"name": "ann"}) || b.as_str().is_some_and(|s| s.contains("ann")))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no greeting on the stream: {bodies:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn in_process_calls_are_never_stopped_and_the_switch_turns_acls_off() {
    let testkit = start().await;
    let client = testkit.component_client();
    let hidden = client
        .action::<access_control::Hello>()
        .hidden("cy".to_owned())
        .await
        .unwrap();
    assert_eq!(hidden.message, "Hello, cy");
    let whoami = client
        .action::<access_control::Hello>()
        .whoami()
        .await
        .unwrap();
    assert_eq!(
        (whoami.internet, whoami.service),
        (false, None),
        "self is neither"
    );
    testkit.stop().await;
    let open = kalix_testkit::TestKit::builder()
        .default_acl(access_control::default_acl())
        .without_acls()
        .start()
        .await;
    let (status, _, _) = read(open.get("/internal/hello/ann").send().await.unwrap()).await;
    assert_eq!(status, 200);
    // Tokens are still checked.
    let response = open.get("/jwt/me").send().await.unwrap();
    assert_eq!(response.status(), 401);
}
