//! Access control lists: who may call a handler, by principal.

use std::borrow::Cow;

use super::Principals;
use crate::status::ErrorCode;

/// Who may call: a list of allowed and of denied principals, and the status a denied call gets.
///
/// A call is allowed when one of its principals matches an `allow` and none matches a `deny`
/// (Kalix's rule); an ACL with no `allow` stops every call from outside. Calls made inside the
/// service are never stopped. Written on components and handlers as
/// `#[acl(allow(principal = "internet"), deny(service = "legacy-*"), deny_code = 404)]`; the
/// service's default is set with [`Service::default_acl`](crate::Service::default_acl).
///
/// ```
/// use kalix_core::access::{Acl, Matcher, Principals};
///
/// let acl = Acl::new()
///     .allow(Matcher::service("*"))
///     .deny(Matcher::service("legacy-*"));
/// assert!(acl.allows(&Principals::from_service("billing")));
/// assert!(!acl.allows(&Principals::from_service("legacy-billing")));
/// assert!(!acl.allows(&Principals::internet()));
/// assert!(acl.allows(&Principals::own_service()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    allow: Cow<'static, [Matcher]>,
    deny: Cow<'static, [Matcher]>,
    deny_code: Option<ErrorCode>,
}

/// One principal pattern of an [`Acl`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    /// `principal = "internet"`: a call that proved no service identity.
    Internet,
    /// `principal = "all"`: any call, from the internet or a service.
    All,
    /// `service = "<glob>"`: a service whose name matches; `*` matches any run of characters.
    Service(Cow<'static, str>),
}

impl Matcher {
    /// `service = glob`: services whose name matches (`*` alone: any service).
    pub fn service(glob: impl Into<Cow<'static, str>>) -> Self {
        Self::Service(glob.into())
    }

    fn matches(&self, principals: &Principals) -> bool {
        match self {
            Matcher::All => true,
            Matcher::Internet => principals.is_internet(),
            Matcher::Service(glob) => principals
                .service()
                .is_some_and(|name| glob_match(glob, name)),
        }
    }
}

impl Acl {
    /// An ACL that allows nothing yet (calls from inside the service are always allowed).
    pub fn new() -> Self {
        Self::default()
    }

    /// What `#[acl]` generates: the lists as written.
    #[doc(hidden)]
    pub const fn from_static(
        allow: &'static [Matcher],
        deny: &'static [Matcher],
        deny_code: Option<ErrorCode>,
    ) -> Self {
        Self {
            allow: Cow::Borrowed(allow),
            deny: Cow::Borrowed(deny),
            deny_code,
        }
    }

    /// Allows calls matching `matcher` (unless a deny matches them too).
    #[must_use]
    pub fn allow(mut self, matcher: Matcher) -> Self {
        self.allow.to_mut().push(matcher);
        self
    }

    /// Denies calls matching `matcher`, whatever allows them.
    #[must_use]
    pub fn deny(mut self, matcher: Matcher) -> Self {
        self.deny.to_mut().push(matcher);
        self
    }

    /// The status a denied call gets (403 unless set; 404 hides that the route exists).
    #[must_use]
    pub fn deny_code(mut self, code: ErrorCode) -> Self {
        self.deny_code = Some(code);
        self
    }

    /// Whether a call from `principals` may go on.
    pub fn allows(&self, principals: &Principals) -> bool {
        principals.is_self()
            || (self.allow.iter().any(|m| m.matches(principals))
                && !self.deny.iter().any(|m| m.matches(principals)))
    }

    /// The status this ACL sets for a denied call, if it sets one.
    pub fn denied_status(&self) -> Option<ErrorCode> {
        self.deny_code
    }
}

/// `*` matches any run of characters (none included); every other character itself.
fn glob_match(glob: &str, name: &str) -> bool {
    let mut parts = glob.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole name.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_matches_stars_as_any_run_and_the_rest_exactly() {
        for (glob, name, expected) in [
            ("*", "billing", true),
            ("*", "", true),
            ("billing", "billing", true),
            ("billing", "billing-2", false),
            ("legacy-*", "legacy-billing", true),
            ("legacy-*", "legacy-", true),
            ("legacy-*", "new-billing", false),
            ("*-eu", "billing-eu", true),
            ("*-eu", "billing-us", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "ac", false),
            ("ab*ba", "aba", false),
        ] {
            assert_eq!(glob_match(glob, name), expected, "{glob} against {name}");
        }
    }

    #[test]
    fn allowed_when_an_allow_matches_and_no_deny_does() {
        let internet = Principals::internet();
        let billing = Principals::from_service("billing");
        let open = Acl::new().allow(Matcher::All);
        assert!(open.allows(&internet) && open.allows(&billing));
        let services = Acl::new().allow(Matcher::service("*"));
        assert!(!services.allows(&internet) && services.allows(&billing));
        let only_internet = Acl::new().allow(Matcher::Internet);
        assert!(only_internet.allows(&internet) && !only_internet.allows(&billing));
        let closed = Acl::new();
        assert!(!closed.allows(&internet) && !closed.allows(&billing));
        let denied = Acl::new()
            .allow(Matcher::All)
            .deny(Matcher::service("bill*"));
        assert!(denied.allows(&internet) && !denied.allows(&billing));
        // Calls from inside the service are never stopped.
        assert!(closed.allows(&Principals::own_service()));
    }
}
