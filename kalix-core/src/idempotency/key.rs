//! An idempotency key as the runtime reads it: checked, scoped, with the digest of its request.

use sha2::{Digest, Sha256};

use crate::error::CallError;
use crate::metadata::Metadata;
use crate::status::ErrorCode;

/// The response header (and metadata entry) marking a kept reply answered again.
pub(crate) const REPLAYED: &str = "Idempotency-Replayed";

/// The longest idempotency key accepted, in characters.
pub(crate) const MAX_KEY_LEN: usize = 255;

/// A command's idempotency key with its scope and the digest of its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CommandKey {
    /// The key as the caller sent it.
    pub key: String,
    /// What the reply is kept under: the handler, the path parameters and the key, as a JSON
    /// array (unambiguous whatever the values hold).
    pub scope: String,
    /// The hex SHA-256 (first 128 bits) of the body and the query.
    pub fingerprint: String,
    /// Whether a 4xx is kept too: for a client's request, not for a component call.
    pub keeps_refusals: bool,
}

/// A key is 1 to 255 printable ASCII characters (an `sf-string` of the IETF draft).
pub(crate) fn check(key: &str) -> Result<(), CallError> {
    let refuse = |what: String| {
        Err(CallError::new(
            ErrorCode::BAD_REQUEST,
            format!(
                "Invalid {}: {what}; a key is 1 to {MAX_KEY_LEN} printable ASCII characters",
                Metadata::IDEMPOTENCY_KEY
            ),
        ))
    };
    if key.is_empty() {
        return refuse("it is empty".to_owned());
    }
    if let Some(bad) = key.chars().find(|c| !(' '..='~').contains(c)) {
        return refuse(format!("it holds {bad:?}"));
    }
    if key.len() > MAX_KEY_LEN {
        return refuse(format!("it has {} characters", key.len()));
    }
    Ok(())
}

/// The digest of a request: its body, then each query value.
pub(crate) fn fingerprint(body: &[u8], query: &[(String, String)]) -> String {
    let mut digest = Sha256::new();
    digest.update(body);
    for (name, value) in query {
        digest.update([0]);
        digest.update(name.as_bytes());
        digest.update([b'=']);
        digest.update(value.as_bytes());
    }
    digest.finalize()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_one_to_255_printable_ascii_characters() {
        assert!(check("k1").is_ok());
        assert!(check(" a b ~").is_ok());
        assert!(check(&"x".repeat(255)).is_ok());
        for bad in ["", "caf\u{e9}", "tab\there", "nl\n"] {
            let error = check(bad).unwrap_err();
            assert_eq!(error.status(), 400, "{bad:?}");
            assert!(error.description().contains("printable ASCII"), "{error}");
        }
        assert!(
            check(&"x".repeat(256))
                .unwrap_err()
                .description()
                .contains("256 characters")
        );
    }

    #[test]
    fn the_digest_tells_bodies_and_queries_apart() {
        let none: &[(String, String)] = &[];
        let a = fingerprint(br#"{"value":5}"#, none);
        assert_eq!(a, fingerprint(br#"{"value":5}"#, none));
        assert_eq!(a.len(), 32);
        assert_ne!(a, fingerprint(br#"{"value":6}"#, none));
        let query = [("x".to_owned(), "1".to_owned())];
        assert_ne!(a, fingerprint(br#"{"value":5}"#, &query));
    }
}
