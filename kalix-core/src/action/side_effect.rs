//! Calls an effect makes besides its reply, whose results are ignored.

use crate::call::{Call, UntypedCall};
use crate::client::DeferredCall;

/// A call made after the handler's own work, whose result is ignored and which is not retried.
///
/// An asynchronous side effect ([`SideEffect::of`]) runs fire-and-forget; a synchronous one
/// ([`SideEffect::synchronous`]) completes before the reply (or forward) is sent.
#[derive(Clone, Debug)]
pub struct SideEffect {
    call: UntypedCall,
    synchronous: bool,
}

impl SideEffect {
    /// A fire-and-forget side effect.
    pub fn of<R>(call: DeferredCall<R>) -> Self {
        Self {
            call: call.into_untyped(),
            synchronous: false,
        }
    }

    /// A side effect that completes before the reply is sent.
    pub fn synchronous<R>(call: DeferredCall<R>) -> Self {
        Self {
            call: call.into_untyped(),
            synchronous: true,
        }
    }

    /// The call the side effect makes.
    pub fn call(&self) -> &Call {
        &self.call.call
    }

    /// Whether the reply waits for it.
    pub fn is_synchronous(&self) -> bool {
        self.synchronous
    }

    pub(crate) fn into_untyped(self) -> UntypedCall {
        self.call
    }
}
