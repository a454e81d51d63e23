//! Service identity: a service signs the calls it makes to another with its Ed25519 key, and
//! the other accepts them as that service's only if it trusts the key under that name.
//!
//! The token is a JWT in `Kalix-Service-Token`: header `{"alg":"EdDSA","typ":"JWT"}`, claims
//! `{"iss": <caller's service name>, "aud": <request path, no query>, "iat": <s>, "exp": <s>}`,
//! valid for 60 s. The receiver checks the issuer is in its trust list, the signature with that
//! issuer's key, the audience against the path it serves, and the times with 30 s of leeway. A
//! token bound to one path and a minute cannot be replayed elsewhere or for long.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The header a call to another service carries its token in.
pub const SERVICE_TOKEN_HEADER: &str = "Kalix-Service-Token";

/// How long a token this service mints is valid, in seconds.
const LIFETIME_SECONDS: u64 = 60;

/// Clock difference tolerated between two services, in seconds.
pub(crate) const LEEWAY_SECONDS: u64 = 30;

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

/// This service's signing key and name: what it signs its calls to other services with.
#[derive(Clone)]
pub struct ServiceKey {
    name: String,
    signing: EncodingKey,
    public: [u8; 32],
}

impl std::fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key never reaches a log.
        f.debug_struct("ServiceKey")
            .field("name", &self.name)
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl ServiceKey {
    /// The key of an Ed25519 private key in a PKCS#8 PEM document (`openssl genpkey -algorithm
    /// ed25519`), signing as the service `name`.
    pub fn from_pkcs8_pem(name: impl Into<String>, pem: &str) -> Result<Self, String> {
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map_err(|error| format!("not an Ed25519 private key in PKCS#8 PEM: {error}"))?;
        Ok(Self::from_signing_key(name.into(), &key))
    }

    /// A key from its 32 secret bytes (for tests and tools that make their own).
    pub fn from_secret_bytes(name: impl Into<String>, secret: &[u8; 32]) -> Self {
        Self::from_signing_key(name.into(), &ed25519_dalek::SigningKey::from_bytes(secret))
    }

    fn from_signing_key(name: String, key: &ed25519_dalek::SigningKey) -> Self {
        // jsonwebtoken takes the key as a PKCS#8 document's DER.
        let der = ed25519_dalek::pkcs8::EncodePrivateKey::to_pkcs8_der(key)
            .expect("an Ed25519 key encodes");
        Self {
            name,
            signing: EncodingKey::from_ed_der(der.as_bytes()),
            public: key.verifying_key().to_bytes(),
        }
    }

    /// The name it signs as.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key as other services list it in `KALIX_TRUSTED_SERVICES`: the 32 raw bytes
    /// in base64url without padding.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public)
    }

    /// A token for one call to `path` (without its query) of another service.
    pub fn token_for(&self, path: &str) -> String {
        let iat = now();
        let claims = Claims {
            iss: self.name.clone(),
            aud: path.to_owned(),
            iat,
            exp: iat + LIFETIME_SECONDS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.signing)
            .expect("an Ed25519 key signs")
    }
}

impl ServiceKey {
    /// A JWT of `claims` signed with this key (EdDSA), its header naming `kid`: how the testkit
    /// mints bearer tokens for a JWKS holding [`Self::jwk`].
    #[doc(hidden)]
    pub fn sign_claims(&self, kid: &str, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.signing).expect("an Ed25519 key signs")
    }

    /// The public key as a JWK (`kty: OKP`, `crv: Ed25519`) with `kid`.
    #[doc(hidden)]
    pub fn jwk(&self, kid: &str) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "kid": kid,
            "x": self.public_key(),
        })
    }
}

/// Why a service token was refused (each a 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRefused(pub String);

impl std::fmt::Display for TokenRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The services whose tokens this one accepts, each by name with its public key.
#[derive(Clone, Default)]
pub struct TrustedServices {
    keys: HashMap<String, DecodingKey>,
    /// A key that may sign as any name (the testkit's, never set from configuration).
    any_name: Option<DecodingKey>,
}

impl std::fmt::Debug for TrustedServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.keys.keys().collect();
        names.sort();
        f.debug_struct("TrustedServices")
            .field("names", &names)
            .finish_non_exhaustive()
    }
}

impl TrustedServices {
    /// The list as `KALIX_TRUSTED_SERVICES` writes it: `billing=<key>,shipping=<key>`, each key
    /// the 32 raw bytes of an Ed25519 public key in base64url without padding.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut trusted = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((name, key)) = entry.split_once('=') else {
                return Err(format!("expected `name=key`, got `{entry}`"));
            };
            let (name, key) = (name.trim(), key.trim());
            if name.is_empty() {
                return Err(format!("a key without a service name: `{entry}`"));
            }
            trusted.trust(name, key)?;
        }
        Ok(trusted)
    }

    /// Trusts `name`'s tokens signed with `public_key` (base64url, 32 bytes).
    pub fn trust(&mut self, name: &str, public_key: &str) -> Result<(), String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(public_key)
            .map_err(|_| format!("the key of `{name}` is not base64url without padding"))?;
        if bytes.len() != 32 {
            return Err(format!(
                "the key of `{name}` has {} bytes; an Ed25519 public key has 32",
                bytes.len()
            ));
        }
        self.keys
            .insert(name.to_owned(), DecodingKey::from_ed_der(&bytes));
        Ok(())
    }

    /// Trusts tokens signed by `key` whatever name they carry: how the testkit signs as any
    /// service. Never set from configuration.
    #[doc(hidden)]
    pub fn trust_any_name_signed_by(&mut self, key: &ServiceKey) {
        self.any_name = Some(DecodingKey::from_ed_der(&key.public));
    }

    /// Whether no service is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.any_name.is_none()
    }

    /// The service a token for `path` proves the caller to be.
    pub fn verify(&self, token: &str, path: &str) -> Result<String, TokenRefused> {
        let refused = |why: &str| TokenRefused(format!("the {SERVICE_TOKEN_HEADER} {why}"));
        // The issuer picks the key; the signature check below is what makes it true.
        let unverified: Claims = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| refused("is not a JWT with iss, aud, iat and exp"))?;
        let keys: Vec<&DecodingKey> = self
            .keys
            .get(&unverified.iss)
            .into_iter()
            .chain(&self.any_name)
            .collect();
        if keys.is_empty() {
            return Err(refused(&format!(
                "names `{}`, a service not trusted here",
                unverified.iss
            )));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_audience(&[path]);
        validation.set_issuer(&[&unverified.iss]);
        validation.set_required_spec_claims(&["iss", "aud", "exp"]);
        // The configured key first; the testkit's signs as any name.
        // The configured key first (its refusal is the one told); the testkit's signs as any name.
        let mut first_refusal = None;
        let mut claims = None;
        for key in keys {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    claims = Some(data.claims);
                    break;
                }
                Err(error) => {
                    first_refusal.get_or_insert_with(|| refused(&describe(&error, path)));
                }
            }
        }
        let Some(claims) = claims else {
            return Err(first_refusal.unwrap_or_else(|| refused("does not verify")));
        };
        let now = now();
        if claims.iat > now + LEEWAY_SECONDS {
            return Err(refused("is issued in the future"));
        }
        if claims.exp.saturating_sub(claims.iat) > LIFETIME_SECONDS {
            return Err(refused("is valid for more than 60 seconds"));
        }
        Ok(claims.iss)
    }
}

fn describe(error: &jsonwebtoken::errors::Error, path: &str) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature => "has a signature that does not verify".to_owned(),
        ErrorKind::ExpiredSignature => "has expired".to_owned(),
        ErrorKind::ImmatureSignature => "is not valid yet".to_owned(),
        ErrorKind::InvalidAudience => format!("is for another path than {path}"),
        ErrorKind::InvalidAlgorithm => "is not signed with EdDSA".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("lacks its `{claim}` claim"),
        _ => "is not a valid token".to_owned(),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, seed: u8) -> ServiceKey {
        ServiceKey::from_secret_bytes(name, &[seed; 32])
    }

    #[test]
    fn a_trusted_services_token_for_the_path_names_it() {
        let billing = key("billing", 1);
        let trusted = TrustedServices::parse(&format!(
            "billing={}, shipping={}",
            billing.public_key(),
            key("shipping", 2).public_key()
        ))
        .unwrap();
        let token = billing.token_for("/internal/hello/ann");
        assert_eq!(
            trusted.verify(&token, "/internal/hello/ann").unwrap(),
            "billing"
        );
        // Bound to its path.
        assert!(
            trusted
                .verify(&token, "/other")
                .unwrap_err()
                .0
                .contains("another path")
        );
    }

    #[test]
    fn a_forged_or_unknown_signer_is_refused() {
        let trusted =
            TrustedServices::parse(&format!("billing={}", key("billing", 1).public_key())).unwrap();
        // Signs as billing with another key.
        let forged = key("billing", 9).token_for("/p");
        assert!(
            trusted
                .verify(&forged, "/p")
                .unwrap_err()
                .0
                .contains("signature")
        );
        let stranger = key("stranger", 3).token_for("/p");
        assert!(
            trusted
                .verify(&stranger, "/p")
                .unwrap_err()
                .0
                .contains("not trusted")
        );
        assert!(trusted.verify("not-a-token", "/p").is_err());
    }

    #[test]
    fn a_bad_trust_list_says_what_is_wrong() {
        assert!(
            TrustedServices::parse("billing")
                .unwrap_err()
                .contains("name=key")
        );
        assert!(
            TrustedServices::parse("billing=AAAA")
                .unwrap_err()
                .contains("32")
        );
        assert!(
            TrustedServices::parse("billing=***")
                .unwrap_err()
                .contains("base64url")
        );
        assert!(TrustedServices::parse("").unwrap().is_empty());
    }

    #[test]
    fn a_pkcs8_pem_key_signs_and_prints_its_public_key() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBERERERERERERERERERERERERERERERERERERERERER\n-----END PRIVATE KEY-----\n";
        let from_pem = ServiceKey::from_pkcs8_pem("billing", pem).unwrap();
        assert_eq!(from_pem.public_key(), key("billing", 0x11).public_key());
        assert!(ServiceKey::from_pkcs8_pem("billing", "nope").is_err());
    }
}
