//! Bearer tokens: the testkit's, RS256 and HS256 from the configured JWKS, and every way a
//! token can be wrong.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::acl::unsigned;
use crate::{now, read, start};

pub const ISSUER: &str = "https://auth.example.com";

pub fn rs256(claims: &Value, kid: &str) -> String {
    let key = EncodingKey::from_rsa_pem(include_bytes!("keys/rsa-private.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

pub fn hs256(claims: &Value, kid: &str, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

pub fn claims(extra: Value) -> Value {
    let mut claims = json!({"sub": "ann", "iss": ISSUER, "iat": now(), "exp": now() + 300});
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

#[tokio::test]
async fn a_valid_token_from_the_issuer_shows_its_claims() {
    let testkit = start().await;
    let hmac_secret = b"secret-of-the-hmac-key-for-tests-only";
    for (kind, token) in [
        (
            "testkit EdDSA",
            testkit.bearer(json!({"sub": "ann", "iss": ISSUER})),
        ),
        ("RS256", rs256(&claims(json!({})), "rsa-1")),
        ("HS256", hs256(&claims(json!({})), "hmac-1", hmac_secret)),
    ] {
        let response = testkit
            .get("/jwt/me")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let (status, _, body) = read(response).await;
        assert_eq!(
            (status, body),
            (200, json!({"subject": "ann", "issuer": ISSUER})),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn a_missing_or_invalid_token_is_a_401_that_says_why() {
    let testkit = start().await;
    let response = testkit.get("/jwt/me").send().await.unwrap();
    let (status, challenge, body) = read(response).await;
    assert_eq!(status, 401);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("requires a bearer token")
    );

    let rsa_public_n = {
        let jwks: Value = serde_json::from_str(include_str!("keys/jwks.json")).unwrap();
        jwks["keys"][0]["n"].as_str().unwrap().to_owned()
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed", "not.a.jwt".to_owned(), "not a JWT"),
        ("alg none", unsigned(&claims(json!({}))), "not a JWT"),
        (
            "expired",
            testkit.bearer(
                json!({"sub": "ann", "iss": ISSUER, "iat": now() - 900, "exp": now() - 600}),
            ),
            "expired",
        ),
        (
            "not yet valid",
            testkit.bearer(json!({"sub": "ann", "iss": ISSUER, "nbf": now() + 600})),
            "not valid yet",
        ),
        (
            "no exp",
            rs256(&json!({"sub": "ann", "iss": ISSUER}), "rsa-1"),
            "exp",
        ),
        (
            "wrong issuer",
            testkit.bearer(json!({"sub": "ann", "iss": "https://evil.example.com"})),
            "issuer",
        ),
        ("no issuer", testkit.bearer(json!({"sub": "ann"})), "issuer"),
        ("unknown kid", rs256(&claims(json!({})), "rsa-9"), "unknown"),
        (
            "bad signature",
            hs256(&claims(json!({})), "hmac-1", b"another-secret"),
            "signature",
        ),
        // The RSA public key used as an HMAC secret: the key's type does not fit the alg.
        (
            "RSA key as HMAC secret",
            hs256(&claims(json!({})), "rsa-1", rsa_public_n.as_bytes()),
            "alg",
        ),
        (
            "RSA key as HMAC secret, DER",
            hs256(
                &claims(json!({})),
                "rsa-1",
                include_bytes!("keys/rsa-private.pem"),
            ),
            "alg",
        ),
    ];
    for (case, token, says) in cases {
        let response = testkit
            .get("/jwt/me")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let (status, challenge, body) = read(response).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert_eq!(
            challenge.as_deref(),
            Some("Bearer error=\"invalid_token\""),
            "{case}"
        );
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{case}: {detail}");
        assert!(
            !detail.contains(&token),
            "{case}: the token is never echoed"
        );
    }
    let response = testkit
        .get("/jwt/me")
        .header("Authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "not a bearer scheme");
}

#[tokio::test]
async fn claims_the_route_requires_are_a_403_when_missing() {
    let testkit = start().await;
    let testkit = &testkit;
    let call = |path: &'static str, extra: Value| {
        let token = testkit.bearer(claims(extra));
        async move {
            let response = testkit.get(path).bearer_auth(token).send().await.unwrap();
            read(response).await
        }
    };
    let (status, _, body) = call("/jwt/admin", json!({"role": "admin"})).await;
    assert_eq!((status, body), (200, json!({"subject": "ann"})));
    assert_eq!(
        call("/jwt/admin", json!({"role": ["reader", "admin"]}))
            .await
            .0,
        200
    );
    for role in [json!("user"), json!(["user"]), json!(null), json!(1)] {
        let (status, challenge, body) = call("/jwt/admin", json!({"role": role})).await;
        assert_eq!(status, 403, "role {role}: {body}");
        assert_eq!(
            challenge.as_deref(),
            Some("Bearer error=\"insufficient_scope\"")
        );
        assert!(body["detail"].as_str().unwrap().contains("`role`"));
    }
    assert_eq!(call("/jwt/admin", json!({})).await.0, 403, "no role at all");
    assert_eq!(
        call("/jwt/staff", json!({"email": "ann@example.com"}))
            .await
            .0,
        200
    );
    assert_eq!(
        call(
            "/jwt/staff",
            json!({"email": ["x@other.org", "ann@example.com"]})
        )
        .await
        .0,
        200
    );
    for email in [
        "ann@evil.com",
        "ann@example.com.evil.com",
        "ann@exampleXcom",
    ] {
        assert_eq!(
            call("/jwt/staff", json!({"email": email})).await.0,
            403,
            "{email}"
        );
    }
}
