//! What the testkits build typed stubs on: every component attribute implements [`Stubbed`] for
//! its type, with one method per handler a client can call, taking the handler's reply type. So
//! `testkit.stub::<MemberEntity>().take_loan(|call| Ok(Loan { .. }))` names a method that exists
//! and a reply of the right type, or does not compile.

use bytes::Bytes;

use crate::call::Call;
use crate::error::CallError;
use crate::status::ErrorCode;

/// A stub's answer: the reply as JSON, or the error the callee would give.
pub type StubAnswer = Box<dyn Fn(&Call) -> Result<Bytes, CallError> + Send + Sync>;

/// Where typed stubs put their answers (a testkit's scripted replies).
pub trait StubRegistry {
    /// Answers every call to `method` of component `component_id` with `answer`.
    fn stub(&self, component_id: &'static str, method: &'static str, answer: StubAnswer);
}

/// A component whose calls can be stubbed by method: implemented by the component attributes.
pub trait Stubbed {
    /// The generated stubs: one method per handler, each taking an answer of the handler's
    /// reply type.
    type Stubs<'a>;

    /// The stubs, putting their answers in `registry`.
    fn stubs(registry: &dyn StubRegistry) -> Self::Stubs<'_>;
}

/// An answer returning a `R`, as a [`StubAnswer`] (what the generated stub methods store).
pub fn stub_answer<R: serde::Serialize>(
    answer: impl Fn(&Call) -> Result<R, CallError> + Send + Sync + 'static,
) -> StubAnswer {
    Box::new(move |call| {
        let reply = answer(call)?;
        serde_json::to_vec(&reply)
            .map(Bytes::from)
            .map_err(|error| {
                CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!("the stubbed reply cannot be serialized: {error}"),
                )
            })
    })
}
