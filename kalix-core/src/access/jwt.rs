//! Bearer tokens: the keys a service verifies them with (a JWKS document), the verified claims
//! a handler reads, and the rules `#[jwt]` writes (issuers, required claims).

use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::service_token::LEEWAY_SECONDS;

/// The claims of a request's verified bearer token, as `ctx.jwt_claims()` gives them; empty when
/// the handler asks for no token.
///
/// ```
/// use kalix_core::access::JwtClaims;
/// use serde_json::json;
///
/// let claims = JwtClaims::from_value(json!({"sub": "ann", "iss": "https://auth.example.com", "roles": ["admin"]}));
/// assert_eq!(claims.subject(), Some("ann"));
/// assert_eq!(claims.get::<Vec<String>>("roles"), Some(vec!["admin".to_owned()]));
/// assert_eq!(claims.get::<u64>("roles"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwtClaims(Option<Arc<Map<String, Value>>>);

impl JwtClaims {
    /// Claims from a JSON object (anything else is no claims): for tests.
    pub fn from_value(value: Value) -> Self {
        match value {
            Value::Object(map) => Self(Some(Arc::new(map))),
            _ => Self(None),
        }
    }

    /// The `sub` claim.
    pub fn subject(&self) -> Option<&str> {
        self.raw("sub")?.as_str()
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> Option<&str> {
        self.raw("iss")?.as_str()
    }

    /// The claim `name` as a `T`, if it is there and is one.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        T::deserialize(self.raw(name)?).ok()
    }

    /// The claim `name` as JSON.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.0.as_ref()?.get(name)
    }

    /// Whether there are no claims (the call carried no token, or its handler asks for none).
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|claims| claims.is_empty())
    }
}

/// What `#[jwt(issuer = .., claim(..))]` asks of a call's bearer token.
#[derive(Debug)]
pub struct JwtRule {
    issuers: &'static [&'static str],
    claims: &'static [ClaimRule],
}

/// One `claim(name = .., values = [..])` or `claim(name = .., pattern = ..)` of a [`JwtRule`].
#[derive(Debug)]
pub struct ClaimRule {
    /// The claim's name.
    pub name: &'static str,
    /// What it must hold.
    pub check: ClaimCheck,
}

/// What a claim must hold.
#[derive(Debug)]
pub enum ClaimCheck {
    /// Every listed value: a string claim equals the one value, an array claim contains them all.
    Values(&'static [&'static str]),
    /// A regular expression that a string claim, or one element of an array claim, matches.
    Pattern(&'static str),
}

impl JwtRule {
    /// What `#[jwt]` generates.
    #[doc(hidden)]
    pub const fn new(issuers: &'static [&'static str], claims: &'static [ClaimRule]) -> Self {
        Self { issuers, claims }
    }

    /// The issuers it accepts (any, when empty).
    pub fn issuers(&self) -> &'static [&'static str] {
        self.issuers
    }

    /// The claims it requires.
    pub fn claims(&self) -> &'static [ClaimRule] {
        self.claims
    }
}

impl ClaimCheck {
    /// Whether `claim` holds, `pattern` being this check's compiled pattern.
    pub(crate) fn holds(&self, claim: Option<&Value>, pattern: Option<&regex::Regex>) -> bool {
        let Some(claim) = claim else { return false };
        match (self, claim) {
            (ClaimCheck::Values(values), Value::String(one)) => {
                values.len() == 1 && values[0] == one
            }
            (ClaimCheck::Values(values), Value::Array(items)) => values
                .iter()
                .all(|value| items.iter().any(|item| item.as_str() == Some(value))),
            (ClaimCheck::Pattern(_), Value::String(one)) => {
                pattern.is_some_and(|p| p.is_match(one))
            }
            (ClaimCheck::Pattern(_), Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .any(|item| pattern.is_some_and(|p| p.is_match(item))),
            _ => false,
        }
    }
}

/// Why a bearer token was refused: a 401 unless it is `Claims` (a 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerRefused {
    /// No `Authorization: Bearer` header.
    Missing,
    /// The token is there but not acceptable; the text says why.
    Invalid(String),
    /// The token is valid but its claims do not satisfy the handler; the text says which.
    Claims(String),
}

/// A verifying key of the JWKS, with what it may verify.
#[derive(Clone)]
struct VerifyingKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

/// The keys a service verifies bearer tokens with, from a JWKS document
/// (`KALIX_JWT_KEYS`). Each key verifies only the algorithms its type fits: an RSA key never
/// serves as an HMAC secret, and `alg: none` is never accepted.
#[derive(Clone, Default)]
pub struct JwtKeys {
    keys: Vec<VerifyingKey>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("kids", &self.kids())
            .finish()
    }
}

impl JwtKeys {
    /// The keys of a JWKS document (`{"keys": [...]}`); a key of a type or curve not supported
    /// is an error, so a mistake is found at start rather than as 401s.
    pub fn from_jwks(json: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for (name, jwk) in named_keys(json)? {
            keys.push(verifying_key(&jwk).map_err(|why| format!("key {name}: {why}"))?);
        }
        Ok(Self { keys })
    }

    /// The keys of a JWKS document an identity provider publishes (`KALIX_JWT_JWKS_URL`):
    /// keys for encryption (`use: enc`) or of a type not supported are left out, not refused,
    /// since providers publish such keys beside the signing ones. The second value names them.
    pub fn from_published_jwks(json: &str) -> Result<(Self, Vec<String>), String> {
        let (mut keys, mut left_out) = (Vec::new(), Vec::new());
        for (name, jwk) in named_keys(json)? {
            if jwk.common.public_key_use == Some(jsonwebtoken::jwk::PublicKeyUse::Encryption) {
                left_out.push(format!("key {name}: it is for encryption"));
                continue;
            }
            match verifying_key(&jwk) {
                Ok(key) => keys.push(key),
                Err(why) => left_out.push(format!("key {name}: {why}")),
            }
        }
        Ok((Self { keys }, left_out))
    }

    /// Whether a key has the id `kid`.
    pub fn knows_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The ids of its keys, in order (`None` for a key without one).
    pub fn kids(&self) -> Vec<Option<&str>> {
        self.keys.iter().map(|k| k.kid.as_deref()).collect()
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Adds the keys of another document.
    pub fn extend(&mut self, other: JwtKeys) {
        self.keys.extend(other.keys);
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The claims of `token` if one of the keys verifies it and it is in date (30 s leeway;
    /// `exp` required). Issuers and claims are checked against the route's `#[jwt]` after.
    pub fn verify(&self, token: &str) -> Result<JwtClaims, BearerRefused> {
        let invalid = |why: &str| BearerRefused::Invalid(why.to_owned());
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid("the bearer token is not a JWT with a supported alg"))?;
        let candidates: Vec<&VerifyingKey> = match &header.kid {
            Some(kid) => {
                let found: Vec<_> = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .collect();
                if found.is_empty() {
                    return Err(invalid(&format!(
                        "the bearer token's key id `{kid}` is unknown"
                    )));
                }
                found
            }
            None => self.keys.iter().collect(),
        };
        let mut fitting = candidates
            .into_iter()
            .filter(|k| k.algorithms.contains(&header.alg))
            .peekable();
        if fitting.peek().is_none() {
            return Err(invalid(&format!(
                "no key here verifies the bearer token's alg {:?}",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        let mut last = invalid("the bearer token's signature does not verify");
        for key in fitting {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => return Ok(JwtClaims(Some(Arc::new(data.claims)))),
                Err(error) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = invalid(match error.kind() {
                        ErrorKind::ExpiredSignature => "the bearer token has expired",
                        ErrorKind::ImmatureSignature => "the bearer token is not valid yet",
                        ErrorKind::MissingRequiredClaim(_) => "the bearer token has no `exp`",
                        ErrorKind::InvalidClaimFormat(_) => {
                            "the bearer token has a malformed claim"
                        }
                        _ => "the bearer token's signature does not verify",
                    });
                    // In date or not is the same under every key: only a signature tries on.
                    if !matches!(
                        error.kind(),
                        ErrorKind::InvalidSignature
                            | ErrorKind::InvalidEcdsaKey
                            | ErrorKind::InvalidRsaKey(_)
                            | ErrorKind::InvalidEddsaKey
                    ) {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}

/// The keys of a JWKS document, each with a name for messages: its `kid`, else its place.
fn named_keys(json: &str) -> Result<Vec<(String, Jwk)>, String> {
    let set: JwkSet =
        serde_json::from_str(json).map_err(|error| format!("not a JWKS document: {error}"))?;
    Ok(set
        .keys
        .into_iter()
        .enumerate()
        .map(|(at, jwk)| {
            let name = jwk
                .common
                .key_id
                .clone()
                .unwrap_or_else(|| format!("#{at}"));
            (name, jwk)
        })
        .collect())
}

fn verifying_key(jwk: &Jwk) -> Result<VerifyingKey, String> {
    use jsonwebtoken::jwk::KeyAlgorithm as K;
    let algorithms = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return Err("only the curves P-256 and P-384 are supported".to_owned()),
        },
        AlgorithmParameters::OctetKeyPair(okp) => {
            if okp.curve != EllipticCurve::Ed25519 {
                return Err("only the OKP curve Ed25519 is supported".to_owned());
            }
            let x =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &okp.x)
                    .map_err(|_| "its `x` is not base64url".to_owned())?;
            if x.len() != 32 {
                return Err("its `x` is not 32 bytes".to_owned());
            }
            vec![Algorithm::EdDSA]
        }
        AlgorithmParameters::OctetKey(_) => vec![Algorithm::HS256],
        _ => return Err("its key type is not supported".to_owned()),
    };
    // A key that names its algorithm verifies only that one.
    let algorithms = match jwk.common.key_algorithm {
        None => algorithms,
        Some(named) => {
            let named = match named {
                K::RS256 => Algorithm::RS256,
                K::RS384 => Algorithm::RS384,
                K::RS512 => Algorithm::RS512,
                K::ES256 => Algorithm::ES256,
                K::ES384 => Algorithm::ES384,
                K::EdDSA => Algorithm::EdDSA,
                K::HS256 => Algorithm::HS256,
                other => return Err(format!("its alg {other:?} is not supported")),
            };
            if !algorithms.contains(&named) {
                return Err(format!("its alg {named:?} does not fit its key type"));
            }
            vec![named]
        }
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|error| format!("not a usable key: {error}"))?;
    Ok(VerifyingKey {
        kid: jwk.common.key_id.clone(),
        key,
        algorithms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(jwk: serde_json::Value) -> Result<JwtKeys, String> {
        JwtKeys::from_jwks(&serde_json::json!({ "keys": [jwk] }).to_string())
    }

    #[test]
    fn a_key_whose_alg_does_not_fit_its_type_is_refused_at_start() {
        let rsa = serde_json::json!({"kty": "RSA", "kid": "r", "n": "sXch", "e": "AQAB"});
        assert!(keys(rsa.clone()).is_ok());
        let mut as_hmac = rsa;
        as_hmac["alg"] = "HS256".into();
        let refused = keys(as_hmac).unwrap_err();
        assert!(
            refused.contains("key r") && refused.contains("does not fit"),
            "{refused}"
        );
        let okp = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"});
        assert!(keys(okp).unwrap_err().contains("32 bytes"));
        assert!(JwtKeys::from_jwks("{}").unwrap_err().contains("JWKS"));
    }

    #[test]
    fn a_published_jwks_leaves_out_what_cannot_verify_and_keeps_the_rest() {
        let jwks = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "sig", "n": "sXch", "e": "AQAB", "use": "sig"},
            {"kty": "RSA", "kid": "enc", "n": "sXch", "e": "AQAB", "use": "enc"},
            {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
        ]});
        let (keys, left_out) = JwtKeys::from_published_jwks(&jwks.to_string()).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys.knows_kid("sig") && !keys.knows_kid("enc"));
        assert_eq!(left_out.len(), 2, "{left_out:?}");
        assert!(left_out[0].contains("encryption"), "{left_out:?}");
        assert!(JwtKeys::from_published_jwks("[]").is_err());
    }

    #[test]
    fn alg_none_or_no_jwt_at_all_is_invalid() {
        let none = "eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9.";
        let empty = JwtKeys::default();
        assert!(matches!(empty.verify(none), Err(BearerRefused::Invalid(_))));
        assert!(matches!(empty.verify("x"), Err(BearerRefused::Invalid(_))));
    }
}
