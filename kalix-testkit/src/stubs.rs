//! Scripted replies to the component calls a handler under unit test makes, and a record of
//! those calls: Akka's component mocks, for the action testkit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use kalix_core::{Call, CallError, ErrorCode, Transport};
use serde::Serialize;

/// What a stub answers a call with: the reply's JSON, or the error the callee would give.
type Answer = Arc<dyn Fn(&Call) -> Result<serde_json::Value, CallError> + Send + Sync>;

/// The transport of a unit testkit's component client: each call is recorded, then answered by
/// the stub for its component and method, or with a 500 naming the missing stub.
#[derive(Default)]
pub(crate) struct Stubs {
    answers: Mutex<HashMap<(String, String), Answer>>,
    calls: Mutex<Vec<Call>>,
    /// The timers handlers start, if the testkit records them.
    pub timers: Mutex<Option<kalix_core::timers::Timers>>,
}

impl Stubs {
    /// Answers every call to `method` of the component `component_id` with `answer`.
    pub fn insert<R: Serialize>(
        &self,
        component_id: &str,
        method: &str,
        answer: impl Fn(&Call) -> Result<R, CallError> + Send + Sync + 'static,
    ) {
        let answer: Answer = Arc::new(move |call| {
            let reply = answer(call)?;
            serde_json::to_value(reply).map_err(|error| {
                CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!("the stubbed reply cannot be serialized: {error}"),
                )
            })
        });
        self.answers
            .lock()
            .expect("no stub panics while held")
            .insert((component_id.to_owned(), method.to_owned()), answer);
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
        let key = (call.component().to_owned(), call.method().to_owned());
        let answer = self
            .answers
            .lock()
            .expect("no stub panics while held")
            .get(&key)
            .cloned();
        Box::pin(async move {
            let Some(answer) = answer else {
                return Err(CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "no stub answers {}; script one with the testkit's stub_action, \
                         stub_value_entity or stub_event_sourced_entity",
                        call.target()
                    ),
                ));
            };
            let reply = answer(&call)?;
            Ok(Bytes::from(
                serde_json::to_vec(&reply).expect("a JSON value serializes"),
            ))
        })
    }
}
