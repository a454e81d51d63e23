//! The integration testkit's identities: a key it signs service tokens with (as any service
//! name) and a key it mints bearer tokens with, both trusted by the service it starts and by no
//! other. They are fixed, public test keys: never configure them in a deployed service.

use std::time::{SystemTime, UNIX_EPOCH};

use kalix_core::access::{SERVICE_TOKEN_HEADER, ServiceKey};
use reqwest::RequestBuilder;
use serde_json::Value;

/// The `kid` of the testkit's bearer-token key in the JWKS it hands the service.
pub(crate) const BEARER_KID: &str = "kalix-testkit";

/// The key the testkit signs service tokens with, as the service `name`.
pub(crate) fn service_signer(name: &str) -> ServiceKey {
    ServiceKey::from_secret_bytes(name, &[0x5e; 32])
}

/// The key the testkit mints bearer tokens with.
pub(crate) fn bearer_signer() -> ServiceKey {
    ServiceKey::from_secret_bytes("kalix-testkit-jwt", &[0xb3; 32])
}

/// The JWKS document holding the bearer key's public half.
pub(crate) fn bearer_jwks() -> String {
    serde_json::json!({ "keys": [bearer_signer().jwk(BEARER_KID)] }).to_string()
}

/// A bearer token of `claims`, signed with the testkit's key; `iat` (now) and `exp` (in ten
/// minutes) are added unless given.
pub(crate) fn bearer(mut claims: Value) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    if let Value::Object(map) = &mut claims {
        map.entry("iat").or_insert(now.into());
        map.entry("exp").or_insert((now + 600).into());
    }
    bearer_signer().sign_claims(BEARER_KID, &claims)
}

/// Requests to the service under test signed as another service, whose ACLs see them as
/// `service = "<name>"`. Get one with [`TestKit::client_as_service`](crate::TestKit::client_as_service).
///
/// ```no_run
/// # async fn example(testkit: kalix_testkit::TestKit) {
/// let billing = testkit.client_as_service("billing");
/// let response = billing.get("/internal/hello/ann").send().await.unwrap();
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ServiceClient {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) signer: ServiceKey,
}

impl ServiceClient {
    /// The name its calls carry.
    pub fn service(&self) -> &str {
        self.signer.name()
    }

    /// A `Kalix-Service-Token` for a call to `path` (without its query), valid for a minute.
    pub fn token_for(&self, path: &str) -> String {
        self.signer
            .token_for(path.split('?').next().unwrap_or(path))
    }

    fn signed(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .header(SERVICE_TOKEN_HEADER, self.token_for(path))
    }

    /// A GET request to `path`, signed.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.signed(reqwest::Method::GET, path)
    }

    /// A POST request to `path`, signed.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.signed(reqwest::Method::POST, path)
    }

    /// A PUT request to `path`, signed.
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.signed(reqwest::Method::PUT, path)
    }

    /// A PATCH request to `path`, signed.
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.signed(reqwest::Method::PATCH, path)
    }

    /// A DELETE request to `path`, signed.
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.signed(reqwest::Method::DELETE, path)
    }
}
