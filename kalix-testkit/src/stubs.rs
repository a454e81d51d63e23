//! Scripted replies to the component calls a handler under unit test makes, and a record of
//! those calls: Akka's component mocks, for the action testkit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use kalix_core::testing::{StubAnswer, StubRegistry, Stubbed};
use kalix_core::{Call, CallError, ErrorCode, Transport};

/// What a stub answers a call with: the reply's JSON, or the error the callee would give.
type Answer = Arc<dyn Fn(&Call) -> Result<Bytes, CallError> + Send + Sync>;

/// The transport of a unit testkit's component client: each call is recorded, then answered by
/// the stub for its component and method, or with a 500 naming the missing stub.
#[derive(Default)]
pub(crate) struct Stubs {
    answers: Mutex<HashMap<(String, String), Answer>>,
    calls: Mutex<Vec<Call>>,
    /// The timers handlers start, if the testkit records them.
    pub timers: Mutex<Option<kalix_core::timers::Timers>>,
}

impl StubRegistry for Stubs {
    fn stub(&self, component_id: &'static str, method: &'static str, answer: StubAnswer) {
        self.answers
            .lock()
            .expect("no stub panics while held")
            .insert(
                (component_id.to_owned(), method.to_owned()),
                Arc::from(answer),
            );
    }
}

impl Stubs {
    /// The typed stubs of component `C`, answering through these.
    pub fn of<C: Stubbed>(&self) -> C::Stubs<'_> {
        C::stubs(self)
    }

    /// The calls made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .expect("no stub panics while held")
            .clone()
    }
}

impl Transport for Stubs {
    fn timers(&self) -> Option<kalix_core::timers::Timers> {
        self.timers
            .lock()
            .expect("no stub panics while held")
            .clone()
    }

    fn execute(self: Arc<Self>, call: Call) -> BoxFuture<'static, Result<Bytes, CallError>> {
        self.calls
            .lock()
            .expect("no stub panics while held")
            .push(call.clone());
        let answer = self
            .answers
            .lock()
            .expect("no stub panics while held")
            .get(&(call.component().to_owned(), call.method().to_owned()))
            .cloned();
        Box::pin(async move {
            let Some(answer) = answer else {
                return Err(CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "no stub answers {}; script one with the testkit's stub::<Component>()",
                        call.target()
                    ),
                ));
            };
            answer(&call)
        })
    }
}
