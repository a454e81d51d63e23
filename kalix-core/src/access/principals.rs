//! Who a call comes from: the internet, another service (proven by a signed token), or this
//! service itself.

use std::sync::Arc;

/// Who a call comes from, as its handler sees it through `ctx.principals()`.
///
/// A request that carries no valid service token is from the `internet`; one whose
/// `Kalix-Service-Token` verified is from that `service`; a call made inside this service (the
/// component client, a timer, a subscription, a workflow step, a start-up hook) is from `self`,
/// which access control lists never stop. No header other than a verified token makes a
/// request a service's.
///
/// ```
/// use kalix_core::access::Principals;
///
/// let caller = Principals::from_service("billing");
/// assert_eq!(caller.service(), Some("billing"));
/// assert!(!caller.is_internet() && !caller.is_self());
/// assert!(Principals::internet().is_internet());
/// assert!(Principals::default().is_self());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Principals(Principal);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Principal {
    #[default]
    OwnService,
    Internet,
    Service(Arc<str>),
}

impl Principals {
    /// A call from outside that proved no service identity.
    pub fn internet() -> Self {
        Self(Principal::Internet)
    }

    /// A call from the service `name`, proven by its signed token.
    pub fn from_service(name: impl Into<Arc<str>>) -> Self {
        Self(Principal::Service(name.into()))
    }

    /// A call made inside this service (the default).
    pub fn own_service() -> Self {
        Self(Principal::OwnService)
    }

    /// Whether the call came from outside without a service identity.
    pub fn is_internet(&self) -> bool {
        self.0 == Principal::Internet
    }

    /// Whether the call was made inside this service.
    pub fn is_self(&self) -> bool {
        self.0 == Principal::OwnService
    }

    /// The calling service's name, if another service made the call.
    pub fn service(&self) -> Option<&str> {
        match &self.0 {
            Principal::Service(name) => Some(name),
            _ => None,
        }
    }
}
