//! The access-control sample's contract, over HTTP with real tokens.

mod acl;
mod api;
mod jwks;
mod jwt;
mod logs;

use std::time::{SystemTime, UNIX_EPOCH};

use access_control as _;
use kalix_core::access::ServiceKey;
use kalix_testkit::TestKit;
use serde_json::Value;

/// `billing`'s key, which the service is configured to trust (`KALIX_TRUSTED_SERVICES`).
pub fn billing_key() -> ServiceKey {
    ServiceKey::from_secret_bytes("billing", &[7; 32])
}

/// The sample as `main` serves it (its default ACL), trusting `billing`'s key and the JWKS of
/// `tests/it/keys`.
pub async fn start() -> TestKit {
    let trusted = format!("billing={}", billing_key().public_key());
    TestKit::builder()
        .default_acl(access_control::default_acl())
        .config(|mut config| {
            config.trusted_services = trusted;
            config.jwt_keys_file = Some(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/keys/jwks.json"),
            );
            config
        })
        .start()
        .await
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Status, `WWW-Authenticate` and JSON body of a response.
pub async fn read(response: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, challenge, body)
}
