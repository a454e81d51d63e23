//! The workflow testkit: a workflow driven in-process by the runtime's own engine, with the
//! clock moved by hand and the component calls its steps make answered by scripted replies.
//! Kalix and Akka have none; their workflows are tested only against a running service.

use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use kalix_core::testing::Stubbed;
use kalix_core::timers::{ManualClock, PendingTimer};
use kalix_core::workflow::{Position, Record, WorkflowComponent};
use kalix_core::{Call, CallError, ComponentClient, Service, Transport};

use crate::TestKit;
use crate::stubs::Stubs;

/// A committed record, and when (by the testkit's clock) the testkit saw it.
struct Logged<S> {
    workflow_id: String,
    record: Record<S>,
    at_ms: u64,
}

/// Drives workflow `W` in-process: commands through its typed client, steps run by the
/// runtime's engine on an in-memory store, the clock moved by hand (step timeouts, backoffs,
/// the workflow timeout and timers fire when it passes them), and the calls its steps make to
/// other components answered by stubs. Every committed record is logged: each transition, with
/// the state after it.
///
/// ```no_run
/// # use kalix_core::prelude::*;
/// # use kalix_core::workflow::Effect;
/// # #[derive(Default)] pub struct Greeter;
/// # #[workflow(type_id = "greeter", id = "id")]
/// # impl Greeter {
/// #     #[put("/greeter/<id>")]
/// #     fn start(&self, state: Option<&String>) -> Effect<Self, String, String> {
/// #         Effect::update_state("started".into()).transition_to(Self::GREET, ()).then_reply("ok".into())
/// #     }
/// #     #[step]
/// #     async fn greet(&self) -> StepResult<Self, String> { Ok(Transition::update_state("greeted".into()).end()) }
/// # }
/// # async fn example() {
/// use kalix_testkit::WorkflowTestKit;
///
/// let testkit = WorkflowTestKit::<Greeter>::start().await;
/// testkit.client("g1").start().await.unwrap();
/// let record = testkit.settled("g1").await;
/// assert_eq!(record.state.as_deref(), Some("greeted"));
/// assert_eq!(testkit.transitions("g1").len(), 2);
/// # }
/// ```
pub struct WorkflowTestKit<W: WorkflowComponent> {
    testkit: TestKit,
    stubs: Arc<Stubs>,
    hanging: Arc<Hanging>,
    log: Arc<Mutex<Vec<Logged<W::State>>>>,
    marker: PhantomData<fn() -> W>,
}

/// Calls scripted never to answer, and how many of them are waiting now.
#[derive(Default)]
struct Hanging {
    methods: Mutex<HashSet<(String, String)>>,
    waiting: AtomicUsize,
}

/// Counts a hanging call while it waits.
struct Waiting(Arc<Hanging>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<W: WorkflowComponent> WorkflowTestKit<W> {
    /// Starts the engine, with no stubs: a step's call to another component fails with a 500
    /// naming the missing stub until one is scripted.
    pub async fn start() -> Self {
        Self::start_with(|builder| builder).await
    }

    /// As [`WorkflowTestKit::start`], with the service's builder changed first: the
    /// dependencies the service's components need (`builder.dependency(..)`), its config.
    pub async fn start_with(
        configure: impl FnOnce(crate::TestKitBuilder) -> crate::TestKitBuilder,
    ) -> Self {
        let stubs = Arc::new(Stubs::default());
        let hanging = Arc::new(Hanging::default());
        let log: Arc<Mutex<Vec<Logged<W::State>>>> = Arc::default();
        let clock = ManualClock::new();
        let router: kalix_core::CallRouter = {
            let (stubs, hanging) = (Arc::clone(&stubs), Arc::clone(&hanging));
            Arc::new(move |call: &Call| route::<W>(call, &stubs, &hanging))
        };
        let observer: kalix_core::workflow::WorkflowObserver = {
            let (log, clock) = (Arc::clone(&log), clock.clone());
            Arc::new(move |type_id, workflow_id, json| {
                if type_id != W::TYPE_ID {
                    return;
                }
                match serde_json::from_slice::<Record<W::State>>(json) {
                    Ok(record) => log.lock().unwrap_or_else(|p| p.into_inner()).push(Logged {
                        workflow_id: workflow_id.to_owned(),
                        record,
                        at_ms: clock.now_ms(),
                    }),
                    Err(error) => panic!("a committed workflow record does not read: {error}"),
                }
            })
        };
        let testkit = configure(TestKit::builder())
            .with_clock(clock)
            .service(|service: Service| service.route_calls(router).observe_workflows(observer))
            .start()
            .await;
        Self {
            testkit,
            stubs,
            hanging,
            log,
            marker: PhantomData,
        }
    }

    /// The typed client of workflow `workflow_id`: its methods run the workflow's commands.
    pub fn client(&self, workflow_id: &str) -> W::Client {
        W::client(self.testkit.component_client(), workflow_id.to_owned())
    }

    /// The typed stubs of component `C` (an action, a value or event-sourced entity, another
    /// workflow): one method per handler, answering every call the steps (and timers) make to it
    /// with a closure returning the handler's reply type or the error it would give.
    pub fn stub<C: Stubbed>(&self) -> C::Stubs<'_> {
        self.stubs.of::<C>()
    }

    /// Never answers calls to `method` of component `component_id` (e.g.
    /// `WalletEntity::COMPONENT_ID`): the step making one runs into its timeout once the clock
    /// passes it.
    pub fn never_answer(&self, component_id: &str, method: &str) {
        self.hanging
            .methods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((component_id.to_owned(), method.to_owned()));
    }

    /// The calls the steps made to other components (stubbed or not), in order.
    pub fn calls(&self) -> Vec<Call> {
        self.stubs.calls()
    }

    /// Each record workflow `workflow_id` committed, in order: one per transition (and per
    /// failover), with the state after it; and one per retry, which the engine makes in memory
    /// without a write (shown at the same transition count, with its attempt).
    pub fn transitions(&self, workflow_id: &str) -> Vec<Record<W::State>> {
        let mut records: Vec<Record<W::State>> = self
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|logged| logged.workflow_id == workflow_id)
            .map(|logged| logged.record.clone())
            .collect();
        // Observed after their commits, from more than one task: the transition count orders them.
        records.sort_by_key(|record| record.run);
        records
    }

    /// The steps workflow `workflow_id` entered, in order (retries repeat a step).
    pub fn steps(&self, workflow_id: &str) -> Vec<String> {
        self.transitions(workflow_id)
            .iter()
            .filter_map(|record| record.running().map(|(step, _, _)| step.to_owned()))
            .collect()
    }

    /// Waits until workflow `workflow_id` stands still: paused, ended or not started, or its
    /// step waits for the clock (a backoff, or a call that never answers until the step times
    /// out). Returns its record. Panics if it keeps moving for 10 s. Calls that never answer are
    /// counted for the whole testkit: drive one workflow at a time through them.
    pub async fn settled(&self, workflow_id: &str) -> Record<W::State> {
        let started = Instant::now();
        loop {
            let last = self.last(workflow_id);
            if let Some(record) = self.standing(last) {
                // A step waiting for a call that never answers may be one a transition just
                // replaced (its call still hangs until its timeout): the record must stay as it
                // is a moment before it counts as standing.
                if record.running().is_none() {
                    return record;
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
                let unmoved = self.last(workflow_id).is_some_and(|(again, _)| {
                    again.run == record.run && again.position == record.position
                });
                if unmoved {
                    return record;
                }
                continue;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "workflow '{workflow_id}' did not settle within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn last(&self, workflow_id: &str) -> Option<(Record<W::State>, u64)> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|logged| logged.workflow_id == workflow_id)
            .max_by_key(|logged| logged.record.run)
            .map(|logged| (logged.record.clone(), logged.at_ms))
    }

    /// The record, if the workflow stands still.
    fn standing(&self, last: Option<(Record<W::State>, u64)>) -> Option<Record<W::State>> {
        let Some((record, at_ms)) = last else {
            return Some(Record::default());
        };
        let now = self.clock().now_ms();
        let Position::Running {
            step,
            not_before_ms,
            ..
        } = &record.position
        else {
            return Some(record);
        };
        if not_before_ms.is_some_and(|not_before| not_before > now) {
            return Some(record);
        }
        let started = not_before_ms.unwrap_or(at_ms).max(at_ms);
        let times_out_at = started + W::settings().step_timeout_of(step).as_millis() as u64;
        let blocked = self.hanging.waiting.load(Ordering::SeqCst) > 0;
        (blocked && times_out_at > now).then_some(record)
    }

    /// The clock the engine reads.
    pub fn clock(&self) -> &ManualClock {
        self.testkit.clock()
    }

    /// Moves the clock on by `by`: timers due fire, and steps waiting for it (a backoff, a step
    /// or workflow timeout) go on. Then waits until the workflows stand still again.
    pub async fn advance(&self, by: Duration) {
        self.testkit.clock().advance(by).await;
        let ids: HashSet<String> = self
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|logged| logged.workflow_id.clone())
            .collect();
        for id in ids {
            self.settled(&id).await;
        }
    }

    /// The pending timers the workflows' commands and steps started.
    pub async fn timers(&self) -> Vec<PendingTimer> {
        self.testkit.timers().await
    }

    /// The runtime's own pending timers: each workflow's watchdog (`kalix.workflow/..`, kept
    /// after it ended: it fires once and finds nothing to do) and workflow timeout.
    pub async fn runtime_timers(&self) -> Vec<PendingTimer> {
        self.testkit.runtime_timers().await
    }

    /// The client of the whole in-process service.
    pub fn component_client(&self) -> ComponentClient {
        self.testkit.component_client()
    }
}

/// Where a step's call goes: calls to the workflow itself run it; calls scripted never to answer
/// wait; every other call is answered by the stubs.
fn route<W: WorkflowComponent>(
    call: &Call,
    stubs: &Arc<Stubs>,
    hanging: &Arc<Hanging>,
) -> Option<BoxFuture<'static, Result<Bytes, CallError>>> {
    if call.component() == W::COMPONENT_ID {
        return None;
    }
    let key = (call.component().to_owned(), call.method().to_owned());
    let hangs = hanging
        .methods
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&key);
    if hangs {
        hanging.waiting.fetch_add(1, Ordering::SeqCst);
        let waiting = Waiting(Arc::clone(hanging));
        return Some(Box::pin(async move {
            let _waiting = waiting;
            std::future::pending::<Result<Bytes, CallError>>().await
        }));
    }
    Some(Arc::clone(stubs).execute(call.clone()))
}
