//! Workflows: durable multi-step processes (Kalix's `Workflow`). A workflow has a state (none
//! until its first update), command handlers with routes, and steps; each transition is stored
//! before the next step runs, so a workflow resumes where it was after a restart or a crash.
//!
//! Put `#[workflow(type_id = "transfer", id = "transferId")]` on an `impl` block:
//! - **command handlers** have a route, take the state as `Option<&State>` (none before the
//!   first update), path, query, header and body parameters and optionally `&WorkflowContext`,
//!   and return [`Effect<Self, State, Reply>`]: `Effect::update_state(s).transition_to(step,
//!   input).then_reply(r)`, `.pause()`, `.end()`, `Effect::reply(r)` or `Effect::error(..)`;
//! - **steps** are `async` methods marked `#[step]` (named after the method in kebab case, or
//!   `#[step(name = "..")]`). A step takes `&self`, optionally the state (`&State` or
//!   `Option<&State>`), its input (any `Deserialize` type, or none) and optionally
//!   `&StepContext`, and returns [`StepResult<Self, State>`]. Its body makes the step's call
//!   (a `DeferredCall` awaited, or any future: Kalix's `call` and `asyncCall`) and maps the
//!   result to the next transition (Kalix's `andThen`). An `Err`, a panic or the step timeout is
//!   a failure, recovered as the settings say;
//! - each step gets a constant naming it, `Self::WITHDRAW` for `fn withdraw`: transitions take
//!   it with the step's input, so an unknown step or an input of the wrong type does not compile;
//! - an optional `#[settings] fn settings() -> Settings<Self>` sets the workflow timeout and
//!   its failover step, step timeouts (default 5 s) and recovery strategies.
//!
//! ```
//! use kalix_core::prelude::*;
//! use kalix_core::workflow::{Effect, StepResult, Transition};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! pub struct Greeting {
//!     pub text: String,
//!     pub done: bool,
//! }
//!
//! #[derive(Default)]
//! pub struct GreetingWorkflow;
//!
//! #[workflow(type_id = "greeting", id = "id")]
//! impl GreetingWorkflow {
//!     #[put("/greeting/<id>")]
//!     fn start(&self, state: Option<&Greeting>, text: String) -> Effect<Self, Greeting, String> {
//!         if state.is_some() {
//!             return Effect::error("already started");
//!         }
//!         Effect::update_state(Greeting { text: text.clone(), done: false })
//!             .transition_to(Self::SHOUT, text)
//!             .then_reply("started".to_owned())
//!     }
//!
//!     #[get("/greeting/<id>")]
//!     fn get(&self, state: Option<&Greeting>) -> Effect<Self, Greeting, String> {
//!         match state {
//!             Some(greeting) => Effect::reply(greeting.text.clone()),
//!             None => Effect::error("not started"),
//!         }
//!     }
//!
//!     #[step]
//!     async fn shout(&self, text: String) -> StepResult<Self, Greeting> {
//!         Ok(Transition::update_state(Greeting { text: text.to_uppercase(), done: true }).end())
//!     }
//! }
//! ```
//!
//! ## Guarantees
//! - **Durable.** A transition (its new state and where it leads) is committed before the
//!   command's reply and before the next step runs. A step runs at least once: if the process
//!   dies while it runs, it runs again (same attempt) after the restart, or on another process.
//! - **One at a time.** Commands to one workflow id run one at a time. A command arriving while
//!   a step runs is answered at once, without waiting for the step. If the command makes a
//!   transition, that transition wins: the running step's result is dropped when it arrives.
//!   A command that only replies leaves the step running.
//! - **After the end** a command that would change the state or transition is refused (400)
//!   and the state stays.
//! - **Timeouts and recovery.** A step that fails (an `Err`, a panic or its timeout) is run
//!   again as its recovery says ([`Recovery`]): by default until it succeeds, 3 s doubling to
//!   30 s apart; with `max_retries(n)` at once, up to `n` times, then its failover step, or the
//!   workflow pauses when there is none. The workflow timeout counts time spent running (not
//!   paused) and runs the failover step of [`Settings::failover_to`], or ends the workflow.
//! - **Timers**: a step uses the service's timers (`ctx.timers()`, async); a command handler's
//!   `ctx.timers()` records starts and cancels, carried out with its effect: before its
//!   transition commits, or before its reply when it makes none ([`CommandTimers`]). A command
//!   run again after a write conflict keeps the timers its first run started.
//! - **Several processes** on one PostgreSQL: a step runs in the process that made the
//!   transition, which keeps a watchdog timer in the store pushed forward while the step runs;
//!   if the process dies, the watchdog falls due within 6 s and another process resumes the
//!   step. Delivery is at least once: if a live process cannot renew its watchdog for 6 s (a
//!   stalled database), another may run the same step meanwhile. Results are fenced by the
//!   workflow's version, so a step that ran twice applies its result once.

mod component;
mod context;
mod effect;
pub(crate) mod record;
mod settings;

pub use component::WorkflowComponent;

/// Shown each record a workflow commits, and each retry a process makes in memory (the record
/// as it would be, at the same transition count): its type id, its id and the record as JSON
/// (see [`Record`]). The workflow testkit logs transitions with one.
pub type WorkflowObserver = std::sync::Arc<dyn Fn(&'static str, &str, &[u8]) + Send + Sync>;
pub(crate) use context::TimerChange;
pub use context::{CommandTimers, StepContext, WorkflowContext};
pub use effect::{Effect, StepId, StepResult, Target, Transition, UpdateState};
pub use record::{Position, Record, Recovered};
pub use settings::{DEFAULT_STEP_TIMEOUT, Failover, Recovery, Settings};
