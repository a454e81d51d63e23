//! Keys an identity provider publishes (`KALIX_JWT_JWKS_URL`): fetched at start, when a token
//! names a key id no key has (at most once a minute), and on a schedule; a provider that is
//! down does not stop the service.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use kalix_testkit::TestKit;
use serde_json::{Value, json};

use crate::jwt::{claims, hs256, rs256};
use crate::read;

const HMAC_SECRET: &[u8] = b"secret-of-the-hmac-key-for-tests-only";

/// A stand-in identity provider serving a JWKS at `/jwks`, counting the fetches.
struct Provider {
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    url: String,
}

impl Provider {
    async fn start(jwks: Value) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, jwks)
    }

    fn serve(listener: tokio::net::TcpListener, jwks: Value) -> Self {
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let jwks = Arc::new(Mutex::new(jwks));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (Arc::clone(&jwks), Arc::clone(&fetches));
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().unwrap().to_string();
                async move { body }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { jwks, fetches, url }
    }

    fn publish(&self, jwks: Value) {
        *self.jwks.lock().unwrap() = jwks;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// The keys of `tests/it/keys/jwks.json` whose ids are `kids`.
fn only(kids: &[&str]) -> Value {
    let all: Value = serde_json::from_str(include_str!("keys/jwks.json")).unwrap();
    let keys: Vec<Value> = all["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|key| kids.contains(&key["kid"].as_str().unwrap()))
        .cloned()
        .collect();
    json!({ "keys": keys })
}

/// The sample with no key but those published at `url`, fetched again every `refresh`.
async fn start(url: &str, refresh: Duration) -> TestKit {
    let url = url.parse().unwrap();
    TestKit::builder()
        .default_acl(access_control::default_acl())
        .config(|mut config| {
            config.jwt_jwks_url = Some(url);
            config.jwt_jwks_refresh = refresh;
            config
        })
        .start()
        .await
}

async fn me(testkit: &TestKit, token: &str) -> (u16, Value) {
    let response = testkit
        .get("/jwt/me")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, _, body) = read(response).await;
    (status, body)
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_rotated_key_is_fetched_at_its_first_use_and_made_up_key_ids_fetch_at_most_once_a_minute()
{
    let provider = Provider::start(only(&["rsa-1"])).await;
    let testkit = start(&provider.url, HOUR).await;
    assert_eq!(provider.fetches(), 1, "fetched once at start");
    let rsa = rs256(&claims(json!({})), "rsa-1");
    assert_eq!(me(&testkit, &rsa).await.0, 200);

    // The provider rotates in a new key; the first token it signs makes the service fetch.
    provider.publish(only(&["rsa-1", "hmac-1"]));
    let rotated = hs256(&claims(json!({})), "hmac-1", HMAC_SECRET);
    assert_eq!(
        me(&testkit, &rotated).await,
        (200, json!({"subject": "ann", "issuer": crate::jwt::ISSUER}))
    );
    assert_eq!(provider.fetches(), 2, "one fetch for the new key id");

    // Made-up key ids, many and at once: no fetch within the minute, each a 401 naming the id.
    let made_up: Vec<String> = (0..20)
        .map(|n| hs256(&claims(json!({})), &format!("made-up-{n}"), HMAC_SECRET))
        .collect();
    let answers = join_all(made_up.iter().map(|token| me(&testkit, token))).await;
    for (n, (status, body)) in answers.into_iter().enumerate() {
        assert_eq!(status, 401);
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("`made-up-{n}` is unknown")),
            "{detail}"
        );
    }
    assert_eq!(
        provider.fetches(),
        2,
        "no fetch for made-up ids within the minute"
    );
    // Known keys verify throughout.
    assert_eq!(me(&testkit, &rsa).await.0, 200);
    testkit.stop().await;
}

#[tokio::test]
async fn published_keys_are_fetched_again_on_schedule_so_a_withdrawn_key_stops_verifying() {
    let provider = Provider::start(only(&["rsa-1", "hmac-1"])).await;
    let testkit = start(&provider.url, Duration::from_millis(200)).await;
    let hmac = hs256(&claims(json!({})), "hmac-1", HMAC_SECRET);
    assert_eq!(me(&testkit, &hmac).await.0, 200);

    provider.publish(only(&["rsa-1"]));
    let mut status = 200;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = me(&testkit, &hmac).await.0;
        if status == 401 {
            break;
        }
    }
    assert_eq!(status, 401, "the withdrawn key still verifies");
    assert!(provider.fetches() >= 2);
    let rsa = rs256(&claims(json!({})), "rsa-1");
    assert_eq!(me(&testkit, &rsa).await.0, 200);
    testkit.stop().await;
}

#[tokio::test]
async fn a_provider_down_at_start_does_not_stop_the_service_and_its_keys_count_once_it_answers() {
    // A port with nothing behind it yet.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let testkit = start(
        &format!("http://{address}/jwks"),
        Duration::from_millis(200),
    )
    .await;

    let open = testkit.get("/public/hello/ann").send().await.unwrap();
    assert_eq!(open.status(), 200, "routes without #[jwt] serve as usual");
    let rsa = rs256(&claims(json!({})), "rsa-1");
    let (status, body) = me(&testkit, &rsa).await;
    assert_eq!(status, 401);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("`rsa-1` is unknown")
    );

    // The provider comes up; the failed fetch is tried again and its keys count.
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let provider = Provider::serve(listener, only(&["rsa-1"]));
    let mut status = 401;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = me(&testkit, &rsa).await.0;
        if status == 200 {
            break;
        }
    }
    assert_eq!(
        status, 200,
        "the keys of a provider that came up late never counted"
    );
    assert!(provider.fetches() >= 1);
    testkit.stop().await;
}
