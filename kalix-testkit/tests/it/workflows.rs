//! Workflows as a user sees them: a step runs without an initial state, a panicking step is a
//! failure its recovery retries, a command arriving while a step runs is answered at once and its
//! transition wins over the step's, and after the end a command that would change the state is
//! refused while the state stays; a command's timers are carried out with its effect.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use kalix_core::prelude::*;
use kalix_core::workflow::{Effect, Recovery, Settings};
use serde_json::json;
use tokio::sync::Notify;

use crate::start;

/// Releases the `held` step.
static RELEASE: Notify = Notify::const_new();
/// How often the `flaky` step ran.
static FLAKY_RUNS: Mutex<u32> = Mutex::new(0);
/// How often the `failing` step ran.
static FAILING_RUNS: Mutex<u32> = Mutex::new(0);

#[derive(Default)]
pub struct Flow;

#[workflow(type_id = "it-flow", id = "id")]
impl Flow {
    #[settings]
    fn settings() -> Settings<Self> {
        Settings::new()
            .default_step_timeout(Duration::from_secs(3600))
            .step_recovery(Self::FLAKY, Recovery::max_retries(1))
    }

    #[put("/flow/<id>/end/<value>")]
    fn end_with(&self, state: Option<&String>, value: String) -> Effect<Self, String, String> {
        let _ = state;
        Effect::update_state(value.clone()).end().then_reply(value)
    }

    #[put("/flow/<id>/stateless")]
    fn stateless(&self, state: Option<&String>) -> Effect<Self, String, String> {
        let _ = state;
        Effect::transition_to(Self::WITHOUT_STATE, ()).then_reply("running".to_owned())
    }

    #[put("/flow/<id>/flaky")]
    fn flaky_start(&self, state: Option<&String>) -> Effect<Self, String, String> {
        let _ = state;
        Effect::update_state("flaky".to_owned())
            .transition_to(Self::FLAKY, ())
            .then_reply("running".to_owned())
    }

    #[put("/flow/<id>/held")]
    fn held_start(&self, state: Option<&String>) -> Effect<Self, String, String> {
        let _ = state;
        Effect::update_state("holding".to_owned())
            .transition_to(Self::HELD, ())
            .then_reply("running".to_owned())
    }

    #[put("/flow/<id>/remind/<secs>")]
    fn remind(
        &self,
        state: Option<&String>,
        secs: u64,
        ctx: &WorkflowContext,
    ) -> Effect<Self, String, String> {
        let _ = state;
        let id = ctx.workflow_id().to_owned();
        let call = ctx
            .component_client()
            .workflow::<Flow>(&id)
            .end_with("reminded".to_owned());
        ctx.timers()
            .start_single_timer(format!("remind-{id}"), Duration::from_secs(secs), call);
        Effect::reply("scheduled".to_owned())
    }

    #[put("/flow/<id>/failing")]
    fn failing_start(&self, state: Option<&String>) -> Effect<Self, String, String> {
        let _ = state;
        Effect::update_state("failing".to_owned())
            .transition_to(Self::FAILING, ())
            .then_reply("running".to_owned())
    }

    #[get("/flow/<id>")]
    fn get(&self, state: Option<&String>) -> Effect<Self, String, String> {
        match state {
            Some(state) => Effect::reply(state.clone()),
            None => Effect::error_with_status("no state", ErrorCode::NOT_FOUND),
        }
    }

    #[step]
    async fn without_state(&self, state: Option<&String>) -> StepResult<Self, String> {
        let found = if state.is_none() {
            "had none"
        } else {
            "had one"
        };
        Ok(Transition::update_state(found.to_owned()).end())
    }

    #[step]
    async fn flaky(&self, ctx: &StepContext) -> StepResult<Self, String> {
        *FLAKY_RUNS.lock().unwrap() += 1;
        if ctx.attempt() == 0 {
            panic!("the first attempt fails");
        }
        Ok(Transition::update_state(format!("recovered at attempt {}", ctx.attempt())).end())
    }

    #[step]
    async fn failing(&self) -> StepResult<Self, String> {
        *FAILING_RUNS.lock().unwrap() += 1;
        Err(CallError::new(
            ErrorCode::SERVICE_UNAVAILABLE,
            "always down",
        ))
    }

    #[step]
    async fn held(&self) -> StepResult<Self, String> {
        RELEASE.notified().await;
        Ok(Transition::update_state("from the step".to_owned()).end())
    }
}

/// `GET /flow/<id>` once it answers `expected` (panics after 10 s with what it answered).
async fn state_becomes(
    testkit: &kalix_testkit::TestKit,
    id: &str,
    expected: &str,
) -> serde_json::Value {
    kalix_testkit::eventually(|| async {
        let state = crate::get_json(testkit, &format!("/flow/{id}")).await;
        if state == json!(expected) {
            Ok(state)
        } else {
            Err(state)
        }
    })
    .await
}

#[tokio::test]
async fn a_step_runs_without_an_initial_state() {
    let (testkit, _) = start().await;
    let reply = testkit.put("/flow/w1/stateless").send().await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(
        state_becomes(&testkit, "w1", "had none").await,
        json!("had none")
    );
}

#[tokio::test]
async fn a_panicking_step_is_a_failure_its_recovery_retries() {
    let (testkit, _) = start().await;
    testkit.put("/flow/w2/flaky").send().await.unwrap();
    assert_eq!(
        state_becomes(&testkit, "w2", "recovered at attempt 1").await,
        json!("recovered at attempt 1")
    );
    assert!(*FLAKY_RUNS.lock().unwrap() >= 2);
    // The service kept serving.
    assert_eq!(testkit.get("/flow/w2").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_command_during_a_step_is_answered_at_once_and_its_transition_wins() {
    let (testkit, _) = start().await;
    testkit.put("/flow/w3/held").send().await.unwrap();
    // The step waits; a read is answered meanwhile.
    let read = tokio::time::timeout(Duration::from_secs(2), testkit.get("/flow/w3").send())
        .await
        .expect("answered while the step runs")
        .unwrap();
    assert_eq!(
        read.json::<serde_json::Value>().await.unwrap(),
        json!("holding")
    );
    // A transition made meanwhile wins: the step's result, once it comes, is dropped.
    let ended = testkit.put("/flow/w3/end/by-command").send().await.unwrap();
    assert_eq!(ended.status(), 200);
    RELEASE.notify_waiters();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        crate::get_json(&testkit, "/flow/w3").await,
        json!("by-command")
    );
}

#[tokio::test]
async fn after_the_end_a_command_that_changes_the_state_is_refused_and_the_state_stays() {
    let (testkit, _) = start().await;
    let first = testkit.put("/flow/w4/end/first").send().await.unwrap();
    assert_eq!(
        first.json::<serde_json::Value>().await.unwrap(),
        json!("first")
    );
    let again = testkit.put("/flow/w4/end/second").send().await.unwrap();
    assert_eq!(again.status(), 400);
    let problem: serde_json::Value = again.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "workflow it-flow 'w4' has ended; its state no longer changes"
    );
    assert_eq!(crate::get_json(&testkit, "/flow/w4").await, json!("first"));
    // An unknown route of the workflow is the ingress's 404.
    assert_eq!(
        testkit
            .get("/flow/w4/nothing")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn a_command_starts_a_timer_that_calls_the_workflow_back() {
    let (testkit, _) = start().await;
    let reply = testkit.put("/flow/w5/remind/60").send().await.unwrap();
    assert_eq!(
        reply.json::<serde_json::Value>().await.unwrap(),
        json!("scheduled")
    );
    let timers = testkit.timers().await;
    let timer = timers
        .iter()
        .find(|t| t.name == "remind-w5")
        .expect("stored before the reply");
    assert!(timer.target.ends_with("Flow::end_with"), "{timer:?}");
    assert_eq!(testkit.get("/flow/w5").send().await.unwrap().status(), 404);
    testkit.clock().advance(Duration::from_secs(60)).await;
    assert_eq!(
        state_becomes(&testkit, "w5", "reminded").await,
        json!("reminded")
    );
}

#[tokio::test]
async fn a_step_waiting_out_its_backoff_does_not_run_once_a_command_moved_the_workflow_on() {
    let (testkit, _) = start().await;
    testkit.put("/flow/w6/failing").send().await.unwrap();
    let started = Instant::now();
    while *FAILING_RUNS.lock().unwrap() < 1 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Failed once: the retry waits 3 s on the clock. The workflow ends meanwhile.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        testkit
            .put("/flow/w6/end/stopped")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    testkit.clock().advance(Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        *FAILING_RUNS.lock().unwrap(),
        1,
        "the superseded retry did not run"
    );
    assert_eq!(
        crate::get_json(&testkit, "/flow/w6").await,
        json!("stopped")
    );
}

/// How often the `down` step ran, per workflow id.
static DOWN_RUNS: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Steps of `Gated` running now, and the most that ever ran at once.
static GATED: Mutex<(u32, u32)> = Mutex::new((0, 0));
/// Releases the `gate` steps.
static OPEN_GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

/// Workflows whose steps fail forever, or wait at a gate: for the bounds on background work.
#[derive(Default)]
pub struct Gated;

#[workflow(type_id = "it-gated", id = "id")]
impl Gated {
    #[settings]
    fn settings() -> Settings<Self> {
        Settings::new().default_step_timeout(Duration::from_secs(3600))
    }

    #[put("/gated/<id>/down")]
    fn down_start(&self, state: Option<&String>) -> Effect<Self, String, String> {
        let _ = state;
        Effect::update_state("down".to_owned())
            .transition_to(Self::DOWN, ())
            .then_reply("running".to_owned())
    }

    #[put("/gated/<id>/gate")]
    fn gate_start(&self, state: Option<&String>) -> Effect<Self, String, String> {
        let _ = state;
        Effect::update_state("at the gate".to_owned())
            .transition_to(Self::GATE, ())
            .then_reply("running".to_owned())
    }

    /// Adds `n` to tally `id` in a minute, by a timer.
    #[put("/gated/<id>/tally-later/<n>")]
    fn tally_later(
        &self,
        state: Option<&String>,
        n: i64,
        ctx: &WorkflowContext,
    ) -> Effect<Self, String, String> {
        let _ = state;
        let id = ctx.workflow_id().to_owned();
        let call = ctx
            .component_client()
            .value_entity::<crate::components::Tally>(&id)
            .add(n);
        ctx.timers()
            .start_single_timer(format!("tally-{id}"), Duration::from_secs(60), call);
        Effect::reply("scheduled".to_owned())
    }

    #[get("/gated/<id>")]
    fn get(&self, state: Option<&String>) -> Effect<Self, String, String> {
        match state {
            Some(state) => Effect::reply(state.clone()),
            None => Effect::error_with_status("no state", ErrorCode::NOT_FOUND),
        }
    }

    #[step]
    async fn down(&self, ctx: &StepContext) -> StepResult<Self, String> {
        DOWN_RUNS.lock().unwrap().push(ctx.workflow_id().to_owned());
        Err(CallError::new(
            ErrorCode::SERVICE_UNAVAILABLE,
            "the wallet service is down",
        ))
    }

    #[step]
    async fn gate(&self) -> StepResult<Self, String> {
        {
            let mut gated = GATED.lock().unwrap();
            gated.0 += 1;
            gated.1 = gated.1.max(gated.0);
        }
        OPEN_GATE.acquire().await.unwrap().forget();
        GATED.lock().unwrap().0 -= 1;
        Ok(Transition::update_state("through".to_owned()).end())
    }
}

fn down_runs(id: &str) -> usize {
    DOWN_RUNS
        .lock()
        .unwrap()
        .iter()
        .filter(|run| *run == id)
        .count()
}

#[tokio::test]
async fn a_step_retried_forever_writes_its_record_once_not_per_attempt() {
    let store: std::sync::Arc<dyn kalix_core::store::Store> =
        std::sync::Arc::new(kalix_core::store::SqliteStore::memory().unwrap());
    let testkit = kalix_testkit::TestKit::builder()
        .dependency(crate::components::Recorder::default())
        .store(std::sync::Arc::clone(&store))
        .start()
        .await;
    testkit.put("/gated/r1/down").send().await.unwrap();
    let started = Instant::now();
    // Backoffs of 3, 6, 12, 24 and 30 s on the test's clock: five retries.
    for attempts in 1..=6 {
        while down_runs("r1") < attempts && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(down_runs("r1"), attempts, "attempt {attempts} ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
        testkit.clock().advance(Duration::from_secs(30)).await;
    }
    // The record was written by the command that started the step, and by nothing since.
    assert_eq!(store.state_version("it-gated", "r1").await.unwrap(), 1);
    assert_eq!(
        crate::get_json(&testkit, "/gated/r1").await,
        json!("down"),
        "still retrying"
    );
    // The watchdog is past the backoff, not due while the process retries.
    let watchdog = testkit
        .runtime_timers()
        .await
        .into_iter()
        .find(|timer| timer.name.starts_with("kalix.workflow/it-gated/r1"));
    assert!(watchdog.is_some(), "the workflow keeps its watchdog");
}

#[tokio::test]
async fn steps_run_at_most_max_running_steps_at_once_and_commands_are_answered_meanwhile() {
    let testkit = kalix_testkit::TestKit::builder()
        .dependency(crate::components::Recorder::default())
        .config(|config| config.with_max_running_steps(2))
        .start()
        .await;
    for n in 0..6 {
        let reply = testkit
            .put(&format!("/gated/g{n}/gate"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
    }
    let started = Instant::now();
    while GATED.lock().unwrap().0 < 2 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*GATED.lock().unwrap(), (2, 2), "two steps run, four wait");
    // Commands take no permit: another workflow is answered at once.
    let read = tokio::time::timeout(Duration::from_secs(2), testkit.get("/gated/g5").send())
        .await
        .expect("answered while the permits are taken")
        .unwrap();
    assert_eq!(
        read.json::<serde_json::Value>().await.unwrap(),
        json!("at the gate")
    );
    OPEN_GATE.add_permits(6);
    for n in 0..6 {
        let id = format!("g{n}");
        let started = Instant::now();
        while crate::get_json(&testkit, &format!("/gated/{id}")).await != json!("through")
            && started.elapsed() < Duration::from_secs(5)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            crate::get_json(&testkit, &format!("/gated/{id}")).await,
            json!("through")
        );
    }
    assert_eq!(GATED.lock().unwrap().1, 2, "never more than two at once");
}

#[tokio::test]
async fn the_workflows_watchdogs_do_not_count_against_the_timer_limit_nor_show_in_the_listing() {
    let testkit = kalix_testkit::TestKit::builder()
        .dependency(crate::components::Recorder::default())
        .config(|mut config| {
            config.max_pending_timers = 2;
            config
        })
        .start()
        .await;
    for n in 0..3 {
        let id = format!("wd{n}");
        testkit
            .put(&format!("/flow/{id}/stateless"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            state_becomes(&testkit, &id, "had none").await,
            json!("had none")
        );
    }
    // Three watchdogs are stored, and kept until they fire; the user's two timers still fit.
    assert_eq!(testkit.runtime_timers().await.len(), 3);
    for id in ["wd0", "wd1"] {
        let reply = testkit
            .put(&format!("/flow/{id}-r/remind/60"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "{id}");
    }
    let names: Vec<String> = testkit
        .timers()
        .await
        .into_iter()
        .map(|timer| timer.name)
        .collect();
    assert_eq!(names, ["remind-wd0-r", "remind-wd1-r"]);
    let third = testkit.put("/flow/wd2-r/remind/60").send().await.unwrap();
    assert_eq!(third.status(), 503, "the user's own limit still holds");
}

#[tokio::test]
async fn in_the_workflow_testkit_a_timers_call_is_answered_by_the_stubs_and_a_failure_retried() {
    let testkit = kalix_testkit::WorkflowTestKit::<Gated>::start_with(|builder| {
        builder.dependency(crate::components::Recorder::default())
    })
    .await;
    let added = std::sync::Arc::new(Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&added);
    testkit.stub::<crate::components::Tally>().add(move |call| {
        let n: i64 = call.path_param("n").unwrap().parse().unwrap();
        seen.lock().unwrap().push(n);
        if n < 0 {
            return Err(CallError::new(
                ErrorCode::BAD_REQUEST,
                "no negative tallies",
            ));
        }
        Ok(n)
    });
    let client = testkit.client("s1");
    assert_eq!(client.tally_later(5).await.unwrap(), "scheduled");
    let client = testkit.client("s2");
    assert_eq!(client.tally_later(-1).await.unwrap(), "scheduled");
    testkit.advance(Duration::from_secs(60)).await;
    let started = Instant::now();
    while added.lock().unwrap().len() < 2 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut calls = added.lock().unwrap().clone();
    calls.sort();
    assert_eq!(calls, [-1, 5], "both timers called the stub, not the tally");
    // The stubbed success removed its timer; the stubbed failure keeps its own, to retry.
    let pending = testkit.timers().await;
    let names: Vec<&str> = pending.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["tally-s2"]);
    assert_eq!(pending[0].attempts, 1);
}
