//! Metadata travelling with a call: forwarded request headers in, response headers and a
//! success status out.

use serde::{Deserialize, Serialize};

use crate::status::SuccessCode;

/// Key-value entries attached to a call or a reply, like HTTP headers.
///
/// Keys compare case-insensitively; a key may hold several values. On the way in, a component
/// sees the request headers it listed in `forward_headers`; on the way out, the entries of a
/// reply's metadata become response headers and [`Metadata::with_status_code`] picks the 2xx
/// status.
///
/// ```
/// use kalix_core::{Metadata, SuccessCode};
///
/// let metadata = Metadata::new().add("Role", "Admin").with_status_code(SuccessCode::ACCEPTED);
/// assert_eq!(metadata.get("role"), Some("Admin"));
/// assert_eq!(metadata.status_code(), Some(SuccessCode::ACCEPTED));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    entries: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status_code: Option<SuccessCode>,
    /// Who made the call: set by the ingress from verified tokens only, never from an entry, and
    /// never stored (a call read back from the store is the service's own).
    #[serde(skip)]
    caller: crate::access::Caller,
    /// The command's idempotency scope and request digest: set by the dispatcher for the call
    /// it runs, from the `Idempotency-Key` entry, and never stored.
    #[serde(skip)]
    command_key: Option<std::sync::Arc<crate::idempotency::key::CommandKey>>,
}

impl Metadata {
    /// The CloudEvents attribute naming the entity a change or event is about.
    pub const CE_SUBJECT: &'static str = "ce-subject";
    /// The CloudEvents attribute naming a message's type (an event's serde tag).
    pub const CE_TYPE: &'static str = "ce-type";
    /// The CloudEvents `sequence` extension: an entity's event sequence number, or its state's
    /// version, in the changes a subscription delivers.
    pub const CE_SEQUENCE: &'static str = "ce-sequence";
    /// The CloudEvents attribute giving a message's id, unique per source.
    pub const CE_ID: &'static str = "ce-id";
    /// The entry (and HTTP header) carrying a command's idempotency key: an entity keeps the
    /// reply to a command with a key, and answers a command with the same key with it again
    /// (see [`DeferredCall::with_idempotency_key`](crate::DeferredCall::with_idempotency_key)).
    pub const IDEMPOTENCY_KEY: &'static str = "Idempotency-Key";

    /// Empty metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns this metadata with one more entry (builder style, like Kalix's `Metadata.add`).
    #[must_use]
    pub fn add(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.append(key, value);
        self
    }

    /// Adds an entry, keeping any other values of the same key.
    pub fn append(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.push((key.into(), value.into()));
    }

    /// Sets the only value of a key, replacing what it held.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        self.remove(&key);
        self.entries.push((key, value.into()));
    }

    /// Adds every entry of `other`, replacing the values of the keys it sets; its status code,
    /// if set, replaces this one's.
    pub fn merge(&mut self, other: Metadata) {
        for (key, _) in &other.entries {
            self.remove(key);
        }
        self.entries.extend(other.entries);
        if other.status_code.is_some() {
            self.status_code = other.status_code;
        }
    }

    /// Removes every value of a key.
    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
    }

    /// The first value of a key, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a key, in the order they were added.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the key has at least one value.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// All entries, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are no entries and no status code.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.status_code.is_none()
    }

    /// Returns this metadata with the success status a reply should be sent with.
    #[must_use]
    pub fn with_status_code(mut self, code: SuccessCode) -> Self {
        self.status_code = Some(code);
        self
    }

    /// The success status set with [`Metadata::with_status_code`], if any.
    pub fn status_code(&self) -> Option<SuccessCode> {
        self.status_code
    }

    /// Who made the call: the internet, another service (by its verified token), or this
    /// service itself (the default).
    pub fn principals(&self) -> &crate::access::Principals {
        &self.caller.principals
    }

    /// The claims of the call's verified bearer token (empty unless its handler has `#[jwt]`).
    pub fn jwt_claims(&self) -> &crate::access::JwtClaims {
        &self.caller.claims
    }

    /// Marks the call as made by `principals` with `claims`: the ingress does, after verifying.
    pub(crate) fn set_caller(
        &mut self,
        principals: crate::access::Principals,
        claims: crate::access::JwtClaims,
    ) {
        self.caller = crate::access::Caller { principals, claims };
    }

    /// The idempotency scope the dispatcher made for the call, if it carries a key its handler
    /// takes.
    pub(crate) fn command_key(
        &self,
    ) -> Option<&std::sync::Arc<crate::idempotency::key::CommandKey>> {
        self.command_key.as_ref()
    }

    /// Sets (or clears) the call's idempotency scope: the dispatcher does, for every call.
    pub(crate) fn set_command_key(
        &mut self,
        key: Option<std::sync::Arc<crate::idempotency::key::CommandKey>>,
    ) {
        self.command_key = key;
    }

    /// A copy marked as made by `principals` with `claims`: what the unit testkits hand a
    /// handler to test its access rules.
    #[doc(hidden)]
    pub fn with_caller(
        mut self,
        principals: crate::access::Principals,
        claims: crate::access::JwtClaims,
    ) -> Self {
        self.set_caller(principals, claims);
        self
    }
}
